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
# # 15 · Your own data: from CRM, help-desk and analytics exports to churn scores
#
# Notebooks 01–12 used the simulator's tables, which are clean by construction.
# Your company's data is not: it lives in a CRM (Salesforce or HubSpot), a help
# desk (Zendesk) and a product-analytics tool (Segment, Mixpanel), each with its
# own ids, field names, time zones and picklists. This notebook takes such an
# export, as a new hire receives it, through tobmodel's **mapping layer** to a
# call list for customer success.
#
# **Learning goals.** After this notebook you can
#
# 1. look at raw exports and name the quirks that break a hand-written script:
#    text ids, zoned timestamps, Title Case and Chinese picklists, custom fields,
#    quarterly and multi-year contracts, percent columns, tickets without an
#    account;
# 2. run `tobmodel validate` and read its report: every problem at once, each
#    with its file, column, example rows and the mapping line that fixes it;
#    errors (unusable) versus notices (usable, but it costs features);
# 3. write a small **mapping file** that extends the shipped presets, and
#    validate again until the data is usable;
# 4. fit a churn model and read the **call list** joined back to the CRM's own
#    ids, account names and owners;
# 5. measure what each missing optional column costs the model, and so decide
#    which export to fix first.
#
# The mapping format is documented key by key in `docs/mapping.md`; the fields
# of each source, which are required and what each optional one feeds, are in
# `data/README.md` ("Your own exports"). Terms are in `docs/glossary.md`.

# %%
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import tobmodel
from tobmodel.cli import main as tobmodel_cli
from tobmodel.export import export_scores
from tobmodel.mapping import read_export
from tobmodel.mapping.contracts import contract_outcomes
from tobmodel.mapping.jobs import build_call_list, mapped_features
from tobmodel.mapping.report import format_report
from tobmodel.renewal import build_account_features, fit_renewal_model
from tobmodel.renewal.evaluate import evaluate_scores, model_churn_curves, time_split
from tobmodel.schema import FEATURE_COST, TABLE_COST
from tobmodel.simulator.crm_exports import write_crm_exports
from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a notebook
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)
WORK = Path(tempfile.mkdtemp(prefix="tobmodel-owndata-"))
os.chdir(WORK)  # like a terminal: every path below is relative to this folder

# A simulated SaaS business written as Salesforce + Zendesk + Segment exports, with the
# tools' own file names, field names and quirks. Segment's warehouse destination writes
# Parquet (tracks.parquet); the CSV export (tracks.csv) is read the same way.
N_ACCOUNTS, SEED = 600, 13
write_crm_exports("exports", n_accounts=N_ACCOUNTS, seed=SEED, events_per_login=0.0,
                  events_format="parquet")
print(sorted(str(p.relative_to("exports")) for p in Path("exports").rglob("*.*")))

# %% [markdown]
# `truth_accounts.csv` is the simulator's answer key (who really churned, and
# each account's true risk); a real export has no such file. We keep it aside
# to grade the scores at the end, and move the mapping files the generator
# wrote (the answer to section 3) out of sight.

# %%
Path("answer_key").mkdir()
for name in ("truth_accounts.csv", "mapping.yaml", "segment.yaml"):
    Path("exports", name).rename(Path("answer_key", name))
truth = pd.read_csv("answer_key/truth_accounts.csv", dtype={"crm_account_id": str})

# %% [markdown]
# Two more files come to you by hand, the way they do in real life:
#
# * customer success exported the **contracts** from a Salesforce *report*
#   rather than the API, so the dates are in the exporting user's US locale
#   (`03/04/2024` = 4 March);
# * the data team sends the monthly **key-feature adoption** of each account
#   from the warehouse (the number in the board deck), in **percent**.

# %%
con = pd.read_csv("exports/Contract.csv", dtype=str, encoding="utf-8-sig",
                  keep_default_na=False)
for col in ("StartDate", "EndDate"):
    con[col] = pd.to_datetime(con[col]).dt.strftime("%m/%d/%Y")
