"""Reasons behind churn scores, in words a customer-success manager reads."""
import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.renewal import build_account_features, fit_renewal_model, reason_texts

COVS = ["tier", "sales_overpromised", "onboarding_completed", "logins_trend",
        "price_vs_tier_median", "unresolved_share_6m"]


@pytest.fixture(scope="module")
def fitted():
    f = build_account_features(tobmodel.simulate("saas", n_accounts=1500, seed=61))
    return f, fit_renewal_model(f, covariates=COVS)


def test_planted_overpromised_account_gets_that_reason(fitted):
    f, m = fitted
    calm = f[f["active"] & (f["tier"] == "KA")].head(10).copy()   # low-risk tier
    calm["logins_trend"] = float(f["logins_trend"].mean())
    calm["onboarding_completed"] = True
    planted = calm.assign(sales_overpromised=True)
    got = m.score(planted)["reasons"]
    assert got.str.split("; ").map(lambda r: "sales over-promised" in r[:3]).all()
    # not over-promised: the reason disappears from the risk-raising list
    assert not m.score(calm.assign(sales_overpromised=False))["reasons"].str.contains(
        "over-promised").any()
    # the same covariates push risk down where they are favourable
    down = m.explain(calm.assign(sales_overpromised=False))["reasons_down"]
    assert down.str.contains("onboarding completed|no over-promise at sale").all()


def test_reasons_follow_the_size_of_each_push(fitted):
    f, m = fitted
    rows = f[f["active"]].head(300)
    names, contrib = m.contributions(rows)
    out = m.explain(rows, top=1)["reasons_up"].to_numpy()
    top = np.asarray(names)[contrib.argmax(axis=1)]
    named = contrib.max(axis=1) > 0.05
    words = {"tier": ("key account", "mid-market", "small business"),
             "sales_overpromised": ("over-promise",), "onboarding_completed": ("onboarding",),
             "logins_trend": ("usage",), "price_vs_tier_median": ("price",),
             "unresolved_share_6m": ("unresolved",)}
    for text, cov, ok in zip(out, top, named):
        assert (any(w in text for w in words[cov]) if ok else text == "")


def test_phrases_read_like_a_csm_would_say_them():
    df = pd.DataFrame({
        "logins_trend": [np.log(0.6), np.log(1.25)],
        "price_vs_tier_median": [np.log(1.25), np.log(0.8)],
        "unresolved_share_6m": [0.5, 0.0], "unresolved_tickets_6m": [3, 0],
        "sales_overpromised": [True, False], "tier": ["SMB", "KA"],
        "bot_escalations_6m": [1.0, 0.0]})
    names = list(df.columns.drop("unresolved_tickets_6m"))
    up = reason_texts(df, names, np.ones((2, len(names))) * np.arange(len(names), 0, -1), top=6)
    assert up[0] == ("usage fell 40% in 3 months; price 25% above tier median; 3 unresolved "
                     "tickets in 6 months; sales over-promised; small business; 1 bot "
                     "escalation in 6 months")
    assert up[1].startswith("usage rose 25% in 3 months; price 20% below tier median; "
                            "no unresolved tickets in 6 months; no over-promise at sale; "
                            "key account")
    # effects below the threshold are not named
    assert reason_texts(df, names, np.full((2, len(names)), 0.01)).tolist() == ["", ""]
