"""The funnel around the leads, on small simulations of all four business types."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import tobmodel  # noqa: E402
from tobmodel import leads as L  # noqa: E402

TYPES = ("platform", "saas", "hardware", "tool")


@pytest.fixture(scope="module")
def sims():
    return {bt: tobmodel.simulate(bt, "growth", n_accounts=300, seed=1).leads for bt in TYPES}


@pytest.fixture(scope="module")
def pooled(sims):
    # lead ids restart in every simulation: offset them so the pool has unique ids
    parts, offset = [], 0
    for leads in sims.values():
        prev = leads["previous_lead_id"] + offset
        parts.append(leads.assign(lead_id=leads["lead_id"] + offset, previous_lead_id=prev))
        offset += int(leads["lead_id"].max())
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("bt", TYPES)
def test_funnel_steps_follow_each_business_type(bt, sims):
    leads = sims[bt]
    f = L.funnel_table(leads)
    assert f["step_name"].tolist() == list(L.FUNNEL_STEPS[bt])
    closed = leads[leads["status"] != "open"]
    assert f["leads"].tolist() == [
        len(closed),
        int((closed["qualified_date"].notna() | closed["engaged_date"].notna()
             | (closed["status"] == "converted")).sum()),
        int((closed["engaged_date"].notna() | (closed["status"] == "converted")).sum()),
        int((closed["status"] == "converted").sum())]
    assert f["leads"].is_monotonic_decreasing
    assert f["conversion_from_first"].iloc[-1] == pytest.approx(
        (closed["status"] == "converted").mean())
    assert np.allclose(f["conversion_from_previous"].iloc[1:].to_numpy(),
                       f["leads"].iloc[1:].to_numpy() / f["leads"].iloc[:-1].to_numpy())
    assert (f["open_left_out"] == (leads["status"] == "open").sum()).all()


def test_funnel_shapes_differ_as_the_domain_says(sims):
    tables = {bt: L.funnel_table(sims[bt]).set_index("step") for bt in TYPES}
    overall = {bt: t.loc[4, "conversion_from_first"] for bt, t in tables.items()}
    # joining a platform is free: many sign-ups become active merchants; paying is harder
    assert overall["platform"] > 1.5 * max(overall["saas"], overall["hardware"])
    # free trials: a tool's active trial converts to paid more often than a SaaS demo to signing
    last = {bt: t.loc[4, "conversion_from_previous"] for bt, t in tables.items()}
    assert last["tool"] > last["saas"] + 0.05
    # online trial to paid is quicker than a contract signed after visits
    days = {bt: L.step_times(sims[bt]).set_index("step").loc[5, "median_days"] for bt in TYPES}
    assert days["tool"] < days["saas"] and days["tool"] < days["hardware"]


def test_funnel_by_channel_and_by_business_type(sims, pooled):
    by_channel = L.funnel_table(sims["saas"], by="channel")
    final = by_channel[by_channel["step"] == 4].set_index("channel")
    assert final.loc["referral", "conversion_from_first"] > \
        2 * final.loc["bidding", "conversion_from_first"]
    total = L.funnel_table(sims["saas"])
    assert by_channel.groupby("step")["leads"].sum().tolist() == total["leads"].tolist()
    by_type = L.funnel_table(pooled, by="business_type")
    for bt in TYPES:
        assert by_type.loc[by_type["business_type"] == bt, "step_name"].tolist() == \
            list(L.FUNNEL_STEPS[bt])
    mixed = L.funnel_table(pooled)
    assert mixed["step_name"].tolist() == ["lead", "qualified", "engaged", "converted"]


def test_step_times_match_the_dates(sims):
    leads = sims["saas"]
    t = L.step_times(leads).set_index("step")
    closed = leads[leads["status"] != "open"]
    q = (closed["qualified_date"] - closed["created_date"]).dt.days.dropna()
    assert t.loc[2, "leads"] == len(q) and t.loc[2, "median_days"] == q.median()
    assert t.loc[2, "transition"] == "lead -> qualified"
    assert t.loc[5, "transition"] == "lead -> signed"
    assert (t["q1_days"] <= t["median_days"]).all() and (t["median_days"] <= t["q3_days"]).all()
    assert (t["median_days"] >= 0).all()
    by = L.step_times(leads, by="channel")
    assert set(by["channel"].astype(str)) == set(leads["channel"].astype(str))


def test_loss_pool_and_re_engaged_leads(sims):
    leads = sims["saas"]
    pool = L.loss_pool_summary(leads).set_index("origin")
    assert set(pool.index) == {"first-time", "re-engaged"}
    assert pool["leads"].sum() == len(leads)
    assert pool.loc["re-engaged", "leads"] == int(leads["reengaged_from_loss_pool"].sum())
    came_back = leads["previous_lead_id"].dropna().nunique()
    assert pool["came_back"].sum() == came_back
    lost = pool["lost"]
    assert (pool["came_back"] <= lost).all()
    assert pool.loc["first-time", "median_days_to_return"] > 0
    by = L.loss_pool_summary(leads, by="channel")
    assert by["leads"].sum() == len(leads)


def test_funnel_refuses_missing_columns(sims):
    with pytest.raises(L.LeadDataError, match="missing column 'engaged_date'"):
        L.funnel_table(sims["saas"].drop(columns="engaged_date"))
    with pytest.raises(L.LeadDataError, match="'outcome_date'"):
        L.step_times(sims["saas"].drop(columns="outcome_date"))


def test_funnel_plots_return_labelled_axes(sims):
    leads = sims["tool"]
    for draw in (lambda ax: L.plot_funnel(L.funnel_table(leads), ax=ax),
                 lambda ax: L.plot_funnel(L.funnel_table(leads, by="channel"), ax=ax),
                 lambda ax: L.plot_step_times(L.step_times(leads), ax=ax),
                 lambda ax: L.plot_step_times(L.step_times(leads, by="channel"), ax=ax)):
        fig, ax = plt.subplots()
        assert draw(ax) is ax
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.figure()
    ax = L.plot_funnel(L.funnel_table(leads))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(L.FUNNEL_STEPS["tool"])


def test_plots_without_ax_draw_on_a_new_figure_not_the_open_one(sims):
    fig, open_ax = plt.subplots()
    _ = open_ax.plot([0, 1], [0, 1])
    ax = L.plot_funnel(L.funnel_table(sims["saas"]))
    assert ax is not open_ax and ax.figure is not fig
    assert len(open_ax.lines) == 1 and not open_ax.patches
    plt.close("all")
