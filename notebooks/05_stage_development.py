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
# # 05 · Product development stage (产品开发期): research along the decision chain
#
# In the product lifecycle model (产品生命周期) a to-B product passes five stages:
# development (产品开发期), market validation (市场验证期), growth (发展期),
# maturity (成熟期) and decline (衰退期). This notebook is the first of five, one per
# stage. In the development stage there is no finished product yet, so there is no
# user growth and no revenue to speak of. Operations has two jobs: **market and
# competitor research**, and **user research along the customer's decision chain
# (决策链)**: a business does not buy because one person likes the product.
#
# **Learning goals.** After this notebook you can
#
# 1. name the three roles of the decision chain and what each one cares about;
# 2. describe the data that exists before launch: research contacts and a handful of
#    pilot customers, and measure how little of it there is;
# 3. read a conversion rate together with its uncertainty on small samples;
# 4. explain, with numbers, why a churn (renewal) model cannot be fitted yet, and what
#    to record now so that it can be fitted later.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import tobmodel
from tobmodel.survival import calendar_months

from tobmodel.style import use_teaching_style

use_teaching_style()  # laptop-sized figures; Chinese labels where a CJK font exists
pd.set_option("display.width", 120)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a bare kernel

# %% [markdown]
# ## 1. The decision chain (决策链)
#
# The domain guide (`docs/domain.md`) describes the simple decision chain of a business customer:
#
# | role | Chinese | who | what they care about | research questions |
# |---|---|---|---|---|
# | decision maker | 决策者 (老板) | the boss | real value for the company: **earn more, spend less** (多赚钱, 少花钱); compared with rival products on features, price and service, not on looks | Which problems cost you money today? Which step must be solved first? What do you pay for the alternative? |
# | user | 使用者 (员工) | the employee who works with the product | does it solve the task in their scenario, is it smooth and pleasant to use | Walk me through the task. Where does it take too long? What annoys you in today's tool? |
# | requester | 需求方 (部门主管) | the department head who asked for a solution (in big companies: purchasing) | usage scenarios, expected value, current problems; they compare products and are the main audience of marketing | Which scenarios must it cover? How will you judge success? Which products did you look at? |
#
# In large customers purchasing and finance join the chain. The chain matters after the
# sale too: if users complain, the complaint travels up to the boss and the renewal
# (续约) is lost. So research interviews **all three roles**, and the lead data records
# which of them took part in a call: the columns `decision_maker_engaged`,
# `user_engaged` and `requester_engaged` of the leads table.
#
# ## 2. What data exists before launch
#
# We simulate a SaaS vendor in the development stage: a short history, research
# contacts who left their details, and a few pilot customers who signed early. For
# comparison we simulate the same vendor, same scale, in the maturity stage.

# %%
dev = tobmodel.simulate("saas", "development", n_accounts=2000, seed=7)
mat = tobmodel.simulate("saas", "maturity", n_accounts=2000, seed=7)
print(dev)
print(mat)

# %% tags=["nbval-check-output"]
sizes = pd.DataFrame({
    "development": {name: len(df) for name, df in dev.tables.items()},
    "maturity": {name: len(df) for name, df in mat.tables.items()},
})
sizes["maturity / development"] = (sizes["maturity"] / sizes["development"]).round(0)
sizes