con.to_csv("exports/Contract.csv", index=False, lineterminator="\r\n", encoding="utf-8-sig")

sim = tobmodel.simulate("saas", "maturity", n_accounts=N_ACCOUNTS, seed=SEED,
                        as_of="2025-12-31")  # the same business the exports came from
crm_id = truth.set_index("account_id")["crm_account_id"]
usage = sim.usage.loc[sim.usage["active_seats"] > 0]
Path("exports/warehouse").mkdir()
pd.DataFrame({
    "salesforce_account_id": crm_id.reindex(usage["account_id"]).to_numpy(),
    "month": usage["month"].dt.strftime("%Y-%m-%d").to_numpy(),
    "key_feature_adoption_pct": (100 * usage["key_feature_adoption"]).round(1).to_numpy(),
}).to_csv("exports/warehouse/feature_adoption_monthly.csv", index=False)
del sim, usage  # from here on, only the exports

# %% [markdown]
# ## 1. Look at the raw files first
#
# Before any tool, open each file and read a few rows. Here is the Salesforce
# account export:

# %%
raw_accounts = pd.read_csv("exports/Account.csv", dtype=str, encoding="utf-8-sig")
print("first bytes:", Path("exports/Account.csv").read_bytes()[:3],
      "| line ends:", repr(Path("exports/Account.csv").read_bytes().split(b"\n")[0][-1:]))
raw_accounts.head(4)

# %% [markdown]
# What a hand-written script would trip over, row by row:
#
# * the file starts with a **byte-order mark** (`\xef\xbb\xbf`, Excel's way of
#   saying UTF-8) and uses Windows line ends (`\r\n`): the first column's name
#   is `\ufeffId` to a naive reader;
# * `Id` is an 18-character **text id** (`0015g00...IAQ`), not a number: casting
#   it to an integer fails, and every join with the other tools goes through it;
# * `CreatedDate` is a **zoned timestamp** (`...T09:15:00.000+0000`): the date of
#   an evening timestamp depends on the time zone you take it in;
# * picklists are **Title Case** labels (`Key Account`, `Food & Beverage`),
#   `BillingCountry` holds **Chinese region names** (华东 = East China), and some
#   picklists are blank;
# * the fields a churn model wants most are **custom fields** (`__c`): tier,
#   seats, onboarding, whether sales over-promised. Every company names them
#   differently, so no preset can know them.

# %% tags=["nbval-check-output"]
print("picklist values:", {c: raw_accounts[c].nunique() for c in
                           ("Industry", "BillingCountry", "AccountSource", "Tier__c")})
print("tiers:", sorted(raw_accounts["Tier__c"].unique()))
print("blank industry:", int(raw_accounts["Industry"].isna().sum()), "of", len(raw_accounts))

# %% [markdown]
# The contracts: one row per contract, with its term in months, its status and
# its value in a custom field.

# %%
raw_contracts = pd.read_csv("exports/Contract.csv", dtype=str, encoding="utf-8-sig")
raw_contracts.head(4)

# %%
terms = raw_contracts.loc[raw_contracts["Status"] == "Activated", "ContractTerm"].astype(
    int).value_counts().sort_index()
fig, ax = plt.subplots()
ax.bar(terms.index.astype(str), terms.to_numpy(), color="#4c72b0")
ax.set(xlabel="ContractTerm (months)", ylabel="activated contracts",
       title="Monthly, quarterly, annual and two-year contracts in one export")
plt.show()

# %% [markdown]
# The term is not one number per customer: small customers sign monthly or
# **quarterly** contracts, larger ones annual or **multi-year** ones, and a few
# buy more seats mid-term with an **add-on** that ends with the main contract
# (co-termed). `Status` also holds `Draft` contracts that nobody has signed.
# "Renewed" therefore cannot mean "a year after the start date": it has to be
# worked out from the chain of contracts. Zendesk and Segment:

