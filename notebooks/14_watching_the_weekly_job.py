# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 14 · The weekly job watching itself: drift, movers, when to refit, what worked
#
# Notebook 12 ran the weekly churn-score export once. In real life it runs every
# Monday, unattended, for months. Three things go wrong quietly: the **data
# feed changes** (a tracking outage, a renamed field), the **business changes**
# (a new price list, a new kind of customer), and the **model ages**. And one
# question is never answered unless you plan for it: did customer success's
# calls actually keep customers?
#
# **Learning goals.** After this notebook you can
#
# 1. read the drift check of a weekly run and say what a population stability
#    index (PSI) of 0.05, 0.15 or 0.4 means;
# 2. find this week's **movers**, the accounts whose risk rose most, from the
#    score history;
# 3. produce the weekly HTML report a growth lead reads;
# 4. decide **how often to refit** by measuring how a model's ranking decays
#    with its age;
# 5. log customer-success outreach with a **hold-out** and, months later,
#    measure whether it lowered churn — and see why comparing "called" with
#    "not called" without a hold-out gives the wrong answer.
#
# Terms (PSI, drift, mover, staleness, hold-out) are defined in
# `docs/glossary.md`; how the checks are computed is in `docs/monitoring.md`.

# %%
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

import tobmodel
from tobmodel import monitor
from tobmodel.export import export_scores
from tobmodel.renewal import build_account_features, fit_renewal_model
from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
RNG = np.random.default_rng(14)  # seeded; used in the exercises
WORK = Path(tempfile.mkdtemp(prefix="tobmodel-watch-"))
DB = f"sqlite:///{WORK / 'weekly.sqlite'}"

sim = tobmodel.simulate("saas", "maturity", n_accounts=3000, seed=14, as_of="2026-03-31")
truth = sim.truth["accounts"].set_index("account_id")
print(sim)

# %% [markdown]
# ## 1. A model, and twelve Mondays of scores
#
# The model is fitted on what was known at the end of 2025 and saved; from then
# on, every Monday, the features of the active accounts are rebuilt from the
# tables as they stood that day and scored with the **same model file**. Each
# run is added to the database's `churn_score_history`.

# %%
FIT_AS_OF = pd.Timestamp("2025-12-31")
COVARIATES = ["tier", "sales_overpromised", "onboarding_completed", "price_vs_tier_median",
              "logins_trend", "active_seat_share_3m", "unresolved_share_6m"]
train = build_account_features(sim, as_of=FIT_AS_OF)
model = fit_renewal_model(train, model="cox", covariates=COVARIATES, baseline="weibull")
model_file = model.save(WORK / "cox.json")

mondays = pd.date_range("2026-01-05", periods=12, freq="W-MON")
weekly = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # an old-model warning is shown in section 4
    for day in mondays:
        feats = build_account_features(sim, as_of=day)
        weekly[day] = feats.loc[feats["active"]].reset_index(drop=True)
        summary = export_scores(model_file, weekly[day], DB, as_of=day)
print(summary)

# %% [markdown]
# Read the last lines of the summary: the run counted every scored account in
# the bins of the **training profile**, a few kilobytes of decile edges and
# category shares that the model file carries, and compared this week with it.
#
# ## 2. Drift in numbers: the population stability index
#
# For each feature, split the training values into ten bins of equal share.
# If this week's accounts fall into those bins in the same shares, nothing
# moved. The PSI adds up, over the bins, (this week's share − training share) ×
# ln(this week's share / training share):
#
# | PSI | status | what to do |
# |---|---|---|
# | below 0.10 | stable | nothing |
# | 0.10 to 0.25 | watch | look at the feature; mention it in the weekly review |
# | above 0.25 | shift | check the data feed first, then consider a refit |

# %% tags=["nbval-check-output"]
profile = model.reference_profile_
week12 = mondays[-1]
scored12 = export_scores(model_file, weekly[week12], WORK / "check.csv", as_of=week12)
drift_now = monitor.drift_table(profile, weekly[week12])
print(drift_now[["feature", "psi", "status"]].round(3).to_string(index=False))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert (drift_now["status"] != "shift").all()

# %% [markdown]
# Three months after fitting, the book of business still looks like the
# training data. Now the kind of accident that happens in every company: the
# product-analytics tracking (埋点) is changed and, from one week on, logins are
# recorded only from the web app, not the mobile app. Nothing crashes; the
# logins simply look lower.

