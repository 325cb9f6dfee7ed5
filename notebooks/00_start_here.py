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
# # 00 · Start here: how a to-B business grows, in data
#
# You have just joined the operations team (运营) of a company that sells to
# other businesses ("to B"). This notebook is the map: it explains the loop every
# to-B business runs, shows it in numbers on a simulated business, and points to
# the notebooks that go deeper.
#
# **Learning goals.** After this notebook you can
#
# 1. name the three core functions of to-B operations — acquisition (拉新 / 获客),
#    paid conversion (付费转化), customer success (客户成功) — and the renewal
#    (续约) that closes the loop, and read each one off the data tables;
# 2. explain why to-B is not to-C with bigger customers: the AARRR funnel against
#    the VABS model, and the **decision chain** (decision maker, user, requester);
# 3. show from lead data that engaging the decision maker changes conversion,
#    and why you must compare within a channel before believing it;
# 4. pick the north-star metric (北极星指标) for each business type —
#    platform, SaaS/service, hardware, tool — and compute it;
# 5. find your way around the other notebooks and the Chinese terms used in them.
#
# All data here is **simulated** by `tobmodel.simulate`, so we also know the
# truth behind it; the real tables you will meet at work have the same columns
# (see `data/README.md`).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import tobmodel
from tobmodel.datasets import load_business

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
RNG = np.random.default_rng(0)  # seeded; used only in the exercises

sims = {bt: load_business(bt) for bt in ("platform", "saas", "hardware", "tool")}
saas = sims["saas"]
AS_OF = saas.as_of
print(saas)

# %% [markdown]
# ## 1. The to-B loop: 获客 → 付费转化 → 客户成功 → 续约
#
# Every to-B operation is built from three functions, and renewal closes the loop:
#
# | step | Chinese | what happens | where it shows in the data |
# |---|---|---|---|
# | acquisition | 拉新 / 获客 | channels (search ads, referrals, events…) bring prospects who leave their details (留资) | one row in `leads` per registration |
# | qualification | 电话筛选 | a phone call checks intent, budget and company fit | `leads.qualified_date` |
# | engagement | 拜访 / 演示 / 试用 | sales visit with a pre-sales engineer, a demo, or an active trial | `leads.engaged_date` |
# | paid conversion | 付费转化 / 成交 | the contract is signed | `leads.status == "converted"`, a new row in `accounts` |
# | customer success | 客户成功 | onboarding, training, support, showing value | `accounts.onboarding_completed`, `usage`, `support` |
# | renewal | 续约 / 续费 | the customer pays again at the end of the contract | `contracts.outcome == "renewed"` |
#
# Leads that drop out go to the **loss pool** (流失用户池); some come back later
# (`leads.reengaged_from_loss_pool`). Happy customers bring referrals, which are
# the best leads — that is how the loop feeds itself.
#
# Let us count each step for the shipped SaaS business (about 800 customers,
# six years of history, maturity stage).

# %%
leads, contracts, accounts = saas.leads, saas.contracts, saas.accounts
sv = tobmodel.survival_view(saas)  # one row per customer: tenure and churn
# plot labels stay in English: the plotting font has no Chinese glyphs
loop = pd.Series({
    "leads": len(leads),
    "qualified by phone": int(leads["qualified_date"].notna().sum()),
    "visit / demo / trial": int(leads["engaged_date"].notna().sum()),
    "customers (signed)": len(accounts),
    "renewed at least once": int((sv["periods_completed"] >= 1).sum()),
    "still customers at as_of": int((sv["churned"] == 0).sum()),
}, name="count")
loop_table = loop.to_frame().assign(share_of_leads=(loop / loop.iloc[0]).round(3))
loop_table

# %% tags=["checks"] jupyter={"source_hidden": true}
assert loop.is_monotonic_decreasing, "each step of the loop keeps a subset of the previous"

# %% tags=["nbval-check-output"]
lead_to_customer = loop["customers (signed)"] / loop["leads"]
renewed_share = loop["renewed at least once"] / loop["customers (signed)"]
print(f"{lead_to_customer:.0%} of leads became customers; "
      f"{renewed_share:.0%} of customers renewed at least once.")

# %% [markdown]
# The sentence above is the whole business in two numbers: out of every hundred
# people who leave their details, a small minority ever pays, and most of those
# who pay renew. Renewal is "second revenue at far lower cost than a new
# customer", which is why the renewal rate is treated as the health of a SaaS
# business.