# %% tags=["nbval-check-output"]
tickets = pd.read_csv("exports/zendesk/tickets.csv", dtype=str)
orgs = pd.read_csv("exports/zendesk/organizations.csv", dtype=str)
tracks = pd.read_parquet("exports/segment/tracks.parquet")
no_org = tickets["organization_id"].isna().mean()
no_ext = orgs["external_id"].isna().sum()
print(f"tickets: {len(tickets):,}, {no_org:.1%} without an organization; "
      f"organizations without a CRM id (external_id): {no_ext}")
print(f"Segment events: {len(tracks):,}; kinds: {sorted(tracks['event'].unique())}")
print("contract statuses:", raw_contracts["Status"].value_counts().to_dict())

# %%
print(tickets[["id", "created_at", "status", "organization_id", "solved_at"]].head(3))
print(tracks.head(3))
pd.read_csv("exports/warehouse/feature_adoption_monthly.csv").tail(3)

# %% [markdown]
# A Zendesk ticket knows its **organization**, not the CRM account: the link is
# the organization's `external_id`, which holds the Salesforce account `Id`
# (when someone set it). Segment knows the account through `group_id`. Its
# timestamps end in `Z` (UTC) with milliseconds. The warehouse sheet has
# adoption as `41.3`, which means 41.3 %, not 41.3 times.
#
# ## 2. A first mapping, and validate
#
# tobmodel ships **presets** for the standard exports (`salesforce`, `hubspot`,
# `zendesk`, `segment`, `mixpanel`): they know the standard file and field
# names. What they cannot know goes into a small file of your own that
# `extends` a preset. Here is a first draft, written from the raw files above
# (`tobmodel validate --input exports --suggest my_mapping.yaml` writes a
# starter like it, with the custom fields guessed from their names):

# %%
DRAFT = """\
format: tobmodel-mapping/1
extends: salesforce
settings: {currency: USD}
sources:
  accounts:
    columns:
      tier: Tier__c
      seats: Seat_Count__c
      onboarding_completed: Onboarding_Completed__c
      sales_overpromised: Sales_Overpromised__c
    values:
      tier: {Key Account: KA, Mid-Market: mid, Small Business: SMB, "*": other}
    absent: [arr, price_per_seat_month]
  contracts:
    columns: {arr: ARR__c}
    absent: [churn_reason]
  usage:
    files: [feature_adoption_monthly.csv]
    columns:
      account_id: salesforce_account_id
      month: month
      key_feature_adoption: key_feature_adoption_pct
    absent: [active_seats, logins]
"""
Path("my_mapping.yaml").write_text(DRAFT, encoding="utf-8")
MAPS = ["my_mapping.yaml", "zendesk", "segment"]

# %% [markdown]
# `tobmodel validate` reads **every** file the mappings name, converts every
# mapped column and reports every problem at once. In a terminal:
#
# ```bash
# tobmodel validate --input exports --mapping my_mapping.yaml --mapping zendesk --mapping segment
# ```
#
# Here the same command runs inside the notebook:

# %% tags=["nbval-check-output"]
status = tobmodel_cli(["validate", "--input", "exports",
                       *[arg for m in MAPS for arg in ("--mapping", m)]])
print("exit status:", status)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert status == 1

# %% [markdown]
# Read the report from the top:
#
# * **sources**: which file each tobmodel input was read from, and how many rows;
# * **errors** make the data unusable (exit status 1; `fit` and `score` refuse
#   it with the same lines). Each names the file, the column, example rows
#   (file line numbers, header = line 1) and the **mapping line that fixes
#   it**. Here: the contract report's US dates (`03/04/2024` could be 3 April or
#   4 March: tobmodel will not guess), and adoption in percent where a share
#   (0–1) was expected;
# * **notices** leave the data usable but say what it costs: the draft names a
#   seats field `Seat_Count__c` that does not exist (the admin remembered it
#   wrong), so the models lose `log_seats` and `active_seat_share_3m`; some
#   tickets and organizations are not linked to any CRM account and are
#   left out (counted, not silently dropped).
#
# A hand-written script would have stopped at the first of these, three times.
#
# ## 3. Fix with the mapping, validate again
#
# Every fix is a line in the mapping, not an edit of the exports (next week's
# export will have the same quirks):