# %%
n_contacts = len(dev.leads)
n_pilots = len(dev.accounts)
ratio_accounts = len(mat.accounts) / n_pilots
ratio_usage = len(mat.usage) / len(dev.usage)
history_months = float(calendar_months(dev.leads["created_date"].min(), dev.as_of))
print(f"Development stage: {history_months:.0f} months of history, {n_contacts} research "
      f"contacts (leads) and {n_pilots} pilot customers; the mature business has {ratio_accounts:.0f} times as many customers and "
      f"{ratio_usage:.0f} times as many months of usage data.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert 10 <= n_pilots <= 60 and ratio_accounts > 30

# %% [markdown]
# The leads table is large enough to study *who we talk to*; the customer tables
# (accounts, contracts, usage, support) are tiny. Everything that follows is about this
# imbalance.
#
# ## 3. Who did the research reach?
#
# Early contacts come mostly through relationships (referral) and offline business
# development, not paid search: there is nothing to advertise yet.

# %% tags=["nbval-check-output"]
channel_share = dev.leads["channel"].value_counts(normalize=True).round(3)
channel_share

# %%
top_channel = channel_share.index[0]
print(f"{channel_share.iloc[0]:.0%} of research contacts came through {top_channel}.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert top_channel == "referral"

# %% [markdown]
# Which roles of the decision chain took part, by company size (KA = key account,
# mid-market, SMB = small business)?

# %%
ROLES = ["decision_maker_engaged", "user_engaged", "requester_engaged"]
coverage = dev.leads.groupby("company_size", observed=True)[ROLES].mean()
ax = coverage.rename(columns=lambda c: c.replace("_engaged", "")).plot.bar(rot=0)
ax.set_title("Development stage: share of research contacts where each role took part")
ax.set_xlabel("company size")
ax.set_ylabel("share of contacts")
ax.legend(title="role")
plt.show()

# %%
leads = dev.leads.assign(roles=dev.leads[ROLES].sum(axis=1),
                         pilot=(dev.leads["status"] == "converted").astype(int))
print(coverage.round(3))
all_three = (leads["roles"] == 3).mean()
print(f"all three roles reached: {all_three:.1%} of contacts")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert coverage.loc["KA", "decision_maker_engaged"] > coverage.loc["SMB", "decision_maker_engaged"]
assert all_three < 0.5

# %% [markdown]
# Decision makers are reached more often in key accounts (relationship channels bring
# the boss to the table), but only a minority of contacts cover the whole chain. A
# research plan should fill those gaps: in SMB contacts, ask to speak to the boss;
# in key accounts, ask to meet the people who will use the product every day.
#
# ## 4. Does the decision chain matter for signing a pilot?
#
# A pilot (试点客户) is a contact who signed early. With a few dozen pilots, every rate
# comes with a wide uncertainty. We show a 95% Wilson interval next to each rate (a
# notebook-only helper; a rate on 5 successes is not a fact).


# %%
def wilson_interval(successes, n, z=1.96):
    """95% Wilson score interval of a proportion (vectorised)."""
    successes, n = np.asarray(successes, float), np.asarray(n, float)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def pilot_rate_by(df, column):
    out = df.groupby(column, observed=True)["pilot"].agg(contacts="size", pilots="sum")
    out["rate"] = out["pilots"] / out["contacts"]
    out["low"], out["high"] = wilson_interval(out["pilots"], out["contacts"])
    return out


# %%
by_roles = pilot_rate_by(leads, "roles")
by_roles.round(4)

# %% tags=["checks"] jupyter={"source_hidden": true}
assert by_roles["rate"].is_monotonic_increasing

# %%
fig, ax = plt.subplots()
err = np.vstack([by_roles["rate"] - by_roles["low"], by_roles["high"] - by_roles["rate"]])
ax.errorbar(by_roles.index, by_roles["rate"], yerr=err, fmt="o", capsize=5)
ax.set_title("Pilot rate by number of decision-chain roles engaged (95% interval)")
ax.set_xlabel("roles engaged (decision maker, user, requester)")
ax.set_ylabel("share of contacts who signed a pilot")
ax.set_xticks([0, 1, 2, 3])
plt.show()

# %% [markdown]
# The more of the chain is engaged, the more likely a pilot. The same pattern in the
# mature business, where there are thousands of customers, is measured much more
# precisely. Compare the interval widths:

# %%
mat_leads = mat.leads.assign(pilot=(mat.leads["status"] == "converted").astype(int))
dm = pd.concat({
    "development": pilot_rate_by(leads, "decision_maker_engaged"),
    "maturity": pilot_rate_by(mat_leads, "decision_maker_engaged"),
}, names=["stage"])
dm["width"] = dm["high"] - dm["low"]
dm.round(4)

# %%
dm_lift_dev = dm.loc[("development", True), "rate"] / dm.loc[("development", False), "rate"]
dm_lift_mat = dm.loc[("maturity", True), "rate"] / dm.loc[("maturity", False), "rate"]
rel_width_dev = (dm.loc["development", "width"] / dm.loc["development", "rate"]).mean()
rel_width_mat = (dm.loc["maturity", "width"] / dm.loc["maturity", "rate"]).mean()
print(f"Engaging the decision maker multiplies the signing rate by {dm_lift_dev:.1f} in the "
      f"development stage and by {dm_lift_mat:.1f} in maturity; the interval is "
      f"{rel_width_dev:.1f} times the rate itself in development, "
      f"{rel_width_mat:.2f} times in maturity.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert dm_lift_dev > 2 and dm_lift_mat > 1.5
assert rel_width_dev > 1 and rel_width_dev > 3 * rel_width_mat

# %% [markdown]
# The direction is clear even now (talk to the boss), but the size of the effect is
# not: the development-stage interval is wider than the rate itself.
#
# ## 5. The pilots: a timeline
#
# Each line below is one pilot customer, from its first contract to the snapshot date
# (or to churn). Annual contracts can only churn at the 12-month renewal; the dots
# mark where each annual pilot's first renewal will fall.

# %%
sv = tobmodel.survival_view(dev).merge(
    dev.accounts[["account_id", "tier", "contract_term"]], on="account_id")
sv = sv.sort_values("start_date").reset_index(drop=True)
as_of = dev.as_of
annual = (sv["contract_term"] == "annual").to_numpy()
first_renewal = sv["start_date"] + pd.DateOffset(months=12)

fig, ax = plt.subplots(figsize=(8, 6))
colors = np.where(sv["churned"] == 1, "tab:red", np.where(annual, "tab:blue", "tab:orange"))
ax.hlines(sv.index, sv["start_date"], sv["end_date"], colors=colors, lw=2)
ax.scatter(first_renewal[annual], sv.index[annual], marker="o", facecolors="none",
               edgecolors="tab:blue", label="first renewal date (annual)")
ax.axvline(as_of, color="black", ls="--", label="as_of (today)")
ax.plot([], [], color="tab:blue", label="annual pilot")
ax.plot([], [], color="tab:orange", label="monthly pilot")
ax.plot([], [], color="tab:red", label="churned pilot")
ax.set_title("Development stage: pilot customers from first contract to today")
ax.set_xlabel("date")
ax.set_ylabel("pilot (sorted by start)")
ax.legend(loc="upper left", fontsize=8)
fig.autofmt_xdate()
plt.show()

# %% tags=["nbval-check-output"]
pilot_facts = pd.Series({
    "pilots": len(sv),
    "annual pilots": int(annual.sum()),
    "churn events observed": int(sv["churned"].sum()),
    "longest tenure (months)": round(float(sv["tenure_months"].max()), 1),
    "annual pilots past their first renewal": int((first_renewal[annual] <= as_of).sum()),
    "monthly usage rows": len(dev.usage),
}, dtype=object)
pilot_facts

# %% [markdown]
# ## 6. Why a churn model cannot be fitted yet
#
# A renewal model (Kaplan-Meier curves, a Cox model, a churn classifier) learns from
# churn **events**. A common rule of thumb for regression models is at least 10 events
# per estimated coefficient. Even a modest churn model (tier, contract term, price,
# onboarding, usage trend, support tickets) has about 8 coefficients.

# %%
n_events = int(sv["churned"].sum())
n_coefficients = 8
needed = 10 * n_coefficients
longest = float(sv["tenure_months"].max())
print(f"Churn events observed: {n_events}; needed for an 8-coefficient model: about "
      f"{needed}. The longest pilot has {longest:.1f} months of history, so no annual "
      f"contract has reached a renewal yet: the renewal decision itself has never been "
      f"observed.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert n_events < 5 and longest < 12

# %% [markdown]
# Worse, the little we see is biased. The simulator knows the truth: when each pilot
# will really churn (the 24 months after today are simulated too) and the oracle
# probability of churning in the next 12 months. Compare the naive churn rate seen
# today with what is coming:

# %%
truth = dev.truth["accounts"]
seen_rate = sv["churned"].mean()
true_24m = (truth["churn_date"] <= as_of + pd.DateOffset(months=24)).mean()
oracle_12m = truth["p_churn_12m"].mean()
print(f"Churned so far: {seen_rate:.1%} of pilots. Oracle mean probability of churning in "
      f"the next 12 months for the pilots still active: {oracle_12m:.0%}. Actually churned "
      f"within 24 months of today: {true_24m:.0%}.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert seen_rate < 0.15 and oracle_12m > 2 * seen_rate and true_24m > 0.3

# %% [markdown]
# Today's churn rate looks excellent only because the pilots have not had the time to
# leave: most of them are **censored** (still active, outcome unknown), and annual
# pilots cannot leave before month 12. An early product also churns more (sales
# over-promise, the product misses features), which the data cannot show yet.
# Notebook 10 explains censoring in depth.
#
# ## 7. What operations does with this
#
# * Run the research: interview decision makers, users and requesters of the pilots
#   and of the research contacts, and write down what each role values.
# * **Record the data a churn model will need later**, from day one: the decision-chain
#   roles of every lead, contract terms and dates, product tracking (埋点: logins,
#   active seats, key-feature adoption), support tickets and, when a customer leaves,
#   the churn reason. Notebooks 08 and 10 fit the model once the events exist.
# * Report pilot results with their uncertainty, never as a bare rate.
#
# ## Exercises
#
# **Exercise 1.** In which company size is the whole decision chain (all three roles)
# engaged most often? Give the share per size.

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
full_chain = leads.assign(full=leads["roles"] == 3).groupby(
    "company_size", observed=True)["full"].mean()
print(full_chain.round(3))

# %% tags=["checks"] jupyter={"source_hidden": true}
assert full_chain.idxmax() == "KA"

# %% [markdown]
# **Exercise 2.** How many annual pilots reach their first renewal in the next six
# months, and how many of those will really churn at it (use `dev.truth["accounts"]`)?
# Why is that still far too few events for a model?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
soon = annual & (first_renewal <= as_of + pd.DateOffset(months=6)).to_numpy()
soon_ids = sv.loc[soon, "account_id"]
churn_at_renewal = truth.set_index("account_id").loc[soon_ids, "churn_date"]
n_churn_soon = int((churn_at_renewal <= as_of + pd.DateOffset(months=6)).sum())
print(f"{soon.sum()} annual pilots renew in the next 6 months; {n_churn_soon} of them "
      f"churn. Still an order of magnitude below the ~{needed} events a model needs.")

# %% tags=["checks"] jupyter={"source_hidden": true}
assert n_churn_soon < needed

# %% [markdown]
# **Exercise 3.** A colleague says "referral contacts sign pilots at twice the rate of
# bidding contacts". Check it with the Wilson interval. Is the claim supported?

# %% [markdown]
# #### Worked answer
#
# Try the exercise first: the answer's code below is folded (click the bar or the ⋯ to open it).

# %% jupyter={"source_hidden": true}
by_channel = pilot_rate_by(leads, "channel")
print(by_channel.round(4))
overlap = by_channel.loc["bidding", "high"] > by_channel.loc["referral", "low"]
print("The intervals overlap: the data cannot confirm the claim yet." if overlap else
      "The intervals do not overlap: the data support a difference.")
