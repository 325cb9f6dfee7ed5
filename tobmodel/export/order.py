"""Score files sorted by risk: highest churn risk (or best lead) first, ties by id.

A run's scores arrive chunk by chunk in input order. A file destination
holds them in memory as Arrow tables while they take at most half the
memory cap (:func:`sorted_tables` sorts them there); beyond it, it spools
them to a temporary Parquet file, which DuckDB sorts at commit (memory
capped, spilling to disk: a run of millions of rows never holds them all in
memory; :func:`sorted_batches`). Either way they are handed back in record
batches of fixed size, which the destination writes as CSV or Parquet. The
order is a total order (ids are unique in a run), so both ways give the same
rows in the same order, and the same scores give the same bytes.

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
>>> parse_size("1GB"), parse_size("100 MiB"), parse_size("lots")
(1000000000, 104857600, None)
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

SORT_MEMORY_LIMIT = "1GB"  # the sort's cap: in memory up to half of it, else DuckDB spills
BATCH_ROWS = 100_000       # rows per batch handed back (Parquet: one row group each)

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def sort_key(spec) -> tuple[str, str]:
    """``(probability column, id column)``: descending risk, then ascending id."""
    return spec.probability, spec.id_column


def parse_size(text) -> int | None:
    """Bytes of a DuckDB size such as ``'1GB'`` (10**9) or ``'512MiB'``; None if not one."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = _UNITS.get(m.group(2).lower()) if m else None
    return None if unit is None else int(float(m.group(1)) * unit)


def in_memory_budget(memory_limit: str = SORT_MEMORY_LIMIT) -> int:
    """Bytes of score rows sorted in memory: half the sort's cap (0 if it is no size)."""
    return (parse_size(memory_limit) or 0) // 2


def sorted_batches(spool, spec, *, batch_rows: int = BATCH_ROWS,
                   memory_limit: str = SORT_MEMORY_LIMIT, temp_directory=None):
    """Arrow tables of the Parquet file ``spool``, highest ``spec.probability`` first.

    Every table but the last holds exactly ``batch_rows`` rows, so the output
    is the same whatever the number of threads. Rows taking at most half of
    ``memory_limit`` in memory are sorted by Arrow (the sorted copy is taken a
    batch at a time, so the peak is the rows, their order and one batch);
    larger spools are sorted by DuckDB under the cap, spilling to
    ``temp_directory``. Either way the same tables come out.
    """
    budget = in_memory_budget(memory_limit)
    table = _read_within(spool, budget) if budget else None
    if table is None:
        yield from _duckdb_sorted(spool, spec, batch_rows, memory_limit, temp_directory)
        return
    yield from sorted_tables([table], table.schema, spec, batch_rows=batch_rows)


def sorted_tables(tables, schema, spec, *, batch_rows: int = BATCH_ROWS):
    """:func:`sorted_batches` of Arrow tables held in memory (``schema``: theirs, for none):
    sorted by NumPy, then taken a batch at a time. A list of tables is emptied, so that
    the rows are held once (the peak: the rows, their order, a copy of one column and
    one batch).

    >>> import pyarrow as pa
    >>> from tobmodel.export.specs import SPECS
    >>> t = [pa.table({"lead_id": [3, 1], "p_convert": [0.2, 0.2]}),
    ...      pa.table({"lead_id": [2], "p_convert": [0.9]})]
    >>> [b.to_pydict()["lead_id"] for b in sorted_tables(t, t[0].schema, SPECS["lead"])]
    [[2, 1, 3]]
    """
    import pyarrow as pa
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    if isinstance(tables, list):
        tables.clear()
    schema = table.schema
    prob, key = sort_key(spec)
    order = pa.array(risk_order(table[prob].to_numpy(), table[key].to_numpy()))
    # a column of one value (the run's as_of, model, version...) is the same in any order:
    # sliced, not taken row by row; the others taken from one contiguous array (twice as
    # fast as from the chunks)
    columns = table.columns
    del table
    same = [_constant(col) for col in columns]
    for i, one in enumerate(same):
        if not one:
            columns[i] = columns[i].combine_chunks()  # its chunks freed as it is replaced
    for start in range(0, len(order), batch_rows):
        rows = order.slice(start, batch_rows)
        yield pa.Table.from_arrays(
            [col.slice(0, len(rows)) if one else col.take(rows)
             for col, one in zip(columns, same)], schema=schema).combine_chunks()


def risk_order(p, ids):
    """Row order by ``p`` descending, then ``ids`` ascending: DuckDB's ``ORDER BY p DESC,
    id ASC`` for the finite probabilities and unique ids of a run (non-finite scores are
    rejects), as ``np.lexsort((ids, -p))`` gives it at half its cost or less: the rows
    in id order (already, or by one sort of the unique ids), then a stable sort by ``-p``.

    >>> risk_order(np.array([0.2, 0.9, 0.2]), np.array([3, 1, 2])).tolist()
    [1, 2, 0]
    """
    ids = np.asarray(ids)
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        by_id = np.argsort(ids)  # unique: every sort gives this order
        return by_id[np.argsort(-np.asarray(p)[by_id], kind="stable")]
    return np.argsort(-np.asarray(p), kind="stable")


def _constant(col) -> bool:
    """Every value of ``col`` equal and none null (then any order of its rows is itself).
    A dictionary column: each chunk's codes all one, naming one value (its chunks'
    dictionaries differ: comparing the values would unify them first)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if len(col) == 0 or col.null_count:
        return False
    if not pa.types.is_dictionary(col.type):
        return pc.all(pc.equal(col, col[0])).as_py()
    values = set()
    for chunk in col.chunks:
        if len(chunk):
            lo, hi = pc.min_max(chunk.indices).as_py().values()
            if lo != hi:
                return False  # (a dictionary holding one value twice: taken, the same)
            values.add(chunk.dictionary[lo].as_py())
    return len(values) == 1


def _read_within(spool, budget: int):
    """The spool as one Arrow table if it takes at most ``budget`` bytes, else None (read
    row group by row group, stopping as soon as the budget is exceeded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    with pq.ParquetFile(spool) as f:
        parts, held = [], 0
        for i in range(f.num_row_groups):
            part = f.read_row_group(i)
            held += part.nbytes
            if held > budget:
                return None
            parts.append(part)
        return pa.concat_tables(parts) if parts else f.schema_arrow.empty_table()


def _duckdb_sorted(spool, spec, batch_rows, memory_limit, temp_directory):
    """:func:`sorted_batches` by DuckDB, memory capped, spilling to ``temp_directory``."""
    import pyarrow as pa

    from ..io.duck import duckdb_connection
    prob, key = sort_key(spec)
    tmp = Path(temp_directory) if temp_directory else Path(tempfile.gettempdir()) / (
        f"tobmodel-sort-{os.getpid()}")
    con = duckdb_connection(memory_limit, temp_directory=tmp)
    try:
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
