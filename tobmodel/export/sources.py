"""Read the rows to score in chunks, from a DataFrame, CSV, Parquet or a SQL table.

Memory stays bounded by the chunk size: CSV through ``pandas.read_csv(chunksize=)``
(floats parsed round-trip exactly, so a CSV and a Parquet file of the same values
give the same scores),
Parquet through ``pyarrow.parquet.ParquetFile.iter_batches``, SQL through
``pandas.read_sql_query(chunksize=)`` on a server-side cursor.

Examples
--------
>>> import pandas as pd
>>> src = open_source(pd.DataFrame({"account_id": [1, 2, 3]}), chunksize=2)
>>> [len(c) for c in src.chunks], src.total
([2, 1], 3)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from .specs import CHUNKSIZE, ExportError

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


@dataclass
class Source:
    """Rows to score: a display name, the row count if known, and the chunks."""

    name: str
    total: int | None
    chunks: Iterator[pd.DataFrame]
    path: Path | None = None  # a plain CSV file: rows countable for a progress bar's ETA

    def count_rows(self) -> int | None:
        """``total`` if known, else the data lines of a plain CSV file (one fast pass;
        assumes no line breaks inside quoted cells), else None."""
        if self.total is not None or self.path is None:
            return self.total
        lines, last = 0, b"\n"
        try:
            with open(self.path, "rb") as f:
                while block := f.read(1 << 24):
                    lines += block.count(b"\n")
                    last = block[-1:]
        except OSError:
            return None
        return max(0, lines + (last != b"\n") - 1)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


def is_url(target) -> bool:
    return isinstance(target, str) and "://" in target


def redact(url: str) -> str:
    """A database URL fit for messages: the password hidden."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given
        return url


def sqlite_url(path) -> str:
    return f"sqlite:///{Path(path)}"