# %%
FIXED = (DRAFT.replace("seats: Seat_Count__c", "seats: Seats__c")
         .replace("    columns: {arr: ARR__c}\n",
                  "    columns: {arr: ARR__c}\n"
                  "    date_formats: {start_date: '%m/%d/%Y', end_date: '%m/%d/%Y'}\n")
         .replace("    absent: [active_seats, logins]\n",
                  "    units: {key_feature_adoption: percent}\n"
                  "    absent: [active_seats, logins]\n"))
Path("my_mapping.yaml").write_text(FIXED, encoding="utf-8")
print(FIXED)

# %% [markdown]
# Validate again. This time we call the function behind the command,
# `read_export`, which returns the tables as well as the report:

# %% tags=["nbval-check-output"]
data = read_export("exports", MAPS)
print(format_report(data, MAPS))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert not data.errors
assert {"log_seats", "key_feature_adoption_3m", "logins_trend"} <= set(data.covariates)
assert data.passthrough == ["account_name", "owner"]

# %% tags=["nbval-check-output"]
n_used, n_absent = len(data.covariates), len(data.absent)
print(f"usable with {n_used} model features; {n_absent} absent "
      f"({', '.join(data.absent)}); the call list carries {', '.join(data.passthrough)}")

# %% [markdown]
# `bot_escalations_6m` stays absent: no standard help-desk export records
# chat-bot sessions. That is fine: the models use what is present.
#
# What the layer made of the quirks:
#
# * **ids**: `crm_account_id` is the Salesforce `Id`, kept as text on every
#   table; `account_id` is a stable integer derived from it (the same in every
#   run), used inside the models;
# * **labels**: the tiers are the levels you mapped; the Chinese regions and
#   Title Case industries are learnt as they are; blank picklists are `unknown`;
# * **contracts** are chained per account: a contract starting within
#   `renewal_gap_days` (31 by default) of the previous end renews it, a chain
#   that ended with no successor is a churn at its end, drafts are left out,
#   and an active account's next renewal is the **end of the contract in
#   force**.

# %% tags=["nbval-check-output"]
accounts = data.tables["accounts"]
contracts = data.tables["contracts"]
print("tier levels:", accounts["tier"].value_counts().to_dict())
print("region levels:", sorted(accounts["region"].unique()))
print("contract outcomes:", contracts["outcome"].value_counts().to_dict())
print("drafts read as contracts:",
      int(contracts["crm_contract_id"].isin(
          raw_contracts.loc[raw_contracts["Status"] == "Draft", "Id"]).sum()))

# %% [markdown]
# One quarterly customer, its contract rows as exported and as tobmodel reads
# them:

# %%
feats = mapped_features(data)
quarterly = contracts.loc[(contracts["term_months"] == 3) & (contracts["outcome"] == "open")
                          & (contracts["start_date"] <= data.as_of), "crm_account_id"]
example = feats.loc[feats["active"] & feats["crm_account_id"].isin(quarterly)].iloc[0]
rows = contracts.loc[contracts["crm_account_id"] == example["crm_account_id"],
                     ["crm_contract_id", "start_date", "end_date", "term_months", "outcome"]]
print(example[["crm_account_id", "account_name", "contract_term", "next_renewal_date"]])
rows.tail(4)

# %% tags=["checks"] jupyter={"source_hidden": true}
open_end = rows.loc[rows["outcome"] == "open", "end_date"].max()
assert example["next_renewal_date"] == open_end

