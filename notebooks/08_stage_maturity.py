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
# # 08 · Maturity stage (成熟期): service-driven growth and renewals
#
# In the maturity stage (成熟期) the market is mostly won: new customers arrive at a
# steady pace, the customer count flattens, and revenue grows steadily because
# customers **renew** (续约 / 续费) and recommend the product (word of mouth, 口碑).
# Growth is *service-driven*: the customer-success team (客户成功) decides it, one
# renewal at a time. This notebook is the working week of that team.
#
# **Learning goals.** After this notebook you can
#
# 1. recognise the maturity stage in data: flat acquisition, a slowly growing base;
# 2. read a renewal (survival) curve by tier and contract term, and explain why key
#    accounts (KA, 大客户) churn only at the renewal date;
# 3. fit a Cox renewal model with `tobmodel.renewal`, read its hazard ratios, and score
#    every active customer: churn at the next renewal, within 12 months, and why;
# 4. check the scores honestly (fit on the past, test on what came after) against a
#    simple segment baseline and the simulator's oracle (the true churn probabilities);
# 5. build the customer-success call list for this week, ranked by ARR at risk, with
#    reasons, and say how much of next year's lost revenue it reaches.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import tobmodel
from tobmodel.renewal import (add_segments, book_by_period, build_account_features,
                              compare_segments, fit_renewal_model, plot_forest,
                              plot_score_distribution, retention_at)
from tobmodel.renewal.evaluate import evaluate_against_truth, time_split
from tobmodel.renewal.plotting import plot_kaplan_meier

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 110)  # reasons in full
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a bare kernel
RNG = np.random.default_rng(8)  # seeded; used for the random call list

mature = tobmodel.simulate("saas", "maturity", n_accounts=2000, seed=8)
growing = tobmodel.simulate("saas", "growth", n_accounts=2000, seed=8)
AS_OF = mature.as_of
print(mature)

# %% [markdown]
# ## 1. What maturity looks like
#
# Count, for each quarter, the new customers who signed and the customers in force at
# the quarter's end, for the same SaaS business simulated in the growth stage (发展期)
# and in maturity. `tobmodel.renewal.book_by_period` keeps this book of customers.

# %%
# book_by_period: new customers in each quarter and customers in force at its end
by_q = {stage: book_by_period(sim, freq="Q").rename(columns={
            "new_customers": "new customers", "customers_at_end": "customers in force"})
        for stage, sim in {"growth": growing, "maturity": mature}.items()}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
for stage, table in by_q.items():
    last = table.tail(12)
    _ = axes[0].plot(last.index.astype(str), last["new customers"], marker="o", label=stage)
    _ = axes[1].plot(last.index.astype(str), last["customers in force"], marker="o", label=stage)
for ax, what in zip(axes, ["new customers per quarter", "customers in force"]):
    _ = ax.set_title(f"{what}, last 12 quarters")
    _ = ax.set_xlabel("quarter")
    _ = ax.set_ylabel(what)
    _ = ax.tick_params(axis="x", rotation=90)
    _ = ax.legend()
plt.tight_layout()

# %% tags=["nbval-check-output"]
growth_of_base = {s: t["customers in force"].iloc[-1] / t["customers in force"].iloc[-5] - 1
                  for s, t in by_q.items()}
# trend of new customers: a straight line through the last 12 quarters, per year, as a
# share of the average quarter (one quarter is noisy; a line over three years is not)
growth_of_new = {s: 4 * np.polyfit(np.arange(12), t["new customers"].iloc[-12:], 1)[0]
                 / t["new customers"].iloc[-12:].mean() for s, t in by_q.items()}
for s in by_q:
    print(f"{s:>8}: new customers trend {round(growth_of_new[s], 2) + 0.0:+.0%} a year, "
          f"customers in force {growth_of_base[s]:+.0%} in the last year")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert growth_of_new["growth"] > 0.3 and abs(growth_of_new["maturity"]) < 0.15
assert growth_of_base["growth"] > 2 * growth_of_base["maturity"] > 0

