"""Reading and writing the team's tables, and the memory-capped DuckDB connection (:mod:`.duck`)."""
