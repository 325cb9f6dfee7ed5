"""Analytics events (Segment ``tracks``, Mixpanel) -> account-months, on DuckDB.

DuckDB reads the event files itself (``read_csv`` with every column as
text, ``read_parquet``; a database table is streamed in), in bounded memory
(capped at :data:`EVENTS_MEMORY`, spilling to disk), so 50 million events
need no more memory than 50 thousand. Per file:

- timestamps become wall-clock times in the mapping's zone: a zoned value
  (``...Z``, ``+08:00``, ``.000+0000``, or a Parquet UTC timestamp) is
  converted, a value without a zone is taken as written. ISO values are
  parsed by DuckDB; every other value (US dates, explicit ``date_formats``
  DuckDB cannot read, anything unusual) goes, once per distinct text, through
  :func:`~tobmodel.mapping.parse.parse_timestamps`, the rule of every other
  date column, which also words the problems (with the file's line numbers);
- the analytics account ids (Segment ``group_id``) are joined to the
  accounts export's integer keys (events of other accounts are counted as a
  notice and left out);
- event names are stripped and case-folded, as the mapping's
  ``login_events`` / ``key_events`` are;

then :func:`tobmodel.engines.events.account_months`, the same SQL as the
scale-out path, counts active users, key-feature users and logins per account
and calendar month. Only events before ``cut`` (the day after ``as_of``) count.

Examples
--------
>>> import pathlib, tempfile
>>> import pandas as pd
>>> from tobmodel.mapping.load import _Reader, account_key
>>> from tobmodel.mapping.spec import load_mappings
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"timestamp": ["2025-11-03T23:30:00Z", "2025-11-04T01:00:00+08:00"],
...               "user_id": ["u1", "u2"], "group_id": ["001A", "001A"],
...               "event": ["Signed In", "signed in "]}).to_csv(d / "tracks.csv", index=False)
>>> m, problems = load_mappings(["segment"]), []
>>> acc = pd.DataFrame({"crm_account_id": ["001A"]})
>>> u = account_months_of_export(_Reader(d, m, problems), m, problems, "UTC", acc)
>>> u[["month", "active_seats", "logins"]].to_dict("records")
[{'month': Timestamp('2025-11-01 00:00:00'), 'active_seats': 2, 'logins': 2}]
>>> problems
[]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .parse import _AMBIGUOUS, SHOW_ROWS, Column, Problem, parse_timestamps

EVENTS_MEMORY = "1GB"   # DuckDB's cap for the events step (it spills beyond it)
FALLBACK_VALUES = 1_000_000  # distinct non-ISO timestamp texts parsed by the pandas rule
_SAMPLE = 2_000         # failing rows per kind whose values the problem shows (as parse.py)
_ISO = r"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,9})?)?)?(Z|[+-]\d\d:?\d\d)?$"
_ZONED = r"(Z|[+-]\d\d:?\d\d)$"  # as parse_timestamps: converted to the mapping's zone


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _s(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass
class _File:
    """One events file (or table) as DuckDB reads it."""

    name: str            # as reported (relative to --input)
    rel: str             # SQL FROM item
    lines: str           # SQL FROM item with a column ``_line`` (the file line of a row)
    have: dict           # field -> column name


def _file(con, i, path, have, head, rd):
    from .load import SqlTable, _sql_chunks
    if isinstance(path, SqlTable):  # stream the table in (DuckDB spills beyond its cap)
        table = f"sql_events_{i}"
        first = True
        offset = 0
        for chunk in _sql_chunks(path, list(have.values()), 1_000_000):
            chunk = chunk.astype(object)
            chunk["_line"] = np.arange(len(chunk), dtype=np.int64) + offset + 2
            offset += len(chunk)
            con.register("sql_chunk", chunk)
            con.execute(f"{'CREATE TABLE ' + table + ' AS' if first else 'INSERT INTO ' + table}"
                        " SELECT * FROM sql_chunk")
            con.unregister("sql_chunk")
            first = False
        if first:
            cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {_q(c)}" for c in have.values())
            con.execute(f"CREATE TABLE {table} AS SELECT {cols}, 0::BIGINT AS _line LIMIT 0")
        return _File(rd_name(path, rd), table, table, have)
    p = _s(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return _File(rd_name(path, rd), f"read_parquet({p})",
                     f"(SELECT *, file_row_number + 2 AS _line FROM "
                     f"read_parquet({p}, file_row_number = true))", have)
    names = list(head)
    seen = set()
    for k, h in enumerate(names):  # DuckDB needs distinct names; the mapping uses the first
        if h in seen:
            names[k] = f"{h}__{k}"
        seen.add(names[k])
    cols = "{" + ", ".join(f"{_s(h)}: 'VARCHAR'" for h in names) + "}"
    rel = (f"read_csv({p}, header = true, auto_detect = false, delim = ',', quote = '\"', "
           f"escape = '\"', columns = {cols})")
    # rows in file order (preserve_insertion_order is set for this query only)
    return _File(rd_name(path, rd), rel, f"(SELECT *, row_number() OVER () + 1 AS _line "
                 f"FROM {rel})", have)


def rd_name(path, rd):
    from .load import display
    return display(path, rd.root)


def _timestamp_sql(dtype: str, fmt, tz) -> tuple[str, bool]:
    """(SQL of the wall-clock time from ``ts_text`` / ``ts_raw``, whether it is text)."""
    z = _s(tz)
    if dtype == "TIMESTAMP WITH TIME ZONE":
        return f"timezone({z}, ts_raw)", False
    if (dtype.startswith("TIMESTAMP") or dtype == "DATE") and fmt not in ("unix", "unix_ms"):
        return "CAST(ts_raw AS TIMESTAMP)", False
    if fmt in ("unix", "unix_ms"):
        div = " / 1000.0" if fmt == "unix_ms" else ""
        num = f"(TRY_CAST(ts_text AS DOUBLE){div})"
        # datetime64[ns] holds +-292 years around 1970; beyond is not a time (as pandas)
        return (f"CASE WHEN abs({num}) < 9.2e9 THEN timezone({z}, to_timestamp({num})) END",
                True)
    if fmt:
        parsed = f"try_strptime(ts_text, {_s(fmt)})"
        return (f"timezone({z}, {parsed})" if "%z" in fmt else parsed), True
    return (f"CASE WHEN regexp_matches(ts_text, {_s(_ISO)}) THEN CASE WHEN "
            f"regexp_matches(ts_text, {_s(_ZONED)}) THEN timezone({z}, TRY_CAST(ts_text AS "
            f"TIMESTAMPTZ)) ELSE TRY_CAST(ts_text AS TIMESTAMP) END END"), True


def _base_sql(f: _File, rel: str, ts_sql: str, login_names) -> str:
    """Per row: ts_text, ts_fast, crm (account id text), user_id, event (folded)."""
    h = f.have
    text = f"NULLIF(trim(CAST({_q(h['timestamp'])} AS VARCHAR)), '')"
    user = (f"COALESCE(NULLIF(trim(CAST({_q(h['user_id'])} AS VARCHAR)), ''), '')"
            if "user_id" in h else "''")  # a blank user id is one user (of its account)
    if "event" in h:
        event = f"lower(trim(CAST({_q(h['event'])} AS VARCHAR)))"
    else:  # a file without event names: every event is a sign-in (as without login_events)
        event = _s(login_names[0]) if login_names else "NULL"
    extra = ", _line" if rel == f.lines else ""
    return (f"SELECT ts_text, {ts_sql} AS ts_fast, crm, user_id, event{extra} FROM ("
            f"SELECT {_q(h['timestamp'])} AS ts_raw, {text} AS ts_text, "
            f"NULLIF(trim(CAST({_q(h['account_id'])} AS VARCHAR)), '') AS crm, "
            f"{user} AS user_id, {event} AS event{extra} FROM {rel})")


def _typed_sql(base: str, fix: str | None, extra: str = "") -> str:
    """The rows with ``ts``: DuckDB's reading, else the fallback table's (``fix``)."""
    if fix is None:
        return f"SELECT ts_text, ts_fast, ts_fast AS ts, crm, user_id, event{extra} FROM ({base})"
    return (f"SELECT b.ts_text, b.ts_fast, COALESCE(b.ts_fast, CAST(f.ts AS TIMESTAMP)) AS ts, b.crm, b.user_id,"
            f" b.event{extra} FROM ({base}) b LEFT JOIN {fix} f ON b.ts_text = f.raw")


def _stats(con, typed: str, known: str):
    return con.sql(f"""
