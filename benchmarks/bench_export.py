"""Score 1,000,000 accounts end to end: Parquet in, Parquet / SQLite / PostgreSQL out.

A Cox renewal model is fitted on a simulated SaaS business; the active
accounts' features are repeated (with new ids) to ``n`` rows and written to
Parquet. Each destination then runs ``export_scores`` in its own subprocess
(chunks of 100,000 rows), so its peak memory (``VmHWM``, the process's
own high-water mark: ``ru_maxrss`` in a child starts at its parent's size) is
its own.
PostgreSQL runs on a throwaway local server when Debian's binaries exist.
Prints rows per second and peak memory per destination; it is not a test.

Usage: python benchmarks/bench_export.py [n_rows [chunksize [destinations]]]
(destinations: comma-separated subset of parquet,sqlite,postgresql; default all)
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def prepare(folder: Path, n: int) -> tuple[Path, Path]:
    import tobmodel
    from tobmodel.io.writers import write_parquet
    from tobmodel.renewal import build_account_features, fit_renewal_model
    sim = tobmodel.simulate("saas", "maturity", n_accounts=5000, seed=2026)
    features = build_account_features(sim)
    model = fit_renewal_model(features, "cox")
    model.save(folder / "cox.json")
    active = features.loc[features["active"]].reset_index(drop=True)
    big = active.iloc[np.arange(n) % len(active)].reset_index(drop=True)
    big["account_id"] = np.arange(1, n + 1, dtype=np.int64)
    write_parquet(big, folder / "features.parquet")
    return folder / "cox.json", folder / "features.parquet"


def run_one(model: str, source: str, output: str, chunksize: int) -> None:
    """Child process: one export; prints a JSON line with its figures."""
    from tobmodel.export import export_scores
    start = time.perf_counter()
    s = export_scores(model, source, output, chunksize=chunksize, progress=False)
    seconds = time.perf_counter() - start
    # ru_maxrss survives fork + execve on Linux, so in a child it starts at the
    # parent's size; VmHWM is this process image's own high-water mark.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"read": s.read, "scored": s.scored, "rejected": s.rejected,
                      "seconds": seconds, "peak_bytes": _vm_hwm() or maxrss,
                      "ru_maxrss_bytes": maxrss}))


def _vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def child(model, source, output, chunksize) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", str(model), str(source),
                        str(output), str(chunksize)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(n: int = 1_000_000, chunksize: int = 100_000,
         destinations: str = "parquet,sqlite,postgresql") -> None:
    wanted = set(destinations.lower().split(","))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pgserver import find_pg_bin, throwaway_postgres  # test helper, not shipped
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        model, source = prepare(folder, n)
        print(f"prepared {n:,} accounts' features (Parquet, "
              f"{source.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s; "
              f"chunks of {chunksize:,} rows")
        targets = {"Parquet": folder / "scores.parquet",
                   "SQLite": f"sqlite:///{folder / 'scores.sqlite'}"}
        results = {}
        for name, target in targets.items():
            if name.lower() in wanted:
                results[name] = child(model, source, target, chunksize)
        if "postgresql" not in wanted:
            pass
        elif find_pg_bin() is not None:
            with throwaway_postgres() as url:
                results["PostgreSQL"] = child(model, source, url, chunksize)
        else:
            print("PostgreSQL: skipped (no server binaries; apt-get install postgresql)")
        print(f"{'destination':<12} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak MB':>8}")
        for name, r in results.items():
            print(f"{name:<12} {r['scored']:>10,} {r['seconds']:>8.1f} "
                  f"{r['scored'] / r['seconds']:>10,.0f} {r['peak_bytes'] / 2**20:>8.0f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        run_one(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main(*(int(a) for a in sys.argv[1:3]), *sys.argv[3:4])
