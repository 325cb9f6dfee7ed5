"""Run tobmodel's event-level feature definitions where the data lives: DuckDB or Spark.

One SQL text per step (:mod:`tobmodel.engines.events`) written in the subset
that DuckDB and Spark SQL read alike; :mod:`tobmodel.engines.connect` opens
the engine (a memory-capped DuckDB that spills to disk, or a Spark session)
and registers the inputs under the names the SQL uses.
:mod:`tobmodel.engines.person_months` builds the dynamic model's person-months
and scoring rows the same way, and :mod:`tobmodel.engines.spark_scoring`
applies a saved model on Spark executors.
"""
from __future__ import annotations

ENGINES = ("duckdb", "spark")
