"""Each mechanism of the simulator shows in the data; each test fails if it is removed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.survival import survival_view

N = 3000


@pytest.fixture(scope="module")
def sims():
    cache = {}

    def get(bt="saas", stage="maturity", n=N, seed=11):
        key = (bt, stage, n, seed)
        if key not in cache:
            cache[key] = tobmodel.simulate(bt, stage, n_accounts=n, seed=seed)
        return cache[key]
    return get


def conv_rate(leads, mask=None):
    done = leads["status"] != "open"
    m = done if mask is None else done & mask
    return (leads.loc[m, "status"] == "converted").mean()


def churn_table(sim):
    sv = survival_view(sim)
    return sv.merge(sim.accounts, on="account_id")


# ---- business types ---------------------------------------------------------
def test_platform_signup_is_free_and_churn_is_going_inactive(sims):
    sim = sims("platform")
    assert (sim.accounts["price_per_seat_month"] == 0).all()
    assert (sim.accounts["contract_term"] == "none").all()
    assert (sim.contracts["outcome"] == "open").all()  # no contract ends on a platform
    truth = sim.truth["accounts"]
    gone = truth.loc[truth["churn_date"] <= sim.as_of - pd.DateOffset(months=4)]
    u = sim.usage.merge(gone[["account_id", "churn_date"]], on="account_id")
    after = u["month"] >= u["churn_date"] + pd.DateOffset(months=1)
    assert len(gone) > 100 and (u.loc[after, "logins"] == 0).all()
    sv = survival_view(sim)
    seen = sv.set_index("account_id")["churned"]
    assert seen.loc[gone["account_id"]].mean() > 0.95


def test_saas_churn_is_the_last_contract_period(sims):
    c = sims("saas").contracts
    churned = c.loc[c["outcome"] == "churned"]
    assert churned["account_id"].is_unique
    last = c.groupby("account_id")["period"].max()
    assert (churned.set_index("account_id")["period"] == last.loc[churned["account_id"]]).all()


def test_hardware_repurchases_grow_with_trust(sims):
    c = sims("hardware").contracts
    orders = c.groupby("account_id").size()
    assert orders.mean() > 2
    value = c.groupby("period")["arr"].mean()
    assert value.loc[1] < value.loc[3] < value.loc[6]  # first orders are small


def test_tool_trial_activity_drives_conversion(sims):
    effect = {}
    for bt in ("tool", "saas"):
        leads = sims(bt).leads
        done = leads.loc[leads["status"] != "open"]
        conv = done["status"] == "converted"
        effect[bt] = (done.loc[conv, "trial_active_days"].mean()
                      - done.loc[~conv, "trial_active_days"].mean())
    assert effect["tool"] > 1.4 and effect["tool"] > 2 * effect["saas"]


# ---- lifecycle stages ---------------------------------------------------------
def test_stages_change_conversion_churn_volume_and_channels(sims):
    val, mat, dec, gro = (sims("saas", s) for s in ("validation", "maturity", "decline",
                                                    "growth"))
    assert conv_rate(mat.leads) > conv_rate(val.leads) + 0.05
    p12 = {s.config["stage"]: s.truth["accounts"]["p_churn_12m"].mean() for s in (mat, dec)}
    assert p12["decline"] > p12["maturity"] + 0.02

    def trend(sim):
        per_month = sim.leads.loc[~sim.leads["reengaged_from_loss_pool"]].groupby(
            sim.leads["created_date"].dt.to_period("M")).size()
        return np.polyfit(np.arange(len(per_month)), np.log(per_month.to_numpy()), 1)[0]
    assert trend(gro) > 0.02 and trend(dec) < -0.01 and abs(trend(mat)) < 0.01
    share = {s.config["stage"]: (s.leads["channel"] == "referral").mean() for s in (val, mat)}
    assert share["maturity"] > share["validation"] + 0.08


def test_development_stage_has_almost_no_customers(sims):
    dev = sims("saas", "development")
    assert 0 < len(dev.accounts) < 0.05 * N
    assert len(dev.leads) > 10 * len(dev.accounts)  # research contacts, few pilots


# ---- customers --------------------------------------------------------------
def test_annual_accounts_churn_only_at_renewal_dates(sims):
    t = churn_table(sims("saas"))
    annual = t.loc[(t["contract_term"] == "annual") & (t["churned"] == 1)]
    monthly = t.loc[(t["contract_term"] == "monthly") & (t["churned"] == 1)]
    assert len(annual) > 50
    off = np.abs(annual["tenure_months"] - 12 * np.round(annual["tenure_months"] / 12))
    assert (off < 0.1).all()
    off_m = np.abs(monthly["tenure_months"] - 12 * np.round(monthly["tenure_months"] / 12))
    assert (off_m > 1).mean() > 0.5


def test_smb_monthly_customers_are_price_sensitive_and_ka_are_not(sims):
    t = churn_table(sims("saas", n=6000))
    t["rel_price"] = t["price_per_seat_month"] / t.groupby("tier", observed=True)[
        "price_per_seat_month"].transform("median")

    def gap(df):
        hi = df["rel_price"] > df["rel_price"].quantile(0.75)
        lo = df["rel_price"] < df["rel_price"].quantile(0.25)
        return df.loc[hi, "churned"].mean() - df.loc[lo, "churned"].mean()
    smb = t.loc[(t["tier"] == "SMB") & (t["contract_term"] == "monthly")]
    ka = t.loc[t["tier"] == "KA"]
    assert gap(smb) > 0.12
    assert abs(gap(ka)) < gap(smb) / 2


def test_smb_usage_falls_before_churn(sims):
    sim = sims("saas")
    t = churn_table(sim)
    u = sim.usage.merge(t[["account_id", "end_date", "churned", "tier"]], on="account_id")
    month_no = lambda d: d.dt.year * 12 + d.dt.month  # noqa: E731
    u["back"] = month_no(u["end_date"]) - month_no(u["month"])
    recent = u.loc[u["back"].between(1, 3)].groupby("account_id")["logins"].mean()
    before = u.loc[u["back"].between(7, 9)].groupby("account_id")["logins"].mean()
    ratio = (recent / before).replace(np.inf, np.nan).dropna()
    t = t.set_index("account_id").loc[ratio.index]
    smb = t["tier"] == "SMB"
    fell = ratio < 0.7  # logins down 30% over six months
    # last three months before churn (or before as_of for those who stay)
    assert fell[smb & (t["churned"] == 1)].mean() > fell[smb & (t["churned"] == 0)].mean() + 0.12


@pytest.mark.parametrize("column,risky", [("sales_overpromised", True),
                                          ("onboarding_completed", False)])
def test_overpromise_raises_and_onboarding_lowers_churn(sims, column, risky):
    t = churn_table(sims("saas", n=6000))
    t = t.loc[t["tenure_months"] >= 1]
    rate = t.groupby(column)["churned"].mean()
    diff = rate.loc[True] - rate.loc[False]
    assert (diff > 0.04) if risky else (diff < -0.04)


def test_slow_ticket_resolution_raises_churn(sims):
    sim = sims("saas", n=6000)
    s = sim.support.groupby("account_id")[["tickets_opened", "tickets_unresolved"]].sum()
    s = s.loc[s["tickets_opened"] >= 5]
    share = s["tickets_unresolved"] / s["tickets_opened"]
    t = churn_table(sim).set_index("account_id").loc[share.index]
    slow = share > share.median()
    assert t.loc[slow, "churned"].mean() > t.loc[~slow, "churned"].mean() + 0.04


def test_competitor_poaching_adds_churn_most_in_decline(sims):
    def share(stage):
        c = sims("saas", stage).contracts
        return (c["churn_reason"] == "competitor").sum() / (c["outcome"] == "churned").sum()
    assert share("decline") > share("maturity") + 0.03 > 0.03


def test_bot_escalates_after_three_failed_answers(sims):
    sim = sims("saas")
    s = sim.support.merge(sim.accounts[["account_id", "tier"]], on="account_id")
    assert (s["bot_escalations"] <= s["bot_sessions"]).all()
    assert (s.loc[s["tier"] == "KA", "bot_sessions"] == 0).all()  # KA has a CSM
    rate = s["bot_escalations"].sum() / s["bot_sessions"].sum()
    assert 0.02 < rate < 0.2  # three failures in a row: p_fail ** 3


# ---- leads ------------------------------------------------------------------
def test_bidding_leads_are_many_and_weak_relationships_few_large_and_strong(sims):
    leads = sims("saas", "validation").leads
    by = leads["channel"].value_counts(normalize=True)
    assert by.idxmax() == "bidding" and by["referral"] < by["bidding"] / 2
    rates = {ch: conv_rate(leads, leads["channel"] == ch) for ch in ("bidding", "referral")}
    others = [conv_rate(leads, leads["channel"] == ch) for ch in leads["channel"].cat.categories]
    assert rates["bidding"] == min(others) and rates["referral"] == max(others)
    ka = leads.groupby("channel", observed=True)["company_size"].apply(lambda s: (s == "KA").mean())
    assert ka.idxmax() == "referral"


def test_engaging_the_decision_maker_raises_conversion(sims):
    leads = sims("saas").leads
    for ch in ("bidding", "referral", "content"):
        in_ch = leads["channel"] == ch
        dm = leads["decision_maker_engaged"]
        assert conv_rate(leads, in_ch & dm) > conv_rate(leads, in_ch & ~dm) + 0.03


def test_leads_come_back_from_the_loss_pool(sims):
    leads = sims("saas").leads
    back = leads.loc[leads["reengaged_from_loss_pool"]]
    assert len(back) > 0.03 * len(leads)
    prev = leads.set_index("lead_id").loc[back["previous_lead_id"].astype("int64")]
    assert (prev["status"] == "lost").all()
    assert (prev["outcome_date"].to_numpy() < back["created_date"].to_numpy()).all()
    first = leads.loc[~leads["reengaged_from_loss_pool"]]
    assert conv_rate(back) > conv_rate(first)


# ---- truth and reproducibility --------------------------------------------------
def test_truth_is_calibrated_against_what_happens_next(sims):
    sim = sims("saas", n=6000)
    t = sim.truth["accounts"].dropna(subset=["p_churn_12m"])
    horizon = sim.as_of + pd.DateOffset(months=12)
    happened = (t["churn_date"] <= horizon).to_numpy()
    assert abs(happened.mean() - t["p_churn_12m"].mean()) < 0.02
    top = t["p_churn_12m"] >= t["p_churn_12m"].quantile(0.9)
    bottom = t["p_churn_12m"] <= t["p_churn_12m"].quantile(0.1)
    assert happened[top.to_numpy()].mean() > 3 * happened[bottom.to_numpy()].mean()
    leads = sim.leads.assign(p=sim.truth["leads"]["p_convert"].to_numpy())
    done = leads.loc[leads["status"] != "open"]
    assert abs((done["status"] == "converted").mean() - done["p"].mean()) < 0.02


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    paths = []
    for i, seed in enumerate((5, 5, 6)):
        sim = tobmodel.simulate("hardware", "growth", n_accounts=300, seed=seed)
        paths.append(sim.to_parquet(tmp_path / str(i)))
    for name in ("accounts", "leads", "contracts", "usage", "support", "truth_hazard"):
        a, b, c = ((p / f"{name}.parquet").read_bytes() for p in paths)
        assert a == b and a != c


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="business_type"):
        tobmodel.simulate("bakery")
    with pytest.raises(ValueError, match="stage"):
        tobmodel.simulate("saas", "adolescence")
    with pytest.raises(ValueError, match="n_accounts"):
        tobmodel.simulate("saas", n_accounts=0)


# ---- churn causes (DOMAIN: after a deal, product fit and competitors) ---------
def test_a_competitor_campaign_starts_the_usage_decline_of_its_industry(monkeypatch):
    from tobmodel.simulator import params as P
    from tobmodel.simulator.lifecycle import poaching_declines
    monkeypatch.setattr(P, "POACHED_DECLINE_SHARE", 0.7)
    n = 20000
    lat = {"industry": np.repeat([0, 1], n // 2), "decline_onset": np.full(n, np.inf),
           "decline_slope": np.zeros(n)}
    lat["decline_onset"][:100] = 3.0                     # already declining earlier
    campaigns = np.zeros((2, 40), bool)
    campaigns[0, 12:18] = True                            # industry 0, months 12-17
    m0, T = np.zeros(n, np.int64), np.full(n, 40)
    poached = poaching_declines(np.random.default_rng(0), lat, m0, T, np.int64(0), campaigns)
    ind0 = np.arange(n) < n // 2
    assert not poached[~ind0].any() and not poached[:100].any()
    assert abs(poached[ind0].mean() - P.POACHED_DECLINE_SHARE) < 0.02
    assert (lat["decline_onset"][poached] == 13).all()   # month 13 of a life that began at 0
    assert (lat["decline_slope"][poached] > 0).all()
    assert (lat["decline_onset"][:100] == 3).all()


def test_recorded_reasons_follow_the_mechanisms(sims):
    """Over-promised accounts and accounts the product never fitted leave for product fit,
    campaigns bring competitor churn (none before competitors exist), and 'other' (budget
    cuts, closures: the base hazard) stays a minority."""
    for stage in ("validation", "maturity", "decline"):
        ta = sims("saas", stage).truth["accounts"]
        mix = ta.loc[ta["churn_date"].notna(), "churn_cause"].value_counts(normalize=True)
        assert mix["other"] < 0.25, (stage, mix.to_dict())
        assert mix["product_fit"] > 0.15, (stage, mix.to_dict())
    sim = sims("saas", "validation")
    t = sim.truth["accounts"].merge(sim.accounts[["account_id", "sales_overpromised"]])
    t = t.loc[t["churn_date"].notna()]
    fit = (t["churn_cause"] == "product_fit").groupby(t["sales_overpromised"]).mean()
    assert fit.loc[True] > fit.loc[False] + 0.2
    # a product that never fitted: low usage from the first months
    first = sim.usage.merge(sim.accounts[["account_id", "first_contract_date", "seats"]])
    early = first.loc[first["month"] < first["first_contract_date"] + pd.DateOffset(months=4)]
    share = (early["active_seats"] / early["seats"]).groupby(early["account_id"]).mean()
    t = t.loc[~t["sales_overpromised"]].set_index("account_id")
    pf = t["churn_cause"] == "product_fit"
    low = share.reindex(t.index)
    assert low[pf].mean() < low[~pf].mean() - 0.05
    dev = sims("saas", "development").truth["accounts"]       # no competitors yet
    assert (dev["churn_cause"] != "competitor").all()
