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
# # 02 · SaaS and services: acquire → pay → serve → pay again
#
# A SaaS company (or any service sold by contract: agencies, outsourcing) runs the
# classic to-B loop: **acquire** a lead (获客), **convert** it to a paying contract
# (付费转化), **serve** the customer (客户成功: onboarding, training, support) and get
# paid **again** at the renewal date (续约 / 续费). A renewing customer is second
# revenue at a fraction of the cost of a new one, so the renewal rate is the health
# of the business.
#
# **Learning goals.** After this notebook you can
#
# 1. compute the SaaS north-star metrics (北极星指标): ARR in force and the
#    contract renewal rate, and follow them over time;
# 2. read the lead funnel and say at which step most prospects are lost, and
#    how many come back from the loss pool (流失用户池);
# 3. fit a lead-quality model with `tobmodel.leads`, check it on later leads
#    against the simulator's true conversion probabilities, and pick the leads
#    sales should call first;
# 4. fit a renewal (survival) model with `tobmodel.renewal`, read its hazard
#    ratios, check its churn scores against the truth, and hand the
#    customer-success team the accounts most at risk, with reasons.
#
# The data is the shipped SaaS business (`tobmodel.datasets.load_saas()`, a few
# years of history in the maturity stage; its size is printed below). It is
# simulated, so we also know the truth behind every lead and customer.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import tobmodel
from tobmodel import leads as L
from tobmodel.datasets import load_saas
from tobmodel.renewal import (add_segments, build_account_features, evaluate_renewal_model,
                              fit_renewal_model, plot_kaplan_meier, plot_metric_comparison)

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 80)
RNG = np.random.default_rng(2)  # seeded; used in the exercises

sim = load_saas()
AS_OF = sim.as_of
accounts, contracts, leads = sim.accounts, sim.contracts, sim.leads
print(sim)

# %% [markdown]
# ## 1. The north star: ARR in force and the renewal rate
#
# ARR (annual recurring revenue) **in force** on a date is the yearly value of
# every contract running on that date. It grows with new customers and
# upsell and shrinks with churn. The **renewal rate** is the share of contract
# periods that ended in a renewal. Both come straight from the `contracts`
# table: one row per contract period with `start_date`, `end_date`, `arr` and
# `outcome` (renewed, churned, or open at the snapshot).

# %%
month_ends = pd.date_range(contracts["start_date"].min(), AS_OF, freq="ME")
start = contracts["start_date"].to_numpy()[:, None]
end = contracts["end_date"].to_numpy()[:, None]
is_open = (contracts["outcome"] == "open").to_numpy()[:, None]
in_force = (start <= month_ends.to_numpy()[None, :]) & (
    (end > month_ends.to_numpy()[None, :]) | is_open)
arr_in_force = pd.Series(contracts["arr"].to_numpy() @ in_force, index=month_ends) / 1e6
customers_in_force = pd.Series(
    pd.DataFrame(in_force, index=contracts["account_id"]).groupby(level=0).any().sum().to_numpy(),
    index=month_ends)

fig, ax = plt.subplots()
ax.plot(arr_in_force.index, arr_in_force, color="C0", label="ARR in force")
ax.set_ylabel("ARR in force (million CNY)")
ax.set_xlabel("month end")
ax2 = ax.twinx()
ax2.plot(customers_in_force.index, customers_in_force, color="C2", ls="--",
             label="paying customers")
ax2.set_ylabel("paying customers")
ax.set_title("SaaS north star: ARR in force and paying customers (maturity stage)")
fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
last_year = contracts[(contracts["end_date"] > AS_OF - pd.DateOffset(years=1))
                      & (contracts["end_date"] <= AS_OF) & (contracts["outcome"] != "open")]
term = last_year["account_id"].map(accounts.set_index("account_id")["contract_term"])
renewal_rate = (last_year["outcome"] == "renewed").groupby(term.astype(str)).mean()
arr_now, arr_year_ago = arr_in_force.iloc[-1], arr_in_force.iloc[-13]
print(f"ARR in force at {AS_OF.date()}: {arr_now:.1f} million CNY "
      f"({arr_now / arr_year_ago - 1:+.0%} on a year earlier), "
      f"{customers_in_force.iloc[-1]} paying customers")
