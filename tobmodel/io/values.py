"""The vocabulary of cell values: what counts as a boolean, a number, a date, a category.

One set of rules for every reader of rows: the table loaders
(:func:`tobmodel.io.validate.validate`, which fails the file on the first bad
column) and the weekly score job (:mod:`tobmodel.export.rejects`, which rejects
bad rows one by one with a reason). Both parse with the functions here, so a
value accepted by one is accepted by the other.

=========  ======================================================================
kind       accepted
=========  ======================================================================
boolean    ``true/false``, ``1/0``, ``yes/no``, ``t/f``, ``y/n`` (also ``1.0/0.0``)
           as text in any case with surrounding spaces; the numbers 1 and 0;
           Python / NumPy booleans. Anything else is not a boolean.
number     a finite number. Text is parsed round-trip exactly (the float a CSV
           cell spells, to the last bit, the same as Parquet stores it).
           ``inf``, ``-inf``, ``Infinity`` and ``nan`` written as text are
           *not* numbers; infinite values are refused as "not finite".
date       ``YYYY-MM-DD`` (ISO 8601); a time of day other than midnight is refused.
category   exactly one of the allowed labels (case-sensitive, no trimming).
blank      null, NaN, or text of only spaces (``NULL``/``NA`` in CSV read as null).
=========  ======================================================================

Why not pandera
---------------
pandera 0.35 was evaluated for this layer and not adopted. Its coercion is
not our vocabulary and is silently wrong for it: ``Column(bool, coerce=True)``
turns ``"no"``, ``"false"`` and ``"0"`` into ``True``, and
``Column(float, Check.ge(0), coerce=True)`` accepts ``"Infinity"`` and passes
``inf >= 0`` (the bug this layer fixes). What it could take over, the checks
after casting (not null, ``>= min``, unique keys), is one vectorised NumPy line
each here, while the parsing (the part that must be ours) stays hand-written
either way. It would also add pydantic, typeguard and typing-inspect to every
install and about 0.3-0.4 s of import to every score run, and it raises
exceptions where the score job needs a reason per row. Its failure cases
(column, check, index, value) map onto :class:`~tobmodel.io.validate.DataValidationError`
easily, so revisit it if schemas grow beyond what :mod:`tobmodel.schema` declares.

Examples
--------
>>> import pandas as pd
>>> b = parse_bool(pd.Series(["Yes", " f", "1", "maybe", None]))
>>> b.values.tolist(), b.bad.tolist()
([True, False, True, <NA>, <NA>], [False, False, False, True, False])
>>> n = parse_number(pd.Series(["0.1", "Infinity", "x", ""]))
>>> n.values.tolist()[:1], n.not_number.tolist(), n.not_finite.tolist()
([0.1], [False, False, True, False], [False, True, False, False])
>>> show(["KA", "mid", "KA", "SMB", "x"])
"'KA', 'mid', 'SMB'"
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.api import types as pdt

__all__ = ["TRUE_TEXT", "FALSE_TEXT", "BOOL_WORDS", "Parsed", "is_blank", "parse_bool",
           "parse_number", "parse_id", "parse_date", "category_codes", "show", "show_ids",
           "check_range", "check_zero_one", "check_param", "MAX_HORIZON_MONTHS",
           "check_horizon_months"]

TRUE_TEXT = ("true", "t", "yes", "y", "1", "1.0")
FALSE_TEXT = ("false", "f", "no", "n", "0", "0.0")
BOOL_WORDS = "true/false, 1/0, yes/no, t/f, y/n"
_BOOL_CODE = {**{k: 1 for k in TRUE_TEXT}, **{k: 0 for k in FALSE_TEXT}}
_NS_PER_DAY = 86_400_000_000_000
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]|$)")


class Parsed(NamedTuple):
    """A column parsed by one rule of the vocabulary.

    ``values``: the parsed column (missing where blank or bad); ``blank``: the
    cell was empty; ``bad``: the cell held something the rule refuses.
    """

    values: pd.Series
    blank: np.ndarray
    bad: np.ndarray


class ParsedNumber(NamedTuple):
    """Numbers: ``values`` float64 (NaN where blank or refused), ``not_number`` (text that is
    no number, including ``inf``/``nan`` spelt out), ``not_finite`` (an infinite number)."""

    values: pd.Series
    blank: np.ndarray
    not_number: np.ndarray
    not_finite: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        return self.not_number | self.not_finite


def _is_text(s: pd.Series) -> bool:
    return pdt.is_object_dtype(s.dtype) or pdt.is_string_dtype(s.dtype) or (
        isinstance(s.dtype, pd.CategoricalDtype) and not pdt.is_numeric_dtype(s.cat.categories))


def is_blank(s: pd.Series) -> np.ndarray:
    """Null, NaN, or text of only spaces.

    Text is looked at once per distinct value (categoricals: per category), not per row.
    """
    if not _is_text(s):
        return s.isna().to_numpy(dtype=bool)
    codes, uniques = _codes(s)
    if not len(uniques):
        return np.ones(len(s), bool)
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype("string")
    blank = text.str.strip().eq("").fillna(True).to_numpy(dtype=bool)
    return np.append(blank, True)[codes]  # code -1 (null) picks the final True


def _codes(s: pd.Series):
    """(codes, distinct values) with -1 for null; a categorical's own codes as they are."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), np.asarray(s.cat.categories, dtype=object)
    return pd.factorize(s, use_na_sentinel=True)


