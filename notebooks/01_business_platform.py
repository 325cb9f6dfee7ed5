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
# # 01 · Platforms: merchants stay only while they earn
#
# A platform (marketplace merchants, ride-hailing drivers, food-delivery shops)
# runs the to-B loop in a different order: **acquire** the business side for
# free (拉新), **serve and retain** it (客户成功: help it list, sell and get
# orders), and earn **revenue** from commissions, ads and value-added services.
# There is no contract to renew: a merchant "churns" by going quiet. It stays
# only as long as it makes money on the platform.
#
# **Learning goals.** After this notebook you can
#
# 1. state the platform's north-star metric (北极星指标), active merchants per
#    month, and compute it from usage data;
# 2. read the merchant funnel (sign-up → verified → first listing → active
#    merchant) and say where merchants are lost;
# 3. fit a lead-quality model for "will this sign-up become an active
#    merchant?" and compare it with the simulator's truth;
# 4. model **staying active** as survival (churn = three months without a
#    login), score active merchants against the truth, and hand the merchant
#    success team a list with reasons.

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a plain kernel
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import tobmodel
from tobmodel import leads as L
from tobmodel.datasets import load_platform
from tobmodel.renewal import (add_segments, build_account_features, evaluate_renewal_model,
                              fit_renewal_model, plot_kaplan_meier, retention_at)
from tobmodel.survival import INACTIVE_MONTHS

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 80)
RNG = np.random.default_rng(1)  # seeded; used in the exercises

sim = load_platform()
AS_OF = sim.as_of
accounts, usage, leads = sim.accounts, sim.usage, sim.leads
print(sim)

# %% [markdown]
# ## 1. The north star: merchants active this month
#
# Revenue on a platform follows activity: a merchant that lists and sells pays
# commission; a silent one pays nothing. So the north star is the number of
# merchants **active in the month** (at least one login). The `usage` table
# has one row per merchant per month.

# %%
monthly = usage.assign(active=usage["logins"] > 0).groupby("month").agg(
    active_merchants=("active", "sum"), merchants_with_data=("account_id", "nunique"))
signups = accounts.groupby(accounts["first_contract_date"].dt.to_period("M").dt.to_timestamp()
                           ).size().rename("new_merchants")
monthly = monthly.join(signups).fillna({"new_merchants": 0})

fig, ax = plt.subplots()
ax.plot(monthly.index, monthly["active_merchants"], label="active merchants (north star)")
ax.bar(monthly.index, monthly["new_merchants"], width=20, color="C2", alpha=0.5,
           label="new merchants that month")
ax.set_xlabel("month")
ax.set_ylabel("merchants")
ax.set_title("Platform north star: merchants active each month")
ax.legend()
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
now, year_ago = monthly["active_merchants"].iloc[-1], monthly["active_merchants"].iloc[-13]
print(f"active merchants in {monthly.index[-1]:%Y-%m}: {now} ({now / year_ago - 1:+.0%} on a "
      f"year earlier); {len(accounts)} merchants ever joined")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert now > 0

# %% [markdown]
# Most merchants who ever joined are no longer active: on a platform, joining
# is free, so leaving is cheap too. Every active merchant needs orders to stay.
#
# ## 2. The merchant funnel
#
# Here a "lead" is a business that signs up. The steps: sign-up → verified
# (documents checked) → first listing → **active merchant** (the conversion).

# %%
funnel = L.funnel_table(leads)
funnel[["step_name", "leads", "conversion_from_previous", "conversion_from_first"]].round(3)

# %% tags=["nbval-check-output"]
loss = 1 - funnel["conversion_from_previous"]
worst = int(loss.iloc[1:].idxmax())
print(f"{funnel['conversion_from_first'].iloc[-1]:.0%} of sign-ups became active merchants; the "
      f"largest loss is at '{funnel.loc[worst, 'step_name']}' "
      f"({loss.iloc[worst]:.0%} of the previous step lost)")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert funnel["leads"].is_monotonic_decreasing

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1 = L.plot_funnel(funnel, ax=ax1)
ax1.set_title("Merchant funnel (label: conversion from previous step)")
ax2 = L.plot_funnel(L.funnel_table(leads, by="company_size"), ax=ax2)
ax2.set_title("Funnel by company size")
plt.tight_layout()
plt.show()

# %% [markdown]
# Compared with a SaaS sale, far more sign-ups get through: there is no price
# to agree and no decision chain to convince. The loss is spread over the
# steps; each one (verification, the first listing) is a product and service
# problem: make it quick, help with the first listing, call those who stall.
#
# ## 3. Which sign-ups will become active merchants?
#
# The same lead model as in SaaS, predicting "becomes an active merchant",
# fitted on sign-ups before 2025 and tested on the later ones, against the
# simulator's true probabilities (the oracle: what a model that knew every
# lead's hidden propensity would predict; no real model can beat it).
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
lead_eval = L.evaluate_lead_model(lead_model, test_leads, truth=sim.truth["leads"],
                                  baselines={"channel only": L.fit_channel_baseline(train_leads)})