print("renewal rate per contract period, last 12 months:",
      ", ".join(f"{k} {v:.1%}" for k, v in renewal_rate.items()))
print(f"twelve monthly periods at {renewal_rate['monthly']:.1%} keep "
      f"{renewal_rate['monthly'] ** 12:.0%} of monthly customers over a year; one annual "
      f"period keeps {renewal_rate['annual']:.0%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert arr_now > 0 and renewal_rate["annual"] < renewal_rate["monthly"]

# %% [markdown]
# Two renewal rates, because there are two kinds of contracts. A monthly
# customer decides twelve times a year, an annual customer once, so the
# per-period rates are not comparable: a monthly rate that looks high keeps far
# fewer customers over a year (the last line above compounds it over twelve
# months). When you report a renewal rate, say **per what**.
#
# In the maturity stage (成熟期) ARR grows slowly and steadily: user growth has
# flattened, word of mouth and renewals carry the business.
#
# ## 2. The funnel: where prospects are lost
#
# A SaaS lead goes: search ad or referral → registers on the website (留资, the
# lead) → phone qualification (intent, budget, company) → sales visit or demo
# with a pre-sales engineer (售前) → signed. `tobmodel.leads.funnel_table` counts
# each step, leaving out leads still open at the snapshot.

# %%
funnel = L.funnel_table(leads)
funnel[["step_name", "leads", "conversion_from_previous", "conversion_from_first"]].round(3)

# %% tags=["nbval-check-output"]
step_loss = 1 - funnel["conversion_from_previous"].iloc[1:]
worst = funnel.loc[step_loss.idxmax()]
prev_name = funnel.loc[step_loss.idxmax() - 1, "step_name"]
print(f"{funnel['conversion_from_first'].iloc[-1]:.1%} of closed leads signed; the biggest loss "
      f"is from '{prev_name}' to '{worst['step_name']}': {1 - worst['conversion_from_previous']:.0%}"
      f" of those who reached '{prev_name}' did not sign")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert worst["step_name"] == "signed"

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1 = L.plot_funnel(funnel, ax=ax1)
ax1.set_title("SaaS lead funnel (label: conversion from the previous step)")
by_channel = L.funnel_table(leads, by="channel")
ax2 = L.plot_funnel(by_channel, ax=ax2)
ax2.set_title("Funnel by acquisition channel")
plt.tight_layout()
plt.show()

# %% [markdown]
# The last step, from demo/visit to signature, loses the most: this is where
# the decision chain (决策链) has to agree — the boss on value and price, the
# users on usability. The channel plot shows the other big lever: referral
# leads reach every step far more often than paid bidding (竞价) leads.
#
# Lost leads go to the **loss pool**. Some register again later (revisit the
# site, read a product page) and re-enter the funnel:

# %% tags=["nbval-check-output"]
pool = L.loss_pool_summary(leads).set_index("origin")
print(pool[["leads", "converted", "conversion_rate", "came_back_share",
            "median_days_to_return"]].round(3).to_string())
print(f"{pool.loc['first-time', 'came_back_share']:.0%} of lost leads came back, after a median "
      f"{pool.loc['first-time', 'median_days_to_return']:.0f} days; returning leads convert at "
      f"{pool.loc['re-engaged', 'conversion_rate']:.0%} against "
      f"{pool.loc['first-time', 'conversion_rate']:.0%} for first-time leads")

# %% [markdown]
# Returning leads are worth a call: they convert at least as well as new ones,
# and they cost nothing to acquire.
#
# ## 3. Lead quality: which leads should sales call first?
#
# A lead-quality model gives each lead the probability that it becomes a
# paying customer, from what is known when the lead is scored: channel,
# company size and industry, who in the decision chain is engaged, intent,
# budget, site visits, trial activity. To check it honestly we **fit on older
# leads and test on newer ones** (`tobmodel.leads.time_split`), as we would use
# it: next month's leads are scored by a model trained on the past.
#
# We use the logistic model: on a few thousand leads it ranks about as well as
# boosted trees and its reasons are easy to explain to sales.
#
# How to read the table (every notebook uses the same columns; `docs/glossary.md`
# has them all): **ROC AUC** is the chance that a random lead that converted
# scores above a random one that did not (0.5 = coin flip, 1 = perfect); the
# **Brier score** is the mean squared gap between the predicted probability and
# what happened (0 or 1), lower is better; **top-decile lift** is the conversion
# rate among the 10% best-scored leads divided by the overall rate (3 = the top
# tenth converts three times as often as average).

# %%
train_leads, test_leads = L.time_split(leads, "2025-01-01")
lead_model = L.fit_lead_model(train_leads, kind="logistic", random_state=0)
channel_model = L.fit_channel_baseline(train_leads)
lead_eval = L.evaluate_lead_model(lead_model, test_leads, truth=sim.truth["leads"],
                                  baselines={"channel only": channel_model})
lead_eval[["leads", "converted", "roc_auc", "brier", "top_decile_lift"]].round(3)

# %% tags=["nbval-check-output"]
auc_model, auc_channel, auc_oracle = lead_eval.loc[["model", "channel only", "oracle"], "roc_auc"]
print(f"ROC AUC on {int(lead_eval.loc['model', 'leads'])} later leads: model {auc_model:.2f}, "
      f"channel only {auc_channel:.2f}, oracle (true probabilities) {auc_oracle:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert auc_channel < auc_model <= auc_oracle + 0.02
assert auc_oracle - auc_model < 0.06

# %% [markdown]
# The **oracle** row uses the simulator's true conversion probability of each
# lead: no model can rank better on average. The lead model gets most of the way
# from the channel-only rule to the oracle. Even the oracle's AUC is far from 1:
# a lead's outcome is partly luck, which no data can remove.
#
# Calibration matters too: a lead scored 30% should convert about 30% of the
# time, so sales managers can plan with the numbers. The gains curve says how
# many conversions you find by calling the best-scored leads first.

# %%
closed_test, y_test, _ = L.outcome_labels(test_leads)
p_test = {"model": lead_model.predict_proba(closed_test),
          "channel only": channel_model.predict_proba(closed_test),
          "oracle": sim.truth["leads"].set_index("lead_id")["p_convert"]
          .reindex(closed_test["lead_id"]).to_numpy()}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1 = L.plot_calibration(L.calibration_table(y_test, p_test["model"], n_bins=8), ax=ax1,
                        label="model")
ax1.set_title("Lead model calibration on later leads")
ax2 = L.plot_gains(y_test, p_test, ax=ax2)
ax2.set_title("Cumulative gains: conversions found by calling the top leads")
plt.tight_layout()
plt.show()

# %% [markdown]
# **What sales does with it.** Every morning the open leads are scored; the
# sales team calls grade A first. The `reasons` column says why in words, which
# is what a salesperson needs to open the call ("budget confirmed, the boss is
# engaged: propose a visit with the pre-sales engineer").

# %%
open_leads = leads[leads["status"] == "open"]
lead_scores = lead_model.score(open_leads)
# the best open leads first: capacity_plan's call list (notebook 11 plans capacity)
call_list = L.capacity_plan(
    lead_scores.merge(open_leads[["lead_id", "channel", "company_size"]], on="lead_id"),
    leads_per_week=10, weeks=1).call_list
call_list[["lead_id", "channel", "company_size", "p_convert", "grade", "reasons"]].round(3)

# %% tags=["nbval-check-output"]
grade_share = lead_scores["grade"].value_counts(normalize=True).sort_index()
print(f"{len(open_leads)} open leads at {AS_OF.date()}; grades: "
      + ", ".join(f"{g} {s:.0%}" for g, s in grade_share.items()))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert call_list["p_convert"].is_monotonic_decreasing

# %% [markdown]
# ## 4. Renewal: who will not renew?
#
# ### 4.1 Kaplan-Meier curves by tier
#
# The **survival view** (`tobmodel.survival_view`) has one row per customer:
# months since the first contract (`tenure_months`) and whether churn was seen
# (`churned`). Customers still paying at the snapshot are **censored**: we know
# they stayed at least this long, not how long they will stay. Kaplan-Meier
# curves use the censored customers correctly (notebook 10 explains how).
# Key accounts (KA, 大客户) and small businesses (SMB, 中小客户) behave very
# differently:

# %%
view = add_segments(tobmodel.survival_view(sim), accounts)
ax = plot_kaplan_meier(view, by="tier")
ax.set_title("Share of SaaS customers still paying, by tier (Kaplan-Meier, 95% CI)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 4.2 A Cox model: what drives churn
#
# `build_account_features` adds the covariates a customer-success team can see
# at the snapshot: tier, whether sales over-promised (a main cause of churn
# after a deal), onboarding, price against the tier median, the login trend,
# key-feature adoption, the share of seats in use and of support tickets left
# unresolved. The Cox model (`fit_renewal_model(model="cox")`) estimates a
# **hazard ratio** for each: how much it multiplies the risk of churning at any
# tenure. Monthly and annual contracts get separate baselines (**strata**: each
# group gets its own baseline hazard, the curve of risk by tenure, while the
# hazard ratios are shared), because they churn on different calendars.
# `baseline="weibull"` extends each baseline past the longest tenure at which a
# churn was observed with a fitted Weibull curve; without it, the step baseline
# stays flat there and scores the oldest customers as if they could never leave.

# %%
COVARIATES = ["tier", "sales_overpromised", "onboarding_completed", "price_vs_tier_median",
              "logins_trend", "key_feature_adoption_3m", "active_seat_share_3m",
              "unresolved_share_6m"]
features = build_account_features(sim)
cox = fit_renewal_model(features, model="cox", covariates=COVARIATES, baseline="weibull")
hr = cox.hazard_ratios_.set_index("covariate")
hr[["hazard_ratio", "lower_95", "upper_95", "p", "compared_with"]].round(3)

# %%
ax = cox.plot_hazard_ratios()
ax.set_title("What multiplies the risk of churn (Cox hazard ratios, 95% CI, log scale)")
ax.set_xlabel("hazard ratio (log scale; 1 = no effect)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(f"over-promised at the sale: churn hazard x{hr.loc['sales_overpromised', 'hazard_ratio']:.1f};"
      f" onboarding completed: x{hr.loc['onboarding_completed', 'hazard_ratio']:.1f}; "
      f"key account vs SMB: x{hr.loc['tier=KA', 'hazard_ratio']:.1f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert hr.loc["sales_overpromised", "hazard_ratio"] > 1.5
assert hr.loc["onboarding_completed", "hazard_ratio"] < 0.8
assert hr.loc["tier=KA", "hazard_ratio"] < 1

# %%
print(cox.ph_check_report().text)  # the proportional-hazards check, in words

# %% [markdown]
# Read it as an operations person: a deal closed by over-promising multiplies
# the churn risk by the first factor printed above (the product cannot meet the
# need that was sold), and a completed onboarding cuts it by the second.
# Price above the tier median also raises the risk: small customers are
# price-sensitive. Both are things the team controls:
# honest pre-sales, and onboarding and training in the first months.
# The proportional-hazards check says whether each effect stays the same across
# tenure (the assumption behind one hazard ratio per covariate).
#
# ### 4.3 Churn scores for every active customer, against the truth
#
# `model.score` gives each active customer the probability of **not renewing
# at the next renewal date** and of churning **within 12 months**, conditional
# on the tenure the customer has already survived (notebook 10 shows why that
# matters). The simulator knows each customer's true probabilities (the
# oracle), so we can see how close the model gets.

# %%
active = features[features["active"]]
scores = cox.score(active, horizon_months=12)
vs_truth = scores.merge(sim.truth["accounts"], on="account_id", suffixes=("", "_true"))
rank_next = spearmanr(vs_truth["p_churn_next_renewal"], vs_truth["p_churn_next_renewal_true"])[0]
rank_12m = spearmanr(vs_truth["p_churn_horizon"], vs_truth["p_churn_12m"])[0]

# %% tags=["nbval-check-output"]
print(f"{len(scores)} active customers; rank correlation with the true probability: "
      f"next renewal {rank_next:.2f}, 12 months {rank_12m:.2f}")
print(f"mean 12-month churn: model {vs_truth['p_churn_horizon'].mean():.1%}, "
      f"truth {vs_truth['p_churn_12m'].mean():.1%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rank_12m > 0.5
assert abs(vs_truth["p_churn_horizon"].mean() - vs_truth["p_churn_12m"].mean()) < 0.05

# %%
fig, ax = plt.subplots(figsize=(6, 5))
ax.scatter(vs_truth["p_churn_12m"], vs_truth["p_churn_horizon"], s=8, alpha=0.5,
               c=(vs_truth["next_renewal_date"].notna()), cmap="viridis")
top = float(max(vs_truth["p_churn_12m"].max(), vs_truth["p_churn_horizon"].max()))
ax.plot([0, top], [0, top], color="grey", ls="--", label="model = truth")
ax.set_xlabel("true probability of churn within 12 months (oracle)")
ax.set_ylabel("Cox model's probability")
ax.set_title("12-month churn scores of active customers: model vs truth")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 4.4 An honest test: score the past, watch the future
#
# Comparing with the oracle needs a simulator. With real data, do what the
# oracle cannot: **go back in time**. Take the data as it was at a cutoff 15
# months before the snapshot, fit the model on it, score the customers active
# then, and see who actually churned in the next 12 months
# (`evaluate_renewal_model` does all of it). It adds two yardsticks: a
# **baseline** (Kaplan-Meier by tier and contract term, conditional on tenure:
# what a spreadsheet would do) and the **oracle**. The c-index is the chance that, of two customers, the one who
# churned first had the higher score (0.5 = coin toss).

# %%
CUTOFF = AS_OF - pd.DateOffset(months=15)
honest = evaluate_renewal_model(sim, CUTOFF, model="cox", covariates=COVARIATES,
                                baseline="weibull")
honest[["model", "n_accounts", "c_index", "brier", "calibration_error", "mean_predicted",
        "observed_churn"]].round(3)

# %% tags=["nbval-check-output"]
c = honest.set_index("model")["c_index"]
print(f"cutoff {CUTOFF.date()}: c-index cox {c['cox']:.2f}, baseline {c['baseline']:.2f}, "
      f"oracle {c['oracle']:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert c["baseline"] < c["cox"] <= c["oracle"] + 0.03

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1 = plot_metric_comparison(honest, "c_index", ax=ax1)
ax1.set_title("Ranking after the cutoff (c-index)")
ax2 = plot_metric_comparison(honest, "calibration_error", ax=ax2)
ax2.set_title("Calibration error after the cutoff")
plt.tight_layout()
plt.show()

# %% [markdown]
# The Cox model sits between the spreadsheet baseline and the best possible.
# Notebook 10 shows its calibration bin by bin.

# %% [markdown]
# ## 5. What the customer-success team does with it
#
# The customer-success manager (CSM) cannot call everyone. The list below ranks
# active customers whose contract comes up for renewal in the next 90 days by
# **ARR at risk** = probability of not renewing × ARR, and says why. Key
# accounts rarely leave mid-contract, so their renewal date is the moment of
# truth: start the conversation well before it, with a value review (降本增效:
# what the product saved or earned them).

# %%
upcoming = scores.merge(active[["account_id", "tier", "contract_term", "arr"]], on="account_id")
upcoming = upcoming[upcoming["next_renewal_date"] <= AS_OF + pd.Timedelta(days=90)]
upcoming = upcoming.assign(arr_at_risk=upcoming["p_churn_next_renewal"] * upcoming["arr"])
at_risk = upcoming.sort_values("arr_at_risk", ascending=False).head(10)
at_risk[["account_id", "tier", "contract_term", "next_renewal_date", "arr",
         "p_churn_next_renewal", "arr_at_risk", "reasons"]].round(3)

# %% [markdown]
# Did the list point at the right customers? The simulator knows who really
# churned after the snapshot. Compare the 50 highest 12-month scores with all
# active customers:

# %% tags=["nbval-check-output"]
truth_acc = sim.truth["accounts"].set_index("account_id")
churn_12m = (truth_acc.loc[scores["account_id"], "churn_date"]
             <= AS_OF + pd.DateOffset(months=12)).to_numpy()
top50 = scores["p_churn_horizon"].rank(ascending=False, method="first").to_numpy() <= 50
print(f"churned within 12 months (simulated future): top-50 flagged {churn_12m[top50].mean():.0%}, "
      f"all active customers {churn_12m.mean():.0%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert churn_12m[top50].mean() > 1.5 * churn_12m.mean()

# %% [markdown]
# The flagged customers churn far more often than average: that is where the
# CSM's hours go. Typical actions by reason:
#
# | reason in the list | action |
# |---|---|
# | onboarding not completed | book the onboarding and training sessions now |
# | sales over-promised | pre-sales engineer reviews the gap; offer a workaround or roadmap |
# | price above tier median | a value review before the renewal talk; consider a longer term |
# | logins falling, few seats used | usage health check with the users, not only the boss |
# | unresolved tickets | escalate and close them before the renewal date |
#
# ## 6. Exercises
#
# **Exercise 1.** Compute the 12-month renewal rate of *annual* contracts by
# tier (contract periods that ended in the last 12 months). Which tier should
# the customer-success team watch most closely at renewal time?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
annual_ended = last_year[term.to_numpy() == "annual"]
tier_of = annual_ended["account_id"].map(accounts.set_index("account_id")["tier"])
annual_by_tier = (annual_ended["outcome"] == "renewed").groupby(tier_of, observed=True).agg(
    ["size", "mean"]).rename(columns={"size": "periods_ended", "mean": "renewal_rate"})
annual_by_tier.index.name = "tier"
print(annual_by_tier.round(3))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert annual_by_tier.loc["KA", "renewal_rate"] > annual_by_tier.loc["SMB", "renewal_rate"]


# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Small businesses renew least. Key accounts renew most, but each lost key
# account costs far more ARR, so both need attention: SMB through scaled,
# automated health checks; KA through a named CSM and a value review.
#
# </details>
#
# **Exercise 2.** Sales can call only 30% of the later (test) leads. What share
# of the conversions do they reach if they call in the model's order, in the
# channel-only order, or at random?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
def found_by_top(y, p, share=0.3):
    """Share of all conversions among the top `share` of leads by p."""
    k = int(round(share * len(p)))
    top_k = np.argsort(-np.asarray(p), kind="stable")[:k]
    return y[top_k].sum() / y.sum()


found = {name: found_by_top(y_test, p) for name, p in p_test.items()}
found["random (1 draw)"] = found_by_top(y_test, RNG.random(len(y_test)))
print({k: round(float(v), 2) for k, v in found.items()})

# %% tags=["checks"] jupyter={"source_hidden": true}
assert found["model"] > found["channel only"] > 0.3 and found["model"] > 0.5

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Calling the top 30% by the model reaches well over half of the conversions;
# at random you would reach about 30%. Same team, more customers.
#
# </details>
#
# **Exercise 3.** The CSM team has capacity for 50 renewal reviews. Rank active
# customers (a) by the model's ARR at risk over 12 months, (b) by ARR alone
# (the "biggest customers first" habit). Using the simulator's true 12-month
# churn probabilities, how much expected ARR loss does each list cover?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
review = scores.merge(active[["account_id", "arr"]], on="account_id").merge(
    sim.truth["accounts"][["account_id", "p_churn_12m"]], on="account_id")
true_loss = review["p_churn_12m"] * review["arr"]
by_model = review["p_churn_horizon"] * review["arr"]
cover = {name: true_loss[order.nlargest(50).index].sum() / true_loss.sum()
         for name, order in {"model ARR at risk": by_model, "ARR only": review["arr"]}.items()}
print({k: f"{v:.0%}" for k, v in cover.items()}, "of the expected ARR loss covered")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert cover["model ARR at risk"] > cover["ARR only"]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Ranking by ARR alone sends the team to big, happy key accounts; ranking by
# ARR at risk sends it where the money is actually in danger. That is the
# difference a renewal model makes.
#
# </details>
