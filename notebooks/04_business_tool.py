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
# # 04 · Tools: free trial first, pay later, then keep paying
#
# A tool business (office suites, cloud tools) runs the loop as **acquire →
# serve → pay**: the prospect signs up and uses the product for free (a free
# tier or a trial) before paying anything. Conversion is **trial-to-paid**,
# online first; sales follow up only when the online path stalls. Once paying,
# the customer renews month by month or year by year, like SaaS.
#
# **Learning goals.** After this notebook you can
#
# 1. compute the tool north-star metrics (北极星指标): trial-to-paid conversion
#    and paying users;
# 2. read the trial funnel (sign-up → trial → active trial → paid) and show that
#    in-product activity during the trial (埋点, tracking) is the strongest
#    signal of a future payer;
# 3. fit a lead model for "will this trial pay?", compare it with the truth,
#    and decide which stalled trials sales should call;
# 4. fit a renewal model for paying users, check it against the truth and on a
#    time split, and list the paying users most at risk, with reasons.

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a plain kernel
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import tobmodel
from tobmodel import leads as L
from tobmodel.datasets import load_tool
from tobmodel.renewal import (add_segments, build_account_features, compare_segments,
                              evaluate_renewal_model, fit_renewal_model, plot_kaplan_meier,
                              retention_at)

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 80)
RNG = np.random.default_rng(4)  # seeded; used in the exercises

sim = load_tool()
AS_OF = sim.as_of
accounts, contracts, leads = sim.accounts, sim.contracts, sim.leads
print(sim)

# %% [markdown]
# ## 1. The north star: trial-to-paid conversion and paying users
#
# The share of trials that become paying users says whether the product sells
# itself; the number of paying users (subscriptions in force) says whether the
# business grows. Paying users per month come from the `contracts` table: a
# user pays in a month if a contract period covers its last day.

# %%
month_ends = pd.date_range(contracts["start_date"].min(), AS_OF, freq="ME").to_numpy()
covers = (contracts["start_date"].to_numpy()[:, None] <= month_ends) & (
    (contracts["end_date"].to_numpy()[:, None] > month_ends)
    | (contracts["outcome"] == "open").to_numpy()[:, None])
paying = pd.DataFrame(covers, index=contracts["account_id"]).groupby(level=0).any().sum()
paying.index = pd.DatetimeIndex(month_ends)