# %% [markdown]
# The next renewal is the open contract's `EndDate`, whatever the term: not
# the anniversary of the first start date, which is what a script that assumes
# annual contracts would compute.
#
# ## 4. Fit, score, and read the call list
#
# The command-line equivalents are `tobmodel fit --data exports --mapping ...`
# and `tobmodel score --model models/cox.json --input exports --mapping ...`.
# In Python: the account features as of the export's date, a penalised Cox
# model on the features present, saved with its feature schema; then the
# weekly export scores the **active** accounts and keeps the CRM id, name and
# owner on every row.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the events-per-parameter warning (notebook 10)
    model = fit_renewal_model(feats, model="cox", covariates=data.covariates, penalizer=0.1)
Path("models").mkdir()
model_file = model.save("models/cox.json")
active = feats.loc[feats["active"]].reset_index(drop=True)
summary = export_scores(model_file, active, "churn_scores.csv", as_of=data.as_of,
                        keep_columns=["crm_account_id", *data.passthrough])
scores = pd.read_csv("churn_scores.csv", dtype={"crm_account_id": str},
                     parse_dates=["next_renewal_date"])
calls = build_call_list(scores, active, data.passthrough)
print(summary)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert len(calls) == int(feats["active"].sum())
assert calls["p_churn_horizon"].is_monotonic_decreasing
assert calls["crm_account_id"].str.startswith("0015g").all()

# %% [markdown]
# The call list is what customer success works from: highest risk first, the
# CRM's own id (paste it into Salesforce), the name and owner, the next
# renewal, and the reasons behind each score:

# %%
calls.head(8)

# %% [markdown]
# Are these the truly risky customers? The simulator's answer key knows each
# active account's true probability of churning within 12 months. Join it on
# the CRM id, as you would join any outcome you collect later:

# %% tags=["nbval-check-output"]
graded = calls.merge(truth[["crm_account_id", "p_churn_12m"]], on="crm_account_id")
rho = graded["p_churn_horizon"].corr(graded["p_churn_12m"], method="spearman")
top = graded["rank"] <= len(graded) // 10
print(f"{len(graded):,} active accounts scored; rank correlation with the true risk: "
      f"{rho:.2f}")
print(f"true 12-month churn risk of the top decile of the call list: "
      f"{graded.loc[top, 'p_churn_12m'].mean():.0%}, of the rest: "
      f"{graded.loc[~top, 'p_churn_12m'].mean():.0%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert rho > 0.3
assert graded.loc[top, "p_churn_12m"].mean() > graded.loc[~top, "p_churn_12m"].mean()

# %%
fig, ax = plt.subplots()
order = graded.groupby("risk_tier")["p_churn_12m"]
for i, tier in enumerate(["low", "medium", "high"]):
    if tier in order.groups:
        vals = order.get_group(tier)
        ax.scatter(graded.loc[vals.index, "p_churn_horizon"], vals, s=10, alpha=0.6,
                   label=f"{tier} risk ({len(vals)})")
ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="score = true risk")
ax.set(xlabel="churn score (P churn within 12 months)", ylabel="true 12-month risk",
       title="Scores from the exports against the simulator's truth", xlim=(0, 1),
       ylim=(0, 1))
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, frameon=False,
          fontsize=8)  # below the axes: never over the points
plt.show()

# %% [markdown]
# ## 5. What each missing optional column costs
#
# Only accounts and contracts are required; every other column makes the
# model better by some amount. Which one is worth chasing your Salesforce
# admin for? Measure it: go back 18 months (the **cutoff**), fit on what was
# known then, score the accounts active then, and grade the scores on what
# happened next, once with every column and once without each one.
# `tobmodel.schema.FEATURE_COST` says which model features each column feeds
# (the same table `validate` uses for its notices).

# %%
def lost_features(*fields):
    """Model features fed only by these (source, field) pairs or whole sources."""
    out = []
    for f in fields:
        out += TABLE_COST[f] if isinstance(f, str) else FEATURE_COST[f]
    return sorted({x.split(" (")[0] for x in out} & set(data.covariates))


