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
* PostgreSQL write rate of the score rows into the history table alone: binary
  COPY (encoded by pgpq) into the run's own partition, its key built and the
  partition attached (what the export does), against the previous layout (one
  history table, blocks in id order: the export two stops ago), the same with
  blocks as they come (sorted by risk), CSV COPY (with the row-by-row
  latest-table refill) and SQLAlchemy's executemany insert of the same rows
  (100,000 of them); target: >= 200,000 rows/s. Each variant writes last week's
  run first (untimed) into a database of its own, vacuums and analyses every
  database (what autovacuum does in the week between), then writes this week's
  (timed). The rates with the latest-table refill and commit (the whole write;
  target >= 200,000 rows/s too), against the same export with the latest table
  refilled in place (``TRUNCATE``, ``INSERT``, key) instead of rebuilt and swapped
  in, the server's CPU
  seconds (all its processes: the index build runs parallel workers) and its
  WAL bytes per 1M rows are printed beside them, with the checkpoints the server ran
  during the timed week (the untimed week ends with one, as the week between would).

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


def _stat(pid) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


_POSTMASTER = []


def _server_cpu(dest=None) -> float | None:
    """CPU seconds of the whole throwaway server so far (it runs on this machine): its
    postmaster's live children (the backend, its parallel index-build workers, the WAL
    writer, the checkpointer) plus the children it has reaped (ended backends and
    workers); None where /proc does not show it. The postmaster is found once, from
    ``dest``'s backend."""
    import os
    try:
        if not _POSTMASTER:
            pid = dest._conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            _POSTMASTER.append(int(_stat(pid)[1]))
        post = _POSTMASTER[0]
        total = sum(int(x) for x in _stat(post)[11:15])  # its own + reaped children's
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    f = _stat(d)
                except OSError:
                    continue
                if int(f[1]) == post:
                    total += int(f[11]) + int(f[12])
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


_WAL = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"
_CHECKPOINTS = "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"


def _wal(dest) -> int:
    return int(dest._conn.exec_driver_sql(_WAL).scalar())


