"""Simulate 1,000,000 accounts with their leads, contracts, usage and support tables.

Target (issue 2): under 60 s and under 4 GB peak memory on a 2-core machine.
Prints its figures; it is not a test. Usage: python benchmarks/bench_simulate.py [n_accounts]
"""
from __future__ import annotations

import resource
import sys
import time

import tobmodel


def main(n: int = 1_000_000) -> None:
    t0 = time.perf_counter()
    sim = tobmodel.simulate("saas", "maturity", n_accounts=n, seed=1)
    secs = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rows = {k: len(v) for k, v in sim.tables.items()} | {
        f"truth_{k}": len(v) for k, v in sim.truth.items()}
    print(f"simulate saas/maturity n_accounts={n:,}: {secs:.1f} s, peak memory {peak_gb:.2f} GB")
    for k, v in rows.items():
        print(f"  {k:16s} {v:>12,} rows")
    print(f"  target: < 60 s and < 4 GB -> {'met' if secs < 60 and peak_gb < 4 else 'NOT met'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