def connect_error(url: str, exc: Exception) -> ExportError:
    """One line for a database that refuses us (connection, login, missing file)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return ExportError(f"{redact(url)}: cannot connect to the database ({first})")


def with_driver(url: str) -> str:
    """``postgresql://`` / ``postgres://`` URLs use psycopg 3 (the driver tobmodel installs).

    >>> with_driver("postgresql://u@db/x")
    'postgresql+psycopg://u@db/x'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, **kw):
    """A SQLAlchemy engine, with a one-line error for a bad URL or missing driver."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    try:
        return create_engine(with_driver(url), **kw)
    except (ArgumentError, NoSuchModuleError, ImportError) as e:
        raise ExportError(f"{redact(url)}: not a usable database URL ({e})") from None


def split_table(source):
    """``(source, table)`` from ``sqlite:///x.db#table`` or ``x.sqlite#table``; else table None.

    >>> split_table("sqlite:///crm.db#account_features")
    ('sqlite:///crm.db', 'account_features')
    >>> split_table("features.parquet")
    ('features.parquet', None)
    """
    text = str(source)
    if "#" in text:
        base, table = text.rsplit("#", 1)
        if is_url(base) or Path(base).suffix.lower() in SQLITE_SUFFIXES:
            return base, table or None
    return source, None


def open_source(source, table: str | None = None, id_column: str | None = None,
                chunksize: int = CHUNKSIZE) -> Source:
    """Open ``source`` for chunked reading; fail now (one line) if it cannot be read.

    Parameters
    ----------
    source : DataFrame, path (.csv, .parquet, .sqlite/.db), SQLAlchemy URL or Source
        A database source may name its table after ``#``: ``sqlite:///crm.db#leads``.
    table : str, optional
        Table to read from a database (``#table`` in ``source`` wins).
    id_column : str, optional
        SQL rows are read ordered by it, so the output order is stable.
    chunksize : int
        Rows per chunk.
    """
    if chunksize < 1:
        raise ExportError(f"chunksize must be at least 1, got {chunksize}")
    if isinstance(source, pd.DataFrame):
        return Source("<DataFrame>", len(source), _frame_chunks(source, chunksize))
    if isinstance(source, Source):  # already open (e.g. tobmodel.engines.duckdb_source)
        return source
    source, named = split_table(source)
    table = named or table
    if is_url(source):
        return _sql_source(source, table, id_column, chunksize)
    path = Path(source)
    if not path.exists():
        raise ExportError(f"{path}: no such file")
    if path.is_dir():
        raise ExportError(f"{path}: is a directory, not a table file (give a .csv or .parquet"
                          " file, or a database URL)")
    suffix = ".csv.gz" if path.name.lower().endswith(".csv.gz") else path.suffix.lower()
    if suffix in SQLITE_SUFFIXES:
        return _sql_source(sqlite_url(path), table, id_column, chunksize)
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as e:
        raise ExportError(f"{path}: cannot read ({e.strerror})") from None
    if suffix == ".csv.gz" and head != b"\x1f\x8b":
        raise ExportError(f"{path}: is not gzip-compressed though its name ends in .gz "
                          f"(rename it to {path.name[:-3]} if it is plain CSV)")
    if suffix in (".csv", ".csv.gz"):
        return Source(str(path), None, _csv_chunks(path, chunksize),
                      path if suffix == ".csv" else None)
    if suffix in (".parquet", ".pq"):
        return _parquet_source(path, chunksize)
    raise ExportError(f"{path}: unknown input format {suffix!r} (expected .csv, .csv.gz, "
                      ".parquet, .sqlite or a database URL)")


def _frame_chunks(df, chunksize):
    for start in range(0, len(df), chunksize):
        yield df.iloc[start:start + chunksize].reset_index(drop=True)


def _csv_chunks(path, chunksize):
    try:
        # round_trip: the float64 each cell spells, as Parquet stores it (the default
        # parser is off in the last bit for about a third of values, so CSV and Parquet
        # inputs of the same features scored differently)
        for chunk in pd.read_csv(path, chunksize=chunksize, float_precision="round_trip"):
            yield chunk
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        line = str(e).strip().splitlines()[0]
        raise ExportError(f"{path}: not a readable CSV table ({line})") from None
    except (OSError, EOFError) as e:  # gzip / zlib: a damaged or truncated .csv.gz
        line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExportError(f"{path}: cannot be decompressed as gzip ({line})") from None


def _parquet_source(path, chunksize):
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise ExportError(f"{path}: not a readable Parquet file ({e})") from None

    def chunks():
        with pf:
            try:
                for batch in pf.iter_batches(batch_size=chunksize):
                    yield batch.to_pandas()
            except (pa.ArrowException, OSError) as e:  # damaged past the footer
                line = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise ExportError(f"{path}: not a readable Parquet file ({line})") from None

    return Source(str(path), pf.metadata.num_rows, prefetched(chunks()))


def prefetched(chunks):
    """Yield from ``chunks`` while a thread reads the next one (Parquet decoding releases
    the GIL, so reading overlaps scoring); errors surface where the chunk would have."""
    import queue
    import threading
    q: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def work():
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        q.put((chunk, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item = (done, None)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            item = (done, e)
        finally:
            close = getattr(chunks, "close", None)
            if stop.is_set() and close is not None:
                close()
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=work, name="tobmodel-read", daemon=True)
    thread.start()
    try:
        while True:
            chunk, error = q.get()
            if error is not None:
                raise error
            if chunk is done:
                return
            yield chunk
    finally:
        stop.set()
        thread.join()


def _check_sqlite_file(url):
    from sqlalchemy.engine import make_url
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        if not Path(u.database).is_file():
            raise ExportError(f"{redact(url)}: no such database file {u.database}")


def _sql_source(url, table, id_column, chunksize):
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError
    if not table:
        raise ExportError(f"{redact(url)}: name the table to read (--table)")
    _check_sqlite_file(url)
    engine = make_engine(url)
    quote = engine.dialect.identifier_preparer.quote  # the database's own quoting rules
    try:
        conn = engine.connect()
    except SQLAlchemyError as e:
        engine.dispose()
        raise connect_error(url, e) from None
    try:
        with conn:
            insp = inspect(conn)
            if not insp.has_table(table):
                names = ", ".join(sorted(insp.get_table_names())[:10]) or "none"
                raise ExportError(f"{redact(url)}: no table {table!r} (tables: {names})")
            cols = [c["name"] for c in insp.get_columns(table)]
            total = conn.execute(text(f"SELECT COUNT(*) FROM {quote(table)}")).scalar_one()
    except SQLAlchemyError as e:
        engine.dispose()
        raise read_error(url, table, e) from None
    except BaseException:
        engine.dispose()  # a missing table must not leave the connection (and SQLite WAL) open
        raise
    order = f" ORDER BY {quote(id_column)}" if id_column in cols else ""
    query = text(f"SELECT * FROM {quote(table)}{order}")

    def chunks():
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(stream_results=True)
                yield from pd.read_sql_query(query, conn, chunksize=chunksize)
        except SQLAlchemyError as e:
            raise read_error(url, table, e) from None
        finally:
            engine.dispose()

    return Source(f"{redact(url)} table {table}", int(total), chunks())


def read_error(url: str, table: str, exc: Exception) -> ExportError:
    """One line for a table that cannot be read once connected (not "cannot connect")."""
    from sqlalchemy.exc import DisconnectionError, OperationalError
    if isinstance(exc, (DisconnectionError, OperationalError)) and getattr(
            exc, "connection_invalidated", False):
        return connect_error(url, exc)
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return ExportError(f"{redact(url)}: cannot read table {table!r} ({first})")
