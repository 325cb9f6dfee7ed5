"""PostgreSQL bulk writes for :class:`~tobmodel.export.destinations.SQLDestination`.

Two things make the weekly run's writes fast without changing what ends up in
the tables, nor the one transaction around them:

* rows go in by ``COPY ... (FORMAT binary)``, encoded from Arrow by ``pgpq``
  (no text to format on this side nor to parse on the server's), when the
  table's columns have exactly the types tobmodel creates; otherwise (a column
  altered by hand, or ``pgpq`` not installed) by ``COPY ... (FORMAT csv)``;
* the latest-scores table is refilled in bulk (:func:`replace_latest_bulk`),
  inside a savepoint. When it holds only this model name's rows and a new table
  would lose nothing of it (:func:`_swap_latest`), its successor is built by
  ``CREATE TABLE .. AS`` in id order (from the run's partition as it lies when its
  ids went in ascending, else through the history's key), keyed (a sort that finds
  its input in order), given the old table's grants, and swapped in by name:
  readers read last week's table meanwhile, and wait only from its ``DROP`` to
  the commit. Otherwise the table is refilled in place: the model name's rows
  deleted (``TRUNCATE`` when they are the only ones), the primary key dropped,
  the run's rows inserted from the history table, the key built once; readers
  wait for the commit (seconds). Anything that refuses both (a foreign key
  pointing at the table, a reader holding it for longer than
  :data:`LOCK_TIMEOUT`, missing privileges) rolls the savepoint back and the
  rows are replaced one by one as in any database.

Each COPY block is sent in the order of its table key's id column
(:func:`key_order`).

The history table is partitioned by run (:class:`RunPartition`): ``LIST (as_of)``,
each date's partition ``LIST (model_id)``, one plain table per run. A run's rows
are copied into a table created in the run's transaction (no index to keep up; not
``FREEZE``, which would show the rows to transactions that began before the commit),
its primary key is built once after the last block, and it is
attached with a ``CHECK`` constraint that spares the server a validation scan. A
history table of the previous layout (one plain table) is migrated in the run's
transaction when nothing else depends on it (:func:`migrate_history`), and is
written as before otherwise. Where the time goes, and which server settings
matter: ``docs/postgresql.md``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
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


MAX_IDENTIFIER = 63  # bytes; PostgreSQL cuts longer names silently


def child_name(base: str, suffix: str) -> str:
    """``base + suffix`` as a PostgreSQL name of at most 63 bytes: a longer base is cut
    (whole characters) and told apart from other cut bases by a hash of it.

    >>> child_name("churn_score_history", "_20251231")
    'churn_score_history_20251231'
    >>> n = child_name("x" * 60, "_20251231"); len(n), n[-18:]
    (63, '_42f2d973_20251231')
    """
    if len((base + suffix).encode()) <= MAX_IDENTIFIER:
        return base + suffix
    tag = "_" + hashlib.sha256(base.encode()).hexdigest()[:8]
    room = MAX_IDENTIFIER - len((tag + suffix).encode())
    cut = base.encode()[:room].decode(errors="ignore")
    return cut + tag + suffix


def _run_tag(model_id: str) -> str:
    return hashlib.sha256(str(model_id).encode()).hexdigest()[:12]


def create_history(conn, table) -> None:
    """Create the history table (SQLAlchemy ``table``: its columns) partitioned by run
    (``LIST (as_of)``), keyed by (as_of, id, model_id): in a run's partition the key's
    first column is the same in every row, and the id second decides each comparison of
    the index build, which took three times as long with the id last (see
    ``docs/postgresql.md``). The same rows per key as the previous (as_of, model_id, id)."""
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table
    ident = [c.name for c in table.primary_key.columns if c.name not in ("as_of", "model_id")]
    Table(table.name, MetaData(),
          *[Column(c.name, c.type, nullable=c.nullable) for c in table.columns],
          PrimaryKeyConstraint("as_of", *ident, "model_id"),
          postgresql_partition_by=f"LIST ({conn.dialect.identifier_preparer.quote('as_of')})"
          ).create(conn)


def _raw(conn):
    return conn.connection.driver_connection


def _literal(conn, value) -> str:
    """A value as an SQL literal, quoted by the driver (DDL takes no parameters)."""
    from psycopg import sql
    return sql.Literal(value).as_string(_raw(conn))


def _one(conn, statement: str, **params):
    return conn.exec_driver_sql(statement, params).first()


def _relkind(conn, name: str):
    row = _one(conn, "SELECT relkind FROM pg_class WHERE oid = to_regclass(%(t)s)", t=name)
    return None if row is None else row[0]


def _key_columns(conn, name: str) -> list[str]:
    """The columns of ``name``'s primary key, in the key's order."""
    rows = conn.exec_driver_sql(
        "SELECT a.attname FROM pg_index x, unnest(x.indkey) WITH ORDINALITY k(attnum, n), "
        "pg_attribute a WHERE x.indrelid = to_regclass(%(t)s) AND x.indisprimary "
        "AND a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n",
        {"t": name}).all()
    return [r[0] for r in rows]


def _is_partition_of(conn, child: str, parent: str, depth: int) -> bool:
    """Whether ``child`` is a partition of ``parent``, ``depth`` levels down (1 or 2)."""
    join = ("" if depth == 1 else
            " JOIN pg_inherits j ON j.inhrelid = i.inhparent")
    where = "i.inhparent" if depth == 1 else "j.inhparent"
    return _one(conn, f"SELECT 1 FROM pg_inherits i{join} WHERE i.inhrelid = "
                      f"to_regclass(%(c)s) AND {where} = to_regclass(%(p)s)",
                c=child, p=parent) is not None


def _plain_partitions(conn, parent: str) -> list[str]:
    """The partitions of ``parent`` that are plain tables: the previous layout's table,
    attached by :func:`migrate_history` (quoted names)."""
    return conn.exec_driver_sql(
        "SELECT inhrelid::regclass::text FROM pg_inherits i JOIN pg_class c ON c.oid = "
        "i.inhrelid WHERE i.inhparent = to_regclass(%(p)s) AND c.relkind = 'r'",
        {"p": parent}).scalars().all()


#: what may depend on a history table of the previous layout for it to be migrated:
#: its row type, its TOAST table, its own primary key and NOT NULL constraints (a
#: catalog row from PostgreSQL 18 on) (anything else, e.g. a view,
#: a foreign key, a trigger, a policy, a publication, would follow the renamed table)
_FOREIGN_DEPENDENTS = """
SELECT count(*) FROM pg_depend d
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass(%(t)s)
  AND d.classid <> 'pg_type'::regclass
  AND NOT (d.classid = 'pg_class'::regclass
           AND d.objid = (SELECT reltoastrelid FROM pg_class WHERE oid = d.refobjid))
  AND NOT (d.classid = 'pg_constraint'::regclass AND d.objid IN (
           SELECT oid FROM pg_constraint WHERE conrelid = d.refobjid AND contype IN ('p', 'n')))