closed_leads = leads[leads["status"] != "open"]
trial = closed_leads["engaged_date"].notna()
trial_to_paid = (closed_leads.loc[trial, "status"] == "converted").groupby(
    closed_leads.loc[trial, "created_date"].dt.year).mean()

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1.plot(paying.index, paying.to_numpy())
ax1.set_xlabel("month end")
ax1.set_ylabel("paying users")
ax1.set_title("Paying users (subscriptions in force)")
ax2.bar(trial_to_paid.index.astype(str), trial_to_paid.to_numpy(), color="C1")
ax2.set_xlabel("year of sign-up")
ax2.set_ylabel("share of active trials that paid")
ax2.set_title("Trial-to-paid conversion by sign-up year")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(f"paying users at {AS_OF.date()}: {paying.iloc[-1]} ({paying.iloc[-1] / paying.iloc[-13] - 1:+.0%}"
      f" on a year earlier); trial-to-paid conversion over all years "
      f"{(closed_leads.loc[trial, 'status'] == 'converted').mean():.1%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert paying.iloc[-1] > 0 and 0.2 < trial_to_paid.mean() < 0.8

# %% [markdown]
# ## 2. The trial funnel, and what the tracking data says
#
# Sign-up → trial started → active trial (the user came back and used the key
# features) → paid. `trial_active_days` counts the days a prospect used the
# product during the trial, from in-product tracking (埋点).

# %%
funnel = L.funnel_table(leads)
funnel[["step_name", "leads", "conversion_from_previous", "conversion_from_first"]].round(3)

# %%
activity = pd.cut(closed_leads["trial_active_days"], [-1, 0, 3, 7, 30],
                  labels=["0 days", "1-3 days", "4-7 days", "8+ days"])
by_activity = (closed_leads["status"] == "converted").groupby(activity, observed=True).agg(
    ["size", "mean"]).rename(columns={"size": "leads", "mean": "paid"})
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1 = L.plot_funnel(funnel, ax=ax1)
ax1.set_title("Tool funnel (label: conversion from previous step)")
ax2.bar(by_activity.index.astype(str), by_activity["paid"], color="C2")
ax2.set_xlabel("days of activity during the trial")
ax2.set_ylabel("share that paid")
ax2.set_title("Trial activity predicts payment")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(by_activity.round(3).to_string())
print(f"the last step (active trial -> paid) keeps {funnel['conversion_from_previous'].iloc[-1]:.0%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_activity["paid"].is_monotonic_increasing

# %% [markdown]
# Users who come back to the product during the trial pay several times as
# often as those who tried it once. This is the tool business in one picture:
# **activation** during the trial (the user reaches the moment the product
# saves them time) is what operations works on, with onboarding e-mails,
# templates, in-product tips and a chat bot.
#
# ## 3. Which trials will pay?

# %% [markdown]
# The columns: ROC AUC (ranking, 0.5 = coin flip), Brier score (squared error of the
# probabilities, lower is better) and top-decile lift (conversion among the best-scored
# 10% over the average), as defined in notebook 01 and `docs/glossary.md`.

# %%
train_leads, test_leads = L.time_split(leads, "2025-01-01")
lead_model = L.fit_lead_model(train_leads, kind="logistic", random_state=0)
lead_eval = L.evaluate_lead_model(lead_model, test_leads, truth=sim.truth["leads"],
                                  baselines={"channel only": L.fit_channel_baseline(train_leads)})
lead_eval[["leads", "converted", "roc_auc", "brier", "top_decile_lift"]].round(3)

# %% tags=["nbval-check-output"]
auc = lead_eval["roc_auc"]
print(f"ROC AUC on later sign-ups: model {auc['model']:.2f}, channel only "
      f"{auc['channel only']:.2f}, oracle {auc['oracle']:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert auc["channel only"] < auc["model"] <= auc["oracle"] + 0.02
assert auc["oracle"] - auc["model"] < 0.06

# %% [markdown]
# **Online first, sales when online stalls.** Most payers convert by
# themselves. Sales time goes to open trials with a good score that have not
# paid: larger companies (they need a quote, an invoice, a security review) and
# users who were active but stopped short. The call list:

# %%
open_leads = leads[leads["status"] == "open"]
# the best open leads first: capacity_plan's call list (notebook 11 plans capacity)
scored_open = lead_model.score(open_leads).merge(
    open_leads[["lead_id", "company_size", "trial_active_days"]], on="lead_id")
call_list = L.capacity_plan(scored_open, leads_per_week=8, weeks=1).call_list
call_list[["lead_id", "company_size", "trial_active_days", "p_convert", "grade",
           "reasons"]].round(3)

# %% [markdown]
# ## 4. Paying users: who renews?
#
# Once a user pays, the tool works like SaaS: most subscriptions are monthly,
# some annual. Kaplan-Meier by contract term:

# %%
view = add_segments(tobmodel.survival_view(sim), accounts)
ax = plot_kaplan_meier(view, by="contract_term")
ax.set_title("Share of paying users still paying, by contract term (Kaplan-Meier)")
ax.set_ylabel("share still paying")
plt.tight_layout()
plt.show()

# %%
segments_test = compare_segments(view, "contract_term")
print(segments_test)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert segments_test.p_value < 0.05

# %% [markdown]
# A Cox model with the covariates the team can see (separate baselines for
# monthly and annual terms):

# %%
# key-feature adoption is left out: in this data its effect is unclear (the interval spans
# 1) and, next to the share of seats in use, it only adds noise to the reasons
COVARIATES = ["tier", "onboarding_completed", "price_vs_tier_median", "active_seat_share_3m",
              "unresolved_share_6m"]
features = build_account_features(sim)
cox = fit_renewal_model(features, model="cox", covariates=COVARIATES, baseline="weibull")
hr = cox.hazard_ratios_.set_index("covariate")
ax = cox.plot_hazard_ratios()
ax.set_title("What drives paying users to cancel (Cox hazard ratios, log scale)")
ax.set_xlabel("hazard ratio (log scale; 1 = no effect)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(hr[["hazard_ratio", "lower_95", "upper_95", "p"]].round(2).to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert hr.loc["onboarding_completed", "hazard_ratio"] < 0.8
assert hr.loc["price_vs_tier_median", "hazard_ratio"] > 1.5
assert hr.loc["active_seat_share_3m", "hazard_ratio"] < 0.5

# %% [markdown]
# Paying more than similar customers raises the risk (small tool customers are
# price-sensitive); a completed onboarding and a high share of seats actually
# in use lower it. A team that bought ten seats and uses three will cut seats
# or cancel at the next renewal.
#
# ### Scores against the truth, and an honest time split

# %%
active = features[features["active"]]
scores = cox.score(active, horizon_months=12)
vs_truth = scores.merge(sim.truth["accounts"], on="account_id", suffixes=("", "_true"))
rho_next = spearmanr(vs_truth["p_churn_next_renewal"], vs_truth["p_churn_next_renewal_true"])[0]
rho_12m = spearmanr(vs_truth["p_churn_horizon"], vs_truth["p_churn_12m"])[0]

CUTOFF = AS_OF - pd.DateOffset(months=15)  # fit on the past, grade on the next 12 months
honest = evaluate_renewal_model(sim, CUTOFF, model="cox", covariates=COVARIATES,
                                baseline="weibull")

# %% tags=["nbval-check-output"]
print(f"{len(scores)} paying users; rank correlation with the truth: next renewal "
      f"{rho_next:.2f}, 12 months {rho_12m:.2f}")
print(honest[["model", "n_accounts", "c_index", "brier", "calibration_error"]].round(2)
      .to_string(index=False))
c = honest.set_index("model")["c_index"]

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rho_12m > 0.5 and c["baseline"] < c["cox"] <= c["oracle"]

# %%
fig, ax = plt.subplots(figsize=(6, 5))
ax.scatter(vs_truth["p_churn_12m"], vs_truth["p_churn_horizon"], s=8, alpha=0.5)
ax.plot([0, 1], [0, 1], color="grey", ls="--", label="model = truth")
ax.set_xlabel("true probability of cancelling within 12 months (oracle)")
ax.set_ylabel("Cox model's probability")
ax.set_title("Paying users: 12-month churn score vs truth")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. What the team does
#
# Tool customers are many and small, so most retention work is automated and
# driven by the reasons: unused seats → an in-product nudge to invite
# colleagues; onboarding not done → a guided set-up; price above the tier →
# offer the annual plan (cheaper per month, and an annual term churns less).
# Larger accounts with the most revenue at risk get a person:

# %%
at_risk = (scores.merge(active[["account_id", "tier", "contract_term", "arr"]], on="account_id")
           .assign(arr_at_risk=lambda d: d["p_churn_horizon"] * d["arr"])
           .sort_values("arr_at_risk", ascending=False).head(10))
at_risk[["account_id", "tier", "contract_term", "arr", "p_churn_horizon", "arr_at_risk",
         "reasons"]].round(3)

# %% [markdown]
# ## 6. Exercises
#
# **Exercise 1.** Compare the trial-to-paid conversion of leads whose trial was
# active 8 days or more, by company size. Where would a sales call add most?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
engaged_trials = closed_leads[closed_leads["trial_active_days"] >= 8]
by_size = (engaged_trials["status"] == "converted").groupby(
    engaged_trials["company_size"], observed=True).agg(["size", "mean"]).rename(
    columns={"size": "leads", "mean": "paid"})
print(by_size.round(3).to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_size["leads"].sum() > 50

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Even well-engaged trials do not all pay. The active trials of larger
# companies that have not paid are the best use of a salesperson's hour: the
# user is convinced, the purchase needs a decision maker, a quote and an
# invoice — exactly what sales brings.
#
# </details>
#
# **Exercise 2.** What share of monthly paying users are still paying 12 months
# after their first payment, against annual ones? Use
# `tobmodel.renewal.descriptive.retention_at` on the survival view.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
ret = retention_at(view, months=[12, 24], by="contract_term")
print(ret[["segment", "months", "retention", "lower", "upper"]].round(3).to_string(index=False))
r12 = ret[ret["months"] == 12].set_index("segment")["retention"]

# %% tags=["checks"] jupyter={"source_hidden": true}
assert r12["annual"] > r12["monthly"]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Annual subscribers stay longer (partly because they committed, partly
# because the more convinced users choose annual plans). Offering the annual
# plan at a discount to monthly users who have been active for a few months is
# a standard tool retention move.
#
# </details>
#
# **Exercise 3.** Draw 200 paying users at random (use `RNG`). Among them, what
# share of the true expected cancellations (sum of the oracle's 12-month
# probabilities) sits in the model's top 20%?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
sample = vs_truth.iloc[RNG.choice(len(vs_truth), size=200, replace=False)]
top_fifth = sample.nlargest(40, "p_churn_horizon")
share = top_fifth["p_churn_12m"].sum() / sample["p_churn_12m"].sum()
print(f"the model's top 20% holds {share:.0%} of the expected cancellations")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert share > 0.3

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Well above 20%: a retention campaign aimed at the model's top fifth reaches a
# much larger share of the users who are going to cancel than a campaign aimed
# at a random fifth.
#
# </details>
