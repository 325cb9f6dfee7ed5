"""Descriptive renewal analytics: KM retention, log-rank, cohort tables, GRR / NRR, plots."""
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import tobmodel  # noqa: E402
from tobmodel.renewal import descriptive as D  # noqa: E402
from tobmodel.renewal import plotting as P  # noqa: E402
from tobmodel.survival import survival_view  # noqa: E402

TOL = D.TOLERANCE_MONTHS


@pytest.fixture(scope="module")
def saas():
    sim = tobmodel.simulate("saas", n_accounts=1200, seed=11)
    return sim, D.add_segments(survival_view(sim), sim.accounts)


def _uncensored(n=501, seed=0):
    d = np.random.default_rng(seed).exponential(20, n) + 0.01
    return pd.DataFrame({"account_id": np.arange(n), "tenure_months": d, "churned": 1})


def test_retention_without_censoring_is_the_share_still_customers():
    v = _uncensored()
    r = D.retention_at(v, months=[6, 12, 24])
    d = v["tenure_months"].to_numpy()
    expected = [(d > m + TOL).mean() for m in (6, 12, 24)]
    assert np.allclose(r["retention"], expected)
    assert (r["lower"] <= r["retention"]).all() and (r["retention"] <= r["upper"]).all()
    assert r["at_risk"].tolist() == [int((d > m + TOL).sum()) for m in (6, 12, 24)]


def test_kaplan_meier_under_censoring_recovers_true_retention(saas):
    """KM on the censored view vs the simulator's true churn dates (known beyond as_of)."""
    sim, v = saas
    truth = sim.truth["accounts"].set_index("account_id")["churn_date"].reindex(v["account_id"])
    limit = (pd.to_datetime(v["start_date"]) + pd.DateOffset(months=12)).to_numpy()
    # true 12-month retention of accounts whose 12th month lies within the simulated truth
    known = limit <= np.datetime64(sim.as_of + pd.DateOffset(months=24))
    alive = (truth.isna() | (truth.to_numpy() > limit + np.timedelta64(3, "D"))).to_numpy()
    r = D.retention_at(v, months=[12]).iloc[0]
    assert known.all()
    assert abs(r["retention"] - alive.mean()) < 0.015   # ignoring censoring is ~0.03 off
    assert r["lower"] <= alive.mean() <= r["upper"]


def test_key_accounts_renew_more_and_log_rank_says_so(saas):
    _, v = saas
    r = D.retention_at(v, months=[12, 24], by="tier").set_index(["segment", "months"])
    assert r.loc[("KA", 12), "retention"] > r.loc[("SMB", 12), "retention"]
    assert r.loc[("KA", 24), "retention"] > r.loc[("SMB", 24), "retention"]
    cmp = D.compare_segments(v, "tier")
    assert cmp.p_value < 0.001 and cmp.degrees_of_freedom == 2
    assert cmp.sentence.startswith("Renewal differs by tier") and "KA keeps" in cmp.sentence
    assert set(cmp.table["segment"]) == {"KA", "mid", "SMB"}
    assert cmp.summary.loc[0, "n_segments"] == 3


def test_log_rank_on_a_random_label_finds_no_strong_difference(saas):
    _, v = saas
    shuffled = v.assign(label=np.random.default_rng(3).permutation(v["tier"].astype(str)))
    assert D.compare_segments(shuffled, "label").p_value > 0.001


def test_median_tenure_matches_sample_median_and_inf_when_not_reached():
    v = _uncensored()
    assert D.median_tenure(v)["median_months"].iloc[0] == pytest.approx(
        np.median(v["tenure_months"]))
    mostly_active = pd.DataFrame({"tenure_months": [1.0, 10, 10, 10], "churned": [1, 0, 0, 0]})
    assert np.isinf(D.median_tenure(mostly_active)["median_months"].iloc[0])


def test_cohort_table_agrees_with_kaplan_meier_where_fully_observed(saas):
    _, v = saas
    table = D.cohort_retention_table(v, freq="Y", step_months=6)
    values = table.to_numpy()
    assert np.allclose(values[:, 0], 1.0)
    assert np.all(np.diff(values, axis=1)[np.isfinite(np.diff(values, axis=1))] <= 1e-12)
    n_missing = np.isnan(values).sum(axis=1)
    assert np.all(np.diff(n_missing) >= 0)        # later cohorts are seen for less time
    for row, cohort in enumerate(table.index):    # a handful of cohorts
        sub = v[pd.to_datetime(v["start_date"]).dt.year == int(cohort)]
        months = table.columns[np.isfinite(values[row])]
        km = D.retention_at(sub, months=months[1:])["retention"].to_numpy()
        assert np.allclose(values[row, 1:len(months)], km, atol=1e-9)
    counts = D.cohort_retention_table(v, freq="Y", step_months=6, counts=True)
    assert counts[0].tolist() == list(table.attrs["cohort_size"].values())


