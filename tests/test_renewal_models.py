"""Cox renewal model and conditional scoring: agreement with lifelines, direction, extrapolation."""
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines.utils import concordance_index
from scipy import stats

import tobmodel
from tobmodel.renewal import (CoxRenewalModel, RenewalFitWarning, build_account_features,
                              fit_renewal_model)

COVS = ["tier", "sales_overpromised", "onboarding_completed", "logins_trend",
        "price_vs_tier_median"]


@pytest.fixture(scope="module")
def saas():
    sim = tobmodel.simulate("saas", n_accounts=1500, seed=31)
    return sim, build_account_features(sim)


@pytest.fixture(scope="module")
def cox(saas):
    return fit_renewal_model(saas[1], covariates=COVS)


def _lifelines_design(model, df):
    """The frame lifelines was fitted on, for rows of ``df``."""
    X = pd.DataFrame(model.encoder_.matrix(df), columns=model.encoder_.columns)
    if model.strata_:
        X["_stratum"] = model._stratum_codes(df)
    return X


def _sample(f, n=40, seed=0):
    return f[f["active"]].sample(n, random_state=seed).reset_index(drop=True)


def _lifelines_conditional_churn(cph, X, s, months):
    """1 - S(s + m | s) from lifelines, one call per row (each row its own m)."""
    out = np.empty(len(X))
    for i in range(len(X)):
        sf = cph.predict_survival_function(X.iloc[[i]], times=[months[i]],
                                           conditional_after=[s[i]])
        out[i] = 1 - sf.to_numpy()[0, 0]
    return out


@pytest.mark.parametrize("options", [{}, {"strata": None, "penalizer": 0.05},
                                     {"baseline": "weibull"},
                                     {"strata": ["contract_term", "tier"],
                                      "covariates": COVS[1:]}])
def test_cox_scores_agree_with_lifelines_conditional_prediction(saas, options):
    f = saas[1]
    model = fit_renewal_model(f, **{"covariates": COVS, "baseline": "step", **options})
    rows = _sample(f)
    if options.get("baseline") == "weibull":  # the tail differs from lifelines only beyond
        rows = rows[~model.score(rows)["beyond_followup"].to_numpy()].reset_index(drop=True)
    got = model.score(rows)
    cph, X = model.lifelines_fitter_, _lifelines_design(model, rows)
    s = rows["tenure_months"].to_numpy()
    # horizon: lifelines' own conditional survival, all rows at once
    sf = cph.predict_survival_function(X, times=[12.0], conditional_after=s)[X.index]
    assert np.abs(got["p_churn_horizon"].to_numpy() - (1 - sf.to_numpy()[0])).max() < 1e-6
    nxt = _lifelines_conditional_churn(cph, X, s, rows["months_to_next_renewal"].to_numpy())
    assert np.abs(got["p_churn_next_renewal"].to_numpy() - nxt).max() < 1e-6
    # restricted mean: integral of lifelines' conditional survival over 12 months
    grid = np.linspace(0, 12, 1201)
    curve = cph.predict_survival_function(X, times=grid, conditional_after=s)[X.index].to_numpy()
    rmst = ((curve[1:] + curve[:-1]) / 2 * np.diff(grid)[:, None]).sum(axis=0)
    assert np.abs(got["expected_remaining_months"].to_numpy() - rmst).max() < 0.1   # ~3 days
    assert got["p_churn_horizon"].max() > 0.05        # not trivially zero


def test_strata_give_one_baseline_each(saas):
    f = saas[1]
    m = fit_renewal_model(f, covariates=COVS[1:], strata=["contract_term", "tier"])
    combos = f[["contract_term", "tier"]].astype(str).drop_duplicates()
    assert len(m.baseline_times_) == len(m.stratum_keys_) == len(combos) >= 4
    assert "tier" not in m.covariates_
    plain = fit_renewal_model(f, covariates=COVS, strata=None)
    assert plain.strata_ == [] and len(plain.baseline_times_) == 1
    with pytest.raises(ValueError, match="strata column"):
        fit_renewal_model(f, covariates=COVS, strata="no_such_column")


