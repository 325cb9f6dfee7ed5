"""Column conversions for exported files: ids, dates with zones, numbers, units, labels.

Each converter takes the raw text column of an export and returns the typed
values; what it cannot convert it reports as a :class:`Problem` (it never
raises, so that ``tobmodel validate`` can show every problem at once).

Examples
--------
>>> import pandas as pd
>>> probs = []
>>> s = pd.Series(["2024-04-20T09:15:00.000+0000", "2024-04-20T23:30:00Z",
...                "2024-04-21T01:00:00+08:00", "2024-04-22"])
>>> col = Column("Contract.csv", "StartDate", "contracts", "start_date", s, probs)
>>> parse_dates(col, tz="Asia/Shanghai").dt.strftime("%Y-%m-%d").tolist()
['2024-04-20', '2024-04-21', '2024-04-21', '2024-04-22']
>>> probs
[]
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SHOW_ROWS = 5
FIRST_ROW = 2  # CSV line of the first data row (header = line 1)


@dataclass
class Problem:
    """One problem in one column of one file: what, how many rows, and the fix."""

    file: str
    column: str | None
    message: str
    rows: tuple = ()
    count: int = 0
    fix: str = ""
    severity: str = "error"  # error: data unusable | notice: usable, something is lost

    def line(self) -> str:
        col = f" column '{self.column}'" if self.column else ""
        rows = ""
        if self.rows:
            more = self.count - len(self.rows)
            rows = (f" ({self.count:,} row{'s' * (self.count != 1)}: "
                    f"line{'s' * (len(self.rows) != 1)} " + ", ".join(map(str, self.rows))
                    + (", ..." if more > 0 else "") + ")")
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{self.file}:{col} {self.message}{rows}{fix}"


class DataProblems(ValueError):
    """The export cannot be used: every problem, one line each."""

    def __init__(self, problems):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = errors[0].line() if errors else "unusable data"
        more = f" (and {len(errors) - 1} more problems: run tobmodel validate)" \
            if len(errors) > 1 else ""
        super().__init__(head + more)


@dataclass
class Column:
    """A raw column of an export and where it came from (for messages)."""

    file: str
    name: str
    source: str          # tobmodel input (accounts, contracts, ...)
    field: str           # tobmodel field
    values: pd.Series    # text as read (object/string dtype); index = row position
    problems: list = field(default_factory=list)
    line_numbers: np.ndarray | None = None  # file line per row (default position + 2)

    def report(self, message, bad=None, fix="", severity="error", examples=True):
        rows, n = (), 0
        if bad is not None:
            pos = np.flatnonzero(np.asarray(bad, bool))
            if not len(pos):
                return
            n = len(pos)
            lines = (self.line_numbers[pos[:SHOW_ROWS]] if self.line_numbers is not None
                     else pos[:SHOW_ROWS] + FIRST_ROW)
            rows = tuple(int(r) for r in lines)
            if examples:
                shown = pd.unique(self.values.to_numpy(dtype=object)[pos[:2000]])[:3]
                message = f"{message} " + ", ".join(repr(str(v)) for v in shown)
        self.problems.append(Problem(self.file, self.name, message, rows, n, fix, severity))

    @property
    def where(self) -> str:
        return f"sources.{self.source}"


def text(s: pd.Series) -> pd.Series:
    """Stripped text with blanks as missing (object dtype), vectorised in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc
    vals = s.to_numpy(dtype=object)
    try:
        arr = pa.array(vals, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers, dates: their text
        arr = pa.array(s.astype("string").to_numpy(dtype=object), type=pa.string(),
                       from_pandas=True)
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=s.index, dtype=object)


def blank(s: pd.Series) -> np.ndarray:
    return text(s).isna().to_numpy()