# %%
fig, ax = plt.subplots()
y = np.arange(len(loop))[::-1]
ax.barh(y, loop.to_numpy(), color=["#9ecae1"] * 3 + ["#3182bd"] + ["#31a354"] * 2)
for yi, v, s in zip(y, loop.to_numpy(), loop_table["share_of_leads"]):
    _ = ax.text(v, yi, f"  {v:,} ({s:.0%})", va="center")
ax.set_yticks(y, loop.index)
ax.set_xlim(0, loop.iloc[0] * 1.3)
ax.set_xlabel("number of leads / customers")
ax.set_title("The to-B loop in numbers (simulated SaaS business, maturity stage)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Why to-B is not to-C
#
# A consumer app grows along the **AARRR** ("pirate") funnel: Acquisition,
# Activation, Retention, Revenue, Referral. One person decides, in minutes, and
# the operator's job is traffic and habit.
#
# The domain guide (`docs/domain.md`) uses **VABS** for to-B operations instead,
# because a company pays only for value it can see:
#
# | letter | meaning | Chinese | what operations does |
# |---|---|---|---|
# | V | Value | 价值 | state what the product changes for the customer's business |
# | A | Application | 应用 | know how the customer actually uses it, scenario by scenario |
# | B | Benefit | 收益 | quantify it: cost down, efficiency up, revenue up (降本增效营收) |
# | S | Service | 服务 | onboarding, training, fast issue resolution — the road to renewal |
#
# Three facts make to-B different, and the data shows each of them:
#
# * **Buying takes a month or more** and runs through steps (qualification,
#   visit, demo, contract).
# * **Several people decide** — the *decision chain*: the **decision maker**
#   (the boss: earn more, spend less), the **user** (the employee: does it work,
#   is it pleasant) and the **requester** (the department head: scenarios, value).
# * **Customers differ enormously in size**: key accounts (KA, 大客户) against
#   small businesses (SMB, 中小客户).
#
# What size changes, in the simulator as in real books of business:
#
# * A **key account** that has paid rarely leaves before its contract ends, even
#   when unhappy: switching mid-term wastes money already spent. Its churn shows
#   at the **renewal date**. In-product usage says little about it; its
#   customer-success manager sees its health directly.
# * A **small customer** is price-sensitive and served at scale: self-service
#   help, tickets (工单) and chat bots. Its in-product behaviour (埋点, tracking)
#   is the main early warning: usage falls before it leaves.
# * **When self-service fails, the case escalates**: a bot that fails to solve a
#   problem three times in a row hands the customer to a ticket or to a person,
#   depending on the customer's tier. Unresolved problems raise churn risk.
# * After a deal, customers leave for two main reasons: the product cannot meet
#   their needs (often because sales **over-promised**, 过度承诺, to close) or a
#   **competitor poaches** them (竞品撬单).
#
# The full list, with how each business type trials and activates, is in the
# domain guide (`docs/domain.md`); every term is defined in `docs/glossary.md`.

# %% tags=["nbval-check-output"]
converted = leads["status"] == "converted"
days_to_close = (leads["outcome_date"] - leads["created_date"]).dt.days[converted]
tier_arr = accounts.groupby("tier", observed=True)["arr"].agg(["size", "sum"])
ka_customer_share = tier_arr.loc["KA", "size"] / tier_arr["size"].sum()
ka_arr_share = tier_arr.loc["KA", "sum"] / tier_arr["sum"].sum()
print(f"median days from lead to signed contract: {days_to_close.median():.0f}")
print(f"key accounts: {ka_customer_share:.0%} of customers, {ka_arr_share:.0%} of ARR")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert days_to_close.median() > 30
assert ka_arr_share > 2 * ka_customer_share

# %% [markdown]
# ### The decision chain changes conversion
#
# Each lead records which roles of the decision chain took part in the calls.
# Compare the conversion rate of leads where the decision maker (the boss) was
# engaged with those where only others were.

# %%
roles = ["decision_maker_engaged", "user_engaged", "requester_engaged"]
by_dm = leads.groupby("decision_maker_engaged")["status"].agg(
    leads="size", conversion=lambda s: (s == "converted").mean())
by_dm.round(3)

# %% tags=["nbval-check-output"]
conv_dm, conv_no_dm = by_dm.loc[True, "conversion"], by_dm.loc[False, "conversion"]
print(f"conversion with the decision maker engaged: {conv_dm:.1%}; without: {conv_no_dm:.1%} "
      f"({conv_dm / conv_no_dm:.1f} times as high)")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert conv_dm > 2 * conv_no_dm

# %% [markdown]
# Careful: that ratio mixes two things. Decision makers are engaged far more often
# on **referral** and **offline BD** leads, which convert better anyway. A fair
# comparison holds the channel fixed. The table and plot below compare within each
# channel; the gap stays large in every one, so engaging the boss matters on
# its own (and in the simulator it does: it enters the true conversion
# probability directly).

# %%
within = (leads.assign(converted=converted)
          .groupby(["channel", "decision_maker_engaged"], observed=True)["converted"].mean()
          .unstack().rename(columns={False: "without decision maker", True: "with decision maker"}))
dm_share = leads.groupby("channel", observed=True)["decision_maker_engaged"].mean()
within["share of leads with decision maker"] = dm_share
within.round(3)

# %%
ax = within[["without decision maker", "with decision maker"]].plot.bar(rot=0)
ax.set_ylabel("share of leads that became customers")
ax.set_xlabel("acquisition channel")
ax.set_title("Conversion by channel, with and without the decision maker engaged")
plt.tight_layout()
plt.show()

# %% tags=["checks"] jupyter={"source_hidden": true}
assert (within["with decision maker"] > within["without decision maker"]).all()

# %% [markdown]
# More roles engaged means a better chance: the whole chain has to agree.

# %% tags=["nbval-check-output"]
n_roles = leads[roles].sum(axis=1).rename("roles engaged")
by_roles = converted.groupby(n_roles).agg(["size", "mean"]).rename(
    columns={"size": "leads", "mean": "conversion"})
print(by_roles.round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_roles["conversion"].is_monotonic_increasing


# %% [markdown]
# **What operations does with this.** When a phone qualification finds interest
# but no decision maker, the next action is not "send the contract" but "get a
# meeting with the boss" (sales visit, a case study showing 降本增效). Lead
# scoring (notebooks 01–04, 11) puts `decision_maker_engaged` next to budget,
# intent and channel to rank leads for the sales team.
#
# ## 3. North-star metrics (北极星指标) by business type
#
# A north-star metric is the one number that best says "customers get value and
# the business grows". It differs by operating model:
#
# | type | loop | north star used in these notebooks |
# |---|---|---|
# | platform (marketplace merchants) | acquire free → serve → earn commission | merchants active this month |
# | SaaS / service | acquire → pay → serve → pay again | ARR in force and the renewal rate |
# | hardware | acquire and pay together → serve → repurchase | repeat-order rate |
# | tool (free trial, then paid) | acquire → serve (trial) → pay | trial-to-paid conversion and paying users |
#
# Here they are for the four shipped businesses, each as of the same date.

# %%
def customers_active_last_month(sim):
    """Customers with at least one login in the last full month."""
    u = sim.usage
    return u.loc[(u["month"] == u["month"].max()) & (u["logins"] > 0), "account_id"].nunique()


def contract_renewal_rate(sim, months=12):
    """Share of contract periods ending in the last `months` months that renewed."""
    c = sim.contracts
    ended = c[(c["end_date"] > sim.as_of - pd.DateOffset(months=months)) & (c["end_date"] <= sim.as_of)]
    return (ended["outcome"] == "renewed").mean()


def repeat_order_rate(sim, months=12):
    """Share of customers whose first order is > `months` old that have ordered again."""
    orders = sim.contracts.groupby("account_id")["start_date"].agg(["min", "size"])
    old = orders[orders["min"] <= sim.as_of - pd.DateOffset(months=months)]
    return (old["size"] >= 2).mean()


def trial_to_paid(sim):
    """Share of leads with an active trial (engaged) that became paying customers."""
    lead = sim.leads
    trial = lead["engaged_date"].notna()
    return (lead.loc[trial, "status"] == "converted").mean()


open_c = {bt: s.contracts[s.contracts["outcome"] == "open"] for bt, s in sims.items()}
north_star = pd.DataFrame([
    ("platform", "merchants active in the last month", customers_active_last_month(sims["platform"])),
    ("saas", "ARR in force (million CNY)", open_c["saas"]["arr"].sum() / 1e6),
    ("saas", "contract renewal rate, last 12 months", contract_renewal_rate(saas)),
    ("hardware", "repeat-order rate (first order > 12 months ago)", repeat_order_rate(sims["hardware"])),
    ("tool", "trial-to-paid conversion", trial_to_paid(sims["tool"])),
    ("tool", "paying users (open subscriptions)", open_c["tool"]["account_id"].nunique()),
], columns=["business type", "north-star metric", "value"])

# %% tags=["nbval-check-output"]
print(north_star.round(3).to_string(index=False))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert 0 < north_star["value"].iloc[2] <= 1 and 0 < north_star["value"].iloc[3] <= 1

# %% [markdown]
# Before comparing these numbers, ask "per what?". The SaaS renewal rate is per
# *contract period*, and it blends two kinds of period: a customer on a monthly
# term faces a renewal decision twelve times a year, a customer on an annual term
# once. Compounding the blended rate twelve times would treat every customer as
# monthly; split it by term first, then turn each into a yearly figure.

# %% tags=["nbval-check-output"]
c = saas.contracts
ended = c[(c["end_date"] > AS_OF - pd.DateOffset(months=12)) & (c["end_date"] <= AS_OF)]
term_of = ended["account_id"].map(accounts.set_index("account_id")["contract_term"])
by_term = (ended["outcome"] == "renewed").groupby(term_of, observed=True).mean()
monthly_share = (accounts["contract_term"] == "monthly").mean()
print(f"blended: {north_star['value'].iloc[2]:.1%} of contract periods renewed in the last 12 months")
print(f"monthly terms ({monthly_share:.0%} of customers): {by_term['monthly']:.1%} per month, "
      f"so {by_term['monthly'] ** 12:.0%} of them stay a whole year")
print(f"annual terms: {by_term['annual']:.1%} renew at their yearly renewal date")

# %% [markdown]
# Exercise 1 below measures the yearly figure directly. Each business-type
# notebook (01–04) follows its north star over time.
#
# ## 4. Glossary (术语表)
#
# The main terms; the complete glossary, with the statistical terms used from
# notebook 01 on (c-index, Brier score, top-decile lift, strata, ...), is
# `docs/glossary.md`.
#
# | English | Chinese | meaning in this project |
# |---|---|---|
# | to-B | to B / 企业服务 | selling to companies rather than consumers |
# | operations | 运营 | the team that builds and keeps customer relationships, between marketing and sales |
# | acquisition, lead generation | 拉新 / 获客 | channels that bring prospects |
# | leaving contact details | 留资 | a prospect registers: one row in `leads` |
# | lead | 线索 | a prospect who registered; scored by the lead model |
# | paid conversion | 付费转化 / 成交 | lead → paying customer |
# | customer service / success | 客户服务 / 客户成功 | onboarding, training, support, health checks |
# | renewal | 续约 / 续费 | paying again at contract end |
# | churn | 流失 | not renewing; on a platform, going inactive; in hardware, no repurchase |
# | loss pool | 流失用户池 | lost leads and customers who may come back |
# | key account / small business | 大客户 (KA) / 中小客户 (SMB) | size tiers; they churn for different reasons |
# | decision chain | 决策链 | decision maker (老板), user (使用者), requester (需求方 / 部门负责人) |
# | north-star metric | 北极星指标 | the one number that says the business delivers value |
# | in-product tracking | 埋点 | usage events; the early churn warning for small customers |
# | bidding / SEM | 竞价 / 搜索广告 | paid search: many leads, lower quality |
# | pre-sales engineer | 售前 | runs demos and solution design with sales |
# | lifecycle stage | 产品生命周期 | development, validation, growth, maturity, decline |
# | product-market fit | PMF | here: paying customers fund the business (break-even) |
# | cost down, efficiency up, revenue up | 降本增效营收 | the benefits a customer must see to renew |
#
# ## 5. Map of the notebooks
#
# | notebook | what you learn |
# |---|---|
# | `00_start_here` | this overview: the loop, to-B vs to-C, north stars, glossary |
# | `01_business_platform` | marketplace merchants: active merchants, churn as going inactive |
# | `02_business_saas` | subscription software: ARR, renewal by tier, churn scores for the CSM team |
# | `03_business_hardware` | equipment sold per order: repeat orders, who has stopped buying |
# | `04_business_tool` | free trial then paid: trial-to-paid conversion, paying users |
# | `05_stage_development` | 产品开发期: research along the decision chain, pilot customers |
# | `06_stage_validation` | 市场验证期: widening the funnel, reaching break-even |
# | `07_stage_growth` | 发展期: new modules, cross-sell, product-driven growth |
# | `08_stage_maturity` | 成熟期: word of mouth and renewals |
# | `09_stage_decline` | 衰退期: competitors, churn, win-back |
# | `10_renewal_in_depth` | censoring, Kaplan-Meier, Cox, sBG and discrete-time hazards, calibration, conditional scores vs the truth |
# | `11_lead_quality_in_depth` | lead models, calibration, grades, reasons, sales capacity |
# | `12_weekly_export` | the weekly churn-score export: files, SQLite, history, safe writes |
# | `13_dynamic_churn` | person-months, a dynamic hazard model, honest grading against the oracle and the observable ceiling, churn by cause |
# | `14_watching_the_weekly_job` | drift, movers, the weekly report, when to refit, measuring what customer success did with a hold-out |
# | `15_your_own_data` | your own Salesforce + Zendesk + Segment exports: validate, fix with a mapping file, fit, the call list by CRM id, what each missing column costs |
#
# Start with the business type closest to your company (01–04), then the
# lifecycle stage it is in (05–09).
#
# ## 6. Exercises
#
# **Exercise 1.** The SaaS renewal rate above is per contract period, and most
# small customers are on monthly terms. Compute the share of SaaS customers who
# were customers 12 months before as_of and are still customers at as_of
# (12-month logo retention), separately for KA, mid and SMB. Which tier needs
# the customer-success team most?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
a_year_ago = AS_OF - pd.DateOffset(months=12)
cohort = sv[sv["start_date"] <= a_year_ago].merge(accounts[["account_id", "tier"]], on="account_id")
alive_then = cohort[cohort["end_date"] > a_year_ago]
retention_12m = (alive_then["churned"] == 0).groupby(alive_then["tier"], observed=True).mean()
overall = (alive_then["churned"] == 0).mean()
print(retention_12m.rename("12-month logo retention").round(3))
print(f"all tiers: {overall:.1%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert retention_12m["KA"] > retention_12m["SMB"]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Small customers (SMB) keep the lowest share: they are price-sensitive, mostly
# on monthly terms and served by self-service, so their in-product behaviour is
# the early warning. Key accounts rarely leave mid-contract; when they do, it
# shows at the renewal date. Notebook 02 turns this into per-customer churn
# scores.
#
# </details>
#
# **Exercise 2.** Bidding (paid search, 竞价) brings the most leads. Compare
# bidding with referral leads: share of all leads, conversion rate, and the
# average first-year ARR of the customers each channel brought. If the sales
# team can only call half of this month's leads, what does this suggest?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% tags=["nbval-check-output"] jupyter={"source_hidden": true}
by_channel = pd.DataFrame({
    "share_of_leads": leads["channel"].value_counts(normalize=True),
    "conversion": converted.groupby(leads["channel"], observed=True).mean(),
    "mean_arr_per_customer": accounts.groupby("acquisition_channel", observed=True)["arr"].mean(),
}).loc[["bidding", "referral"]]
print(by_channel.round(3))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_channel.loc["referral", "conversion"] > by_channel.loc["bidding", "conversion"]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Referral leads are fewer but convert far better and come from larger
# companies. Calling half the leads at random wastes calls on bidding leads that
# rarely convert; ranking leads by a model (channel, decision maker, budget,
# intent…) and calling the top half first wins more customers with the same
# team. Notebook 11 computes exactly how many more.
#
# </details>
#
# **Exercise 3.** Draw 200 leads at random (use `RNG`) and estimate the
# decision-maker effect from them alone. How far is it from the full-data
# ratio? What does that tell you about reading conversion rates from a small
# month of leads?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
sample = leads.iloc[RNG.choice(len(leads), size=200, replace=False)]
s_conv = (sample["status"] == "converted").groupby(sample["decision_maker_engaged"]).mean()
print(f"sample of 200: with {s_conv[True]:.1%}, without {s_conv[False]:.1%}; "
      f"full data: with {conv_dm:.1%}, without {conv_no_dm:.1%}")
# A binomial standard error on ~100 leads per group is about sqrt(p(1-p)/100):
se = np.sqrt(conv_dm * (1 - conv_dm) / (sample["decision_maker_engaged"].sum()))
print(f"standard error of the 'with' rate in the sample: about {se:.1%}")

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# With a couple of hundred leads the rates move by several percentage points
# from sample to sample; a month's difference of that size is noise. Look at
# longer windows, confidence intervals, or a model that pools information
# across channels and sizes.
#
# </details>
