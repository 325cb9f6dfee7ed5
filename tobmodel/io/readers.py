"""Read the team's tables from CSV, Parquet or a SQL database, validated against the schema.

Sources: a file path (``.csv``, ``.csv.gz``, ``.parquet``) or a SQLAlchemy URL
(``sqlite:///data/crm.db`` is the embedded default; ``postgresql+psycopg://
user@host/db`` needs ``pip install 'tobmodel[postgres]'``). Every table comes
back cast exactly to the schema dtypes (see :mod:`tobmodel.io.validate`), schema
columns first; columns the schema does not know are kept at the end,
unvalidated. Problems raise :class:`~tobmodel.io.validate.DataValidationError`
with a one-line message; in CSV files the row numbers are file line numbers
(header = line 1, assuming no line breaks inside quoted cells). CSV must be
UTF-8 (a BOM is fine); ``NULL``, ``NA`` and empty cells are blanks.

Examples
--------
>>> import tempfile, tobmodel
>>> sim = tobmodel.simulate("saas", n_accounts=50, seed=1)
>>> path = tempfile.mkdtemp() + "/accounts.csv"
>>> sim.accounts.to_csv(path, index=False)
>>> read_table(path, "accounts").equals(sim.accounts)
True
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..schema import TABLES
from .validate import DataValidationError, validate

__all__ = ["read_table", "read_tables"]

_SUFFIXES = (".csv", ".csv.gz", ".parquet")
_ARROW_TYPE = {"id": pa.int64(), "int": pa.int64(), "float": pa.float64(),
               "date": pa.timestamp("ns"), "category": pa.dictionary(pa.int32(), pa.string()),
               "bool": pa.dictionary(pa.int32(), pa.string())}


def read_table(source, table: str, *, sql_table: str | None = None, as_of=None) -> pd.DataFrame:
    """Read one table and return it validated and cast to the schema dtypes.

    Parameters
    ----------
    source : str or path
        ``.csv``, ``.csv.gz`` or ``.parquet`` file, or a SQLAlchemy URL.
    table : str
        Schema table name: accounts, leads, contracts, usage or support.
    sql_table : str, optional
        Table name in the database (``schema.name`` allowed); default ``table``.
    as_of : date-like, optional
        Exclude rows dated after it; they are counted in ``attrs["rejected"]``.

    Raises
    ------
    DataValidationError
        Missing file or table, unreadable file, unreachable database, bad data.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    if _is_url(source):
        df, name = _read_sql(str(source), table, sql_table or table)
        first_row = 1
    else:
        df, name, first_row = _read_file(Path(source), table)
    if len(df) == 0:
        raise DataValidationError(name, table, None, "has no data rows"
                                  + (" (only a header)" if first_row == 2 else ""))
    return validate(df, table, source=name, first_row=first_row, as_of=as_of)


def read_tables(folder_or_url, tables=None, *, as_of=None) -> dict[str, pd.DataFrame]:
    """Read several tables: ``<table>.csv``/``.csv.gz``/``.parquet`` files in a folder,
    or tables of the same names in a database.

    ``tables=None`` reads every schema table present (at least one must be);
    named tables must all be present.

    Examples
    --------
    >>> import tempfile, tobmodel
    >>> folder = tobmodel.simulate("tool", n_accounts=50, seed=1).to_parquet(tempfile.mkdtemp())
    >>> sorted(read_tables(folder))
    ['accounts', 'contracts', 'leads', 'support', 'usage']
    """
    wanted = list(TABLES) if tables is None else list(tables)
    if _is_url(folder_or_url):
        url = str(folder_or_url)
        present = set(_with_connection(url, lambda conn, sa: sa.inspect(conn).get_table_names()))
        found = {t: url for t in wanted if t in present}
    else:
        folder = Path(folder_or_url)
        if not folder.is_dir():
            raise DataValidationError(str(folder), None, None, "is not a folder")
        found = {}
        for t in wanted:
            files = [folder / f"{t}{s}" for s in _SUFFIXES if (folder / f"{t}{s}").exists()]
            if len(files) > 1:
                raise DataValidationError(str(folder), t, None, "has several files for table "
                                          f"'{t}': " + ", ".join(f.name for f in files))
            if files:
                found[t] = files[0]
    absent = [t for t in wanted if t not in found]
    if (tables is not None and absent) or not found:
        raise DataValidationError(str(folder_or_url), absent[0], None,
                                  "has no table " + ", ".join(f"'{t}'" for t in absent),
                                  hint="expected files <table>.csv or <table>.parquet"
                                  if not _is_url(folder_or_url) else "")
    return {t: read_table(src, t, as_of=as_of) for t, src in found.items()}


