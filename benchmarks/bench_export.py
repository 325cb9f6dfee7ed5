"""Score 1,000,000 accounts end to end: Parquet in, Parquet / SQLite / PostgreSQL out.

A Cox renewal model is fitted on a simulated SaaS business; the active
accounts' features are repeated (with new ids) to ``n`` rows and written to
Parquet. Each destination then runs ``export_scores`` in its own subprocess
(chunks of 100,000 rows), so its peak memory (``VmHWM``, the process's
own high-water mark: ``ru_maxrss`` in a child starts at its parent's size) is
its own.
PostgreSQL runs on a throwaway local server when Debian's binaries exist.
Prints rows per second and peak memory per destination; it is not a test.

Two ratios, each against a baseline measured in the same run:

* score Parquet -> Parquet against the floor: reading the same features
  Parquet with pandas and writing it back (the I/O any score job pays);
  target: within 4x (wall time; the CPU seconds of both, all threads, are
  printed beside it: on a busy machine they vary less than the wall time);
* PostgreSQL write rate of the score rows alone (binary COPY encoded by pgpq,
  each block in id order: what the export uses) against the same with blocks in
  the order they come (sorted by risk), CSV COPY (the previous format, with the
  row-by-row latest-table refill) and SQLAlchemy's executemany insert of the
  same rows; target: COPY at >= 200,000 rows/s. Each variant writes last week's
  run first (untimed) into a database of its own, then this week's (timed).

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
    start, cpu = time.perf_counter(), time.process_time()
    s = export_scores(model, source, output, chunksize=chunksize, progress=False,
                      min_scored_fraction=0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # ru_maxrss survives fork + execve on Linux, so in a child it starts at the
    # parent's size; VmHWM is this process image's own high-water mark.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"read": s.read, "scored": s.scored, "rejected": s.rejected,
                      "seconds": seconds, "cpu_seconds": cpu,
                      "peak_bytes": _vm_hwm() or maxrss,
                      "ru_maxrss_bytes": maxrss}))


def _vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def child(*args) -> dict:
    r = subprocess.run([sys.executable, __file__, *map(str, args)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_floor(source: str, output: str) -> None:
    """Child process: read the features Parquet with pandas and write it back."""
    import pandas as pd
    start, cpu = time.perf_counter(), time.process_time()
    pd.read_parquet(source).to_parquet(output, index=False, compression="zstd")
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "cpu_seconds": time.process_time() - cpu}))


def _backend_cpu(dest) -> float | None:
    """CPU seconds of the destination's server process so far (the throwaway server runs
    on this machine), or None where /proc does not show it."""
    import os
    pid = dest._conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_pg_write(scores: str, url: str, chunksize: int, how: str) -> None:
    """Child process: write the score rows of a Parquet file into PostgreSQL, timing only
    the destination (begin, write chunks, commit); ``how``: copy (binary when pgpq is
    installed, each block sent in id order), copy-unsorted (the same, blocks as they
    come: the previous way), copy-csv or executemany. Also the CPU seconds of this
    process (encoding, sending) and of the server's backend (parsing, heap, index, WAL)."""
    import pandas as pd
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    from tobmodel.export import postgres as pgbulk
    from tobmodel.export.destinations import SQLDestination
    from tobmodel.export.history import replace_latest_rows
    from tobmodel.export.specs import SPECS, typed_frame
    spec = SPECS["churn"]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")  # a database each
    name = "bench_" + how.replace("-", "_")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    url = url.rsplit("/", 1)[0] + "/" + name
    table = pq.read_table(scores)
    frames = [typed_frame(b.to_pandas(), spec.columns)
              for b in table.to_batches(max_chunksize=chunksize)]
    if how == "copy-csv":  # the previous COPY format and row-by-row refill, for the ratio
        pgbulk.replace_latest_bulk = replace_latest_rows
    if how == "copy-unsorted":  # COPY blocks in the order they come (before key_order)
        pgbulk.key_order = lambda ids: None
    as_of = frames[0]["as_of"].iloc[0]
    weeks = [as_of - pd.Timedelta(days=7), as_of] if how != "executemany" else [as_of]
    for week in weeks:  # last week's run first (untimed): the latest table then holds it
        run = {"as_of": week.date(), "model_id": f"bench-{how}", "model_name": f"bench-{how}",
               "model_version": "0", "source": scores, "horizon_months": 12,
               "read": table.num_rows, "scored": table.num_rows, "rejected": 0}
        for f in frames:
            f["model_id"], f["model_name"], f["as_of"] = run["model_id"], run["model_name"], week
        dest = SQLDestination(url, spec)
        start = time.perf_counter()
        dest.begin(run)
        dest.copy = how.startswith("copy")
        if how == "copy-csv":
            dest._binary = {}
        server0, client0 = _backend_cpu(dest), time.process_time()
        begun = time.perf_counter()
        for f in frames:
            dest.write(f)
        dest._wait_copy()  # the last chunk's COPY runs in a thread: count it in
        written = time.perf_counter()
        server1, client1 = _backend_cpu(dest), time.process_time()
        dest.commit(run)  # refills the latest table from the history, logs the run, commits
    cpu = ({"server_cpu": server1 - server0, "client_cpu": client1 - client0}
           if server0 is not None and server1 is not None else {})
    print(json.dumps({"rows": table.num_rows, "seconds": time.perf_counter() - start,
                      "write_seconds": written - begun, **cpu}))


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
        floor_run = child("--floor", source, folder / "floor.parquet")
        floor = floor_run["seconds"]
        targets = {"Parquet": folder / "scores.parquet",
                   "SQLite": f"sqlite:///{folder / 'scores.sqlite'}"}
        results = {}
        for name, target in targets.items():
            if name.lower() in wanted or name == "Parquet":
                results[name] = child("--child", model, source, target, chunksize)
        pg = {}
        if "postgresql" not in wanted:
            pass
        elif find_pg_bin() is not None:
            with throwaway_postgres() as url:
                results["PostgreSQL"] = child("--child", model, source, url, chunksize)
                scores = folder / "scores.parquet"
                pg["copy"] = child("--pg-write", scores, url, chunksize, "copy")
                pg["copy-unsorted"] = child("--pg-write", scores, url, chunksize,
                                            "copy-unsorted")
                pg["copy-csv"] = child("--pg-write", scores, url, chunksize, "copy-csv")
                few = folder / "few.parquet"  # executemany is slow: time it on 100,000 rows
                import pyarrow.parquet as pq
                pq.write_table(pq.read_table(scores).slice(0, min(n, 100_000)), few)
                pg["executemany"] = child("--pg-write", few, url, chunksize, "executemany")
        else:
            print("PostgreSQL: skipped (no server binaries; apt-get install postgresql)")
        print(f"{'destination':<12} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak MB':>8}")
        for name, r in results.items():
            print(f"{name:<12} {r['scored']:>10,} {r['seconds']:>8.1f} "
                  f"{r['scored'] / r['seconds']:>10,.0f} {r['peak_bytes'] / 2**20:>8.0f}")
        p = results["Parquet"]["seconds"]
        print(f"score Parquet -> Parquet {p:.2f} s vs reading + writing the same Parquet "
              f"{floor:.2f} s: ratio {p / floor:.1f}x (target <= 4x)")
        cpu, floor_cpu = results["Parquet"]["cpu_seconds"], floor_run["cpu_seconds"]
        print(f"  CPU seconds (all threads; steadier than wall time on a busy machine): "
              f"{cpu:.2f} vs {floor_cpu:.2f}: ratio {cpu / floor_cpu:.1f}x")
        if pg:
            rate = {k: v["rows"] / v["write_seconds"] for k, v in pg.items()}
            whole = pg["copy"]["rows"] / pg["copy"]["seconds"]
            csv_whole = pg["copy-csv"]["rows"] / pg["copy-csv"]["seconds"]
            print(f"PostgreSQL score rows into the history table: COPY {rate['copy']:,.0f} "
                  f"rows/s ({pg['copy']['rows']:,} rows, target >= 200,000; "
                  f"{rate['copy'] / 200_000:.2f}x the target) vs CSV COPY "
                  f"{rate['copy-csv']:,.0f} rows/s ({rate['copy'] / rate['copy-csv']:.1f}x) vs "
                  f"executemany {rate['executemany']:,.0f} rows/s "
                  f"({rate['copy'] / rate['executemany']:.0f}x); with the latest-table refill "
                  f"and commit {whole:,.0f} rows/s (CSV COPY and the row-by-row refill "
                  f"{csv_whole:,.0f})")
            u = pg["copy-unsorted"]
            print(f"PostgreSQL COPY blocks in id order {rate['copy']:,.0f} rows/s vs as they "
                  f"come (sorted by risk) {rate['copy-unsorted']:,.0f} rows/s: "
                  f"{rate['copy'] / rate['copy-unsorted']:.2f}x; with the refill and commit "
                  f"{whole:,.0f} vs {u['rows'] / u['seconds']:,.0f} rows/s")
            for k, v in pg.items():
                if "server_cpu" in v:
                    print(f"  {k:<14} CPU seconds while writing {v['rows']:,} rows: server "
                          f"backend {v['server_cpu']:.1f} s, this side {v['client_cpu']:.1f} s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        run_one(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif sys.argv[1:2] == ["--floor"]:
        run_floor(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["--pg-write"]:
        run_pg_write(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main(*(int(a) for a in sys.argv[1:3]), *sys.argv[3:4])
