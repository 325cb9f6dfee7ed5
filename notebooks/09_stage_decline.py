# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Decline stage (衰退期): churn rises, win back from the loss pool
#
# Every product eventually meets a cheaper competitor, a new technology, or a market
# that has stopped growing. In the decline stage (衰退期) users and revenue fall, new
# leads convert worse, and competitors poach customers. Two jobs matter most:
# **understand and slow churn** (流失), and **win back** people from the **loss pool**
# (流失用户池): leads who dropped out and customers who left, some of whom come back.
#
# **Learning goals.** After this notebook you can
#
# 1. compare a declining business with a mature one using `tobmodel.simulate(stage=...)`:
#    customers in force, quarterly churn rate, renewal curves;
# 2. read the recorded churn reasons and say which ones operations can act on;
# 3. measure the loss pool with `tobmodel.leads.loss_pool_summary`: how many lost leads
#    come back, how soon, and how well they convert;
# 4. score returning leads with the lead model and build two win-back lists: returning
#    leads for sales, and recently churned customers for a win-back offer.

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from threadpoolctl import threadpool_limits

import tobmodel
from tobmodel import leads as L
from tobmodel.renewal import book_by_period, compare_segments, retention_at
from tobmodel.renewal.plotting import plot_kaplan_meier

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 110)  # reasons in full
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a bare kernel
threadpool_limits(1)  # one OpenMP thread: much faster model fits on a busy machine

sims = {stage: tobmodel.simulate("saas", stage, n_accounts=1500, seed=9)
        for stage in ("maturity", "decline")}
decline = sims["decline"]
AS_OF = decline.as_of
for s in sims.values():
    print(s)
plt.show()

# %% [markdown]
# ## 1. Decline against maturity
#
# The same SaaS business simulated in two lifecycle stages, same size parameter and
# seed. For each quarter, `tobmodel.renewal.book_by_period` counts the customers in
# force at its start and the share of them who churned during the quarter (the
# quarterly churn rate).

# %%
quarterly = {stage: book_by_period(sim, freq="Q").iloc[-16:] for stage, sim in sims.items()}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
for stage, q in quarterly.items():
    _ = axes[0].plot(q.index.astype(str), q["customers_at_start"], marker="o", label=stage)
    _ = axes[1].plot(q.index.astype(str), q["churn_rate"], marker="o", label=stage)
for ax, (title, ylabel) in zip(axes, [("Customers in force", "customers"),
                                      ("Quarterly churn rate", "share of customers lost")]):
    _ = ax.set_title(f"{title}, last 16 quarters")
    _ = ax.set_xlabel("quarter")
    _ = ax.set_ylabel(ylabel)
    _ = ax.tick_params(axis="x", rotation=90)
    _ = ax.legend()
plt.tight_layout()

# %% tags=["nbval-check-output"]
summary = pd.DataFrame({
    stage: {"customers, change over 3 years": q["customers_at_start"].iloc[-1]
            / q["customers_at_start"].iloc[-13] - 1,
            "mean quarterly churn rate, last 3 years": q["churn_rate"].iloc[-12:].mean()}
    for stage, q in quarterly.items()}).T
print(summary.round(3))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert summary.loc["decline", "customers, change over 3 years"] < -0.1
assert summary.loc["maturity", "customers, change over 3 years"] > 0
assert summary.loc["decline", "mean quarterly churn rate, last 3 years"] > (
    1.2 * summary.loc["maturity", "mean quarterly churn rate, last 3 years"])

# %% [markdown]
# The mature base still grows; the declining base shrinks, because more customers
# leave each quarter than new ones arrive. (Within the decline stage the churn rate
# can even ease over time: the customers who remain are the loyal ones. Compare rates,
# not counts.)
#
# ## 2. Renewal curves: how long customers stay

# %%
views = []
for stage, sim in sims.items():
    views.append(tobmodel.survival_view(sim).assign(stage=stage))
both = pd.concat(views, ignore_index=True)
both.attrs["as_of"] = str(AS_OF.date())
ax = plot_kaplan_meier(both, by="stage", at_risk=False)
ax.set_title("Share of customers still renewing: decline against maturity")
ax.set_xlabel("months since first contract")
ax.set_ylabel("share still customers")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
ret = retention_at(both, months=[12, 24], by="stage").pivot(index="segment", columns="months",
                                                            values="retention")
