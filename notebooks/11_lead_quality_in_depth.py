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
# # 11 · Lead quality in depth (线索质量): from a leads table to this week's call list
#
# Acquisition (获客) brings leads (线索): people who left their details (留资). Sales
# cannot call all of them properly, so someone has to decide which leads come first.
# A lead-quality model gives each lead the **probability that it becomes a paying
# customer**, known at the moment the lead is scored. Higher = better lead.
#
# This notebook builds that model carefully, the way you would before trusting it
# with the sales team's week.
#
# **Learning goals.** After this notebook you can
#
# 1. spot **leakage** (a column filled in after the outcome) and explain why a
#    random train/test split flatters a lead model, while a **time split** does not;
# 2. fit the two model pipelines of `tobmodel.leads` (logistic regression and
#    gradient boosting, both calibrated) and a channel-only baseline;
# 3. read ROC AUC, PR AUC, the Brier score, a calibration plot, the top-decile lift
#    and the cumulative gains curve, and say what each means for sales;
# 4. turn probabilities into scores (0-100), grades (A-D) and reasons in words;
# 5. plan capacity: "sales can call K leads a week": which ones, and how many
#    customers to expect;
# 6. measure how close the model gets to the best possible ranking (the simulator's
#    oracle).

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

import tobmodel
from tobmodel import leads as L

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 110)  # reasons in full
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a bare kernel
# One thread for OpenMP: on a busy shared machine, gradient boosting's threads
# otherwise wait on each other and a 2-second fit takes a minute.
threadpool_limits(1)

sim = tobmodel.simulate("saas", "maturity", n_accounts=2000, seed=11)
leads = sim.leads
truth = sim.truth["leads"]  # lead_id, p_convert: the true probability (simulation only)
print(sim)
print(leads["status"].value_counts().to_string())
plt.show()

# %% [markdown]
# ## 1. What is known when a lead is scored?
#
# A lead is scored soon after it registers. At that moment we know who it is (company
# size, industry, region), where it came from (channel: bidding 竞价, referral,
# events…), who in the decision chain (决策链) is talking to us, the intent and budget
# stated in the first call, and its behaviour (site visits, trial days). We do **not**
# know what happens next: whether it is qualified by phone, visited, and signed.
#
# The schema marks each column. Columns filled in later leak the answer:

# %%
closed, y, n_open = L.outcome_labels(leads)
print(f"features known at scoring: {', '.join(L.DEFAULT_FEATURES)}")
post = {"account_id filled (a customer record exists)": closed["account_id"].notna(),
        "visited / demo (engaged_date set)": closed["engaged_date"].notna()}
