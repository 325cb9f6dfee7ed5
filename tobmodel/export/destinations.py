"""Where scores go: CSV, Parquet, SQLite, PostgreSQL (or memory), each written safely.

Files are streamed into a temporary file beside the target and renamed over
it only when the whole run succeeded; score files are sorted by risk on the
way (highest risk / best lead first, ties by id: :mod:`.order`): a crash, ``kill -9`` or Ctrl-C leaves
the previous file byte for byte (a stray ``.<name>.*.tmp`` may remain after a
hard kill). Rejected rows go to ``<stem>.rejects.csv`` beside the output.

Databases get all of a run in one transaction: the run's earlier rows (same
as_of and model_id) are deleted, the new rows inserted (PostgreSQL: ``COPY``),
the latest table refreshed, then one commit (tables: :mod:`.history`).

Examples
--------
>>> import tempfile, pathlib
>>> d = open_destination(pathlib.Path(tempfile.mkdtemp()) / "churn_scores.csv", SPECS["churn"])
>>> d.describe(), d.describe_rejects().endswith("churn_scores.rejects.csv")
('...churn_scores.csv', True)
"""
from __future__ import annotations

import io
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .history import clear_run, ensure_tables, finish_run, previous_run_rows, score_tables
from .postgres import MAX_IDENTIFIER  # bytes: PostgreSQL cuts longer names silently
from .sources import (SQLITE_SUFFIXES, connect_error, is_url, make_engine, redact, split_table,
                      sqlite_url)
from .specs import SPECS, ExportError, ExportSpec, plain_text

__all__ = ["open_destination", "FileDestination", "SQLDestination", "MemoryDestination",
           "write_tables", "SPECS"]


def open_destination(target, spec: ExportSpec):
    """A destination for ``target``: a path (.csv, .parquet, .sqlite/.db) or a database URL.

    A database target may name the latest-scores table after ``#``
    (``sqlite:///crm.db#my_scores``); see :class:`SQLDestination`.
    """
    if hasattr(target, "write") and hasattr(target, "commit"):
        return target
    target, table = split_table(target)
    if is_url(target):
        return SQLDestination(target, spec, table)
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix in SQLITE_SUFFIXES:
        return SQLDestination(sqlite_url(path), spec, table)
    if suffix in (".csv", ".parquet", ".pq"):
        dest = FileDestination(path, spec)
        dest.check()
        return dest
    raise ExportError(f"{path}: unknown output format {suffix or '(no suffix)'!r} (expected "
                      ".csv, .parquet, .sqlite or a database URL)")


class MemoryDestination:
    """Collect scores and rejects in memory (the notebook API)."""

    def __init__(self, spec: ExportSpec):
        self.spec = spec
        self._scores, self._rejects = [], []
        self.scores = self.rejects = None

    def describe(self) -> str:
        return "<memory>"

    describe_rejects = describe

    def begin(self, run) -> None:
        pass

    def write(self, scores: pd.DataFrame) -> None:
        self._scores.append(plain_text(scores))

    def write_rejects(self, rejects: pd.DataFrame) -> None:
        self._rejects.append(rejects)

    def commit(self, run) -> None:
        def cat(frames, cols):
            return (pd.concat(frames, ignore_index=True) if frames
                    else pd.DataFrame({c: [] for c in cols}))
        self.scores = cat(self._scores, self.spec.columns)
        self.rejects = cat(self._rejects, self.spec.rejects_columns)

    def abort(self) -> None:
        self._scores, self._rejects = [], []


