"""Open an engine and register inputs: a memory-capped DuckDB or a Spark session.

The SQL in :mod:`tobmodel.engines.events` names its inputs (``events``,
``tickets``, ``usage``, ...); :func:`run_sql` registers each given source
under that name and runs the text unchanged on either engine. A source is a
path (a Parquet file, a folder of Parquet files, a glob, or a ``.csv``), a
pandas DataFrame, or the engine's own relation / DataFrame.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"x": [1, 2, 3]})
>>> run_sql("SELECT CAST(SUM(x) AS BIGINT) AS s FROM t", {"t": df}).df()["s"].tolist()
[6]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from ..io.duck import duckdb_connection
from . import ENGINES


class EngineError(ValueError):
    """An engine cannot be opened or an input cannot be read (one line, names the input)."""


def _check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r} (expected one of {', '.join(ENGINES)})")
    return engine


def spark_session(master: str | None = None, app_name: str = "tobmodel", conf=None):
    """The active Spark session, or a new one on ``master`` (default ``local[2]``).

    An existing session (Databricks) is used as it is, and under
    ``spark-submit`` the submitted master and settings hold; only a
    new session gets tobmodel's settings: UTC session time zone, Arrow
    transfers and few shuffle partitions on a local master, whose Python
    workers run this interpreter (``PYSPARK_PYTHON``, unless set).
    """
    from pyspark.sql import SparkSession
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    b = SparkSession.builder.appName(app_name)
    if master is None and "PYSPARK_GATEWAY_PORT" in os.environ:
        master = "submitted"  # under spark-submit: its --master and --conf hold
    else:
        master = master or "local[2]"
        b = b.master(master)
    if master.startswith("local"):  # executors are this machine: run this Python there
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    defaults = {"spark.sql.session.timeZone": "UTC",
                "spark.sql.execution.arrow.pyspark.enabled": "true",
                "spark.ui.showConsoleProgress": "false",
                **({"spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false"}
                   if master.startswith("local") else {})}
    for k, v in {**defaults, **dict(conf or {})}.items():
        b = b.config(k, v)
    return b.getOrCreate()


def _parquet_glob(path: Path) -> str:
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def _check_path(name: str, source) -> Path:
    path = Path(source)
    if not any(ch in str(source) for ch in "*?[") and not path.exists():
        raise EngineError(f"{source}: no such file or folder (input {name!r})")
    return path


def register(engine: str, con, name: str, source) -> None:
    """Make ``source`` readable as table ``name`` on ``con`` (a DuckDB connection or Spark)."""
    _check_engine(engine)
    if engine == "duckdb":
        if isinstance(source, (str, Path)):
            path = _check_path(name, source)
            reader = ("read_csv_auto" if path.suffix.lower() == ".csv" else "read_parquet")
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                        f"{reader}('{_parquet_glob(path) if reader == 'read_parquet' else path}')")
        elif isinstance(source, pd.DataFrame):
            con.register(name, source)
        else:  # a DuckDB relation or an Arrow table
            con.register(name, source)
        return
    if isinstance(source, (str, Path)):
        path = _check_path(name, source)
        df = (con.read.option("header", True).option("inferSchema", True).csv(str(path))
              if path.suffix.lower() == ".csv" else con.read.parquet(str(path)))
    elif isinstance(source, pd.DataFrame):
        df = con.createDataFrame(source)
    else:
        df = source
    df.createOrReplaceTempView(name)


def run_sql(sql: str, tables: dict, *, engine: str = "duckdb", con=None,
            memory_limit: str = "2GB"):
    """Run ``sql`` with ``tables`` registered by name; a DuckDB relation or a Spark DataFrame."""
    _check_engine(engine)
    if con is None:
        con = duckdb_connection(memory_limit) if engine == "duckdb" else spark_session()
    for name, source in tables.items():
        register(engine, con, name, source)
    if engine == "duckdb":
        return con.sql(sql)
    return con.sql(sql)


def duckdb_source(path, chunksize: int = 100_000, memory_limit: str = "2GB"):
    """Rows of a Parquet file, folder or glob, or a CSV, streamed by DuckDB in chunks.

    For ``tobmodel score --engine duckdb``: inputs larger than memory, many
    files at once, CSV read in parallel; rows keep the files' order (by file
    name, then row), so row numbers and duplicate checks are stable.
    Returns a :class:`tobmodel.export.sources.Source` for the export job.

    >>> import tempfile, pathlib, pandas as pd
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"account_id": [1, 2, 3]}).to_parquet(d / "part-0.parquet")
    >>> src = duckdb_source(d, chunksize=2)
    >>> [len(c) for c in src.chunks], src.total
    ([2, 1], 3)
    """
    import duckdb

    from ..export.sources import Source
    con = duckdb_connection(memory_limit, keep_order=True)
    register("duckdb", con, "rows", path)
    try:
        total = con.sql("SELECT COUNT(*) FROM rows").fetchall()[0][0]
        reader = con.sql("SELECT * FROM rows").to_arrow_reader(chunksize)
    except duckdb.Error as e:
        raise EngineError(f"{path}: cannot be read by DuckDB ({str(e).splitlines()[0]})"
                          ) from None

    def chunks():
        try:
            for batch in reader:
                if batch.num_rows:
                    yield batch.to_pandas()
        finally:
            con.close()

    return Source(f"{path} (duckdb)", int(total), chunks())


def to_pandas(result) -> pd.DataFrame:
    """A DuckDB relation or Spark DataFrame as pandas (Spark through Arrow)."""
    if hasattr(result, "toPandas"):
        return result.toPandas()
    return result.df()