def _is_url(source) -> bool:
    return isinstance(source, str) and "://" in source


# -- files -------------------------------------------------------------------------------
def _read_file(path: Path, table: str):
    name = str(path)
    if not path.exists():
        folder = path.parent
        why = "does not exist" if folder.is_dir() else f"does not exist (no folder {folder})"
        raise DataValidationError(name, table, None, why)
    if path.is_dir():
        raise DataValidationError(name, table, None, "is a folder; use read_tables()")
    suffix = ".csv.gz" if path.name.lower().endswith(".csv.gz") else path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise DataValidationError(name, table, None, f"has an unsupported file type '{suffix}'",
                                  hint="use " + ", ".join(_SUFFIXES))
    if path.stat().st_size == 0:
        raise DataValidationError(name, table, None, "is empty (0 bytes)")
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path, engine="pyarrow"), name, 1
        except (pa.ArrowException, OSError) as e:
            raise DataValidationError(name, table, None, "cannot be read as Parquet: "
                                      + _first_line(e)) from None
    return _read_csv(path, table), name, 2


def _csv_options(types, **parse):
    return dict(parse_options=pacsv.ParseOptions(ignore_empty_lines=False, **parse),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, strings_can_be_null=True,
                    timestamp_parsers=[pacsv.ISO8601]))


_BLOCK = 1 << 20          # pyarrow's default block: a cell must fit in one
_MAX_BLOCK = 1 << 30      # retry with larger blocks up to this (a cell of ~1 GB)


def _arrow_csv(path: Path, table: str, read_options=None, **options):
    """``pyarrow.csv.read_csv`` that reads cells larger than a block (retrying with
    larger blocks) and names the file when a .gz file does not decompress."""
    ro = read_options or pacsv.ReadOptions()
    block = _BLOCK
    while True:
        ro.block_size = block
        try:
            return pacsv.read_csv(path, read_options=ro, **options)
        except pa.ArrowInvalid as e:
            if "straddling" not in str(e):
                raise
            if block >= _MAX_BLOCK:
                raise DataValidationError(str(path), table, None, "has a cell larger than "
                                          f"{_MAX_BLOCK >> 20} MB") from None
            block *= 16
        except (OSError, EOFError) as e:  # zlib / gzip errors: the file is damaged
            raise DataValidationError(str(path), table, None, "cannot be decompressed as gzip"
                                      f" ({_first_line(e)})",
                                      hint="check the download or re-create the file with "
                                      "gzip") from None


def _check_gzip(path: Path, table: str) -> None:
    if path.name.lower().endswith(".gz"):
        with open(path, "rb") as f:
            magic = f.read(2)
        if magic != b"\x1f\x8b":
            raise DataValidationError(str(path), table, None, "is not gzip-compressed though "
                                      "its name ends in .gz",
                                      hint=f"rename it to {path.name[:-3]} if it is plain CSV")


