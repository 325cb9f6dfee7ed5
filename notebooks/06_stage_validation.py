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
# # 06 · Market validation stage (市场验证期): widen the funnel, reach break-even
#
# The product exists and the first customers pay. Now the company must prove the
# market: growth is **market-driven** (市场驱动). Operations widens the top of the
# funnel (more channels, more leads), converts them, wins the first renewals, and
# watches one question: **do paying customers fund the business yet?** In the source
# articles that is product-market fit (PMF): break-even.
#
# **Learning goals.** After this notebook you can
#
# 1. show how a validation-stage business widens its funnel, and what that does to
#    lead quality, channel by channel;
# 2. read a funnel (lead → phone qualification → visit/demo → signed) and find where
#    leads are lost;
# 3. fit a lead-scoring model with `tobmodel.leads` and use grades to keep sales on the
#    good leads while the volume grows;
# 4. compute unit economics per channel from the data (CAC, lifetime, LTV, payback)
#    and the month the business breaks even, and say how the answer depends on the
#    cost assumptions.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import tobmodel
from tobmodel import leads as L

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a bare kernel
threadpool_limits(1)  # one OpenMP thread: much faster model fits on a busy machine

sim = tobmodel.simulate("saas", "validation", n_accounts=1000, seed=6)
leads, accounts, contracts = sim.leads, sim.accounts, sim.contracts
AS_OF = sim.as_of
print(sim)
plt.show()

# %% [markdown]
# ## 1. Widening the funnel (扩大漏斗顶部)
#
# In validation the company buys reach: paid search (bidding, 竞价) is the fastest way
# to more leads, joined by events, offline business development (BD) and content.
# Leads per month by channel:

# %%
month = leads["created_date"].dt.to_period("M")
per_month = leads.groupby([month, "channel"], observed=True).size().unstack(fill_value=0)
ax = per_month.plot.area(stacked=True, linewidth=0)
ax.set_title("SaaS, validation stage: new leads per month by channel")
ax.set_xlabel("month the lead registered")
ax.set_ylabel("leads")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
total = per_month.sum(axis=1)
growth = total.iloc[-6:].sum() / total.iloc[:6].sum()
bidding_share = (leads["channel"] == "bidding").mean()
print(f"leads in the last six months: {growth:.1f} times the first six; "
      f"bidding brings {bidding_share:.0%} of all leads")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert growth > 1.8 and bidding_share > 0.35

# %% [markdown]
# ## 2. The funnel: where leads are lost
#
# `funnel_table` counts the closed leads (open ones left out) reaching each step:
# phone qualification (电话筛选), visit or demo with a pre-sales engineer (售前), signed.