# %%
broken = weekly[week12].copy()
broken["logins_trend"] = broken["logins_trend"] - 0.35  # half the logins no longer counted
drift_broken = monitor.drift_table(profile, broken)
top3 = drift_broken.head(3)[["feature", "psi", "status", "largest_change"]]
top3.round(3)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert drift_broken.iloc[0]["feature"] == "logins_trend"
assert drift_broken.iloc[0]["status"] == "shift"

# %% tags=["nbval-check-output"]
psi_logins = drift_broken.set_index("feature").loc["logins_trend", "psi"]
p_ok = model.score(weekly[week12], as_of=week12)["p_churn_horizon"]
p_broken = model.score(broken, as_of=week12)["p_churn_horizon"]
print(f"PSI of logins_trend: {psi_logins:.2f} (shift); the mean 12-month churn score moves "
      f"from {p_ok.mean():.1%} to {p_broken.mean():.1%} although no customer changed")

# %% [markdown]
# That is why the first response to a shift is **not** a refit: a refit would
# learn the broken feed. Check the data source (here: the tracking change), fix
# it, and re-run. A refit is for when the *customers* changed.
#
# ## 3. Movers: whose risk rose since last week?
#
# The score history keeps every run, so the question customer success asks on
# Monday morning — "who got worse?" — is a query. `find_movers` ranks the
# accounts by their rise since the previous run and counts how many runs in a
# row each one rose.

# %% tags=["nbval-check-output"]
history = monitor.read_history(DB, weeks=12)
movers = monitor.find_movers(history, top=10, min_weeks=3)
print(f"{history['as_of'].nunique()} runs in the history; "
      f"{len(movers)} movers listed")
movers[["account_id", "p_previous", "p_now", "rise", "weeks_rising"]].round(3).head(5)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert history["as_of"].nunique() == 12 and len(movers) > 0
assert (movers["rise"].dropna() >= 0).all()

# %% [markdown]
# Do rising scores mean anything? The simulator knows who really churned in the
# year after the last Monday. Compare accounts whose risk rose several weeks in
# a row with everyone else:

# %% tags=["nbval-check-output"]
last = history[history["as_of"] == history["as_of"].max()].set_index("account_id")
churn_date = truth.loc[last.index, "churn_date"]
churned_12m = (churn_date <= week12 + pd.DateOffset(months=12)).to_numpy()
rising = last.index.isin(movers.loc[movers["weeks_rising"] >= 3, "account_id"])
top_rise = last.index.isin(movers.nlargest(10, "rise")["account_id"])
rate = {"rising 3+ weeks in a row": churned_12m[rising].mean(),
        "10 largest rises": churned_12m[top_rise].mean(), "all active": churned_12m.mean()}
print("churned within 12 months:", {k: f"{v:.0%}" for k, v in rate.items()})
gap = rate["rising 3+ weeks in a row"] - rate["all active"]
print("accounts rising week after week churn", "about as often as the rest" if abs(gap) < 0.03
      else ("more often than the rest" if gap > 0 else "less often than the rest"))

# %% [markdown]
# A static model's score rises a little every week for most customers simply
# because the renewal date comes closer, so "rising three weeks in a row" alone
# is weak evidence; a large rise, and the reasons behind it (the `why` column:
# which covariate moved), are what customer success should read.
#
# ## 4. The weekly report
#
# `tobmodel report` (or `monitor.build_report` in Python) turns the history, the
# model file and this week's features into one HTML file with everything
# embedded: summary, score distribution against last week, the drift table, top
# movers and risk by segment. Mail it or archive it as it is.

# %%
report = monitor.build_report(DB, model=model_file, features=weekly[week12],
                              previous_features=weekly[mondays[-2]], segment="tier")
