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
# # 03 · Hardware: acquire and sell together, serve, sell again
#
# A hardware business (ovens for bakeries, ticket gates, screens) runs the loop
# as **acquire and pay together** — the sale is the conversion, after an
# offline trial or a visit — then **serve** (install, repair, logistics) and
# win the **repurchase**. First orders are small; trust grows into larger repeat
# orders. There is no subscription: a customer "churns" when they stop buying.
#
# **Learning goals.** After this notebook you can
#
# 1. compute the hardware north-star metrics (北极星指标): the repeat-order rate
#    and order value by order number;
# 2. read the hardware funnel (lead → qualified → offline trial/visit →
#    purchase) and find where buyers are lost;
# 3. fit a lead-quality model for "will this lead buy?" and compare it with the
#    simulator's truth;
# 4. model **repurchase** as the time from one order to the next, turn it into
#    each customer's probability of lapsing within 12 months (conditional on the
#    months already passed since the last order), check it against the truth,
#    and give the service team a list of customers to visit.

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a plain kernel
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

import tobmodel
from tobmodel import leads as L
from tobmodel.datasets import load_hardware
from tobmodel.renewal import (add_segments, build_account_features, fit_renewal_model,
                              fit_repurchase_model, order_gaps, plot_kaplan_meier)
from tobmodel.survival import LAPSE_MONTHS

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
RNG = np.random.default_rng(3)  # seeded; used in the exercises

sim = load_hardware()
AS_OF = sim.as_of
accounts, orders, leads = sim.accounts, sim.contracts, sim.leads
print(sim)

# %% [markdown]
# ## 1. The north star: repeat orders
#
# In the `contracts` table of a hardware business each row is an **order**:
# `period` is the order number (1 = first purchase), `start_date` the order
# date, `arr` its value. `outcome` says whether the customer ordered again
# (`renewed`), lapsed (`churned`, no order for `LAPSE_MONTHS` months) or whether
# the order is the latest one at the snapshot (`open`).
#
# Trust grows with each order: look at the typical order value by order number.

# %%
value_by_order = orders.groupby(orders["period"].clip(upper=8))["arr"].median() / 1e3
fig, ax = plt.subplots()
ax.bar(value_by_order.index.astype(str).str.replace("8", "8+"), value_by_order, color="C0")
ax.set_xlabel("order number (1 = first purchase)")
ax.set_ylabel("median order value (thousand CNY)")
ax.set_title("Hardware: first orders are small, repeat orders grow")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
first = orders.groupby("account_id")["start_date"].agg(["min", "size"])
old = first[first["min"] <= AS_OF - pd.DateOffset(months=12)]
repeat_rate = (old["size"] >= 2).mean()
print(f"repeat-order rate (customers whose first order is over a year old): {repeat_rate:.0%}; "
      f"median 4th order is {value_by_order[4] / value_by_order[1]:.1f} times the first")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert value_by_order.loc[1:7].is_monotonic_increasing
assert 0.5 < repeat_rate < 1

# %% [markdown]
# The repeat-order rate is the hardware north star: a customer who orders once
# was a sale; one who orders again is a relationship. The growing order value is
# the "trust grows" fact of the to-B articles in numbers: the bakery that tried
# one oven comes back for three.
#
# ## 2. The funnel: the offline trial decides

# %%
funnel = L.funnel_table(leads)
funnel[["step_name", "leads", "conversion_from_previous", "conversion_from_first"]].round(3)

# %% tags=["nbval-check-output"]
loss = 1 - funnel["conversion_from_previous"]
worst = int(loss.iloc[1:].idxmax())
print(f"{funnel['conversion_from_first'].iloc[-1]:.0%} of leads bought; the largest loss is "
      f"from '{funnel.loc[worst - 1, 'step_name']}' to '{funnel.loc[worst, 'step_name']}' "
      f"({loss.iloc[worst]:.0%} lost)")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert funnel.loc[worst, "step_name"] == "purchase"

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1 = L.plot_funnel(funnel, ax=ax1)
ax1.set_title("Hardware funnel (label: conversion from previous step)")
times = L.step_times(leads)
ax2 = L.plot_step_times(times, ax=ax2)
ax2.set_title("Days between funnel steps")
plt.tight_layout()
plt.show()