# %% [markdown]
# In the growth stage both numbers climb fast. In maturity, acquisition is flat and the
# base grows slowly: every customer kept is worth as much as a new one won, at a
# fraction of the cost. That is why mature to-B companies move people and budget into
# customer success.
#
# ## 2. The renewal curve (Kaplan-Meier)
#
# For each customer we know how long it has been a customer (`tenure_months`) and
# whether it has churned. Customers still active are **censored**: we know they have
# lasted *at least* that long. The Kaplan-Meier curve uses both and gives the share
# still customers after *m* months (notebook 10 explains it in depth).

# %%
view = add_segments(tobmodel.survival_view(mature), mature.accounts)
ax = plot_kaplan_meier(view, by="tier", at_risk=False)
ax.set_title("SaaS, maturity stage: share of customers still renewing, by tier")
ax.set_xlabel("months since first contract")
ax.set_ylabel("share still customers")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
ret = retention_at(view, months=[12, 24], by="tier")
ret_wide = ret.pivot(index="segment", columns="months", values="retention")
print(ret_wide.round(2))
tier_test = compare_segments(view, "tier")
print(tier_test.p_value < 0.001)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ret_wide.loc["KA", 24.0] > ret_wide.loc["SMB", 24.0] + 0.15

# %%
print(tier_test.sentence)

# %% [markdown]
# The sentence above comes from a log-rank test: the tiers really differ. Key
# accounts stay longest. Small businesses (SMB, 中小客户) are price-sensitive and
# mostly on monthly terms, so they can leave any month.
#
# ### Large customers leave at the renewal date
#
# A key account that has paid for a year rarely walks out mid-contract, even when
# unhappy: the churn shows at the renewal. Plot *when* in the contract year annual
# customers churned.

# %%
annual_churn = view[(view["contract_term"] == "annual") & (view["churned"] == 1)]
month_in_year = annual_churn["tenure_months"] % 12
near_renewal = ((month_in_year < 0.5) | (month_in_year > 11.5)).mean()
fig, ax = plt.subplots()
ax.hist(month_in_year, bins=24, range=(0, 12), color="tab:blue")
ax.set_title("Annual contracts: when in the contract year customers churned")
ax.set_xlabel("months since the last renewal date (0 = at the renewal)")
ax.set_ylabel("number of churned customers")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(f"{near_renewal:.0%} of annual customers who churned did so within two weeks of a "
      f"renewal date")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert near_renewal > 0.9

# %% [markdown]
# For annual customers the date of risk is known a year in advance. The question is
# only *which* customers will not renew: that needs a model.
#
# ## 3. A renewal model: Cox proportional hazards
#
# `build_account_features` turns the five tables into one row per customer: tenure,
# churn status, next renewal date, and covariates from the contract (tier, channel,
# price), from onboarding, from in-product tracking (埋点: login trend, key-feature
# adoption, share of seats active) and from support (unresolved tickets, chat-bot
# escalations). `fit_renewal_model(..., "cox")` fits a Cox model with a separate
# baseline for annual and monthly terms.

