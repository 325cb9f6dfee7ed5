"""A memory-capped DuckDB connection: the one way tobmodel opens DuckDB.

The export's sort of a score file (:mod:`tobmodel.export.order`) and the
engines' SQL (:mod:`tobmodel.engines.connect`) both open DuckDB here, so the
cap, the spill folder and the time zone are set the same way everywhere.

Examples
--------
>>> con = duckdb_connection("256MB", threads=1)
>>> con.sql("SELECT current_setting('TimeZone')").fetchall()
[('UTC',)]
>>> duckdb_connection("lots")
Traceback (most recent call last):
...
tobmodel.io.duck.DuckDBSettingError: duckdb: memory_limit 'lots' is not a size such as '2GB' (...)
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


class DuckDBSettingError(ValueError):
    """A setting DuckDB refuses (one line naming it)."""


def duckdb_connection(memory_limit: str = "2GB", threads: int | None = None,
                      temp_directory=None, keep_order: bool = False):
    """An in-memory DuckDB capped at ``memory_limit`` that spills to ``temp_directory``.

    Timestamps are read and bucketed in UTC (``TimeZone = 'UTC'``), so month
    boundaries do not move with the machine's zone. ``keep_order=False``
    lets aggregations run without keeping the input's row order (less memory);
    a scan whose rows are numbered (scoring) keeps it. ``temp_directory``
    defaults to ``tobmodel-duckdb-<pid>`` in the system's temporary folder.
    """
    import duckdb
    con = duckdb.connect(":memory:")
    tmp = Path(temp_directory) if temp_directory else Path(tempfile.gettempdir()) / (
        f"tobmodel-duckdb-{os.getpid()}")
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    except duckdb.Error as e:
        con.close()
        raise DuckDBSettingError(f"duckdb: memory_limit {memory_limit!r} is not a size such as "
                                 f"'2GB' ({str(e).splitlines()[0]})") from None
    con.execute(f"SET temp_directory = '{tmp.as_posix()}'")
    con.execute(f"SET preserve_insertion_order = {'true' if keep_order else 'false'}")
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con
