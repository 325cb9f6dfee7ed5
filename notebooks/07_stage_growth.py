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
# # 07 · Growth stage (发展期): product-driven growth, expansion and cohorts
#
# After product-market fit the company grows fast, and the growth becomes
# **product-driven** (产品驱动): serving customers reveals new needs, those needs
# become new modules, and existing customers buy them (cross-sell, 交叉销售; upsell,
# 增购). The product grows into a complete solution for a vertical. The revenue of
# existing customers then grows on its own: the number that shows it is **net revenue
# retention** (NRR, 净收入留存).
#
# **Learning goals.** After this notebook you can
#
# 1. show that in the growth stage revenue grows faster than the customer count, and
#    why that means existing customers are buying more;
# 2. measure expansion from the contracts table, and compute gross and net revenue
#    retention (GRR, NRR) with `tobmodel.renewal`;
# 3. find the customers most likely to buy a new module (the ones who use the product
#    most) and hand the list to account managers;
# 4. build a cohort retention table and heatmap and read it: row by row, column by
#    column, and along the diagonal.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import tobmodel
from tobmodel.renewal import (book_by_period, build_account_features, cohort_retention_table,
                              plot_cohort_heatmap, plot_revenue_retention, revenue_retention)

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a bare kernel

growing = tobmodel.simulate("saas", "growth", n_accounts=1500, seed=7)
mature = tobmodel.simulate("saas", "maturity", n_accounts=1500, seed=7)
AS_OF = growing.as_of
print(growing)

# %% [markdown]
# ## 1. Revenue grows faster than customers
#
# Index the annual recurring revenue (ARR) in force and the number of customers to 100
# three years ago, and follow both quarter by quarter. `book_by_period` keeps this book
# for any business type: per quarter, the customers in force at its start and end, the
# new and churned customers, the churn rate, and the ARR in force at the quarter end.

# %%
# the customer book per quarter: customers and ARR in force at each quarter end
book = book_by_period(growing, freq="Q")
quarters = book[["customers_at_end", "arr_at_end"]].rename(
    columns={"customers_at_end": "customers", "arr_at_end": "arr"}).iloc[-13:]
index = 100 * quarters / quarters.iloc[0]
ax = index.rename(columns={"customers": "customers in force", "arr": "ARR in force"}).plot(
    marker="o")
ax.set_title("Growth stage: ARR and customers in force (index, 100 = three years ago)")
ax.set_xlabel("quarter")
ax.set_ylabel("index")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
arr_per_customer = quarters["arr"] / quarters["customers"]
rise = arr_per_customer.iloc[-1] / arr_per_customer.iloc[0] - 1
print(f"over three years: customers x{index['customers'].iloc[-1] / 100:.1f}, ARR "
      f"x{index['arr'].iloc[-1] / 100:.1f}; ARR per customer {rise:+.0%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert index["arr"].iloc[-1] > index["customers"].iloc[-1] and rise > 0.1

# %% [markdown]
# More customers explain most of the growth, but ARR per customer rises too. The
# customer mix could do that (more key accounts), or customers could pay more each
# year. The contracts table tells which.
#
# ## 2. Expansion in the contracts table
#
# Each row of `contracts` is one contract period with its ARR. When a customer adds
# seats or a module, the next period's ARR is higher. Compare each customer's ARR at
# its latest period with its first, per year of tenure.

# %%
features = build_account_features(growing)
periods = growing.contracts.sort_values(["account_id", "period"])
first_arr = periods.groupby("account_id")["arr"].first()
last_arr = periods.groupby("account_id")["arr"].last()
years = np.floor(features.set_index("account_id")["tenure_months"] / 12)
expansion = (np.log(last_arr / first_arr) / years)[years >= 1].rename("yearly_arr_growth")
expanders = features.set_index("account_id").loc[expansion.index].assign(
    yearly_arr_growth=np.expm1(expansion))

fig, ax = plt.subplots()
ax.hist(expanders["yearly_arr_growth"], bins=30, color="tab:green")
ax.set_title("Growth stage: yearly ARR growth of customers with a year or more of tenure")
ax.set_xlabel("ARR growth per year (0.1 = +10%)")
ax.set_ylabel("customers")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
median_growth = expanders["yearly_arr_growth"].median()
share_growing = (expanders["yearly_arr_growth"] > 0.01).mean()
print(f"{share_growing:.0%} of customers with a year of tenure pay more than when they "
      f"started; median growth {median_growth:.0%} a year")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert share_growing > 0.8 and median_growth > 0.08

# %% [markdown]
# ## 3. Gross and net revenue retention
#
# Take the customers at the start of a year and their ARR. One year later:
#
# * **GRR** (gross revenue retention) = (start ARR − ARR lost to churn − ARR lost to
#   downgrades) / start ARR. At most 100%: it measures how well the base holds.
# * **NRR** (net revenue retention) = ARR of the *same* customers a year later / start
#   ARR, including expansion. Above 100% means the existing base grows even after
#   churn, without one new customer.
#
# `revenue_retention` computes both from the contracts, for every year with a full
# year after it. Compare the growth-stage business with the mature one.

# %%
rr = {"growth": revenue_retention(growing), "maturity": revenue_retention(mature)}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3), sharey=True)
for ax, (stage, table) in zip(axes, rr.items()):
    ax = plot_revenue_retention(table, ax=ax)
    _ = ax.set_title(f"{stage} stage: GRR and NRR by year")