WITHOUT = {
    "Tier__c": lost_features(("accounts", "tier")),
    "Seats__c": lost_features(("accounts", "seats")),
    "Onboarding_Completed__c": lost_features(("accounts", "onboarding_completed")),
    "Sales_Overpromised__c": lost_features(("accounts", "sales_overpromised")),
    "Industry, BillingCountry, AccountSource": lost_features(
        ("accounts", "industry"), ("accounts", "region"), ("accounts", "acquisition_channel")),
    "Zendesk tickets": lost_features("tickets"),
    "Segment events": lost_features(("usage", "logins"), ("usage", "active_seats")),
    "warehouse adoption sheet": lost_features(("usage", "key_feature_adoption")),
}
pd.Series({k: ", ".join(v) for k, v in WITHOUT.items()}, name="features lost").to_frame()

# %%
cutoff = data.as_of - pd.DateOffset(months=18)
split = time_split(data.tables, cutoff)
past = build_account_features(data.tables, as_of=split.cutoff)
curves = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name, lost in {"all columns": [], **WITHOUT}.items():
        covs = [c for c in data.covariates if c not in lost]
        fitted = fit_renewal_model(past, model="cox", covariates=covs, penalizer=0.1)
        curves[name] = model_churn_curves(fitted, past, horizon_months=12)
# every variant graded on the same 200 bootstrap replicates of the test accounts; the
# "oracle" of evaluate_scores is the reference the gap is measured to: all columns here
table = evaluate_scores(curves, split, horizon_months=12, oracle="all columns",
                        baseline="none", n_boot=200, seed=SEED)
cost = table.set_index("model")[["c_index", "oracle_gap", "oracle_gap_lo", "oracle_gap_hi"]]
cost = cost.rename(columns={"oracle_gap": "c_index_lost", "oracle_gap_lo": "lost_lo",
                            "oracle_gap_hi": "lost_hi"})
cost.round(3)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert cost.loc["all columns", "c_index_lost"] == 0
assert (cost["lost_lo"] <= cost["c_index_lost"] + 1e-12).all()
assert len(split.test) > 200

# %%
drop = cost.drop(index="all columns").sort_values("c_index_lost")
fig, ax = plt.subplots()
ax.barh(drop.index, drop["c_index_lost"], color="#c44e52",
        xerr=[drop["c_index_lost"] - drop["lost_lo"], drop["lost_hi"] - drop["c_index_lost"]],
        capsize=3)
ax.axvline(0, color="black", lw=0.8)
ax.set(xlabel="c-index lost without the column (95% bootstrap interval)",
       title="What each optional column is worth to the churn model")
plt.show()

# %% tags=["nbval-check-output"]
full = cost.loc["all columns", "c_index"]
clear = drop.loc[drop["lost_lo"] > 0]
print(f"{len(split.test):,} accounts active at {split.cutoff.date()}; c-index with every "
      f"column {full:.3f}")
print("clearly costly to lose (interval above 0):",
      ", ".join(f"{k} ({v:.3f})" for k, v in clear["c_index_lost"][::-1].items()) or "none")
better = drop.loc[drop["lost_hi"] < 0]
print("clearly better without (interval below 0):",
      ", ".join(f"{k} ({-v:.3f} gained)" for k, v in better["c_index_lost"].items()) or "none")
within = drop.loc[(drop["lost_lo"] <= 0) & (drop["lost_hi"] >= 0)].index
print(f"within the noise of {len(split.test):,} accounts: {', '.join(within) or 'none'}")