lead_eval[["leads", "converted", "roc_auc", "brier", "top_decile_lift"]].round(3)

# %% tags=["nbval-check-output"]
auc = lead_eval["roc_auc"]
print(f"ROC AUC on later sign-ups: model {auc['model']:.2f}, channel only "
      f"{auc['channel only']:.2f}, oracle {auc['oracle']:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert auc["channel only"] < auc["model"] <= auc["oracle"] + 0.02

# %% [markdown]
# With only a few hundred test sign-ups the numbers move a few points from
# sample to sample; the order (channel only < model ≤ oracle) is what matters.
# The operations use: call the open sign-ups most likely to become active and
# help them to their first listing.

# %%
open_leads = leads[leads["status"] == "open"]
# the best open leads first: capacity_plan's call list (notebook 11 plans capacity)
scored_open = lead_model.score(open_leads).merge(
    open_leads[["lead_id", "channel", "company_size"]], on="lead_id")
onboarding_calls = L.capacity_plan(scored_open, leads_per_week=8, weeks=1).call_list
onboarding_calls[["lead_id", "channel", "company_size", "p_convert", "grade", "reasons"]].round(3)

# %% [markdown]
# ## 4. Staying active: survival of merchants
#
# Churn on a platform is **going inactive**: in the survival view a merchant
# churns at the first month of a run of `INACTIVE_MONTHS` months without a
# login. A merchant who is active today is censored: still with us, future
# unknown.

# %% tags=["nbval-check-output"]
view = add_segments(tobmodel.survival_view(sim), accounts)
print(f"churn rule: {INACTIVE_MONTHS} months without a login; {view['churned'].mean():.0%} of "
      f"merchants have churned by {AS_OF.date()}")

# %%
ax = plot_kaplan_meier(view, by="tier")
ax.set_title("Share of merchants still active, by size tier (Kaplan-Meier, 95% CI)")
ax.set_ylabel("share of merchants still active")
plt.tight_layout()
plt.show()

# %% [markdown]
# There is no price or contract term here, so the covariates are about
# activity and service: tier, onboarding (did the merchant finish the set-up
# training), key-feature adoption of the last three months, the share of seats
# (staff accounts) in use, unresolved support tickets. (The login trend is left
# out: for a merchant who went quiet it is measured just before the quiet run,
# and in this data its estimated effect is not a usable warning sign.)
# Merchants earn on the platform only if they use it; the tracking data (埋点)
# is the main early warning.

# %%
COVARIATES = ["tier", "onboarding_completed", "key_feature_adoption_3m", "active_seat_share_3m",
              "unresolved_share_6m"]
features = build_account_features(sim)
cox = fit_renewal_model(features, model="cox", covariates=COVARIATES, baseline="weibull")
hr = cox.hazard_ratios_.set_index("covariate")
ax = cox.plot_hazard_ratios()
ax.set_title("What makes merchants go inactive (Cox hazard ratios, log scale)")
ax.set_xlabel("hazard ratio (log scale; 1 = no effect)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(hr[["hazard_ratio", "lower_95", "upper_95", "p"]].round(2).to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert hr.loc["onboarding_completed", "hazard_ratio"] < 0.8
assert hr.loc["active_seat_share_3m", "hazard_ratio"] < 1

# %% [markdown]
# Finished onboarding and a high share of staff accounts in use both protect.
# A covariate whose interval crosses 1 has no clear effect in this data; do not
# build a campaign on it.
#
# ### Scores against the truth
#
# For every active merchant: probability of going inactive next month and within
# 12 months, conditional on how long it has been active. A few merchants that
# look active in the data have already been dropped by the simulator (their
# inactive run started before the snapshot but is not yet three months long);
# the oracle has no score for them, so they are left out of the comparison.

# %%
active = features[features["active"]]
scores = cox.score(active, horizon_months=12)
vs_truth = scores.merge(sim.truth["accounts"], on="account_id", suffixes=("", "_true")).dropna(
    subset=["p_churn_12m"])
rho = spearmanr(vs_truth["p_churn_horizon"], vs_truth["p_churn_12m"])[0]

# %% tags=["nbval-check-output"]
print(f"{len(vs_truth)} of {len(scores)} active merchants have an oracle score; rank correlation "
      f"of the 12-month scores with the truth {rho:.2f}; mean model "
      f"{vs_truth['p_churn_horizon'].mean():.1%}, truth {vs_truth['p_churn_12m'].mean():.1%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rho > 0.5

# %%
fig, ax = plt.subplots(figsize=(6, 5))
ax.scatter(vs_truth["p_churn_12m"], vs_truth["p_churn_horizon"], s=8, alpha=0.5)
ax.plot([0, 1], [0, 1], color="grey", ls="--", label="model = truth")
ax.set_xlabel("true probability of going inactive within 12 months (oracle)")
ax.set_ylabel("Cox model's probability")
ax.set_title("Merchant churn scores: model vs truth")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The honest test without an oracle: fit on the data as known 15 months before
# the snapshot and check who went inactive in the following 12 months, against
# a Kaplan-Meier baseline by tier and the oracle.

# %%
CUTOFF = AS_OF - pd.DateOffset(months=15)
honest = evaluate_renewal_model(sim, CUTOFF, model="cox", segments=("tier",),
                                covariates=COVARIATES, baseline="weibull")

# %% tags=["nbval-check-output"]
print(honest[["model", "n_accounts", "c_index", "brier", "calibration_error"]].round(2)
      .to_string(index=False))
c = honest.set_index("model")["c_index"]

# %% tags=["checks"] jupyter={"source_hidden": true}
assert c["baseline"] < c["cox"] <= c["oracle"]

# %% [markdown]
# ## 5. What the merchant success team does
#
# Rank active merchants by **revenue at risk** (probability of going inactive
# in the next 12 months × the yearly revenue the platform earns from them,
# `arr`). Large merchants dominate the revenue at risk and get a personal
# call; the long tail of small merchants gets automated help (push messages,
# a bot, a checklist). Act on the reasons: a merchant whose logins fall needs orders, so
# the useful call offers traffic (a promotion slot, an ad trial), help with
# listings, or a fix for the open tickets, not a satisfaction survey.

# %%
at_risk = (scores.merge(active[["account_id", "tier", "arr"]], on="account_id")
           .assign(revenue_at_risk=lambda d: d["p_churn_horizon"] * d["arr"])
           .sort_values("revenue_at_risk", ascending=False).head(10))
at_risk[["account_id", "tier", "arr", "p_churn_horizon", "revenue_at_risk", "reasons"]].round(3)

# %% [markdown]
# An empty `reasons` cell means nothing in the merchant's data stands out: the
# risk is the base rate of a merchant of that age, and the revenue makes it
# worth a routine check-in. Did the list point at the right merchants? The
# simulator knows who went inactive after the snapshot:

# %% tags=["nbval-check-output"]
truth_acc = sim.truth["accounts"].set_index("account_id")
gone = (truth_acc["churn_date"].reindex(scores["account_id"])
        <= AS_OF + pd.DateOffset(months=12)).to_numpy()
top = scores["p_churn_horizon"].rank(ascending=False, method="first").to_numpy() <= 40
print(f"went inactive within 12 months (simulated future): top-40 flagged {gone[top].mean():.0%},"
      f" all active merchants {gone.mean():.0%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert gone[top].mean() > 1.3 * gone.mean()

# %% [markdown]
# ## 6. Exercises
#
# **Exercise 1.** The simulator records why each merchant left
# (`truth["accounts"].churn_cause`). Which cause is most common on this
# platform, and what does that suggest for the team? (With real data you would
# get this from exit calls.)

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
causes = sim.truth["accounts"]["churn_cause"].value_counts(normalize=True)
print(causes.round(3).to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert causes.index[0] == "disengaged" and causes["price"] > causes["competitor"]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Most merchants simply drift away (disengaged): they stop getting orders and
# stop logging in. That is the platform's core problem, and the reason usage
# tracking (logins, listings, orders) is the first thing to watch. Product fit
# (the platform never worked for the merchant: usage low from the first months)
# and price (the commission) are the next named causes, competitors a rare one;
# a competitor poaching merchants with lower commissions is still the risk to
# watch among the large ones.
#
# </details>
#
# **Exercise 2.** Compare the 12-month share of merchants still active for
# those who completed onboarding and those who did not (Kaplan-Meier, using
# `tobmodel.renewal.descriptive.retention_at`).

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
by_onboarding = view.merge(accounts[["account_id", "onboarding_completed"]], on="account_id")
ret = retention_at(by_onboarding, months=[12], by="onboarding_completed")
print(ret[["segment", "retention", "lower", "upper", "n_accounts"]].round(3).to_string(index=False))
r = ret.set_index("segment")["retention"]

# %% tags=["checks"] jupyter={"source_hidden": true}
assert r[True] > r[False]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Merchants who finish onboarding stay active far more often. On a platform,
# onboarding is cheap and scalable (videos, a checklist, a first-listing
# call): it is the first retention lever to pull.
#
# </details>
#
# **Exercise 3.** Draw 100 active merchants at random (use `RNG`) and rank them
# by the model's 12-month score. How many of the true top-10 risks (oracle) are
# in the model's top 10?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
sample = vs_truth.iloc[RNG.choice(len(vs_truth), size=100, replace=False)]
model_top = set(sample.nlargest(10, "p_churn_horizon")["account_id"])
true_top = set(sample.nlargest(10, "p_churn_12m")["account_id"])
print(f"{len(model_top & true_top)} of the true top-10 risks are in the model's top 10")

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Only a few: a model's ranking is good in bulk and imperfect at the very
# top, where the true risks differ by little. Work down a list of twenty or thirty rather than
# trusting the first name.
#
# </details>