html = monitor.write_report(report, WORK / "weekly_report.html")
text = Path(html).read_text(encoding="utf-8")
print(f"{Path(html).name}: {len(text) / 1e3:.0f} kB, self-contained: "
      f"{'http' not in text.replace('http://www.w3.org', '')}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
prev = history[history["as_of"] == mondays[-2]]["p_churn_horizon"]
ax1.hist([prev, last["p_churn_horizon"]], bins=20, label=["last week", "this week"])
ax1.set_xlabel("12-month churn probability")
ax1.set_ylabel("accounts")
ax1.set_title("Score distribution, week on week")
ax1.legend()
by_tier = weekly[week12].assign(p=p_ok.to_numpy()).groupby("tier", observed=True)["p"].mean()
ax2.bar(by_tier.index.astype(str), by_tier.to_numpy(), color="C1")
ax2.set_ylabel("mean 12-month churn probability")
ax2.set_title("Risk by tier this week")
plt.show()

# %% [markdown]
# ## 5. How often to refit?
#
# A model fitted long ago has not seen the customers who joined since, nor how
# the business changed. To see how fast that matters for *this* business,
# fit the same model at several past dates and grade each one on the same
# accounts, scored at the same Monday, against what happened in the next 12
# months (ranking quality as ROC AUC: the chance that a churner scores above a
# customer who stayed).

# %% tags=["nbval-check-output"]
score_day = mondays[-1]
active_now = weekly[score_day]
churned_after = (truth.loc[active_now["account_id"], "churn_date"]
                 <= score_day + pd.DateOffset(months=12)).to_numpy()
ages = [0, 6, 12, 18, 24]
aging = []
for months_old in ages:
    fitted_at = score_day - pd.DateOffset(months=months_old)
    old = fit_renewal_model(build_account_features(sim, as_of=fitted_at), model="cox",
                            covariates=COVARIATES, baseline="weibull")
    p = old.score(active_now, as_of=score_day)["p_churn_horizon"].to_numpy()
    aging.append({"model age (months)": months_old, "roc_auc": roc_auc_score(churned_after, p),
                  "mean predicted": p.mean(), "observed": churned_after.mean()})
aging = pd.DataFrame(aging)
print(aging.round(3).to_string(index=False))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert aging["roc_auc"].min() > 0.6

# %%
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(aging["model age (months)"], aging["roc_auc"], "o-", label="ROC AUC (ranking)")
ax.plot(aging["model age (months)"], aging["mean predicted"] / aging["observed"], "s--",
        label="mean predicted / observed (calibration)")
ax.axhline(1.0, color="0.6", lw=0.8)
ax.set_xlabel("months between fitting and scoring")
ax.set_title("How the model ages")
ax.legend()
plt.show()

# %% tags=["nbval-check-output"]
auc_drop = aging["roc_auc"].iloc[0] - aging["roc_auc"].iloc[-1]
cal_fresh = aging["mean predicted"].iloc[0] / aging["observed"].iloc[0]
cal_old = aging["mean predicted"].iloc[-1] / aging["observed"].iloc[-1]
ratio = aging["mean predicted"] / aging["observed"]
print(f"two years of age cost {auc_drop:.3f} of ROC AUC; predicted/observed churn stays "
      f"between {ratio.min():.2f} and {ratio.max():.2f} at every age")

# %% [markdown]
# Read the two lines: the **ranking** (who is called first) and the **level**
# (the probabilities as numbers, used for ARR at risk and forecasts). In a
# mature, stable business like this one both age slowly, so a quarterly refit
# is plenty; in a growth-stage business, where the customer mix changes every
# quarter, run the same table and expect a steeper line. Two rules cover both:
# refit on a calendar (the weekly job's staleness check, `--max-model-age-weeks 13`,
# exit status 3, turns it into an alert) and refit early when the drift check
# shows a real shift in the customers (not in the data feed).
#
# ## 6. What customer success did, and whether it worked
#
# The call list goes to customer success. If every high-risk account is called,
# there is nothing to compare with, and the effect of the calls can never be
# measured. So before the outreach, `assign_outreach` sets aside a random share
# of the list — within each risk tier, seeded, recorded — and the outreach
# skips them. The assignment goes into the actions log (`cs_actions`).

# %%
first = mondays[0]
scores_first = history[history["as_of"] == first]
call_list = scores_first.nlargest(900, "p_churn_horizon")  # the riskiest 900 of the book
plan = monitor.assign_outreach(call_list, as_of=first, holdout_share=0.3, seed=2026,
                               action="csm_call")
where = monitor.log_actions(plan, DB)
plan.groupby("group").agg(accounts=("account_id", "size"),
                          mean_risk=("p_churn_at_assignment", "mean")).round(3)

# %% [markdown]
# The simulator does not model phone calls, so we have to *suppose* an effect
# to see whether the measurement finds it: say the calls save 30% of the
# contacted customers who would otherwise have churned within six months. (With
# your own data there is nothing to suppose: the outcomes are what happened.)

# %%
SAVED_SHARE = 0.3
outcome = truth.loc[plan["account_id"], ["churn_date"]].reset_index()
would_churn = (outcome["churn_date"] <= first + pd.DateOffset(months=6)).to_numpy()
contacted = (plan["group"] == "contact").to_numpy()
saved = contacted & would_churn & (np.random.default_rng(5).random(len(plan)) < SAVED_SHARE)
outcome.loc[saved, "churn_date"] = pd.NaT
effect = monitor.measure_action_effect(monitor.read_actions(DB), outcome,
                                       as_of=first + pd.DateOffset(months=7), horizon_months=6)
print(effect)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert effect.difference["upper_95"].iloc[0] < 0

# %% [markdown]
# The measured difference and its 95% interval come from the two random groups
# alone. Now the comparison a team makes without a hold-out: the churn of the
# accounts that were called against all the accounts that were not.

# %% tags=["nbval-check-output"]
everyone = scores_first[["account_id"]].merge(
    truth["churn_date"].rename("true_churn").reset_index(), on="account_id")
everyone.loc[everyone["account_id"].isin(plan.loc[saved, "account_id"]), "true_churn"] = pd.NaT
gone6 = (everyone["true_churn"] <= first + pd.DateOffset(months=6)).to_numpy()
called = everyone["account_id"].isin(plan.loc[contacted, "account_id"]).to_numpy()
naive = gone6[called].mean() - gone6[~called & ~everyone["account_id"].isin(
    plan["account_id"])].mean()
print(f"naive: called accounts churned {gone6[called].mean():.1%}, accounts not on the list "
      f"{gone6[~called & ~everyone['account_id'].isin(plan['account_id'])].mean():.1%} "
      f"({naive:+.1%}): the calls look harmful")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert naive > 0

# %% [markdown]
# The called accounts were chosen *because* they were at high risk, so they churn
# more than the rest even when the calls help. Only the hold-out, chosen at
# random from the same list, answers "what would have happened without the
# call". Keep the hold-out small (20-30%) and the log complete, and the team
# learns within two quarters which actions keep customers.
#
# ## 7. Exercises
#
# **Exercise 1.** Which PSI does `logins_trend` reach if only a quarter of the
# logins are lost (subtract 0.15 instead of 0.35)? Would the weekly check call
# it *watch* or *shift*?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
milder = weekly[week12].assign(logins_trend=lambda d: d["logins_trend"] - 0.15)
mild = monitor.drift_table(profile, milder).set_index("feature").loc["logins_trend"]
print(f"PSI {mild['psi']:.2f}: {mild['status']}")

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# A smaller loss gives a smaller PSI, but a feed that loses a quarter of its
# events is still a broken feed. The PSI is a prompt to look, not a verdict:
# read the `largest_change` column to see which bins moved.
#
# </details>
#
# **Exercise 2.** With a hold-out of 10% instead of 30%, how wide is the 95%
# interval of the measured effect? Use the same supposed effect.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
widths = {}
for share in (0.1, 0.3):
    p2 = monitor.assign_outreach(call_list, as_of=first, holdout_share=share, seed=2026)
    o2 = truth.loc[p2["account_id"], ["churn_date"]].reset_index()
    c2 = (p2["group"] == "contact").to_numpy()
    w2 = (o2["churn_date"] <= first + pd.DateOffset(months=6)).to_numpy()
    o2.loc[c2 & w2 & (np.random.default_rng(5).random(len(p2)) < SAVED_SHARE),
           "churn_date"] = pd.NaT
    e2 = monitor.measure_action_effect(p2, o2, as_of=first + pd.DateOffset(months=7))
    widths[share] = float(e2.difference["upper_95"].iloc[0] - e2.difference["lower_95"].iloc[0])
print({f"hold-out {k:.0%}": f"interval width {v:.1%}" for k, v in widths.items()})

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# A smaller hold-out calls more customers this quarter but measures the effect
# less precisely: the interval widens roughly with one over the square root of
# the hold-out's size. Pick the share from the smallest effect worth detecting.
#
# </details>
