"""Simulated customer lifetimes: monthly churn hazards, renewals, orders, usage and support.

Each account is expanded into one row per month from its first contract to
``as_of + FUTURE_MONTHS`` (in chunks of accounts, so memory stays bounded). The
true monthly hazard of each row follows the mechanisms in ``params``; annual
contracts accumulate twelve monthly hazards into one decision at the renewal
date. Rows after the churn month are dropped; rows after ``as_of`` feed only the
ground truth.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import CHURN_REASONS, CONTRACT_OUTCOMES, CONTRACT_TERMS, TIERS
from . import params as P
from ._rand import (add_months, dates_from_parts, first_true, month_parts, segment_cumsum,
                    segment_starts, sigmoid, within_index)

CHUNK = 25_000
ANNUAL = CONTRACT_TERMS.index("annual")
_BIG = 10**9


def competitor_campaigns(rng, stage: str, n_months: int) -> np.ndarray:
    """Boolean [industry, month] grid of competitor poaching campaigns."""
    from ..schema import INDUSTRIES
    grid = np.zeros((len(INDUSTRIES), n_months), dtype=bool)
    k = rng.poisson(P.STAGE[stage]["poaching"] * n_months / 12)
    ind = rng.integers(0, len(INDUSTRIES), k)
    first = rng.integers(0, n_months, k)
    length = rng.integers(3, 10, k)
    for i, f, ln in zip(ind, first, length):  # a handful of campaigns, not accounts
        grid[i, f:f + ln] = True
    return grid


def _lookup_tier(table, tier):
    return np.asarray([table[t] for t in TIERS])[tier]


def _health(lat, r, t):
    return (lat["health0"][r] + lat["drift"][r] * t
            - lat["decline_slope"][r] * np.maximum(0.0, t - lat["decline_onset"][r]))


def poaching_declines(rng, lat, m0, T, hist_m, campaigns):
    """Competitors poach: a campaign in the account's industry starts its usage decline.

    With probability ``POACHED_DECLINE_SHARE`` an account whose life sees a campaign
    start in its industry begins to decline at that month (if not declining already).
    Updates ``lat['decline_onset']`` and ``lat['decline_slope']`` (chunk-local) and
    returns the boolean ``poached`` per account.
    """
    n = len(m0)
    if P.POACHED_DECLINE_SHARE <= 0:  # off: no random draws, the stream stays as it was
        return np.zeros(n, bool)
    starts = campaigns & ~np.c_[np.zeros((len(campaigns), 1), bool), campaigns[:, :-1]]
    first = np.full(n, np.inf)
    rel0 = m0 - hist_m.astype(np.int64)
    for ind, col in zip(*np.nonzero(starts)):  # a handful of campaigns, not accounts
        t_c = col - rel0 + 1  # month of each account's life when the campaign starts
        hit = (lat["industry"] == ind) & (t_c >= 1) & (t_c <= T) & (t_c < first)
        first = np.where(hit, t_c, first)
    poached = (np.isfinite(first) & (rng.random(n) < P.POACHED_DECLINE_SHARE)
               & (first < lat["decline_onset"]))
    slope = rng.uniform(0.1, 0.3, n)
    lat["decline_slope"] = np.where(poached & (lat["decline_slope"] == 0), slope,
                                    lat["decline_slope"])
    lat["decline_onset"] = np.where(poached, first, lat["decline_onset"])
    return poached


def _chunk(rng, acc, lat, business_type, stage, hist_m, as_of, horizon_m, campaigns):
    b, s = P.BUSINESS[business_type], P.STAGE[stage]
    m0, d0 = month_parts(acc["first_contract_date"])  # per account: month number, day
    T = (horizon_m.astype(np.int64) - m0 + 1).clip(1)
    poached = poaching_declines(rng, lat, m0, T, hist_m, campaigns)
    r = np.repeat(np.arange(len(m0)), T)
    t = within_index(T) + 1
    cal = m0[r] + (t - 1)  # calendar month number of each row
    # log-odds of churn = per-account constant + a few per-row terms (see params)
    tier, n_acc = lat["tier"], len(m0)
    hw = _lookup_tier(P.HEALTH_WEIGHT, tier)
    price_term = _lookup_tier(P.PRICE_SENSITIVITY, tier) * lat["log_price_rel"]
    const = (b["churn_base"] + s["churn_shift"] + _lookup_tier(P.TIER_CHURN, tier) + price_term
             + hw * (0.5 - lat["health0"]) + P.ONBOARDING_EFFECT * acc["onboarding"]
             + P.UNRESOLVED_EFFECT * (lat["unresolved_share"] - 0.2))
    overpromise = P.OVERPROMISE_EFFECT * b["overpromise_factor"] * acc["overpromised"]
    poach_col = cal - hist_m.astype(np.int64)
    # health(t) = health0 + drift t - slope max(0, t - onset); weight hw on (0.5 - health)
    eta = (const[r] - (hw * lat["drift"])[r] * t
           + (hw * lat["decline_slope"])[r] * np.maximum(0.0, t - lat["decline_onset"][r])
           + overpromise[r] * np.where(t <= 12, 1.0, 0.4)
           + P.POACHING_EFFECT * campaigns[lat["industry"][r], poach_col])
    h = np.clip(sigmoid(eta), 1e-9, 0.999)
    del eta
    annual = lat["term"][r] == ANNUAL
    renewal = annual & (t % 12 == 0)
    if annual.any():
        cum = segment_cumsum(np.log1p(-h), T)
        idx = np.arange(len(t))
        prev = np.where(t > 12, cum[np.maximum(idx - 12, 0)], 0.0)
        q = np.where(renewal, -np.expm1(cum - prev), 0.0)
        del cum, prev, idx
        p_event = np.where(annual, q, h)
    else:
        q = p_event = h
    churn_row = rng.random(len(t)) < p_event
    tc = first_true(churn_row, T) + 1          # churn month (1-based); T + 1 = none
    churned = tc <= T
    alive = t <= tc[r]

    # --- the recorded reason for churn: the terms pushing hardest at that month ---
    t_at = np.minimum(tc, T)
    rows = np.arange(n_acc)
    at = segment_starts(T) + t_at - 1
    # product fit: the sales over-promise (its direct effect, and the usage decline of
    # an over-promised account) and a product that never fitted (health below 0.5 from
    # the start); competitor: a campaign running now, or the usage decline a campaign
    # started; disengaged: usage that decayed for no modelled cause; other: the base
    # hazard no lever explains (budget cut, company closed or merged)
    decay = np.maximum(0.0, hw * (lat["decline_slope"] * np.maximum(
        0.0, t_at - lat["decline_onset"]) - lat["drift"] * t_at))
    unmet = (acc["overpromised"] > 0) & ~poached   # the promise unmet: usage fades
    w = np.column_stack([
        overpromise * np.where(t_at <= 12, 1.0, 0.4) + np.maximum(
            0.0, hw * (0.5 - lat["health0"])) + np.where(unmet, decay, 0.0),
        P.POACHING_EFFECT * campaigns[lat["industry"], poach_col[at]]
        + np.where(poached, decay, 0.0),
        np.maximum(0.0, price_term),
        np.where(poached | unmet, 0.0, decay),
        np.full(n_acc, P.OTHER_CAUSE_WEIGHT)])
    cum_w = np.cumsum(w, axis=1)
    cause = (rng.random(n_acc)[:, None] * cum_w[:, -1:] >= cum_w).sum(axis=1)
    cause = np.where(churned, cause, -1)

    out = {"T": T, "tc": tc, "churned": churned, "cause": cause}
    # --- ground-truth hazard per contract period ------------------------------
    # hazards continue past the realised churn (flagged), so that oracle
    # probabilities over a horizon of up to FUTURE_MONTHS are exact at any snapshot
    keep = (t <= tc[r] + P.FUTURE_MONTHS) & (~annual | renewal)
    period = np.where(annual, t // 12, t)[keep]
    out["truth"] = dict(row=r[keep], period=period.astype(np.int64),
                        period_end=dates_from_parts(m0[r[keep]] + t[keep], d0[r[keep]]),
                        hazard=np.where(annual, q, h)[keep], after_churn=~alive[keep])
    # --- monthly usage and support, observed up to as_of -----------------------
    # complete calendar months up to as_of (integer month numbers: no date arithmetic)
    last_m = as_of.astype("datetime64[M]")
    if (last_m + 1).astype("datetime64[D]") - np.timedelta64(1, "D") != as_of:
        last_m = last_m - 1
    obs = np.flatnonzero(alive & (cal <= last_m.astype(np.int64)))
    ro = r[obs]
    hl = _health(lat, ro, t[obs])
    seats = acc["seats"][ro]
    share = 0.15 + 0.8 * sigmoid(3.0 * (hl - 0.5))
    # normal approximations of binomial / Poisson draws: 3x faster at these sizes
    active = np.clip(np.rint(seats * share + np.sqrt(seats * share * (1 - share))
                             * rng.standard_normal(len(obs))), 0, seats).astype(np.int64)
    adoption = np.round(sigmoid(1.5 * (hl - 0.5) + rng.normal(0, 0.3, len(obs))), 4)
    lam = active * 10.0 * np.exp(0.3 * np.clip(hl - 0.5, -3, 3))
    logins = np.maximum(0, np.rint(lam + np.sqrt(lam) * rng.standard_normal(len(obs)))).astype(
        np.int64)
    if b["inactive_month_rate"] > 0:
        idle = rng.random(len(obs)) < b["inactive_month_rate"]
        active, logins = np.where(idle, 0, active), np.where(idle, 0, logins)
        adoption = np.where(idle, 0.0, adoption)
    tickets = rng.poisson(0.3 + 0.08 * seats ** 0.6 * np.exp(-0.4 * np.clip(hl - 0.5, -3, 3)))
    unresolved = rng.binomial(tickets, lat["unresolved_share"][ro])
    ka = lat["tier"][ro] == 0
    bot = np.where(ka, 0, rng.poisson(1.0 + 0.15 * active ** 0.7))
    p_fail = np.clip(0.3 + 0.15 * acc["overpromised"][ro] + 0.1 * (hl < 0), 0, 0.95)
    escalations = rng.binomial(bot, p_fail ** 3)
    out["monthly"] = dict(row=ro, month=dates_from_parts(cal[obs]), active_seats=active,
                          key_feature_adoption=adoption, logins=logins, tickets_opened=tickets,
                          tickets_unresolved=unresolved, bot_sessions=bot,
                          bot_escalations=escalations)
    if business_type == "hardware":
        r_order = sigmoid(-1.6 + 0.35 * np.log1p(t) + 0.8 * (_health(lat, r, t) - 0.5))
        order = alive & ((t == 1) | (rng.random(len(t)) < r_order))
        od = np.flatnonzero(order)
        out["orders"] = dict(row=r[od], date=dates_from_parts(m0[r[od]] + t[od] - 1, d0[r[od]]),
                             k=segment_cumsum(order.astype(np.int64), T)[od])
    return out


def _elapsed_months(start: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """Whole months m with start + m months <= as_of."""
    sm = start.astype("datetime64[M]")
    am = as_of.astype("datetime64[M]")
    sday = (start - sm.astype("datetime64[D]")).astype(np.int64)
    aday = (as_of - am.astype("datetime64[D]")).astype(np.int64)
    return (am - sm).astype(np.int64) - (aday < sday)


def iter_lifecycle(seed_seq, accounts: pd.DataFrame, latent: dict, business_type: str,
                   stage: str, history_start, as_of, progress: bool | None = None,
                   workers: int = 1, finish=None, started=None):
    """Lifetimes of accounts in chunks of ``CHUNK``; memory stays bounded.

    Yields, per chunk, a tuple of DataFrames (contracts, usage, support,
    truth_hazard, truth_accounts); contract ids run on across chunks.
    Each chunk has its own random stream, so ``workers > 1`` (forked
    processes, chunks in order) gives the same rows as ``workers=1``.
    ``finish(chunk) -> chunk`` runs in the worker (e.g. oracle scores);
    ``started()`` runs in this process once the workers are forked and busy.
    """
    import multiprocessing as mp
    import sys

    from tqdm.auto import tqdm
    n = len(accounts)
    as_of = np.datetime64(as_of, "D")
    hist_m = np.datetime64(history_start, "M")
    horizon_m = as_of.astype("datetime64[M]") + P.FUTURE_MONTHS
    n_chunks = max(1, -(-n // CHUNK))
    camp_rng, *chunk_seeds = [np.random.default_rng(s) for s in seed_seq.spawn(1 + n_chunks)]
    campaigns = competitor_campaigns(camp_rng, stage, int((horizon_m - hist_m).astype(int)) + 1)
    _STATE.update(accounts=accounts, latent=latent, seeds=chunk_seeds, finish=finish,
                  args=(business_type, stage, hist_m, as_of, horizon_m, campaigns))
    show = sys.stderr.isatty() if progress is None else progress
    bar = dict(total=n_chunks, desc=f"simulate {business_type}", unit="chunk",
               disable=not show or n <= CHUNK)
    n_contracts = 0
    pool = (mp.get_context("fork").Pool(workers)
            if workers > 1 and n_chunks > 1 and "fork" in mp.get_all_start_methods() else None)
    try:
        parts = pool.imap(_lifecycle_chunk, range(n_chunks)) if pool else map(
            _lifecycle_chunk, range(n_chunks))
        if started is not None:
            started()
        for out in tqdm(parts, **bar):
            out[0]["contract_id"] += n_contracts
            n_contracts += len(out[0])
            yield out
    finally:
        if pool:
            pool.terminate()
        _STATE.clear()


_STATE: dict = {}  # inputs of the current iter_lifecycle run, inherited by forked workers


def _lifecycle_chunk(c: int):
    s = _STATE
    business_type, stage, hist_m, as_of, horizon_m, campaigns = s["args"]
    sl = slice(c * CHUNK, min(len(s["accounts"]), (c + 1) * CHUNK))
    accounts = s["accounts"].iloc[sl]
    acc = {"first_contract_date": accounts["first_contract_date"].to_numpy(),
           "seats": accounts["seats"].to_numpy(),
           "overpromised": accounts["sales_overpromised"].to_numpy(),
           "onboarding": accounts["onboarding_completed"].to_numpy()}
    lat = {k: v[sl] for k, v in s["latent"].items()}
    part = _chunk(s["seeds"][c], acc, lat, business_type, stage, hist_m, as_of, horizon_m,
                  campaigns)
    part["offset"] = 0
    out = list(_assemble([part], accounts, lat, business_type, as_of))
    return s["finish"](out) if s["finish"] else out


def simulate_lifecycle(seed_seq, accounts: pd.DataFrame, latent: dict, business_type: str,
                       stage: str, history_start, as_of, progress: bool | None = None):
    """Lifetimes of all accounts: (contracts, usage, support, truth_hazard, truth_accounts)."""
    chunks = list(iter_lifecycle(seed_seq, accounts, latent, business_type, stage,
                                 history_start, as_of, progress))
    return tuple(pd.concat([c[i] for c in chunks], ignore_index=True) if len(chunks) > 1
                 else chunks[0][i] for i in range(5))


def _cat(parts, key, field, offset=False):
    arrays = [p[key][field] + (p["offset"] if offset else 0) for p in parts]
    return np.concatenate(arrays) if arrays else np.array([])


def _assemble(parts, accounts, latent, business_type, as_of):
    ids = accounts["account_id"].to_numpy()
    start = accounts["first_contract_date"].to_numpy().astype("datetime64[D]")
    n = len(ids)
    tc = np.concatenate([p["tc"] for p in parts]) if parts else np.zeros(0, np.int64)
    churned = np.concatenate([p["churned"] for p in parts]) if parts else np.zeros(0, bool)
    cause = np.concatenate([p["cause"] for p in parts]) if parts else np.zeros(0, np.int64)
    churn_date = np.where(churned, add_months(start, np.where(churned, tc, 0)),
                          np.datetime64("NaT"))
    reason = pd.Categorical.from_codes(cause.astype(np.int8), list(CHURN_REASONS))

    # usage and support
    row = _cat(parts, "monthly", "row", offset=True).astype(np.int64)
    m = {k: _cat(parts, "monthly", k) for k in parts[0]["monthly"]} if parts else {}
    month = np.asarray(m.get("month", []), dtype="datetime64[D]").astype("datetime64[ns]")
    acc_id = ids[row]

    def ints(k):
        return np.asarray(m.get(k, []), dtype=np.int64)

    usage = pd.DataFrame({"account_id": acc_id, "month": month,
                          "active_seats": ints("active_seats"),
                          "key_feature_adoption": np.asarray(m.get("key_feature_adoption", []),
                                                             dtype=np.float64),
                          "logins": ints("logins")}, copy=False)
    support = pd.DataFrame({"account_id": acc_id, "month": month} | {
        k: ints(k) for k in ("tickets_opened", "tickets_unresolved", "bot_sessions",
                             "bot_escalations")}, copy=False)

    contracts = _contracts(parts, accounts, latent, business_type, as_of, tc, churned, reason)
    truth_hazard = pd.DataFrame({
        "account_id": ids[_cat(parts, "truth", "row", offset=True).astype(np.int64)],
        "period": _cat(parts, "truth", "period").astype(np.int64),
        "period_end": _cat(parts, "truth", "period_end").astype("datetime64[ns]"),
        "hazard": _cat(parts, "truth", "hazard").astype(np.float64),
        "after_churn": _cat(parts, "truth", "after_churn").astype(bool),
    })
    truth_accounts = pd.DataFrame({
        "account_id": ids,
        "churn_date": churn_date.astype("datetime64[ns]"),
        "churn_cause": reason,
        "unresolved_share": latent["unresolved_share"],
        "decline_onset_month": latent["decline_onset"],
    })
    return contracts, usage, support, truth_hazard, truth_accounts


def _contracts(parts, accounts, latent, business_type, as_of, tc, churned, reason):
    ids = accounts["account_id"].to_numpy()
    start = accounts["first_contract_date"].to_numpy().astype("datetime64[D]")
    arr = accounts["arr"].to_numpy()
    nat = np.datetime64("NaT")
    n = len(ids)
    if business_type == "platform":
        k = np.ones(n, dtype=np.int64)
        out = dict(account_id=ids, period=k, start_date=start,
                   end_date=np.full(n, nat, "datetime64[D]"), arr=arr,
                   outcome=np.full(n, CONTRACT_OUTCOMES.index("open")),
                   reason=np.full(n, -1))
    elif business_type == "hardware":
        row = _cat(parts, "orders", "row", offset=True).astype(np.int64)
        date = _cat(parts, "orders", "date").astype("datetime64[D]")
        k = _cat(parts, "orders", "k").astype(np.int64)
        seen = date <= as_of
        row, date, k = row[seen], date[seen], k[seen]
        nxt = np.append(date[1:], nat)
        has_next = np.append(row[1:] == row[:-1], False)
        lapse_end = add_months(date, P.LAPSE_MONTHS)
        churn = ~has_next & (lapse_end <= as_of)
        end = np.where(has_next, nxt, np.where(churn, lapse_end, nat))
        outcome = np.where(has_next, 0, np.where(churn, 1, 2))
        value = np.round(arr[row] * (1 + 0.3 * (k - 1)), 2)
        out = dict(account_id=ids[row], period=k, start_date=date, end_date=end, arr=value,
                   outcome=outcome, reason=np.where(churn, reason.codes[row], -1))
    else:
        L = np.where(latent["term"] == ANNUAL, 12, 1)
        k_asof = _elapsed_months(start, as_of) // L + 1
        k_churn = np.where(churned, tc // L, _BIG)
        K = np.minimum(k_asof, k_churn).clip(1)
        r = np.repeat(np.arange(n), K)
        k = within_index(K) + 1
        m0, d0 = month_parts(start)
        p_start = dates_from_parts(m0[r] + (k - 1) * L[r], d0[r])
        p_end = dates_from_parts(m0[r] + k * L[r], d0[r])
        outcome = np.where(p_end > as_of, 2, np.where(k == k_churn[r], 1, 0))
        years = ((k - 1) * L[r]) // 12
        value = np.round(arr[r] * np.exp(latent["growth"][r] * years), 2)
        out = dict(account_id=ids[r], period=k, start_date=p_start, end_date=p_end, arr=value,
                   outcome=outcome, reason=np.where(outcome == 1, reason.codes[r], -1))
    m = len(out["account_id"])
    return pd.DataFrame({
        "contract_id": np.arange(1, m + 1, dtype=np.int64),
        "account_id": out["account_id"].astype(np.int64),
        "period": out["period"].astype(np.int64),
        "start_date": out["start_date"].astype("datetime64[ns]"),
        "end_date": out["end_date"].astype("datetime64[ns]"),
        "arr": out["arr"].astype(np.float64),
        "outcome": pd.Categorical.from_codes(out["outcome"].astype(np.int8),
                                             list(CONTRACT_OUTCOMES)),
        "churn_reason": pd.Categorical.from_codes(np.asarray(out["reason"]).astype(np.int8),
                                                  list(CHURN_REASONS)),
    })