"""


def _bare_table(conn, q: str, grants: bool = False) -> bool:
    """Whether the table ``q`` (quoted name) is a plain table of the current user with
    nothing of its own but its primary key: no partition or inheritance, no row
    security, no other index or constraint, nothing depending on it
    (:data:`_FOREIGN_DEPENDENTS`), and no grants unless ``grants``."""
    info = _one(conn, "SELECT c.relkind, c.relispartition, c.relhassubclass, "
                      "(c.relacl IS NULL OR %(g)s) AND NOT c.relrowsecurity AND "
                      "c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user), "
                      "(SELECT count(*) FROM pg_inherits WHERE inhrelid = c.oid), "
                      "(SELECT count(*) FROM pg_index WHERE indrelid = c.oid), "
                      "(SELECT count(*) FROM pg_constraint WHERE conrelid = c.oid "
                      "AND contype <> 'n') "  # NOT NULL is a constraint row from 18 on
                      "FROM pg_class c WHERE c.oid = to_regclass(%(t)s)", t=q, g=grants)
    return (info is not None and tuple(info[:5]) == ("r", False, False, True, 0)
            and info[5] == 1 and info[6] == 1 and _one(conn, _FOREIGN_DEPENDENTS, t=q)[0] == 0)


def migrate_history(conn, table) -> bool:
    """Turn a history table of the previous layout (one plain table) into the
    partitioned one, inside the run's transaction; returns whether it did.

    The old table is renamed ``<history>_legacy`` and attached as the partition of
    the dates it holds (its rows and index are not rewritten: the attach reads the
    table once to check its dates); the new table takes the old one's columns and
    key. It is left as it is (and written as before) when anything else depends on it
    (views, foreign keys, triggers, policies, grants, inheritance, other indexes or
    constraints), when it has no primary key or another owner, or when the server
    refuses a step (a savepoint: nothing of the attempt remains).
    """
    from sqlalchemy.exc import SQLAlchemyError
    quote = conn.dialect.identifier_preparer.quote
    name, legacy = table.name, child_name(table.name, "_legacy")
    q = quote(name)
    if not _bare_table(conn, q) or _relkind(conn, quote(legacy)) is not None:
        return False
    key = _key_columns(conn, q)
    if not key or "as_of" not in key or "model_id" not in key:
        return False
    index = _one(conn, "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = "
                       "to_regclass(%(t)s) AND indisprimary", t=q)[0]
    cols = ", ".join(quote(c) for c in key)
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"ALTER TABLE {q} RENAME TO {quote(legacy)}")
            conn.exec_driver_sql(f"ALTER INDEX {index} RENAME TO "
                                 f"{quote(child_name(legacy, '_pkey'))}")
            conn.exec_driver_sql(f"CREATE TABLE {q} (LIKE {quote(legacy)} INCLUDING DEFAULTS "
                                 f"INCLUDING COMMENTS) PARTITION BY LIST ({quote('as_of')})")
            conn.exec_driver_sql(f"ALTER TABLE {q} ADD PRIMARY KEY ({cols})")
            dates = conn.exec_driver_sql(f"SELECT DISTINCT {quote('as_of')} FROM "
                                         f"{quote(legacy)} ORDER BY 1").scalars().all()
            if dates:
                values = ", ".join(_literal(conn, d) for d in dates)
                conn.exec_driver_sql(f"ALTER TABLE {q} ATTACH PARTITION {quote(legacy)} "
                                     f"FOR VALUES IN ({values})")
            else:
                conn.exec_driver_sql(f"DROP TABLE {quote(legacy)}")
    except SQLAlchemyError:
        return False
    return True


class RunPartition:
    """The history table's partition of one run (PostgreSQL through psycopg).

    :meth:`open` (at the run's start, in its transaction) migrates a history
    table of the previous layout if it can, creates the table the run's rows are
    copied into, and deletes the run's earlier rows where they are not in a
    partition of their own; :meth:`finish` (before the latest table is refilled
    and the transaction committed) builds the table's primary key and attaches it.
    A re-run's earlier partition stays readable until then, and is dropped there.

    Names: the date's partition ``<history>_YYYYMMDD``, the run's
    ``<history>_YYYYMMDD_<12 hex of the model id's SHA-256>`` (cut and hashed beyond
    63 bytes: :func:`child_name`).
    """

    def __init__(self, conn, history, run):
        self.conn, self.history, self.run = conn, history, run
        self.quote = conn.dialect.identifier_preparer.quote
        a = run["as_of"]
        self.as_of = dt.date(a.year, a.month, a.day)  # a date, also from a Timestamp
        day = self.as_of.strftime("%Y%m%d")
        self.date_name = child_name(history.name, f"_{day}")
        self._run_suffix = f"_{day}_{_run_tag(run['model_id'])}"
        self.run_name = child_name(history.name, self._run_suffix)
        self.target = self.run_name
        self.replaces = False
        self.finished = False
        self._last_id, self._ids_ascending = None, True
        self.in_id_order = None  # after finish: the run's table, if its rows lie in id order

    @classmethod
    def open(cls, conn, history, run) -> RunPartition | None:
        """The run's partition, or None when the history table is one plain table
        (the previous layout, kept: the rows go into it as before)."""
        q = conn.dialect.identifier_preparer.quote
        kind = _relkind(conn, q(history.name))
        if kind == "r" and migrate_history(conn, history):
            kind = "p"
        if kind != "p":
            return None
        part = cls(conn, history, run)
        part._begin()
        return part

    def follow_ids(self, ids) -> None:
        """Note the ids of the next COPY block. Each block is sent sorted
        (:func:`key_order`), so the run's rows went in ascending id order when each
        block's ids are above the previous blocks'; the table, created in the
        transaction, has its pages filled one after the other, so they then hold the
        rows in id order (:attr:`in_id_order`)."""
        if ids.dtype.kind not in "iu":
            self._ids_ascending = False
            return
        low, high = ids.min(), ids.max()
        if self._last_id is not None:
            self._ids_ascending &= bool(low > self._last_id)
            high = max(high, self._last_id)
        self._last_id = high

    def _where(self) -> str:
        q = self.quote
        return (f"{q('as_of')} = {_literal(self.conn, self.as_of)} AND "
                f"{q('model_id')} = {_literal(self.conn, str(self.run['model_id']))}")

    def _begin(self) -> None:
        q, conn = self.quote, self.conn
        parent = q(self.history.name)
        self.replaces = _is_partition_of(conn, q(self.run_name), parent, 2)
        if self.replaces:  # a re-run: the new rows go beside the old until finish
            self.target = child_name(self.history.name, self._run_suffix + "n")
        for old in _plain_partitions(conn, parent):  # the previous layout's rows of the run
            conn.exec_driver_sql(f"DELETE FROM {old} WHERE {self._where()}")
        # the CHECK holds each row to the run's as_of and model id, and spares the attach
        # its validation scan (the partition's bounds follow from it)
        conn.exec_driver_sql(f"CREATE TABLE {q(self.target)} (LIKE {parent}, "
                             f"CHECK ({self._where()}))")

    def finish(self) -> None:
        """Key the run's table and attach it as the run's partition (once)."""
        if self.finished:
            return
        self.finished = True
        q, conn = self.quote, self.conn
        parent, target = q(self.history.name), q(self.target)
        key = ", ".join(q(c) for c in _key_columns(conn, parent))
        # one run at a time attaches (a second run of the same date waits here for the
        # first's commit, then sees its date partition); readers are not blocked
        conn.exec_driver_sql(f"LOCK TABLE {parent} IN SHARE UPDATE EXCLUSIVE MODE")
        if not self._date_partition(key):
            # the date is in a table of the previous layout (a re-run of a week written
            # before the migration): the rows go there through the parent, one by one
            self._move_rows(parent)
            return
        conn.exec_driver_sql(f"ALTER TABLE {target} ADD CONSTRAINT "
                             f"{q(child_name(self.target, '_pkey'))} PRIMARY KEY ({key})")
        if self.replaces and not self._replace_old():
            return
        model_id = _literal(conn, str(self.run["model_id"]))
        conn.exec_driver_sql(f"ALTER TABLE {q(self.date_name)} ATTACH PARTITION "
                             f"{q(self.run_name)} FOR VALUES IN ({model_id})")
        if self._ids_ascending:
            self.in_id_order = self.run_name

    def _date_partition(self, key: str) -> bool:
        """Make sure the date's partition exists; False when the date belongs to a table
        of the previous layout (or the server refuses the new partition)."""
        from sqlalchemy.exc import SQLAlchemyError
        q, conn = self.quote, self.conn
        parent, day = q(self.history.name), q(self.date_name)
        if _is_partition_of(conn, day, parent, 1):
            return True
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"CREATE TABLE {day} (LIKE {parent}) "
                                     f"PARTITION BY LIST ({q('model_id')})")
                conn.exec_driver_sql(f"ALTER TABLE {day} ADD CONSTRAINT "
                                     f"{q(child_name(self.date_name, '_pkey'))} PRIMARY KEY "
                                     f"({key})")
                conn.exec_driver_sql(f"ALTER TABLE {parent} ATTACH PARTITION {day} "
                                     f"FOR VALUES IN ({_literal(conn, self.as_of)})")
        except SQLAlchemyError:
            return False
        return True

    def _replace_old(self) -> bool:
        """A re-run: drop the run's old partition and give the new table its name (True),
        or, when a reader holds the old one for longer than :data:`LOCK_TIMEOUT`, replace
        the old partition's rows one by one, which readers do not block (False)."""
        from sqlalchemy.exc import SQLAlchemyError
        q, conn = self.quote, self.conn
        old, target = q(self.run_name), q(self.target)
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                conn.exec_driver_sql(f"DROP TABLE {old}")
                conn.exec_driver_sql(f"ALTER TABLE {target} RENAME TO {old}")
                conn.exec_driver_sql(f"ALTER INDEX {q(child_name(self.target, '_pkey'))} "
                                     f"RENAME TO {q(child_name(self.run_name, '_pkey'))}")
                conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
            return True
        except SQLAlchemyError:
            conn.exec_driver_sql(f"DELETE FROM {old}")
            self._move_rows(old)
            return False

    def _move_rows(self, into: str) -> None:
        """The run's rows inserted into the table ``into`` (quoted), row by row, and the
        run's own table dropped."""
        q = self.quote
        cols = ", ".join(q(c.name) for c in self.history.columns)
        self.conn.exec_driver_sql(f"INSERT INTO {into} ({cols}) SELECT {cols} FROM "
                                  f"{q(self.target)}")
        self.conn.exec_driver_sql(f"DROP TABLE {q(self.target)}")


