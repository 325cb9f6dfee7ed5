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
# # 10 · Renewal survival in depth
#
# Renewal (续约 / 续费) is the event that closes the to-B loop. This notebook is the
# method chapter behind the churn scores of notebooks 02 and 08: how to measure
# "how long customers stay" when most of them have not left yet, and how to turn
# that into an honest churn probability for every active customer.
#
# **Learning goals.** After this notebook you can
#
# 1. explain **censoring** with a picture, and show with numbers why the two
#    obvious shortcuts (drop the active customers, or count them as stayers)
#    give wrong retention;
# 2. compute and read a **Kaplan-Meier** curve with its at-risk counts, by hand
#    at the renewal dates and with `tobmodel`;
# 3. fit a **Cox** model, read hazard ratios, and say in words what the
#    proportional-hazards check means;
# 4. fit the **shifted-beta-geometric (sBG)** cohort model and a
#    **discrete-time hazard** model for annual renewals, and explain why
#    retention rises with tenure;
# 5. check **calibration at the horizon** on a time split;
# 6. explain why an active customer's score must be **conditional on the tenure
#    already survived**, and show the error of the unconditional score against
#    the truth.
#
# We simulate a SaaS business in its maturity stage with 2,000 customers
# (`tobmodel.simulate`), so every estimate can be checked against the truth.

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a plain kernel
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import tobmodel
from tobmodel.renewal import (DiscreteTimeHazard, ShiftedBetaGeometric, add_segments,
                              build_account_features, calibration_table, cohort_survivors,
                              compare_segments, evaluate_against_truth, fit_renewal_model,
                              person_period, plot_calibration, plot_censoring, plot_kaplan_meier,
                              plot_metric_comparison, plot_sbg_projection, plot_sbg_retention,
                              retention_at, time_split)
from tobmodel.survival import calendar_months

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
RNG = np.random.default_rng(10)  # seeded; used in the exercises

sim = tobmodel.simulate("saas", "maturity", n_accounts=2000, seed=7)
AS_OF = sim.as_of
view = add_segments(tobmodel.survival_view(sim), sim.accounts)
truth = sim.truth["accounts"].set_index("account_id")
# the true tenure of every customer (the simulator runs 24 months past as_of)
view["true_tenure"] = calendar_months(view["start_date"].to_numpy(),
                                      truth.loc[view["account_id"], "churn_date"].to_numpy())
print(sim)

# %% [markdown]
# ## 1. Censoring: most customers have not churned *yet*
#
# Each line below is one customer, from the first contract to churn (×) or to
# the snapshot date `as_of` (○). A customer marked ○ is **right-censored**: we
# know they stayed *at least* this long, not how long they will stay. A
# customer who signed last month is censored at one month; that says nothing
# bad about them.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1 = plot_censoring(view, n=25, seed=3, ax=ax1)
ax1.set_title("25 customers in calendar time")
ax1.legend(loc="upper left", fontsize=8)
# the same customers on the time axis survival models use: months since the first contract
same = view.sample(25, random_state=3).sort_values("start_date")
y = np.arange(len(same))
gone = same["churned"].to_numpy() == 1
ax2.hlines(y, 0, same["tenure_months"], color="0.4", lw=1.5)
ax2.plot(same["tenure_months"][gone], y[gone], "x", color="C3", ms=8, label="churned")
ax2.plot(same["tenure_months"][~gone], y[~gone], "o", mfc="none", color="C0", ms=7,
             label="censored: still a customer")