SELECT count(*) AS n,
       count(*) FILTER (WHERE ts_text IS NOT NULL AND ts_fast IS NULL) AS not_fast,
       count(*) FILTER (WHERE ts_text IS NOT NULL AND ts IS NULL) AS bad,
       count(*) FILTER (WHERE {known} AND crm IS NOT NULL
                        AND k.account_id IS NULL) AS unknown,
       max(ts) FILTER (WHERE {known} AND k.account_id IS NOT NULL) AS latest
FROM ({typed}) t LEFT JOIN keys k ON t.crm = k.crm_account_id""").fetchall()[0]


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


def _report_timestamps(con, f: _File, ts_sql, fix, fmt, tz, problems, login_names):
    """The problems of the timestamps no rule reads, with the file's line numbers."""
    amb = f"regexp_matches(ts_text, {_s('^' + _AMBIGUOUS + '$')})" if fmt is None else "FALSE"
    typed = _typed_sql(_base_sql(f, f.lines, ts_sql, login_names), fix, ", _line")
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
        assert len(p.rows) <= SHOW_ROWS
    problems.extend(found)


def account_months_of_export(rd, m, problems, tz, acc, cut=None):
    """The mapping's events source -> the ``usage`` table (``None`` if nothing is read).

    Parameters
    ----------
    rd : tobmodel.mapping.load._Reader
        Finds the files, records them and words missing-file / -column problems.
    m : Mapping
    problems : list
        Problems are appended here (never raised).
    tz : str
        The mapping's time zone.
    acc : DataFrame
        The accounts export (``crm_account_id``): events of other accounts are
        left out and counted.
    cut : Timestamp, optional
        Events at or after it are not known yet (left out).

    Returns
    -------
    DataFrame or None
        ``account_id, month, active_seats, key_feature_adoption, logins``
        sorted by account and month; ``attrs``: ``latest`` (the last event
        counted), ``key_events`` and ``users`` (whether adoption and active
        users can be measured).
    """
    import duckdb

    from ..engines.connect import duckdb_connection
    from ..engines.events import account_months
    from .load import _UNREADABLE, _header, account_key, display, locate
    spec = m.sources["events"]
    paths = locate(rd.root, spec)
    rd.files["events"] = [display(p, rd.root) for p in paths]
    if not paths:
        rd.missing_file("events")
        return None
    logins = list(dict.fromkeys(str(x).strip().casefold()
                                for x in spec.get("login_events", []) or []))
    keys = list(dict.fromkeys(str(x).strip().casefold()
                              for x in spec.get("key_events", []) or []))
    wanted = {f: m.column("events", f) for f in m.fields("events")}
    wanted = {f: c for f, c in wanted.items() if c is not None}
    if acc is None:  # nothing to attach events to (the accounts problem is reported)
        return None
    fmt = (spec.get("date_formats") or {}).get("timestamp")
    con = duckdb_connection(EVENTS_MEMORY)
    try:
        crm = acc["crm_account_id"].to_numpy(dtype=object)
        con.register("keys", pd.DataFrame({"crm_account_id": crm,
                                           "account_id": account_key(crm)}))
        known = f"ts < TIMESTAMP '{cut}'" if cut is not None else "ts IS NOT NULL"
        good, n_rows, n_unknown, latest = [], 0, 0, None
        for i, path in enumerate(paths):
            name = display(path, rd.root)
            try:
                head = _header(path)
            except _UNREADABLE as e:
                rd.unreadable(name, e)
                continue
            have = {f: c for f, c in wanted.items() if c in head}
            for f in m.required("events"):
                if f not in have:
                    rd._missing_column(name, "events", f, wanted.get(f), head, "error")
            for f in ("user_id", "event"):
                if f in wanted and f not in have:
                    rd._missing_column(name, "events", f, wanted[f], head, "notice")
            if any(f not in have for f in m.required("events")):
                continue
            try:
                f = _file(con, i, path, have, head, rd)
                dtype = con.sql(f"SELECT {_q(have['timestamp'])} FROM {f.rel} LIMIT 0"
                                ).types[0]
                ts_sql, is_text = _timestamp_sql(str(dtype), fmt, tz)
                base = _base_sql(f, f.rel, ts_sql, logins)
                fix = None
                st = _stats(con, _typed_sql(base, None), known)
                if st[1]:  # texts DuckDB does not read as ISO: the pandas rule, once each
                    fix = _fallback(con, i, _typed_sql(base, None), fmt, tz, f)
                    if fix is not None:
                        st = _stats(con, _typed_sql(base, fix), known)
                if st[2]:
                    _report_timestamps(con, f, ts_sql, fix, fmt, tz, problems, logins)
            except duckdb.Error as e:
                rd.unreadable(name, ValueError(_first_lines(e)), utf8="utf-8" in str(e))
                continue
            n_rows += int(st[0])
            n_unknown += int(st[3])
            if st[4] is not None:
                latest = pd.Timestamp(st[4]) if latest is None else max(latest,
                                                                        pd.Timestamp(st[4]))
            con.execute(f"CREATE OR REPLACE TEMP VIEW events_{i} AS {_typed_sql(base, fix)}")
            good.append(i)
        rd.rows["events"] = n_rows
        if n_unknown:
            problems.append(Problem(", ".join(rd.files["events"]), wanted.get("account_id"),
                                    f"names accounts not in the accounts export on "
                                    f"{n_unknown:,} events: left out", severity="notice"))
        if not good:
            return None
        usage = None
        if latest is not None:
            union = " UNION ALL ".join(
                f"SELECT t.ts AS timestamp, t.user_id, k.account_id, t.event FROM events_{i} t"
                f" JOIN keys k ON t.crm = k.crm_account_id" for i in good)
            as_of = (cut - pd.Timedelta(days=1)) if cut is not None else latest.normalize()
            rel = account_months(con.sql(union), as_of=as_of, con=con,
                                 login_event=logins or None, key_event=keys or None)
            usage = rel.df()
        if usage is None or not len(usage):
            usage = pd.DataFrame({"account_id": np.zeros(0, np.int64), "month": np.zeros(
                0, "datetime64[ns]"), "active_seats": np.zeros(0, np.int64),
                "key_feature_adoption": np.zeros(0), "logins": np.zeros(0, np.int64)})
    finally:
        con.close()
    if logins and n_rows and not int(usage["logins"].sum()):
        problems.append(Problem(paths[0].name, wanted.get("event"), "has none of the login "
                                "events " + ", ".join(sorted(spec.get("login_events"))),
                                fix="name your sign-in event in sources.events.login_events",
                                severity="notice"))
    usage = pd.DataFrame({
        "account_id": usage["account_id"].to_numpy(np.int64),
        "month": pd.to_datetime(usage["month"]).to_numpy().astype("datetime64[ns]"),
        "active_seats": usage["active_seats"].to_numpy(np.int64),
        "key_feature_adoption": usage["key_feature_adoption"].to_numpy(float),
        "logins": usage["logins"].to_numpy(np.int64)})
    usage = usage.sort_values(["account_id", "month"], kind="stable").reset_index(drop=True)
    usage.attrs["latest"] = latest
    usage.attrs["key_events"] = bool(keys)
    usage.attrs["users"] = "user_id" in wanted
    return usage


def _first_lines(e) -> str:
    lines = [x.strip() for x in str(e).splitlines() if x.strip()]
    return "; ".join(lines[:3])[:200]
