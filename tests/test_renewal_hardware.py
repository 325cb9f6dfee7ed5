"""Hardware: the default renewal model must not learn the churn rule from the snapshot."""
from __future__ import annotations

import warnings

import pytest

import tobmodel
from tobmodel.renewal import (RenewalFitWarning, build_account_features, evaluate_renewal_model,
                              fit_renewal_model)


@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("hardware", "maturity", n_accounts=1500, seed=11)


def test_months_since_last_order_is_not_a_default_covariate(sim):
    features = build_account_features(sim)
    assert "months_since_last_order" in features  # kept for reading
    model = fit_renewal_model(features)
    assert "months_since_last_order" not in model.feature_names_


def test_naming_it_warns_that_it_leaks_the_outcome(sim):
    features = build_account_features(sim)
    with pytest.warns(RenewalFitWarning, match="leaks the outcome"):
        fit_renewal_model(features, covariates=["tier", "months_since_last_order"])


def test_default_hardware_model_is_not_collapsed_against_what_happened_next(sim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RenewalFitWarning)
        table = evaluate_renewal_model(sim, "2024-06-30").set_index("model")
        leaky = evaluate_renewal_model(
            sim, "2024-06-30", covariates=["tier", "log_seats", "months_since_last_order"]
        ).set_index("model")
    cox, base = table.loc["cox"], table.loc["baseline"]
    assert cox["c_index"] > base["c_index"] + 0.1
    assert cox["ibs"] < base["ibs"]
    # the snapshot covariate makes active customers look almost risk-free
    assert leaky.loc["cox", "mean_predicted"] < 0.25 * cox["mean_predicted"]
    assert cox["mean_predicted"] > 0.35 * cox["observed_churn"]
