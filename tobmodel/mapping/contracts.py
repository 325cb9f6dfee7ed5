"""Contracts drive renewals: periods, renewals and churn from a CRM's contract rows.

A CRM keeps one row per contract with a start date and an end date (or a
term in months). Terms of any length (monthly, quarterly, annual,
multi-year) and co-termed add-ons are allowed. Per account, contracts are
chained into runs of coverage: a contract that starts within ``gap_days`` of
the latest end so far continues the run (a renewal, an add-on co-termed to
the main contract, an upgrade); a later start opens a new run (a win-back).

The outcome of each contract row, as tobmodel's ``contracts`` table needs it:

* ``open``: it ends after ``as_of``, or its run ended less than ``gap_days``
  before ``as_of`` (the renewal may still be signed: censored, not churn);
* ``churned``: the contracts that end their run (co-termed ones together), when the run ended at least
  ``gap_days`` before ``as_of`` with no successor;
* ``renewed``: every other contract that has ended (the run went on).

Examples
--------
>>> import pandas as pd
>>> c = pd.DataFrame({"account_id": [1, 1, 2, 2],
...     "start_date": pd.to_datetime(["2023-01-01", "2024-01-10", "2023-03-01", "2023-06-01"]),
...     "end_date": pd.to_datetime(["2023-12-31", "2024-12-31", "2024-02-29", "2024-02-29"])})
>>> contract_outcomes(c, "2025-06-30", gap_days=31).tolist()
['renewed', 'churned', 'churned', 'churned']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TERM_LEVELS = {1: "monthly", 3: "quarterly", 6: "semiannual", 12: "annual"}


def end_from_term(start, term_months) -> pd.Series:
    """End date of a term of whole months: start + term - 1 day (Salesforce's rule)."""
    from ..renewal.features import add_calendar_months
    months = np.nan_to_num(np.asarray(term_months, dtype=float), nan=0).astype(np.int64)
    end = add_calendar_months(np.asarray(start, dtype="datetime64[ns]"), months)
    end = end - np.timedelta64(1, "D")
    bad = pd.isna(np.asarray(term_months, dtype=float)) | (months < 1)
    return pd.Series(np.where(bad, np.datetime64("NaT"), end).astype("datetime64[ns]"))


def term_level(term_months) -> np.ndarray:
    """monthly, quarterly, semiannual, annual, multi_year or '<n>_months'."""
    t = np.rint(np.asarray(term_months, dtype=float))
    out = np.array([f"{int(x)}_months" if np.isfinite(x) else "unknown"
                    for x in np.unique(t)], dtype=object)  # one per distinct term
    names = dict(zip(np.unique(t), out))
    for k, v in TERM_LEVELS.items():
        names[float(k)] = v
    for k in list(names):
        if np.isfinite(k) and k > 12:
            names[k] = "multi_year"
    return pd.Series(t).map(names).to_numpy(dtype=object)


def contract_outcomes(contracts: pd.DataFrame, as_of, gap_days: int = 31) -> pd.Series:
    """``renewed`` / ``churned`` / ``open`` per contract row (see the module doc)."""
    as_of = np.datetime64(pd.Timestamp(as_of), "ns")
    gap = np.timedelta64(int(gap_days), "D")
    c = contracts[["account_id", "start_date", "end_date"]].reset_index(drop=True)
    order = np.lexsort((c["end_date"].to_numpy(), c["start_date"].to_numpy(),
                        c["account_id"].to_numpy()))
    acc = c["account_id"].to_numpy()[order]
    start = c["start_date"].to_numpy(dtype="datetime64[ns]")[order]
    end = c["end_date"].to_numpy(dtype="datetime64[ns]")[order]
    first = np.r_[True, acc[1:] != acc[:-1]] if len(acc) else np.zeros(0, bool)
    # latest end so far within the account, before this row
    cum_end = pd.Series(end).groupby(acc).cummax().to_numpy(dtype="datetime64[ns]")
    prev_end = np.r_[np.datetime64("NaT", "ns"), cum_end[:-1]] if len(acc) else cum_end
    new_run = first | (start > prev_end + gap)
    run = np.cumsum(new_run)
    run_end = pd.Series(end).groupby(run).transform("max").to_numpy(dtype="datetime64[ns]")
    ends_run = end == run_end  # co-termed contracts end their run together
    out = np.full(len(acc), "renewed", dtype=object)
    run_over = run_end + gap <= as_of
    out[ends_run & run_over] = "churned"
    out[(end > as_of) | (ends_run & ~run_over)] = "open"
    res = np.empty(len(acc), dtype=object)
    res[order] = out
    return pd.Series(res, index=contracts.index)