def _label_code(u) -> int:
    """1 true, 0 false, -1 blank, -2 not a boolean (one distinct value)."""
    if isinstance(u, str):
        u = u.strip().lower()
        return _BOOL_CODE.get(u, -1 if not u else -2)
    if isinstance(u, (bool, np.bool_, int, np.integer, float, np.floating)):
        if isinstance(u, (float, np.floating)) and np.isnan(u):
            return -1
        return int(u) if u in (0, 1) else -2
    return -2


def parse_bool(s: pd.Series) -> Parsed:
    """Booleans by the vocabulary; each distinct value is looked at once (vectorised)."""
    if pdt.is_bool_dtype(s.dtype):
        v = s.astype("boolean")
        blank = v.isna().to_numpy(dtype=bool)
        return Parsed(v, blank, np.zeros(len(s), bool))
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([_label_code(u) for u in np.asarray(uniques, dtype=object)] + [-1],
                      dtype=np.int64)
    out = mapped[codes]  # codes == -1 (null) picks the final -1: blank
    values = pd.Series(pd.arrays.BooleanArray(out == 1, out < 0), index=s.index)
    return Parsed(values, out == -1, out == -2)


def _exact_floats(text: pd.Series) -> np.ndarray:
    """Decimal text to float64, correctly rounded (``pd.to_numeric`` is not: it differs from
    the float a CSV writer meant in the last bit for about half of all values)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    arr = pa.array(text.to_numpy(dtype=object), type=pa.string())
    try:
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return text.to_numpy(dtype=object).astype(float)  # Python's float(): exact too


def _arrow_floats(s: pd.Series):
    """float64 of text cells by Arrow's exact parser, or None if any cell is not plain text
    of a number (then the slow path finds which)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def parse_number(s: pd.Series) -> ParsedNumber:
    """Finite numbers by the vocabulary (booleans and dates are not numbers: ``bad``)."""
    n = len(s)
    blank = is_blank(s)
    none = np.zeros(n, bool)
    if pdt.is_bool_dtype(s.dtype) or pdt.is_datetime64_any_dtype(s.dtype):
        return ParsedNumber(pd.Series(np.full(n, np.nan), index=s.index), blank, ~blank, none)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.cat.categories.dtype if pdt.is_numeric_dtype(s.cat.categories)
                     else object)
    if pdt.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        inf = np.isinf(v)
        return ParsedNumber(pd.Series(np.where(inf, np.nan, v), index=s.index), blank, none, inf)
    fast = _arrow_floats(s)
    if fast is not None:  # every cell is a number or null: one exact, vectorised parse
        bad = ~np.isfinite(fast) & ~blank
        inf = np.isinf(fast)
        return ParsedNumber(pd.Series(np.where(bad, np.nan, fast), index=s.index), blank,
                            bad & ~inf, inf)
    text = s.astype("string").str.strip()
    loose = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    word = text.str.lower().str.lstrip("+-")
    spelt_inf = word.isin(["inf", "infinity"]).fillna(False).to_numpy(dtype=bool)
    spelt_nan = word.eq("nan").fillna(False).to_numpy(dtype=bool)
    ok = np.isfinite(loose) & ~spelt_nan & ~spelt_inf
    v = np.full(n, np.nan)
    if ok.any():
        v[ok] = _exact_floats(text[ok])
    not_number = ~ok & ~blank
    not_finite = not_number & (np.isinf(loose) | spelt_inf)
    return ParsedNumber(pd.Series(v, index=s.index), blank, not_number & ~not_finite,
                        not_finite)


