"""Score files sorted by risk: highest churn risk (or best lead) first, ties by id.

A run's scores arrive chunk by chunk in input order. A file destination
spools them to a temporary Parquet file; at commit the spool is sorted by
DuckDB (memory capped, spilling to disk: a run of millions of rows never
holds them all in memory) and handed back in record batches of fixed size,
which the destination writes as CSV or Parquet. The order is a total order
(ids are unique in a run), so the same scores give the same bytes.

The sort key is the export's probability (:attr:`ExportSpec.probability`):
``p_churn_horizon`` for churn scores -- the score the risk tiers and the call
list use -- and ``p_convert`` for leads; descending, then the id ascending.

Examples
--------
>>> import tempfile, pathlib
>>> import pyarrow as pa, pyarrow.parquet as pq
>>> from tobmodel.export.specs import SPECS
>>> spool = pathlib.Path(tempfile.mkdtemp()) / "spool.parquet"
>>> pq.write_table(pa.table({"lead_id": [3, 1, 2], "p_convert": [0.2, 0.2, 0.9]}), spool)
>>> [b.to_pydict()["lead_id"] for b in sorted_batches(spool, SPECS["lead"], batch_rows=2)]
[[2, 1], [3]]
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

SORT_MEMORY_LIMIT = "1GB"  # DuckDB's cap for the sort; beyond it, it spills to temp files
BATCH_ROWS = 100_000       # rows per batch handed back (Parquet: one row group each)


def sort_key(spec) -> tuple[str, str]:
    """``(probability column, id column)``: descending risk, then ascending id."""
    return spec.probability, spec.id_column


def sorted_batches(spool, spec, *, batch_rows: int = BATCH_ROWS,
                   memory_limit: str = SORT_MEMORY_LIMIT, temp_directory=None):
    """Arrow tables of the Parquet file ``spool``, highest ``spec.probability`` first.

    Every table but the last holds exactly ``batch_rows`` rows, so the output
    is the same whatever the number of threads.
    """
    import duckdb
    import pyarrow as pa
    prob, key = sort_key(spec)
    tmp = Path(temp_directory) if temp_directory else Path(tempfile.gettempdir()) / (
        f"tobmodel-sort-{os.getpid()}")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{tmp.as_posix()}'")
        path = str(spool).replace("'", "''")
        reader = con.sql(
            f'SELECT * FROM read_parquet(\'{path}\') ORDER BY "{prob}" DESC, "{key}" ASC'
        ).to_arrow_reader(batch_rows)
        pending, held = [], 0
        for batch in reader:  # re-cut to exactly batch_rows (DuckDB's batches may vary)
            pending.append(pa.Table.from_batches([batch]))
            held += batch.num_rows
            while held >= batch_rows:
                table = pa.concat_tables(pending)
                yield table.slice(0, batch_rows).combine_chunks()
                rest = table.slice(batch_rows)
                pending, held = ([rest] if rest.num_rows else []), rest.num_rows
        if held:
            yield pa.concat_tables(pending).combine_chunks()
    finally:
        con.close()