def test_penalizer_shrinks_coefficients(saas):
    f = saas[1]
    free = fit_renewal_model(f, covariates=COVS)
    ridge = fit_renewal_model(f, covariates=COVS, penalizer=2.0)
    lasso = fit_renewal_model(f, covariates=COVS, penalizer=2.0, l1_ratio=1.0)
    assert np.linalg.norm(ridge.coef_) < 0.7 * np.linalg.norm(free.coef_)
    assert np.abs(lasso.coef_).sum() < np.abs(free.coef_).sum()
    assert ridge.model_id != free.model_id != lasso.model_id


def test_higher_score_means_more_risk(saas, cox):
    sim, f = saas
    scores = cox.score(f)
    act = f["active"].to_numpy()
    # the simulator makes over-promised accounts churn more: the model must say so
    hr = cox.hazard_ratios_.set_index("covariate")["hazard_ratio"]
    assert hr["sales_overpromised"] > 1.3 and hr["onboarding_completed"] < 0.8
    op = f["sales_overpromised"].to_numpy()
    p = scores["p_churn_horizon"].to_numpy()
    assert p[act & op].mean() > 1.3 * p[act & ~op].mean()
    # the same account, over-promised or not: flipping only that covariate raises risk
    row = f[f["active"] & ~f["sales_overpromised"]].sample(20, random_state=2)
    worse = cox.score(row.assign(sales_overpromised=True))
    better = cox.score(row)
    assert (worse["p_churn_horizon"].to_numpy() > better["p_churn_horizon"].to_numpy()).all()
    # against the truth: scores rank like the simulator's true 12-month churn probability
    truth = sim.truth["accounts"].set_index("account_id")["p_churn_12m"]
    s = scores.loc[act].set_index("account_id")["p_churn_horizon"]
    assert stats.spearmanr(s, truth.reindex(s.index)).statistic > 0.3
    # lifelines' concordance treats higher as longer survival: flip the sign of risk
    risk = 1 - cox.survival_function(f, [12.0])[:, 0]
    c = concordance_index(f["tenure_months"], -risk, f["churned"])
    assert c > 0.65 and concordance_index(f["tenure_months"], risk, f["churned"]) == \
        pytest.approx(1 - c, abs=1e-9)


def test_score_columns_and_churned_rows(saas, cox):
    f = saas[1]
    s = cox.score(f, horizon_months=6)
    assert list(s.columns) == list(tobmodel.renewal.SCORE_COLUMNS)
    assert (s["account_id"].to_numpy() == f["account_id"].to_numpy()).all()
    churned = f["churned"].to_numpy() == 1
    assert s.loc[churned, "p_churn_horizon"].isna().all() and not s.loc[churned,
                                                                        "beyond_followup"].any()
    act = s.loc[~churned]
    assert act["p_churn_horizon"].between(0, 1).all()
    assert act["expected_remaining_months"].between(0, 6).all()
    # the next renewal within 6 months: churn by it cannot exceed churn within 6 months
    soon = f.loc[~churned, "months_to_next_renewal"].to_numpy() <= 6
    assert (act["p_churn_next_renewal"].to_numpy()[soon]
            <= act["p_churn_horizon"].to_numpy()[soon] + 1e-12).all()
    # more horizon, more churn
    assert (cox.score(f)["p_churn_horizon"][~churned] >= act["p_churn_horizon"] - 1e-12).all()


