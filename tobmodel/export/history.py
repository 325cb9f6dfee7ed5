"""Score tables in a database: history of every run, the latest run, rejects, run log.

For churn scores (lead scores alike, with ``lead_`` names):

``churn_score_history``
    Every run, keyed by (as_of, model_id, account_id): each customer's trend.
    Re-running the same as_of with the same model replaces that run's rows.
    PostgreSQL: partitioned by run, one table per run, keyed (as_of,
    account_id, model_id) in new databases (:mod:`.postgres`,
    ``docs/postgresql.md``).
``churn_scores``
    The latest run for each model name (e.g. ``cox``): what the CRM reads.
    A run replaces it only if its as_of is not older than what is there, so
    back-filling an old week never hides newer scores. PostgreSQL: rebuilt
    and swapped in by name when that loses nothing (:mod:`.postgres`).
``churn_score_rejects``
    Rows not scored, with the reason, keyed by (as_of, model_id).
``score_runs``
    One row per run: counts read / scored / rejected and when it finished
    (``rows_read - rows_scored - rows_rejected`` were not scored: churned
    accounts / closed leads, out of scope and never rejects).

All writes of one run happen in one transaction (see
:class:`tobmodel.export.destinations.SQLDestination`).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Float, Integer,
                        MetaData, PrimaryKeyConstraint, Table, Text, and_, delete, func,
                        insert, inspect, select)

from .specs import ExportError, ExportSpec

_TYPES = {"int": BigInteger, "float": Float(53), "str": Text, "date": Date, "bool": Boolean}
RUNS_TABLE = "score_runs"


def _columns(columns: dict, not_null=()):
    return [Column(n, _TYPES[k], nullable=n not in not_null) for n, k in columns.items()]


def score_tables(spec: ExportSpec) -> dict[str, Table]:
    """SQLAlchemy tables for one kind of export: history, latest, rejects, runs."""
    md = MetaData()
    ident = spec.id_column
    key = ("as_of", "model_id")
    history = Table(spec.history_table, md, *_columns(spec.columns, (ident, *key)),
                    PrimaryKeyConstraint("as_of", "model_id", ident))
    latest = Table(spec.latest_table, md, *_columns(spec.columns, (ident, "model_name")),
                   PrimaryKeyConstraint("model_name", ident))
    rejects = Table(spec.rejects_table, md, *_columns(spec.rejects_columns,
                                                      ("row_number", *key)),
                    PrimaryKeyConstraint("as_of", "model_id", "row_number"))
    runs = Table(RUNS_TABLE, md,
                 Column("kind", Text, nullable=False), Column("as_of", Date, nullable=False),
                 Column("model_id", Text, nullable=False), Column("model_name", Text),
                 Column("model_version", Text), Column("source", Text),
                 Column("rows_read", BigInteger), Column("rows_scored", BigInteger),
                 Column("rows_rejected", BigInteger), Column("latest_updated", Boolean),
                 Column("finished_at", DateTime), Column("horizon_months", Integer),
                 PrimaryKeyConstraint("kind", "as_of", "model_id"))
    return {"history": history, "latest": latest, "rejects": rejects, "runs": runs}


def previous_run_rows(conn, tables: dict[str, Table], spec: ExportSpec, model_name: str,
                      as_of) -> int | None:
    """Rows scored by the latest logged run of this kind and model name dated before
    ``as_of`` (last week's; None: no such run, e.g. back-filling an older week)."""
    runs = tables["runs"]
    if not inspect(conn).has_table(runs.name):
        return None
    n = conn.execute(select(runs.c.rows_scored).where(
        and_(runs.c.kind == spec.kind, runs.c.model_name == model_name, runs.c.as_of < as_of))
        .order_by(runs.c.as_of.desc(), runs.c.finished_at.desc()).limit(1)).scalar()
    return None if n is None else int(n)


def ensure_tables(conn, tables: dict[str, Table], where: str, create_history=None) -> None:
    """Create missing tables; refuse tables whose columns differ from tobmodel's.

    ``create_history(conn, table)``: how a missing history table is created (default
    ``table.create``; PostgreSQL: :func:`.postgres.create_history`, partitioned by run).
    """
    insp = inspect(conn)
    for t in tables.values():
        if insp.has_table(t.name):
            have = [c["name"] for c in insp.get_columns(t.name)]
            want = [c.name for c in t.columns]
            if sorted(have) != sorted(want):
                extra = sorted(set(have) - set(want))
                missing = sorted(set(want) - set(have))
                raise ExportError(
                    f"{where}: table {t.name} exists with other columns (missing: "
                    f"{', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'});"
                    " rename or drop it, or write elsewhere")
        elif t is tables["history"] and create_history is not None:
            create_history(conn, t)
        else:
            t.create(conn)


def clear_run(conn, tables: dict[str, Table], as_of, model_id: str,
              names=("history", "rejects")) -> None:
    """Delete an earlier run's rows with the same as_of and model (re-runs replace) from
    the tables ``names`` (PostgreSQL's partitioned history replaces a run's partition
    instead: :class:`.postgres.RunPartition`)."""
    for name in names:
        t = tables[name]
        conn.execute(delete(t).where(and_(t.c.as_of == as_of, t.c.model_id == model_id)))


def finish_run(conn, tables: dict[str, Table], spec: ExportSpec, run: dict,
               replace_latest=None) -> bool:
    """Copy the run into the latest table (unless newer scores are there) and log it.

    ``replace_latest(conn, tables, spec, run)``: how the latest table's rows of this
    model name are replaced by the run's (default :func:`replace_latest_rows`; the
    PostgreSQL destination brings a bulk variant). Returns whether the latest table
    was updated.
    """
    latest, runs = tables["latest"], tables["runs"]
    newest = conn.execute(select(func.max(latest.c.as_of))
                          .where(latest.c.model_name == run["model_name"])).scalar()
    if isinstance(newest, str):  # some drivers hand back text
        newest = dt.date.fromisoformat(newest[:10])
    update = newest is None or run["as_of"] >= newest
    if update:
        (replace_latest or replace_latest_rows)(conn, tables, spec, run)
    conn.execute(delete(runs).where(and_(runs.c.kind == spec.kind, runs.c.as_of == run["as_of"],
                                         runs.c.model_id == run["model_id"])))
    conn.execute(insert(runs).values(
        kind=spec.kind, as_of=run["as_of"], model_id=run["model_id"],
        model_name=run["model_name"], model_version=run["model_version"],
        source=run.get("source"), rows_read=run["read"], rows_scored=run["scored"],
        rows_rejected=run["rejected"], latest_updated=update,
        horizon_months=run.get("horizon_months"),
        finished_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)))
    return update


def replace_latest_rows(conn, tables: dict[str, Table], spec: ExportSpec, run: dict) -> None:
    """Delete the latest table's rows of the run's model name; insert the run's from the
    history table (row by row, in any database)."""
    conn.execute(delete(tables["latest"]).where(
        tables["latest"].c.model_name == run["model_name"]))
    conn.execute(latest_from_history(tables, spec, run))


def latest_from_history(tables: dict[str, Table], spec: ExportSpec, run: dict):
    """``INSERT INTO latest SELECT ... FROM history`` of the run's rows."""
    latest, history = tables["latest"], tables["history"]
    cols = list(spec.columns)
    return insert(latest).from_select(cols, select(*[history.c[c] for c in cols]).where(
        and_(history.c.as_of == run["as_of"], history.c.model_id == run["model_id"])))