plt.tight_layout()

# %% tags=["nbval-check-output"]
last = pd.DataFrame({stage: t.iloc[-1][["period", "accounts", "grr", "nrr"]]
                     for stage, t in rr.items()}).T
last["expansion_share"] = [t.iloc[-1]["expansion_arr"] / t.iloc[-1]["start_arr"]
                           for t in rr.values()]
print(last.assign(grr=last["grr"].astype(float).round(3), nrr=last["nrr"].astype(float).round(3),
                  expansion_share=last["expansion_share"].astype(float).round(3)))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert last.loc["growth", "nrr"] > last.loc["maturity", "nrr"]
assert last.loc["growth", "nrr"] - last.loc["growth", "grr"] > 0.1

# %% [markdown]
# Both businesses lose a similar share of ARR to churn (GRR), but the growth-stage
# business wins a much larger share back from the customers who stay (the gap
# between NRR and GRR is expansion). This is the signature of product-driven growth:
# new modules sold to the existing base. In a mature business the product is
# complete and expansion is small, so growth must come from renewals and word of mouth
# (notebook 08).
#
# ## 4. Who buys the next module?
#
# Customers who already get value from the product are the ones who buy more of it.
# The features table measures value in use with in-product tracking (埋点): the share
# of seats active and the adoption of the key feature over the last three months.

# %%
adoption_quartile = pd.qcut(expanders["key_feature_adoption_3m"], 4,
                            labels=["lowest 25%", "25-50%", "50-75%", "highest 25%"])
by_adoption = expanders.groupby(adoption_quartile, observed=True)["yearly_arr_growth"].agg(
    ["size", "mean"])
ax = by_adoption["mean"].plot.bar(rot=0, color="tab:green")
ax.set_title("Yearly ARR growth by key-feature adoption (last 3 months)")
ax.set_xlabel("key-feature adoption, quarter of customers")
ax.set_ylabel("mean ARR growth per year")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(by_adoption.round(3))
top_vs_bottom = by_adoption["mean"].iloc[-1] - by_adoption["mean"].iloc[0]
print(f"customers with the highest adoption grow their ARR {top_vs_bottom:.1%} points a "
      f"year faster than those with the lowest")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert top_vs_bottom > 0.02

# %% [markdown]
# So the cross-sell list for account managers starts from usage, not from size: active
# customers whose key-feature adoption and seat usage are high, with an annual renewal
# coming up (the natural moment to add a module to the contract).

# %%
active = features[features["active"]].copy()
active["value_in_use"] = (active["key_feature_adoption_3m"].rank(pct=True)
                          + active["active_seat_share_3m"].rank(pct=True)) / 2
cross_sell = (active[(active["contract_term"] == "annual")
                     & (active["months_to_next_renewal"] <= 3)]
              .sort_values("value_in_use", ascending=False).head(10))
cross_sell[["account_id", "tier", "arr", "next_renewal_date", "key_feature_adoption_3m",
            "active_seat_share_3m", "value_in_use"]].round(2).reset_index(drop=True)

# %% [markdown]
# ## 5. Cohort retention: the table every SaaS board asks for
#
# Group customers by the quarter they signed (the **cohort**) and show, for each
# cohort, the share still customers 3, 6, 9… months later. Cells that cannot be
# observed yet stay empty: the triangle.