leak_auc = {name: roc_auc_score(y, flag) for name, flag in post.items()}
for name, auc in leak_auc.items():
    print(f"ROC AUC of '{name}' alone: {auc:.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert leak_auc["account_id filled (a customer record exists)"] == 1.0

# %% [markdown]
# The first column *is* the answer. The second is subtler: a lead that reached the
# demo step is most of the way to signing, so that one yes/no column ranks leads
# about as well as a whole honest model (section 4). Put it into a model and the test
# looks brilliant; on Monday morning, when new leads have no `engaged_date` yet, its
# probabilities are far too low and every capacity forecast built on them is wrong.
# Watch it happen with a renamed copy of the column:

# %%
CUTOFF = "2025-01-01"
with_leak = leads.assign(reached_demo=leads["engaged_date"].notna())
leak_train, leak_test = L.time_split(with_leak, CUTOFF)
leaky = L.fit_lead_model(leak_train, kind="logistic",
                         features=[*L.DEFAULT_FEATURES, "reached_demo"])
honest = L.fit_lead_model(leak_train, kind="logistic")
lt_closed, lt_y, _ = L.outcome_labels(leak_test)
auc_leaky = roc_auc_score(lt_y, leaky.predict_proba(lt_closed))
auc_honest = roc_auc_score(lt_y, honest.predict_proba(lt_closed))
monday = lt_closed.assign(reached_demo=False)  # new leads: nobody has had a demo yet
p_monday = leaky.predict_proba(monday).mean()
print(f"test ROC AUC: honest model {auc_honest:.2f}, with the leaked column {auc_leaky:.2f}")
print(f"on new leads (no demo yet) the leaky model predicts {p_monday:.1%} conversion on "
      f"average; the honest model {honest.predict_proba(lt_closed).mean():.1%}; "
      f"observed {lt_y.mean():.1%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert auc_leaky > auc_honest + 0.03 and p_monday < 0.5 * lt_y.mean()

# %% [markdown]
# `tobmodel.leads` refuses post-outcome columns by name (the schema marks them) and
# any column that alone separates converted from lost leads almost perfectly (AUC
# above 0.99):

# %%
try:
    L.fit_lead_model(leads, features=[*L.DEFAULT_FEATURES, "engaged_date"])
except L.LeakageError as err:
    print(f"LeakageError: {err}")

# %% [markdown]
# The renamed copy passed the guard: it is neither a schema column nor a perfect
# separator. No code can catch every leak; the protection is the question "would I
# know this on the day the lead registers?"

# %% [markdown]
# ## 2. Why a time split
#
# The model will score *next* month's leads after learning from *past* leads. Test it
# the same way: fit on leads created before a cutoff, test on leads created after.
# A random split lets the model learn from the future (market changes, a campaign, a
# new product) and hides two real problems:
#
# * **drift**: conversion changes over time;
# * **open leads**: the most recent leads have no outcome yet. A lead that will
#   convert in two months is still `open` today, so recent leads look worse than they
#   are if you count open as lost. tobmodel leaves open leads out and counts them.

# %%
quarter = leads["created_date"].dt.to_period("Q")
by_quarter = pd.DataFrame({
    "conversion (closed leads)": (leads["status"] == "converted").groupby(quarter).sum()
    / (leads["status"] != "open").groupby(quarter).sum(),
    "share still open": (leads["status"] == "open").groupby(quarter).mean(),
})
ax = by_quarter.plot(marker="o")
ax.set_title("Leads by quarter of registration: conversion and open share")
ax.set_xlabel("quarter the lead registered")
ax.set_ylabel("share of leads")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
train, test = L.time_split(leads, CUTOFF)
test_closed, y_test, n_open_test = L.outcome_labels(test)
print(f"train: {len(train):,} leads before {CUTOFF}; test: {len(test):,} leads after, of "
      f"which {n_open_test} are still open and left out")
print(f"open share: last quarter {by_quarter['share still open'].iloc[-1]:.0%}, "
      f"a year earlier {by_quarter['share still open'].iloc[-5]:.0%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_quarter["share still open"].iloc[-1] > 5 * by_quarter["share still open"].iloc[-5]

# %% [markdown]
# ## 3. The model pipelines
#
# `make_lead_model` is the factory: a scikit-learn `Pipeline` of stock parts. The
# logistic regression one-hot encodes categories and scales numbers (log first for
# counts like employees); gradient boosting (LightGBM's `LGBMClassifier`) takes
# categories natively and finds interactions by itself. Both are wrapped in
# `CalibratedClassifierCV`, so the output is a probability you can add up.

# %%
print(L.make_lead_model("logistic"))

# %% [markdown]
# `fit_lead_model` fits the pipeline on closed leads (open ones left out), checks for
# leakage and returns a `LeadModel` that scores, explains and saves itself as JSON.
# We fit three models on the training leads: gradient boosting, logistic regression,
# and the **channel-only baseline** (what a spreadsheet of conversion by channel
# would tell you).

# %%
hgb = L.fit_lead_model(train, kind="hgb")
logistic = L.fit_lead_model(train, kind="logistic")
channel_only = L.fit_channel_baseline(train)
print(hgb.training_)

# %% [markdown]
# ## 4. How good is it? Four numbers
#
# `evaluate_lead_model` scores the test leads and adds the **oracle**: the true
# conversion probabilities the simulator used. No model can beat it; it shows how
# much is left to learn.
#
# * **ROC AUC**: the chance that a random converted lead scores above a random lost
#   one (0.5 = coin flip).
# * **PR AUC** (average precision): how pure the top of the list is; compare it with
#   the base conversion rate, which is what random order gives.
# * **Brier score**: mean squared error of the probability (lower is better); it
#   punishes over-confident probabilities.
# * **Top-decile lift**: conversion of the best 10% of leads divided by the average.

# %% tags=["nbval-check-output"]
evaluation = L.evaluate_lead_model(
    hgb, test, truth=truth,
    baselines={"logistic": logistic, "channel only": channel_only}
).rename(index={"model": "gradient boosting"})
metrics = evaluation[["roc_auc", "pr_auc", "brier", "top_decile_lift"]].astype(float)
print(metrics.round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert metrics.loc["gradient boosting", "roc_auc"] > metrics.loc["channel only", "roc_auc"] + 0.05
assert metrics.loc["oracle", "roc_auc"] - metrics.loc["gradient boosting", "roc_auc"] < 0.08
assert metrics.loc["gradient boosting", "brier"] < metrics.loc["channel only", "brier"]

# %%
base_rate = y_test.mean()
best = metrics.drop(index="oracle")["roc_auc"].idxmax()
print(f"Base conversion rate of the test leads: {base_rate:.1%}. Best model: {best} "
      f"(ROC AUC {metrics.loc[best, 'roc_auc']:.2f}, oracle "
      f"{metrics.loc['oracle', 'roc_auc']:.2f}, channel only "
      f"{metrics.loc['channel only', 'roc_auc']:.2f}). Its best 10% of leads convert "
      f"{metrics.loc[best, 'top_decile_lift']:.1f} times as often as the average lead.")
gap = metrics.loc["logistic", "roc_auc"] - metrics.loc["gradient boosting", "roc_auc"]
print(f"logistic minus gradient boosting, ROC AUC: {gap:+.2f}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert abs(gap) < 0.05

# %% [markdown]
# Two lessons. The channel alone already ranks leads better than chance (referral
# leads convert far more than bidding leads), but the decision chain,
# budget, intent and behaviour add a lot. And on this data the transparent logistic
# model is about as good as gradient boosting (the difference printed above is within
# the noise of one test period): with a few thousand leads, a simple
# model that the team can read is a fine choice. Boosting pays off with more data and
# interactions (for example, budget confirmed *and* decision maker engaged).
#
# ## 5. Calibration: can the probabilities be added up?
#
# If the model says 30% for a group of leads, about 30% of them should convert.
# Capacity planning (section 7) *adds* probabilities to forecast customers, so this
# matters. Compare the calibrated model with the same boosting model without
# calibration.

# %%
hgb_raw = L.fit_lead_model(train, kind="hgb", calibration=None)
p_test = {"gradient boosting, calibrated": hgb.predict_proba(test_closed),
          "gradient boosting, not calibrated": hgb_raw.predict_proba(test_closed)}
calib = {name: L.calibration_table(y_test, p) for name, p in p_test.items()}
fig, ax = plt.subplots()
ax = L.plot_calibration(calib, ax=ax)
ax.set_title("Calibration on the test leads: predicted vs observed conversion")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
calib_error = pd.Series({name: float(np.average((t["mean_predicted"] - t["observed"]).abs(),
                                                weights=t["n_leads"])) for name, t in calib.items()},
                        name="mean |predicted - observed|")
print(calib_error.round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert calib_error.max() < 0.06

# %% [markdown]
# Both are close to the diagonal here; calibration matters most when the training
# leads convert at a different rate from the leads being scored, or for models that
# are over-confident by construction. The error bars are two standard errors of the
# observed rate: each bin holds a tenth of the test leads, itself a noisy sample.
#
# ## 6. Ranking: gains and lift
#
# Sales works down a list. The **cumulative gains curve** answers "if we call the
# best x% of leads, what share of all future customers do we reach?"

# %%
p_rank = {"gradient boosting": p_test["gradient boosting, calibrated"],
          "channel only": channel_only.predict_proba(test_closed),
          "oracle": truth.set_index("lead_id").loc[test_closed["lead_id"], "p_convert"].to_numpy()}
fig, ax = plt.subplots()
ax = L.plot_gains(y_test, p_rank, ax=ax)
ax.set_title("Cumulative gains on the test leads")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
gains = L.gains_table(y_test, p_rank["gradient boosting"], n_bins=5)
print(gains[["group", "conversion_rate", "cum_lead_share", "cum_conversion_share",
             "lift"]].round(2).to_string(index=False))
top_fifth = gains["cum_conversion_share"].iloc[0]

# %% tags=["checks"] jupyter={"source_hidden": true}
assert top_fifth > 0.35

# %%
print(f"Calling the best 20% of leads reaches {top_fifth:.0%} of the customers; the "
      f"worst 20% hold {1 - gains['cum_conversion_share'].iloc[-2]:.0%}.")

# %% [markdown]
# ## 7. Scores, grades and reasons for sales
#
# Sales do not want probabilities with three decimals. `model.score` gives each lead
# a **score** 0-100 (the share of past leads it beats), a **grade** (A ≥ 90, B ≥ 70,
# C ≥ 40, D below) and up to three **reasons** in words (+ raises, − lowers the
# chance).

# %%
scored = hgb.score(test_closed)
by_grade = L.conversion_by_grade(scored, y_test).set_index("grade")
fig, ax = plt.subplots()
ax = L.plot_conversion_by_grade(scored, y_test, ax=ax)
ax.set_title("Test leads: conversion by grade, predicted and observed")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(by_grade[["share_of_leads", "conversion_rate", "share_of_conversions"]].round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_grade["conversion_rate"].is_monotonic_decreasing
assert by_grade.loc["A", "conversion_rate"] > 3 * by_grade.loc["D", "conversion_rate"]

# %%
examples = scored.assign(converted=y_test).sort_values("score")
pd.concat([examples.tail(2), examples.head(2)])[
    ["lead_id", "p_convert", "score", "grade", "reasons", "converted"]].round(3)

# %% [markdown]
# The reasons tell the caller what to do: a B lead "− decision maker not engaged"
# needs a meeting with the boss (决策者); a lead with "− budget not confirmed" needs a
# value story before a quote.
#
# ## 8. Capacity planning: "sales can call K leads a week"
#
# Calling leads in order of calibrated probability maximises the expected number of
# customers for a fixed number of calls, and the expected number is the sum of the
# called leads' probabilities. Suppose the team can qualify ten leads a week properly
# (the rest go to automated nurturing).

# %%
LEADS_PER_WEEK = 10
scored_dated = scored.merge(test_closed[["lead_id", "created_date"]], on="lead_id")
plan = L.capacity_plan(scored_dated, leads_per_week=LEADS_PER_WEEK, outcome=y_test)
fig, ax = plt.subplots()
ax = L.plot_capacity(plan, ax=ax)
ax.set_title(f"Capacity plan: expected customers per week vs calls per week "
                 f"(capacity {LEADS_PER_WEEK})")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
s = plan.summary
print(f"{s['leads_arriving_per_week']:.0f} leads arrive a week; calling the best "
      f"{LEADS_PER_WEEK} (score >= {s['threshold_score']:.0f}) should bring "
      f"{s['expected_conversions_per_week']:.1f} customers a week, "
      f"{s['expected_if_random']:.1f} if picked at random; it actually brought "
      f"{s['actual_conversions_per_week']:.1f}.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert s["expected_conversions_per_week"] > 1.8 * s["expected_if_random"]
assert abs(s["actual_conversions_per_week"] - s["expected_conversions_per_week"]) < (
    0.25 * s["expected_conversions_per_week"])

# %% [markdown]
# The forecast held on leads the model had never seen: that is what calibration buys.
# The curve also answers the staffing question: each extra caller adds fewer
# customers than the one before, because the best leads are called first.
#
# ## 9. How close to the best possible?
#
# The oracle ranks by the true probability. Plot the model's probability against it
# for the test leads.

# %%
fig, ax = plt.subplots()
ax.scatter(p_rank["oracle"], p_rank["gradient boosting"], s=5, alpha=0.4)
ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect agreement")
ax.set_title("Test leads: model probability against the true probability")
ax.set_xlabel("true conversion probability (oracle)")
ax.set_ylabel("model conversion probability")
ax.legend()
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
corr = np.corrcoef(p_rank["oracle"], p_rank["gradient boosting"])[0, 1]
oracle_p = pd.Series(p_rank["oracle"], index=test_closed["lead_id"].to_numpy())
oracle_plan = L.capacity_plan(scored_dated.assign(p_convert=p_rank["oracle"]),
                              leads_per_week=LEADS_PER_WEEK)
# true expected customers of each list: the sum of the TRUE probabilities of its leads
share_of_best = (oracle_p.loc[plan.call_list["lead_id"]].sum()
                 / oracle_p.loc[oracle_plan.call_list["lead_id"]].sum())
print(f"correlation with the truth {corr:.1f}; with {LEADS_PER_WEEK} calls a week the model "
      f"finds {share_of_best:.0%} of the customers the oracle's list would")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert corr > 0.7 and share_of_best > 0.75

# %% [markdown]
# Both lists are valued with the true probabilities, so the comparison is fair: the
# model's list brings most of the customers the best possible list would.
#
# ## 10. What operations does with this
#
# * Score new leads daily; route **A** leads to a sales call within a day, **B** to the
#   phone qualification queue, **C** to nurturing (content, events), **D** to
#   automated follow-up only.
# * Set the weekly capacity from the plan, and watch the **actual** conversions of the
#   called leads against the expected count: a growing gap means drift; refit.
# * Refit monthly on a time split, and keep the channel-only baseline in the report:
#   if the model stops beating it clearly, something broke.
# * Never add a column to the model without asking "would I know this on the day the
#   lead registers?"
#
# ## Exercises
#
# **Exercise 1.** Bidding (paid search) brings many leads of low average quality. Is
# the model still useful *within* bidding leads? Compute the ROC AUC of the model and
# of the channel-only baseline on bidding test leads only.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
is_bidding = (test_closed["channel"] == "bidding").to_numpy()
auc_within = {name: roc_auc_score(y_test[is_bidding], p[is_bidding])
              for name, p in [("gradient boosting", p_rank["gradient boosting"]),
                              ("channel only", p_rank["channel only"])]}
print({k: round(v, 2) for k, v in auc_within.items()}, f"({is_bidding.sum()} bidding leads)")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert auc_within["gradient boosting"] > 0.65 and abs(auc_within["channel only"] - 0.5) < 0.01

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Within a channel the channel-only model is a coin flip (every bidding lead gets
# the same probability), while the full model still separates good bidding leads
# from bad ones: worth running even if the marketing team only buys bidding leads.
#
# </details>
#
# **Exercise 2.** How many calls a week would sales need to reach half of the expected
# customers among the test leads? Use `plan.curve`.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
curve = plan.curve
half = 0.5 * s["expected_if_all_called"]
calls_for_half = curve.loc[curve["expected_conversions_per_week"] >= half,
                           "leads_per_week"].iloc[0]
print(f"about {calls_for_half:.0f} calls a week out of {s['leads_arriving_per_week']:.0f} "
      f"reach half of the expected customers")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert calls_for_half < 0.4 * s["leads_arriving_per_week"]

# %% [markdown]
# **Exercise 3.** Back-test with real outcomes: how many test leads converted among
# the model's top 10%, the oracle's top 10% and a random 10% (use a seeded generator)?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
rng = np.random.default_rng(11)
k = len(y_test) // 10
top = {"gradient boosting": np.argsort(-p_rank["gradient boosting"])[:k],
       "oracle": np.argsort(-p_rank["oracle"])[:k],
       "random": rng.choice(len(y_test), size=k, replace=False)}
found = pd.Series({name: int(y_test[idx].sum()) for name, idx in top.items()},
                  name=f"converted among {k} leads")
print(found)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert found["oracle"] >= 0.8 * found["gradient boosting"] and found["gradient boosting"] > (
    2 * found["random"])

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# The model's top 10% holds about twice the customers of a random 10%, and the oracle
# shows there is more to gain (better data on intent and budget, for example). Real
# outcomes are noisy (a lead with a 60% chance still fails 4 times in 10), so judge
# models on several periods (`L.cross_validate_by_time`) before drawing conclusions.
#
# </details>