def _hand_tables():
    acc = pd.DataFrame({"account_id": [1, 2, 3, 4], "business_type": "saas",
                        "first_contract_date": pd.to_datetime(["2022-06-01"] * 3 + ["2023-03-01"])})
    acc.attrs["as_of"] = "2024-01-31"
    d = pd.to_datetime
    con = pd.DataFrame({
        "account_id": [1, 2, 2, 3, 3, 4], "period": [1, 1, 2, 1, 2, 1],
        "start_date": d(["2022-06-01", "2022-06-01", "2023-06-01", "2022-06-01", "2023-06-01",
                         "2023-03-01"]),
        "end_date": d(["2023-06-01", "2023-06-01", "2024-06-01", "2023-06-01", "2024-06-01",
                       "2024-03-01"]),
        "arr": [100.0, 100, 150, 100, 80, 500],
        "outcome": ["churned", "renewed", "open", "renewed", "open", "open"]})
    return {"accounts": acc, "contracts": con}


def test_gross_and_net_revenue_retention_by_hand():
    rr = D.revenue_retention(_hand_tables())
    assert len(rr) == 1
    row = rr.iloc[0]
    assert row["accounts"] == 3 and row["retained_accounts"] == 2
    assert (row["start_arr"], row["churned_arr"], row["contraction_arr"],
            row["expansion_arr"], row["end_arr"]) == (300, 100, 20, 50, 230)
    assert row["grr"] == pytest.approx(180 / 300) and row["nrr"] == pytest.approx(230 / 300)


def test_revenue_retention_on_simulated_books(saas):
    sim, _ = saas
    for freq in ("Y", "Q"):
        rr = D.revenue_retention(sim, freq=freq)
        assert (rr["grr"] <= rr["nrr"] + 1e-12).all() and rr["grr"].between(0, 1).all()
        assert np.allclose(rr["nrr"], rr["end_arr"] / rr["start_arr"])
        assert (rr["end_date"] <= sim.as_of).all()
    hw = tobmodel.simulate("hardware", n_accounts=300, seed=4)
    assert (D.revenue_retention(hw)["grr"].between(0, 1)).all()


def test_bad_durations_and_events_name_the_column_and_rows():
    v = pd.DataFrame({"account_id": [7, 8], "tenure_months": [0.0, 5.0], "churned": [1, 0]})
    with pytest.raises(ValueError,
                       match=r"tenure_months must be a positive number of months.*account_id 7"):
        D.retention_at(v)
    v = pd.DataFrame({"account_id": [7, 8], "tenure_months": [3.0, 5.0], "churned": [2, 0]})
    with pytest.raises(ValueError, match=r"churned must be 0 \(still a customer\) or 1"):
        D.fit_kaplan_meier(v)
    with pytest.raises(ValueError, match="missing column"):
        D.median_tenure(pd.DataFrame({"tenure": [1.0]}))


def test_all_censored_warns_and_log_rank_refuses():
    v = pd.DataFrame({"tenure_months": [3.0, 5, 8, 9], "churned": 0, "tier": ["KA", "KA", "SMB",
                                                                          "SMB"]})
    with pytest.warns(UserWarning, match="no churn observed"):
        r = D.retention_at(v, months=[2])
    assert r["retention"].iloc[0] == 1.0
    with pytest.raises(ValueError, match="every account is censored"):
        D.compare_segments(v, "tier")


def test_empty_segment_warns_and_unknown_column_explains(saas):
    _, v = saas
    with pytest.warns(UserWarning, match="segment tier='enterprise' has no accounts"):
        t = D.retention_at(v, by="tier", segments=["KA", "enterprise"])
    assert set(t["segment"]) == {"KA"}
    with pytest.raises(ValueError, match="add_segments"):
        D.retention_at(survival_view(saas[0]), by="tier")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # unused schema categories are not an empty segment
        D.fit_kaplan_meier(v, by="contract_term")


def test_cohort_table_on_one_cohort_warns():
    v = pd.DataFrame({"start_date": pd.to_datetime(["2024-01-02", "2024-02-01"]),
                      "tenure_months": [3.0, 10.0], "churned": [1, 0]})
    v.attrs["as_of"] = "2024-12-01"
    with pytest.warns(UserWarning, match="one cohort"):
        t = D.cohort_retention_table(v, freq="Y", step_months=3)
    assert t.shape[0] == 1 and t.iloc[0, 2] == 0.5


def test_plots_return_labelled_axes(saas):
    sim, v = saas
    ax = P.plot_kaplan_meier(v, by="tier")
    assert "tier" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.figure.axes) > 1            # the at-risk table sits under the plot
    assert len(ax.collections) >= 3            # confidence bands
    ax = P.plot_cohort_heatmap(D.cohort_retention_table(v, freq="Y", step_months=12))
    assert ax.get_ylabel() == "start cohort"
    ax = P.plot_revenue_retention(D.revenue_retention(sim))
    assert len(ax.patches) == 2 * len(D.revenue_retention(sim))
    ax = P.plot_censoring(v, n=15)
    churn_marks = ax.lines[0].get_xdata().size + ax.lines[1].get_xdata().size
    assert churn_marks == 15 and ax.get_title().startswith("Follow-up of 15")
    import matplotlib.pyplot as plt
    plt.close("all")