def parse_id(s: pd.Series) -> Parsed:
    """Whole-number ids as int64, exactly (an id beyond 2**53 must not pass through a float).

    ``values`` is int64 (-1 where blank or bad); text must spell an integer
    (``"12"``, ``" 12 "``, ``"12.0"``); floats must be whole.

    >>> parse_id(pd.Series(["1152921504606846977", "7", "x"], dtype=object)).values.tolist()
    [1152921504606846977, 7, -1]
    """
    n = len(s)
    blank = is_blank(s)
    out = np.full(n, -1, dtype=np.int64)
    if pdt.is_integer_dtype(s.dtype) and not pdt.is_bool_dtype(s.dtype):
        out = s.to_numpy(dtype=np.int64, na_value=-1)
        return Parsed(pd.Series(out, index=s.index), blank, np.zeros(n, bool))
    if pdt.is_bool_dtype(s.dtype) or pdt.is_datetime64_any_dtype(s.dtype):
        return Parsed(pd.Series(out, index=s.index), blank, ~blank)
    exact = pd.to_numeric(s.astype("string").str.strip() if _is_text(s) else s,
                          errors="coerce", dtype_backend="numpy_nullable")
    if pdt.is_integer_dtype(exact.dtype):
        ok = exact.notna().to_numpy(dtype=bool)
        out[ok] = exact.to_numpy(dtype=np.int64, na_value=-1)[ok]
    else:  # floats (or integer text mixed with decimals): only whole values are ids
        v = exact.to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2.0 ** 63)
        out[ok] = v[ok].astype(np.int64)
    return Parsed(pd.Series(out, index=s.index), blank, ~ok & ~blank)


def parse_date(s: pd.Series) -> Parsed:
    """Calendar dates (datetime64[ns]); text must be ISO ``YYYY-MM-DD``; times of day are bad.

    ``values`` holds the dates (NaT where blank or bad); times of day other
    than midnight count as bad (the value is kept in ``values`` so that
    messages can show it).
    """
    n = len(s)
    blank = is_blank(s)
    if pdt.is_numeric_dtype(s.dtype) or pdt.is_bool_dtype(s.dtype):
        return Parsed(pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), blank, ~blank)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # keep the local wall-clock date
    if pdt.is_datetime64_any_dtype(s.dtype):
        try:
            out = s.astype("datetime64[ns]")
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            out = pd.to_datetime(s.astype(object), errors="coerce")
    else:
        out = pd.to_datetime(s.astype(object), errors="coerce", format="ISO8601")
        # each distinct cell once: text must spell YYYY-MM-DD (numbers like 20240305 are not
        # dates, though ISO's basic form would read them)
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        spelt = np.array([_ISO_DATE.match(u.strip()) is not None if isinstance(u, str)
                          else isinstance(u, (pd.Timestamp, np.datetime64, _dt.date))
                          for u in np.asarray(uniques, dtype=object)] + [True], dtype=bool)
        out = out.where(spelt[codes])
    bad = out.isna().to_numpy(dtype=bool) & ~blank if n else np.zeros(0, bool)
    ns = out.to_numpy().view("int64")
    timed = out.notna().to_numpy(dtype=bool) & (ns % _NS_PER_DAY != 0)
    return Parsed(out, blank, bad | timed)


def category_codes(s: pd.Series, allowed) -> Parsed:
    """Categories: ``values`` a pandas Categorical of ``allowed``; ``bad`` = a label not allowed.

    Labels match exactly (case-sensitive); blank text is blank.
    """
    allowed = list(allowed)
    codes, uniques = _codes(s)
    where = {v: i for i, v in enumerate(allowed)}
    mapped = np.array([where.get(u, -2) if not (isinstance(u, str) and not u.strip()) else -1
                       for u in np.asarray(uniques, dtype=object)] + [-1], dtype=np.int64)
    out = mapped[codes]  # null (code -1) and blank text: -1; not allowed: -2
    values = pd.Series(pd.Categorical.from_codes(out.clip(-1),
                                                 dtype=pd.CategoricalDtype(allowed)),
                       index=s.index)
    return Parsed(values, out == -1, out == -2)


# -- showing examples in one-line messages ------------------------------------------------
def show(values, k: int = 3) -> str:
    """Up to ``k`` distinct example values: strings quoted, dates as YYYY-MM-DD, tuples."""
    out = []
    for v in pd.Series(list(values), dtype=object).unique()[:k]:
        if isinstance(v, (pd.Timestamp, np.datetime64)) and not pd.isna(v):
            v = pd.Timestamp(v)
            out.append(str(v.date()) if v == v.normalize() else str(v))
        elif isinstance(v, tuple):
            out.append("(" + ", ".join(show([x]) for x in v) + ")")
        elif isinstance(v, str) and len(v) > 60:  # a 5 MB cell must not become the message
            out.append(repr(v[:40]) + f"... ({len(v):,} characters)")
        else:
            out.append(repr(v) if isinstance(v, str) else str(v))
    return ", ".join(out)