#: what keeps :func:`replace_latest_bulk` from building the latest table's successor
#: and swapping it in by name, beyond :func:`_bare_table`: anything a new table would
#: not carry over (storage options, access method, tablespace, comments, security
#: labels, column defaults, collations, statistics targets, column grants, NOT NULL
#: outside the key, grants by another role than the owner, a publication of all
#: tables); the owner's grants are copied (and compared)
_SWAP_BLOCKERS = """
SELECT c.relpersistence <> 'p' OR c.reloptions IS NOT NULL OR c.reltablespace <> 0
       OR c.relreplident <> 'd' OR c.relam <> (SELECT oid FROM pg_am WHERE amname = 'heap')
       OR EXISTS (SELECT 1 FROM pg_description WHERE objoid = c.oid
                  AND classoid = 'pg_class'::regclass)
       OR EXISTS (SELECT 1 FROM pg_seclabel WHERE objoid = c.oid
                  AND classoid = 'pg_class'::regclass)
       OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                  AND NOT a.attisdropped AND (a.atthasdef OR a.attidentity <> ''
                  OR a.attgenerated <> '' OR a.attacl IS NOT NULL OR a.attoptions IS NOT NULL
                  OR a.attcollation NOT IN (0, 100) OR coalesce(a.attstattarget, -1) <> -1
                  OR (a.attnotnull AND a.attname <> ALL(%(key)s))))
       OR EXISTS (SELECT 1 FROM aclexplode(c.relacl) x WHERE x.grantor <> c.relowner)
       OR EXISTS (SELECT 1 FROM pg_publication WHERE puballtables)
       {schema_publications}
FROM pg_class c WHERE c.oid = to_regclass(%(t)s)
"""
#: a publication of the table's schema (PostgreSQL 15 on): like one of all tables, it
#: names no table; logical replication sends no DROP nor CREATE, so subscribers would
#: get rows of a table they do not have and keep the old ones (a TRUNCATE is sent)
_SCHEMA_PUBLICATIONS = ("OR EXISTS (SELECT 1 FROM pg_publication_namespace "
                        "WHERE pnnspid = c.relnamespace)")

