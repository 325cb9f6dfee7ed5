"""Simulate 1,000,000 accounts with their leads, contracts, usage and support tables.

Target (issue 2): under 60 s and under 4 GB peak memory on a 2-core machine.
The 1M-account run streams to Parquet (``simulate_to_parquet``): held in memory
at int64 the tables alone exceed 4 GB. Prints its figures; it is not a test.
Usage: python benchmarks/bench_simulate.py [n_accounts]
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from tobmodel.simulator import simulate_to_parquet


def main(n: int = 1_000_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = simulate_to_parquet(tmp, "saas", "maturity", n_accounts=n, seed=1)
        secs = time.perf_counter() - t0
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"simulate_to_parquet saas/maturity n_accounts={n:,}: {secs:.1f} s, "
              f"peak memory {peak_gb:.2f} GB")
        for f in sorted(Path(folder).glob("*.parquet")):
            rows = pq.ParquetFile(f).metadata.num_rows
            print(f"  {f.stem:16s} {rows:>12,} rows  {f.stat().st_size / 2**20:8.1f} MB")
    print(f"  target: < 60 s and < 4 GB -> {'met' if secs < 60 and peak_gb < 4 else 'NOT met'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