# %%
funnel = L.funnel_table(leads)
fig, ax = plt.subplots()
ax = L.plot_funnel(funnel, ax=ax)
ax.set_title("Lead funnel, validation stage (closed leads)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
by_channel = L.funnel_table(leads, by="channel")
signed = by_channel[by_channel["step"] == by_channel["step"].max()].set_index("channel")
print(funnel[["step_name", "leads", "conversion_from_previous"]].round(2).to_string(index=False))
print(signed["conversion_from_first"].sort_values().round(3).to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert funnel["conversion_from_previous"].iloc[1:].idxmin() == funnel.index[-1]  # signing
assert signed["conversion_from_first"].idxmin() == "bidding"
assert signed.loc["referral", "conversion_from_first"] > 2 * signed.loc["bidding",
                                                                         "conversion_from_first"]

# %% [markdown]
# The biggest loss is the last step: most demos do not end in a contract, because the
# decision maker (决策者) is not convinced or a requirement is missing. And the channel
# that brings the most leads converts worst. Widening the funnel with bidding fills
# sales' calendars with leads that rarely sign, unless someone decides which leads
# come first.
#
# ## 3. Lead scoring keeps sales on the good leads
#
# Fit a lead model on leads created before July 2025 and test it on the newer ones.
# A calibrated logistic regression is a good first model in this stage: a few thousand
# leads, and the team can read it. (Notebook 11 compares models in depth.)

# %%
CUTOFF = AS_OF - pd.DateOffset(months=6) + pd.DateOffset(days=1)
train, test = L.time_split(leads, CUTOFF)
model = L.fit_lead_model(train, kind="logistic")
channel_only = L.fit_channel_baseline(train)
evaluation = L.evaluate_lead_model(model, test, truth=sim.truth["leads"],
                                   baselines={"channel only": channel_only})

# %% tags=["nbval-check-output"]
print(evaluation[["leads", "conversion_rate", "roc_auc", "top_decile_lift"]].astype(float).round(2))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert evaluation.loc["model", "roc_auc"] > evaluation.loc["channel only", "roc_auc"] + 0.05
assert evaluation.loc["oracle", "roc_auc"] - evaluation.loc["model", "roc_auc"] < 0.08

# %% [markdown]
# Now the practical view: the grade mix of the newest leads by channel. Grades come
# from the score (0-100, the share of past leads a lead beats): A ≥ 90, B ≥ 70,
# C ≥ 40, D below.

# %%
test_closed, y_test, _ = L.outcome_labels(test)
scored = model.score(test_closed, n_reasons=0).assign(channel=test_closed["channel"].to_numpy())
grade_mix = pd.crosstab(scored["channel"], scored["grade"], normalize="index")
ax = grade_mix[["A", "B", "C", "D"]].plot.barh(stacked=True)
ax.set_title("Grade mix of the newest leads, by channel")
ax.set_xlabel("share of the channel's leads")
ax.set_ylabel("channel")
ax.legend(title="grade", loc="lower right")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
ab = (grade_mix["A"] + grade_mix["B"]).sort_values()
ab_bidding = pd.Series(scored["grade"].isin(["A", "B"]).to_numpy()).groupby(
    scored["channel"].to_numpy()).sum()
share_of_ab_from_bidding = ab_bidding["bidding"] / ab_bidding.sum()
print(f"share of A/B leads: bidding {ab['bidding']:.0%}, referral {ab['referral']:.0%}; "
      f"yet bidding supplies {share_of_ab_from_bidding:.0%} of all A/B leads")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ab["bidding"] < min(0.5, ab["referral"])

# %% [markdown]
# Bidding is mostly C and D, but because it is so large it still supplies a real
# share of the good leads. Scoring lets the team keep buying reach without drowning
# sales: A and B leads go to sales the same day, C and D to nurturing.
#
# ## 4. Unit economics: is a customer worth what it costs?
#
# The data has revenue (ARR) and churn; costs come from finance. The numbers below are
# **assumptions** for this simulated company (CNY); change them and re-run.
#
# * **CAC** (customer acquisition cost, 获客成本) per channel = (lead cost × leads +
#   sales cost × deals) / customers won.
# * **Lifetime**: with a constant monthly churn rate *r* (churn events divided by
#   customer-months observed, which counts active customers correctly), a customer
#   stays 1/*r* months on average; capped at 60 months, as nobody plans further.
# * **LTV** (lifetime value) = monthly revenue × gross margin × lifetime.
# * **Payback** = CAC / monthly gross profit of one customer.

# %%
COST_PER_LEAD = pd.Series({"bidding": 400, "referral": 300, "content": 200, "events": 900,
                           "partner": 600, "offline_bd": 1500})  # CNY per lead
SALES_COST_PER_DEAL = pd.Series({"KA": 60_000, "mid": 15_000, "SMB": 3_000})  # visits, demos
GROSS_MARGIN = 0.80  # revenue minus hosting, support and customer success
FIXED_COST_PER_MONTH = 2_000_000  # product team, office, management
LIFETIME_CAP_MONTHS = 60


def unit_economics(sim, by="acquisition_channel"):
    """CAC, lifetime, LTV and payback per group of customers (assumed costs above)."""
    acc = sim.accounts
    sv = tobmodel.survival_view(sim).merge(acc[["account_id", by]], on="account_id")
    lead_spend = sim.leads["channel"].astype(str).map(COST_PER_LEAD).groupby(
        sim.leads["channel"].astype(str)).sum()
    deal_cost = acc["tier"].astype(str).map(SALES_COST_PER_DEAL).groupby(
        acc[by].astype(str)).sum()
    g = sv.groupby(sv[by].astype(str))
    out = pd.DataFrame({"customers": g.size(), "mean_arr": acc.groupby(acc[by].astype(str))["arr"]
                        .mean(), "monthly_churn": g["churned"].sum() / g["tenure_months"].sum()})
    out["cac"] = (lead_spend.reindex(out.index, fill_value=0) + deal_cost) / out["customers"]
    out["lifetime_months"] = np.minimum(1 / out["monthly_churn"], LIFETIME_CAP_MONTHS)
    monthly_gross_profit = out["mean_arr"] / 12 * GROSS_MARGIN
    out["ltv"] = monthly_gross_profit * out["lifetime_months"]
    out["ltv_to_cac"] = out["ltv"] / out["cac"]
    out["payback_months"] = out["cac"] / monthly_gross_profit
    return out


# %% tags=["nbval-check-output"]
ue = unit_economics(sim)
print(ue.round({"mean_arr": -3, "monthly_churn": 3, "cac": -2, "lifetime_months": 0,
                "ltv": -3, "ltv_to_cac": 1, "payback_months": 1}).sort_values("ltv_to_cac")
      .to_string())

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ue["ltv_to_cac"].idxmin() == "bidding" and ue["ltv_to_cac"].idxmax() == "referral"

# %% [markdown]
# A common rule of thumb asks for LTV/CAC above 3 and payback within a year or so.
# Referral (relationships) brings the biggest customers, who stay longest: the best
# LTV/CAC even though each of its deals is not cheap to close. Bidding wins small,
# price-sensitive customers with the lowest ARR. That does not mean "stop
# bidding": it is the only channel that scales quickly. It means "spend on bidding
# only as long as its LTV/CAC stays above the bar, and score its leads".
#
# ## 5. Break-even: product-market fit in money
#
# Every month: revenue in force (monthly recurring revenue, MRR: the ARR of contracts
# running that month, divided by 12) × gross margin, minus acquisition spend (leads
# bought and deals worked that month) and fixed costs.


# %%
def monthly_pnl(sim):
    """Monthly revenue, costs and profit from the data and the assumed costs above."""
    con, acc, ld = sim.contracts, sim.accounts, sim.leads
    months = pd.period_range(ld["created_date"].min(), sim.as_of, freq="M")
    mid = (months.to_timestamp() + pd.Timedelta(days=14)).to_numpy()
    running = ((con["start_date"].to_numpy()[:, None] <= mid[None, :])
               & (con["end_date"].to_numpy()[:, None] > mid[None, :]))
    mrr = (con["arr"].to_numpy()[:, None] / 12 * running).sum(axis=0)
    lead_spend = ld["channel"].astype(str).map(COST_PER_LEAD).groupby(
        ld["created_date"].dt.to_period("M")).sum().reindex(months, fill_value=0)
    deal_spend = acc["tier"].astype(str).map(SALES_COST_PER_DEAL).groupby(
        acc["first_contract_date"].dt.to_period("M")).sum().reindex(months, fill_value=0)
    pnl = pd.DataFrame({"mrr": mrr, "gross_profit": mrr * GROSS_MARGIN,
                        "acquisition": lead_spend.to_numpy() + deal_spend.to_numpy(),
                        "fixed": float(FIXED_COST_PER_MONTH)}, index=months)
    pnl["profit"] = pnl["gross_profit"] - pnl["acquisition"] - pnl["fixed"]
    pnl["cumulative_profit"] = pnl["profit"].cumsum()
    return pnl


def break_even_month(pnl):
    """First month from which monthly profit stays positive (None if not reached)."""
    negative = pnl["profit"].to_numpy() <= 0
    if negative[-1]:
        return None
    last_negative = np.flatnonzero(negative)
    return pnl.index[last_negative[-1] + 1 if len(last_negative) else 0]


pnl = monthly_pnl(sim)
fig, ax = plt.subplots()
x = pnl.index.to_timestamp()
ax.plot(x, pnl["gross_profit"] / 1e6, marker="o", label="gross profit from customers")
ax.plot(x, (pnl["acquisition"] + pnl["fixed"]) / 1e6, marker="s",
            label="acquisition + fixed costs")
ax.set_title("Validation stage: monthly gross profit against costs")
ax.set_xlabel("month")
ax.set_ylabel("million CNY per month")
ax.legend()
fig.autofmt_xdate()
plt.show()

# %% tags=["nbval-check-output"]
be = break_even_month(pnl)
months_to_be = (be - pnl.index[0]).n + 1
print(f"break-even (profit positive every month since): {be}, month {months_to_be} of "
      f"{len(pnl)}; cumulative result so far {pnl['cumulative_profit'].iloc[-1] / 1e6:.1f} "
      f"million CNY")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert be is not None and 6 < months_to_be < len(pnl)

# %% [markdown]
# With these assumptions the paying customers started to fund the business in the
# month printed above: by the definition in the domain guide, PMF is reached, and
# the company can move to the growth stage (发展期). The cumulative result is still the
# investment made on the way; it is paid back only if customers keep renewing, which is
# why renewal (续约) matters from the very first customers.
#
# ## 6. What operations does with this
#
# * Report the funnel and LTV/CAC **per channel** every month; move budget towards
#   channels above the bar, and cap the ones below it.
# * Score every lead; send A/B to sales, C/D to nurturing; check the grade mix of each
#   new channel or campaign before scaling it.
# * Track the monthly P&L against break-even, and the first renewals: the LTV above
#   assumes customers keep paying.
#
# ## Exercises
#
# **Exercise 1.** Bidding gets more expensive as the company buys more of it. With a
# cost per bidding lead of 1,000 CNY instead of 400, what is bidding's LTV/CAC, and
# when does the business break even?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
base_bidding_cost = COST_PER_LEAD["bidding"]
COST_PER_LEAD["bidding"] = 1_000
ue_dear, be_dear = unit_economics(sim), break_even_month(monthly_pnl(sim))
COST_PER_LEAD["bidding"] = base_bidding_cost  # restore the assumption
print(f"bidding LTV/CAC {ue.loc['bidding', 'ltv_to_cac']:.1f} -> "
      f"{ue_dear.loc['bidding', 'ltv_to_cac']:.1f}; break-even {be} -> {be_dear}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ue_dear.loc["bidding", "ltv_to_cac"] < min(3, ue.loc["bidding", "ltv_to_cac"])
assert be_dear is None or be_dear >= be

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Break-even moves later, and bidding's LTV/CAC falls below the bar of 3: the
# marketing team needs a ceiling on the price per lead, derived from this table.
#
# </details>
#
# **Exercise 2.** Customer success cuts the monthly churn rate of SMB customers by a
# third (training, faster ticket resolution). How does the LTV of an SMB customer
# change? Compute unit economics by tier.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
by_tier = unit_economics(sim, by="tier")
smb = by_tier.loc["SMB"]
better_lifetime = min(1 / (smb["monthly_churn"] * 2 / 3), LIFETIME_CAP_MONTHS)
ltv_better = smb["mean_arr"] / 12 * GROSS_MARGIN * better_lifetime
print(f"SMB: monthly churn {smb['monthly_churn']:.1%}, lifetime {smb['lifetime_months']:.0f} "
      f"months, LTV {smb['ltv']:,.0f} CNY; with a third less churn: lifetime "
      f"{better_lifetime:.0f} months, LTV {ltv_better:,.0f} CNY")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert ltv_better > smb["ltv"]

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# A third less churn is half again as much lifetime value (1/(2/3) = 1.5), without
# buying a single extra lead, unless the cap binds. Renewal work is acquisition
# work by other means.
#
# </details>
#
# **Exercise 3.** The sales team can work only 40% of the newest leads. Back-test on the
# test leads: how many of the customers would they reach calling in score order,
# compared with calling at random?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
gains = L.gains_table(y_test, scored["p_convert"].to_numpy(), n_bins=5)
reach_40 = gains.loc[gains["cum_lead_share"].round(2) == 0.4, "cum_conversion_share"].iloc[0]
print(f"calling the best 40% of leads reaches {reach_40:.0%} of the customers; at random, 40%")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert reach_40 > 0.55
