"""The survival API a statistician expects: any DataFrame, integer strata, public fit statistics.

Reference numbers: lifelines' documentation fits the Rossi recidivism data
(``lifelines.datasets.load_rossi``) with ``CoxPHFitter`` (coefficients below,
log-likelihood -658.75, concordance 0.64, partial AIC 1331.50) and
``WeibullAFTFitter`` (lambda_ intercept 3.99, rho_ intercept 0.34,
log-likelihood -679.92, AIC 1377.83).
"""
import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi

from tobmodel.renewal import fit_renewal_model

PUBLISHED_COX = {"fin": -0.38, "age": -0.06, "race": 0.31, "wexp": -0.15, "mar": -0.43,
                 "paro": -0.08, "prio": 0.09}


@pytest.fixture(scope="module")
def rossi():
    return load_rossi()


def test_cox_on_rossi_matches_the_published_fit_without_placeholder_columns(rossi):
    m = fit_renewal_model(rossi, "cox", duration_col="week", event_col="arrest")
    assert m.covariates_ == list(PUBLISHED_COX)
    np.testing.assert_allclose(m.coef_, list(PUBLISHED_COX.values()), atol=0.006)
    assert m.log_likelihood_ == pytest.approx(-658.75, abs=0.01)
    assert m.concordance_index_ == pytest.approx(0.64, abs=0.005)
    assert m.AIC_ == pytest.approx(1331.50, abs=0.01)
    assert rossi.columns.tolist()[:2] == ["week", "arrest"]  # the caller's frame untouched
    s = m.survival_function(rossi.head(5), [10, 52])
    assert ((s > 0) & (s < 1)).all() and (s[:, 1] < s[:, 0]).all()


def test_integer_strata_fit_like_lifelines(rossi):
    m = fit_renewal_model(rossi, "cox", duration_col="week", event_col="arrest",
                          strata=["race"])
    ref = CoxPHFitter().fit(rossi, "week", "arrest", strata=["race"])
    assert m.strata_ == ["race"] and m.strata_levels_ == {"race": ["0", "1"]}
    np.testing.assert_allclose(m.coef_, ref.params_[m.covariates_].to_numpy(), atol=1e-6)
    assert m.log_likelihood_ == pytest.approx(ref.log_likelihood_, abs=1e-6)
    # each stratum has its own baseline: the same covariates, different survival
    two = rossi.head(1).copy()
    two = pd.concat([two.assign(race=0), two.assign(race=1)], ignore_index=True)
    s = m.survival_function(two, [52])[:, 0]
    assert abs(s[0] - s[1]) > 1e-3


def test_weibull_aft_reports_the_regression_intercept(rossi):
    m = fit_renewal_model(rossi, "weibull_aft", duration_col="week", event_col="arrest")
    assert m.regression_intercept_ == pytest.approx(3.99, abs=0.005)
    assert np.log(m.shape_) == pytest.approx(0.34, abs=0.005)
    assert m.log_likelihood_ == pytest.approx(-679.92, abs=0.01)
    assert m.AIC_ == pytest.approx(1377.83, abs=0.01)
    assert m.concordance_index_ == pytest.approx(0.64, abs=0.005)


def test_bad_column_names_are_one_line_errors(rossi):
    with pytest.raises(ValueError, match="duration_col='weeks' is not a column"):
        fit_renewal_model(rossi, duration_col="weeks", event_col="arrest")
    with pytest.raises(ValueError, match="has a column 'churned'"):
        fit_renewal_model(rossi.assign(churned=0), duration_col="week", event_col="arrest")
