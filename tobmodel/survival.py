"""The account-level survival view: how long each customer stayed, and whether churn was seen.

What "churn" means depends on the business type (see ``data/README.md``):

* saas and tool: a contract period ends with outcome ``churned``;
* platform: the first run of ``inactive_months`` calendar months without a
  login; churn is dated at the first day of the run;
* hardware: ``lapse_months`` pass after an order without another order;
  churn is dated at that order plus ``lapse_months``. A customer who orders
  again after a lapse counts as churned at the first lapse (a win-back starts
  a new relationship).

Tenure runs in calendar months (:func:`calendar_months`: whole months by the
calendar plus the fraction of the running month), the one month convention of
the package: a 12-month contract that churns at its end has a tenure of exactly
12, and ``build_account_features`` measures tenure the same way.

Customers without churn by ``as_of`` are right-censored at ``as_of``. Any
earlier ``as_of`` gives the view as it was known then, which is how models are
evaluated honestly (fit on the past, check on what happened afterwards).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import INACTIVE_MONTHS, LAPSE_MONTHS  # noqa: F401  (the churn rules' defaults)

#: the shortest tenure (one day in a 31-day month): a customer who churned on day one
MIN_TENURE_MONTHS = 1 / 31


def _dates(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind == "M":
        return a
    return pd.to_datetime(pd.Series(a.ravel())).to_numpy().reshape(a.shape)


def add_calendar_months(dates, months) -> np.ndarray:
    """``dates`` plus whole calendar months; a day past the month's end is clamped to it."""
    d = np.asarray(dates).astype("datetime64[D]")
    first = d.astype("datetime64[M]")
    day = d - first.astype("datetime64[D]")
    target = first + np.asarray(months).astype(np.int64)
    last_day = (target + 1).astype("datetime64[D]") - target.astype("datetime64[D]") - 1
    return (target.astype("datetime64[D]") + np.minimum(day, last_day)).astype("datetime64[ns]")


def calendar_months(start, end) -> np.ndarray:
    """Calendar months from ``start`` to ``end``: whole months plus the running fraction.

    The one month of the package: every ``tenure_months``, ``duration_months``
    and gap in months is measured with it (NaN where a date is missing).

    >>> import numpy as np
    >>> s = np.array(["2024-01-15", "2024-01-31"], dtype="datetime64[ns]")
    >>> e = np.array(["2025-01-15", "2024-02-29"], dtype="datetime64[ns]")
    >>> calendar_months(s, e).tolist()
    [12.0, 1.0]
    """
    s = _dates(start).astype("datetime64[D]")
    e = _dates(end).astype("datetime64[D]")
    whole = (e.astype("datetime64[M]") - s.astype("datetime64[M]")).astype(np.int64)
    whole = np.where(add_calendar_months(s, whole) > e, whole - 1, whole)
    a = add_calendar_months(s, whole)
    b = add_calendar_months(s, whole + 1)
    out = whole + (e - a) / (b - a)
    return np.where(np.isnat(s) | np.isnat(e), np.nan, out)


def infer_as_of(tables: dict) -> pd.Timestamp:
    """The latest date the tables record as already past: the snapshot of files without one.

    Candidates: first contract dates, contract starts, ends of closed contracts
    (open contracts end in the future), the last day of the latest usage or
    support month, lead creation and outcome dates. The result can fall a few
    days before the true snapshot; pass ``as_of`` to be exact.

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("saas", n_accounts=200, seed=2)
    >>> str(infer_as_of(sim.tables).date())
    '2025-12-31'
    """
    dates = [tables["accounts"]["first_contract_date"].max()]
    c = tables.get("contracts")
    if c is not None and len(c):
        closed = c["outcome"].astype(str) != "open" if "outcome" in c else slice(None)
        dates += [c["start_date"].max(), c.loc[closed, "end_date"].max()]
    for name in ("usage", "support"):
        t = tables.get(name)
        if t is not None and len(t):
            dates.append(t["month"].max() + pd.offsets.MonthEnd(0))
    leads = tables.get("leads")
    if leads is not None and len(leads):
        dates += [leads["created_date"].max(), leads["outcome_date"].max()]
    return pd.Timestamp(max(d for d in dates if pd.notna(d))).normalize()


