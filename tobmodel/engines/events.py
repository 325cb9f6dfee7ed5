"""Event-level usage and tickets -> account-months -> account usage features, defined once.

Each step is one SQL text in the subset DuckDB and Spark SQL share, run
unchanged on either engine (:func:`tobmodel.engines.connect.run_sql`). The
steps and what they read:

``account_months(events)``
    ``events``: ``timestamp, user_id, account_id, event`` (one row per tracked
    event, e.g. a Segment ``tracks`` export; ``timestamp`` in UTC). Returns the
    ``usage`` table of :mod:`tobmodel.schema` (``account_id, month,
    active_seats, key_feature_adoption, logins``) plus ``key_feature_users``,
    ``events`` and ``events_<kind>`` for each kind asked for. ``active_seats``
    counts distinct users with any event in the calendar month;
    ``key_feature_adoption`` is the share of them with a ``key_event``;
    ``logins`` counts ``login_event`` events.
``ticket_months(tickets)``
    ``tickets``: ``account_id, created_at, solved_at`` (empty while open) and
    optionally ``via`` (``'bot'`` for a chat-bot conversation) and
    ``escalated``. Returns the ``support`` table: ``tickets_opened`` (non-bot
    tickets created in the month), ``tickets_unresolved`` (of those, still
    open 7 days after creation), ``bot_sessions``, ``bot_escalations``
    (empty when the export has no ``via`` / ``escalated``).
``usage_features(usage, support, accounts)``
    The usage covariates of :func:`tobmodel.renewal.build_account_features`
    for accounts scored at ``as_of`` (same formulas; a test holds the two to
    1e-12): ``logins_trend, key_feature_adoption_3m, active_seat_share_3m,
    unresolved_share_6m, bot_escalations_6m, unresolved_tickets_6m``.

:func:`write_account_months` writes the account-months of Parquet files that
keep accounts apart one range of account ids at a time (the ranges from the
files' footers, :func:`account_batches`), so a billion events aggregate in
bounded memory without spilling; the rows are those of :func:`account_months`.

Only what was known at ``as_of`` is used: events and tickets after the end
of the as-of day are left out, and a ticket counts as unresolved only once
its 7 days have passed by then (a ticket solved after ``as_of`` is open).

Examples
--------
>>> import pandas as pd
>>> ev = pd.DataFrame({"timestamp": pd.to_datetime(["2025-11-03 09:00", "2025-11-20 10:00",
...                                                 "2025-11-21 11:00", "2026-01-02 08:00"]),
...                    "user_id": [1, 1, 2, 1], "account_id": [7, 7, 7, 7],
...                    "event": ["login", "key_feature", "login", "login"]})
>>> m = to_pandas(account_months(ev, as_of="2025-12-31"))
>>> m[["account_id", "active_seats", "logins", "key_feature_adoption"]].to_dict("records")
[{'account_id': 7, 'active_seats': 2, 'logins': 2, 'key_feature_adoption': 0.5}]
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .connect import EngineError, run_sql, to_pandas  # noqa: F401  (to_pandas: public)

EVENT_COLUMNS = ("timestamp", "user_id", "account_id", "event")
TICKET_COLUMNS = ("account_id", "created_at", "solved_at")
USAGE_FEATURES = ("logins_trend", "key_feature_adoption_3m", "active_seat_share_3m",
                  "unresolved_share_6m", "bot_escalations_6m", "unresolved_tickets_6m")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_UNQUOTABLE = re.compile(r"['\\\x00-\x1f]")


def _as_of(as_of) -> tuple[pd.Timestamp, str, str]:
    """(as_of day, 'YYYY-MM-DD', the first instant after it) — data is known through the day."""
    try:
        day = pd.Timestamp(as_of).normalize()
    except (TypeError, ValueError):
        raise EngineError(f"as_of {as_of!r} is not a date (use YYYY-MM-DD)") from None
    if pd.isna(day):
        raise EngineError("as_of is required (the date the data is known up to)")
    return day, str(day.date()), str(day + pd.Timedelta(days=1))


def _literal(text: str, what: str) -> str:
    if not _NAME.match(text):
        raise EngineError(f"{what} {text!r}: use letters, digits and _ only")
    return text


def _event_test(names, what: str, default: str) -> str:
    """SQL condition on ``event``: one name, any of a list of names, or ``default`` (None).

    Names in a list may be any text without quotes, backslashes or control
    characters (``Signed In``, ``$identify``): they are SQL string literals.
    """
    if names is None:
        return default
    if isinstance(names, str):
        return f"event = '{_literal(names, what)}'"
    names = [str(n) for n in names]
    bad = [n for n in names if not n or _UNQUOTABLE.search(n)]
    if bad or not names:
        raise EngineError(f"{what} {bad[0] if bad else names!r}: event names without quotes, "
                          "backslashes or control characters, at least one")
    return "event IN (" + ", ".join(f"'{n}'" for n in names) + ")"


def _columns(engine, con, name, source) -> list[str]:
    """Column names of ``source`` without reading its rows."""
    rel = run_sql(f"SELECT * FROM {name} LIMIT 0", {name: source}, engine=engine, con=con)
    return list(rel.columns)


def _require(engine, con, name, source, needed) -> list[str]:
    cols = _columns(engine, con, name, source)
    missing = [c for c in needed if c not in cols]
    if missing:
        raise EngineError(f"{source if isinstance(source, str) else name}: {name} lacks "
                          f"column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                          f"(has: {', '.join(cols[:10])})")
    return cols


def _open(engine, con, memory_limit):
    from .connect import duckdb_connection, spark_session
    if con is not None:
        return con
    return duckdb_connection(memory_limit) if engine == "duckdb" else spark_session()


def account_months_sql(as_of, *, login_event="login", key_event="key_feature",
                       kinds=(), table: str = "events") -> str:
    """The SQL of :func:`account_months` (reads the table ``events``, or ``table``: a name
    or a parenthesised subquery with an alias)."""
    _, _, end = _as_of(as_of)
    login = _event_test(login_event, "login_event", "TRUE")
    key = _event_test(key_event, "key_event", "FALSE")
    kinds = [_literal(k, "event kind") for k in kinds]
    per_user_kinds = "".join(
        f",\n         SUM(CASE WHEN event = '{k}' THEN 1 ELSE 0 END) AS n_{k}" for k in kinds)
    per_month_kinds = "".join(f",\n       CAST(SUM(n_{k}) AS BIGINT) AS events_{k}"
                              for k in kinds)
    # two steps: per user-month first, so no engine needs COUNT(DISTINCT) over events;
    # the month is a small integer (year * 12 + month - 1: cheaper to compute and to group
    # by than a truncated timestamp), made a date again only on the account-months
    m = "year(timestamp) * 12 + month(timestamp) - 1"
    return f"""