def matches(t: pd.Series, pattern: str) -> np.ndarray:
    """Which texts match the regular expression (anchor it yourself), vectorised in Arrow;
    missing values do not match."""
    import pyarrow as pa
    import pyarrow.compute as pc
    arr = pa.array(t.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(
        zero_copy_only=False)


def parse_ids(col: Column, required=True) -> pd.Series:
    """Ids as text, exactly as exported (Salesforce 0015g00000ABCDE, HubSpot 123...)."""
    t = text(col.values)
    # "123.0" from a spreadsheet round trip is the id 123
    t = t.where(~matches(t, r"^\d+\.0$"),
                t.astype("string").str[:-2].astype(object))
    if required:
        col.report("has blank ids", t.isna().to_numpy(), examples=False,
                   fix="every row needs an id; remove those rows or map another column")
    return t


_AMBIGUOUS = r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"


def parse_dates(col: Column, fmt: str | None = None, tz: str = "UTC") -> pd.Series:
    """Calendar dates (datetime64[ns], midnight) in the time zone ``tz``.

    ISO dates and timestamps with any zone (``Z``, ``+0000``, ``+08:00``) or
    none are read without a format; a timestamp with a zone is converted to
    ``tz`` before its date is taken (a timestamp without a zone is taken as
    written). US and EU dates need ``fmt`` (``%m/%d/%Y``, ``%d.%m.%Y``): they
    are ambiguous and reported so. ``unix`` / ``unix_ms`` read epoch numbers.
    """
    return parse_timestamps(col, fmt, tz).dt.normalize()


def parse_timestamps(col: Column, fmt: str | None = None, tz: str = "UTC") -> pd.Series:
    """Like :func:`parse_dates` but keeps the time of day (wall clock in ``tz``)."""
    t = text(col.values)
    present = t.notna().to_numpy()
    fix_field = f"{col.where}.date_formats: {{{col.field}: '%m/%d/%Y'}}"
    if fmt in ("unix", "unix_ms"):
        num = pd.to_numeric(t, errors="coerce")
        col.report("has values that are not Unix times", present & num.isna().to_numpy())
        out = pd.to_datetime(num, unit="s" if fmt == "unix" else "ms", utc=True,
                             errors="coerce")
        return out.dt.tz_convert(tz).dt.tz_localize(None)
    looks = np.zeros(len(t), bool)
    if fmt is None:
        looks = matches(t, f"^{_AMBIGUOUS}$")
        if looks.any():
            col.report("has dates like", looks,
                       fix=f"these could be month/day or day/month: set {fix_field} (US) or "
                           f"'%d/%m/%Y' (EU)")
            t = t.where(~looks, None)
    s = t.astype(object)
    try:
        out = pd.to_datetime(s, format=fmt or "ISO8601", utc=True, errors="coerce")
    except (ValueError, TypeError):
        out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    zoned = matches(t, r"(?:Z|[+-]\d\d:?\d\d)$")
    naive = pd.to_datetime(s.where(~zoned, None), format=fmt or "ISO8601", errors="coerce") \
        if (~zoned & present).any() else pd.Series(pd.NaT, index=s.index)
    local = out.dt.tz_convert(tz).dt.tz_localize(None)
    res = pd.Series(np.where(zoned, local.to_numpy(), naive.to_numpy()), index=s.index,
                    dtype="datetime64[ns]")
    bad = present & res.isna().to_numpy() & ~looks
    col.report("has values that are not dates" + (f" in the format {fmt!r}" if fmt else ""),
               bad, fix=(f"{col.where}.date_formats: {{{col.field}: <strptime format>}}"
                         if fmt is None else "correct the format in date_formats"))
    return res


def parse_numbers(col: Column, unit: str | None = None, fraction: bool = False) -> pd.Series:
    """Numbers (float, the :mod:`tobmodel.io.values` rules); ``fraction`` fields are checked
    to lie in 0-1 (``unit: percent`` divides by 100)."""
    from ..io.values import parse_number
    parsed = parse_number(text(col.values))
    col.report("has values that are not numbers", parsed.not_number,
               fix="export plain numbers (no currency signs or thousands separators)")
    col.report("has infinite values", parsed.not_finite)
    num = pd.Series(parsed.values, index=col.values.index).astype(float)
    num = num.where(~(parsed.not_number | parsed.not_finite))
    if not fraction:
        return num
    if unit == "percent":
        col.report("has percentages above 100:", (num > 100).fillna(False).to_numpy())
        return num / 100
    over = (num > 1).fillna(False).to_numpy()
    if over.any():
        pct = bool(((num <= 100) | num.isna()).all())
        col.report("holds percentages, not fractions between 0 and 1:" if pct else
                   "has values above 1 in a fraction (share 0-1):", over,
                   fix=f"{col.where}.units: {{{col.field}: percent}}" if pct else
                   "check the column: a share cannot exceed 1")
    col.report("has negative values:", (num < 0).fillna(False).to_numpy())
    return num


def parse_bools(col: Column) -> np.ndarray:
    """Booleans by the :mod:`tobmodel.io.values` vocabulary; blanks are False."""
    from ..io.values import BOOL_WORDS, parse_bool
    parsed = parse_bool(text(col.values))
    col.report("has values that are not true/false:", parsed.bad, fix=f"use {BOOL_WORDS}")
    return parsed.values.fillna(False).to_numpy(bool)


def parse_labels(col: Column, values: dict | None = None, pool_below: int = 0,
                 weight=None) -> pd.Series:
    """Category labels learnt from the data.

    ``values`` maps export values to levels (``"*"`` catches every other
    value). Without a map, spellings that differ only in case or spaces are
    one level (the most common spelling names it); levels with fewer than
    ``pool_below`` rows (or ``weight`` sum) become ``"other"``; blanks are
    ``"unknown"``. Any UTF-8 text is a label.
    """
    t = text(col.values)
    if values:
        values = {str(k).strip(): str(v) for k, v in values.items()}
        key = t.astype("string").str.casefold()
        lookup = {k.casefold(): v for k, v in values.items() if k != "*"}
        mapped = key.map(lookup).astype(object)
        rest = mapped.isna().to_numpy() & t.notna().to_numpy()
        if "*" in values:
            mapped = mapped.where(~rest, values["*"])
        else:
            mapped = mapped.where(~rest, t)
        t = mapped.where(t.notna(), None)
    folded = t.astype("string").str.casefold().str.replace(r"\s+", " ", regex=True)
    codes, uniques = pd.factorize(folded)
    if len(uniques):
        has = codes >= 0
        pairs = pd.DataFrame({"code": codes[has], "label": t.to_numpy(dtype=object)[has]})
        common = pairs.value_counts(sort=True).reset_index().drop_duplicates("code")
        names = np.empty(len(uniques), dtype=object)
        names[common["code"].to_numpy()] = common["label"].to_numpy(dtype=object)
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        if pool_below:
            names = np.where(counts < pool_below, "other", names)
        out = np.where(codes >= 0, names[np.maximum(codes, 0)], "unknown")
    else:
        out = np.full(len(t), "unknown", dtype=object)
    return pd.Series(out, index=t.index, dtype=object)