def _as_of(tables, as_of):
    if as_of is not None:
        return pd.Timestamp(as_of)
    acc = tables["accounts"]
    if "as_of" in acc.attrs:
        return pd.Timestamp(acc.attrs["as_of"])
    return infer_as_of(tables)


def _tables(data) -> dict:
    return data.tables if hasattr(data, "tables") else dict(data)


def survival_view(data, as_of=None, business_type: str | None = None,
                  inactive_months: int = INACTIVE_MONTHS,
                  lapse_months: int = LAPSE_MONTHS) -> pd.DataFrame:
    """One row per account: tenure in months and whether churn was observed by ``as_of``.

    Parameters
    ----------
    data : Simulation or dict of DataFrame
        Needs ``accounts`` and ``contracts`` (and ``usage`` for platform).
    as_of : date-like, optional
        Snapshot; default the tables' own as-of date (``accounts.attrs``), else
        :func:`infer_as_of`. Accounts that started on
        or after it are left out (counted in ``attrs["excluded_not_started"]``).
    business_type : str, optional
        Default: read from ``accounts.business_type`` (one type per call).
    inactive_months, lapse_months : int
        Churn rules for platform and hardware.

    Returns
    -------
    DataFrame with ``account_id``, ``start_date``, ``end_date`` (churn date, or
    as_of when censored), ``tenure_months`` (> 0), ``churned`` (1 = observed,
    0 = censored), ``periods_completed`` (renewals or repeat orders by as_of).

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("saas", n_accounts=200, seed=2)
    >>> sv = survival_view(sim)
    >>> bool((sv["tenure_months"] > 0).all()) and set(sv["churned"]) <= {0, 1}
    True
    """
    tables = _tables(data)
    acc = tables["accounts"]
    as_of = _as_of(tables, as_of)
    if business_type is None:
        types = acc["business_type"].astype(str).unique()
        if len(types) != 1:
            raise ValueError(f"accounts mix business types {sorted(types)}; call survival_view "
                             "once per business type (pass business_type=)")
        business_type = types[0]
    started = acc["first_contract_date"] < as_of
    if not started.any():
        raise ValueError(f"no account started before as_of={as_of.date()}: the snapshot is "
                         "earlier than the data")
    acc = acc.loc[started]
    ids = acc["account_id"].to_numpy()
    start = acc["first_contract_date"].to_numpy()
    if business_type == "platform":
        churn_date, periods = _platform(tables["usage"], ids, start, as_of, inactive_months)
    elif business_type == "hardware":
        churn_date, periods = _hardware(tables["contracts"], ids, as_of, lapse_months)
    else:
        churn_date, periods = _contractual(tables["contracts"], ids, as_of)
    churned = ~pd.isna(churn_date)
    end = np.where(churned, churn_date, np.datetime64(as_of, "ns"))
    tenure = np.maximum(calendar_months(start, end), MIN_TENURE_MONTHS)
    out = pd.DataFrame({
        "account_id": ids,
        "start_date": start,
        "end_date": end.astype("datetime64[ns]"),
        "tenure_months": tenure,
        "churned": churned.astype(np.int64),
        "periods_completed": periods.astype(np.int64),
    })
    out.attrs.update(as_of=str(as_of.date()), business_type=business_type,
                     excluded_not_started=int((~started).sum()))
    return out


def _index(ids, keys):
    pos = pd.Index(ids).get_indexer(keys)
    return pos