# %% [markdown]
# Read the chart as a priority list for data work:
#
# * a column whose interval lies **above zero** measurably helps: if your
#   export lacks it, that is the one to ask for first;
# * one whose interval **straddles zero** cannot be told apart from noise *on a
#   book of this size*: with a few hundred customers and a couple of hundred
#   churns, the model cannot learn much from a weak feature, however real its
#   effect (the simulator's causes of churn, notebook 09, are all in these
#   columns);
# * a bar **below zero** means the model ranked better *without* the column.
#   That happens with labels of many levels (industries, regions and
#   channels: more than a dozen parameters) and few churns: the model fits noise in
#   the small levels (**overfitting**). The levers are a larger penalizer,
#   pooling rare levels (`settings: {pool_below: 20}`), or leaving the column
#   out with `--covariates`, and the same measurement tells you which helps.
#
# The interval comes from resampling the test accounts (the same 200
# replicates for every variant, so the differences are paired). On a book of
# ten thousand customers the same chart separates far smaller effects.
#
# ## 6. Exercises
#
# **Exercise 1.** Customer success can call about 30 accounts this month. The
# head of customer success wants those with a renewal in the next 90 days,
# highest risk first, and the ARR they represent. Build that list from
# `calls`, and compare its ARR at risk (the sum of ARR × churn score) with
# that of the 30 highest-risk accounts regardless of the renewal date.
#
# **Exercise 2.** The renewal gap decides what counts as a churn: a customer
# whose new contract starts 40 days after the old one ended renewed late, or
# churned and came back? Recompute the contract outcomes with
# `contract_outcomes(contracts, data.as_of, gap_days=...)` for gaps of 1 day
# (the next contract must start the day after the previous `EndDate`), 31 and
# 90 days, and count the churns. Which contracts change, what do they become
# instead, and which gap fits a business that invoices monthly?
#
# **Exercise 3.** Your HubSpot colleague says "we never filled in seats, let's
# drop it". Using `WITHOUT` and the fitting loop of section 5, measure the cost
# of losing **both** `Seats__c` and the Segment events, and compare it with the
# sum of the two separate costs. Why can the two differ?

# %% [markdown]
# #### Worked answer

# %% jupyter={"source_hidden": true}
soon = calls.loc[calls["next_renewal_date"] <= (data.as_of + pd.Timedelta(days=90))]
renewing = soon.sort_values("p_churn_next_renewal", ascending=False, kind="stable").head(30)
riskiest = calls.head(30)
at_risk = {name: float((df["arr"] * df["p_churn_horizon"]).sum())
           for name, df in {"renewing within 90 days": renewing, "top 30 by risk": riskiest}
           .items()}
print(f"{len(soon)} active accounts renew within 90 days of {data.as_of.date()}")
print("ARR at risk (ARR x 12-month churn score):",
      {k: f"{v:,.0f} {data.settings['currency']}" for k, v in at_risk.items()})
both_lists = set(renewing["crm_account_id"]) & set(riskiest["crm_account_id"])
print(f"accounts on both lists: {len(both_lists)}")
renewing[["rank", "crm_account_id", "account_name", "owner", "next_renewal_date",
          "p_churn_next_renewal", "arr"]].head(5)

# %% [markdown]
# <details><summary>Discussion</summary>
#
# The two lists overlap only in part. The 30 highest-risk accounts include
# customers whose renewal is months away: a call today may be forgotten by
# then. Accounts renewing within 90 days are where a call can still change the
# decision this quarter; for them the relevant score is
# `p_churn_next_renewal`, the probability of not renewing at *that* renewal.
# Which list carries more ARR at risk depends on the book (large customers on
# annual contracts renew rarely but weigh a lot): compute it, as above, rather
# than assume it. A good weekly routine uses both: the renewal list for this
# quarter's calls, the risk list for longer plays (onboarding, training, an
# executive sponsor).
# Notebook 14 shows how to measure whether the calls worked.
#
# </details>

# %% [markdown]
# #### Worked answer

# %% jupyter={"source_hidden": true}
chain = contracts[["account_id", "crm_account_id", "start_date", "end_date"]]
by_gap = {gap: contract_outcomes(chain, data.as_of, gap_days=gap).to_numpy()
          for gap in (1, 31, 90)}
