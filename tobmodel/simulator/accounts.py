"""Simulated customer accounts: who converted, on what terms, and their latent health."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import CONTRACT_TERMS, TIERS
from . import params as P
from ._rand import sigmoid


def simulate_accounts(rng: np.random.Generator, leads: pd.DataFrame, fit: np.ndarray,
                      business_type: str, stage: str):
    """Turn converted leads into accounts; fill ``leads.account_id`` in place.

    Returns the accounts table and a dict of latent per-account parameters that
    drive churn (never shown to models; kept as ground truth).
    """
    b, s = P.BUSINESS[business_type], P.STAGE[stage]
    conv = np.flatnonzero((leads["status"] == "converted").to_numpy())
    start = leads["outcome_date"].to_numpy()[conv]
    order = np.lexsort((leads["lead_id"].to_numpy()[conv], start))
    conv, start = conv[order], start[order]
    n = len(conv)
    account_id = np.arange(1, n + 1, dtype=np.int64)
    acc_col = leads["account_id"].to_numpy(dtype="float64", na_value=np.nan)
    acc_col[conv] = account_id
    leads["account_id"] = pd.array(np.where(np.isnan(acc_col), 0, acc_col).astype(np.int64),
                                   dtype="Int64")
    leads.loc[np.isnan(acc_col), "account_id"] = pd.NA

    tier = leads["company_size"].cat.codes.to_numpy()[conv].astype(np.int64)
    if b["annual_share"] is None:
        term = np.full(n, CONTRACT_TERMS.index("none"))
    else:
        annual = rng.random(n) < np.asarray(b["annual_share"])[tier]
        term = np.where(annual, CONTRACT_TERMS.index("annual"), CONTRACT_TERMS.index("monthly"))
    mu = np.asarray([P.TIER_SEATS[t][0] for t in TIERS])[tier]
    sd = np.asarray([P.TIER_SEATS[t][1] for t in TIERS])[tier]
    seats = np.maximum(1, np.round(np.exp(rng.normal(mu, sd)))).astype(np.int64)
    list_price = np.asarray(b["price"])[tier]
    price_rel = np.exp(rng.normal(0, 0.25, n))  # discount / premium against list
    if business_type == "platform":
        price = np.zeros(n)
        arr = np.round(seats * 2400 * np.exp(rng.normal(0, 0.5, n)), 2)  # yearly commission
    elif business_type == "hardware":
        price = np.zeros(n)
        first_units = np.maximum(1, np.round(seats * 0.3))  # first orders are small
        arr = np.round(first_units * list_price * price_rel, 2)
    else:
        price = np.round(list_price * price_rel, 2)
        arr = np.round(seats * price * 12, 2)
    channel = leads["channel"].cat.codes.to_numpy()[conv]
    overpromise_p = s["overpromise"] * b["overpromise_factor"] * np.where(tier == 0, 1.3, 1.0) \
        * np.where(channel == 0, 1.2, 1.0)
    overpromised = rng.random(n) < np.minimum(overpromise_p, 0.9)
    onboard_p = np.asarray([P.ONBOARDING_RATE[t] for t in TIERS])[tier] - 0.2 * overpromised
    onboarding = rng.random(n) < onboard_p

    accounts = pd.DataFrame({
        "account_id": account_id,
        "business_type": pd.Categorical([business_type] * n, categories=list(P.BUSINESS)),
        "tier": leads["company_size"].to_numpy()[conv],
        "industry": leads["industry"].to_numpy()[conv],
        "region": leads["region"].to_numpy()[conv],
        "acquisition_channel": leads["channel"].to_numpy()[conv],
        "first_contract_date": start.astype("datetime64[ns]"),
        "contract_term": pd.Categorical.from_codes(term.astype(np.int8), list(CONTRACT_TERMS)),
        "seats": seats,
        "price_per_seat_month": price,
        "arr": arr,
        "sales_overpromised": overpromised,
        "onboarding_completed": onboarding,
    })
    for c in ("tier", "industry", "region", "acquisition_channel"):
        accounts[c] = pd.Categorical(accounts[c], categories=leads[
            {"tier": "company_size", "acquisition_channel": "channel"}.get(c, c)].cat.categories)

    # --- latent health: usage reflects it; for SMB it drives churn --------------
    # an over-promise unmet shows as usage that fades: such accounts decline more often
    share = np.asarray([P.DECLINE_SHARE[t] for t in TIERS])[tier]
    decliner = rng.random(n) < np.minimum(
        0.95, share * np.where(overpromised, P.OVERPROMISE_DECLINE_FACTOR, 1.0))
    latent = {
        "tier": tier,
        "term": term,
        "industry": accounts["industry"].cat.codes.to_numpy().astype(np.int64),
        "log_price_rel": np.log(price_rel),
        "health0": 0.5 + 0.25 * fit[conv] + 0.3 * (onboarding - 0.5) + rng.normal(0, 0.3, n),
        "drift": np.where(onboarding, 0.01, -0.005),
        "decline_onset": np.where(decliner, rng.uniform(2, 48, n), np.inf),
        "decline_slope": np.where(decliner, rng.uniform(0.1, 0.3, n), 0.0),
        "unresolved_share": sigmoid(rng.normal(-1.5, 0.7, n) + 0.4 * overpromised),
        "growth": s["expansion"] + 0.15 * (fit[conv] * 0.25) + rng.normal(0, 0.05, n),
    }
    return accounts, latent