print(ret.round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ret.loc["decline", 12.0] < ret.loc["maturity", 12.0] - 0.1

# %%
print(compare_segments(both, "stage").sentence)

# %% [markdown]
# ## 3. Why customers leave
#
# When a contract ends without renewal, customer success records a reason
# (`contracts.churn_reason`). The domain guide names two main causes after a deal:
# the product cannot meet the need (often because sales over-promised), and a
# competitor poaches the customer. Price and disengagement (the customer stopped
# using the product) are the others.

# %%
reasons = pd.DataFrame({
    stage: sim.contracts.loc[sim.contracts["outcome"] == "churned", "churn_reason"]
    .value_counts(normalize=True) for stage, sim in sims.items()})
ax = reasons.plot.barh()
ax.set_title("Recorded churn reasons, share of churned customers")
ax.set_xlabel("share of churns")
ax.set_ylabel("churn reason")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(reasons.round(3))
actionable = ["product_fit", "competitor"]
print(f"product fit + competitor: maturity {reasons.loc[actionable, 'maturity'].sum():.0%}, "
      f"decline {reasons.loc[actionable, 'decline'].sum():.0%} of churns")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert reasons.loc[actionable, "decline"].sum() > reasons.loc[actionable, "maturity"].sum()
assert all("product_fit" in reasons[stage].nlargest(2).index for stage in reasons)

# %% [markdown]
# Read the table against the domain guide. Product fit (the product cannot meet the
# need, often after an over-promise) is one of the two largest recorded causes, as
# the guide says. Competitor poaching is recorded far less often here than the guide
# suggests: this simulator draws few competitor wins outside platform and hardware
# decline, a known limit of the simulated market, not a lesson about real ones. In
# your own data, expect the competitor share to be larger, and check it with
# `tobmodel.renewal.CompetingRisksModel` (notebook 13).
#
# In decline, more of the churn comes from the product falling behind and from
# competitors. Those are the two causes operations can still answer: a product gap
# goes to the product team with the customers' names attached, and a competitor's
# offer is met with a retention offer *before* the renewal date (notebook 08 shows
# how to find who is at risk).
#
# ## 4. The loss pool (流失用户池)
#
# A lead that does not sign is not gone for good. It goes to the loss pool; months
# later the person reads a product page again or registers for a webinar, and comes
# back as a new lead (`reengaged_from_loss_pool`, with `previous_lead_id` pointing at
# the old one). `loss_pool_summary` follows them.

# %% tags=["nbval-check-output"]
pool = {stage: L.loss_pool_summary(sim.leads).set_index("origin") for stage, sim in sims.items()}
cols = ["leads", "lost", "came_back_share", "median_days_to_return", "conversion_rate"]
print(pd.concat(pool, names=["stage"])[cols].round(3).to_string())
d = pool["decline"]

# %% tags=["checks"] jupyter={"source_hidden": true}
assert d.loc["re-engaged", "conversion_rate"] > d.loc["first-time", "conversion_rate"]
assert pool["decline"].loc["first-time", "came_back_share"] > (
    pool["maturity"].loc["first-time", "came_back_share"])

# %%
first, back = d.loc["first-time"], d.loc["re-engaged"]
print(f"In decline, {first['came_back_share']:.0%} of lost leads came back, after a median "
      f"of {first['median_days_to_return']:.0f} days, and converted at "
      f"{back['conversion_rate']:.1%} against {first['conversion_rate']:.1%} for first-time "
      f"leads. Returning leads are {back['leads'] / (back['leads'] + first['leads']):.0%} of "
      f"all leads.")

# %% [markdown]
# When fewer new prospects arrive, the loss pool becomes a main source of leads, and a
# good one: people who come back already know the product and often return because
# their situation changed (a new budget, a failed alternative). Which channels do the
# returning leads come from, and how do they convert?

# %%
by_channel = L.loss_pool_summary(decline.leads, by="channel").pivot(
    index="channel", columns="origin", values="conversion_rate")
ax = by_channel.plot.bar(rot=0)
ax.set_title("Decline stage: conversion of first-time and returning leads, by channel")
ax.set_xlabel("channel of the lead")
ax.set_ylabel("conversion rate (closed leads)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
better = (by_channel["re-engaged"] > by_channel["first-time"])
print(by_channel.round(3))
print(f"returning leads convert better in {better.sum()} of {len(better)} channels")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert better.sum() >= len(better) - 1

# %% [markdown]
# ## 5. Scoring returning leads
#
# The lead model already knows whether a lead came back from the loss pool
# (`reengaged_from_loss_pool` is one of its features). Fit it on the older leads and
# score the leads of the last twelve months.

# %%
CUTOFF = AS_OF - pd.DateOffset(months=12) + pd.DateOffset(days=1)
train, test = L.time_split(decline.leads, CUTOFF)
model = L.fit_lead_model(train, kind="logistic")
evaluation = L.evaluate_lead_model(model, test, truth=decline.truth["leads"])
test_closed, y_test, _ = L.outcome_labels(test)
scored = model.score(test_closed).assign(
    returning=test_closed["reengaged_from_loss_pool"].to_numpy(), converted=y_test)

# %% tags=["nbval-check-output"]
print(evaluation[["leads", "roc_auc", "brier"]].astype(float).round(2))
grade_share = pd.crosstab(scored["returning"], scored["grade"], normalize="index")
print(grade_share.round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert evaluation.loc["model", "roc_auc"] > 0.7
assert (grade_share.loc[True, ["A", "B"]].sum() > grade_share.loc[False, ["A", "B"]].sum())

# %% [markdown]
# Returning leads get better grades on average, and the reasons say why. The top of
# the win-back list for sales:

# %%
winback_leads = scored[scored["returning"]].sort_values("p_convert", ascending=False).head(8)
winback_leads[["lead_id", "p_convert", "grade", "reasons", "converted"]].round(3).reset_index(
    drop=True)

# %% [markdown]
# ## 6. Winning back churned customers
#
# The second list is customers who left in the last twelve months. Not all are worth
# the same effort: a customer who left over **price** or to a **competitor** can be won
# back with an offer; one who left because the product did not fit needs the product
# to change first; a **disengaged** customer needs a new reason to use it.

# %%
contracts = decline.contracts
recent = contracts[(contracts["outcome"] == "churned")
                   & (contracts["end_date"] > AS_OF - pd.DateOffset(months=12))]
recent = recent.merge(decline.accounts[["account_id", "tier"]], on="account_id")
OFFER = {"price": "price offer", "competitor": "price offer", "product_fit": "product update",
         "disengaged": "training / re-onboarding", "other": "call to ask"}
recent["win_back_action"] = recent["churn_reason"].astype(str).map(OFFER)
by_action = recent.groupby("win_back_action")["arr"].agg(customers="size", lost_arr="sum")

# %% tags=["nbval-check-output"]
print((by_action.assign(lost_arr=by_action["lost_arr"] / 1e6)
       .rename(columns={"lost_arr": "lost ARR (million CNY)"})).round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_action["customers"].sum() == len(recent) > 0

# %%
(recent.sort_values("arr", ascending=False)
 [["account_id", "tier", "end_date", "arr", "churn_reason", "win_back_action"]]
 .head(10).round(0).reset_index(drop=True))

# %% [markdown]
# ## 7. What operations does with this
#
# * Track the **churn rate**, not the churn count: in decline the base shrinks, and a
#   falling count can hide a rising rate.
# * Record a churn reason for every lost customer and review them monthly with the
#   product team; product gaps and competitors' offers are the ones to act on.
# * Keep the **loss pool** warm with content and events; route returning leads to sales
#   with their history (the previous lead and why it was lost).
# * Run a win-back campaign for recently churned customers, with the action matched to
#   the reason they left.
#
# ## Exercises
#
# **Exercise 1.** Is the decline harder on some tiers than others? Compute the
# 12-month retention by tier in both stages.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
tiered = pd.concat([tobmodel.survival_view(sim).merge(sim.accounts[["account_id", "tier"]],
                                                      on="account_id").assign(stage=stage)
                    for stage, sim in sims.items()], ignore_index=True)
tiered["stage_tier"] = tiered["stage"] + " / " + tiered["tier"].astype(str)
tiered.attrs["as_of"] = str(AS_OF.date())
r12 = retention_at(tiered, months=[12], by="stage_tier").set_index("segment")["retention"]
table = pd.DataFrame({stage: {t: r12[f"{stage} / {t}"] for t in ["KA", "mid", "SMB"]}
                      for stage in sims})
table["drop"] = table["maturity"] - table["decline"]
print(table.round(3))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert (table["drop"] > 0).all()

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Every tier keeps fewer customers in decline; compare the size of the drop per tier
# above with where your customer-success hours go.
#
# </details>
#
# **Exercise 2.** How many of the leads lost in the last six months should come back as
# returning leads, and how many customers would they bring? Use the came-back share,
# and the conversion rate of returning leads from the summary above.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
lost_recently = ((decline.leads["status"] == "lost")
                 & (decline.leads["outcome_date"] > AS_OF - pd.DateOffset(months=6))).sum()
expected_back = lost_recently * first["came_back_share"]
expected_customers = expected_back * back["conversion_rate"]
print(f"{lost_recently} leads lost in the last six months; about {expected_back:.0f} should "
      f"come back and bring about {expected_customers:.0f} customers")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert 0 < expected_customers < expected_back < lost_recently

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# A rough estimate (it assumes the past came-back share holds, and some of those leads
# will return after more than six months), but enough to size a win-back campaign.
#
# </details>
#
# **Exercise 3.** Among the churned customers of the last 12 months, which churn reason
# cost the most ARR per customer?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
per_reason = recent.groupby("churn_reason", observed=True)["arr"].agg(["size", "mean"])
print(per_reason.round(0))
print(f"highest ARR per lost customer: {per_reason['mean'].idxmax()}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert per_reason["size"].sum() == len(recent)
