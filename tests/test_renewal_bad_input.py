"""Bad input to renewal models: one clear message each, never a traceback from lifelines."""
import warnings

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.renewal import RenewalFitWarning, build_account_features, fit_renewal_model
from tobmodel.renewal import discrete as Q

COVS = ["tier", "sales_overpromised", "logins_trend"]


@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("saas", n_accounts=500, seed=71)


@pytest.fixture(scope="module")
def features(sim):
    return build_account_features(sim)


@pytest.mark.parametrize("model", ["cox", "weibull_aft"])
def test_durations_must_be_positive(features, model):
    bad = features.copy()
    bad.loc[bad.index[[4, 9]], "tenure_months"] = [0.0, -2.0]
    ids = bad["account_id"].iloc[[4, 9]].tolist()
    with pytest.raises(ValueError, match=rf"tenure_months must be a positive number of months; "
                                         rf"2 rows are not \(account_id {ids[0]}, {ids[1]}"):
        fit_renewal_model(bad, model, covariates=COVS)


def test_events_must_be_zero_or_one(features):
    bad = features.assign(churned=features["churned"].replace({1: 2}))
    with pytest.raises(ValueError, match=r"churned must be 0 \(still a customer\) or 1"):
        fit_renewal_model(bad, covariates=COVS)
    with pytest.raises(ValueError, match="churned must be 0"):
        fit_renewal_model(features.assign(churned="yes"), covariates=COVS)


def test_all_censored(features):
    with pytest.raises(ValueError, match=r"no churn observed among \d+ accounts \(all censored\)"):
        fit_renewal_model(features.assign(churned=0), "loglogistic_aft", covariates=COVS)


def test_constant_covariate(features):
    with pytest.raises(ValueError, match="covariate 'region' is constant .* drop it"):
        fit_renewal_model(features.assign(region="east"), covariates=[*COVS, "region"])
    # among the default covariates a constant one is dropped and listed, not fitted
    with pytest.warns(RenewalFitWarning, match="churn events for"):  # 20-odd parameters
        m = fit_renewal_model(features.assign(region="east"), penalizer=0.1)
    assert "region" in m.dropped_covariates_ and "region" not in m.covariates_


def test_perfect_separation(features):
    doomed = features["churned"].to_numpy() == 1
    bad = features.assign(flagged=doomed)        # True only (and always) for churners
    with pytest.raises(ValueError, match="'flagged' value 1/True has only churners .*perfect "
                                         "separation.*penalizer=0.1"):
        fit_renewal_model(bad, covariates=[*COVS, "flagged"])
    # the suggested way out fits, with a large but finite hazard ratio
    m = fit_renewal_model(bad, covariates=[*COVS, "flagged"], penalizer=0.1, strata=None)
    hr = m.hazard_ratios_.set_index("covariate").loc["flagged", "hazard_ratio"]
    assert 3 < hr < np.inf


def test_too_few_events_per_covariate(features):
    churned = features["churned"].to_numpy() == 1
    few = pd.concat([features[~churned].head(150), features[churned].head(15)])
    with pytest.warns(RenewalFitWarning, match=r"only \d+ churn events for \d+ model parameters"):
        fit_renewal_model(few, covariates=["tier", "acquisition_channel", "industry",
                                           "logins_trend"], penalizer=0.1, strata=None)


def test_missing_values(features):
    bad = features.copy()
    bad.loc[bad.index[[2, 7]], "logins_trend"] = np.nan
    ids = bad["account_id"].iloc[[2, 7]].tolist()
    msg = rf"column 'logins_trend' has 2 missing values \(account_id {ids[0]}, {ids[1]}\)"
    with pytest.raises(ValueError, match=msg):
        fit_renewal_model(bad, covariates=COVS)
    m = fit_renewal_model(features, covariates=COVS)
    with pytest.raises(ValueError, match=msg):
        m.score(bad)


def test_as_of_before_the_data_starts(sim, features):
    with pytest.raises(ValueError, match="as_of=2001-01-01 is on or before the first contract"):
        build_account_features(sim, as_of="2001-01-01")
    m = fit_renewal_model(features, covariates=COVS)
    with pytest.raises(ValueError, match="features were built as of .* but as_of=2024-01-31"):
        m.score(features, as_of="2024-01-31")
    with pytest.raises(ValueError, match="horizon_months must be a positive number"):
        m.score(features, horizon_months=0)


def test_discrete_models_refuse_bad_durations(features):
    v = features[["account_id", "tenure_months", "churned"]].copy()
    v.loc[v.index[0], "tenure_months"] = -1.0
    with pytest.raises(ValueError, match="tenure_months"):
        Q.person_period(v, features[["account_id", "tier"]])


def test_parameters_out_of_bounds_are_refused(features):
    with pytest.raises(ValueError, match=r"penalizer must be a finite number >= 0, got -0.5"):
        fit_renewal_model(features, covariates=COVS, penalizer=-0.5)
    with pytest.raises(ValueError, match=r"penalizer must be a finite number >= 0, got nan"):
        fit_renewal_model(features, "weibull_aft", covariates=COVS, penalizer=float("nan"))
    with pytest.raises(ValueError, match=r"l1_ratio must be a finite number >= 0 at most 1"):
        fit_renewal_model(features, covariates=COVS, l1_ratio=2.0)
    m = fit_renewal_model(features, covariates=COVS)
    for h in (601, 1_000_000_000, float("inf"), -1):
        with pytest.raises(ValueError, match=r"horizon_months must be a positive number of "
                                             r"months at most 600, got"):
            m.score(features, horizon_months=h)
    assert len(m.score(features.head(5), horizon_months=600)) == 5


def test_infinite_covariate_is_refused_when_scoring(features):
    m = fit_renewal_model(features, covariates=COVS)
    num = next(c for c in COVS if features[c].dtype.kind == "f")
    bad = features.copy()
    bad.loc[bad.index[3], num] = np.inf
    with pytest.raises(ValueError, match=rf"column '{num}' has 1 infinite values \(account_id "
                                         rf"{bad['account_id'].iloc[3]}\)"):
        m.score(bad)