def _settle(url: str) -> None:
    """What the week between two runs does: autovacuum has vacuumed and analysed last
    week's rows, and checkpoints have written them out. Done here at once, in every
    database of the server, so that neither runs during the timed run (a vacuum did,
    costing the first variant's refill seconds; a checkpoint that last week's WAL
    brought on did too)."""
    import sqlalchemy as sa
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        names = c.exec_driver_sql("SELECT datname FROM pg_database WHERE datallowconn"
                                  ).scalars().all()
    admin.dispose()
    for name in names:
        engine = sa.create_engine(url.rsplit("/", 1)[0] + "/" + name,
                                  isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.exec_driver_sql("VACUUM (ANALYZE)")
        engine.dispose()
    with admin.connect() as c:
        c.exec_driver_sql("CHECKPOINT")
    admin.dispose()


PG_WAYS = {  # how -> what it measures
    "copy": "binary COPY into the run's own partition, key built after, attached; the "
            "latest table rebuilt in id order and swapped in (the export)",
    "copy-by-key": "the same, the latest table's successor read through the history's key "
                   "and sorted (the previous stop's export; the export reads the run's "
                   "partition as it lies when its ids went in ascending)",
    "copy-in-place": "the same, the latest table refilled in place (TRUNCATE, INSERT, key: "
                     "the export before the swap)",
    "copy-plain": "binary COPY into the previous layout's one history table, blocks in id "
                  "order (the export two stops ago)",
    "copy-unsorted": "the same, blocks as they come (sorted by risk)",
    "copy-csv": "CSV COPY into the previous layout, row-by-row latest-table refill",
    "executemany": "SQLAlchemy executemany into the previous layout",
}


def run_pg_write(scores: str, url: str, chunksize: int, how: str) -> None:
    """Child process: write the score rows of a Parquet file into PostgreSQL, timing only
    the destination (begin, write chunks, the history's key and attach, commit); ``how``:
    one of :data:`PG_WAYS`. Also the CPU seconds of this process (encoding, sending), of
    the whole server (parsing, heap, index, WAL) and the WAL bytes of each phase."""
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
    if how == "copy-by-key":  # the successor read through the key, as the last stop did
        swap = pgbulk._swap_latest
        pgbulk._swap_latest = lambda *a: swap(*a[:5])
    elif how != "copy":  # earlier exports: the latest table refilled in place, not swapped
        pgbulk._swap_latest = lambda *a: False
    if how not in ("copy", "copy-by-key", "copy-in-place"):  # the previous layout: one plain history
        # table, written as before
        pgbulk.create_history = None
        pgbulk.RunPartition.open = classmethod(lambda cls, *a: None)
    if how == "copy-csv":  # the previous COPY format and row-by-row refill, for the ratio
        pgbulk.replace_latest_bulk = lambda *a, **_: replace_latest_rows(*a)
    if how == "copy-unsorted":  # COPY blocks in the order they come (before key_order)
        pgbulk.key_order = lambda ids: None
    as_of = frames[0]["as_of"].iloc[0]
    weeks = [as_of - pd.Timedelta(days=7), as_of] if how != "executemany" else [as_of]
    for i, week in enumerate(weeks):  # last week's run first (untimed): the latest
        if i:                              # table then holds it
            _settle(url)
        # the same model id and name in every way's database (each has its own): the ids
        # were the ways' names once, which sent up to 18 MB per 1M rows more in some ways
        run = {"as_of": week.date(), "model_id": "cox-0123456789ab", "model_name": "cox",
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
        marks = [(time.perf_counter(), _server_cpu(dest), time.process_time(), _wal(dest))]
        checkpoints = dest._conn.exec_driver_sql(_CHECKPOINTS).scalar()
        for f in frames:
            dest.write(f)
        dest._wait_copy()  # the last chunk's COPY runs in a thread: count it in
        marks.append((time.perf_counter(), _server_cpu(dest), time.process_time(), _wal(dest)))
        if dest._partition is not None:
            dest._partition.finish()  # the key built, the partition attached
        marks.append((time.perf_counter(), _server_cpu(dest), time.process_time(), _wal(dest)))
        dest.commit(run)  # refills the latest table from the history, logs the run, commits
        end = time.perf_counter()
    time.sleep(0.5)  # the backend ends with the connection: reaped, its CPU is counted
    s3 = _server_cpu()
    engine = sa.create_engine(url)
    with engine.connect() as c:
        w3 = int(c.exec_driver_sql(_WAL).scalar())
        checkpoints = c.exec_driver_sql(_CHECKPOINTS).scalar() - checkpoints
    engine.dispose()
    (t0, s0, c0, w0), (t1, s1, c1, w1), (t2, s2, c2, w2) = marks
    cpu = ({"server_cpu_copy": s1 - s0, "server_cpu_key": s2 - s1,
            "server_cpu_finish": s3 - s2, "client_cpu": c1 - c0}
           if None not in (s0, s1, s2, s3) else {})
    print(json.dumps({"rows": table.num_rows, "seconds": end - start,
                      "copy_seconds": t1 - t0, "key_seconds": t2 - t1,
                      "write_seconds": t2 - t0, "finish_seconds": end - t2,
                      "wal_copy": w1 - w0, "wal_key": w2 - w1, "wal_finish": w3 - w2,
                      "checkpoints": checkpoints, **cpu}))


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
                for how in ("copy", "copy-by-key", "copy-in-place", "copy-plain", "copy-unsorted", "copy-csv"):
                    pg[how] = child("--pg-write", scores, url, chunksize, how)
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
            print_pg(pg)


def print_pg(pg: dict) -> None:
    """The PostgreSQL figures: rows/s into the history (COPY, then the key and attach),
    with the latest-table refill and commit, server CPU and WAL per 1M rows."""
    rate = {k: v["rows"] / v["write_seconds"] for k, v in pg.items()}
    whole = {k: v["rows"] / v["seconds"] for k, v in pg.items()}
    new, old = rate["copy"], rate["copy-plain"]
    print(f"PostgreSQL score rows into the history table (COPY + key + attach): "
          f"{new:,.0f} rows/s ({pg['copy']['rows']:,} rows, target >= 200,000: "
          f"{new / 200_000:.2f}x) vs the previous layout {old:,.0f} rows/s "
          f"({new / old:.2f}x), CSV COPY {rate['copy-csv']:,.0f} "
          f"({new / rate['copy-csv']:.1f}x), executemany {rate['executemany']:,.0f} "
          f"({new / rate['executemany']:.0f}x)")
    print(f"  with the latest-table refill and commit (the whole write): {whole['copy']:,.0f} "
          f"rows/s (target >= 200,000: {whole['copy'] / 200_000:.2f}x) vs its successor read "
          f"through the key {whole['copy-by-key']:,.0f} "
          f"({whole['copy'] / whole['copy-by-key']:.2f}x) vs the latest table "
          f"refilled in place {whole['copy-in-place']:,.0f} "
          f"({whole['copy'] / whole['copy-in-place']:.2f}x) vs the previous layout "
          f"{whole['copy-plain']:,.0f} ({whole['copy'] / whole['copy-plain']:.2f}x)")
    print(f"  {'way':<14} {'rows/s':>9} {'COPY s':>7} {'key s':>6} {'refill s':>8} "
          f"{'server CPU/1M: COPY':>20} {'key':>5} {'refill':>6} "
          f"{'WAL MB/1M: COPY':>16} {'key':>5} {'refill':>6} {'client CPU/1M':>13} "
          f"{'checkpoints':>11}")
    for k, v in pg.items():
        m = 1e6 / v["rows"]
        cpu = (f"{v['server_cpu_copy'] * m:>20.2f} {v['server_cpu_key'] * m:>5.2f} "
               f"{v['server_cpu_finish'] * m:>6.2f}"
               if "server_cpu_copy" in v else f"{'':>20} {'':>5} {'':>6}")
        print(f"  {k:<14} {rate[k]:>9,.0f} {v['copy_seconds']:>7.2f} {v['key_seconds']:>6.2f} "
              f"{v['finish_seconds']:>8.2f} {cpu} {v['wal_copy'] * m / 1e6:>16.0f} "
              f"{v['wal_key'] * m / 1e6:>5.0f} {v['wal_finish'] * m / 1e6:>6.0f} "
              f"{v.get('client_cpu', 0) * m:>13.2f} {v['checkpoints']:>11}")
    print("  " + "; ".join(f"{k}: {w}" for k, w in PG_WAYS.items()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        run_one(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif sys.argv[1:2] == ["--floor"]:
        run_floor(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["--pg-write"]:
        run_pg_write(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main(*(int(a) for a in sys.argv[1:3]), *sys.argv[3:4])