_ACL = ("SELECT array(SELECT x::text FROM unnest(relacl) x ORDER BY 1) FROM pg_class "
        "WHERE oid = to_regclass(%(t)s)")


def _swap_latest(conn, tables, spec, run, key, in_id_order=None) -> bool:
    """The latest table rebuilt as a new table and swapped in by name (True), when it
    holds only this model name's rows and nothing would be lost with it (False: left
    as it is). ``key``: its primary key's name and definition. ``in_id_order``: the
    run's partition (its name), when its rows lie in id order: read as they lie, by a
    sequential scan (0.1-0.3 s less server CPU per 1M rows than through its key).

    ``CREATE TABLE .. AS`` writes the run's rows in id order page after page
    (``INSERT`` puts a row into an earlier page's gap, so the table is never wholly
    in order), and the new key's sort then finds its input sorted:
    2.3-3.3 s of server CPU per 1M rows against 3.5-4.1 s for ``TRUNCATE`` +
    ``INSERT`` + the key in the same runs (``docs/postgresql.md``). Readers go on
    reading the old table meanwhile; the ``DROP`` at the end waits for them
    (:data:`LOCK_TIMEOUT`), and a reader that then waits for the table finds the new
    one by its name after the commit. The new table is in the old one's schema, with
    its name, columns, column types, key and grants (compared).
    """
    latest, history = tables["latest"], tables["history"]
    quote = conn.dialect.identifier_preparer.quote
    name = quote(latest.name)
    key_cols = _key_columns(conn, name)
    blockers = _SWAP_BLOCKERS.format(schema_publications=_SCHEMA_PUBLICATIONS if (
        conn.dialect.server_version_info or (0,)) >= (15,) else "")
    if not _bare_table(conn, name, grants=True) or _one(conn, blockers, t=name,
                                                        key=key_cols)[0]:
        return False
    cols = conn.exec_driver_sql(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid "
        "= to_regclass(%(t)s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        {"t": name}).all()
    acl = conn.exec_driver_sql(
        "SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END, "
        "x.privilege_type, x.is_grantable FROM pg_class c, aclexplode(c.relacl) x "
        "WHERE c.oid = to_regclass(%(t)s) AND x.grantee <> c.relowner", {"t": name}).all()
    schema = quote(_one(conn, "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON "
                              "n.oid = c.relnamespace WHERE c.oid = to_regclass(%(t)s)",
                        t=name)[0])
    new = f"{schema}.{quote(child_name(latest.name, '_refill'))}"  # beside the old one
    new_key = quote(child_name(latest.name, "_refill_pkey"))
    select = ", ".join(f"{quote(c)}::{t} AS {quote(c)}" for c, t in cols)
    a = run["as_of"]
    as_of = dt.date(a.year, a.month, a.day)  # a date, also from a Timestamp
    where = (f"{quote('as_of')} = {_literal(conn, as_of)} AND {quote('model_id')} = "
             f"{_literal(conn, str(run['model_id']))}")
    source = (quote(in_id_order) if in_id_order else  # its CHECK holds it to the run
              f"{quote(history.name)} WHERE {where} ORDER BY {quote(spec.id_column)}")
    if in_id_order:  # workers of a parallel scan would interleave the pages
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    conn.exec_driver_sql(f"CREATE TABLE {new} USING heap AS SELECT {select} FROM {source}")
    if in_id_order:
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = DEFAULT")
    conn.exec_driver_sql(f"ALTER TABLE {new} ADD CONSTRAINT {new_key} {key[1]}")
    for grantee, privilege, grantable in acl:
        conn.exec_driver_sql(f"GRANT {privilege} ON {new} TO {grantee}"
                             + (" WITH GRANT OPTION" if grantable else ""))
    if _one(conn, _ACL, t=new)[0] != _one(conn, _ACL, t=name)[0]:
        raise _NotSwapped  # an owner's own privileges revoked, say: kept as it is
    conn.exec_driver_sql(f"DROP TABLE {name}")
    conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {name}")
    conn.exec_driver_sql(f"ALTER INDEX {schema}.{new_key} RENAME TO {quote(key[0])}")
    return True


class _NotSwapped(Exception):
    """The new latest table would differ from the old one: rolled back, not swapped."""


def replace_latest_bulk(conn, tables, spec, run, in_id_order=None) -> None:
    """:func:`~tobmodel.export.history.replace_latest_rows` in bulk (see the module
    docstring): the same rows in the end, the primary key built once after the insert.
    ``in_id_order``: the run's partition when its rows lie in id order
    (:func:`_swap_latest`).

    Other writers of the latest table wait from the start (a lock that readers do not
    wait for), so that no other model name's rows come in between the check that
    there are none and the ``TRUNCATE`` or swap (:func:`_swap_latest`)."""
    from sqlalchemy.exc import SQLAlchemyError
    latest = tables["latest"]
    quote = conn.dialect.identifier_preparer.quote
    name = quote(latest.name)
    model = quote("model_name")
    try:
        with conn.begin_nested():  # a savepoint: refused here, nothing is lost
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            conn.exec_driver_sql(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE")
            key = conn.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(%(t)s) AND contype = 'p'", {"t": name}).first()
            others = conn.exec_driver_sql(  # two steps in the key, not a scan of the table
                f"SELECT 1 FROM {name} WHERE {model} < %(m)s OR {model} > %(m)s LIMIT 1",
                {"m": run["model_name"]}).first()
            alone = others is None  # only this model name's rows
            if not (alone and key is not None
                    and _try_swap(conn, tables, spec, run, key, in_id_order)):
                _refill_in_place(conn, tables, spec, run, key, alone)
            conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
    except SQLAlchemyError:
        replace_latest_rows(conn, tables, spec, run)


def _try_swap(conn, tables, spec, run, key, in_id_order=None) -> bool:
    """:func:`_swap_latest` in a savepoint: False when it declined or the server refused
    a step; a reader holding the table past :data:`LOCK_TIMEOUT` is raised (the refill
    in place would wait for it as long: the caller goes row by row)."""
    from sqlalchemy.exc import SQLAlchemyError
    try:
        with conn.begin_nested():
            return _swap_latest(conn, tables, spec, run, key, in_id_order)
    except SQLAlchemyError as e:
        if getattr(getattr(e, "orig", None), "sqlstate", None) == "55P03":  # lock timeout
            raise
        return False
    except _NotSwapped:
        return False


def _refill_in_place(conn, tables, spec, run, key, alone: bool) -> None:
    """The latest table emptied of the model name's rows (``TRUNCATE`` when ``alone``:
    they are the only ones), its key dropped, the run's rows inserted, the key built."""
    latest = tables["latest"]
    quote = conn.dialect.identifier_preparer.quote
    name = quote(latest.name)
    if alone:  # only this model's rows: no row-by-row delete
        conn.exec_driver_sql(f"TRUNCATE {name}")
    else:
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE {quote('model_name')} = %(m)s",
                             {"m": run["model_name"]})
    if key is not None:
        conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {quote(key[0])}")
    conn.execute(latest_from_history(tables, spec, run))
    if key is not None:
        conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {quote(key[0])} {key[1]}")