def show_ids(df: pd.DataFrame, mask, id_column: str = "account_id", k: int = 3) -> str:
    """Which rows ``mask`` picks: ``account_id 7, 9`` if the frame has ids, else ``rows 3, 8``
    (counted from 1)."""
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    if id_column in df:
        return f"{id_column} " + show(df[id_column].to_numpy()[rows[:1000]], k)
    return "rows " + show(rows[:k] + 1, k)


# -- checks of model inputs (fit and score), one message format ----------------------------
def check_range(df: pd.DataFrame, column: str, rule: str, low: float, high: float = np.inf,
                *, source: str, low_open: bool = True, advice: str = "",
                id_column: str = "account_id") -> np.ndarray:
    """The column as finite float64 within ``(low, high]`` (``[low, high]`` if not
    ``low_open``), or a ValueError that names the rule, the count and example rows.

    >>> check_range(pd.DataFrame({"t": [2.0, 0.0]}), "t", "a positive number", 0, source="x")
    Traceback (most recent call last):
    ...
    ValueError: x: t must be a positive number; 1 rows are not (rows 2, values 0.0)
    """
    p = parse_number(df[column])
    v = p.values.to_numpy(dtype=float)
    inside = (v > low if low_open else v >= low) & (v <= high)
    bad = ~inside | p.bad
    if bad.any():
        raise ValueError(f"{source}: {column} must be {rule}; {int(bad.sum())} rows are not "
                         f"({show_ids(df, bad, id_column)}, values "
                         f"{show(df[column].to_numpy()[np.flatnonzero(bad)[:1000]])})"
                         + (f"; {advice}" if advice else ""))
    return v


def check_zero_one(df: pd.DataFrame, column: str, rule: str, *, source: str,
                   id_column: str = "account_id") -> np.ndarray:
    """The column as int64 0/1 (numbers only: ``"yes"`` is not an event), or a ValueError.

    >>> check_zero_one(pd.DataFrame({"e": [1, 2]}), "e", "0 or 1", source="x")
    Traceback (most recent call last):
    ...
    ValueError: x: e must be 0 or 1; 1 rows hold other values (rows 2, values 2)
    """
    s = df[column]
    v = parse_number(s.astype("Float64") if pdt.is_bool_dtype(s.dtype) else s).values
    bad = ~np.isin(v.to_numpy(dtype=float), (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{source}: {column} must be {rule}; {int(bad.sum())} rows hold other "
                         f"values ({show_ids(df, bad, id_column)}, values "
                         f"{show(s.to_numpy()[np.flatnonzero(bad)[:1000]])})")
    return v.to_numpy(dtype=float).astype(np.int64)


def check_param(name: str, value, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, unit: str = "") -> float:
    """A parameter (not data): a finite number within bounds, or a one-line ValueError.

    >>> check_param("penalizer", -0.1, 0)
    Traceback (most recent call last):
    ...
    ValueError: penalizer must be a finite number >= 0, got -0.1
    >>> check_param("horizon_months", 1e9, 0, 600, low_open=True, unit="months")
    Traceback (most recent call last):
    ...
    ValueError: horizon_months must be a positive number of months at most 600, got 1000000000.0
    """
    rule = ("a positive number" if low == 0 and low_open
            else "a finite number" + (f" {'>' if low_open else '>='} {low:g}"
                                      if low is not None else ""))
    rule += f" of {unit}" if unit else ""
    rule += f" at most {high:g}" if high is not None else ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {rule}, got {value!r}") from None
    if isinstance(value, bool) or not np.isfinite(v) or (low is not None and (
            v <= low if low_open else v < low)) or (high is not None and v > high):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return v


#: the longest horizon a churn score is computed for (50 years: nothing is known beyond it,
#: and the work of a score grows with the horizon)
MAX_HORIZON_MONTHS = 600


def check_horizon_months(horizon_months) -> float:
    """``horizon_months`` in (0, MAX_HORIZON_MONTHS], or a one-line ValueError."""
    return check_param("horizon_months", horizon_months, 0, MAX_HORIZON_MONTHS, low_open=True,
                       unit="months")
