"""Check a table against the data model (``tobmodel.schema``) and cast it to its dtypes.

:func:`validate` returns a new frame with the schema columns first, in schema
order, cast exactly to ``Column.dtype``; columns the schema does not know are
kept at the end as they are (not validated). Nothing is dropped or coerced
silently: a bad value raises :class:`DataValidationError`, whose one-line
message names the source, the column, example values and example rows::

    accounts.csv: column 'tier' has unknown values 'Enterprise' (rows 3, 17, 42; allowed: KA, mid, SMB)

Row numbers count from ``first_row`` (1 by default; the CSV reader passes 2,
so that they are file line numbers with the header on line 1).

Checks, in order: missing columns; types by the one vocabulary of
:mod:`tobmodel.io.values` (text in a number column, infinite numbers, dates
that are not ``YYYY-MM-DD``, booleans other than true/false, t/f, yes/no,
y/n, 1/0 in any case, unknown categories); blanks in non-nullable columns;
``min`` bounds;
key uniqueness (``Table.key``, composite for usage and support); the row
checks named in ``Table.checks`` (see ``ROW_CHECKS``).

With ``as_of``, rows dated after it (accounts by ``first_contract_date``,
leads by ``created_date``, contracts by ``start_date``, usage and support by
``month``) are excluded after validation and reported in
``df.attrs["rejected"]``: ``{reason: {"count": n, "rows": (first 20 row
numbers)}}`` (``{}`` when nothing is excluded). Later dates inside kept rows
(e.g. a lead's ``outcome_date``) are not rewritten: this is a cut-off, not a
point-in-time snapshot.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"account_id": [1, 1], "month": ["2025-01-01", "2025-01-01"],
...     "active_seats": [3, 2], "key_feature_adoption": [0.5, 0.1], "logins": [9, 4]})
>>> validate(raw, "usage", source="usage.csv", first_row=2)
Traceback (most recent call last):
...
tobmodel.io.validate.DataValidationError: usage.csv: columns 'account_id', 'month' have duplicate values (1, 2025-01-01) (rows 2, 3)
>>> validate(raw.iloc[:1], "usage").dtypes["month"]
dtype('<M8[ns]')
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ..schema import TABLES
from .values import BOOL_WORDS, category_codes, parse_bool, parse_date, parse_number, show

__all__ = ["DataValidationError", "validate", "ROW_CHECKS", "ROW_DATE"]
log = logging.getLogger(__name__)

_SHOW_ROWS = 5

# name in Table.checks -> (column blamed, reason, rows that fail)
ROW_CHECKS = {
    "outcome_after_created": ("outcome_date", "is before created_date",
                              lambda d: d["outcome_date"] < d["created_date"]),
    "end_after_start": ("end_date", "is on or before start_date, a tenure <= 0",
                        lambda d: d["end_date"] <= d["start_date"]),
    "unresolved_le_opened": ("tickets_unresolved", "is greater than tickets_opened",
                             lambda d: d["tickets_unresolved"] > d["tickets_opened"]),
    "escalations_le_sessions": ("bot_escalations", "is greater than bot_sessions",
                                lambda d: d["bot_escalations"] > d["bot_sessions"]),
}
# the date that places a row in time, for the as_of cut-off
ROW_DATE = {"accounts": "first_contract_date", "leads": "created_date",
            "contracts": "start_date", "usage": "month", "support": "month"}


class DataValidationError(ValueError):
    """Bad input data: ``source``, ``table``, ``column`` (str, tuple or None),
    ``rows`` (example row numbers), ``n_rows`` (all failing rows), ``reason``."""

    def __init__(self, source, table, column, reason, rows=(), n_rows=None, hint=""):
        self.source, self.table, self.column, self.reason = source, table, column, reason
        self.rows = tuple(int(r) for r in rows)
        self.n_rows = len(self.rows) if n_rows is None else int(n_rows)
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        if isinstance(self.column, tuple):
            subject = "columns " + ", ".join(f"'{c}'" for c in self.column) + " "
        else:
            subject = f"column '{self.column}' " if self.column else ""
        notes = []
        if self.rows:
            shown = ", ".join(map(str, self.rows))
            more = self.n_rows - len(self.rows)
            notes.append(("rows " if self.n_rows > 1 else "row ") + shown
                         + (f" and {more} more" if more > 0 else ""))
        if self.hint:
            notes.append(self.hint)
        return f"{self.source}: {subject}{self.reason}" + (f" ({'; '.join(notes)})" if notes else "")

    def __reduce__(self):
        return (type(self), (self.source, self.table, self.column, self.reason, self.rows,
                             self.n_rows, self.hint))


class _Checker:
    """Raises errors for one frame: knows its source, table and row numbering."""

    def __init__(self, source, table, first_row):
        self.source, self.table, self.first_row = source, table, first_row

    def fail(self, column, reason, mask=None, values=None, hint=""):
        rows, n = (), None
        if mask is not None:
            pos = np.flatnonzero(np.asarray(mask, dtype=bool))
            rows, n = pos[:_SHOW_ROWS] + self.first_row, len(pos)
            if values is not None:
                reason = f"{reason} {show(np.asarray(values, dtype=object)[pos[:1000]])}"
        raise DataValidationError(self.source, self.table, column, reason, rows, n, hint)

    # -- casting, one function per kind; the rules are those of :mod:`.values` --
    def cast(self, s: pd.Series, col) -> pd.Series:
        if col.kind == "category":
            allowed = col.allowed
            if col.open:  # any label: the simulator's first, then the others seen, sorted
                codes, uniq = pd.factorize(s, use_na_sentinel=True)  # strip distinct labels
                labels = np.array([*(str(u).strip() for u in uniq), None], dtype=object)
                s = pd.Series(labels[codes], index=s.index, dtype=object)
                allowed = (*allowed, *sorted(x for x in labels[:-1]
                                             if x and x not in allowed))
            p = category_codes(s, allowed)
            if p.bad.any():
                self.fail(col.name, "has unknown values", p.bad, s.to_numpy(dtype=object),
                          hint="allowed: " + ", ".join(col.allowed))
            return p.values
        if col.kind == "bool":
            p = parse_bool(s)
            if p.bad.any():
                self.fail(col.name, "has values that are not booleans", p.bad,
                          s.to_numpy(dtype=object), hint="allowed: " + BOOL_WORDS)
            return p.values
        if pdt.is_bool_dtype(s.dtype) and not pdt.is_object_dtype(s.dtype):
            self.fail(col.name, f"has true/false values; expected {_WHAT[col.kind]}")
        if col.kind == "date":
            return self._cast_date(s, col)
        if pdt.is_datetime64_any_dtype(s.dtype):
            self.fail(col.name, f"has dates; expected {_WHAT[col.kind]}")
        p = parse_number(s)
        if p.not_number.any():
            self.fail(col.name, f"has values that are not {_WHAT[col.kind]}", p.not_number,
                      s.to_numpy(dtype=object))
        if p.not_finite.any():
            self.fail(col.name, "has values that are not finite numbers", p.not_finite,
                      s.to_numpy(dtype=object), hint="infinity is not a value")
        if col.kind == "float":
            return p.values
        if not pdt.is_numeric_dtype(s.dtype):  # text: exact integers (ids beyond 2**53)
            s = _text_integers(s)
        if pdt.is_float_dtype(s.dtype):
            v = p.values.to_numpy()
            frac = np.isfinite(v) & (v != np.round(v))
            if frac.any():
                self.fail(col.name, "has values that are not whole numbers", frac, s.to_numpy())
            return p.values.astype("Int64")
        return s.astype("Int64")

    def _cast_date(self, s, col):
        if pdt.is_numeric_dtype(s.dtype):
            self.fail(col.name, f"has numbers; expected {_WHAT['date']}")
        p = parse_date(s)
        out = p.values
        unread = p.bad & out.isna().to_numpy()
        if unread.any():
            self.fail(col.name, f"has values that are not {_WHAT['date']}", unread,
                      s.to_numpy(dtype=object), hint=_HINT["date"])
        if p.bad.any():
            self.fail(col.name, "has times of day", p.bad, out.to_numpy(dtype=object),
                      hint="expected calendar dates YYYY-MM-DD")
        return out


def _text_integers(s: pd.Series) -> pd.Series:
    """Text of whole numbers as Int64, exactly (Arrow's parser; pandas' for odd spellings)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pc.cast(pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True),
                      pa.int64())
        return pd.Series(arr.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get),
                         index=s.index)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(s.astype("string").str.strip(), errors="coerce",
                             dtype_backend="numpy_nullable")


