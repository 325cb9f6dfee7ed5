"""Repurchase (hardware order gaps): reconciliation with the orders, direction, lifelines, truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import tobmodel
from tobmodel.renewal import (build_account_features, fit_renewal_model, fit_repurchase_model,
                              order_gaps)

CUTOFF_BACK = pd.DateOffset(months=18)


@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("hardware", n_accounts=600, seed=11)


@pytest.fixture(scope="module")
def gaps(sim):
    return order_gaps(sim)


@pytest.fixture(scope="module")
def model(gaps):
    return fit_repurchase_model(gaps)


@pytest.fixture(scope="module")
def history():
    """Fit 18 months before the simulation's as_of; what happened afterwards is known."""
    s = tobmodel.simulate("hardware", n_accounts=2000, seed=5)
    cutoff = s.as_of - CUTOFF_BACK
    g = order_gaps(s, as_of=cutoff)
    m = fit_repurchase_model(g)
    active = tobmodel.survival_view(s, as_of=cutoff).query("churned == 0")["account_id"]
    later = tobmodel.survival_view(s).set_index("account_id").loc[active]
    lapsed = ((later["churned"] == 1)
              & (later["end_date"] <= cutoff + pd.DateOffset(months=12))).astype(int)
    p = m.lapse_probability(g[g["latest"]]).set_index("account_id")["p_lapse_next_12m"]
    return {"sim": s, "cutoff": cutoff, "lapsed": lapsed, "p": p.loc[active]}


def test_one_gap_per_order_and_dates_match(sim, gaps):
    c = sim.contracts[sim.contracts["start_date"] <= sim.as_of]
    c = c[c["account_id"].isin(gaps["account_id"])].sort_values(["account_id", "start_date"])
    assert len(gaps) == len(c) and len(c) > 2 * gaps["account_id"].nunique()
    assert (gaps["account_id"].to_numpy() == c["account_id"].to_numpy()).all()
    assert (gaps["start_date"].to_numpy() == c["start_date"].to_numpy()).all()
    assert (gaps["order_number"].to_numpy() == c["period"].to_numpy()).all()
    # exactly one latest gap per account, its highest order, always censored
    last = gaps.groupby("account_id")["order_number"].transform("max")
    assert (gaps["latest"] == (gaps["order_number"] == last)).all()
    assert (gaps.loc[gaps["latest"], "reordered"] == 0).all()
    # reordered <=> the next order came by the calendar lapse date (survival_view's rule)
    nxt = gaps.groupby("account_id")["start_date"].shift(-1)
    deadline = gaps["start_date"] + pd.DateOffset(months=12)
    assert (gaps["reordered"] == (nxt.notna() & (nxt <= deadline)).astype(int)).all()
    # gap lengths: days to the next order (or to as_of), within calendar-month rounding
    censor = deadline.where(~gaps["latest"] | (deadline <= sim.as_of), sim.as_of)
    end = pd.Series(np.where(gaps["reordered"] == 1, nxt, censor), index=gaps.index)
    days = (end - gaps["start_date"]).dt.days.to_numpy() / (365.25 / 12)
    assert np.abs(gaps["gap_months"].to_numpy() - np.maximum(days, 1 / 31)).max() < 0.1
    assert (gaps["gap_months"] > 0).all() and (gaps["gap_months"] <= 12).all()
    assert "months_since_last_order" not in gaps and "tenure_months" not in gaps
    assert {"tier", "logins_trend", "log_order_number"} <= set(gaps.columns)


def test_lapses_reconcile_with_survival_view(sim, gaps):
    sv = tobmodel.survival_view(sim).set_index("account_id")
    lapse = gaps[(gaps["reordered"] == 0) & (gaps["gap_months"] == 12)]
    first = (lapse.groupby("account_id")["start_date"].min() + pd.DateOffset(months=12))
    churned = sv.index[sv["churned"] == 1]
    assert set(first.index) == set(churned)
    assert (sv.loc[first.index, "end_date"] == first).all()