ax2.set_yticks(y, same["account_id"].astype(str))
ax2.set_xlabel("months since first contract (tenure)")
ax2.set_ylabel("account")
ax2.set_title("The same customers in tenure time")
ax2.legend(loc="upper right", fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# On the right every customer starts at zero. The recent customers (top rows)
# are short lines ending in ○: their story has just begun. Any estimate of
# "how long customers stay" has to use them without pretending they churned or
# that they will stay for ever.

# %% tags=["nbval-check-output"]
censored_share = 1 - view["churned"].mean()
print(f"{len(view)} customers, {censored_share:.0%} censored (still customers at {AS_OF.date()})")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert 0.3 < censored_share < 0.9

# %% [markdown]
# What share of customers is still a customer **24 months** after the first
# contract? Three tempting answers, and the truth (the simulator knows every
# customer's future). A churn at the 24-month renewal counts as lost at 24
# months, so we compare just after it (24.1 months).

# %%
T = 24
after = T + 0.1
full_follow_up = view["start_date"] <= AS_OF - pd.DateOffset(months=T)
churned_by_T = (view["churned"] == 1) & (view["tenure_months"] <= after)
estimates = pd.Series({
    "count censored as stayers": 1 - churned_by_T.mean(),
    "drop censored customers": 1 - churned_by_T.sum() / (view["churned"] == 1).sum(),
    "only customers with 24 months of follow-up": 1 - churned_by_T[full_follow_up].mean(),
    "Kaplan-Meier (all customers)": retention_at(view, months=[T])["retention"].iloc[0],
    "truth (simulator)": 1 - (view["true_tenure"] <= after).mean(),
}, name=f"share still customers after {T} months")

# %% tags=["nbval-check-output"]
print(estimates.round(3).to_string())
err = (estimates - estimates["truth (simulator)"]).abs()

# %% tags=["checks"] jupyter={"source_hidden": true}
assert err["Kaplan-Meier (all customers)"] < 0.03
assert err["count censored as stayers"] > 0.05 and err["drop censored customers"] > 0.2

# %% [markdown]
# * **Counting censored customers as stayers** is too optimistic: a customer who
#   signed six months ago has not had the chance to churn by month 24.
# * **Dropping censored customers** is absurd: it keeps only those who churned.
# * **Only customers with full follow-up** is right but throws away every
#   customer who signed in the last two years, the ones that tell you about the
#   product as it is now.
# * **Kaplan-Meier** uses every customer for as long as we watched them, and
#   lands next to the truth.
#
# ## 2. Kaplan-Meier, by hand and with tobmodel
#
# Kaplan-Meier multiplies the renewal rates of each step: at each time a churn
# happens, the share of customers **at risk** (still customers, and watched that
# long) who did *not* churn. For annual contracts churn happens at renewal
# dates, so the steps are 12, 24, 36… months and the calculation fits in a
# small table.

# %%
annual = view[view["contract_term"] == "annual"]
steps = np.arange(12, 72, 12)
tenure, churned = annual["tenure_months"].to_numpy(), annual["churned"].to_numpy()
at_risk = (tenure[:, None] > steps - 0.1).sum(axis=0)
lost = ((churned[:, None] == 1) & (np.abs(tenure[:, None] - steps) <= 0.1)).sum(axis=0)
km_by_hand = pd.DataFrame({"renewal_month": steps, "at_risk": at_risk, "churned": lost,
                           "renewal_rate": 1 - lost / at_risk})
km_by_hand["survival"] = km_by_hand["renewal_rate"].cumprod()
km_lib = retention_at(annual, months=steps)
km_by_hand["tobmodel_retention_at"] = km_lib["retention"].to_numpy()
km_by_hand.round(3)

# %%
ax = plot_kaplan_meier(view, by="contract_term", at_risk=True)
ax.set_title("Kaplan-Meier renewal curves by contract term, with customers at risk")
plt.tight_layout()
plt.show()

# %% tags=["checks"] jupyter={"source_hidden": true}
assert np.allclose(km_by_hand["survival"], km_by_hand["tobmodel_retention_at"], atol=0.01)

# %% [markdown]
# The numbers under the plot are the customers still **at risk** at each
# tenure: the curve's right end rests on few customers, so its band widens.
# Never read the tail of a curve without its at-risk counts.
#
# The monthly curve falls smoothly (a decision every month), the annual curve in
# steps at each anniversary. The log-rank test says whether two curves differ
# by more than chance:

# %%
segments_test = compare_segments(view, "contract_term")
print(segments_test)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert segments_test.p_value < 0.001

# %% [markdown]
# ## 3. Cox proportional hazards: what drives churn
#
# The **hazard** is the churn rate among customers still at risk at a given
# tenure. A Cox model says each covariate multiplies the hazard by a constant
# factor, the **hazard ratio** (HR), at every tenure; the shape over tenure
# (the baseline) is left free. HR 2 means "twice the risk of leaving at any
# moment", HR 0.5 "half". Monthly and annual customers get separate baselines
# (strata), because their churn follows different calendars.

# %%
COVARIATES = ["tier", "sales_overpromised", "onboarding_completed", "price_vs_tier_median",
              "logins_trend", "key_feature_adoption_3m", "active_seat_share_3m",
              "unresolved_share_6m"]
features = build_account_features(sim)
cox = fit_renewal_model(features, model="cox", covariates=COVARIATES, baseline="weibull")
hr = cox.hazard_ratios_.set_index("covariate")
hr[["hazard_ratio", "lower_95", "upper_95", "p"]].round(3)

# %%
ax = cox.plot_hazard_ratios()
ax.set_title("Cox hazard ratios with 95% CI (log scale; right of 1 = more churn)")
ax.set_xlabel("hazard ratio (log scale)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
ph = cox.ph_check_report()
print(f"hazard ratio, sales over-promised: {hr.loc['sales_overpromised', 'hazard_ratio']:.1f}; "
      f"onboarding completed: {hr.loc['onboarding_completed', 'hazard_ratio']:.1f}")
print(f"covariates breaking proportional hazards at 1%: {int(ph.table['breaks_ph'].sum())} "
      f"of {len(ph.table)}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert hr.loc["sales_overpromised", "hazard_ratio"] > 1.5
assert hr.loc["onboarding_completed", "hazard_ratio"] < 0.8

# %% [markdown]
# **The proportional-hazards check in words.** The Cox model assumes a
# covariate's effect is the same at month 3 and at month 40. The check
# (scaled Schoenfeld residuals against tenure) asks, covariate by covariate,
# whether the estimated effect drifts with tenure. A **Schoenfeld residual** is
# computed at each churn: the churned customer's covariate minus the average
# covariate of everyone still at risk at that moment, weighted by their risk.
# If the effect is constant these residuals show no trend over tenure; a trend
# means the effect grows or fades as customers age:

# %%
print(ph.text)
ph.table[["covariate", "p", "breaks_ph"]].round(4)

# %% [markdown]
# A small drift in a large sample tests "significant" without mattering.
# Usage measured in the last three months is a natural suspect: it says more
# about churn soon than about churn years later. What to do, in order: look at
# whether the hazard ratio drives decisions; if it does, stratify on a
# categorical covariate, add a time interaction, or use a model that does not
# assume proportional hazards (the Weibull AFT model or the discrete-time hazard
# below). The honest evaluation in section 6 is the final judge.
#
# ## 4. Annual renewals as discrete decisions: sBG and the discrete-time hazard
#
# An annual customer decides once a year. Count, for each **start cohort** (the
# year of the first contract), how many are still customers after 0, 1, 2, …
# renewals:

# %%
survivors = cohort_survivors(annual)
survivors

# %% [markdown]
# The **shifted-beta-geometric** model (Fader and Hardie, 2007) says: each
# customer has their own churn probability θ at every renewal, constant for
# them, and θ varies across customers following a Beta(α, β) distribution.
# Two parameters fit every cohort. Its key consequence: the **retention rate
# rises with tenure**, not because customers change, but because the
# churn-prone leave early and the loyal remain (sorting, 筛选效应).

# %%
sbg = ShiftedBetaGeometric().fit(survivors)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1 = plot_sbg_projection(sbg, survivors, n_periods=8, ax=ax1)
ax1.set_title(f"sBG fit to {len(sbg.cohort_sizes_)} annual cohorts "
                  f"(alpha={sbg.alpha_:.2f}, beta={sbg.beta_:.2f})")
ax2 = plot_sbg_retention(sbg, n_periods=8, survivors=survivors, ax=ax2)
ax2.set_title("Renewal rate by renewal number: sBG vs observed")
plt.tight_layout()
plt.show()

# %% [markdown]
# Check the sBG against the truth: the simulator knows each annual customer's
# true churn probability at every renewal. Average it over the customers who
# reached that renewal, and compare with the sBG's
# `churn_probability_next_renewal`:

# %%
hz = sim.truth["hazard"]
hz = hz[hz["account_id"].isin(annual["account_id"]) & ~hz["after_churn"] & (hz["period"] <= 5)]
true_by_renewal = hz.groupby("period")["hazard"].mean()
sbg_vs_truth = pd.DataFrame({
    "sbg": sbg.churn_probability_next_renewal(true_by_renewal.index - 1),
    "observed (Kaplan-Meier step)": 1 - km_by_hand.set_index(km_by_hand.index + 1)
    ["renewal_rate"].reindex(true_by_renewal.index).to_numpy(),
    "truth": true_by_renewal.to_numpy()}, index=true_by_renewal.index.rename("renewal"))

# %% tags=["nbval-check-output"]
print(sbg_vs_truth.round(3).to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert (sbg_vs_truth["sbg"] - sbg_vs_truth["truth"]).abs().max() < 0.04
assert sbg.churn_probability_next_renewal(0) > sbg.churn_probability_next_renewal(4)

# %% [markdown]
# The sBG is a **cohort** model: every customer with the same number of
# renewals gets the same probability. It is the right tool for forecasting how
# many of this year's new customers will still pay in five years, and for
# customer lifetime value. To rank individual customers, add covariates with a
# **discrete-time hazard** model: one row per customer per renewal faced
# (`person_period`), a logistic regression of "did not renew" on the covariates
# and the renewal number.

# %%
annual_features = features[features["contract_term"] == "annual"]
static = ["account_id", "tier", "sales_overpromised", "onboarding_completed",
          "price_vs_tier_median"]
pp = person_period(annual[["account_id", "tenure_months", "churned"]],
                   annual_features[static], period_months=12)
dth = DiscreteTimeHazard(estimator="logistic").fit(pp)
annual_active = annual_features[annual_features["active"]]
p_dth = dth.predict_next_renewal(annual_active)
true_next = truth.loc[p_dth.index, "p_churn_next_renewal"]
rho_dth = spearmanr(p_dth, true_next)[0]
rho_sbg = spearmanr(sbg.churn_probability_next_renewal(
    np.floor((annual_active["tenure_months"] - 0.1) / 12)), true_next)[0]

# %% tags=["nbval-check-output"]
print(f"{len(pp)} person-period rows for {pp['account_id'].nunique()} annual customers")
print(f"rank correlation with the true next-renewal probability of {len(p_dth)} active annual "
      f"customers: discrete-time hazard {rho_dth:.2f}, sBG (tenure only) {rho_sbg:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rho_dth > rho_sbg + 0.2

# %% [markdown]
# ## 5. Score active customers conditionally on the tenure they survived
#
# A customer who has been with us 40 months is a **survivor**: whatever risk
# they faced in months 1 to 40, they came through it. Their chance of churning
# in the next 12 months is
#
# $$P(\text{churn in } (a, a+12] \mid \text{alive at } a) = 1 - \frac{S(a + 12)}{S(a)},$$
#
# where $a$ is their tenure and $S$ the survival curve. The **naive
# unconditional** score $1 - S(a + 12)$, "the chance of having churned by
# month a + 12", adds back all the risk the customer has already survived, so
# it grows with tenure and flags the most loyal customers as the most at risk.
# `model.score` and `model.churn_probability` are conditional. Against the
# simulator's true 12-month probabilities:

# %%
active = features[features["active"]]
a = active["tenure_months"].to_numpy()
survival = lambda t: np.exp(-cox.cumulative_hazard(active, t))  # noqa: E731 - S(t) per account
naive = 1 - survival(a + 12)
conditional = cox.churn_probability(active, horizon_months=12)
true_12m = truth.loc[active["account_id"], "p_churn_12m"].to_numpy()
compare = pd.DataFrame({"tenure_band": pd.cut(a, [0, 12, 24, 48, 100],
                                               labels=["<1 year", "1-2 years", "2-4 years",
                                                       "4+ years"]),
                        "truth": true_12m, "conditional": conditional, "naive": naive})
by_band = compare.groupby("tenure_band", observed=True).mean()

# %% tags=["nbval-check-output"]
mae = {k: float(np.abs(compare[k] - compare["truth"]).mean()) for k in ("conditional", "naive")}
print(by_band.round(3).to_string())
print(f"mean absolute error vs truth: conditional {mae['conditional']:.3f}, "
      f"naive {mae['naive']:.3f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert mae["naive"] > 1.5 * mae["conditional"]
assert by_band["naive"].is_monotonic_increasing

# %%
ax = by_band.plot(marker="o")
ax.set_title("12-month churn score by tenure: conditional vs naive vs truth")
ax.set_xlabel("tenure at the snapshot")
ax.set_ylabel("mean probability of churn within 12 months")
plt.tight_layout()
plt.show()

# %% [markdown]
# The naive score climbs with tenure while the truth stays flat or falls: it
# would send the customer-success team to the oldest, most loyal customers.
# The conditional score follows the truth.
#
# ## 6. Calibration at the horizon, on a time split
#
# The oracle comparison needs a simulator. On real data, go back in time: fit
# on the data as known at a cutoff 15 months before the snapshot, score the
# customers active then, and compare with what happened in the next 12 months.
# **Calibration** asks: of the customers scored about 20%, did about 20% churn?
# The observed share in each bin is a Kaplan-Meier estimate, because some
# customers are censored before the horizon.

# %%
CUTOFF = AS_OF - pd.DateOffset(months=15)
split = time_split(sim, CUTOFF)
features_then = build_account_features(sim, as_of=CUTOFF)
active_then = features_then[features_then["active"]]
p_then = {}
for name in ("cox", "weibull_aft"):
    options = {"baseline": "weibull"} if name == "cox" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the AFT fit on a small sample
        model = fit_renewal_model(features_then, model=name, covariates=COVARIATES, **options)
    p_then[name] = pd.Series(model.churn_probability(active_then, 12),
                             index=active_then["account_id"].to_numpy())
honest = evaluate_against_truth(sim, CUTOFF, scores=p_then, split=split)
honest[["model", "n_accounts", "c_index", "brier", "calibration_error", "mean_predicted",
        "observed_churn"]].round(3)

# %%
print(honest.attrs["sentence"])
h = honest.set_index("model")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert h.loc["cox", "c_index"] > h.loc["baseline", "c_index"] + 0.05
assert h.loc["cox", "calibration_error"] < 0.08

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
cal = calibration_table(split.test, p_then["cox"], horizon_months=12, n_bins=8,
                        horizon_time=split.horizon_time(12))
ax1 = plot_calibration(cal, ax=ax1, label="Cox, fitted at the cutoff")
ax1.set_title("Calibration of 12-month churn (8 bins)")
ax2 = plot_metric_comparison(honest, "c_index", ax=ax2)
ax2.set_title("c-index after the cutoff: models vs baseline and oracle")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
top_bin = cal.iloc[-1]
if top_bin["lower"] <= top_bin["mean_predicted"] <= top_bin["upper"]:
    verdict = "inside the observed interval: calibrated at the top too"
elif top_bin["observed"] > top_bin["mean_predicted"]:
    verdict = "below the observed interval: the model is too cautious about the worst-looking customers"
else:
    verdict = "above the observed interval: the model is too alarmed about the worst-looking customers"
print(f"highest-risk bin: predicted {top_bin['mean_predicted']:.0%}, observed "
      f"{top_bin['observed']:.0%} (95% CI {top_bin['lower']:.0%} to {top_bin['upper']:.0%}), "
      f"i.e. the prediction is {verdict}")

# %% [markdown]
# Read the calibration plot bin by bin, and the top bin most carefully: it
# holds the customers the team will call. A model can rank well and still be
# off in level there. For a call list the ranking is what matters; for a
# revenue forecast the level matters too: use the observed rate per score
# bin, or recalibrate the scores on a past cutoff before summing them.
# Notebook 13 (section 5) does that for the dynamic model, and shows how to
# tell whether the map helps before you switch it on.

# %% [markdown]
# ## 7. Scores against the oracle
#
# Finally the current scores of every active customer against the simulator's
# true probabilities, at the next renewal and over 12 months:

# %%
scores = cox.score(active, horizon_months=12).merge(
    sim.truth["accounts"], on="account_id", suffixes=("", "_true"))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
for ax, model_col, true_col, what in (
        (ax1, "p_churn_next_renewal", "p_churn_next_renewal_true", "at the next renewal"),
        (ax2, "p_churn_horizon", "p_churn_12m", "within 12 months")):
    _ = ax.scatter(scores[true_col], scores[model_col], s=6, alpha=0.4)
    top = float(max(scores[true_col].max(), scores[model_col].max()))
    _ = ax.plot([0, top], [0, top], color="grey", ls="--", label="model = truth")
    _ = ax.set_xlabel(f"true probability of churn {what} (oracle)")
    _ = ax.set_ylabel("Cox model's probability")
    _ = ax.set_title(f"Churn {what}: model vs truth")
    _ = ax.legend()
plt.tight_layout()

# %% tags=["nbval-check-output"]
rho = {c: spearmanr(scores[c], scores[t])[0] for c, t in
       (("p_churn_next_renewal", "p_churn_next_renewal_true"), ("p_churn_horizon", "p_churn_12m"))}
print(f"rank correlation with the truth: next renewal {rho['p_churn_next_renewal']:.2f}, "
      f"12 months {rho['p_churn_horizon']:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert min(rho.values()) > 0.5

# %% [markdown]
# A rank correlation well above zero but far from one is the normal state of
# churn models: the ranking is good enough to prioritise a team's time, and
# individual customers still surprise you.
#
# ## 8. Exercises
#
# **Exercise 1.** From the Kaplan-Meier curve of *all* customers, compute by
# hand the conditional probability that a customer who has stayed 30 months
# churns in the next 12, i.e. $1 - S(42)/S(30)$. Compare it with the
# unconditional $1 - S(42)$.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
s30, s42 = retention_at(view, months=[30, 42])["retention"].to_numpy()
print(f"S(30) = {s30:.3f}, S(42) = {s42:.3f}; conditional 1 - S(42)/S(30) = {1 - s42 / s30:.3f}, "
      f"unconditional 1 - S(42) = {1 - s42:.3f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert 1 - s42 / s30 < 1 - s42

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# The unconditional figure counts the churn of months 0–30, which this
# customer has already survived.
#
# </details>
#
# **Exercise 2.** With the sBG model, how many further renewals do you expect
# from an annual customer just before their first renewal, and from one who has
# already renewed three times (discount rate 10% a year)? What does that say
# about where to spend acquisition and retention money?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
derl = sbg.expected_residual_lifetime([0, 3], discount_rate=0.10)
print(f"expected further (discounted) renewals: new customer {derl[0]:.2f}, "
      f"after three renewals {derl[1]:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert derl[1] > derl[0]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# A customer who has renewed three times is worth more renewals than a new one:
# they have shown they are the loyal kind. Losing a long-standing customer loses
# more future revenue than losing a new one, so "old customers are safe" is a
# dangerous habit; the conditional scores above tell you which of them are not.
#
# </details>
#
# **Exercise 3.** Bootstrap the Kaplan-Meier retention at 24 months: draw the
# customers with replacement 200 times (use `RNG`) and report the 2.5% and 97.5%
# percentiles. Compare with the 95% confidence interval of `retention_at`, which
# comes from **Greenwood's formula**: the standard variance of a Kaplan-Meier
# estimate, adding up, at each churn time, lost / (at risk × (at risk − lost)).

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
weights = RNG.multinomial(len(view), np.full(len(view), 1 / len(view)), size=200)
t_all, e_all = view["tenure_months"].to_numpy(), view["churned"].to_numpy()
grid = np.unique(t_all[(e_all == 1) & (t_all <= T + 0.1)])  # churn times up to T
# a bootstrap sample = the customers with multinomial weights; Kaplan-Meier for all 200
# samples at once: customers at risk and lost at each churn time are weighted sums
at_risk_b = weights @ (t_all[:, None] >= grid[None, :])
lost_b = weights @ ((e_all[:, None] == 1) & (t_all[:, None] == grid[None, :]))
s_boot = np.prod(1 - lost_b / np.maximum(at_risk_b, 1), axis=1)
ci = retention_at(view, months=[T]).iloc[0]
print(f"bootstrap 95% interval: {np.percentile(s_boot, 2.5):.2f} to "
      f"{np.percentile(s_boot, 97.5):.2f}; Greenwood (retention_at): {ci['lower']:.2f} to "
      f"{ci['upper']:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert abs(np.percentile(s_boot, 2.5) - ci["lower"]) < 0.03

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# The two intervals agree: with about two thousand customers the 24-month
# retention is known to within a few points. With a segment of a hundred
# customers it would be several times wider, so compare segments with the
# log-rank test, not by eye.
#
# </details>
