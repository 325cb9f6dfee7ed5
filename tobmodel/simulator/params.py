"""Parameters of the simulated to-B businesses, by business type and lifecycle stage.

Numbers are on the log-odds scale unless named otherwise. They encode the
mechanisms of ``shared/DOMAIN.md``; ``tests/test_simulate_mechanisms.py`` checks
each one shows in the data.
"""
from __future__ import annotations

from ..schema import CHANNELS, INACTIVE_MONTHS, INDUSTRIES, LAPSE_MONTHS, REGIONS, TIERS  # noqa: F401

# ---- lifecycle stages ------------------------------------------------------
# history_months: how long the business has existed at as_of.
# lead_trend: monthly log-growth of lead volume. channel: weights in CHANNELS order.
STAGE = {
    "development": dict(history_months=9, lead_trend=0.0, lead_scale=0.15,
                        channel=(0.10, 0.50, 0.10, 0.10, 0.00, 0.20),
                        conversion_shift=-3.0, churn_shift=0.6, overpromise=0.40,
                        poaching=0.0, reengage=0.10, expansion=0.00),
    "validation": dict(history_months=24, lead_trend=0.04, lead_scale=1.0,
                       channel=(0.45, 0.10, 0.10, 0.15, 0.05, 0.15),
                       conversion_shift=-0.5, churn_shift=0.5, overpromise=0.35,
                       poaching=0.3, reengage=0.12, expansion=0.00),
    "growth": dict(history_months=48, lead_trend=0.05, lead_scale=1.0,
                   channel=(0.40, 0.12, 0.18, 0.10, 0.12, 0.08),
                   conversion_shift=0.1, churn_shift=0.1, overpromise=0.20,
                   poaching=0.5, reengage=0.12, expansion=0.15),
    "maturity": dict(history_months=72, lead_trend=0.0, lead_scale=1.0,
                     channel=(0.30, 0.25, 0.15, 0.08, 0.15, 0.07),
                     conversion_shift=0.3, churn_shift=-0.2, overpromise=0.10,
                     poaching=0.6, reengage=0.15, expansion=0.05),
    "decline": dict(history_months=84, lead_trend=-0.03, lead_scale=1.0,
                    channel=(0.35, 0.15, 0.10, 0.05, 0.20, 0.15),
                    conversion_shift=-0.3, churn_shift=0.6, overpromise=0.20,
                    poaching=1.5, reengage=0.25, expansion=-0.05),
}

# ---- business types --------------------------------------------------------
# tier_tilt multiplies the channel's size mix (TIERS order). annual_share: share of
# each tier on annual terms (saas, tool). churn_base: monthly log-odds of churn.
BUSINESS = {
    "platform": dict(conversion_base=-0.2, tier_tilt=(0.3, 0.7, 1.6), annual_share=None,
                     price=(0.0, 0.0, 0.0), churn_base=-3.4, overpromise_factor=0.1,
                     trial_days_weight=0.10, inactive_month_rate=0.06),
    "saas": dict(conversion_base=-2.2, tier_tilt=(1.0, 1.0, 1.0), annual_share=(1.0, 0.8, 0.25),
                 price=(95.0, 130.0, 160.0), churn_base=-3.7, overpromise_factor=1.0,
                 trial_days_weight=0.06, inactive_month_rate=0.0),
    "hardware": dict(conversion_base=-2.4, tier_tilt=(0.8, 1.1, 1.0), annual_share=None,
                     price=(6500.0, 7500.0, 8000.0), churn_base=-3.9, overpromise_factor=0.6,
                     trial_days_weight=0.02, inactive_month_rate=0.0),
    "tool": dict(conversion_base=-2.8, tier_tilt=(0.2, 0.6, 1.6), annual_share=(0.7, 0.3, 0.1),
                 price=(30.0, 40.0, 45.0), churn_base=-3.3, overpromise_factor=0.3,
                 trial_days_weight=0.22, inactive_month_rate=0.0),
}

