"""Simulate 1,000,000 accounts with their leads, contracts, usage and support tables.

Target (issue 2): under 60 s and under 4 GB peak memory on a 2-core machine.
The 1M-account run streams to Parquet (``simulate_to_parquet``): held in memory
at int64 the tables alone exceed 4 GB. Prints its figures; it is not a test.
Usage: python benchmarks/bench_simulate.py [n_accounts [workers]]
"""
from __future__ import annotations

import os
import resource
import threading
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from tobmodel.simulator import simulate_to_parquet


class TreeMemory(threading.Thread):
    """Samples the proportional set size (PSS) of this process and its children."""

    def __init__(self, every: float = 0.1):
        super().__init__(daemon=True)
        self.every, self.peak, self._done = every, 0, threading.Event()
        self.start()

    @staticmethod
    def _pss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self):
        me = os.getpid()
        while not self._done.is_set():
            kids = Path(f"/proc/{me}/task/{me}/children").read_text().split()
            self.peak = max(self.peak, self._pss(me) + sum(self._pss(int(k)) for k in kids))
            self._done.wait(self.every)

    def stop(self):
        self._done.set()
        self.join()


def main(n: int = 1_000_000, workers: int = 2) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sampler = TreeMemory()
        t0 = time.perf_counter()
        c0 = time.process_time()
        folder = simulate_to_parquet(tmp, "saas", "maturity", n_accounts=n, seed=1,
                                     workers=workers)
        secs = time.perf_counter() - t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c0 + ru.ru_utime + ru.ru_stime
        sampler.stop()
        main_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        peak_gb = sampler.peak / 2**30
        print(f"simulate_to_parquet saas/maturity n_accounts={n:,} workers={workers}: "
              f"{secs:.1f} s wall, {cpu:.1f} s CPU; peak memory of the process tree "
              f"{peak_gb:.2f} GB (proportional set size, forked pages counted once; "
              f"main process max RSS {main_gb:.2f} GB)")
        for f in sorted(Path(folder).glob("*.parquet")):
            rows = pq.ParquetFile(f).metadata.num_rows
            print(f"  {f.stem:16s} {rows:>12,} rows  {f.stat().st_size / 2**20:8.1f} MB")
    print(f"  target: < 60 s and < 4 GB -> {'met' if secs < 60 and peak_gb < 4 else 'NOT met'}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
