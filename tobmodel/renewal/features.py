"""Account features for renewal models: one row per account, known at a snapshot date.

Time runs in *calendar months* since the first contract (the one month
convention of the package, :func:`tobmodel.survival.calendar_months`): whole
months by the calendar plus the fraction of the running month. Contract
anniversaries then fall on whole numbers (an annual customer renews at exactly
12, 24, ... months), and ``tenure_months`` here equals the survival view's.

Usage and support covariates are measured over the last complete calendar
months before a reference date: ``as_of`` for active accounts and the churn
date for churned ones (measuring a churned account at ``as_of`` would read the
silence after it left: a leak). A month without a usage row while the account
is a customer counts as zero use.

Examples
--------
>>> import tobmodel
>>> from tobmodel.renewal import build_account_features
>>> sim = tobmodel.simulate("saas", n_accounts=300, seed=2)
>>> f = build_account_features(sim.tables)
>>> bool((f["tenure_months"] > 0).all()) and bool((f["active"] == (f["churned"] == 0)).all())
True
>>> a = f[f["active"]]
>>> bool((a["next_renewal_date"] > a["as_of"]).all())
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..survival import MIN_TENURE_MONTHS, add_calendar_months, calendar_months, survival_view

#: default covariates, in the order design columns are built
CATEGORICAL = ("tier", "acquisition_channel", "industry", "region", "contract_term")
BOOLEAN = ("sales_overpromised", "onboarding_completed")
NUMERIC = ("log_seats", "price_vs_tier_median", "logins_trend", "key_feature_adoption_3m",
           "active_seat_share_3m", "unresolved_share_6m", "bot_escalations_6m")
# Measured at the snapshot and tied to the churn rule itself (a hardware lapse is 12
# months without an order), so in a model of tenure it leaks the outcome: kept for
# reading, never a default covariate. Model repurchase gaps instead.
SNAPSHOT_ONLY = ("months_since_last_order",)


def _month_int(dates) -> np.ndarray:
    return np.asarray(dates).astype("datetime64[M]").astype(np.int64)


def _last_complete_month(ref) -> np.ndarray:
    """Index of the last calendar month that ended on or before ``ref``."""
    d = np.asarray(ref).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    month_end = (m + 1).astype("datetime64[D]") - 1
    return m.astype(np.int64) - (d < month_end)


def _window_sums(table, pos, n, last_m, start_m, columns, width):
    """Sum ``columns`` over months ``last_m - width + 1 .. last_m`` (and the block before).

    Returns dict of (current, previous) sums and the number of months of each
    window that fall on or after the start month.
    """
    month = _month_int(table["month"].to_numpy())
    ok = pos >= 0
    p, back = pos[ok], last_m[pos[ok]] - month[ok]
    cur = (back >= 0) & (back < width)
    prev = (back >= width) & (back < 2 * width)
    out = {}
    for c in columns:
        v = table[c].to_numpy(dtype=float)[ok]
        out[c] = (np.bincount(p[cur], v[cur], minlength=n), np.bincount(p[prev], v[prev], n))
    n_cur = np.clip(last_m - np.maximum(start_m, last_m - width + 1) + 1, 0, width)
    n_prev = np.clip((last_m - width) - np.maximum(start_m, last_m - 2 * width + 1) + 1, 0,
                     width)
    return out, n_cur, n_prev


def _check_as_of(tables, as_of):
    acc = tables["accounts"]
    if as_of is None:
        return None
    as_of = pd.Timestamp(as_of)
    first = acc["first_contract_date"].min()
    if pd.notna(first) and as_of <= first:
        raise ValueError(
            f"accounts: as_of={as_of.date()} is on or before the first contract in the data "
            f"({first.date()}); pick an as_of after the data starts")
    return as_of


def build_account_features(tables, as_of=None, business_type: str | None = None
                           ) -> pd.DataFrame:
    """One row per account with tenure, churn status, next renewal and covariates.

    Parameters
    ----------
    tables : dict of DataFrame or Simulation
        ``accounts``, ``contracts``, ``usage`` and ``support`` (``tobmodel.schema``).
    as_of : date-like, optional
        Snapshot date; only data up to it is used. Default: the data's as-of
        date (see :func:`tobmodel.survival_view`).
    business_type : str, optional
        Needed only when ``accounts`` mixes business types.

    Returns
    -------
    DataFrame
        ``account_id, start_date, end_date, as_of, tenure_months`` (calendar
        months, > 0), ``churned`` (0/1), ``active`` (bool), ``contract_term``,
        ``next_renewal_date`` (the end of the contract in force at as_of;
        without one, annual: next anniversary after as_of; monthly: next
        monthly anniversary; none: as_of + 1 month; NaT when churned),
        ``months_to_next_renewal``, ``arr`` (as known at as_of: the contracts in
        force then, else the latest contract started by then; hardware and
        tables without contract values: the accounts table's), the covariates
        ``tier, acquisition_channel, industry, region, sales_overpromised,
        onboarding_completed, log_seats, price_vs_tier_median`` (log of price
        per seat over the tier median), ``logins_trend`` (log ratio of mean
        monthly logins in the last 3 complete months to the 3 before; 0 when
        there is no earlier block), ``key_feature_adoption_3m``,
        ``active_seat_share_3m``, ``unresolved_share_6m``,
        ``bot_escalations_6m``, hardware only ``months_since_last_order`` (for
        reading; not a default covariate, see ``SNAPSHOT_ONLY``),
        and for reason texts ``unresolved_tickets_6m``.

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("hardware", n_accounts=200, seed=3)
    >>> f = build_account_features(sim, as_of="2024-06-30")
    >>> str(f["as_of"].iloc[0].date()), "months_since_last_order" in f
    ('2024-06-30', True)
    """
    tables = tables.tables if hasattr(tables, "tables") else dict(tables)
    missing = [t for t in ("accounts", "contracts", "usage", "support") if t not in tables]
    if missing:
        raise ValueError(f"build_account_features needs tables {missing} (got {sorted(tables)})")
    as_of = _check_as_of(tables, as_of)
    sv = survival_view(tables, as_of=as_of, business_type=business_type)
    as_of = pd.Timestamp(sv.attrs["as_of"])
    business_type = sv.attrs["business_type"]
    acc = tables["accounts"].set_index("account_id").loc[sv["account_id"].to_numpy()]
    n = len(sv)
    ids = sv["account_id"].to_numpy()
    start = sv["start_date"].to_numpy().astype("datetime64[ns]")
    end = sv["end_date"].to_numpy().astype("datetime64[ns]")
    churned = sv["churned"].to_numpy().astype(np.int64)
    active = churned == 0
    tenure = np.maximum(calendar_months(start, end), MIN_TENURE_MONTHS)

    out = pd.DataFrame({"account_id": ids, "start_date": start, "end_date": end,
                        "as_of": np.full(n, np.datetime64(as_of, "ns")),
                        "tenure_months": tenure, "churned": churned, "active": active})
    term = acc["contract_term"]
    out["contract_term"] = pd.Categorical(term.to_numpy(), categories=term.cat.categories
                                          if hasattr(term, "cat") else None)
    nxt, to_next = _next_renewal(start, tenure, term.astype(str).to_numpy(), as_of, active)
    nxt, to_next = _open_contract_end(tables["contracts"], ids, start, tenure, as_of, active,
                                      nxt, to_next)
    out["next_renewal_date"] = nxt
    out["months_to_next_renewal"] = to_next
    arr = _arr_at(tables["contracts"], ids, acc["arr"].to_numpy(dtype=float), as_of,
                  business_type)
    out["arr"] = arr
    for c in ("tier", "acquisition_channel", "industry", "region"):
        out[c] = acc[c].to_numpy() if not hasattr(acc[c], "cat") else pd.Categorical(
            acc[c].to_numpy(), categories=acc[c].cat.categories)
    for c in BOOLEAN:
        out[c] = acc[c].to_numpy().astype(bool)
    seats = acc["seats"].to_numpy(dtype=float)
    out["log_seats"] = np.log(np.maximum(seats, 1.0))
    out["price_vs_tier_median"] = _relative_price(acc, seats, arr)
    out = out.join(_usage_covariates(tables, ids, start, end, seats, as_of))
    if business_type == "hardware":
        out["months_since_last_order"] = _months_since_last_order(tables["contracts"], ids, end)
    out.attrs.update(as_of=str(as_of.date()), business_type=business_type)
    return out


def _next_renewal(start, tenure, term, as_of, active):
    n = len(start)
    step = np.where(term == "annual", 12, 1)
    k = (np.floor(tenure / step) + 1) * step
    nxt = add_calendar_months(start, k.astype(np.int64))
    to_next = k - tenure
    none = term == "none"
    if none.any():
        one = add_calendar_months(np.full(n, np.datetime64(as_of, "D")), 1)
        nxt = np.where(none, one, nxt)
        to_next = np.where(none, calendar_months(start, one) - tenure, to_next)
    nat = np.datetime64("NaT", "ns")
    return np.where(active, nxt, nat).astype("datetime64[ns]"), np.where(active, to_next, np.nan)


def _open_contract_end(contracts, ids, start, tenure, as_of, active, nxt, to_next):
    """The next renewal is the end of the contract in force at ``as_of`` (the latest end
    among contracts running then: co-termed add-ons, quarterly, multi-year terms);
    accounts without one keep the term rule."""
    if "end_date" not in contracts or not len(contracts):
        return nxt, to_next
    as_of64 = np.datetime64(as_of, "ns")
    s = contracts["start_date"].to_numpy(dtype="datetime64[ns]")
    e = contracts["end_date"].to_numpy(dtype="datetime64[ns]")
    running = (s <= as_of64) & (e > as_of64)
    pos = pd.Index(ids).get_indexer(contracts["account_id"].to_numpy()[running])
    ok = pos >= 0
    if not ok.any():
        return nxt, to_next
    end = pd.Series(e[running][ok]).groupby(pos[ok]).max()
    where = end.index.to_numpy()
    where = where[active[where]]
    nxt, to_next = nxt.copy(), to_next.copy()
    nxt[where] = end.loc[where].to_numpy()
    to_next[where] = calendar_months(start[where], nxt[where]) - tenure[where]
    return nxt, to_next


def _arr_at(contracts, ids, exported, as_of, business_type):
    """ARR as known at ``as_of``: the contracts in force then (co-termed add-ons summed);
    between contracts or after churn, the latest contract started by ``as_of`` (an as-of
    join on the start date); the accounts table's value where no contract gives one.

    An export's accounts table carries today's value (for mapped exports, the latest
    contract's): taking it at an earlier cutoff would read the future. Hardware keeps
    the accounts' value (its first order, known from the start): orders are no contracts
    in force.
    """
    if business_type == "hardware" or "arr" not in contracts or not len(contracts):
        return exported
    as_of64 = np.datetime64(as_of, "ns")
    pos = pd.Index(ids).get_indexer(contracts["account_id"].to_numpy())
    start = contracts["start_date"].to_numpy(dtype="datetime64[ns]")
    end = (contracts["end_date"].to_numpy(dtype="datetime64[ns]") if "end_date" in contracts
           else np.full(len(start), np.datetime64("NaT"), "datetime64[ns]"))
    value = contracts["arr"].to_numpy(dtype=float)
    known = (pos >= 0) & (start <= as_of64) & np.isfinite(value)
    out = exported.astype(float).copy()
    k = np.flatnonzero(known)
    if not len(k):
        return out
    k = k[np.lexsort((k, start[k], pos[k]))]  # by account, then start, then file order
    last = np.r_[pos[k][1:] != pos[k][:-1], True]
    out[pos[k][last]] = value[k][last]
    running = known & (end > as_of64)  # NaT ends (no term) never count as in force
    if running.any():
        total = np.bincount(pos[running], weights=value[running], minlength=len(ids))
        has = np.bincount(pos[running], minlength=len(ids)) > 0
        out[has] = total[has]
    return out


def _relative_price(acc, seats, arr=None):
    """log(price per seat-month) minus its tier median (ARR-based where price is 0;
    ``arr`` default: the accounts table's)."""
    price = acc["price_per_seat_month"].to_numpy(dtype=float)
    arr = acc["arr"].to_numpy(dtype=float) if arr is None else arr
    per_seat = np.where(price > 0, price, arr / seats / 12)
    with np.errstate(divide="ignore"):
        lp = np.where(per_seat > 0, np.log(per_seat), np.nan)
    med = pd.Series(lp).groupby(acc["tier"].astype(str).to_numpy()).transform("median")
    return np.nan_to_num(lp - med.to_numpy(), nan=0.0)


def _usage_covariates(tables, ids, start, ref, seats, as_of):
    n = len(ids)
    last_m = _last_complete_month(ref)
    start_m = _month_int(start)
    index = pd.Index(ids)
    usage = tables["usage"]
    usage = usage.loc[(usage["month"] <= as_of).to_numpy()]
    u_pos = index.get_indexer(usage["account_id"].to_numpy())
    u, n3, p3 = _window_sums(usage, u_pos, n, last_m, start_m,
                             ("logins", "key_feature_adoption", "active_seats"), 3)
    support = tables["support"]
    support = support.loc[(support["month"] <= as_of).to_numpy()]
    s_pos = index.get_indexer(support["account_id"].to_numpy())
    s, n6, _ = _window_sums(support, s_pos, n, last_m, start_m,
                            ("tickets_opened", "tickets_unresolved", "bot_escalations"), 6)
    with np.errstate(divide="ignore", invalid="ignore"):
        cur = u["logins"][0] / n3
        prev = u["logins"][1] / p3
        trend = np.where((n3 > 0) & (p3 > 0), np.log1p(cur) - np.log1p(prev), 0.0)
        adoption = u["key_feature_adoption"][0] / n3
        share = u["active_seats"][0] / n3 / seats
        opened, unresolved = s["tickets_opened"][0], s["tickets_unresolved"][0]
        unresolved_share = np.where(opened > 0, unresolved / np.maximum(opened, 1), 0.0)
    # accounts without a complete month yet: the typical value, not a fake zero
    adoption = np.where(n3 > 0, adoption, np.nanmedian(np.where(n3 > 0, adoption, np.nan))
                        if (n3 > 0).any() else 0.0)
    share = np.where(n3 > 0, share, np.nanmedian(np.where(n3 > 0, share, np.nan))
                     if (n3 > 0).any() else 0.0)
    return pd.DataFrame({
        "logins_trend": trend,
        "key_feature_adoption_3m": adoption,
        "active_seat_share_3m": np.clip(share, 0.0, 1.0),
        "unresolved_share_6m": unresolved_share,
        "bot_escalations_6m": s["bot_escalations"][0],
        "unresolved_tickets_6m": unresolved.astype(np.int64),
    })


def _months_since_last_order(contracts, ids, ref):
    """Months from the latest order on or before the reference date (just before churn)."""
    c = contracts[["account_id", "start_date"]]
    pos = pd.Index(ids).get_indexer(c["account_id"].to_numpy())
    d = c["start_date"].to_numpy().astype("datetime64[ns]")
    ok = (pos >= 0) & (d < ref[np.maximum(pos, 0)])
    last = pd.Series(d[ok]).groupby(pos[ok]).max()
    lo = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    lo[last.index.to_numpy()] = last.to_numpy()
    gap = calendar_months(lo, ref)
    return np.nan_to_num(np.maximum(gap, 0.0), nan=0.0)