def _read_csv(path: Path, table: str) -> pd.DataFrame:
    """Fast path: typed pyarrow read. If any cell does not convert, read every cell as
    text and let ``validate`` find the bad rows."""
    _check_gzip(path, table)
    types = {c.name: _ARROW_TYPE[c.kind] for c in TABLES[table].columns}
    try:
        arrow = _arrow_csv(path, table, **_csv_options(types))
        if not any(pa.types.is_binary(f.type) for f in arrow.schema):  # binary: not UTF-8
            return arrow.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        pass
    _check_utf8(path, table)
    header = _header(path, table)
    bad_rows = []

    def invalid(row):
        bad_rows.append(row)
        return "skip"

    try:
        arrow = _arrow_csv(path, table, read_options=pacsv.ReadOptions(use_threads=False),
                           **_csv_options({h: pa.string() for h in header},
                                          invalid_row_handler=invalid))
    except pa.ArrowInvalid as e:
        raise DataValidationError(str(path), table, None, "cannot be read as CSV: "
                                  + _first_line(e)) from None
    if bad_rows:
        r = bad_rows[0]
        raise DataValidationError(
            str(path), table, None, f"has rows with {r.actual_columns} cells where the header "
            f"has {r.expected_columns}", [b.number for b in bad_rows[:5] if b.number],
            len(bad_rows), hint="check the delimiter (comma) and quoting")
    return arrow.to_pandas()


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _check_utf8(path: Path, table: str, chunk: int = 1 << 24) -> None:
    """Raise a one-line error naming the first line that is not UTF-8 and how to convert."""
    decoder, lines = codecs.getincrementaldecoder("utf-8")(), 0
    with _open_binary(path) as f:
        head = f.read(4)
        f.seek(0)
        while True:
            block = f.read(chunk)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                line = lines + block.count(b"\n", 0, e.start) + 1
                break
            if not block:
                return
            lines += block.count(b"\n")
        f.seek(0)
        sample = f.read(1 << 20)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        enc = "UTF-16"
    else:
        try:
            codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
            enc = "GBK"
        except UnicodeDecodeError:
            enc = "<its encoding>"
    out = path.name.split(".")[0] + ".utf8.csv"
    raise DataValidationError(
        str(path), table, None, f"is not UTF-8 text (first bad bytes on line {line})",
        hint=f"it looks like {enc}; convert it with: iconv -f {enc} -t UTF-8 {path.name} > {out}"
        if enc != "<its encoding>" else f"convert it with: iconv -f {enc} -t UTF-8 "
        f"{path.name} > {out}")


def _header(path: Path, table: str) -> list[str]:
    with _open_binary(path) as f:
        first = f.readline().decode("utf-8-sig")
    names = next(csv.reader(io.StringIO(first)), [])
    if not names:
        raise DataValidationError(str(path), table, None, "has no header line")
    return names


# -- databases ---------------------------------------------------------------------------
def _with_connection(url: str, work, table: str | None = None):
    """Open ``url``, run ``work(connection, sqlalchemy)``; turn driver failures into one line."""
    import sqlalchemy as sa

    try:
        u = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise DataValidationError(url, table, None, "is not a valid database URL",
                                  hint="e.g. sqlite:///data/crm.db") from None
    name = u.render_as_string(hide_password=True)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        db = Path(u.database)
        if not db.parent.is_dir():
            raise DataValidationError(name, table, None, f"folder {db.parent} does not exist")
        if not db.is_file():
            raise DataValidationError(name, table, None, f"database file {db} does not exist")
    args = {"connect_timeout": 10} if u.get_backend_name() in ("postgresql", "mysql") else {}
    try:
        engine = sa.create_engine(u, connect_args=args)
    except (ImportError, sa.exc.NoSuchModuleError) as e:
        raise DataValidationError(name, table, None, "needs a database driver that is not "
                                  f"installed ({_first_line(e)})",
                                  hint="pip install 'tobmodel[postgres]'"
                                  if u.get_backend_name() == "postgresql" else "") from None
    try:
        try:
            conn = engine.connect()
        except sa.exc.DBAPIError as e:
            raise DataValidationError(name, table, None, "cannot connect to the database: "
                                      + _first_line(e.orig or e)) from None
        with conn:
            try:
                return work(conn, sa)
            except sa.exc.DBAPIError as e:
                raise DataValidationError(name, table, None, "database error: "
                                          + _first_line(e.orig or e)) from None
    finally:
        engine.dispose()


def _read_sql(url: str, table: str, sql_table: str):
    schema, _, bare = sql_table.rpartition(".")

    def work(conn, sa):
        inspector = sa.inspect(conn)
        if not inspector.has_table(bare, schema=schema or None):
            have = inspector.get_table_names(schema=schema or None)
            raise DataValidationError(name, table, None, f"has no table '{sql_table}'",
                                      hint="tables: " + (", ".join(have[:20]) or "none"))
        return pd.read_sql_table(bare, conn, schema=schema or None)

    import sqlalchemy as sa

    try:
        name = f"{sa.engine.make_url(url).render_as_string(hide_password=True)} table {sql_table}"
    except sa.exc.ArgumentError:
        name = url
    return _with_connection(url, work, table), name


def _first_line(e) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]
