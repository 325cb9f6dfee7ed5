"""Guards of the weekly job: refuse a run that would be silently wrong.

* dates are ISO ``YYYY-MM-DD`` (``12/01/2025`` is December 1st in one country and
  January 12th in another: refused unless a ``date_format`` says which);
* ``as_of`` must fall within the data: not before the first customer (or lead),
  not more than :data:`MAX_AS_OF_GAP_DAYS` after the latest dated row;
* ``horizon_months`` within 1..:data:`MAX_HORIZON_MONTHS`;
* a run that scores nothing, or fewer than ``min_scored_fraction`` of the rows
  the previous run wrote to the same destination, fails before anything is
  replaced (last week's output stays).

Examples
--------
>>> parse_as_of("2025-12-31")
Timestamp('2025-12-31 00:00:00')
>>> parse_as_of("12/01/2025", "%m/%d/%Y")
Timestamp('2025-12-01 00:00:00')
>>> parse_as_of("12/01/2025")
Traceback (most recent call last):
...
tobmodel.export.specs.ExportError: as_of '12/01/2025' is not an ISO date (YYYY-MM-DD): ...
>>> check_horizon(1000000000)
Traceback (most recent call last):
...
tobmodel.export.specs.ExportError: horizon_months must be between 1 and 600, got 1000000000
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from ..io.values import MAX_HORIZON_MONTHS
from .specs import ExportError

MAX_AS_OF_GAP_DAYS = 31  # files carry no snapshot date: the latest row may be a few days early
MIN_SCORED_FRACTION = 0.5
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")

__all__ = ["parse_as_of", "check_horizon", "check_as_of_in_tables", "check_scored",
           "MAX_HORIZON_MONTHS", "MAX_AS_OF_GAP_DAYS", "MIN_SCORED_FRACTION"]


def parse_as_of(value, date_format: str | None = None, what: str = "as_of") -> pd.Timestamp:
    """``value`` as a day: ISO text, a ``date_format`` (strptime codes) or a date object."""
    if value is None:
        raise ExportError(f"{what} is missing")
    if isinstance(value, (pd.Timestamp, dt.date, np.datetime64)):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            raise ExportError(f"{what} is not a date (NaT)")
        return ts.normalize()
    text = str(value).strip()
    if date_format:
        try:
            return pd.Timestamp(dt.datetime.strptime(text, date_format)).normalize()
        except ValueError:
            raise ExportError(f"{what} {text!r} does not match the date format "
                              f"{date_format!r}") from None
    if not _ISO.fullmatch(text):
        raise ExportError(f"{what} {text!r} is not an ISO date (YYYY-MM-DD): forms like "
                          "12/01/2025 are ambiguous; give --date-format (e.g. %m/%d/%Y) to "
                          "read them")
    try:
        return pd.Timestamp(text).normalize()
    except ValueError:
        raise ExportError(f"{what} {text!r} is not a date") from None


def check_horizon(months) -> int:
    """``months`` as an int in 1..MAX_HORIZON_MONTHS, else a one-line error."""
    try:
        value = int(months)
        whole = value == months
    except (TypeError, ValueError, OverflowError):
        value, whole = None, False
    if not whole or not 1 <= value <= MAX_HORIZON_MONTHS:
        raise ExportError(f"horizon_months must be between 1 and {MAX_HORIZON_MONTHS}, "
                          f"got {months}")
    return value


def check_as_of_in_tables(tables: dict, as_of, where: str, first=("accounts",
                                                                  "first_contract_date")):
    """Refuse an ``as_of`` before the first row of ``first`` or well after the latest data.

    ``tables`` were read with ``as_of`` (rows dated after it left out and counted
    in ``attrs["rejected"]``): rows left out mean the data goes past ``as_of``.
    """
    if as_of is None:
        return
    as_of = pd.Timestamp(as_of)
    table, column = first
    df = tables.get(table)
    if df is not None and (len(df) == 0 or df[column].min() > as_of):
        start = _earliest_left_out(df)
        raise ExportError(f"{where}: as_of {as_of.date()} is before any {table[:-1]} "
                          f"(no {column} on or before it{start})")
    if any(_left_out(t) for t in tables.values()):
        return
    from ..survival import infer_as_of
    if table == "accounts":
        latest = infer_as_of(tables)
    else:
        latest = max(pd.Timestamp(tables[table][c].max()) for c in
                     ("created_date", "outcome_date") if c in tables[table])
    if pd.notna(latest) and (as_of - latest).days > MAX_AS_OF_GAP_DAYS:
        raise ExportError(f"{where}: as_of {as_of.date()} is after the latest data "
                          f"({latest.date()}); features would treat every customer as "
                          "silent since then (pass an as_of within the data)")


def _left_out(df) -> int:
    return sum(r.get("count", 0) for r in (df.attrs.get("rejected") or {}).values())


def _earliest_left_out(df) -> str:
    n = _left_out(df)
    return f"; {n:,} rows are dated after it" if n else ""


def check_scored(read: int, scored: int, previous: dict, min_fraction: float | None,
                 reasons: dict | None = None) -> None:
    """Fail a run that scores nothing, or far fewer rows than the previous run.

    ``previous`` maps a destination's description to the rows its last run
    scored (None where there is none). ``min_fraction`` None or 0 turns the
    comparison off (a run that scores nothing still fails). ``reasons``
    (reject reason -> rows) names the commonest reason in the message.

    >>> check_scored(100, 0, {}, 0.5, {"unknown category: tier": 100})
    Traceback (most recent call last):
    ...
    tobmodel.export.specs.ExportError: scored 0 of 100 rows (most rejected: unknown category: \
tier, 100 rows): nothing written, last outputs kept
    >>> check_scored(100, 40, {"s.csv": 1000}, 0.5)
    Traceback (most recent call last):
    ...
    tobmodel.export.specs.ExportError: s.csv: scored 40 rows, fewer than 0.5 x the 1,000 of \
the previous run: nothing written, last outputs kept (pass --min-scored-fraction 0 if the drop \
is expected)
    """
    if min_fraction is not None and not 0 <= min_fraction <= 1:
        raise ExportError(f"min_scored_fraction must be between 0 and 1, got {min_fraction}")
    why = ""
    if reasons:
        top, n = max(reasons.items(), key=lambda kv: kv[1])
        why = f" (most rejected: {top}, {n:,} rows)"
    if scored == 0:
        raise ExportError(f"scored 0 of {read:,} rows{why}: nothing written, last outputs kept")
    if not min_fraction:
        return
    for where, before in previous.items():
        if before and scored < min_fraction * before:
            raise ExportError(
                f"{where}: scored {scored:,} rows, fewer than {min_fraction:g} x the "
                f"{before:,} of the previous run: nothing written, last outputs kept (pass "
                "--min-scored-fraction 0 if the drop is expected)")
