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
# # 12 · The weekly churn-score export
#
# Every Monday the growth team hands the customer-success team (客户成功) a list:
# every active customer, the chance that they will not renew (续约), and why.
# The CRM reads the same scores from a database table. This notebook runs that
# job end to end, the way you will run it at work, and shows what to check
# before you send anything.
#
# **Learning goals.** After this notebook you can
#
# 1. fit a renewal model, save it as a model file and say what the file
#    records (model id, versions, the feature schema it accepts);
# 2. score every active customer with `tobmodel.export.export_scores`, to a CSV
#    file and to a SQLite database, and read the run's summary line;
# 3. explain why every input row is either scored, **not scored** (a churned
#    customer) or **rejected with a reason**, and read the rejects table;
# 4. read the **history table** to follow a customer's risk from one weekly run
#    to the next, and know what happens when a week is re-run;
# 5. turn the scores into the list a customer-success manager works from.
#
# The same job runs from the command line (`tobmodel fit`, `tobmodel score`);
# the commands are shown at the end. All data is **simulated**, so we can also
# check the scores against the truth behind them.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sqlalchemy as sa

import tobmodel
from tobmodel.export import export_scores, score_accounts
from tobmodel.persist import read_model_json
from tobmodel.renewal import build_account_features, fit_renewal_model, load_renewal_model

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 70)

WORK = Path(tempfile.mkdtemp(prefix="weekly-export-"))  # a scratch folder for this notebook
DB = f"sqlite:///{WORK / 'tobmodel.sqlite'}"
WEEK1, WEEK2 = "2025-12-24", "2025-12-31"

sim = tobmodel.simulate("saas", "maturity", n_accounts=2000, seed=2026, as_of=WEEK2)
print(sim)

# %% [markdown]
# ## 1. What we score: one row per customer, as known on the scoring date
#
# A churn model does not read the raw tables; it reads one row per account
# with the account's tenure, its next renewal date and the signals that drive
# churn (onboarding, price, usage trend, unresolved tickets...).
# `build_account_features` builds that row **as known on a date**: for week 1
# we pretend it is 24 December and use nothing that happened later.

# %%
week1 = build_account_features(sim, as_of=WEEK1)
week2 = build_account_features(sim, as_of=WEEK2)
for name, f in (("week 1", week1), ("week 2", week2)):
    print(f"{name}: as of {f['as_of'].iloc[0].date()}, {len(f):,} accounts, "
          f"{int(f['active'].sum()):,} active")
week1[["account_id", "as_of", "tenure_months", "active", "contract_term", "next_renewal_date",
       "tier", "onboarding_completed", "logins_trend"]].head().round(2)

# %% [markdown]
# ## 2. Fit once, save the model file
#
# We fit a Cox renewal model on week 1's view (tenure and churn up to
# 24 December) and save it. The file is plain JSON: opening it never runs code,
# so a model file mailed around the company is safe to load. It carries a
# **model id** (built from the configuration, the tobmodel version and a
# fingerprint of the training data), the library versions and the feature
# schema: the columns, their types and, for categories, the values seen in
# training. Data that does not fit the schema is refused, not guessed at.

# %%
model = fit_renewal_model(week1, "cox")
model_file = model.save(WORK / "cox.json")
header = read_model_json(model_file)
print("model id:", header["model_id"])
print("kind / name:", header["kind"], "/", header["name"])
print("versions:", {k: header["versions"][k] for k in ("tobmodel", "lifelines")})
print("features:", len(header["features"]), "e.g.",
      [f["name"] for f in header["features"][:5]])
tier_schema = next(f for f in header["features"] if f["name"] == "tier")
print("tier values the model knows:", tier_schema["categories"])

# %% tags=["checks"] jupyter={"source_hidden": true}
assert load_renewal_model(model_file).model_id == model.model_id

# %% [markdown]
# ## 3. Week 1: score, write a CSV and the database, read the summary
#
# Real input is never clean. To see what the export does with bad rows we spoil
# three of them the way CRM exports spoil them: a tier typed by hand, a tenure
# of zero from a botched date, and the same customer twice.

# %%
active1 = week1.loc[week1["active"]].reset_index(drop=True)
dirty = active1.copy()
dirty["tier"] = dirty["tier"].astype(object)
dirty.loc[0, "tier"] = "Key Account"          # not a tier the model knows
dirty.loc[1, "tenure_months"] = 0.0           # tenure must be positive
dirty = pd.concat([dirty, dirty.iloc[[2]]], ignore_index=True)  # a duplicate row
# the churned customers come along too: the export counts them as not scored
dirty = pd.concat([dirty, week1.loc[~week1["active"]].head(5)], ignore_index=True)

