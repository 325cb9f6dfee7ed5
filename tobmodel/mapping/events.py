"""Analytics events (Segment ``tracks``, Mixpanel) -> account-months, on DuckDB.

DuckDB reads the event files itself (``read_csv`` with every column as
text, ``read_parquet``; a database table is streamed in), in bounded memory
(capped at :data:`EVENTS_MEMORY`, spilling to disk): 50 million events need
no more memory than 50 thousand. Per file:

- timestamps become wall-clock times in the mapping's zone: a zoned value
  (``...Z``, ``+08:00``, ``.000+0000``, or a Parquet UTC timestamp) is
  converted, a value without a zone is taken as written. ISO values are
  parsed by DuckDB; every other value (US dates, explicit ``date_formats``
  DuckDB cannot read, anything unusual) goes, once per distinct text, through
  :func:`~tobmodel.mapping.parse.parse_timestamps`, the rule of every other
  date column, which also words the problems (with the file's line numbers);
- the analytics account ids (Segment ``group_id``) are joined to the
  accounts export's integer keys (events of other accounts are counted and
  left out);
- event names are stripped and case-folded, as the mapping's
  ``login_events`` / ``key_events`` are;

then :func:`tobmodel.engines.events.account_months`, the same SQL as the
scale-out path, counts active users, key-feature users and logins per account
and calendar month. Only events before ``cut`` (the day after ``as_of``)
count. :func:`tobmodel.mapping.load.read_export` finds the files and checks
their columns first.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .parse import _AMBIGUOUS, Column, parse_timestamps

EVENTS_MEMORY = "1GB"   # DuckDB's cap for the events step (it spills beyond it)
FALLBACK_VALUES = 1_000_000  # distinct non-ISO timestamp texts parsed by the pandas rule
_SAMPLE = 2_000         # failing rows per kind whose values a problem shows (as parse.py)
_ISO = r"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,9})?)?)?(Z|[+-]\d\d:?\d\d)?$"
_ZONED = r"(Z|[+-]\d\d:?\d\d)$"  # as parse_timestamps: converted to the mapping's zone


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _s(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass
class EventFile:
    """One events file to read: its reported name, where it is, its mapped columns."""

    name: str     # as reported (relative to --input)
    path: object  # a Path (CSV or Parquet), or a table with ``chunks(columns, size)``
    have: dict    # field (timestamp, account_id, user_id, event) -> its column
    head: list    # the file's column names


@dataclass
class _File:
    """One events file as DuckDB reads it."""

    name: str    # as reported
    rel: str     # SQL FROM item
    lines: str   # SQL FROM item with a column ``_line`` (the file line of a row)
    have: dict   # field -> column name


def _file(con, i, ef: EventFile) -> _File:
    path, have = ef.path, ef.have
    if not isinstance(path, Path):  # a database table: stream it in (DuckDB spills)
        table = f"sql_events_{i}"
        first, offset = True, 0
        for chunk in path.chunks(list(have.values()), 1_000_000):
            chunk = chunk.astype(object)
            chunk["_line"] = np.arange(len(chunk), dtype=np.int64) + offset + 2
            offset += len(chunk)
            con.register("sql_chunk", chunk)
            con.execute(("CREATE TABLE " + table + " AS" if first else "INSERT INTO " + table)
                        + " SELECT * FROM sql_chunk")
            con.unregister("sql_chunk")
            first = False
        if first:
            cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {_q(c)}" for c in have.values())
            con.execute(f"CREATE TABLE {table} AS SELECT {cols}, 0::BIGINT AS _line LIMIT 0")
        return _File(ef.name, table, table, have)
    p = _s(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return _File(ef.name, f"read_parquet({p})",
                     f"(SELECT *, file_row_number + 2 AS _line FROM "
                     f"read_parquet({p}, file_row_number = true))", have)
    names = list(ef.head)
    seen = set()
    for k, h in enumerate(names):  # DuckDB needs distinct names; the mapping uses the first
        if h in seen:
            names[k] = f"{h}__{k}"
        seen.add(names[k])
    cols = "{" + ", ".join(f"{_s(h)}: 'VARCHAR'" for h in names) + "}"
    rel = (f"read_csv({p}, header = true, auto_detect = false, delim = ',', quote = '\"', "
           f"escape = '\"', columns = {cols})")
    # rows in file order (preserve_insertion_order is set for the query that numbers them)
    return _File(ef.name, rel, f"(SELECT *, row_number() OVER () + 1 AS _line "
                 f"FROM {rel})", have)


def _local(instant: str, tz: str) -> str:
    """SQL of the wall-clock TIMESTAMP in ``tz`` of a TIMESTAMPTZ expression."""
    if tz in ("UTC", "Etc/UTC", "GMT", "Etc/GMT"):  # no zone rules: 3x faster than ICU
        return f"make_timestamp(epoch_us({instant}))"
    return f"CAST(timezone({_s(tz)}, {instant}) AS TIMESTAMP)"


def _timestamp_sql(dtype: str, fmt, tz) -> str:
    """SQL of the wall-clock time in ``tz`` from ``ts_raw`` (typed) or ``ts_text``."""
    if "TIME ZONE" in dtype or dtype.startswith("TIMESTAMPTZ"):  # any precision
        return _local("ts_raw", tz)
    if (dtype.startswith("TIMESTAMP") or dtype == "DATE") and fmt not in ("unix", "unix_ms"):
        return "CAST(ts_raw AS TIMESTAMP)"
    if fmt in ("unix", "unix_ms"):
        div = " / 1000.0" if fmt == "unix_ms" else ""
        num = f"(TRY_CAST(ts_text AS DOUBLE){div})"
        # datetime64[ns] holds +-292 years around 1970; beyond is not a time (as pandas)
        return f"CASE WHEN abs({num}) < 9.2e9 THEN {_local(f'to_timestamp({num})', tz)} END"
    if fmt:
        parsed = f"try_strptime(ts_text, {_s(fmt)})"
        return _local(parsed, tz) if "%z" in fmt else parsed
    return (f"CASE WHEN regexp_matches(ts_text, {_s(_ISO)}) THEN CASE WHEN "
            f"regexp_matches(ts_text, {_s(_ZONED)}) THEN "
            f"{_local('TRY_CAST(ts_text AS TIMESTAMPTZ)', tz)} ELSE TRY_CAST(ts_text AS "
            f"TIMESTAMP) END END")


def _ids_sql(f: _File) -> str:
    """The file's distinct account ids -> (present, the account's key or NULL).

    Stripping and joining the distinct ids only (not every event) keeps the
    per-event join on the raw column, which DuckDB runs several times faster.
    """
    col = _q(f.have["account_id"])
    return (f"SELECT d.raw, d.crm IS NOT NULL AS present, k.account_id AS key FROM ("
            f"SELECT raw, NULLIF(trim(CAST(raw AS VARCHAR)), '') AS crm FROM "
            f"(SELECT DISTINCT {col} AS raw FROM {f.rel})) d "
            f"LEFT JOIN keys k ON d.crm = k.crm_account_id")


def _padded_users(con, f: _File) -> bool:
    """Whether any user id has spaces around it (stripping every id costs a third more)."""
    if "user_id" not in f.have:
        return False
    u = f"CAST({_q(f.have['user_id'])} AS VARCHAR)"
    return con.sql(f"SELECT count(*) FROM {f.rel} WHERE prefix({u}, ' ') OR suffix({u}, ' ')"
                   ).fetchall()[0][0] > 0


def _base_sql(f: _File, rel: str, ids: str, ts_sql: str, login_names,
              strip_users: bool = True) -> str:
    """Per row: ts_text, ts_fast, present (an account id), key, user_id, event (folded)."""
    h = f.have
    text = (f"NULLIF(trim(CAST(t.{_q(h['timestamp'])} AS VARCHAR)), '')" if "ts_text" in ts_sql
            else "CAST(NULL AS VARCHAR)")  # a typed timestamp has no text to misread
    # a blank user id is one user (of its account)
    user = ("''" if "user_id" not in h else
            f"COALESCE(NULLIF(trim(CAST(t.{_q(h['user_id'])} AS VARCHAR)), ''), '')"
            if strip_users else f"COALESCE(CAST(t.{_q(h['user_id'])} AS VARCHAR), '')")
    if "event" in h:
        event = f"lower(trim(CAST(t.{_q(h['event'])} AS VARCHAR)))"
    else:  # a file without event names: every event is a sign-in (as without login_events)
        event = _s(login_names[0]) if login_names else "NULL"
    extra = ", _line" if rel == f.lines else ""
    return (f"SELECT ts_text, {ts_sql} AS ts_fast, present, key, user_id, event{extra} FROM ("
            f"SELECT t.{_q(h['timestamp'])} AS ts_raw, {text} AS ts_text, "
            f"COALESCE(a.present, FALSE) AS present, a.key, {user} AS user_id, "
            f"{event} AS event{extra.replace('_line', 't._line')} FROM {rel} t "
            f"LEFT JOIN {ids} a ON t.{_q(h['account_id'])} IS NOT DISTINCT FROM a.raw)")


def _typed_sql(base: str, fix: str | None, extra: str = "") -> str:
    """The rows with ``ts``: DuckDB's reading, else the fallback table's (``fix``)."""
    cols = "present, key, user_id, event" + extra
    if fix is None:
        return f"SELECT ts_text, ts_fast, ts_fast AS ts, {cols} FROM ({base})"
    return (f"SELECT b.ts_text, b.ts_fast, COALESCE(b.ts_fast, CAST(f.ts AS TIMESTAMP)) AS ts,"
            f" {', '.join('b.' + c.strip() for c in cols.split(','))} FROM ({base}) b "
            f"LEFT JOIN {fix} f ON b.ts_text = f.raw")


def _stats(con, typed: str, known: str):
    return con.sql(f"""