_WHAT = {"id": "whole numbers", "int": "whole numbers", "float": "numbers",
         "date": "dates"}
_HINT = {"date": "expected YYYY-MM-DD between 1678 and 2261"}


def validate(df: pd.DataFrame, table: str, source: str = "<data>", *, first_row: int = 1,
             as_of=None) -> pd.DataFrame:
    """Validate ``df`` as ``table`` and return it cast to the schema dtypes.

    Parameters
    ----------
    df : DataFrame
        Raw or typed data; its index is ignored (rows are numbered by position).
    table : str
        One of ``tobmodel.schema.TABLES``.
    source : str
        Name used in error messages (file name, database table).
    first_row : int
        Number of the first row in messages (CSV readers pass 2: file lines).
    as_of : date-like, optional
        Exclude (and report in ``attrs["rejected"]``) rows dated after it.

    Returns
    -------
    DataFrame with a RangeIndex, schema columns first, then extra columns.

    Raises
    ------
    DataValidationError
        On the first problem found, with a one-line message.
    """
    spec = TABLES[table]
    chk = _Checker(source, table, first_row)
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        chk.fail(None, "has duplicate column names " + show(list(dup)))
    missing = [c for c in spec.names if c not in df.columns]
    if missing:
        near = {str(c).strip().lower(): c for c in df.columns}
        found = [f"'{near[m]}'" for m in missing if m in near]
        more = f"; also missing: {', '.join(missing[1:])}" if len(missing) > 1 else ""
        sep = [d for d in ";\t|" if len(df.columns) == 1 and d in str(df.columns[0])]
        chk.fail(missing[0], "is missing" + more,
                 hint=f"found {', '.join(found)}: names are case-sensitive" if found
                 else f"the header looks {sep[0]!r}-separated; use commas" if sep
                 else "columns found: " + ", ".join(map(str, df.columns[:20])))
    df = df.reset_index(drop=True)
    out = {c.name: chk.cast(df[c.name], c) for c in spec.columns}
    for c in spec.columns:
        s = out[c.name]
        blank = s.isna().to_numpy()
        if not c.nullable and blank.any():
            chk.fail(c.name, "has blank values", blank)
        if c.min is not None:
            low = (s < c.min).fillna(False).to_numpy(dtype=bool)
            if low.any():
                chk.fail(c.name, f"has values below {c.min:g}:", low, s.to_numpy(dtype=object))
        if not c.nullable and c.kind in ("id", "int", "bool"):
            out[c.name] = s.astype(c.dtype)
    res = pd.DataFrame(out).join(df[[c for c in df.columns if c not in spec.names]])
    keys = [spec.key] if isinstance(spec.key, str) else list(spec.key)
    dups = res.duplicated(keys, keep=False).to_numpy()
    if dups.any():
        first = res.loc[dups, keys].iloc[0]
        example = show([first.iloc[0]]) if len(keys) == 1 else show([tuple(first)])
        chk.fail(keys[0] if len(keys) == 1 else tuple(keys),
                 f"{'has' if len(keys) == 1 else 'have'} duplicate values {example}", dups)
    for name in spec.checks:
        column, reason, rule = ROW_CHECKS[name]
        bad = rule(res).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            chk.fail(column, reason, bad)
    res.attrs = {**df.attrs, "rejected": {}}
    return _cut_off(res, table, as_of, first_row) if as_of is not None else res


def _cut_off(res, table, as_of, first_row):
    as_of = pd.Timestamp(as_of)
    late = (res[ROW_DATE[table]] > as_of).to_numpy()
    if not late.any():
        return res
    reason = f"{ROW_DATE[table]} after as_of {as_of.date()}"
    rows = tuple(int(r) for r in np.flatnonzero(late)[:20] + first_row)
    log.warning("%s: excluded %d rows with %s", table, int(late.sum()), reason)
    kept = res.loc[~late].reset_index(drop=True)
    kept.attrs = {**res.attrs, "rejected": {reason: {"count": int(late.sum()), "rows": rows}}}
    return kept