def test_beyond_followup_flag_and_extrapolating_baseline(saas):
    f = saas[1]
    step = fit_renewal_model(f, covariates=COVS, strata=None, baseline="step")
    tail = fit_renewal_model(f, covariates=COVS, strata=None)   # default: Weibull tail
    last = step.last_event_time_[0]
    s = step.score(f)
    act = f["active"].to_numpy()
    tenure, to_next = f["tenure_months"].to_numpy(), f["months_to_next_renewal"].to_numpy()
    expect = act & (tenure + np.maximum(to_next, 12) > last)
    assert (s["beyond_followup"].to_numpy() == expect).all() and expect.any()
    # accounts older than anyone who churned
    old = _sample(f, 30).assign(tenure_months=last + 3.0)
    flat, ext = step.score(old), tail.score(old)
    assert flat["beyond_followup"].all() and ext["beyond_followup"].all()
    # lifelines' own prediction: flat baseline, so (almost) no churn within 12 months
    sf = step.lifelines_fitter_.predict_survival_function(
        _lifelines_design(step, old), times=[12.0], conditional_after=old["tenure_months"])
    assert np.allclose(flat["p_churn_horizon"], 1 - sf.to_numpy()[0], atol=1e-6)
    assert flat["p_churn_horizon"].max() < 1e-6
    # the Weibull tail keeps the hazard going: a visible 12-month churn
    assert ext["p_churn_horizon"].mean() > 0.05
    assert (ext["p_churn_horizon"] > flat["p_churn_horizon"] + 0.01).all()
    # and so does the parametric fallback
    aft = fit_renewal_model(f, "weibull_aft", covariates=COVS).score(old)
    assert aft["beyond_followup"].all() and aft["p_churn_horizon"].mean() > 0.05
    # inside the follow-up both baselines agree
    young = f[f["active"] & ~s["beyond_followup"]].head(30)
    assert np.allclose(step.score(young)["p_churn_horizon"], tail.score(young)["p_churn_horizon"])


def test_hazard_ratio_table_and_plot(cox):
    import matplotlib
    matplotlib.use("Agg")
    t = cox.hazard_ratios_
    assert list(t.columns) == ["covariate", "hazard_ratio", "lower_95", "upper_95", "p",
                               "compared_with"]
    assert t["covariate"].tolist() == cox.encoder_.columns
    assert ((t["lower_95"] < t["hazard_ratio"]) & (t["hazard_ratio"] < t["upper_95"])).all()
    lifelines_hr = cox.lifelines_fitter_.hazard_ratios_[cox.encoder_.columns].to_numpy()
    assert np.allclose(t["hazard_ratio"], lifelines_hr)
    # reference level = most common tier; the table says what each level is compared with
    common = cox.encoder_.categorical["tier"]["reference"]
    assert (t.loc[t["covariate"].str.startswith("tier="), "compared_with"]
            == f"tier={common}").all()
    ax = cox.plot_hazard_ratios()
    assert ax.get_xscale() == "log" and ax.get_title() and ax.get_xlabel()
    import matplotlib.pyplot as plt
    plt.close("all")


def test_ph_check_in_plain_words(saas):
    f = saas[1]
    # annual contracts churn only at anniversaries, monthly ones every month: their hazards
    # are not proportional; as a covariate contract_term must be flagged, with advice
    m = fit_renewal_model(f, covariates=["tier", "contract_term"], strata=None)
    rep = m.ph_check_report()
    row = rep.table.set_index("covariate").loc["contract_term"]
    assert row["breaks_ph"] and "strata" in row["advice"]
    assert "contract_term" in rep.text and "break proportional hazards" in rep.text
    assert str(rep) == rep.text
    # stratified on it, the check no longer mentions it
    m2 = fit_renewal_model(f, covariates=["tier"], strata="contract_term")
    assert "contract_term" not in m2.ph_check_report().table["covariate"].tolist()


def test_constructor_only_stores_parameters_and_fit_returns_self(saas):
    m = CoxRenewalModel(covariates=COVS, penalizer=0.1)
    assert vars(m) == {"covariates": COVS, "strata": "auto", "penalizer": 0.1, "l1_ratio": 0.0,
                       "baseline": "weibull", "allow_unknown_categories": False}
    assert m.fit(saas[1]) is m and m.coef_.shape == (len(m.encoder_.columns),)
    with pytest.raises(ValueError, match="not fitted"):
        CoxRenewalModel().score(saas[1])


def test_few_events_per_covariate_warns(saas):
    f = saas[1]
    small = f.sample(120, random_state=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_renewal_model(small, covariates=COVS, strata=None, penalizer=0.1)
    assert any(issubclass(w.category, RenewalFitWarning) and "per parameter" in str(w.message)
               for w in caught)