# Prospect size mix by channel (rows: CHANNELS, columns: TIERS).
# Relationships bring the big deals; bidding brings many small ones.
CHANNEL_SIZE_MIX = {
    "bidding": (0.03, 0.22, 0.75),
    "referral": (0.35, 0.40, 0.25),
    "content": (0.05, 0.30, 0.65),
    "events": (0.15, 0.40, 0.45),
    "partner": (0.08, 0.32, 0.60),
    "offline_bd": (0.12, 0.38, 0.50),
}
# Channel effect on conversion (log-odds): bidding weakest, referral strongest.
CHANNEL_CONVERSION = {"bidding": -0.6, "referral": 0.9, "content": 0.0, "events": 0.2,
                      "partner": 0.3, "offline_bd": 0.1}
# Channel effect on engaging the decision maker (log-odds).
CHANNEL_DECISION_MAKER = {"bidding": -0.8, "referral": 1.0, "content": -0.3, "events": 0.3,
                          "partner": 0.2, "offline_bd": 0.8}

TIER_EMPLOYEES = {"KA": (7.6, 0.6), "mid": (5.3, 0.5), "SMB": (3.3, 0.6)}  # lognormal
TIER_SEATS = {"KA": (5.8, 0.6), "mid": (3.8, 0.5), "SMB": (1.9, 0.6)}      # lognormal
TIER_CONVERSION = {"KA": -0.3, "mid": 0.0, "SMB": 0.1}

# Renewal and churn (monthly log-odds contributions).
TIER_CHURN = {"KA": -1.0, "mid": -0.35, "SMB": 0.0}
PRICE_SENSITIVITY = {"KA": 0.0, "mid": 0.8, "SMB": 2.2}   # x log(price / tier list price)
HEALTH_WEIGHT = {"KA": 0.15, "mid": 0.9, "SMB": 1.8}      # x (0.5 - health)
DECLINE_SHARE = {"KA": 0.15, "mid": 0.3, "SMB": 0.5}    # accounts whose usage decays
# ... times this when sales over-promised (capped at 0.95). 1.0 = off: 1.8 makes product
# fit the main cause in early stages but shifts every simulation (see POACHED_DECLINE_SHARE)
OVERPROMISE_DECLINE_FACTOR = 1.0
OVERPROMISE_EFFECT = 1.0      # first year; 0.4 of it later
ONBOARDING_EFFECT = -0.6
UNRESOLVED_EFFECT = 2.5       # x (unresolved share - 0.2)
POACHING_EFFECT = 1.1         # while a competitor campaign runs in the account's industry
# Recorded churn reason: drawn in proportion to the log-odds each mechanism adds at the
# churn month; "other" (budget cut, company closed or merged, champion left) has this
# fixed weight, the base hazard no lever explains.
OTHER_CAUSE_WEIGHT = 0.1
# Share of accounts whose usage starts to decline when a competitor campaign first
# reaches their industry during their life (they trial the competitor, then leave).
# 0 = off (the default keeps every simulation as before). 0.7 with the over-promise
# factor 1.8 raises competitor churn to 14-41% of churns by stage (saas maturity:
# product fit 23%, competitor 14%, disengaged 31%, other 17%) but changes the data all
# tests and notebooks were tuned on: a decision for the whole project.
POACHED_DECLINE_SHARE = 0.0
ONBOARDING_RATE = {"KA": 0.80, "mid": 0.62, "SMB": 0.45}

INDUSTRY_WEIGHTS = {
    "platform": (0.30, 0.05, 0.30, 0.10, 0.05, 0.05, 0.10, 0.05),
    "saas": (0.15, 0.15, 0.10, 0.10, 0.10, 0.10, 0.15, 0.15),
    "hardware": (0.25, 0.15, 0.30, 0.15, 0.05, 0.05, 0.03, 0.02),
    "tool": (0.10, 0.08, 0.05, 0.05, 0.12, 0.10, 0.25, 0.25),
}
REGION_WEIGHTS = (0.22, 0.32, 0.24, 0.12, 0.10)

FUTURE_MONTHS = 24   # simulated beyond as_of for the ground truth

assert len(CHANNELS) == 6 and len(TIERS) == 3
assert all(len(w) == len(INDUSTRIES) for w in INDUSTRY_WEIGHTS.values())
assert len(REGION_WEIGHTS) == len(REGIONS)