class FileDestination:
    """CSV or Parquet file written through a temporary file and a rename.

    The file keeps the mode of the one it replaces (new files: ``0666 & ~umask``);
    whatever fails (a full disk included) the temporary files are removed and
    the error names the file. Scores are held in memory as Arrow tables while
    they take at most half the sort's cap (:data:`.order.SORT_MEMORY_LIMIT`),
    beyond it spooled to a temporary Parquet file, and written sorted by risk
    at commit (:func:`.order.sorted_tables` / :func:`.order.sorted_batches`):
    the same bytes either way. Rejects keep the input order. One thread of its
    own turns each chunk into Arrow (text Categoricals as dictionary arrays) while
    the next is scored, spools, and at the end encodes each sorted batch while the
    next is taken; one job in flight, in order.
    """

    def __init__(self, path, spec: ExportSpec):
        self.path = Path(path)
        self.spec = spec
        self.format = "csv" if self.path.suffix.lower() == ".csv" else "parquet"
        self.rejects_path = self.path.with_name(self.path.stem + ".rejects.csv")
        self.previous_scored = None
        self._files = {}
        self._parquet = self._pool = self._pending = self._writer = self._converted = None
        self._held, self._held_bytes = [], 0  # score tables in memory until they spill
        self._prepared = False

    def describe(self) -> str:
        return str(self.path)

    def describe_rejects(self) -> str:
        return str(self.rejects_path)

    def check(self) -> None:
        """Refuse now (before any temporary file) a target that cannot be a file."""
        for path in (self.path, self.rejects_path):
            if path.is_dir():
                raise ExportError(f"{path}: is a directory; give a file name for the scores")

    def _open_tmp(self, path: Path):
        from ..io.writers import create_temp
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = create_temp(path)
        except OSError as e:
            raise _write_error(path, e) from None
        return os.fdopen(fd, "wb"), tmp

    def begin(self, run) -> None:
        self.check()
        self.previous_scored = previous_rows(self.path, self.format)
        try:
            self._files["rejects"] = self._open_tmp(self.rejects_path)
            self._write_csv_header("rejects", self.spec.rejects_columns)
            self._schema = _arrow_schema(self.spec.columns)
            from . import order
            self._budget = order.in_memory_budget(order.SORT_MEMORY_LIMIT)
            # the sorted scores' file, opened now (an unwritable folder fails before any
            # row is scored): the CSV header or Parquet's leading magic; rows at prepare
            self._files["scores"] = self._open_tmp(self.path)
            if self.format == "csv":
                self._write_csv_header("scores", self.spec.columns)
            else:
                import pyarrow.parquet as pq
                # no dictionary for the ids: every one differs, so Parquet's dictionary
                # only fills up (hashing each id) before falling back to plain values
                self._writer = pq.ParquetWriter(
                    self._files["scores"][0], self._schema, compression="zstd",
                    use_dictionary=[c for c in self._schema.names if c != self.spec.id_column])
            self._files["scores"][0].flush()
        except BaseException:
            self.abort()
            raise

    def _write_bytes(self, which, data: bytes) -> None:
        try:
            self._files[which][0].write(data)
        except OSError as e:
            raise _write_error(self.path if which == "scores" else self.rejects_path,
                               e) from None

    def _write_csv_header(self, which, columns) -> None:
        self._write_bytes(which, (",".join(columns) + "\n").encode())

    def _write_csv(self, which, df) -> None:
        buf = io.StringIO()
        df.to_csv(buf, header=False, index=False, date_format="%Y-%m-%d")
        self._write_bytes(which, buf.getvalue().encode())

    def write(self, scores: pd.DataFrame) -> None:
        # the chunk is turned into Arrow in a thread while the next one is scored (NumPy
        # and the Arrow conversion of numbers release the GIL); taken in order, on the next
        # call, one chunk in flight
        self._add_converted()
        # text Categoricals (reasons, risk tiers) stay dictionary arrays until the sorted
        # rows are written: the sort takes their codes, not their strings
        self._converted = self._thread().submit(_arrow_table, scores, self._schema, True)

    def _thread(self):
        """The destination's one thread: Arrow conversion, spooling, then the final encoding."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="tobmodel-parquet")
        return self._pool

    def _add_converted(self) -> None:
        pending, self._converted = self._converted, None
        if pending is None:
            return
        table = pending.result()
        if self._parquet is None:  # held in memory (sorted there) while within the budget
            self._held.append(table)
            self._held_bytes += table.nbytes
            if self._held_bytes <= self._budget:
                return
            self._spill()
            return
        self._spool(table)

    def _spill(self) -> None:
        """Beyond the budget: the held tables and every later one go to a Parquet spool."""
        import pyarrow.parquet as pq
        self._files["spool"] = self._open_tmp(self.path)  # unsorted scores, Parquet
        self._parquet = pq.ParquetWriter(self._files["spool"][0], self._schema,
                                         compression="snappy")
        held, self._held, self._held_bytes = self._held, [], 0
        for table in held:
            self._spool(table)

    def _spool(self, table) -> None:
        self._wait()
        table = _as_schema(table, self._schema)  # dictionary columns as text (DuckDB sorts)
        # encoding + compression run in the thread (pyarrow releases the GIL) while the
        # next chunk is read and scored; one chunk in flight, errors raised on the next call
        self._pending = self._thread().submit(self._parquet.write_table, table)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result()
            except OSError as e:  # pyarrow raises OSError subclasses for the file
                raise _write_error(self.path, e) from None

    def _stop_pool(self) -> None:
        for pending in (self._converted, self._pending):
            if pending is not None:
                pending.exception()  # wait; the error (if any) was or will be reported
        self._converted = self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def write_rejects(self, rejects: pd.DataFrame) -> None:
        self._write_csv("rejects", rejects)

    def prepare(self) -> None:
        """Everything but the renames: the sorted scores written and synced (a run calls
        it on every file before any database commits, so a failed sort commits nothing)."""
        if self._prepared:
            return
        try:
            self._add_converted()
            self._wait()
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
                self._files["spool"][0].close()
            self._write_sorted()
            self._stop_pool()
            self._prepared = True
            for which in ("rejects", "scores"):
                f, _ = self._files[which]
                f.flush()
                os.fsync(f.fileno())
                f.close()
        except OSError as e:
            raise _write_error(self.path, e) from None

    def commit(self, run) -> None:
        self.prepare()
        for which, path in (("rejects", self.rejects_path), ("scores", self.path)):
            os.replace(self._files[which][1], path)
        spool = self._files.pop("spool", None)
        if spool is not None:
            spool[1].unlink(missing_ok=True)
        self._files = {}

    def _write_sorted(self) -> None:
        """The held or spooled scores, highest risk first, into the final temporary file."""
        from . import order
        refused = ()  # DuckDB sorts a spool only (its import is not paid otherwise)
        if "spool" in self._files:
            import duckdb
            refused = (duckdb.Error,)
            batches = order.sorted_batches(
                self._files["spool"][1], self.spec, memory_limit=order.SORT_MEMORY_LIMIT,
                temp_directory=self.path.parent / f".{self.path.name}.sort")
        else:
            held, self._held, self._held_bytes = self._held, [], 0
            batches = order.sorted_tables(held, self._schema, self.spec)
        try:
            if self.format == "csv":
                for t in batches:
                    self._write_csv("scores", _as_schema(t, self._schema).to_pandas(
                        date_as_object=False))
                return
            # each batch is encoded in the destination's thread (pyarrow releases the GIL)
            # while the next is taken; in order, one batch in flight
            for t in batches:
                t = _as_schema(t, self._schema)
                self._wait()
                self._pending = self._thread().submit(self._writer.write_table, t)
            self._wait()
            writer, self._writer = self._writer, None
            writer.close()
        except refused as e:
            raise _write_error(self.path, OSError(f"sorting the scores: {_driver_message(e)}")
                               ) from None

    def abort(self) -> None:
        """Remove the temporary files; closing them may fail (full disk): unlink first."""
        self._stop_pool()
        self._held, self._held_bytes = [], 0
        files, self._files = self._files, {}
        for _, tmp in files.values():
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        for writer in (self._parquet, self._writer):
            if writer is not None:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001 - the file is discarded anyway
                    pass
        self._parquet = self._writer = None
        for f, _ in files.values():
            try:
                f.close()
            except OSError:
                pass


def _write_error(path: Path, e: OSError) -> ExportError:
    """One line naming the file ("[Errno 28]" alone does not say which disk is full)."""
    import errno
    why = e.strerror or (str(e).strip().splitlines() or [type(e).__name__])[0]
    if getattr(e, "errno", None) == errno.ENOSPC or "No space left" in str(e):
        why = "disk full: no space left on device"
    return ExportError(f"{path}: cannot write ({why}); the previous file is kept")


def previous_rows(path: Path, fmt: str) -> int | None:
    """Rows in the file a run is about to replace (None if there is none or it is unreadable)."""
    try:
        if not path.is_file():
            return None
        if fmt == "parquet":
            import pyarrow.parquet as pq
            return pq.ParquetFile(path).metadata.num_rows
        from .sources import Source
        return Source(str(path), None, iter(()), path).count_rows()
    except Exception:  # noqa: BLE001 - a damaged old file only switches the comparison off
        return None


def _copy_data(df: pd.DataFrame, kinds: dict, binary: bool = False, key=None) -> bytes:
    """Rows for PostgreSQL's COPY, binary or CSV (:func:`.postgres.copy_payload`), in the
    order of column ``key`` (:func:`.postgres.key_order`)."""
    from .postgres import copy_payload, key_order
    if key is not None and key in df.columns:
        order = key_order(df[key].to_numpy())
        if order is not None:
            df = df.take(order)
    return copy_payload(_arrow_table(df, _arrow_schema({c: kinds[c] for c in df.columns})),
                        binary)


def _arrow_schema(columns: dict):
    import pyarrow as pa
    types = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(),
             "date": pa.date32(), "bool": pa.bool_()}
    return pa.schema([pa.field(n, types[k]) for n, k in columns.items()])


def _as_schema(table, schema):
    """``table`` cast to ``schema`` (dictionary columns to their values), the columns of
    its type already as they are."""
    import pyarrow as pa
    return pa.Table.from_arrays([c if c.type == f.type else c.cast(f.type)
                                 for c, f in zip(table.columns, schema)], schema=schema)


def _arrow_table(df: pd.DataFrame, schema, dictionaries: bool = False):
    """``df`` as an Arrow table of ``schema``; ``dictionaries``: a text Categorical as a
    dictionary array (int32 codes) instead of text (the rest of the schema's types)."""
    import pyarrow as pa
    arrays = []
    for f in schema:
        s = df[f.name]
        if dictionaries and isinstance(s.dtype, pd.CategoricalDtype) and pa.types.is_string(
                f.type):
            codes = s.cat.codes.to_numpy()
            arrays.append(pa.DictionaryArray.from_arrays(
                pa.array(codes.astype(np.int32), mask=codes < 0),
                pa.array(s.cat.categories.to_numpy(dtype=object), pa.string())))
        else:
            arrays.append(pa.Array.from_pandas(s).cast(f.type))
    return pa.Table.from_arrays(arrays, names=schema.names)


class SQLDestination:
    """Score tables in a SQLAlchemy database; one transaction per run.

    ``table`` (from ``sqlite:///crm.db#my_scores``) renames the tables: latest
    ``my_scores``, history ``my_scores_history``, rejects ``my_scores_rejects``.
    Identifiers are quoted by the database's own rules. SQLite: the run's DDL
    is inside the transaction too (a refused run leaves no table behind), and
    the file is switched to WAL only after a successful commit.
    """

    def __init__(self, url: str, spec: ExportSpec, table: str | None = None):
        self.url = url
        self.spec = spec if table is None else _renamed_spec(spec, table, url)
        self.tables = score_tables(self.spec)
        self.latest_updated = None
        self.previous_scored = None
        self._conn = self._trans = self._new_file = None
        self._pool = self._copying = self._partition = None
        self._binary = {}

    def describe(self) -> str:
        return f"{redact(self.url)} ({self.spec.history_table}, {self.spec.latest_table})"

    def describe_rejects(self) -> str:
        return f"{redact(self.url)} ({self.spec.rejects_table})"

    def begin(self, run) -> None:
        from sqlalchemy.exc import SQLAlchemyError
        engine = make_engine(self.url)
        self.dialect = engine.dialect.name
        self.copy = self.dialect == "postgresql" and engine.dialect.driver == "psycopg"
        if self.dialect == "sqlite":
            _make_sqlite_folder(self.url)
            db = engine.url.database
            self._new_file = (Path(db) if db and db != ":memory:" and not Path(db).exists()
                              else None)
            engine = make_engine(self.url, connect_args={"timeout": 120})
            _transactional_sqlite(engine)
        self.quote = engine.dialect.identifier_preparer.quote
        try:
            self._conn = engine.connect()
        except SQLAlchemyError as e:
            self.abort()
            raise connect_error(self.url, e) from None
        except BaseException:
            self.abort()
            raise
        try:
            self._trans = self._conn.begin()
            from . import postgres as pg
            ensure_tables(self._conn, self.tables, redact(self.url),
                          pg.create_history if self.copy else None)
            self.previous_scored = previous_run_rows(self._conn, self.tables, self.spec,
                                                     run["model_name"], run["as_of"])
            # PostgreSQL: the history's rows of the run go into a partition of their own
            self._partition = (pg.RunPartition.open(self._conn, self.tables["history"], run)
                               if self.copy else None)
            clear_run(self._conn, self.tables, run["as_of"], run["model_id"],
                      ("rejects",) if self._partition else ("history", "rejects"))
            self._binary = self._binary_tables() if self.copy else {}
        except SQLAlchemyError as e:
            self.abort()
            raise self._error(e) from None
        except BaseException:
            self.abort()
            raise

    def _binary_tables(self) -> dict:
        """Tables that take binary COPY (their column types are exactly tobmodel's)."""
        from .postgres import binary_copy_ok
        raw = self._conn.connection.driver_connection
        return {t.name: binary_copy_ok(raw, self.quote(t.name), kinds) for t, kinds in (
            (self.tables["history"], self.spec.columns),
            (self.tables["rejects"], self.spec.rejects_columns))}

    def _error(self, e) -> ExportError:
        """One line: the driver's first line, never the SQL statement and its rows."""
        return ExportError(f"{redact(self.url)}: cannot write scores ({_driver_message(e)})")

    def write(self, scores: pd.DataFrame) -> None:
        self._insert(self.tables["history"], scores, self.spec.columns)

    def write_rejects(self, rejects: pd.DataFrame) -> None:
        self._insert(self.tables["rejects"], rejects, self.spec.rejects_columns)

    def _insert(self, table, df: pd.DataFrame, kinds: dict) -> None:
        if len(df) == 0:
            return
        df = plain_text(df)
        with self._errors():
            if self.copy:  # PostgreSQL through psycopg 3: COPY of binary rows (or CSV)
                binary = self._binary.get(table.name, False)  # that Arrow holds, sent by
                data = _copy_data(df, kinds, binary,  # a thread while the next chunk is
                                  self._copy_key(table))
                if self._partition is not None and table is self.tables["history"]:
                    self._partition.follow_ids(df[self.spec.id_column].to_numpy())
                self._wait_copy()                     # scored (one COPY in flight at a time)
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="tobmodel-copy")
                self._copying = self._pool.submit(self._copy_rows, table, list(df.columns),
                                                  data, binary)
            else:
                self._insert_rows(table, df)

    @staticmethod
    def _copy_key(table):
        """The last column of the table's primary key (the run's id or row number: the
        others are the same for every row of a run), by which each COPY block is sent."""
        key = list(table.primary_key.columns)
        return key[-1].name if key else None

    @contextmanager
    def _errors(self):
        """Driver errors as one line naming the database (never the SQL and its rows)."""
        from sqlalchemy.exc import SQLAlchemyError
        try:
            yield
        except SQLAlchemyError as e:
            raise self._error(e) from None
        except Exception as e:  # noqa: BLE001 - psycopg's own errors from COPY
            if type(e).__module__.split(".")[0] != "psycopg":
                raise
            raise self._error(e) from None

    def _copy_rows(self, table, cols: list, data: bytes, binary: bool = False) -> None:
        from .postgres import copy_statement
        raw = self._conn.connection.driver_connection
        run = self._partition if table is self.tables["history"] else None
        statement = copy_statement(self.quote, run.target if run else table.name, cols,
                                   binary)
        with raw.cursor() as cur, cur.copy(statement) as cp:
            cp.write(data)

    def _wait_copy(self) -> None:
        pending, self._copying = self._copying, None
        if pending is not None:
            pending.result()

    def _stop_copy(self) -> None:
        pending, self._copying = self._copying, None
        if pending is not None:
            pending.exception()  # wait; a failed run is rolled back anyway
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _insert_rows(self, table, df: pd.DataFrame) -> None:
        cols = list(df.columns)
        names = ", ".join(self.quote(c) for c in cols)
        target = self.quote(table.name)
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in cols)
            self._conn.exec_driver_sql(f"INSERT INTO {target} ({names}) VALUES ({marks})",
                                       _dbapi_rows(df))
        else:  # any other database: SQLAlchemy's generic executemany
            self._conn.execute(table.insert(), [dict(zip(cols, r)) for r in _dbapi_rows(df)])

    def commit(self, run) -> None:
        with self._errors():
            self._wait_copy()
            self._stop_copy()
            if self._partition is not None:  # the run's rows keyed and attached
                self._partition.finish()
            bulk = None
            if self.dialect == "postgresql":  # the latest table refilled in bulk
                from functools import partial

                from .postgres import replace_latest_bulk
                bulk = partial(replace_latest_bulk, in_id_order=(
                    self._partition.in_id_order if self._partition else None))
            self.latest_updated = finish_run(self._conn, self.tables, self.spec, run, bulk)
            self._trans.commit()
        if self.dialect == "sqlite":  # readers do not block the writer, nor it them
            try:
                self._conn.connection.driver_connection.execute("PRAGMA journal_mode=WAL")
            except Exception:  # noqa: BLE001 - the scores are committed; WAL is a nicety
                pass
        self._close()

    def abort(self) -> None:
        self._stop_copy()
        try:
            if self._trans is not None and self._trans.is_active:
                self._trans.rollback()
        except Exception:  # noqa: BLE001 - a dead connection rolls back by itself
            pass
        self._close()
        _remove_if_empty(self._new_file)
        self._new_file = None

    def _close(self) -> None:
        if self._conn is not None:
            engine = self._conn.engine
            try:
                self._conn.close()
            finally:
                engine.dispose()
        self._conn = self._trans = None