run1 = export_scores(model_file, dirty, [WORK / "churn_scores.csv", DB], as_of=WEEK1)
print(run1)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert run1.not_scored == {"churned": 5}
assert run1.read == run1.scored + 5 + run1.rejected == len(dirty)

# %% [markdown]
# Read the summary from the top: which model (its id, so last week's list and
# this week's can be told apart), how many rows came in, how many were scored
# and where they went (the CSV sorted by risk, highest first), how many were
# **not scored** because the customer has churned (out of scope: no error, no
# reject), and how many were **rejected, by reason**. Nothing is dropped
# silently: `read = scored + not scored + rejected`, always. The rejected rows are
# in `churn_scores.rejects.csv` beside the CSV and in the table
# `churn_score_rejects` in the database, with the row number, the column and
# the value that caused it:

# %% tags=["nbval-check-output"]
engine = sa.create_engine(DB)
with engine.connect() as c:
    rejects = pd.read_sql_query("SELECT row_number, account_id, reason, field, value "
                                "FROM churn_score_rejects ORDER BY row_number", c)
print(rejects.groupby("reason").size().to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert set(rejects["reason"]) == {"unknown category", "tenure <= 0", "duplicate id"}

# %%
rejects

# %% [markdown]
# What to do with each reason: *unknown category* and *tenure <= 0* are data
# problems to send back to whoever owns the CRM export (or a sign that the
# model must be refitted because the business now has a new tier);
# *duplicate id* means the extract joined something twice, and the first row
# was kept. The five churned customers are not in this table: they are counted
# as not scored in the summary, because there is nothing to fix.

# %% [markdown]
# ## 4. Week 2, and what a re-run does
#
# A week later the features are rebuilt as of 31 December and scored with the
# **same model file**. Then someone re-runs week 2 by mistake. In the database
# a run is keyed by (as_of, model id): a re-run replaces that run's rows
# inside one transaction; it never duplicates them and never leaves half a run.

# %%
active2 = week2.loc[week2["active"]].reset_index(drop=True)
run2 = export_scores(model_file, active2, DB, as_of=WEEK2)
run2_again = export_scores(model_file, active2, DB, as_of=WEEK2)
with engine.connect() as c:
    runs = pd.read_sql_query("SELECT as_of, rows_read, rows_scored, rows_rejected "
                             "FROM score_runs ORDER BY as_of", c)
    per_week = pd.read_sql_query("SELECT as_of, COUNT(*) AS n FROM churn_score_history "
                                 "GROUP BY as_of ORDER BY as_of", c)
    latest_as_of = c.exec_driver_sql("SELECT DISTINCT as_of FROM churn_scores").scalars().all()
print(runs.to_string(index=False))
print(per_week.to_string(index=False))
print("the latest table (what the CRM reads) holds as_of:", latest_as_of)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert per_week["n"].tolist() == [run1.scored, run2.scored]  # the re-run did not duplicate

# %% [markdown]
# Three tables matter: `churn_score_history` keeps **every** run (one row per
# customer per week), `churn_scores` holds only the latest run for the CRM,
# and `score_runs` logs each run's counts. Back-filling an older week adds it
# to the history but leaves the latest table alone.
#
# ## 5. Following a customer from week to week
#
# The history table is where trends live. Which customers' 12-month churn
# risk rose most between the two runs?

# %%
with engine.connect() as c:
    history = pd.read_sql_query(
        "SELECT account_id, as_of, p_churn_horizon, risk_tier, reasons "
        "FROM churn_score_history", c, parse_dates=["as_of"])
wide = history.pivot(index="account_id", columns="as_of", values="p_churn_horizon").dropna()
wide.columns = ["week1", "week2"]
wide["change"] = wide["week2"] - wide["week1"]
movers = wide.sort_values("change", ascending=False).head(8)
print(f"{len(wide):,} customers scored in both weeks; median change "
      f"{wide['change'].median():+.3f}, largest rise {wide['change'].max():+.3f}")
movers.round(3)

# %%
fig, ax = plt.subplots()
y = np.arange(len(movers))
ax.hlines(y, movers["week1"], movers["week2"], color="grey")
ax.scatter(movers["week1"], y, label=f"week 1 ({WEEK1})", color="tab:blue")
ax.scatter(movers["week2"], y, label=f"week 2 ({WEEK2})", color="tab:red")
ax.set_yticks(y, [f"account {a}" for a in movers.index])
ax.set_xlabel("P(churn within 12 months)")
ax.set_title("The customers whose churn risk rose most in a week")
ax.legend()
plt.show()

# %% [markdown]
# A week is short, and most customers barely move: their risk changes
# mostly because time passes (a renewal date comes closer, or passes).
# The customers at the top of this chart are the ones to ask about: what
# changed? The reasons column of the history says what drives each score:

# %%
top = movers.index[0]
history.loc[history["account_id"] == top, ["as_of", "p_churn_horizon", "risk_tier",
                                           "reasons"]].round(3)

# %% [markdown]
# ## 6. Are the scores any good? Check against the truth
#
# On simulated data we know each customer's true probability of churning
# within 12 months of 31 December. A useful score ranks customers the same way
# and its risk tiers separate them. The tiers are cut on `p_churn_horizon`:
# **low** below 15%, **medium** from 15% to 40%, **high** from 40% on
# (`tobmodel.export.specs.RISK_CUTOFFS`; pass `risk_cutoffs=` to change them to
# what your customer-success team can handle).

# %% tags=["nbval-check-output"]
truth = sim.truth["accounts"][["account_id", "p_churn_12m"]]
check = pd.read_sql_query("SELECT account_id, p_churn_horizon, risk_tier FROM churn_scores",
                          engine).merge(truth, on="account_id", validate="1:1")
rho = check["p_churn_horizon"].rank().corr(check["p_churn_12m"].rank())
by_tier = check.groupby("risk_tier")["p_churn_12m"].mean().reindex(["high", "medium", "low"])
print(f"rank correlation with the truth: {rho:.1f}")
print("true 12-month churn by risk tier:", by_tier.round(1).to_dict())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rho > 0.4 and by_tier.is_monotonic_decreasing

# %% [markdown]
# ## 7. The list for customer success
#
# A customer-success manager cannot call every customer on the list. They want the
# high-risk customers whose renewal comes within 90 days, ordered by the
# revenue at stake at that renewal (ARR × the chance of not renewing then),
# with the reasons to open the call with.

# %%
latest = pd.read_sql_query("SELECT * FROM churn_scores", engine,
                           parse_dates=["as_of", "next_renewal_date"])
latest = latest.merge(week2[["account_id", "tier", "arr"]], on="account_id")
soon = latest["next_renewal_date"] <= pd.Timestamp(WEEK2) + pd.Timedelta(days=90)
latest["arr_at_stake"] = latest["arr"] * latest["p_churn_next_renewal"]
call_list = (latest.loc[(latest["risk_tier"] == "high") & soon]
             .sort_values("arr_at_stake", ascending=False)
             [["account_id", "tier", "arr", "next_renewal_date", "p_churn_next_renewal",
               "arr_at_stake", "reasons"]])
print(f"{len(call_list)} high-risk customers renew within 90 days: {call_list['arr'].sum():,.0f} "
      f"ARR, of which {call_list['arr_at_stake'].sum():,.0f} expected to be lost")
call_list.head(10).round(2)

# %% [markdown]
# ## 8. The same job from the command line
#
# At work the job runs on a schedule, not in a notebook. The commands below do
# what the cells above did (run `tobmodel score --help` for every option):
#
# ```bash
# tobmodel fit   --data data/crm --model cox --as-of 2025-12-31 --output models/cox.json \
#                --features-out account_features.parquet
# tobmodel score --model models/cox.json --input account_features.parquet \
#                --output data/exports/churn_scores.csv \
#                --output sqlite:///data/exports/tobmodel.sqlite --as-of 2025-12-31
# ```
#
# Each prints the same summary as above and ends with
# `scored N, not scored (churned K); rejected M (written to ...)`. A bad input (a missing file, a model
# file that is not a model, a database that refuses the connection) stops the
# job with one line saying what and where, and leaves last week's files as they
# were: files are written to a temporary name and renamed only at the end.

# %% [markdown]
# ## Exercises
#
# **1.** How many customers moved **up** at least one risk tier (low → medium,
# medium → high, or low → high) between week 1 and week 2?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
rank = {"low": 0, "medium": 1, "high": 2}
tiers = history.pivot(index="account_id", columns="as_of", values="risk_tier").dropna()
tiers.columns = ["week1", "week2"]
moved_up = int((tiers["week2"].map(rank) > tiers["week1"].map(rank)).sum())
print(f"{moved_up} customers moved up a tier, "
      f"{int((tiers['week2'].map(rank) < tiers['week1'].map(rank)).sum())} moved down")

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# **2.** The customer-success team can handle about 5% of customers as "high
# risk". Choose the high cut-off so that about 5% of week 2's customers are
# high, and score week 2 in memory with `score_accounts(..., risk_cutoffs=...)`.
#
# </details>

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
high_cut = float(np.quantile(latest["p_churn_horizon"], 0.95))
medium_cut = min(0.15, high_cut)
rescored = score_accounts(model_file, active2, as_of=WEEK2, risk_cutoffs=(medium_cut, high_cut))
share_high = (rescored["risk_tier"] == "high").mean()
print(f"high cut-off {high_cut:.2f}: {share_high:.1%} of customers are high risk")
engine.dispose()

# %% tags=["checks"] jupyter={"source_hidden": true}
assert 0.03 < share_high < 0.07
