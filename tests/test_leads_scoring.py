"""Lead scores, grades and reasons; evaluation against the simulator's truth; capacity; plots.

A model trained on older leads scores newer ones; the simulator's true
conversion probability is the yardstick.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

import tobmodel  # noqa: E402
from tobmodel import leads as L  # noqa: E402



@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("saas", "maturity", n_accounts=800, seed=5)


@pytest.fixture(scope="module")
def split(sim):
    train, later = L.time_split(sim.leads, "2025-01-01")
    test, _ = L.time_split(later, "2025-10-01")  # leads old enough to have closed
    return train, test


@pytest.fixture(scope="module")
def model(split):
    return L.fit_lead_model(split[0])


@pytest.fixture(scope="module")
def closed_test(split, model):
    closed, y, _ = L.outcome_labels(split[1])
    return closed, y, model.score(closed)


@pytest.fixture(scope="module")
def truth(sim):
    return sim.truth["leads"].set_index("lead_id")["p_convert"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- scores, grades, reasons ------------------------------------------------------------------

def test_score_table_follows_the_protocol(model, split):
    test = split[1].sample(frac=1.0, random_state=1)  # any row order
    out = model.score(test, as_of="2026-01-01")
    assert list(out.columns) == ["lead_id", "p_convert", "score", "grade", "reasons"]
    assert (out["lead_id"].to_numpy() == test["lead_id"].to_numpy()).all()
    assert out["p_convert"].between(0, 1).all() and out["score"].between(0, 100).all()
    assert set(out["grade"].astype(str)) <= {"A", "B", "C", "D"}
    # score is monotone in the probability
    o = np.argsort(out["p_convert"].to_numpy(), kind="stable")
    assert (np.diff(out["score"].to_numpy()[o]) >= 0).all()
    assert (model.kind, model.name, model.id_column) == ("lead", "lead_hgb", "lead_id")
    assert model.model_id.startswith("lead_hgb-") and len(model.model_id) == len("lead_hgb-") + 12


def test_higher_true_probability_scores_higher(closed_test, truth, split, model):
    test = split[1]
    out = model.score(test, n_reasons=0)
    rho = spearmanr(out["p_convert"], truth.reindex(out["lead_id"]).to_numpy()).statistic
    assert rho > 0.5
    by_channel = out.groupby(test["channel"].to_numpy())["score"].mean()
    assert by_channel["bidding"] < by_channel["referral"] - 15
    assert by_channel["bidding"] == by_channel.min()


def test_engaging_the_decision_maker_raises_the_score(model, split):
    test = split[1]
    off = model.score(test.assign(decision_maker_engaged=False), n_reasons=0)
    on = model.score(test.assign(decision_maker_engaged=True), n_reasons=0)
    gain = on["p_convert"] - off["p_convert"]
    assert gain.mean() > 0.03 and (gain > 0).mean() > 0.9
    assert (on["score"] >= off["score"]).mean() > 0.9


def test_grade_cut_offs_are_documented_and_applied(model, split):
    assert L.GRADE_CUTOFFS == {"A": 90, "B": 70, "C": 40, "D": 0}
    for letter, low in L.GRADE_CUTOFFS.items():
        assert f"{letter}  " in L.scoring.__doc__ and str(low) in L.scoring.__doc__
    assert L.grade_from_score(np.array([100, 90, 89, 70, 69, 40, 39, 0])).tolist() == \
        ["A", "A", "B", "B", "C", "C", "D", "D"]
    # scores are percentiles of the training leads: grade shares follow the cut-offs there
    closed, _, _ = L.outcome_labels(split[0])
    share = model.score(closed, n_reasons=0)["grade"].value_counts(normalize=True)
    np.testing.assert_allclose(share[["A", "B", "C", "D"]], [0.1, 0.2, 0.3, 0.4], atol=0.03)


def test_reasons_are_words_with_the_right_sign(closed_test, model):
    closed, _, out = closed_test
    parts = out["reasons"].str.split("; ").explode()
    assert out["reasons"].str.split("; ").str.len().max() <= 3
    assert parts.str.match(r"^[+-] ").all()
    assert not parts.str.contains("_").any()  # words, not column names
    dm = out["reasons"].str.extract(r"([+-]) decision maker (not )?engaged")
    engaged = closed["decision_maker_engaged"].to_numpy()
    said = dm[0].notna().to_numpy()
    assert said.sum() > 50
    assert (dm[0][said & engaged] == "+").all() and (dm[0][said & ~engaged] == "-").all()
    assert (dm[1][said & engaged].isna()).all() and (dm[1][said & ~engaged] == "not ").all()
    bid = out["reasons"].str.contains("paid bidding")
    assert out.loc[bid, "reasons"].str.contains(r"- came from paid bidding").all()


def test_explain_effects_sum_sign_and_reasons_optional(model, split):
    test = split[1].head(200)
    eff = model.explain(test)
    assert list(eff.columns[:2]) == ["lead_id", "p_convert"]
    bidding = test["channel"].to_numpy() == "bidding"
    assert eff.loc[bidding, "channel"].mean() < 0 < eff.loc[~bidding, "channel"].mean()
    assert (model.score(test, n_reasons=0)["reasons"] == "").all()


def test_reference_values_are_each_value_and_its_share():
    from tobmodel.leads.reasons import reference_values
    Z = np.array([[2.0, 1.0, 0.5, np.nan], [0.0, 1.0, 0.25, np.nan], [2.0, 0.0, 0.5, np.nan],
                  [np.nan, 1.0, 3.0, np.nan], [5.0, 1.0, 0.5, np.nan]])
    refs = reference_values(Z, ["category", "bool", "category", "category"])
    # codes and 0/1 (counted), non-integer values (sorted); missing values left out
    assert refs[0] == {"values": [0.0, 2.0, 5.0], "weights": [0.25, 0.5, 0.25]}
    assert refs[1] == {"values": [0.0, 1.0], "weights": [0.2, 0.8]}
    assert refs[2] == {"values": [0.25, 0.5, 3.0], "weights": [0.2, 0.6, 0.2]}
    assert refs[3] == {"values": [0.0], "weights": [1.0]}  # nothing known: a neutral 0
    numbers = reference_values(np.array([[1.0], [4.0], [3.0]]), ["number"])
    assert numbers == [{"values": [3.0], "weights": [1.0]}]


# --- evaluation against truth ---------------------------------------------------------------

def test_model_beats_channel_baseline_and_trails_the_oracle(model, split, sim):
    train, test = split
    table = L.evaluate_lead_model(model, test, truth=sim.truth["leads"],
                                  baselines={"channel only": L.fit_channel_baseline(train)})
    assert list(table.index) == ["model", "channel only", "oracle"]
    m, base, oracle = table.loc["model"], table.loc["channel only"], table.loc["oracle"]
    assert base["roc_auc"] + 0.03 < m["roc_auc"] <= oracle["roc_auc"] + 0.02
    assert m["brier"] < base["brier"] and oracle["brier"] <= m["brier"] + 0.005
    assert m["pr_auc"] > base["pr_auc"] and m["top_decile_lift"] > 2
    assert m["calibration_error"] < 0.05
    assert abs(m["mean_p_convert"] - m["conversion_rate"]) < 0.03


def test_metrics_on_known_numbers():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([.9, .2, .8, .1, .1, .1, .1, .1, .1, .1])
    m = L.lead_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(15 / 16)  # .2 loses only to .8
    assert m["top_decile_lift"] == pytest.approx(5.0)  # the best lead converted; rate 0.2
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert L.calibration_error(np.array([0, 1, 0, 1]), np.array([.5, .5, .5, .5]), 2) == 0
    assert L.calibration_error(np.zeros(4, int), np.full(4, .25), 2) == pytest.approx(0.25)


def test_gains_and_conversion_by_grade(closed_test):
    _, y, out = closed_test
    g = L.gains_table(y, out["p_convert"])
    assert len(g) == 10 and g["cum_conversion_share"].iloc[-1] == pytest.approx(1.0)
    assert g["cum_conversion_share"].is_monotonic_increasing
    assert g["cum_conversion_share"].iloc[0] > 0.2 and g["cum_lift"].iloc[0] > 2
    by_grade = L.conversion_by_grade(out, y).set_index("grade")
    rate = by_grade["conversion_rate"]
    assert rate["A"] > rate["B"] > rate["C"] > rate["D"]
    assert by_grade["leads"].sum() == len(y)


def test_cross_validated_metrics_include_calibration(split):
    cv = L.cross_validate_by_time(split[0], n_splits=2, kind="logistic")
    assert {"calibration_error", "brier", "roc_auc", "top_decile_lift"} <= set(cv.columns)


# --- capacity ------------------------------------------------------------------------------

def test_capacity_plan_expected_conversions_match_realised(closed_test, truth):
    closed, y, out = closed_test
    scores = out.assign(created_date=closed["created_date"].to_numpy())
    plan = L.capacity_plan(scores, leads_per_week=5, outcome=y)
    s = plan.summary
    weeks = s["weeks"]
    assert 35 <= weeks <= 40
    k = len(plan.call_list)
    assert k == round(5 * weeks)
    # the call list is the k best-scored leads, and the threshold is the last one called
    assert plan.call_list["p_convert"].min() == s["threshold_p_convert"]
    assert (out["p_convert"] > s["threshold_p_convert"]).sum() < k
    expected, realised = s["expected_conversions_per_week"] * weeks, y[
        np.isin(closed["lead_id"], plan.call_list["lead_id"])].sum()
    assert s["actual_conversions_per_week"] * weeks == realised
    p = plan.call_list["p_convert"].to_numpy()
    sd = np.sqrt((p * (1 - p)).sum())
    assert abs(expected - realised) < 3 * sd + 0.1 * expected
    # the oracle agrees on how many the called leads should bring
    assert abs(expected - truth.reindex(plan.call_list["lead_id"]).sum()) < 0.15 * expected
    assert s["expected_conversions_per_week"] > 1.5 * s["expected_if_random"]


def test_capacity_beyond_the_lead_flow_calls_everyone():
    scores = pd.DataFrame({"lead_id": [1, 2], "p_convert": [0.3, 0.1], "score": [80, 10]})
    plan = L.capacity_plan(scores, leads_per_week=10)
    assert len(plan.call_list) == 2 and plan.summary["share_of_conversions"] == 1.0
    with pytest.raises(L.LeadDataError, match="p_convert"):
        L.capacity_plan(scores.drop(columns="p_convert"), 5)


# --- plots ---------------------------------------------------------------------------------

def test_model_plots_return_labelled_axes(closed_test, truth):
    closed, y, out = closed_test
    both = {"model": out["p_convert"].to_numpy(),
            "oracle": truth.reindex(closed["lead_id"]).to_numpy()}
    tables = {name: L.calibration_table(y, p) for name, p in both.items()}
    fig, ax = plt.subplots()
    assert L.plot_calibration(tables, ax=ax) is ax
    for draw in (lambda: L.plot_calibration(tables), lambda: L.plot_gains(y, both),
                 lambda: L.plot_lift(y, both), lambda: L.plot_conversion_by_grade(out, y),
                 lambda: L.plot_capacity(L.capacity_plan(out, 20))):
        plt.figure()
        ax = draw()
        assert isinstance(ax, matplotlib.axes.Axes)
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert len(L.plot_gains(y, both, ax=plt.figure().gca()).get_legend().get_texts()) == 3