def _renamed_spec(spec: ExportSpec, table: str, url: str) -> ExportSpec:
    import dataclasses
    names = {"latest_table": table, "history_table": f"{table}_history",
             "rejects_table": f"{table}_rejects"}
    for name in names.values():
        if not name.strip() or len(name.encode()) > MAX_IDENTIFIER or "\x00" in name:
            raise ExportError(f"{redact(url)}: table name {table!r} is not usable (1 to "
                              f"{MAX_IDENTIFIER - 8} bytes, no NUL)")
    return dataclasses.replace(spec, **names)


def _remove_if_empty(db: Path | None) -> None:
    """Remove a SQLite file this run created if it holds no table (a refused first run)."""
    if db is None or not db.is_file():
        return
    import sqlite3
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            if c.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                return
        c.close()
        for f in (db, Path(f"{db}-journal"), Path(f"{db}-wal"), Path(f"{db}-shm")):
            f.unlink(missing_ok=True)
    except (sqlite3.Error, OSError):
        pass


def _transactional_sqlite(engine) -> None:
    """pysqlite's own transactions skip DDL; let SQLAlchemy emit BEGIN IMMEDIATE itself
    (the write lock taken at once: a concurrent writer waits rather than deadlocks)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_conn, record):
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _driver_message(e) -> str:
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip()
    return text.splitlines()[0][:300] if text else type(orig).__name__


def _dbapi_rows(df: pd.DataFrame) -> list[tuple]:
    """Rows as plain Python values for ``executemany`` (dates as ISO text, NaN as NULL)."""
    cols = []
    for name in df.columns:
        s = df[name]
        if s.dtype.kind == "M":
            s = s.dt.strftime("%Y-%m-%d")
        elif s.dtype.kind == "b":
            s = s.astype(int)
        cols.append(s.astype(object).where(s.notna(), None).tolist())
    return list(zip(*cols))


def _make_sqlite_folder(url: str) -> None:
    from sqlalchemy.engine import make_url
    db = make_url(url).database
    if db and db != ":memory:":
        parent = Path(db).parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ExportError(f"{redact(url)}: cannot create folder {parent} "
                              f"({e.strerror or e})") from None
        if Path(db).is_dir():
            raise ExportError(f"{redact(url)}: {db} is a directory, not a database file")


def write_tables(tables: dict[str, pd.DataFrame], target) -> str:
    """Write whole tables to a folder (Parquet, one file each) or a database (one transaction).

    Existing tables of the same name are replaced. Returns a description of
    where they went.
    """
    from ..io.writers import write_parquet
    if not is_url(target) and Path(target).suffix.lower() not in SQLITE_SUFFIXES:
        folder = Path(target)
        try:
            for name, df in tables.items():
                write_parquet(df, folder / f"{name}.parquet")
        except OSError as e:
            raise ExportError(f"{folder}: cannot write tables ({e.strerror or e})") from None
        return str(folder)
    from sqlalchemy.exc import SQLAlchemyError
    url = target if is_url(target) else sqlite_url(target)
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        _make_sqlite_folder(url)
    try:
        conn = engine.connect()
    except SQLAlchemyError as e:
        engine.dispose()
        raise connect_error(url, e) from None
    try:
        with conn, conn.begin():
            for name, df in tables.items():
                df.to_sql(name, conn, if_exists="replace", index=False, chunksize=50_000)
    except SQLAlchemyError as e:  # one line: never the statement and its rows
        raise ExportError(f"{redact(url)}: cannot write tables ({_driver_message(e)})") from None
    finally:
        engine.dispose()
    return redact(url)
