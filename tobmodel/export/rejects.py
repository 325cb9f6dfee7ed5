"""Row checks before scoring: every row is either fit to score or rejected with a reason.

Checks run column by column (vectorised); a row gets the first reason that
applies, in this order:

============================  ===================================================
reason                        when
============================  ===================================================
``missing id``                the id column is empty
``id is not an integer``      the id cannot be read as a whole number
``duplicate id``              the id was already seen in this run (first kept)
``features built at another   the row's ``as_of`` is not the run's (churn only)
as_of``
``missing value``             a model feature is empty (``field`` names it)
``not a number``              a numeric feature holds text
``not a finite number``       a numeric feature is infinite
``not true/false``            a true/false feature holds something else
``not a date``                a date feature cannot be read as a date
``unknown category``          a category the model never saw in training
``tenure <= 0``               ``tenure_months`` is zero or negative (churn only)
``no score from model``       the model returned no probability for the row
============================  ===================================================

Rows out of scope are no rejects: a churned account (``active`` false or
``churned`` 1) and a closed lead (``status`` other than ``open``) are *not
scored* (``RowCheck.not_scored`` names why: ``churned`` / ``closed``), checked
first, as a folder of tables leaves them out before any check.

Examples
--------
>>> import pandas as pd
>>> feats = [{"name": "tier", "dtype": "category", "categories": ["KA", "SMB"]}]
>>> chunk = pd.DataFrame({"lead_id": [1, 1, 2], "tier": ["KA", "KA", "mid"]})
>>> rc = check_rows(chunk, "lead_id", feats, SeenIds())
>>> rc.reason.tolist()
[None, 'duplicate id', 'unknown category']
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.values import (category_codes, is_blank, parse_bool, parse_date, parse_id,
                         parse_number)



class SeenIds:
    """Ids already taken in this run, for the duplicate check across chunks.

    Sorted runs merged like a binary counter: membership tests cost
    O(log n) per id and memory is 8 bytes per distinct id.
    """

    def __init__(self):
        self._runs: list[np.ndarray] = []
        self._max = None  # the largest id taken

    def __len__(self) -> int:
        return sum(len(r) for r in self._runs)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), bool)
        if self._max is None or (len(ids) and ids.min() > self._max):
            return out  # all beyond every id taken (a file in id order: each chunk)
        for run in filter(len, self._runs):
            pos = np.minimum(np.searchsorted(run, ids), len(run) - 1)
            out |= run[pos] == ids
        return out

    def add(self, ids: np.ndarray) -> None:
        ids = _sorted_unique(ids.astype(np.int64))
        self._runs.append(ids[~self.contains(ids)])
        if len(ids):
            self._max = ids[-1] if self._max is None else max(self._max, ids[-1])
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = _sorted_unique(np.concatenate([self._runs[-1], last]))


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    if _increasing(a):  # already (a file in id order)
        return a
    # np.unique hashes first in numpy >= 2.3, several times slower than a sort here
    a = np.sort(a, kind="stable")
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _increasing(a: np.ndarray) -> bool:
    """Every value above the one before (then none repeats)."""
    return len(a) < 2 or bool((a[1:] > a[:-1]).all())


def _repeated(ids: np.ndarray) -> np.ndarray:
    """Rows whose id an earlier row of ``ids`` has (the first kept)."""
    if _increasing(ids):
        return np.zeros(len(ids), bool)
    return pd.Series(ids).duplicated().to_numpy()


@dataclass
class RowCheck:
    """Result of :func:`check_rows`: the cleaned chunk and, per row, why it was rejected."""

    frame: pd.DataFrame       # features coerced to the model's dtypes
    reason: np.ndarray        # None where the row is fit to score
    field: np.ndarray
    value: np.ndarray
    raw_id: pd.Series | None = None  # the id column as read, for the rejects' text
    ids: np.ndarray | None = None     # the ids as integers (-1 where not an integer)
    id_ok: np.ndarray | None = None   # the id is an integer
    not_scored: np.ndarray | None = None  # 'churned' / 'closed' where out of scope, else None

    @property
    def id_text(self) -> np.ndarray:
        """The id as text for the rejects, the same whatever dtype the chunk was read with
        (built only for the rejected rows: turning every id into text cost 3 s a million)."""
        out = np.full(len(self.reason), None, object)
        rej = self._rejected
        if self.ids is not None and rej.any():
            ok_id = self.id_ok[rej]
            raw = pd.Series(self.raw_id.to_numpy()[rej]).astype("string").fillna("").to_numpy(
                dtype=object)
            out[rej] = np.where(ok_id, pd.Series(self.ids[rej]).astype(str).to_numpy(
                dtype=object), raw)
        return out

    def __post_init__(self):
        # kept beside ``reason``: pd.isna over an object array per check was a profile's top
        self._rejected = ~pd.isna(self.reason)
        self._skipped = np.zeros(len(self.reason), bool)
        self._ok = ~self._rejected  # kept up to date by skip() and reject()
        if self.not_scored is None:
            self.not_scored = np.full(len(self.reason), None, object)

    @property
    def ok(self) -> np.ndarray:
        """Fit to score: neither rejected nor out of scope."""
        return self._ok.copy()

    @property
    def rejected(self) -> np.ndarray:
        return self._rejected.copy()

    @property
    def skipped(self) -> np.ndarray:
        """Out of scope (churned account, closed lead): not scored and not rejected."""
        return self._skipped.copy()

    def skip(self, out, why: str) -> None:
        """Count rows in ``out`` (not yet decided) as not scored because ``why``."""
        new = np.asarray(out, bool) & self._ok
        self._skipped |= new
        self._ok &= ~new
        self.not_scored[new] = why

    def reject(self, bad, reason: str, field=None, value=None) -> None:
        """Record ``reason`` for rows in ``bad`` that have no reason yet."""
        new = np.asarray(bad, bool) & self._ok
        if not new.any():
            return
        self._rejected |= new
        self._ok &= ~new
        self.reason[new] = reason
        self.field[new] = field
        if value is not None:  # only the rejected rows are turned into text
            arr = value.to_numpy() if isinstance(value, pd.Series) else np.asarray(value)
            v = pd.Series(arr[new])
            self.value[new] = v.astype(str).str.slice(0, 200).to_numpy(dtype=object)


def check_rows(chunk: pd.DataFrame, id_column: str, features: list[dict], seen: SeenIds,
               scope: str | None = None, as_of=None) -> RowCheck:
    """Coerce ``chunk`` to the model's features and find the rows that cannot be scored.

    Parameters
    ----------
    chunk : DataFrame
        Raw rows (e.g. from CSV: strings where a number was expected are kept
        and rejected here rather than failing the run).
    id_column : str
    features : list of dict
        The model's feature schema (``name``, ``dtype``, ``categories``).
    seen : SeenIds
        Ids taken by earlier chunks; updated with this chunk's.
    scope : {'churn', 'lead'}, optional
        Adds the scope (churned accounts / closed leads are not scored, first,
        and never rejected) and, for churn, ``tenure <= 0``.
    as_of : Timestamp, optional
        The run's date: churn rows whose ``as_of`` column differs are rejected.
    """
    n = len(chunk)
    rc = RowCheck(chunk.copy(deep=False), np.full(n, None, object), np.full(n, None, object),
                  np.full(n, None, object))
    _check_scope(rc, chunk, scope)
    raw_id = chunk[id_column]
    rc.reject(raw_id.isna().to_numpy(), "missing id", id_column)
    parsed_id = parse_id(raw_id)  # exact: ids beyond 2**53 must not pass through a float
    rc.reject(parsed_id.bad, "id is not an integer", id_column, raw_id.to_numpy())
    ids = np.where(rc.ok, parsed_id.values.to_numpy(), -1)
    rc.raw_id, rc.ids, rc.id_ok = raw_id, ids, rc.ok.copy()
    dup = _repeated(ids) | seen.contains(ids)
    rc.reject(dup, "duplicate id", id_column, ids)
    seen.add(ids[rc.ok])
    rc.frame[id_column] = ids
    if scope == "churn" and as_of is not None and "as_of" in chunk:
        built = as_datetime(chunk["as_of"])
        rc.reject((built != as_of).to_numpy(), "features built at another as_of", "as_of",
                  chunk["as_of"])
    for f in features:
        _check_feature(rc, f)
    if scope == "churn":
        for name in _TIMING:
            if name in chunk and not any(f["name"] == name for f in features):
                _check_feature(rc, {"name": name, "dtype": "number"})
        if "tenure_months" in chunk:
            t = rc.frame["tenure_months"]
            rc.reject((t <= 0).to_numpy(), "tenure <= 0", "tenure_months", t)
    return rc


# timing columns of a churn score: numbers like the features (an infinite tenure is no tenure)
_TIMING = ("tenure_months", "months_to_next_renewal")


def _check_scope(rc, chunk, scope):
    """Churned accounts and closed leads: not scored (counted), never rejected."""
    if scope == "churn":
        if "active" in chunk:
            rc.skip(~parse_bool(chunk["active"]).values.fillna(True).to_numpy(bool), "churned")
        if "churned" in chunk:
            gone = pd.to_numeric(chunk["churned"], errors="coerce").fillna(0).to_numpy() == 1
            rc.skip(gone, "churned")
    elif scope == "lead" and "status" in chunk:
        status = chunk["status"].astype(object)
        rc.skip((status.notna() & (status.astype(str) != "open")).to_numpy(), "closed")


def as_datetime(s: pd.Series) -> pd.Series:
    """Dates as datetime64 (NaT where blank or not a date), by the one vocabulary."""
    if s.dtype.kind == "M":
        return s
    p = parse_date(s)
    return p.values.where(~p.bad)


def _text_categories(col: pd.Series) -> bool:
    """A categorical of text labels: compared as it is (``astype("string")`` would build
    one Python string per row)."""
    return isinstance(col.dtype, pd.CategoricalDtype) and all(
        isinstance(c, str) for c in col.cat.categories)


def _check_feature(rc: RowCheck, f: dict) -> None:
    """One model feature, by the vocabulary of :mod:`tobmodel.io.values`.

    Columns already of the model's type (float64 numbers, NumPy booleans, datetimes,
    a categorical of exactly the model's labels: what a Parquet file of features
    holds) take a short path with the same reasons and values, and stay as they are
    in the frame.
    """
    name, kind = f["name"], f.get("dtype")
    col = raw = rc.frame[name]
    if _check_typed(rc, f, col):
        return
    rc.reject(is_blank(col), "missing value", name)
    if kind == "number":
        if col.dtype.kind == "b" or str(col.dtype) == "boolean":
            col = col.astype("Float64")  # a true/false column feeds the model as 1/0
        p = parse_number(col)
        rc.reject(p.not_number, "not a number", name, raw)
        rc.reject(p.not_finite, "not a finite number", name, raw)
        rc.frame[name] = p.values.fillna(0).to_numpy()  # an array: no reindexed copy
    elif kind == "bool":
        p = parse_bool(col)
        rc.reject(p.bad, "not true/false", name, raw)
        rc.frame[name] = p.values.fillna(False).to_numpy(dtype=bool)
    elif kind == "date":
        v = as_datetime(col)
        rc.reject(v.isna().to_numpy(), "not a date", name, raw)
        if v is not col:
            rc.frame[name] = v.to_numpy()
    elif kind == "category":
        cats = list(f.get("categories") or [])
        text = col if _text_categories(col) else col.astype("string")
        p = category_codes(text, cats)
        rc.reject(p.bad, "unknown category", name, raw)
        rc.frame[name] = p.values.array


def _check_typed(rc: RowCheck, f: dict, col: pd.Series) -> bool:
    """The short path of :func:`_check_feature` for a column of the model's own type;
    False (nothing done) for any other column."""
    name, kind = f["name"], f.get("dtype")
    if kind == "number" and col.dtype == np.float64:
        v = col.to_numpy()
        blank, inf = np.isnan(v), np.isinf(v)
        rc.reject(blank, "missing value", name)
        rc.reject(inf, "not a finite number", name, col)
        if blank.any() or inf.any():
            rc.frame[name] = np.where(blank | inf, 0.0, v)
        return True
    if kind == "bool" and col.dtype == np.bool_:
        return True  # nothing blank, nothing else than true/false
    if kind == "category" and isinstance(col.dtype, pd.CategoricalDtype) \
            and not col.cat.ordered:
        cats = list(f.get("categories") or [])
        labels = col.cat.categories
        if len(labels) == len(cats) and all(isinstance(c, str) and c.strip() for c in cats) \
                and list(labels) == cats:
            rc.reject(col.cat.codes.to_numpy() < 0, "missing value", name)
            return True
    return False
