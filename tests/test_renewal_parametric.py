"""Parametric AFT renewal models: closed forms against lifelines and numerical integrals."""
import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import tobmodel
from tobmodel.renewal import build_account_features, fit_renewal_model

COVS = ["tier", "sales_overpromised", "onboarding_completed", "logins_trend"]
MODELS = ["weibull_aft", "loglogistic_aft"]


@pytest.fixture(scope="module")
def tool():
    return build_account_features(tobmodel.simulate("tool", n_accounts=1200, seed=41))


@pytest.fixture(scope="module", params=MODELS)
def fitted(request, tool):
    return fit_renewal_model(tool, request.param, covariates=COVS)


def _lifelines_frame(model, df):
    return pd.DataFrame(model.encoder_.matrix(df), columns=model.encoder_.columns)


def _active(f, n=30, seed=0):
    return f[f["active"]].sample(n, random_state=seed).reset_index(drop=True)


def test_conditional_scores_agree_with_lifelines(tool, fitted):
    rows = _active(tool)
    got = fitted.score(rows)
    X, s = _lifelines_frame(fitted, rows), rows["tenure_months"].to_numpy()
    lf = fitted.lifelines_fitter_
    sf = lf.predict_survival_function(X, times=[12.0], conditional_after=s).to_numpy()[0]
    assert np.abs(got["p_churn_horizon"].to_numpy() - (1 - sf)).max() < 1e-6
    nxt = rows["months_to_next_renewal"].to_numpy()
    want = [1 - lf.predict_survival_function(X.iloc[[i]], times=[nxt[i]],
                                             conditional_after=[s[i]]).to_numpy()[0, 0]
            for i in range(len(rows))]
    assert np.abs(got["p_churn_next_renewal"].to_numpy() - want).max() < 1e-6
    # unconditional survival, too
    t = np.array([3.0, 12.0, 40.0])
    ours = fitted.survival_function(rows, t)
    theirs = lf.predict_survival_function(X, times=t).to_numpy().T
    assert np.abs(ours - theirs).max() < 1e-6


def test_expected_lifetime_closed_form(tool, fitted):
    rows = _active(tool, 8)
    total = fitted.expected_lifetime(rows)
    if fitted.name == "weibull_aft":   # lifelines has the closed form lambda * Gamma(1 + 1/rho)
        want = fitted.lifelines_fitter_.predict_expectation(_lifelines_frame(fitted, rows))
        assert np.allclose(total, want.to_numpy(), rtol=1e-6)
    # conditional: E[T - s | T > s] = int_s^inf S(u) du / S(s), by quadrature
    remaining = fitted.expected_remaining_lifetime(rows)
    s = rows["tenure_months"].to_numpy()
    for i in range(len(rows)):
        one = rows.iloc[[i]]

        def surv(u):
            return fitted.survival_function(one, [u])[0, 0]
        if np.isfinite(total[i]):
            t0, _ = integrate.quad(surv, 0, np.inf, limit=200)
            assert total[i] == pytest.approx(t0, rel=1e-5)
        if np.isfinite(remaining[i]):
            tail, _ = integrate.quad(surv, s[i], np.inf, limit=200)
            assert remaining[i] == pytest.approx(tail / surv(s[i]), rel=1e-5)
    assert (remaining > 0).all()


def test_lifetime_value_is_arr_times_expected_remaining_years(tool, fitted):
    rows = _active(tool, 20)
    arr = rows["arr"].to_numpy()
    ltv = fitted.lifetime_value(rows, horizon_months=None)
    assert np.allclose(ltv, arr / 12 * fitted.expected_remaining_lifetime(rows))
    # capped at 12 months, it is ARR/12 times the restricted mean of the score (grid error)
    capped = fitted.lifetime_value(rows, horizon_months=12)
    rm = fitted.score(rows)["expected_remaining_months"].to_numpy()
    assert np.allclose(capped, arr / 12 * rm, rtol=0.02)
    assert (capped <= arr + 1e-9).all()
    # discounting lowers value
    assert (fitted.lifetime_value(rows, 120, annual_discount_rate=0.1)
            < fitted.lifetime_value(rows, 120)).all()


def test_time_ratios_and_risk_direction(tool, fitted):
    tr = fitted.time_ratios_.set_index("covariate")
    # onboarding keeps customers longer (time ratio > 1); the interval brackets the estimate
    assert tr.loc["onboarding_completed", "time_ratio"] > 1
    assert ((tr["lower_95"] < tr["time_ratio"]) & (tr["time_ratio"] < tr["upper_95"])).all()
    rows = _active(tool, 20, seed=3)
    on = fitted.score(rows.assign(onboarding_completed=True))["p_churn_horizon"].to_numpy()
    off = fitted.score(rows.assign(onboarding_completed=False))["p_churn_horizon"].to_numpy()
    assert (off > on).all()            # higher probability = more risk
    names, contrib = fitted.contributions(rows.assign(onboarding_completed=False))
    assert (contrib[:, names.index("onboarding_completed")] > 0).all()   # pushes risk up


def test_parametric_beyond_followup_keeps_hazard(tool, fitted):
    old = _active(tool, 10).assign(tenure_months=fitted.last_event_time_ + 6)
    s = fitted.score(old)
    assert s["beyond_followup"].all() and (s["p_churn_horizon"] > 0.01).all()