# %% [markdown]
# Trial happens offline (a demo unit in the shop, a visit to a reference
# customer), and most buyers are lost after it: the machine has to prove
# itself in the customer's own kitchen or station. Operations can help there:
# a well-prepared trial (installation, training of the staff who will use it)
# and a follow-up visit with the decision maker.
#
# ## 3. Which leads will buy?

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
print(f"ROC AUC on later leads: model {auc['model']:.2f}, channel only "
      f"{auc['channel only']:.2f}, oracle {auc['oracle']:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert auc["channel only"] < auc["model"] <= auc["oracle"] + 0.02
assert auc["oracle"] - auc["model"] < 0.06

# %% [markdown]
# The model is close to the oracle. The leads to call first — and to offer an
# offline trial:

# %%
open_leads = leads[leads["status"] == "open"]
# the best open leads first: capacity_plan's call list (notebook 11 plans capacity)
scored_open = lead_model.score(open_leads).merge(
    open_leads[["lead_id", "channel", "company_size"]], on="lead_id")
trial_offers = L.capacity_plan(scored_open, leads_per_week=8, weeks=1).call_list
trial_offers[["lead_id", "channel", "company_size", "p_convert", "grade", "reasons"]].round(3)

# %% [markdown]
# ## 4. Repurchase: how long until the next order?
#
# ### 4.1 The customer relationship
#
# `tobmodel.survival_view` dates a hardware churn at the last order plus
# `LAPSE_MONTHS` months without another order. Kaplan-Meier curves by tier:

# %%
view = add_segments(tobmodel.survival_view(sim), accounts)
ax = plot_kaplan_meier(view, by="tier")
ax.set_title("Share of hardware customers still buying, by tier (Kaplan-Meier)")
ax.set_ylabel("share of customers still buying")
plt.tight_layout()
plt.show()


# %% [markdown]
# ### 4.2 The gap between orders
#
# For a repurchase business the natural unit is the **gap** from one order to
# the next. `tobmodel.renewal.order_gaps` builds one row per order:
# `gap_months` is the number of calendar months until the next order, and
# `reordered` says whether that next order came (the event, 1) or not (0,
# censored). Two kinds of gap are censored:
#
# * the **latest** order of a customer: we only know that `gap_months` have
#   passed so far without a new order (the clock runs until the snapshot);
# * a gap that reaches `LAPSE_MONTHS` months: that is a lapse (churn), and the
#   gap is cut there. For churn we only need to know whether the next order
#   comes *in time*; a customer who comes back after 20 months was lost for a
#   while all the same.
#
# Each row also carries the customer's covariates (tier, channel, onboarding,
# ...) and `log_order_number`, the one covariate that changes from order to
# order. Here is one customer who lapsed once:

# %%
gaps = order_gaps(sim)
lapse_rows = gaps[(gaps["reordered"] == 0) & ~gaps["latest"]]
few_orders = gaps.groupby("account_id")["order_number"].transform("max") <= 6
example_id = gaps.loc[few_orders & gaps["account_id"].isin(lapse_rows["account_id"]),
                      "account_id"].min()
gaps.loc[gaps["account_id"] == example_id,
         ["account_id", "order_number", "start_date", "gap_months", "reordered", "latest"]].round(2)

# %% [markdown]
# A Kaplan-Meier curve of all gaps shows the share of orders not yet followed
# by another, month by month. Where it stands at month `LAPSE_MONTHS` is the
# share of gaps that end in a lapse. Loyal customers (many orders already)
# reorder sooner:

# %%
km_gap = KaplanMeierFitter().fit(gaps["gap_months"], gaps["reordered"], label="all orders")
order_band = pd.cut(gaps["order_number"], [0, 1, 3, np.inf], labels=["1st order", "2nd-3rd",
                                                                      "4th and later"])
fig, ax = plt.subplots()
for label in order_band.cat.categories:
    part = gaps[order_band == label]
    km = KaplanMeierFitter().fit(part["gap_months"], part["reordered"], label=label)
    ax = km.plot_survival_function(ax=ax, ci_show=False)
ax.axvline(LAPSE_MONTHS, color="grey", ls="--", lw=1)
ax.set_xlabel("months since the order")
ax.set_ylabel("share of orders with no next order yet")
ax.set_title(f"Gap to the next order (Kaplan-Meier); lapse at {LAPSE_MONTHS} months")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
median_gap = km_gap.median_survival_time_
no_reorder_in_time = float(km_gap.predict(LAPSE_MONTHS))
print(f"{len(gaps)} orders of {gaps['account_id'].nunique()} customers; median months to the "
      f"next order {median_gap:.1f}; {no_reorder_in_time:.1%} of gaps pass {LAPSE_MONTHS} months "
      "without a new order (a lapse)")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert 0 < no_reorder_in_time < 0.2
assert (gaps.loc[gaps["latest"], "reordered"] == 0).all() and gaps["gap_months"].max() <= 12

# %% [markdown]
# A Cox model of the gap (`fit_repurchase_model`) says what speeds the next
# order up: a reorder hazard ratio above 1 = reorders sooner = safer. By default
# it uses the customer's covariates that do not change over time and the order
# number; usage and support covariates are measured at the snapshot only, so
# they would describe the latest gap but not the earlier ones, and are left out.
# The main ratios:

# %%
rep_model = fit_repurchase_model(gaps)
ratios = rep_model.hazard_ratios_

# %% tags=["nbval-check-output"]
print(f"{rep_model.n_gaps_} gaps, {rep_model.n_reorders_} reorders")
print(ratios[["log_order_number", "onboarding_completed", "sales_overpromised", "tier=KA",
              "tier=SMB"]].round(2).to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ratios["log_order_number"] > 1  # loyal customers reorder sooner
assert ratios["onboarding_completed"] > 1.2  # trained staff use the machine, and reorder

# %%
ax = rep_model.lifelines_fitter_.plot(hazard_ratios=True)
ax.set_title("What speeds up the next order (Cox hazard ratios of reordering)")
ax.set_xlabel("hazard ratio of reordering (log scale; > 1 = reorders sooner)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 4.3 From the gap model to a churn probability, conditional on time passed
#
# A customer whose latest order was `m` months ago lapses if no order comes
# before `LAPSE_MONTHS`. They have already gone `m` months without one, so
#
# $$P(\text{lapse}) = \frac{S_{gap}(12)}{S_{gap}(m)},$$
#
# the chance of no order by month 12 **given** none by month m. The lapse
# happens within the next 12 months by construction, so this is also the
# 12-month churn probability. A customer who ordered last week is safe; one at
# month 10 without an order is at the edge. `rep_model.lapse_probability`
# computes it for the latest gap of each customer (`p_lapse_next_12m`, 1 for a
# customer already lapsed). Here is the formula by hand for one customer, with
# the lifelines survival curve of their gap:

# %%
latest = gaps[gaps["latest"]]
scores = rep_model.lapse_probability(latest)
one = latest[latest["gap_months"].between(4, 8)].iloc[[0]]
m_one = float(one["gap_months"].iloc[0])
design = pd.DataFrame(rep_model.encoder_.matrix(one), columns=rep_model.encoder_.columns)
s_m, s_12 = rep_model.lifelines_fitter_.predict_survival_function(
    design, times=[m_one, LAPSE_MONTHS]).iloc[:, 0]
by_hand = s_12 / s_m
from_package = float(rep_model.lapse_probability(one)["p_lapse_next_12m"].iloc[0])

# %% tags=["nbval-check-output"]
print(f"customer {int(one['account_id'].iloc[0])}, {m_one:.1f} months since the last order: "
      f"S(12) / S(m) = {s_12:.3f} / {s_m:.3f} = {by_hand:.3f}; package {from_package:.3f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert abs(by_hand - from_package) < 1e-6

# %% [markdown]
# The same customer at every possible month since the last order, next to the
# formula with the Kaplan-Meier curve (no covariates) and a first-time buyer
# who is otherwise identical:

# %%
months_grid = np.linspace(0.05, LAPSE_MONTHS - 0.05, 60)
profile = one.loc[one.index.repeat(len(months_grid))].assign(gap_months=months_grid)
first_buyer = profile.assign(log_order_number=0.0)
fig, ax = plt.subplots()
for frame, label in [(profile, f"customer {int(one['account_id'].iloc[0])} "
                               f"({int(one['order_number'].iloc[0])} orders)"),
                     (first_buyer, "same customer after a 1st order")]:
    p = rep_model.lapse_probability(frame)["p_lapse_next_12m"]
    _ = ax.plot(months_grid, p, label=label)
ax.plot(months_grid, no_reorder_in_time / km_gap.predict(months_grid).to_numpy(), ls="--",
            color="grey", label="Kaplan-Meier, no covariates")
ax.set_xlabel("months since the latest order (m)")
ax.set_ylabel("P(lapse) = S(12) / S(m)")
ax.set_title("Lapse risk rises as months pass without an order")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# How good is it? The simulator knows each live customer's true probability of
# churning within 12 months (the oracle). We compare the customers who have not
# lapsed yet (`months_since_last_order` below 12) and also try the formula with
# the Kaplan-Meier curve alone (time since the last order, nothing else).

# %%
truth = sim.truth["accounts"][["account_id", "p_churn_12m"]]
vs_truth = (scores[scores["months_since_last_order"] < LAPSE_MONTHS]
            .merge(truth, on="account_id").dropna(subset=["p_churn_12m"]))
rho = spearmanr(vs_truth["p_lapse_next_12m"], vs_truth["p_churn_12m"])[0]
p_time_only = no_reorder_in_time / km_gap.predict(vs_truth["months_since_last_order"]).to_numpy()
rho_time_only = spearmanr(p_time_only, vs_truth["p_churn_12m"])[0]

# %% tags=["nbval-check-output"]
print(f"{len(vs_truth)} customers with an open order and an oracle score; rank correlation with "
      f"the truth: Cox gap model {rho:.2f}, time since last order only {rho_time_only:.2f}")
print(f"mean predicted {vs_truth['p_lapse_next_12m'].mean():.1%}, "
      f"true {vs_truth['p_churn_12m'].mean():.1%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rho > 0.45 and rho > rho_time_only + 0.15
assert abs(vs_truth["p_lapse_next_12m"].mean() - vs_truth["p_churn_12m"].mean()) < 0.06

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1.scatter(vs_truth["p_churn_12m"], vs_truth["p_lapse_next_12m"], s=8, alpha=0.5)
ax1.plot([0, 1], [0, 1], color="grey", ls="--", label="model = truth")
ax1.set_xlabel("true probability of churn within 12 months (oracle)")
ax1.set_ylabel("gap model's probability of a lapse")
ax1.set_title("Repurchase model vs truth")
ax1.legend()
band = pd.cut(vs_truth["months_since_last_order"], [0, 3, 6, 9, 12],
              labels=["0-3", "3-6", "6-9", "9-12"])
by_band = vs_truth.groupby(band, observed=True)[["p_lapse_next_12m", "p_churn_12m"]].mean().rename(
    columns={"p_lapse_next_12m": "gap model (lapse)", "p_churn_12m": "truth (oracle churn)"})
ax2 = by_band.plot(marker="o", ax=ax2)
ax2.set_xlabel("months since the latest order")
ax2.set_ylabel("mean probability within 12 months")
ax2.set_title("Risk rises as months pass without an order")
plt.tight_layout()
plt.show()

# %% tags=["checks"] jupyter={"source_hidden": true}
# the two differences discussed below
assert by_band.iloc[-1, 0] > by_band.iloc[-1, 1]
assert ((vs_truth["p_churn_12m"] > 0.9) & (vs_truth["p_lapse_next_12m"] < 0.3)).any()

# %% [markdown]
# Both rise with the months since the last order, but they do not measure quite
# the same thing, and the differences teach something:
#
# * **Near the 12-month mark the model is more alarmed than the truth.** The
#   model predicts the *observable* lapse (no order for 12 months). The oracle
#   knows whether the customer has really decided to leave; some slow customers
#   have not, and come back after the lapse (the survival view then counts a
#   new relationship).
# * **Some customers the truth gives up on look safe to the model** (points at
#   the right edge of the scatter): they have decided to leave but ordered
#   recently, and nothing in the order history shows it yet. Their usage and
#   support tickets might; the service visit is how you find out.
#
# Time since the last order alone ranks customers poorly (see the line above);
# who the customer is (how many orders before, onboarding) adds most of the
# ranking power.
#
# ### 4.4 Why not the usual renewal model?
#
# The SaaS notebooks fit a Cox model of **tenure** (months since the first
# order) with `fit_renewal_model`. For hardware it sees the customer's usage
# and support tickets, so it can rank well, but it does not know how long the
# customer has already waited since the last order: its tenure clock says
# "years of loyal buying", while the lapse clock is at month 10. The fairest
# test is what really happened: fit both models 18 months before the snapshot
# and count the customers who lapsed in the following 12 months.

# %%
cutoff = AS_OF - pd.DateOffset(months=18)
active_then = tobmodel.survival_view(sim, as_of=cutoff).query("churned == 0")["account_id"]
later = tobmodel.survival_view(sim).set_index("account_id").loc[active_then]
lapsed = ((later["churned"] == 1)
          & (later["end_date"] <= cutoff + pd.DateOffset(months=12))).astype(int)
gaps_then = order_gaps(sim, as_of=cutoff)
gap_then = (fit_repurchase_model(gaps_then).lapse_probability(gaps_then[gaps_then["latest"]])
            .set_index("account_id")["p_lapse_next_12m"].loc[active_then])
features_then = build_account_features(sim, as_of=cutoff)
tenure_then = (fit_renewal_model(features_then).score(features_then)
               .set_index("account_id")["p_churn_horizon"].loc[active_then])
back_test = pd.DataFrame({
    "customers": len(lapsed),
    "mean predicted lapse": [gap_then.mean(), tenure_then.mean()],
    "lapsed (observed)": lapsed.mean(),
    "ROC AUC": [roc_auc_score(lapsed, gap_then), roc_auc_score(lapsed, tenure_then)]},
    index=["gap model (order_gaps)", "Cox on tenure (fit_renewal_model)"])
tenure_share = tenure_then.mean() / lapsed.mean()
# and at the snapshot, against the oracle (same customers as in 4.3)
features_now = build_account_features(sim)
tenure_now = vs_truth.merge(fit_renewal_model(features_now).score(features_now)[
    ["account_id", "p_churn_horizon"]], on="account_id").dropna(subset=["p_churn_horizon"])
tenure_share_oracle = tenure_now["p_churn_horizon"].mean() / tenure_now["p_churn_12m"].mean()
rho_tenure = spearmanr(tenure_now["p_churn_horizon"], tenure_now["p_churn_12m"])[0]

# %% tags=["nbval-check-output"]
print(back_test.round(2).to_string())
print(f"the Cox model on tenure predicts {tenure_share:.0%} of the lapses that happened; "
      f"the gap model {gap_then.mean() / lapsed.mean():.0%}")
print(f"at the snapshot vs the oracle ({len(tenure_now)} customers): Cox on tenure rank "
      f"correlation {rho_tenure:.2f}, mean {tenure_share_oracle:.0%} of the true churn")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert back_test["ROC AUC"].min() > 0.75  # both rank well
assert back_test["ROC AUC"].iloc[1] > back_test["ROC AUC"].iloc[0]  # tenure sees usage
assert abs(gap_then.mean() - lapsed.mean()) < 0.05  # the gap model is calibrated
assert 0.25 < tenure_share < 0.65  # the tenure model under-predicts lapses
assert rho_tenure > 0.45 and tenure_share_oracle < 0.6  # ... at the snapshot too

# %% [markdown]
# Both models put the right customers on top (ROC AUC in the table), and the
# tenure model ranks even a little better because it sees usage falling (the
# warning above: few lapses per covariate at that cutoff; the ranking holds
# anyway). But its probabilities are far too low, in the back test and against
# the oracle, as the printed shares say: planning
# revenue at risk or service capacity with it would under-count lapses badly.
# Use the gap model for the numbers; the usage signals are worth a look when
# you choose whom to call first.
#
# ## 5. What the service team does
#
# Service (install, repair, consumables) is the natural reason to visit. Rank
# customers by **revenue at risk** (lapse probability × the value of their
# latest order) and visit before the lapse: a maintenance check, a consumables
# offer, a demo of the newer model. The `why` column is built from the data.

# %%
latest_value = orders[["account_id", "period", "arr"]].rename(
    columns={"period": "order_number", "arr": "order_value"})
to_visit = (latest.merge(scores, on="account_id")
            .merge(latest_value, on=["account_id", "order_number"], how="left")
            .query(f"months_since_last_order < {LAPSE_MONTHS}")
            .rename(columns={"order_number": "orders_so_far"}))
to_visit["revenue_at_risk"] = to_visit["p_lapse_next_12m"] * to_visit["order_value"]
months_txt = to_visit["months_since_last_order"].round().astype(int).astype(str)
to_visit["why"] = np.select(
    [to_visit["months_since_last_order"] > 6, to_visit["orders_so_far"] <= 2,
     ~to_visit["onboarding_completed"]],
    ["no order for " + months_txt + f" months (usual gap {median_gap:.0f}; lapse at "
     f"{LAPSE_MONTHS})", "new customer: trust not built yet",
     "staff never trained on the machine"],
    "large account: routine check before the next order")
visit_list = to_visit.sort_values("revenue_at_risk", ascending=False).head(10)
visit_list[["account_id", "orders_so_far", "months_since_last_order", "order_value",
            "p_lapse_next_12m", "revenue_at_risk", "why"]].round(2)

# %% [markdown]
# ## 6. Exercises
#
# **Exercise 1.** Do key accounts reorder faster than small customers? Compare,
# by tier, the share of orders followed by another order within 3 months
# (Kaplan-Meier on the gaps: 1 - S(3)). The medians are no use here: orders come
# in whole months, so most tiers share the same median.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
within_3 = pd.Series({t: 1 - float(KaplanMeierFitter().fit(
    gaps.loc[gaps["tier"] == t, "gap_months"], gaps.loc[gaps["tier"] == t, "reordered"]
).predict(3)) for t in ["KA", "mid", "SMB"]}, name="share reordering within 3 months")
print(within_3.round(3).to_string())

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# The differences are small (the Cox ratios for tier above say the same): in
# this business the gap to the next order depends more on the customer's
# history with us than on size. Size matters for the *value* at risk, not the
# timing.
#
# </details>
#
# **Exercise 2.** A customer ordered 4 months ago. Using the Kaplan-Meier gap
# curve of all orders (no covariates), what is the chance that they lapse? And
# for a customer at 9 months?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
s12 = float(km_gap.predict(LAPSE_MONTHS))
p_lapse = {m: s12 / float(km_gap.predict(m)) for m in (4, 9)}
print({f"{m} months": round(p, 3) for m, p in p_lapse.items()})

# %% tags=["checks"] jupyter={"source_hidden": true}
assert p_lapse[9] > p_lapse[4]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# The longer a customer goes without an order, the likelier the lapse: the
# customers who were going to reorder mostly have. That is why the visit list
# is driven by months since the last order.
#
# </details>
#
# **Exercise 3.** The team can make 30 visits. Compare the expected lapses
# (true probabilities) among 30 customers chosen by the model with 30 chosen at
# random (use `RNG`).

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
by_model = vs_truth.nlargest(30, "p_lapse_next_12m")["p_churn_12m"].sum()
at_random = vs_truth["p_churn_12m"].to_numpy()[RNG.choice(len(vs_truth), 30, replace=False)].sum()
print(f"expected lapses among 30 visited: model's list {by_model:.1f}, random {at_random:.1f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_model > 1.5 * at_random

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# The model's list holds far more customers about to lapse than a random one:
# each visit has a better chance of saving a relationship.
#
# </details>
