"""Honest evaluation: time split, metrics against a segment baseline and the simulator's oracle."""
import warnings

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.renewal import build_account_features, fit_renewal_model
from tobmodel.renewal import evaluate as EV

CUTOFF = "2024-09-30"   # the simulations end 2025-12-31: 15 months of future to grade on


@pytest.fixture(scope="module", params=["saas", "tool", "platform", "hardware"])
def graded(request):
    sim = tobmodel.simulate(request.param, n_accounts=700, seed=7)
    split = EV.time_split(sim, CUTOFF)
    features = build_account_features(sim, as_of=CUTOFF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # few events per parameter on a small book
        model = fit_renewal_model(features, penalizer=0.05)
    curves = EV.model_churn_curves(model, features)
    table = EV.evaluate_against_truth(sim, CUTOFF, {"cox": curves}, split=split)
    return request.param, sim, split, curves, table


def test_time_split_does_not_leak(graded):
    _, sim, split, curves, _ = graded
    assert (pd.to_datetime(split.train["end_date"]) <= split.cutoff).all()
    assert split.test["account_id"].isin(split.train.loc[split.train["churned"] == 0,
                                                         "account_id"]).all()
    assert set(curves.index) == set(split.test["account_id"])
    # curves rise with the horizon
    assert (np.diff(curves.to_numpy(), axis=1) >= -1e-12).all()


def test_model_lies_between_baseline_and_oracle(graded):
    kind, _, _, _, t = graded
    t = t.set_index("model")
    assert list(t.index) == ["oracle", "baseline", "cox"]
    # higher = more risk, so a sensible score has concordance above one half
    assert (t["c_index"] > 0.55).all(), kind
    assert t.loc["cox", "c_index"] > t.loc["baseline", "c_index"] + 0.05, kind
    assert t.loc["oracle", "c_index"] >= t.loc["cox", "c_index"] - 0.02, kind
    assert t.loc["cox", "beats_baseline"] and t.loc["oracle", "oracle_gap"] == 0
    assert t.loc["cox", "oracle_gap"] == pytest.approx(
        t.loc["oracle", "c_index"] - t.loc["cox", "c_index"])
    assert ((t["ibs"] > 0) & (t["ibs"] < 0.25)).all()
    assert ((t["brier"] > 0) & (t["brier"] < 0.25)).all()
    assert t["calibration_error"].between(0, 0.3).all()
    assert "cox beats the segment baseline" in graded[4].attrs["sentence"]


def test_a_useless_model_is_reported_as_such(graded):
    _, sim, split, curves, _ = graded
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(rng.permutation(curves.to_numpy()), index=curves.index,
                         columns=curves.columns)       # right levels, wrong accounts
    t = EV.evaluate_against_truth(sim, CUTOFF, {"shuffled": noise}, split=split)
    row = t.set_index("model").loc["shuffled"]
    assert not row["beats_baseline"] and abs(row["c_index"] - 0.5) < 0.08
    assert "shuffled does NOT beat the segment baseline" in t.attrs["sentence"]
    assert "do not use it for decisions" in t.attrs["sentence"]


def test_calibration_table_and_number(graded):
    _, _, split, curves, table = graded
    h = split.horizon_time(12)
    cal = EV.calibration_table(split.test, curves[12.0], 12, n_bins=5, horizon_time=h)
    assert cal["n_accounts"].sum() == len(split.test) and len(cal) == 5
    assert (np.diff(cal["mean_predicted"]) >= 0).all()
    assert ((cal["lower"] <= cal["observed"] + 1e-12) & (cal["observed"] <= cal["upper"] + 1e-12)
            ).all()
    err = np.average(np.abs(cal["mean_predicted"] - cal["observed"]), weights=cal["n_accounts"])
    assert err >= 0
    # the one number in the table uses 10 bins of the same scores
    cal10 = EV.calibration_table(split.test, curves[12.0], 12, n_bins=10, horizon_time=h)
    err10 = np.average(np.abs(cal10["mean_predicted"] - cal10["observed"]),
                       weights=cal10["n_accounts"])
    assert table.set_index("model").loc["cox", "calibration_error"] == pytest.approx(err10)


def test_evaluate_renewal_model_in_one_call():
    sim = tobmodel.simulate("saas", n_accounts=500, seed=9)
    t = EV.evaluate_renewal_model(sim, CUTOFF, "weibull_aft",
                                  covariates=["tier", "sales_overpromised", "logins_trend"])
    assert t["model"].tolist() == ["oracle", "baseline", "weibull_aft"]
    assert "weibull_aft" in t.attrs["sentence"] and "oracle" in t.attrs["sentence"]


def test_evaluation_bad_input():
    sim = tobmodel.simulate("tool", n_accounts=300, seed=1)
    with pytest.raises(ValueError, match="must be before the data's as_of"):
        EV.time_split(sim, "2030-01-01")
    split = EV.time_split(sim, "2025-06-30")
    with pytest.raises(ValueError, match="must be longer than horizon_months"):
        EV.evaluate_against_truth(sim, "2025-06-30", split=split)
    split = EV.time_split(sim, CUTOFF)
    some = pd.Series(0.1, index=split.test["account_id"].iloc[:-2])
    with pytest.raises(ValueError, match="lack 2 of the"):
        EV.evaluate_scores({"partial": some}, split)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        EV.evaluate_scores({"pct": pd.Series(40.0, index=split.test["account_id"])}, split)
