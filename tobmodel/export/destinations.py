"""Where scores go: CSV, Parquet, SQLite, PostgreSQL (or memory), each written safely.

Files are streamed into a temporary file beside the target and renamed over
it only when the whole run succeeded: a crash, ``kill -9`` or Ctrl-C leaves
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

import csv
import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from .history import clear_run, ensure_tables, finish_run, score_tables
from .sources import SQLITE_SUFFIXES, connect_error, is_url, make_engine, redact, sqlite_url
from .specs import SPECS, ExportError, ExportSpec

__all__ = ["open_destination", "FileDestination", "SQLDestination", "MemoryDestination",
           "write_tables", "SPECS"]


def open_destination(target, spec: ExportSpec):
    """A destination for ``target``: a path (.csv, .parquet, .sqlite/.db) or a database URL."""
    if hasattr(target, "write") and hasattr(target, "commit"):
        return target
    if is_url(target):
        return SQLDestination(target, spec)
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix in SQLITE_SUFFIXES:
        return SQLDestination(sqlite_url(path), spec)
    if suffix in (".csv", ".parquet", ".pq"):
        return FileDestination(path, spec)
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
        self._scores.append(scores)

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
    """CSV or Parquet file written through a temporary file and a rename."""

    def __init__(self, path, spec: ExportSpec):
        self.path = Path(path)
        self.spec = spec
        self.format = "csv" if self.path.suffix.lower() == ".csv" else "parquet"
        self.rejects_path = self.path.with_name(self.path.stem + ".rejects.csv")
        self._files = {}

    def describe(self) -> str:
        return str(self.path)

    def describe_rejects(self) -> str:
        return str(self.rejects_path)

    def _open_tmp(self, path: Path):
        if path.is_dir():
            raise ExportError(f"{path}: is a directory; give a file name for the scores")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as e:
            where = f": {e.filename}" if getattr(e, "filename", None) else ""
            raise ExportError(f"{path}: cannot write ({e.strerror or e}{where})") from None
        return os.fdopen(fd, "wb"), Path(tmp)

    def begin(self, run) -> None:
        self._files["rejects"] = self._open_tmp(self.rejects_path)
        self._files["scores"] = self._open_tmp(self.path)
        self._write_csv_header("rejects", self.spec.rejects_columns)
        if self.format == "csv":
            self._write_csv_header("scores", self.spec.columns)
        else:
            import pyarrow.parquet as pq
            self._schema = _arrow_schema(self.spec.columns)
            self._parquet = pq.ParquetWriter(self._files["scores"][0], self._schema,
                                             compression="zstd")

    def _write_csv_header(self, which, columns) -> None:
        self._files[which][0].write((",".join(columns) + "\n").encode())

    def _write_csv(self, which, df) -> None:
        buf = io.StringIO()
        df.to_csv(buf, header=False, index=False, date_format="%Y-%m-%d")
        self._files[which][0].write(buf.getvalue().encode())

    def write(self, scores: pd.DataFrame) -> None:
        if self.format == "csv":
            self._write_csv("scores", scores)
        else:
            self._parquet.write_table(_arrow_table(scores, self._schema))

    def write_rejects(self, rejects: pd.DataFrame) -> None:
        self._write_csv("rejects", rejects)

    def commit(self, run) -> None:
        if self.format == "parquet":
            self._parquet.close()
        for which, path in (("rejects", self.rejects_path), ("scores", self.path)):
            f, tmp = self._files[which]
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(tmp, path)
        self._files = {}

    def abort(self) -> None:
        if self.format == "parquet" and getattr(self, "_parquet", None) is not None:
            try:
                self._parquet.close()
            except Exception:  # noqa: BLE001 - the file is discarded anyway
                pass
        for f, tmp in self._files.values():
            f.close()
            tmp.unlink(missing_ok=True)
        self._files = {}


def _arrow_schema(columns: dict):
    import pyarrow as pa
    types = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(),
             "date": pa.date32(), "bool": pa.bool_()}
    return pa.schema([pa.field(n, types[k]) for n, k in columns.items()])


def _arrow_table(df: pd.DataFrame, schema):
    import pyarrow as pa
    arrays = [pa.Array.from_pandas(df[f.name]).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


class SQLDestination:
    """Score tables in a SQLAlchemy database; one transaction per run."""

    def __init__(self, url: str, spec: ExportSpec):
        self.url = url
        self.spec = spec
        self.tables = score_tables(spec)
        self.latest_updated = None
        self._conn = self._trans = None

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
        try:
            self._conn = engine.connect()
            if self.dialect == "sqlite":  # readers do not block the writer, nor it them
                self._conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                self._conn.commit()
            self._trans = self._conn.begin()
            ensure_tables(self._conn, self.tables, redact(self.url))
            clear_run(self._conn, self.tables, run["as_of"], run["model_id"])
        except SQLAlchemyError as e:
            self.abort()
            raise connect_error(self.url, e) from None
        except BaseException:
            self.abort()
            raise

    def write(self, scores: pd.DataFrame) -> None:
        self._insert(self.tables["history"], scores)

    def write_rejects(self, rejects: pd.DataFrame) -> None:
        self._insert(self.tables["rejects"], rejects)

    def _insert(self, table, df: pd.DataFrame) -> None:
        if len(df) == 0:
            return
        cols = list(df.columns)
        names = ", ".join(f'"{c}"' for c in cols)
        if self.copy:  # PostgreSQL through psycopg 3: COPY, several times faster
            buf = io.StringIO()
            df.to_csv(buf, header=False, index=False, date_format="%Y-%m-%d",
                      quoting=csv.QUOTE_MINIMAL)
            raw = self._conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(
                    f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)') as cp:
                cp.write(buf.getvalue())
        elif self.dialect == "sqlite":
            marks = ", ".join("?" for _ in cols)
            self._conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                                       _dbapi_rows(df))
        else:  # any other database: SQLAlchemy's generic executemany
            self._conn.execute(table.insert(), [dict(zip(cols, r)) for r in _dbapi_rows(df)])

    def commit(self, run) -> None:
        self.latest_updated = finish_run(self._conn, self.tables, self.spec, run)
        self._trans.commit()
        self._close()

    def abort(self) -> None:
        if self._trans is not None and self._trans.is_active:
            self._trans.rollback()
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            engine = self._conn.engine
            self._conn.close()
            engine.dispose()
        self._conn = self._trans = None


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
        with engine.begin() as conn:
            for name, df in tables.items():
                df.to_sql(name, conn, if_exists="replace", index=False, chunksize=50_000)
    except SQLAlchemyError as e:
        raise connect_error(url, e) from None
    finally:
        engine.dispose()
    return redact(url)