# %%
features = build_account_features(mature)
cox = fit_renewal_model(features, "cox")
hr = cox.hazard_ratios_.set_index("covariate")
ax = plot_forest(cox.hazard_ratios_, title="Cox model: hazard ratios of churn (95% CI)")
ax.set_xlabel("hazard ratio (> 1: more churn risk)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
key = ["tier=KA", "sales_overpromised", "onboarding_completed", "price_vs_tier_median"]
print(hr.loc[key, ["hazard_ratio", "lower_95", "upper_95"]].round(1))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert hr.loc["tier=KA", "hazard_ratio"] < 0.6
assert hr.loc["sales_overpromised", "hazard_ratio"] > 1.2
assert hr.loc["onboarding_completed", "hazard_ratio"] < 1
assert hr.loc["price_vs_tier_median", "hazard_ratio"] > 1.5

# %% [markdown]
# How to read it: a hazard ratio of 2 means twice the churn risk at any moment,
# everything else equal. The four rows above match the causes of churn named in the
# domain guide (`docs/domain.md`):
#
# * **sales over-promised** (销售过度承诺) to close the deal: the product then cannot
#   meet the need, a main cause of churn;
# * **onboarding completed** protects: a customer who was trained sees the value
#   (customer success controls this one);
# * **price** above the tier's usual price per seat raises churn: customers are
#   price-sensitive, and a cheaper competitor finds them;
# * **key accounts** churn far less than small businesses.
#
# Usage covariates (share of seats active, key-feature adoption) point the same way
# (more use, less churn) with wider intervals: in this data they overlap with tier and
# onboarding.
#
# ## 4. Churn scores for every active customer
#
# A customer who has already stayed 30 months is not a new customer: its score must be
# **conditional** on the tenure it has survived. `model.score` returns, for each active
# customer, the probability of churning at the next renewal date, within 12 months,
# the expected remaining months, and the reasons in words. Higher = more risk.

# %%
active = features[features["active"]].reset_index(drop=True)
scores = cox.score(active, horizon_months=12)
scores = scores.merge(active[["account_id", "tier", "contract_term", "arr"]], on="account_id")
scores["arr_at_risk_12m"] = scores["p_churn_horizon"] * scores["arr"]
scores[["account_id", "tier", "contract_term", "next_renewal_date", "p_churn_next_renewal",
        "p_churn_horizon", "reasons"]].head().round(3)

# %%
ax = plot_score_distribution(scores, active, by="tier")
ax.set_title("Probability of churn within 12 months, active customers by tier")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Do the scores agree with the truth?
#
# The simulator knows each active customer's true probability of churning at the next
# renewal and within 12 months (the *oracle*). No model can know the hidden causes the
# simulator draws (a competitor campaign, a champion who leaves), so the oracle is an
# upper bound, not a target.

# %% tags=["nbval-check-output"]
oracle = mature.truth["accounts"].set_index("account_id")
both = scores.join(oracle[["p_churn_next_renewal", "p_churn_12m"]], on="account_id",
                   rsuffix="_oracle")
rank_agreement = both[["p_churn_horizon", "p_churn_12m"]].corr(method="spearman").iloc[0, 1]
print(f"mean 12-month churn probability: model {both['p_churn_horizon'].mean():.2f}, "
      f"oracle {both['p_churn_12m'].mean():.2f}; rank correlation {rank_agreement:.1f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rank_agreement > 0.5
assert abs(both["p_churn_horizon"].mean() - both["p_churn_12m"].mean()) < 0.06

# %% [markdown]
# ## 5. An honest check: fit on the past, test on the future
#
# Agreement with the oracle is only available in a simulation. At work you check a
# model the way it will be used: fit it on the data as they were 18 months ago, score
# the customers active then, and see who actually churned in the following 12 months.
# `evaluate_against_truth` does this and adds two reference models: a **segment
# baseline** (Kaplan-Meier churn by tier and contract term, the spreadsheet answer)
# and the **oracle**.

# %%
CUTOFF = AS_OF - pd.DateOffset(months=18)
split = time_split(mature, CUTOFF)
past = build_account_features(mature, as_of=CUTOFF)
cox_past = fit_renewal_model(past, "cox")
past_scores = cox_past.score(past[past["active"]], horizon_months=12)
evaluation = evaluate_against_truth(
    mature, CUTOFF, split=split,
    scores={"cox": past_scores.set_index("account_id")["p_churn_horizon"]})

# %% tags=["nbval-check-output"]
ev = evaluation.set_index("model")
print(ev[["c_index", "brier", "calibration_error"]].round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ev.loc["cox", "beats_baseline"]
assert ev.loc["cox", "c_index"] > ev.loc["baseline", "c_index"] + 0.05
assert ev.loc["oracle", "c_index"] - ev.loc["cox", "c_index"] < 0.15

# %%
gap_closed = (ev.loc["cox", "c_index"] - ev.loc["baseline", "c_index"]) / (
    ev.loc["oracle", "c_index"] - ev.loc["baseline", "c_index"])
print(evaluation.attrs["sentence"])
print(f"The Cox model closes {gap_closed:.0%} of the c-index gap between the baseline and "
      f"the oracle.")

# %% [markdown]
# The c-index is the chance that, of two customers, the one who churns first had the
# higher score (0.5 = coin flip, 1 = perfect). The Brier score is the squared error of
# the 12-month probability (lower is better). The Cox model beats the segment baseline
# clearly; the rest of the gap to the oracle is what the tables do not record.
#
# ## 6. Who should customer success call this week?
#
# A customer-success manager (CSM) can have a real conversation with perhaps fifteen
# customers a week. Rank the active customers by **ARR at risk**: the probability of
# churning within 12 months times the customer's annual revenue. A small customer
# with a high probability matters less than a large one with a moderate probability.

# %%
CALLS_PER_WEEK = 15
call_list = scores.sort_values("arr_at_risk_12m", ascending=False).head(CALLS_PER_WEEK)
show = call_list[["account_id", "tier", "contract_term", "next_renewal_date", "arr",
                  "p_churn_horizon", "arr_at_risk_12m", "reasons"]]
show.round({"arr": 0, "p_churn_horizon": 2, "arr_at_risk_12m": 0}).reset_index(drop=True)

# %% [markdown]
# Every line says *why*: the reasons are the covariates that push this customer's
# risk up the most, in words. Each reason suggests an action:
#
# | reason in the list | what customer success does |
# |---|---|
# | onboarding not completed | book the onboarding and training sessions (培训) now |
# | logins falling, few seats active, key feature unused | a usage review with the users (使用者): which scenario is not working? |
# | unresolved tickets, chat-bot escalations | escalate to support; a person calls back, not the bot |
# | sales over-promised | a frank meeting with the requester (需求方) about what the product does; a workaround or a roadmap date |
# | price above the tier median | prepare the value story for the boss (决策者): cost down, efficiency up (降本增效) |
#
# ### How much of next year's lost revenue does the list reach?
#
# The simulator also knows which customers will *actually* churn in the next 12 months
# and with how much ARR. Compare four ways to order the calls: the model, the oracle
# (the best possible), the biggest customers first, and at random.

# %%
truth_churn = mature.truth["accounts"].set_index("account_id")["churn_date"]
lost = (truth_churn.reindex(scores["account_id"]) <= AS_OF + pd.DateOffset(months=12))
scores["lost_arr_next_12m"] = np.where(lost.to_numpy(), scores["arr"], 0.0)
scores["oracle_arr_at_risk"] = (oracle["p_churn_12m"].reindex(scores["account_id"]).to_numpy()
                                * scores["arr"])
orderings = {
    "model (ARR at risk)": scores["arr_at_risk_12m"].to_numpy(),
    "oracle (true ARR at risk)": scores["oracle_arr_at_risk"].to_numpy(),
    "biggest customers first": scores["arr"].to_numpy(),
    "random": RNG.random(len(scores)),
}
total_lost = scores["lost_arr_next_12m"].sum()
captured = {name: np.cumsum(scores["lost_arr_next_12m"].to_numpy()[np.argsort(-key)]) / total_lost
            for name, key in orderings.items()}
k = np.arange(1, len(scores) + 1)

fig, ax = plt.subplots()
for name, curve in captured.items():
    _ = ax.plot(k, curve, label=name)
ax.axvline(4 * CALLS_PER_WEEK, color="grey", ls=":", label="four weeks of calls")
ax.set_xlim(0, 400)
ax.set_title("Share of next year's lost ARR among the customers called first")
ax.set_xlabel("customers called, in order of priority")
ax.set_ylabel("share of ARR actually lost in 12 months")
ax.legend()
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
month_of_calls = 4 * CALLS_PER_WEEK
reach = pd.Series({name: c[month_of_calls - 1] for name, c in captured.items()},
                  name=f"share of lost ARR in the first {month_of_calls} calls")
print(reach.round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert reach["model (ARR at risk)"] > 1.5 * reach["random"]
assert reach["biggest customers first"] > 1.5 * reach["random"]
assert reach["oracle (true ARR at risk)"] > reach["model (ARR at risk)"]
assert abs(reach["biggest customers first"] - reach["model (ARR at risk)"]) < 0.08  # "about as well"

# %%
size_vs_model = reach["biggest customers first"] - reach["model (ARR at risk)"]
print(f"A month of calls ({month_of_calls} customers, {month_of_calls / len(scores):.0%} of "
      f"the base) ordered by the model reaches {reach.iloc[0]:.0%} of the ARR that will "
      f"really be lost next year; random calls reach {reach['random']:.0%}, the biggest "
      f"customers first {reach['biggest customers first']:.0%} "
      f"({'more' if size_vs_model > 0 else 'less'} than the model by "
      f"{abs(size_vs_model):.0%} of the lost ARR).")

# %% [markdown]
# In a mature book the size of a customer is itself a strong guide to where the money
# is: ARR has grown with every renewal (seats added, prices raised), so the biggest
# customers carry much of what can be lost, and on this book ordering by size alone
# does about as well as the model's ARR at risk. The model earns its place in two
# ways the curve does not show: it tells the CSM *why* (the reasons above), and it
# finds the smaller customers about to leave, whom a size-ordered list reaches last.
# A fair question for the team: blend the two, e.g. call the largest accounts every
# quarter regardless and fill the rest of the week from the model's list.
#
# Even the oracle does not reach all of it: churn is partly luck (a competitor's
# campaign, a new manager). The point of the list is not to predict every loss but to
# spend the CSM's week where a conversation can change the outcome most.
#
# ## 7. What operations does with this
#
# * **Every Monday**, re-score the active customers with the latest usage and tickets
#   (notebook 12 automates this export) and hand each CSM their list with reasons.
# * For **annual key accounts**, start the renewal conversation two to three months
#   before the renewal date: the decision is made then, not on the day.
# * For **small customers on monthly terms**, a person cannot call everyone: use the
#   scores to trigger automatic actions (training webinars, in-product tips, a chat-bot
#   check-in that escalates to a person when it fails).
# * **Feed back**: log what was done for each called customer, so that next year the
#   team can measure whether the calls changed renewals.
#
# ## Exercises
#
# **Exercise 1.** How many of this week's list are key accounts, how many are on
# annual terms, and what share of all ARR at risk (summed over every active customer)
# does the list cover?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
n_ka = int((call_list["tier"] == "KA").sum())
n_annual = int((call_list["contract_term"] == "annual").sum())
share_at_risk = call_list["arr_at_risk_12m"].sum() / scores["arr_at_risk_12m"].sum()
print(f"{n_ka} key accounts and {n_annual} annual contracts among the {CALLS_PER_WEEK}; "
      f"they carry {share_at_risk:.0%} of all ARR at risk.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert share_at_risk > CALLS_PER_WEEK / len(scores) * 5

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Fifteen customers out of more than a thousand carry a large share of the revenue at
# risk: in to-B, revenue is concentrated, so a short list goes a long way.
#
# </details>
#
# **Exercise 2.** Rank customers by probability of churn alone (`p_churn_horizon`),
# ignoring ARR. What share of next year's lost ARR do the first 60 calls reach now?
# Why does it differ from the ARR-at-risk ranking?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
by_probability = scores["lost_arr_next_12m"].to_numpy()[np.argsort(-scores["p_churn_horizon"]
                                                                    .to_numpy())]
reach_p = by_probability[:month_of_calls].sum() / total_lost
print(f"by probability alone: {reach_p:.0%} of lost ARR in {month_of_calls} calls, against "
      f"{reach.iloc[0]:.0%} by ARR at risk")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert reach_p < reach.iloc[0]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# The most likely churners are mostly small monthly customers with little ARR: worth
# an automated nudge, not a CSM's hour. Ranking by ARR at risk puts the big accounts
# with moderate risk first.
#
# </details>
#
# **Exercise 3.** For the customers whose *next renewal* falls in the next 30 days,
# compare the model's `p_churn_next_renewal` with the oracle's by tier (mean of each).
# Where does the model over- or under-estimate?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
soon = both[both["next_renewal_date"] <= AS_OF + pd.DateOffset(days=30)]
by_tier = soon.groupby("tier", observed=True)[["p_churn_next_renewal",
                                               "p_churn_next_renewal_oracle"]].mean()
by_tier["customers"] = soon.groupby("tier", observed=True).size()
print(by_tier.round(3))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert (by_tier["p_churn_next_renewal"] - by_tier["p_churn_next_renewal_oracle"]).abs().max() < 0.03

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Both agree on the order of magnitude for each tier; differences of a percentage
# point or two are expected, because the model sees only what the tables record and
# the oracle also knows the hidden causes. For monthly customers the "next renewal" is
# a month away, so its probability is small even when the 12-month risk is high:
# compare customers on the same horizon.
#
# </details>