SELECT count(*) AS n,
       count(*) FILTER (WHERE ts_text IS NOT NULL AND ts_fast IS NULL) AS not_fast,
       count(*) FILTER (WHERE ts_text IS NOT NULL AND ts IS NULL) AS bad,
       count(*) FILTER (WHERE {known} AND present AND key IS NULL) AS unknown,
       max(ts) FILTER (WHERE {known} AND key IS NOT NULL) AS latest
FROM ({typed})""").fetchall()[0]


def _fallback(con, i, typed_fast: str, fmt, tz, f: _File) -> str | None:
    """Parse the texts DuckDB could not by the pandas rule; the table of those it reads."""
    raw = con.sql(f"SELECT DISTINCT ts_text FROM ({typed_fast}) WHERE ts_text IS NOT NULL "
                  f"AND ts_fast IS NULL LIMIT {FALLBACK_VALUES}").df()["ts_text"]
    got = parse_timestamps(Column(f.name, f.have["timestamp"], "events", "timestamp",
                                  raw.astype(object), []), fmt, tz)
    ok = got.notna().to_numpy()
    if not ok.any():
        return None
    con.register(f"ts_fix_{i}", pd.DataFrame({"raw": raw[ok].to_numpy(dtype=object),
                                              "ts": got[ok].to_numpy()}))
    return f"ts_fix_{i}"


def _report_timestamps(con, i, f: _File, ts_sql, fix, fmt, tz, problems, login_names):
    """The problems of the timestamps no rule reads, with the file's line numbers."""
    amb = f"regexp_matches(ts_text, {_s('^' + _AMBIGUOUS + '$')})" if fmt is None else "FALSE"
    typed = _typed_sql(_base_sql(f, f.lines, f"ids_{i}", ts_sql, login_names), fix, ", _line")
    con.execute("SET preserve_insertion_order = true")
    try:
        rows = con.sql(f"""
SELECT ts_text, _line, {amb} AS amb, count(*) OVER (PARTITION BY {amb}) AS total
FROM ({typed}) WHERE ts_text IS NOT NULL AND ts IS NULL
QUALIFY row_number() OVER (PARTITION BY {amb} ORDER BY _line) <= {_SAMPLE}
ORDER BY _line""").df()
    finally:
        con.execute("SET preserve_insertion_order = false")
    found: list = []
    parse_timestamps(Column(f.name, f.have["timestamp"], "events", "timestamp",
                            rows["ts_text"].astype(object).reset_index(drop=True), found,
                            rows["_line"].to_numpy(np.int64)), fmt, tz)
    totals = rows.groupby("amb")["total"].first()
    for p in found:  # the sample's problem, counted over the whole file
        p.count = int(totals.get(p.message.startswith("has dates like"), p.count))
    problems.extend(found)


