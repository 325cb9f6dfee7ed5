"""Simulated leads: channels, the decision chain, qualification, the funnel and the loss pool."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import CHANNELS, INDUSTRIES, INTENT_LEVELS, LEAD_STATUSES, REGIONS, TIERS
from . import params as P
from ._rand import as_category, categorical, choice, sigmoid

_CH = np.arange(len(CHANNELS))


def _lookup(table: dict, codes: np.ndarray) -> np.ndarray:
    return np.asarray([table[c] for c in CHANNELS])[codes]


def _tier_lookup(table: dict, codes: np.ndarray) -> np.ndarray:
    return np.asarray([table[t] for t in TIERS])[codes]


def _engagement(rng, n, business_type, channel, size, fit):
    """Decision-chain roles, qualification signals and early engagement of n leads."""
    ka, big = size == 0, size <= 1
    dm = rng.random(n) < sigmoid(-0.8 + _lookup(P.CHANNEL_DECISION_MAKER, channel)
                                 + 0.5 * ka + 0.3 * fit)
    online = business_type in ("tool", "platform")
    user = rng.random(n) < sigmoid(-0.2 + 0.3 * fit + 0.9 * online)
    requester = rng.random(n) < sigmoid(-0.7 + 0.7 * big)
    intent_score = 0.9 * fit + np.where(channel == 1, 0.5, np.where(channel == 0, -0.3, 0.0)) \
        + rng.normal(0, 0.8, n)
    intent = np.digitize(intent_score, [-0.4, 0.8])
    budget = rng.random(n) < sigmoid(-0.6 + 0.7 * fit + 0.5 * big)
    visits = rng.poisson(np.exp(0.6 + 0.35 * fit + 0.3 * (intent == 2)))
    trial_days_max = {"tool": 14, "platform": 14, "saas": 4, "hardware": 2}[business_type]
    trial_days = rng.binomial(trial_days_max, sigmoid(-1.0 + 0.4 * fit + rng.normal(0, 0.8, n)))
    return dm, user, requester, intent, budget, visits, trial_days


def _true_steps(business_type, stage, channel, size, fit, dm, user, requester, intent,
                budget, trial_days, reengaged):
    """True probabilities of each funnel step: qualified, engaged | qualified, signed | engaged."""
    b, s = P.BUSINESS[business_type], P.STAGE[stage]
    p_q = sigmoid(0.6 + 0.9 * (intent == 2) + 0.4 * (intent == 1) + 0.6 * budget + 0.4 * dm
                  + 0.3 * fit + 0.5 * _lookup(P.CHANNEL_CONVERSION, channel))
    p_e = sigmoid(0.2 + 0.7 * dm + 0.4 * user + 0.4 * requester
                  + b["trial_days_weight"] * trial_days + 0.3 * fit)
    p_s = sigmoid(b["conversion_base"] + s["conversion_shift"] + 0.9 * dm + 0.5 * budget
                  + _lookup(P.CHANNEL_CONVERSION, channel) + _tier_lookup(P.TIER_CONVERSION, size)
                  + b["trial_days_weight"] * trial_days + 0.5 * fit + 0.5 * reengaged)
    return p_q, p_e, p_s


def _company(rng, n, business_type, stage, channel):
    tilt = np.asarray(P.BUSINESS[business_type]["tier_tilt"])
    mix = np.asarray([P.CHANNEL_SIZE_MIX[c] for c in CHANNELS]) * tilt
    size = categorical(rng, mix[channel])
    mu, sd = (np.asarray([P.TIER_EMPLOYEES[t][i] for t in TIERS]) for i in (0, 1))
    employees = np.maximum(1, np.round(np.exp(rng.normal(mu[size], sd[size])))).astype(np.int64)
    industry = choice(rng, n, P.INDUSTRY_WEIGHTS[business_type])
    region = choice(rng, n, P.REGION_WEIGHTS)
    return size, employees, industry, region


def expected_conversion(business_type: str, stage: str, rng: np.random.Generator,
                        n: int = 20_000) -> float:
    """Mean true conversion probability of fresh leads (used to size lead volume)."""
    channel = choice(rng, n, P.STAGE[stage]["channel"])
    size, _, _, _ = _company(rng, n, business_type, stage, channel)
    fit = rng.normal(0, 1, n)
    dm, user, req, intent, budget, _, trial = _engagement(rng, n, business_type, channel, size, fit)
    p = _true_steps(business_type, stage, channel, size, fit, dm, user, req, intent, budget,
                    trial, np.zeros(n))
    return float(np.mean(p[0] * p[1] * p[2]))


def _days(rng, mean, n):
    return np.ceil(rng.exponential(mean, n)).astype("timedelta64[D]")


def simulate_leads(rng: np.random.Generator, business_type: str, stage: str, n_leads: int,
                   history_start: np.datetime64, as_of: np.datetime64):
    """Simulate leads created in [history_start, as_of].

    Returns the observed leads table (status as seen at ``as_of``) and the true
    conversion probability of each lead, aligned row by row.
    """
    s = P.STAGE[stage]
    months = s["history_months"]
    # --- first-time leads: volume follows the stage's trend -------------------
    m = choice(rng, n_leads, np.exp(s["lead_trend"] * np.arange(months)))
    start_m = history_start.astype("datetime64[M]")
    created = (start_m + m).astype("datetime64[D]") + rng.integers(0, 28, n_leads).astype(
        "timedelta64[D]")
    channel = choice(rng, n_leads, s["channel"])
    size, employees, industry, region = _company(rng, n_leads, business_type, stage, channel)
    fit = rng.normal(0, 1, n_leads)
    first = _funnel(rng, business_type, stage, created, channel, size, fit,
                    np.zeros(n_leads, bool))
    # --- the loss pool: some lost leads come back once ------------------------
    lost = ~first["signed"]
    back = lost & (rng.random(n_leads) < s["reengage"] * np.where(channel == 0, 1.3, 1.0))
    idx = np.flatnonzero(back)
    created2 = first["outcome_date"][idx] + (30 + _days(rng, 150, len(idx)).astype(int)).astype(
        "timedelta64[D]")
    keep = created2 <= as_of
    idx, created2 = idx[keep], created2[keep]
    fit2 = fit[idx] + 0.3 + rng.normal(0, 0.3, len(idx))
    second = _funnel(rng, business_type, stage, created2, channel[idx], size[idx], fit2,
                     np.ones(len(idx), bool))

    cat = lambda a, b: np.concatenate([a, b])  # noqa: E731
    n2 = len(idx)
    prev_row = np.concatenate([np.full(n_leads, -1), idx])
    created_all = cat(created, created2)
    # ids in order of creation (stable, so same seed -> same ids)
    order = np.lexsort((np.arange(n_leads + n2), created_all))
    new_id = np.empty(n_leads + n2, dtype=np.int64)
    new_id[order] = np.arange(1, n_leads + n2 + 1)
    prev_id = np.where(prev_row >= 0, new_id[np.maximum(prev_row, 0)], -1)

    f = {k: cat(first.pop(k), second.pop(k)) for k in list(first)}
    ch, sz = cat(channel, channel[idx]), cat(size, size[idx])
    # --- what is visible at as_of -------------------------------------------
    done = f["outcome_date"] <= as_of
    status = np.where(done, np.where(f["signed"], 0, 1), 2)
    nat = np.datetime64("NaT")
    qualified = np.where(f["qualified"] & (f["qualified_date"] <= as_of), f["qualified_date"], nat)
    engaged = np.where(f["engaged"] & (f["engaged_date"] <= as_of), f["engaged_date"], nat)
    o = order  # rows in order of creation; build every column already sorted
    n_all = len(new_id)
    prev_sorted = prev_id[o]
    df = pd.DataFrame({
        "lead_id": new_id[o],
        "created_date": created_all[o].astype("datetime64[ns]"),
        "business_type": pd.Categorical.from_codes(
            np.full(n_all, list(P.BUSINESS).index(business_type), np.int8),
            categories=list(P.BUSINESS)),
        "channel": as_category(ch[o], CHANNELS),
        "company_size": as_category(sz[o], TIERS),
        "employees": cat(employees, employees[idx])[o],
        "industry": as_category(cat(industry, industry[idx])[o], INDUSTRIES),
        "region": as_category(cat(region, region[idx])[o], REGIONS),
        "decision_maker_engaged": f["dm"][o],
        "user_engaged": f["user"][o],
        "requester_engaged": f["requester"][o],
        "intent": as_category(f["intent"][o], INTENT_LEVELS),
        "budget_confirmed": f["budget"][o],
        "site_visits": f["visits"][o].astype(np.int64),
        "trial_active_days": f["trial_days"][o].astype(np.int64),
        "reengaged_from_loss_pool": cat(np.zeros(n_leads, bool), np.ones(n2, bool))[o],
        "previous_lead_id": pd.arrays.IntegerArray(np.where(prev_sorted > 0, prev_sorted, 0),
                                                   prev_sorted <= 0),
        "qualified_date": qualified[o].astype("datetime64[ns]"),
        "engaged_date": engaged[o].astype("datetime64[ns]"),
        "status": as_category(status[o], LEAD_STATUSES),
        "outcome_date": np.where(done, f["outcome_date"], nat)[o].astype("datetime64[ns]"),
        "account_id": pd.arrays.IntegerArray(np.zeros(n_all, np.int64), np.ones(n_all, bool)),
    }, copy=False)  # no consolidation copy
    return df, f["p_convert"][order], fit_of(order, fit, fit2)


def fit_of(order, fit, fit2):
    return np.concatenate([fit, fit2])[order]


def _funnel(rng, business_type, stage, created, channel, size, fit, reengaged):
    n = len(created)
    dm, user, req, intent, budget, visits, trial = _engagement(rng, n, business_type, channel,
                                                               size, fit)
    p_q, p_e, p_s = _true_steps(business_type, stage, channel, size, fit, dm, user, req, intent,
                                budget, trial, reengaged)
    u = rng.random((3, n))
    q = u[0] < p_q
    e = q & (u[1] < p_e)
    signed = e & (u[2] < p_s)
    q_date = created + _days(rng, 4, n)
    e_date = q_date + _days(rng, 12, n)
    close_mean = np.array([90.0, 45.0, 25.0])[size] * (0.4 if business_type == "tool" else 1.0)
    sign_date = e_date + (10 + np.ceil(rng.exponential(close_mean))).astype(int).astype(
        "timedelta64[D]")
    lost_date = np.where(~q, q_date, np.where(~e, e_date, sign_date)) + _days(rng, 7, n)
    out = np.where(signed, sign_date, lost_date)
    # contracts start on day 1-28 so whole months can be added exactly
    day = (out - out.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    out = np.where(signed & (day > 27), out - (day - 27).astype("timedelta64[D]"), out)
    return dict(dm=dm, user=user, requester=req, intent=intent, budget=budget, visits=visits,
                trial_days=trial, qualified=q, engaged=e, signed=signed, qualified_date=q_date,
                engaged_date=e_date, outcome_date=out, p_convert=p_q * p_e * p_s)