print("churned contracts by gap (days):",
      {gap: int((o == "churned").sum()) for gap, o in by_gap.items()})
for short, long in ((1, 31), (31, 90)):
    moved = (by_gap[short] == "churned") & (by_gap[long] != "churned")
    ended = (data.as_of - chain.loc[moved, "end_date"]).dt.days
    print(f"churns at a {short}-day gap, not at {long} days: {int(moved.sum())} contracts, "
          f"now {pd.Series(by_gap[long][moved]).value_counts().to_dict()}; they ended "
          f"{ended.min()}-{ended.max()} days before {data.as_of.date()}")

# %% tags=["checks"] jupyter={"source_hidden": true}
for short, long in ((1, 31), (31, 90)):
    moved = (by_gap[short] == "churned") & (by_gap[long] != "churned")
    assert moved.any() and (by_gap[long][moved] == "open").all()

# %% [markdown]
# <details><summary>Discussion</summary>
#
# The gap does two jobs. It joins contracts: a new contract that starts
# within the gap after the previous end is a renewal, a later one is a churn
# followed by a win-back. And it sets how long tobmodel waits after an end
# before calling it a churn: a contract that ended less than the gap before
# the export's date is **open** (censored: the renewal may still be signed).
#
# In this export every change is of the second kind: the simulated customers
# renew on time, so the contracts that stop being churns with a longer gap are
# the ones that ended recently, and they become `open`, not `renewed`. In a
# real export with late paperwork you would also see the first kind: with a
# 1-day gap a renewal signed a week late is a churn and a win-back, which
# inflates churn; with 90 days a customer who left and came back two months
# later never left, and recent churns are not counted yet. Look at the days
# between an end and the next start in your own contracts before choosing.
#
# A business that invoices monthly should use a gap of about one billing
# period (31 days, the default); one with annual contracts and slow
# procurement may need 60–90. Set it once in the mapping:
# `settings: {renewal_gap_days: 45}`, and tell finance which definition the
# churn numbers use.
#
# </details>

# %% [markdown]
# #### Worked answer

# %% jupyter={"source_hidden": true}
both = sorted(set(WITHOUT["Seats__c"]) | set(WITHOUT["Segment events"]))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fitted = fit_renewal_model(past, model="cox", covariates=[
        c for c in data.covariates if c not in both], penalizer=0.1)
pair = evaluate_scores({"all columns": curves["all columns"], "without both":
                        model_churn_curves(fitted, past, horizon_months=12)}, split,
                       horizon_months=12, oracle="all columns", baseline="none", n_boot=0)
lost_both = pair.set_index("model").loc["without both", "oracle_gap"]
separate = cost.loc[["Seats__c", "Segment events"], "c_index_lost"].sum()
print(f"features lost: {', '.join(both)}")
print(f"c-index lost without both: {lost_both:.3f}; sum of the separate losses: "
      f"{separate:.3f}")

# %% [markdown]
# <details><summary>Discussion</summary>
#
# The costs need not add up. Both sources feed `active_seat_share_3m`
# (active users need the Segment events, the share needs the licensed seats),
# so losing either one already loses that feature: the second loss costs less
# than it did alone. Conversely, two features that stand in for each other
# (seats and tier both say "large customer") each look cheap alone, because
# the other one covers for it, and expensive together. Measure the
# combination you are actually deciding about, not the parts.
#
# </details>

# %% [markdown]
# ## 7. What to take away
#
# * Look at raw files before any tool: ids, time zones, locales, units and
#   custom fields differ in every company.
# * `tobmodel validate` reports every problem at once; each fix is one mapping
#   line, so next week's export works unchanged. Exit status 0 means usable.
# * The call list carries the CRM's own ids, names and owners: it goes back to
#   the people who act on it.
# * Missing optional columns cost accuracy, not correctness: measure the cost
#   on your own book with a time split, and fix the exports that matter.
#
# Next: notebook 14 runs this job every week and watches it.