# %%
view = tobmodel.survival_view(growing)
cohorts = cohort_retention_table(view, freq="Q", step_months=3).iloc[-12:, :9]
ax = plot_cohort_heatmap(cohorts)
ax.set_title("Growth stage: share of each quarterly cohort still customers")
ax.set_xlabel("months since first contract")
ax.set_ylabel("quarter of first contract (cohort)")
plt.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print(cohorts.round(2).iloc[-8:, :7])
drop_at_12 = (cohorts[9] - cohorts[12]).mean()
drop_at_6 = (cohorts[3] - cohorts[6]).mean()
print(f"mean drop from month 9 to 12: {drop_at_12:.1%}; from month 3 to 6: {drop_at_6:.1%}")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert drop_at_12 > 2 * drop_at_6


# %% [markdown]
# How to read it:
#
# * **along a row**: one cohort's life. The big step between months 9 and 12 is the
#   first annual renewal (续约): annual customers can only leave then.
# * **down a column**: the same age, for younger and younger cohorts. If the shares
#   in a column rise downwards, newer customers are retained better: onboarding,
#   product and targeting are improving. If they fall, something broke (often: the
#   widened funnel brings customers who fit less well).
# * **along a diagonal**: the same calendar quarter for every cohort; a calendar
#   shock (a competitor's campaign, a price change) shows as a diagonal stripe.
#
# ## 6. What operations does with this
#
# * Report **NRR and GRR** every quarter next to new ARR; in the growth stage NRR above
#   100% is the sign that new modules are landing.
# * Feed the cross-sell list to account managers before each annual renewal; feed what
#   customer success hears (new needs) to product: that is where the next module
#   comes from.
# * Watch the **cohort table column by column**: rapid growth can hide that newer
#   cohorts retain worse.
#
# ## Exercises
#
# **Exercise 1.** Compute NRR and GRR of the last full year separately for key accounts
# and small businesses (SMB). Hint: `revenue_retention` accepts a dict of tables; keep
# only the rows of the accounts of one tier in each table.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
def tables_for(sim, account_ids):
    """The simulation's tables restricted to some accounts."""
    return {name: df[df["account_id"].isin(account_ids)] for name, df in sim.tables.items()
            if "account_id" in df.columns}


by_tier = {}
for tier in ["KA", "SMB"]:
    ids = growing.accounts.loc[growing.accounts["tier"] == tier, "account_id"]
    by_tier[tier] = revenue_retention(tables_for(growing, ids), as_of=AS_OF).iloc[-1][
        ["grr", "nrr"]].astype(float)
by_tier = pd.DataFrame(by_tier).T
print(by_tier.round(3))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_tier.loc["KA", "grr"] > by_tier.loc["SMB", "grr"] and by_tier.loc["KA", "nrr"] > 1

# %% [markdown]
# <details><summary>Discussion of the answer</summary>
#
# Key accounts hold their revenue much better (GRR), and their expansion pushes NRR
# above 100%. SMB NRR is pulled down by churn: for small customers, the first job
# is keeping them, the second selling them more.
#
# </details>
#
# **Exercise 2.** Build the cohort table by **year** of first contract with
# `counts=True`. How many customers of the oldest full cohort are still customers
# after 24 months?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
yearly = cohort_retention_table(view, freq="Y", step_months=12, counts=True)
print(yearly)
oldest = yearly.index[0]
print(f"cohort {oldest}: {yearly.attrs['cohort_size'][oldest]} customers, "
      f"{yearly.loc[oldest, 24]:.0f} still customers after 24 months")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert yearly.loc[oldest, 24] <= yearly.attrs["cohort_size"][oldest]

# %% [markdown]
# **Exercise 3.** How much ARR did expansion add in the last full year, and how much
# lower would the ARR of those customers be today without it?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
year = rr["growth"].iloc[-1]
print(f"{year['period']}: start ARR {year['start_arr'] / 1e6:.1f} M, lost to churn "
      f"{year['churned_arr'] / 1e6:.1f} M, expansion {year['expansion_arr'] / 1e6:.1f} M; "
      f"without expansion the same customers would bring "
      f"{(year['end_arr'] - year['expansion_arr']) / 1e6:.1f} M instead of "
      f"{year['end_arr'] / 1e6:.1f} M")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert year["expansion_arr"] > 0.5 * year["churned_arr"]