def test_as_of_drops_later_orders(sim):
    cutoff = sim.as_of - CUTOFF_BACK
    g = order_gaps(sim, as_of=cutoff)
    assert g["start_date"].max() <= cutoff and g.attrs["as_of"] == str(cutoff.date())
    latest = g[g["latest"]]
    active = latest["gap_months"] < 12
    # active customers' latest gap runs to the cutoff
    since = (cutoff - latest.loc[active, "start_date"]).dt.days / (365.25 / 12)
    assert np.abs(latest.loc[active, "gap_months"] - since.clip(lower=1 / 31)).max() < 0.1


def test_longer_wait_means_more_lapse_risk(gaps, model):
    one = gaps[gaps["latest"]].iloc[[0]]
    m = np.r_[np.linspace(0.05, 11.95, 40), 12.0]
    profile = one.loc[one.index.repeat(len(m))].assign(gap_months=m)
    p = model.lapse_probability(profile)["p_lapse_next_12m"].to_numpy()
    assert (np.diff(p) >= -1e-12).all() and p[-1] == 1.0 and p[0] < 0.5 * p[-2]
    # across real customers too: the longest waits carry the highest risk
    s = model.lapse_probability(gaps[gaps["latest"]])
    band = pd.qcut(s["months_since_last_order"], 3, labels=False)
    means = s.groupby(band)["p_lapse_next_12m"].mean().to_numpy()
    assert means[0] < means[1] < means[2]


def test_agrees_with_lifelines_conditional_survival(gaps, model):
    latest = gaps[gaps["latest"] & (gaps["gap_months"] < 12)].iloc[:25]
    ours = model.lapse_probability(latest)["p_lapse_next_12m"].to_numpy()
    X = pd.DataFrame(model.encoder_.matrix(latest), columns=model.encoder_.columns)
    m = latest["gap_months"].to_numpy()
    theirs = [float(model.lifelines_fitter_.predict_survival_function(
        X.iloc[[i]], times=[12 - m[i]], conditional_after=[m[i]]).iloc[0, 0])
        for i in range(len(X))]
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert np.ptp(ours) > 0.1  # a real range of risks, not a constant


def test_matches_what_happened_next(history):
    p, lapsed = history["p"], history["lapsed"]
    assert len(p) > 800 and 0.05 < lapsed.mean() < 0.4
    assert abs(p.mean() - lapsed.mean()) < 0.05
    assert roc_auc_score(lapsed, p) > 0.7


def test_plain_cox_on_tenure_is_worse_calibrated(history):
    s, cutoff = history["sim"], history["cutoff"]
    f = build_account_features(s, as_of=cutoff)
    plain = fit_renewal_model(f).score(f).set_index("account_id")["p_churn_horizon"]
    plain = plain.loc[history["p"].index]
    lapsed = history["lapsed"]
    gap_error = abs(history["p"].mean() - lapsed.mean())
    assert gap_error < abs(plain.mean() - lapsed.mean())


def test_bad_input_is_named(gaps, model, sim):
    with pytest.raises(ValueError, match="gaps: gap_months must be in"):
        fit_repurchase_model(gaps.assign(gap_months=gaps["gap_months"] * 2))
    with pytest.raises(ValueError, match="lapse_months=12 but the model uses lapse_months=6"):
        fit_repurchase_model(gaps, lapse_months=6)
    with pytest.raises(ValueError, match="not a customer's latest order"):
        model.lapse_probability(gaps)
    with pytest.raises(ValueError, match=r"latest_gaps: column\(s\) \['tier'\] missing"):
        model.lapse_probability(gaps[gaps["latest"]].drop(columns="tier"))
    with pytest.raises(ValueError, match="not fitted"):
        type(model)().lapse_probability(gaps)
    saas = tobmodel.simulate("saas", n_accounts=200, seed=1)
    with pytest.raises(ValueError, match="order gaps need 'hardware'"):
        order_gaps(saas)
