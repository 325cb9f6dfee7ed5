"""Person-months: one row per account per month at risk, with what was known at that month.

Month ``k`` of an account is the interval ``(start + k-1 months, start + k months]``
on the calendar-month clock of :mod:`tobmodel.renewal.features` (anniversaries
fall on whole numbers). Its covariates use only data known when the month
begins: usage and support of the calendar months completed before
``start + k-1 months``, orders and contracts started by then, and the clocks
(tenure, months to the next renewal). A value dated later never reaches the
row (tested by planting a future value).

The event of month ``k`` is churn dated in this month:

* saas / tool: a contract ended ``churned`` at the end of the month (annual
  accounts can churn only at an anniversary, so only their renewal months are
  at risk: ``at_risk``);
* hardware: the lapse deadline (last order + 12 months) fell in the month;
* platform: churn is dated at the first of ``INACTIVE_MONTHS`` months without a
  login, so the event is the month holding that first day. It is known only
  once those months have passed: an account with one or two months without a
  login at ``as_of`` may already have churned. :func:`inactive_run_churn`
  measures how often such a run went on to become a churn (the scoring side
  adds it: P = q + (1 - q) * P(model)).

Accounts still active at ``as_of`` contribute their complete months (censored);
:func:`current_month` gives the running month of each active account for
scoring, built by the same code as the training rows, with one difference: its
usage and support cover every calendar month complete at ``as_of``, which can be
one month more than the running month's start knew (a month that ended since).
Scoring uses what is known now; on 10,000 accounts this raised Uno's C by
0.010-0.035 (``benchmarks/bench_dynamic_headroom.py``).

Examples
--------
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", n_accounts=300, seed=2)
>>> pm = person_months(sim)
>>> bool(pm.groupby("account_id")["churn"].sum().le(1).all())
True
>>> now = current_month(sim)
>>> bool((now["tenure_months"] < now["month_index"]).all())
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..survival import INACTIVE_MONTHS, survival_view
from .features import (BOOLEAN, _last_complete_month, _next_renewal, _relative_price,
                       add_calendar_months, calendar_months)

ID = "account_id"
#: behaviour covariates, measured over calendar months completed before each month began
BEHAVIOUR = ("active_seat_share_1m", "active_seat_share_3m", "seat_share_trend",
             "key_feature_adoption_3m", "logins_trend", "inactive_months",
             "unresolved_share_to_date", "unresolved_tickets_6m", "bot_escalations_6m",
             "tickets_per_seat_6m", "log_arr_change", "months_since_last_order",
             "active_seat_share_12m", "key_feature_adoption_12m", "peer_churn_3m", "no_history")
#: clocks: known in advance for every future month (advanced when projecting)
CLOCKS = ("tenure_at_month_start", "first_year", "renewal_number")
STATIC_NUMERIC = ("log_seats", "price_vs_tier_median", *BOOLEAN)
STATIC_CATEGORICAL = ("tier", "contract_term", "industry")
_PANEL = ("logins", "active_seats", "key_feature_adoption", "tickets_opened",
          "tickets_unresolved", "bot_escalations")


def inactive_run_churn(data, as_of=None, business_type: str | None = None) -> dict:
    """Share of runs of ``j`` months without a login (j < ``INACTIVE_MONTHS``) that went on
    to become a platform churn, over the account-months whose outcome was known by ``as_of``.

    Returns ``{j: share}``; empty for other business types.
    """
    tables = _tables(data)
    sv, acc, as_of, btype, start, churned, tenure = _accounts(tables, as_of, business_type)
    if btype != "platform":
        return {}
    ids = sv[ID].to_numpy()
    start_m = start.astype("datetime64[M]").astype(np.int64)
    span = np.clip(np.datetime64(as_of, "M").astype(np.int64) - start_m + 1, 1, None)
    panel, offset = _panel(tables, ids, start_m, span, as_of)
    seg = np.repeat(offset, span)
    rel = np.arange(int(span.sum())) - seg
    run = rel - panel["last_login"]
    complete = np.repeat(span - 2, span)  # the as_of month is running
    out = {}
    for j in range(1, INACTIVE_MONTHS):
        ahead = INACTIVE_MONTHS - j
        cell = np.flatnonzero((run == j) & (rel + ahead <= complete))
        if len(cell):
            out[j] = float(np.mean(run[cell + ahead] == INACTIVE_MONTHS))
    return out


def outcome_known(data, pm: pd.DataFrame) -> np.ndarray:
    """Per row of ``pm`` (:func:`person_months` of ``data``): is its outcome known at the
    rows' as-of date? (:func:`person_months` gives it as the column ``outcome_known``;
    this reads that column when ``pm`` has it.)

    On a platform a churn is dated at the first day of a run of ``INACTIVE_MONTHS``
    calendar months without a login and known only when the run is complete. An account
    not churned at ``as_of`` whose last complete months had no login may still become
    a churn dated at the start of that run: its rows from the month holding that day
    on are labelled "no churn" though their outcome is not known yet. They are False
    here (the account is censored where its state stops being known); every other
    row, and every row of other business types, is True.
    """
    if "outcome_known" in pm:
        return pm["outcome_known"].to_numpy(bool)
    if pm.attrs.get("business_type") != "platform" or not len(pm):
        return np.ones(len(pm), bool)
    as_of = pd.Timestamp(pm.attrs["as_of"])
    tables = _tables(data)
    return _outcome_known(tables, survival_view(tables, as_of=as_of, business_type="platform"),
                          as_of, pm)


def _outcome_known(tables, sv, as_of, pm) -> np.ndarray:
    """:func:`outcome_known` of platform rows ``pm`` given the survival view ``sv``."""
    known = np.ones(len(pm), bool)
    open_ = ~sv["churned"].to_numpy(bool)
    ids = sv[ID].to_numpy()[open_]
    start = sv["start_date"].to_numpy().astype("datetime64[ns]")[open_]
    # complete calendar months, as survival_view counts
    end_m = np.datetime64(int(_last_complete_month(as_of)), "M")
    u = tables["usage"]
    month = u["month"].to_numpy().astype("datetime64[M]")
    seen = (u["logins"].to_numpy() > 0) & (month <= end_m)
    last = pd.Series(month[seen].astype(np.int64)).groupby(
        u[ID].to_numpy()[seen]).max()
    first_quiet = (pd.Index(last.index).get_indexer(ids) >= 0)
    m0 = np.where(first_quiet, last.reindex(ids).to_numpy(np.float64) + 1,
                  start.astype("datetime64[M]").astype(np.int64)).astype(np.int64)
    quiet = m0 <= end_m.astype(np.int64)          # at least one complete month without a login
    run_start = m0.astype("datetime64[M]").astype("datetime64[ns]")
    pos = pd.Index(ids[quiet]).get_indexer(pm[ID].to_numpy())
    hit = pos >= 0
    if hit.any():
        r = np.flatnonzero(hit)
        row_end = add_calendar_months(start[quiet][pos[r]], pm["month_index"].to_numpy()[r])
        known[r] = row_end < run_start[quiet][pos[r]]
    return known


def _tables(data) -> dict:
    return data.tables if hasattr(data, "tables") else dict(data)


def _accounts(tables, as_of, business_type):
    sv = survival_view(tables, as_of=as_of, business_type=business_type)
    as_of = pd.Timestamp(sv.attrs["as_of"])
    btype = sv.attrs["business_type"]
    acc = tables["accounts"].set_index(ID).loc[sv[ID].to_numpy()]
    start = sv["start_date"].to_numpy().astype("datetime64[ns]")
    end = sv["end_date"].to_numpy().astype("datetime64[ns]")
    churned = sv["churned"].to_numpy().astype(bool)
    tenure = np.maximum(calendar_months(start, end), 1 / 31)
    return sv, acc, as_of, btype, start, churned, tenure


def person_months(data, as_of=None, business_type: str | None = None) -> pd.DataFrame:
    """Training rows: every complete month at risk of every account, known-at-the-time covariates.

    Parameters
    ----------
    data : Simulation or dict of DataFrame
        ``accounts, contracts, usage, support`` (:mod:`tobmodel.schema`).
    as_of : date-like, optional
        Use only what was known by this date (default: the data's as-of).
    business_type : str, optional
        Needed only when ``accounts`` mixes business types.

    Returns
    -------
    DataFrame with ``account_id, month_index`` (k = 1, 2, ...), ``month_start``,
    ``churn`` (1 in the month the churn is dated in), ``outcome_known`` (False for
    the months whose outcome is not known yet at ``as_of``: a platform's current
    run without a login, :func:`outcome_known`), ``at_risk`` (False for the
    months of annual contracts between anniversaries), the clocks
    :data:`CLOCKS`, the behaviour covariates :data:`BEHAVIOUR` and the static
    account covariates. ``attrs``: ``as_of``, ``business_type``,
    ``inactive_run_churn`` (platform, see :func:`inactive_run_churn`).
    """
    tables = _tables(data)
    sv, acc, as_of, btype, start, churned, tenure = _accounts(tables, as_of, business_type)
    k_last = np.where(churned, np.ceil(tenure - 1e-9), np.floor(tenure)).astype(np.int64)
    k_last = np.where(churned, np.maximum(k_last, 1), k_last)
    r = np.repeat(np.arange(len(start)), k_last)
    k = _within(k_last) + 1
    event = churned[r] & (k == k_last[r])
    out = _rows(tables, acc, sv, start, r, k, as_of, btype)
    out["churn"] = event.astype(np.int8)
    out["outcome_known"] = (_outcome_known(tables, sv, as_of, out) if btype == "platform"
                            else np.ones(len(out), bool))
    out.attrs.update(as_of=str(as_of.date()), business_type=btype,
                     inactive_run_churn=inactive_run_churn(tables, as_of, btype))
    return out


def current_month(data, as_of=None, business_type: str | None = None) -> pd.DataFrame:
    """The running month of every active account at ``as_of``: what scoring projects from.

    Same columns as :func:`person_months` (without ``churn``) plus the scoring
    columns of :func:`~tobmodel.renewal.build_account_features`: ``as_of,
    tenure_months, active, next_renewal_date, months_to_next_renewal``.

    The behaviour covariates (usage, support, months without a login, peer churn)
    cover every calendar month complete at the end of the day ``as_of``: a month
    that ended after the running month began is included (a training row of the
    same month would not have it yet), a month still running is not. Clocks,
    contracts and orders are those of the running month's start.
    """
    tables = _tables(data)
    sv, acc, as_of, btype, start, churned, tenure = _accounts(tables, as_of, business_type)
    keep = np.flatnonzero(~churned)
    s = tenure[keep]
    k = np.floor(s).astype(np.int64) + 1
    out = _rows(tables, acc, sv, start, keep, k, as_of, btype, now=True)
    out.insert(2, "as_of", np.full(len(out), np.datetime64(as_of, "ns")))
    out.insert(3, "tenure_months", s)
    out["active"] = True
    term = out["contract_term"].astype(str).to_numpy()
    nxt, to_next = _next_renewal(start[keep], s, term, as_of, np.ones(len(keep), bool))
    out["next_renewal_date"], out["months_to_next_renewal"] = nxt, to_next
    out.attrs.update(as_of=str(as_of.date()), business_type=btype)
    return out


def _within(lengths):
    total = int(lengths.sum())
    starts = np.zeros(len(lengths), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)


def _rows(tables, acc, sv, start, r, k, as_of, btype, now=False) -> pd.DataFrame:
    """Covariates of month ``k`` of account ``r`` (arrays of equal length), known at its start;
    with ``now`` (the running months) the behaviour of every calendar month complete at
    ``as_of`` (:func:`current_month`)."""
    ids = sv[ID].to_numpy()
    n = len(ids)
    month_start = add_calendar_months(start[r], k - 1)
    seats = np.maximum(acc["seats"].to_numpy(dtype=float), 1.0)
    term = acc["contract_term"].astype(str).to_numpy()
    annual = term[r] == "annual"
    t0 = (k - 1).astype(float)
    out = {ID: ids[r], "month_index": k, "month_start": month_start,
           "at_risk": ~annual | (k % 12 == 0)}
    out["tenure_at_month_start"] = t0
    out["first_year"] = (t0 < 12).astype(float)
    out["renewal_number"] = np.where(annual, np.ceil(k / 12), k).astype(float)
    # behaviour: calendar months completed before the month began (last = month_start's - 1)
    start_m = start.astype("datetime64[M]").astype(np.int64)
    last_m = month_start.astype("datetime64[M]").astype(np.int64) - 1
    if now:  # the running month: also the month completed since it began, if any
        last_m = np.maximum(last_m, _last_complete_month(as_of))
    as_of_m = np.datetime64(as_of, "M").astype(np.int64)
    span = np.clip(as_of_m - start_m + 1, 1, None)
    panel, offset = _panel(tables, ids, start_m, span, as_of)
    rel = last_m - start_m[r]          # months of history before the month began
    has = rel >= 0
    out["no_history"] = (~has).astype(float)

    def window(name, width, back=0):
        """Sum of ``name`` over the ``width`` months ending ``back`` months before last."""
        c = panel[name]
        hi = rel - back
        lo = hi - width
        get = lambda j: np.where(j >= 0, c[offset[r] + np.clip(j, 0, None)], 0.0)  # noqa: E731
        months = np.clip(np.minimum(hi, span[r] - 1) + 1, 0, None) - np.clip(lo + 1, 0, None)
        return get(np.minimum(hi, span[r] - 1)) - get(lo), np.clip(months, 0, width)

    s12, n12 = window("active_seats", 12)
    a12, _ = window("key_feature_adoption", 12)
    s1, n1 = window("active_seats", 1)
    s3, n3 = window("active_seats", 3)
    p3, m3 = window("active_seats", 3, back=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        share1 = np.where(n1 > 0, s1 / np.maximum(n1, 1) / seats[r], 0.0)
        share3 = np.where(n3 > 0, s3 / np.maximum(n3, 1) / seats[r], 0.0)
        prev3 = np.where(m3 > 0, p3 / np.maximum(m3, 1) / seats[r], share3)
        out["active_seat_share_1m"] = np.clip(share1, 0, 1)
        out["active_seat_share_3m"] = np.clip(share3, 0, 1)
        out["seat_share_trend"] = np.clip(share3 - prev3, -1, 1)
        out["active_seat_share_12m"] = np.clip(np.where(n12 > 0, s12 / np.maximum(n12, 1)
                                                        / seats[r], 0.0), 0, 1)
        out["key_feature_adoption_12m"] = np.where(n12 > 0, a12 / np.maximum(n12, 1), 0.0)
        a3, _ = window("key_feature_adoption", 3)
        out["key_feature_adoption_3m"] = np.where(n3 > 0, a3 / np.maximum(n3, 1), 0.0)
        l3, _ = window("logins", 3)
        lp, _ = window("logins", 3, back=3)
        cur, prev = l3 / np.maximum(n3, 1), lp / np.maximum(m3, 1)
        out["logins_trend"] = np.where((n3 > 0) & (m3 > 0), np.log1p(cur) - np.log1p(prev), 0.0)
        last_login = panel["last_login"]
        ll = np.where(has, last_login[offset[r] + np.clip(np.minimum(rel, span[r] - 1), 0,
                                                           None)], -1)
        out["inactive_months"] = np.where(has, np.minimum(rel - ll, 12), 0).astype(float)
        op, _ = window("tickets_opened", 10**6)
        un, _ = window("tickets_unresolved", 10**6)
        out["unresolved_share_to_date"] = np.where(op > 0, un / np.maximum(op, 1), 0.0)
        u6, _ = window("tickets_unresolved", 6)
        out["unresolved_tickets_6m"] = u6
        out["bot_escalations_6m"], _ = window("bot_escalations", 6)
        t6, _ = window("tickets_opened", 6)
        out["tickets_per_seat_6m"] = t6 / seats[r]
    out["peer_churn_3m"] = _peer_churn(sv, acc, r, last_m, btype)
    arr_change, since_order = _contract_history(tables["contracts"], ids, acc, r, month_start,
                                                btype)
    out["log_arr_change"] = arr_change
    out["months_since_last_order"] = since_order
    # static account covariates
    out["log_seats"] = np.log(seats)[r]
    out["price_vs_tier_median"] = _relative_price(acc, seats)[r]
    for c in BOOLEAN:
        out[c] = acc[c].to_numpy().astype(float)[r]
    for c in STATIC_CATEGORICAL:
        col = acc[c]
        cats = col.cat.categories if hasattr(col, "cat") else sorted(col.astype(str).unique())
        out[c] = pd.Categorical(col.astype(str).to_numpy()[r], categories=[str(x) for x in cats])
    return pd.DataFrame(out)


def _panel(tables, ids, start_m, span, as_of):
    """Dense per-account monthly panel (months start..as_of): cumulative sums of usage
    and support, and the last month with a login (relative month, -1 = none)."""
    offset = np.zeros(len(ids), np.int64)
    np.cumsum(span[:-1], out=offset[1:])
    size = int(span.sum())
    index = pd.Index(ids)
    dense = {c: np.zeros(size) for c in _PANEL}
    as_of_m = np.datetime64(as_of, "M").astype(np.int64)
    for name, cols in (("usage", _PANEL[:3]), ("support", _PANEL[3:])):
        t = tables[name]
        m = t["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
        pos = index.get_indexer(t[ID].to_numpy())
        rel = m - start_m[np.maximum(pos, 0)]
        ok = (pos >= 0) & (rel >= 0) & (rel < span[np.maximum(pos, 0)]) & (m <= as_of_m)
        cell = offset[pos[ok]] + rel[ok]
        for c in cols:
            dense[c] += np.bincount(cell, t[c].to_numpy(dtype=float)[ok], minlength=size)
    seg = np.repeat(offset, span)
    rel_all = np.arange(size) - seg
    active = np.where(dense["logins"] > 0, np.arange(size), -1)
    last = np.maximum.accumulate(active)
    last_rel = np.where(last >= seg, last - seg, -1)
    out = {}
    for c in _PANEL:
        cs = np.cumsum(dense[c])
        base = np.where(offset > 0, cs[np.maximum(offset - 1, 0)], 0.0)
        out[c] = cs - np.repeat(base, span)
    out["last_login"] = np.where(rel_all >= 0, last_rel, -1)
    return out, offset


def _peer_churn(sv, acc, r, last_m, btype, width: int = 3) -> np.ndarray:
    """Churn rate in the account's industry over the ``width`` calendar months ending at
    ``last_m`` (a competitor campaign shows as a wave of churn among peers).

    Only churns already known then: on a platform a churn is known INACTIVE_MONTHS after
    the month it is dated in, so the window ends that much earlier.
    """
    ind = pd.Categorical(acc["industry"].astype(str).to_numpy())
    code, n_ind = ind.codes.astype(np.int64), len(ind.categories)
    start_m = sv["start_date"].to_numpy().astype("datetime64[M]").astype(np.int64)
    end_m = sv["end_date"].to_numpy().astype("datetime64[M]").astype(np.int64)
    churned = sv["churned"].to_numpy().astype(bool)
    lo = int(start_m.min()) if len(start_m) else 0
    n_m = int(max(end_m.max(), last_m.max() if len(last_m) else 0) - lo + 2)
    # accounts in force at the start of each month, and churns dated in it, per industry
    grid_start = np.zeros((n_ind, n_m + 1))
    np.add.at(grid_start, (code, start_m - lo), 1)
    np.add.at(grid_start, (code[churned], end_m[churned] - lo + 1), -1)
    in_force = np.cumsum(grid_start, axis=1)[:, :n_m]
    churns = np.zeros((n_ind, n_m))
    np.add.at(churns, (code[churned], end_m[churned] - lo), 1)
    c_cum = np.cumsum(churns, axis=1)
    f_cum = np.cumsum(in_force, axis=1)
    lag = INACTIVE_MONTHS if btype == "platform" else 0
    hi = np.clip(last_m - lag - lo, -1, n_m - 1)
    lo_w = np.clip(hi - width, -1, n_m - 1)
    get = lambda cum, j: np.where(j >= 0, cum[code[r], np.maximum(j, 0)], 0.0)  # noqa: E731
    n_churn = get(c_cum, hi) - get(c_cum, lo_w)
    exposure = get(f_cum, hi) - get(f_cum, lo_w)
    return np.where(exposure > 0, n_churn / np.maximum(exposure, 1), 0.0)


def _contract_history(contracts, ids, acc, r, when, btype):
    """log(ARR of the contract running at ``when`` / first ARR) and months since the last
    order on or before ``when`` (hardware only; 0 otherwise)."""
    c = contracts[[ID, "start_date", "arr"]]
    pos = pd.Index(ids).get_indexer(c[ID].to_numpy())
    ok = pos >= 0
    p = pos[ok]
    d = c["start_date"].to_numpy().astype("datetime64[D]")[ok].astype(np.int64)
    arr = c["arr"].to_numpy(dtype=float)[ok]
    o = np.lexsort((d, p))
    p, d, arr = p[o], d[o], arr[o]
    first = np.full(len(ids), np.nan)
    has_first = np.r_[True, p[1:] != p[:-1]] if len(p) else np.zeros(0, bool)
    first[p[has_first]] = arr[has_first]
    # the latest contract started on or before `when`, by a search on (account, date) keys
    span = np.int64(10**6)  # days: more than any history
    lo_d = d.min() if len(d) else 0
    key = p * span + (d - lo_d)
    q = r.astype(np.int64) * span + (when.astype("datetime64[D]").astype(np.int64) - lo_d)
    j = np.searchsorted(key, q, side="right") - 1
    found = (j >= 0) & (p[np.maximum(j, 0)] == r)
    cur = np.where(found, arr[np.maximum(j, 0)], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.nan_to_num(np.log(cur / first[r]), nan=0.0, posinf=0.0, neginf=0.0)
    since = np.zeros(len(r))
    if btype == "hardware":
        last = np.where(found, d[np.maximum(j, 0)], 0).astype("datetime64[D]")  # absolute days
        since = np.where(found, np.maximum(calendar_months(last, when), 0.0), 0.0)
    return change, since
