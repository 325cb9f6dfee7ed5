"""PostgreSQL bulk writes for :class:`~tobmodel.export.destinations.SQLDestination`.

Two things make the weekly run's writes fast without changing what ends up in
the tables, nor the one transaction around them:

* rows go in by ``COPY ... (FORMAT binary)``, encoded from Arrow by ``pgpq``
  (no text to format on this side nor to parse on the server's), when the
  table's columns have exactly the types tobmodel creates; otherwise (a column
  altered by hand, or ``pgpq`` not installed) by ``COPY ... (FORMAT csv)``;
* the latest-scores table is refilled in bulk (:func:`replace_latest_bulk`):
  emptied (``TRUNCATE`` when it holds only this model name's rows), its primary
  key dropped, the run's rows inserted from the history table, the key built
  once, all inside a savepoint. Anything that refuses this (a foreign key
  pointing at the table, a reader holding it for longer than
  :data:`LOCK_TIMEOUT`, missing privileges) rolls the savepoint back and the
  rows are replaced one by one as in any database. In the bulk path readers of
  the latest table wait for the commit (seconds) instead of reading last week's
  rows meanwhile.

Each COPY block is sent in the order of its table key's last column
(:func:`key_order`). Where the time goes, and which server settings matter:
``docs/postgresql.md``.
"""
from __future__ import annotations

import io

from .history import latest_from_history, replace_latest_rows

LOCK_TIMEOUT = "5s"  # how long the bulk refill waits for readers of the latest table

#: PostgreSQL type of each tobmodel column kind, as ``format_type`` spells it
_PG_TYPES = {"int": "bigint", "float": "double precision", "str": "text", "date": "date",
             "bool": "boolean"}


def binary_encoder():
    """pgpq's encoder class, or None when pgpq is not installed (then CSV is sent)."""
    try:
        from pgpq import ArrowToPostgresBinaryEncoder
    except ImportError:
        return None
    return ArrowToPostgresBinaryEncoder


def binary_copy_ok(raw, table: str, kinds: dict) -> bool:
    """Whether the existing ``table`` (quoted name) has exactly the column types binary
    COPY of ``kinds`` sends (binary data is not converted: int8 into an int4 column fails,
    so any other type gets CSV) and pgpq is there to encode it."""
    if binary_encoder() is None:
        return False
    with raw.cursor() as cur:
        cur.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
                    (table,))
        have = dict(cur.fetchall())
    return all(have.get(name) == _PG_TYPES[kind] for name, kind in kinds.items())


def key_order(ids):
    """The order that sorts one COPY block by its key column, or None when it is sorted.

    The history table's primary key is (as_of, model_id, id) and every row of a run has
    the same as_of and model_id: rows sent in id order are inserted into neighbouring
    index pages, rows in any other order (scores sorted by risk, say) into a random page
    each, which made the server's index upkeep four fifths of its work (10 s of CPU per
    million rows in random order, 7 s in blocks of 100,000 sorted rows, 4 s all
    sorted; see ``docs/postgresql.md``). Which rows end up in the table is the same.
    Non-numeric keys are sent as they come.

    >>> import numpy as np
    >>> key_order(np.array([3, 1, 2])).tolist(), key_order(np.array([1, 2, 2]))
    ([1, 2, 0], None)
    """
    import numpy as np
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iuf" or len(ids) < 2 or bool((ids[1:] >= ids[:-1]).all()):
        return None  # sorted already (or not numbers: sent as they come)
    return np.argsort(ids, kind="stable")


def copy_payload(table, binary: bool) -> bytes:
    """An Arrow table's rows as one COPY's data: PostgreSQL's binary format, or CSV with
    floats that round-trip exactly, ISO dates, true/false and NULL as an unquoted empty
    field (pandas' ``to_csv`` took 20 s a million rows)."""
    if binary:
        encoder = binary_encoder()(table.schema)
        parts = [encoder.write_header()]
        parts += [encoder.write_batch(b) for b in table.to_batches()]
        parts.append(encoder.finish())
        return b"".join(parts)
    import pyarrow.csv as pacsv
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
    return buf.getvalue()


def copy_statement(quote, table: str, cols, binary: bool) -> str:
    names = ", ".join(quote(c) for c in cols)
    return (f"COPY {quote(table)} ({names}) FROM STDIN "
            f"(FORMAT {'binary' if binary else 'csv'})")


def replace_latest_bulk(conn, tables, spec, run) -> None:
    """:func:`~tobmodel.export.history.replace_latest_rows` in bulk (see the module
    docstring): the same rows in the end, the primary key built once after the insert."""
    from sqlalchemy.exc import SQLAlchemyError
    latest = tables["latest"]
    quote = conn.dialect.identifier_preparer.quote
    name = quote(latest.name)
    try:
        with conn.begin_nested():  # a savepoint: refused here, nothing is lost
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            key = conn.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(%(t)s) AND contype = 'p'", {"t": name}).first()
            others = conn.exec_driver_sql(
                f"SELECT 1 FROM {name} WHERE {quote('model_name')} <> %(m)s LIMIT 1",
                {"m": run["model_name"]}).first()
            if others is None:  # only this model's rows: no row-by-row delete
                conn.exec_driver_sql(f"TRUNCATE {name}")
            else:
                conn.exec_driver_sql(f"DELETE FROM {name} WHERE {quote('model_name')} = "
                                     "%(m)s", {"m": run["model_name"]})
            if key is not None:
                conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {quote(key[0])}")
            conn.execute(latest_from_history(tables, spec, run))
            if key is not None:
                conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {quote(key[0])} "
                                     f"{key[1]}")
            conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
    except SQLAlchemyError:
        replace_latest_rows(conn, tables, spec, run)