def account_months_of_files(files, keys, *, tz="UTC", fmt=None, login_events=(),
                            key_events=(), cut=None, problems=None, unreadable=None):
    """Event files -> the ``usage`` table, counted on DuckDB.

    Parameters
    ----------
    files : list of EventFile
        Each with at least ``timestamp`` and ``account_id`` mapped.
    keys : DataFrame
        ``crm_account_id`` (text, as in the accounts export) -> ``account_id``
        (the integer key): events of other accounts are left out (counted).
    tz : str
        The mapping's time zone (zoned timestamps are converted to it).
    fmt : str, optional
        ``date_formats.timestamp`` (a strptime format, ``unix`` or ``unix_ms``).
    login_events, key_events : sequence of str
        Event names (compared stripped and case-folded); no login events:
        every event is a login.
    cut : Timestamp, optional
        Events at or after it are not known yet (left out).
    problems : list, optional
        Timestamp problems are appended here (never raised).
    unreadable : callable(name, exception, utf8=bool), optional
        Called for a file DuckDB cannot read (the file is left out); without
        it the error is raised.

    Returns
    -------
    (DataFrame or None, int, int)
        ``account_id, month, active_seats, key_feature_adoption, logins``
        sorted by account and month (``attrs['latest']``: the last event
        counted), or None if no file could be read; the rows read; the events
        of accounts not in ``keys``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"timestamp": ["2025-11-03T23:30:00Z", "2025-11-04T01:00:00+08:00"],
    ...               "user_id": ["u1", "u2"], "group_id": ["001A", "001B"],
    ...               "event": ["Signed In", "signed in "]}).to_csv(d / "t.csv", index=False)
    >>> f = EventFile("t.csv", d / "t.csv", {"timestamp": "timestamp", "user_id": "user_id",
    ...               "account_id": "group_id", "event": "event"},
    ...               ["timestamp", "user_id", "group_id", "event"])
    >>> keys = pd.DataFrame({"crm_account_id": ["001A"], "account_id": [7]})
    >>> u, n, unknown = account_months_of_files([f], keys, tz="Asia/Shanghai",
    ...                                         login_events=["Signed In"])
    >>> u.to_dict("records"), n, unknown
    ([{'account_id': 7, 'month': Timestamp('2025-11-01 00:00:00'), 'active_seats': 1, \
'key_feature_adoption': 0.0, 'logins': 1}], 2, 1)
    """
    from . import events_cache
    problems = [] if problems is None else problems
    logins = list(dict.fromkeys(str(x).strip().casefold() for x in login_events or []))
    keyed = list(dict.fromkeys(str(x).strip().casefold() for x in key_events or []))
    key = events_cache.cache_key(files, keys, tz=tz, fmt=fmt, logins=logins, keyed=keyed,
                                 cut=cut)
    kept = events_cache.load(key)
    if kept is not None:
        return kept
    n_problems, failed = len(problems), []
    out = _count(files, keys, tz, fmt, logins, keyed, cut, problems, unreadable, failed)
    if out[0] is not None and len(problems) == n_problems and not failed:
        events_cache.store(key, *out)  # only a clean count: problems are found every run
    return out