WITH user_months AS (
  SELECT account_id, user_id, {m} AS m,
         COUNT(*) AS n_events,
         SUM(CASE WHEN {login} THEN 1 ELSE 0 END) AS n_logins,
         MAX(CASE WHEN {key} THEN 1 ELSE 0 END) AS used_key{per_user_kinds}
  FROM {table}
  WHERE timestamp < TIMESTAMP '{end}' AND account_id IS NOT NULL AND user_id IS NOT NULL
  GROUP BY account_id, user_id, {m}
)
SELECT CAST(account_id AS BIGINT) AS account_id,
       make_date(CAST(FLOOR(m / 12) AS INT), CAST(m - 12 * FLOOR(m / 12) + 1 AS INT), 1)
         AS month,
       CAST(COUNT(*) AS BIGINT) AS active_seats,
       CAST(SUM(used_key) AS DOUBLE) / CAST(COUNT(*) AS DOUBLE) AS key_feature_adoption,
       CAST(SUM(n_logins) AS BIGINT) AS logins,
       CAST(SUM(used_key) AS BIGINT) AS key_feature_users,
       CAST(SUM(n_events) AS BIGINT) AS events{per_month_kinds}
FROM user_months
GROUP BY account_id, m
"""


def account_months(events, *, as_of, engine: str = "duckdb", con=None,
                   memory_limit: str = "2GB", login_event: str = "login",
                   key_event: str = "key_feature", kinds=()):
    """Event-level usage -> one row per account and calendar month (the ``usage`` table).

    Parameters
    ----------
    events : path, DataFrame, DuckDB relation or Spark DataFrame
        ``timestamp, user_id, account_id, event``; a path is a Parquet file,
        a folder of Parquet files (read recursively), a glob or a ``.csv``.
    as_of : date-like
        Events after the end of this day are left out.
    engine : {'duckdb', 'spark'}
    con : DuckDB connection or SparkSession, optional
        Default: a new DuckDB capped at ``memory_limit`` (spilling to a temp
        folder), or the active / a new local Spark session.
    memory_limit : str
        DuckDB's cap when ``con`` is not given (``'2GB'``).
    login_event, key_event : str, sequence of str or None
        The event name (or any of the names) counted as ``logins`` and as
        the key feature. ``login_event=None``: every event is a login (an
        export of sign-ins only); ``key_event=None``: no key feature (adoption
        0). Names are compared as written: fold their case in ``events``
        and here alike (:mod:`tobmodel.mapping.events` does).
    kinds : sequence of str
        Also count these events, as ``events_<kind>`` columns.

    Returns
    -------
    DuckDB relation or Spark DataFrame (lazy; :func:`to_pandas` to collect,
    or write it with the engine's Parquet writer).
    """
    con = _open(engine, con, memory_limit)
    _require(engine, con, "events", events, EVENT_COLUMNS)
    return run_sql(account_months_sql(as_of, login_event=login_event, key_event=key_event,
                                      kinds=kinds), {"events": events}, engine=engine, con=con)


def account_batches(files, batch_events: int = 5_000_000):
    """Split Parquet event files into ranges of account ids, from their footers only.

    Each row group's ``account_id`` min and max (Parquet statistics) place it
    on the account axis; row groups whose ranges overlap or touch belong
    together, and consecutive groups are packed into ranges of about
    ``batch_events`` rows (a range closes at the first clean cut past it).

    Returns a list of ``(lo, hi, files)``: the accounts ``lo < account_id <=
    hi`` (``None``: unbounded; the ranges cover every id, whatever the
    statistics say) and the files holding them, or ``None`` when the files do
    not split (one range, integer ids without statistics, or ids overlapping
    across all files, as in an export partitioned by time).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for i, ids in enumerate(([1, 2, 2], [3, 4], [5, 9])):
    ...     pd.DataFrame({"account_id": ids}).to_parquet(d / f"part-{i}.parquet")
    >>> files = sorted(str(f) for f in d.glob("*.parquet"))
    >>> [(lo, hi, [f[-14:] for f in fs]) for lo, hi, fs in account_batches(files, 4)]
    [(None, 4, ['part-0.parquet', 'part-1.parquet']), (4, None, ['part-2.parquet'])]
    """
    import pyarrow.parquet as pq
    groups = []  # (min, max, rows, file) per row group holding ids
    for f in files:
        md = pq.read_metadata(f)
        names = [md.schema.column(i).path for i in range(md.num_columns)]
        if "account_id" not in names:
            return None
        col = names.index("account_id")
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            c = rg.column(col)
            st = c.statistics
            if rg.num_rows == 0 or (st is not None and st.null_count == rg.num_rows):
                continue
            if (st is None or not st.has_min_max
                    or c.physical_type not in ("INT32", "INT64")):
                return None
            groups.append((int(st.min), int(st.max), rg.num_rows, f))
    groups.sort(key=lambda g: (g[0], g[1]))
    batches, rows, top, members = [], 0, None, []
    for lo, hi, n, f in groups:
        if top is not None and lo > top and rows >= batch_events:  # a clean cut here
            batches.append((top, members))
            rows, members = 0, []
        rows += n
        members.append(f)
        top = hi if top is None else max(top, hi)
    if top is not None:
        batches.append((top, members))
    if len(batches) < 2:
        return None
    out = []
    for i, (top, members) in enumerate(batches):
        lo = batches[i - 1][0] if i else None
        out.append((lo, top if i < len(batches) - 1 else None, sorted(set(members))))
    return out


def _parquet_files(source) -> list[str] | None:
    """The Parquet files of a path (a file, a folder read recursively, a glob), else None."""
    import glob
    if not isinstance(source, (str, Path)):
        return None
    text = str(source)
    if any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text, recursive=True))
    elif Path(text).is_dir():
        files = sorted(str(f) for f in Path(text).rglob("*.parquet"))
    else:
        files = [text]
    return files if files and all(f.lower().endswith(".parquet") for f in files) else None


def write_account_months(events, path, *, as_of, con=None, memory_limit: str = "2GB",
                         threads: int | None = None, batch_events: int = 5_000_000,
                         login_event="login", key_event="key_feature", kinds=()) -> int:
    """:func:`account_months` of events on DuckDB, written to the Parquet file ``path``.

    Parquet events whose files keep accounts apart (each file or row group a
    range of account ids, as :func:`tobmodel.simulate_events_to_parquet` and
    exports partitioned by account write them) are aggregated one range of
    accounts at a time (:func:`account_batches`): each range's user-months fit
    in memory, so nothing spills, and the ranges run side by side on
    ``threads`` single-threaded queries, written in range order. Other inputs
    (files partitioned by time, CSV, frames) run as one query. The rows are
    those of :func:`account_months` either way (tested).

    Parameters
    ----------
    events, as_of, login_event, key_event, kinds
        As in :func:`account_months`.
    path : path
        The Parquet file written (through a temporary file renamed over it,
        so a failed run leaves the previous file).
    con : DuckDB connection, optional
        Its memory limit and temporary folder are used (its ``threads``
        setting is restored afterwards); default a new one capped at
        ``memory_limit``.
    threads : int, optional
        Ranges aggregated at once (default: DuckDB's thread count).
    batch_events : int
        Events per range (about 60 bytes of memory each while it runs).

    Returns
    -------
    int : the account-months written.
    """
    import threading
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import duckdb
    import pyarrow.parquet as pq

    from ..io.writers import atomic_path
    own = con is None
    con = _open("duckdb", con, memory_limit)
    _require("duckdb", con, "events", events, EVENT_COLUMNS)
    opts = {"login_event": login_event, "key_event": key_event, "kinds": kinds}
    files = _parquet_files(events)
    batches = account_batches(files, batch_events) if files else None
    try:
        with atomic_path(path) as tmp:
            if batches is None:
                con.execute(f"COPY ({account_months_sql(as_of, **opts)}) TO '{tmp}' "
                            "(FORMAT parquet)")
                return int(pq.read_metadata(tmp).num_rows)
            default = int(con.sql("SELECT current_setting('threads')").fetchall()[0][0])
            n = max(1, int(threads or default))
            zone = con.sql("SELECT current_setting('TimeZone')").fetchall()[0][0]
            con.execute("SET threads = 1")  # one thread per range: no merging of partials
            lock, local, cursors = threading.Lock(), threading.local(), []

            def run(batch):
                lo, hi, fs = batch
                if not hasattr(local, "cur"):
                    with lock:
                        local.cur = con.cursor()
                        cursors.append(local.cur)
                    local.cur.execute(f"SET TimeZone = '{zone}'")
                cut = " AND ".join([*([f"account_id > {lo}"] if lo is not None else []),
                                    *([f"account_id <= {hi}"] if hi is not None else [])])
                listed = ", ".join("'" + f.replace("'", "''") + "'" for f in fs)
                src = f"(SELECT * FROM read_parquet([{listed}]) WHERE {cut}) AS events"
                return local.cur.sql(account_months_sql(as_of, table=src, **opts)
                                     ).to_arrow_table()

            state = {"rows": 0, "writer": None}

            def put(table):
                if state["writer"] is None:
                    state["writer"] = pq.ParquetWriter(tmp, table.schema)
                state["writer"].write_table(table)
                state["rows"] += table.num_rows

            try:
                with ThreadPoolExecutor(n) as pool:
                    running = deque()
                    for b in batches:  # at most n + 1 ranges ahead of the writer: bounded memory
                        running.append(pool.submit(run, b))
                        if len(running) > n:
                            put(running.popleft().result())
                    while running:
                        put(running.popleft().result())
            finally:
                if state["writer"] is not None:
                    state["writer"].close()
                for c in cursors:
                    c.close()
                con.execute(f"SET threads = {default}")
            return state["rows"]
    except duckdb.Error as e:  # one line naming the input; the temporary file is gone
        raise EngineError(f"{events}: DuckDB cannot aggregate the events "
                          f"({str(e).splitlines()[0]})") from None
    finally:
        if own:
            con.close()


def ticket_months_sql(as_of, *, bots: bool = True, escalations: bool = True) -> str:
    """The SQL of :func:`ticket_months` (reads the table ``tickets``)."""
    _, _, end = _as_of(as_of)
    bot = "COALESCE(via, '') = 'bot'" if bots else "FALSE"
    sessions = (f"CAST(SUM(CASE WHEN {bot} THEN 1 ELSE 0 END) AS BIGINT)" if bots
                else "CAST(NULL AS BIGINT)")
    escalated = (f"CAST(SUM(CASE WHEN {bot} AND escalated THEN 1 ELSE 0 END) AS BIGINT)"
                 if bots and escalations else "CAST(NULL AS BIGINT)")
    return f"""
SELECT CAST(account_id AS BIGINT) AS account_id,
       CAST(date_trunc('month', created_at) AS DATE) AS month,
       CAST(SUM(CASE WHEN NOT ({bot}) THEN 1 ELSE 0 END) AS BIGINT) AS tickets_opened,
       CAST(SUM(CASE WHEN NOT ({bot})
                      AND created_at + INTERVAL 7 DAY < TIMESTAMP '{end}'
                      AND (solved_at IS NULL OR solved_at > created_at + INTERVAL 7 DAY)
                     THEN 1 ELSE 0 END) AS BIGINT) AS tickets_unresolved,
       {sessions} AS bot_sessions,
       {escalated} AS bot_escalations
FROM tickets
WHERE created_at < TIMESTAMP '{end}' AND account_id IS NOT NULL
GROUP BY account_id, CAST(date_trunc('month', created_at) AS DATE)
"""


def ticket_months(tickets, *, as_of, engine: str = "duckdb", con=None,
                  memory_limit: str = "2GB"):
    """Tickets -> one row per account and calendar month (the ``support`` table).

    ``tickets`` holds ``account_id, created_at, solved_at`` and optionally
    ``via`` and ``escalated``; see the module docstring for the definitions.
    Other parameters as in :func:`account_months`.
    """
    con = _open(engine, con, memory_limit)
    cols = _require(engine, con, "tickets", tickets, TICKET_COLUMNS)
    sql = ticket_months_sql(as_of, bots="via" in cols, escalations="escalated" in cols)
    return run_sql(sql, {"tickets": tickets}, engine=engine, con=con)


def _month_index(day: pd.Timestamp) -> int:
    return day.year * 12 + day.month - 1


def _last_complete_month(day: pd.Timestamp) -> int:
    """Month index of the last calendar month complete at the end of ``day``."""
    return _month_index(day) - (0 if day == day + pd.offsets.MonthEnd(0) else 1)


def usage_features_sql(as_of) -> str:
    """The SQL of :func:`usage_features` (reads ``usage``, ``support``, ``accounts``)."""
    day, iso, _ = _as_of(as_of)
    last = _last_complete_month(day)
    m = "(year(month) * 12 + month(month) - 1)"
    return f"""
WITH a AS (
  SELECT CAST(account_id AS BIGINT) AS account_id, CAST(seats AS DOUBLE) AS seats,
         year(first_contract_date) * 12 + month(first_contract_date) - 1 AS start_m
  FROM accounts
), u AS (
  SELECT CAST(account_id AS BIGINT) AS account_id,
         SUM(CASE WHEN {m} BETWEEN {last - 2} AND {last} THEN logins ELSE 0 END) AS logins_cur,
         SUM(CASE WHEN {m} BETWEEN {last - 5} AND {last - 3} THEN logins ELSE 0 END)
           AS logins_prev,
         SUM(CASE WHEN {m} BETWEEN {last - 2} AND {last} THEN key_feature_adoption ELSE 0 END)
           AS adoption_sum,
         SUM(CASE WHEN {m} BETWEEN {last - 2} AND {last} THEN active_seats ELSE 0 END)
           AS seats_sum
  FROM usage WHERE month <= DATE '{iso}'
  GROUP BY CAST(account_id AS BIGINT)
), s AS (
  SELECT CAST(account_id AS BIGINT) AS account_id,
         SUM(CASE WHEN {m} BETWEEN {last - 5} AND {last} THEN tickets_opened ELSE 0 END)
           AS opened,
         SUM(CASE WHEN {m} BETWEEN {last - 5} AND {last} THEN tickets_unresolved ELSE 0 END)
           AS unresolved,
         SUM(CASE WHEN {m} BETWEEN {last - 5} AND {last} THEN bot_escalations ELSE 0 END)
           AS escalations
  FROM support WHERE month <= DATE '{iso}'
  GROUP BY CAST(account_id AS BIGINT)
), w AS (
  SELECT a.account_id, a.seats,
         LEAST(GREATEST({last} - GREATEST(a.start_m, {last - 2}) + 1, 0), 3) AS n3,
         LEAST(GREATEST({last - 3} - GREATEST(a.start_m, {last - 5}) + 1, 0), 3) AS p3,
         CAST(COALESCE(u.logins_cur, 0) AS DOUBLE) AS logins_cur,
         CAST(COALESCE(u.logins_prev, 0) AS DOUBLE) AS logins_prev,
         CAST(COALESCE(u.adoption_sum, 0) AS DOUBLE) AS adoption_sum,
         CAST(COALESCE(u.seats_sum, 0) AS DOUBLE) AS seats_sum,
         CAST(COALESCE(s.opened, 0) AS DOUBLE) AS opened,
         CAST(COALESCE(s.unresolved, 0) AS DOUBLE) AS unresolved,
         CAST(CASE WHEN s.account_id IS NULL THEN 0 ELSE s.escalations END AS DOUBLE)
           AS escalations
  FROM a LEFT JOIN u ON a.account_id = u.account_id
         LEFT JOIN s ON a.account_id = s.account_id
), r AS (
  SELECT *,
         CASE WHEN n3 > 0 THEN adoption_sum / n3 END AS adoption_raw,
         CASE WHEN n3 > 0 THEN seats_sum / n3 / seats END AS share_raw
  FROM w
)
SELECT account_id,
       CASE WHEN n3 > 0 AND p3 > 0
            THEN LN(1 + logins_cur / n3) - LN(1 + logins_prev / p3) ELSE 0.0 END
         AS logins_trend,
       COALESCE(adoption_raw, (SELECT median(adoption_raw) FROM r), 0.0)
         AS key_feature_adoption_3m,
       LEAST(GREATEST(COALESCE(share_raw, (SELECT median(share_raw) FROM r), 0.0), 0.0), 1.0)
         AS active_seat_share_3m,
       CASE WHEN opened > 0 THEN unresolved / GREATEST(opened, 1.0) ELSE 0.0 END
         AS unresolved_share_6m,
       escalations AS bot_escalations_6m,
       CAST(unresolved AS BIGINT) AS unresolved_tickets_6m
FROM r
"""


def usage_features(usage, support, accounts, *, as_of, engine: str = "duckdb", con=None,
                   memory_limit: str = "2GB"):
    """Usage covariates at ``as_of`` of the accounts in ``accounts`` (one row each).

    Parameters
    ----------
    usage, support : path, DataFrame or engine relation
        Month tables (:func:`account_months`, :func:`ticket_months`, or the
        ``usage`` / ``support`` tables of :mod:`tobmodel.schema`).
    accounts : path, DataFrame or engine relation
        ``account_id, seats, first_contract_date`` of the accounts to score
        (active at ``as_of``).
    as_of : date-like
        The scoring date: windows are the last 3 (usage) and 6 (support)
        complete calendar months before it.

    Returns
    -------
    DuckDB relation or Spark DataFrame with ``account_id`` and
    :data:`USAGE_FEATURES`. Accounts without a complete month get the median
    adoption and seat share of those with one, as in the pandas definition.
    """
    con = _open(engine, con, memory_limit)
    _require(engine, con, "accounts", accounts, ("account_id", "seats", "first_contract_date"))
    _require(engine, con, "usage", usage, ("account_id", "month", "active_seats",
                                            "key_feature_adoption", "logins"))
    _require(engine, con, "support", support, ("account_id", "month", "tickets_opened",
                                                "tickets_unresolved", "bot_escalations"))
    return run_sql(usage_features_sql(as_of),
                   {"usage": usage, "support": support, "accounts": accounts},
                   engine=engine, con=con)


def reference_usage_features(tables, as_of) -> pd.DataFrame:
    """The pandas definition for active accounts at ``as_of`` (what the SQL must match).

    Uses :func:`tobmodel.renewal.build_account_features` on the same tables;
    for tests and checks, not for large data.
    """
    from ..renewal.features import build_account_features
    f = build_account_features(tables, as_of=as_of)
    f = f.loc[f["active"].to_numpy(bool), ["account_id", *USAGE_FEATURES]]
    return f.sort_values("account_id", kind="stable").reset_index(drop=True)


__all__ = ["EVENT_COLUMNS", "TICKET_COLUMNS", "USAGE_FEATURES", "account_batches",
           "account_months", "account_months_sql", "write_account_months", "ticket_months",
           "ticket_months_sql", "usage_features",
           "usage_features_sql", "reference_usage_features", "to_pandas"]