def _contractual(contracts, ids, as_of):
    c = contracts.loc[contracts["start_date"] <= as_of]
    pos = _index(ids, c["account_id"].to_numpy())
    ended = (c["end_date"] <= as_of).to_numpy()
    churn = ended & (c["outcome"] == "churned").to_numpy()
    churn_date = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = churn & (pos >= 0)
    end = c["end_date"].to_numpy()
    # the earliest churned period per account
    order = np.argsort(end[ok], kind="stable")[::-1]
    churn_date[pos[ok][order]] = end[ok][order]
    periods = np.bincount(pos[(pos >= 0) & ended & ~churn], minlength=len(ids))
    return churn_date, periods


def _hardware(contracts, ids, as_of, lapse_months):
    c = contracts.loc[contracts["start_date"] <= as_of, ["account_id", "start_date"]]
    c = c.sort_values(["account_id", "start_date"], kind="stable")
    acc = c["account_id"].to_numpy()
    d = c["start_date"]
    deadline = (d + pd.DateOffset(months=lapse_months)).to_numpy()
    nxt = np.append(d.to_numpy()[1:], np.datetime64("NaT"))
    same = np.append(acc[1:] == acc[:-1], False)
    lapse = np.where(same, nxt > deadline, deadline <= np.datetime64(as_of, "ns"))
    churn_date = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    pos = _index(ids, acc)
    hit = lapse & (pos >= 0)
    first = pd.Series(deadline[hit]).groupby(pos[hit]).min()
    churn_date[first.index.to_numpy()] = first.to_numpy()
    # repeat orders placed before the churn date (or as_of)
    limit = np.where(pd.isna(churn_date), np.datetime64(as_of, "ns"), churn_date)
    ok = pos >= 0
    repeat = np.zeros(len(acc), bool)
    repeat[1:] = acc[1:] == acc[:-1]
    counted = ok & repeat & (d.to_numpy() <= limit[np.maximum(pos, 0)])
    periods = np.bincount(pos[counted], minlength=len(ids))
    return churn_date, periods


def _platform(usage, ids, start, as_of, k):
    as_of_m = np.datetime64(as_of, "M")
    last_day = (as_of_m + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    end_m = as_of_m if np.datetime64(as_of, "D") >= last_day else as_of_m - 1
    u = usage.loc[(usage["logins"] > 0).to_numpy(), ["account_id", "month"]]
    m = u["month"].to_numpy().astype("datetime64[M]")
    keep = m <= end_m
    acc, m = u["account_id"].to_numpy()[keep], m[keep]
    o = np.lexsort((m, acc))
    acc, m = acc[o], m[o].astype(np.int64)
    pos = _index(ids, acc)
    ok = pos >= 0
    acc, m, pos = acc[ok], m[ok], pos[ok]
    start_m = start.astype("datetime64[M]").astype(np.int64)
    first = np.r_[True, acc[1:] != acc[:-1]] if len(acc) else np.zeros(0, bool)
    prev = np.where(first, start_m[pos] - 1, np.r_[0, m[:-1]])
    run_start = prev + 1
    long_run = (m - prev - 1) >= k
    last = np.r_[acc[1:] != acc[:-1], True] if len(acc) else np.zeros(0, bool)
    e = int(end_m.astype(np.int64))
    trailing = last & ((e - m) >= k)
    cand_pos = np.concatenate([pos[long_run], pos[trailing]])
    cand_m = np.concatenate([run_start[long_run], m[trailing] + 1])
    never = np.setdiff1d(np.arange(len(ids)), pos)
    never = never[(e - start_m[never] + 1) >= k]
    cand_pos = np.concatenate([cand_pos, never])
    cand_m = np.concatenate([cand_m, start_m[never]])
    churn_m = pd.Series(cand_m).groupby(cand_pos).min()
    churn_date = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    churn_date[churn_m.index.to_numpy()] = churn_m.to_numpy().astype("datetime64[M]").astype(
        "datetime64[ns]")
    churn_date = np.where(~pd.isna(churn_date) & (churn_date <= start), start
                          + np.timedelta64(1, "D"), churn_date)
    active_months = np.bincount(pos, minlength=len(ids))
    return churn_date, active_months