def _count(files, keys, tz, fmt, logins, keyed, cut, problems, unreadable, failed):
    import duckdb

    from ..engines.connect import duckdb_connection
    from ..engines.events import account_months
    con = duckdb_connection(EVENTS_MEMORY)
    usage = None
    try:
        con.register("keys", pd.DataFrame({
            "crm_account_id": np.asarray(keys["crm_account_id"], dtype=object),
            "account_id": np.asarray(keys["account_id"], dtype=np.int64)}))
        known = f"ts < TIMESTAMP '{cut}'" if cut is not None else "ts IS NOT NULL"
        good, n_rows, n_unknown, latest = [], 0, 0, None
        for i, ef in enumerate(files):
            try:
                f = _file(con, i, ef)
                dtype = con.sql(f"SELECT {_q(f.have['timestamp'])} FROM {f.rel} LIMIT 0"
                                ).types[0]
                ts_sql = _timestamp_sql(str(dtype), fmt, tz)
                con.execute(f"CREATE OR REPLACE TEMP TABLE ids_{i} AS {_ids_sql(f)}")
                strip = _padded_users(con, f)
                base = _base_sql(f, f.rel, f"ids_{i}", ts_sql, logins, strip)
                fix = None
                st = _stats(con, _typed_sql(base, None), known)
                if st[1]:  # texts DuckDB does not read as ISO: the pandas rule, once each
                    fix = _fallback(con, i, _typed_sql(base, None), fmt, tz, f)
                    if fix is not None:
                        st = _stats(con, _typed_sql(base, fix), known)
                if st[2]:
                    _report_timestamps(con, i, f, ts_sql, fix, fmt, tz, problems, logins)
            except duckdb.Error as e:
                failed.append(ef.name)
                if unreadable is None:
                    raise
                unreadable(ef.name, ValueError(_first_lines(e)), utf8="utf-8" in str(e))
                continue
            n_rows += int(st[0])
            n_unknown += int(st[3])
            if st[4] is not None:
                latest = max(latest, pd.Timestamp(st[4])) if latest is not None else \
                    pd.Timestamp(st[4])
            con.execute(f"CREATE OR REPLACE TEMP VIEW events_{i} AS {_typed_sql(base, fix)}")
            good.append(i)
        if not good:
            return None, n_rows, n_unknown
        if latest is not None:
            union = " UNION ALL ".join(
                f"SELECT ts AS timestamp, user_id, key AS account_id, event FROM events_{i} "
                "WHERE key IS NOT NULL" for i in good)
            as_of = (cut - pd.Timedelta(days=1)) if cut is not None else latest.normalize()
            usage = account_months(con.sql(union), as_of=as_of, con=con,
                                   login_event=logins or None,
                                   key_event=keyed or None).df()
    finally:
        con.close()
    if usage is None:
        usage = pd.DataFrame({c: [] for c in ("account_id", "month", "active_seats",
                                              "key_feature_adoption", "logins")})
    usage = pd.DataFrame({
        "account_id": usage["account_id"].to_numpy(np.int64),
        "month": pd.to_datetime(usage["month"]).to_numpy().astype("datetime64[ns]"),
        "active_seats": usage["active_seats"].to_numpy(np.int64),
        "key_feature_adoption": usage["key_feature_adoption"].to_numpy(float),
        "logins": usage["logins"].to_numpy(np.int64)})
    usage = usage.sort_values(["account_id", "month"], kind="stable").reset_index(drop=True)
    usage.attrs["latest"] = latest
    return usage, n_rows, n_unknown


def _first_lines(e) -> str:
    lines = [x.strip() for x in str(e).splitlines() if x.strip()]
    return "; ".join(lines[:3])[:200]
