"""Scale-out figures: event-level features on DuckDB, scoring on Spark, streaming simulation.

At ``scale=1`` (the targets of issue 14):

* simulate 10,000,000 accounts with 1,000,000,000 usage events, streamed to
  Parquet parts in bounded memory (time and peak memory printed);
* features for the 10M accounts from the 1B events on DuckDB on this 2-core
  machine: account-months, ticket-months and the usage covariates of the
  active accounts, written to Parquet (target: < 10 min, < 4 GB peak);
* person-months (the dynamic model's training rows) of the simulated accounts on
  DuckDB (step ``person_months``, not in the default set): saas accounts with one
  contract each, made from the simulated accounts, with the features step's
  account-months; rows/s, CPU and peak memory;
* scoring 10M accounts with a Cox model on Spark ``local[2]`` against the
  single-machine ``export_scores`` on the same Parquet file (rows/s each, and
  rows per CPU-second of the process tree: the per-core comparison);
* how large a sample the Cox model needs: fits on samples of a 20,000-account
  business, scored on held-out active accounts against the fit on all of them.

Peak memory is the proportional set size of this process and its descendants
(the Spark JVM and its Python workers included), sampled every 0.5 s; CPU
seconds of the same tree (less the sampling thread's) give per-core throughput,
which a busy shared machine distorts less than wall time. The Spark step splits
its CPU into the JVM (and its JIT compiler and GC threads), the Python workers
and the driver.
Prints its figures; it is not a test.

Usage: python benchmarks/bench_scale.py [scale [steps]]
(scale 1 = 10M accounts / 1B events, 0.1 = 1M / 100M; steps: comma-separated
subset of simulate,features,person_months,score,sample; default all but
person_months)

``BENCH_SCALE_DATA=folder``: keep the simulated accounts, events and tickets
in ``folder`` and reuse them on the next run (the simulate step is then
skipped when the folder holds a complete simulation of the same size; its
row counts are checked from the Parquet footers).
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_export import prepare  # noqa: E402  (features repeated to n rows, Cox model)
from bench_simulate import TreeMemory  # noqa: E402

AS_OF = "2025-12-31"


def _descendants(pid: int) -> list[int]:
    """All live descendants. Children are listed per thread: the JVM starts Spark's
    Python workers from a thread other than its main one."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = []
        try:
            threads = os.listdir(f"/proc/{p}/task")
        except OSError:
            threads = []
        for t in threads:
            try:
                kids += [int(k) for k in Path(f"/proc/{p}/task/{t}/children").read_text().split()]
            except OSError:
                pass
        out += kids
        todo += kids
    return out


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its children that ended and were waited for
    (Spark's Python daemon reaps the workers it forked)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_cpu(sampler=None) -> float:
    """CPU seconds of this process and all its live descendants (Spark's JVM, its workers),
    less the memory ``sampler`` thread's own."""
    c = cpu_by_process(sampler)
    return c["driver"] + c["jvm"] + c["python workers"]


def cpu_by_process(sampler=None) -> dict:
    """CPU seconds of this process (``driver``; the memory ``sampler`` thread's excluded:
    reading a JVM's smaps costs the reader), the JVMs (``jvm``, of which ``jit`` and ``gc``
    in its compiler and collector threads) and the other descendants (``python workers``)."""
    me = os.getpid()
    own = _cpu_seconds(me) - (_thread_seconds(me, sampler.tid) if sampler is not None else 0)
    out = {"driver": own, "jvm": 0.0, "python workers": 0.0, "jit": 0.0, "gc": 0.0}
    for p in _descendants(me):
        try:
            java = Path(f"/proc/{p}/comm").read_text().strip() == "java"
        except OSError:
            continue
        out["jvm" if java else "python workers"] += _cpu_seconds(p)
        if java:
            for kind, seconds in _jvm_threads(p).items():
                out[kind] += seconds
    return out


def _thread_seconds(pid: int, tid) -> float:
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, TypeError):
        return 0.0


def _jvm_threads(pid: int) -> dict:
    """CPU seconds of a JVM's JIT compiler and garbage collector threads."""
    out = {"jit": 0.0, "gc": 0.0}
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in threads:
        try:
            stat = Path(f"/proc/{pid}/task/{t}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        kind = "jit" if "Compiler" in name else "gc" if ("GC" in name or name.startswith("G1")) \
            else None
        if kind:
            fields = stat.rsplit(")", 1)[1].split()
            out[kind] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


class DeepTreeMemory(TreeMemory):
    """TreeMemory over all descendants: Spark's Python workers are the JVM's children.

    Sampled every 0.5 s (a JVM's smaps are costly to read); ``tid`` is the sampling
    thread, whose CPU the figures leave out."""

    def __init__(self, every: float = 0.5):
        self.tid = None
        super().__init__(every)

    def run(self):
        self.tid = threading.get_native_id()
        me = os.getpid()
        while not self._done.is_set():
            self.peak = max(self.peak, sum(self._pss(p) for p in [me, *_descendants(me)]))
            self._done.wait(self.every)


class Stage:
    """Wall time, CPU time and peak memory of one step."""

    def __init__(self, memory: TreeMemory, name: str):
        self.memory, self.name = memory, name

    def __enter__(self):
        self.memory.peak = 0
        self.t0, self.c0 = time.perf_counter(), tree_cpu(self.memory)
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        # CPU of the process tree (DuckDB's threads, Spark's JVM and workers): the
        # per-core figure, which a busy shared machine distorts less than wall time
        self.cpu = tree_cpu(self.memory) - self.c0
        self.peak_gb = self.memory.peak / 2**30


def simulate(folder: Path, n_accounts: int, n_events: int, mem) -> dict:
    from tobmodel.simulator.events import simulate_events_to_parquet
    with Stage(mem, "simulate") as st:
        out = simulate_events_to_parquet(folder, n_accounts, n_events, seed=2026, as_of=AS_OF)
    size = sum(p.stat().st_size for p in out["events"].glob("*.parquet")) / 2**30
    print(f"simulate events: {n_accounts:,} accounts, {out['n_events']:,} events, "
          f"{out['n_tickets']:,} tickets in {st.seconds:.1f} s "
          f"({out['n_events'] / st.seconds / 1e6:.1f} M events/s; CPU {st.cpu:.0f} s), "
          f"peak {st.peak_gb:.2f} GB, "
          f"events on disk {size:.1f} GB")
    return out


def reuse(folder: Path, n_accounts: int, n_events: int) -> dict | None:
    """The simulation already in ``folder`` when it is complete and of this size, else None."""
    import pyarrow.parquet as pq
    paths = {"accounts": folder / "accounts.parquet", "events": folder / "events",
             "tickets": folder / "tickets"}
    if not all(p.exists() for p in paths.values()):
        return None
    rows = {k: sum(pq.read_metadata(f).num_rows for f in sorted(p.glob("*.parquet")))
            if p.is_dir() else pq.read_metadata(p).num_rows for k, p in paths.items()}
    if (rows["accounts"], rows["events"]) != (n_accounts, n_events):
        print(f"  {folder} holds {rows['accounts']:,} accounts and {rows['events']:,} events, "
              "not this scale: simulating again")
        return None
    print(f"simulate events: reused {folder} ({n_accounts:,} accounts, {n_events:,} events, "
          f"{rows['tickets']:,} tickets; BENCH_SCALE_DATA)")
    return {**paths, "n_accounts": n_accounts, "n_events": n_events,
            "n_tickets": rows["tickets"]}


def features(data: dict, folder: Path, mem, memory_limit: str = "3GB") -> None:
    from tobmodel.engines.connect import duckdb_connection
    from tobmodel.engines.events import ticket_months, usage_features, write_account_months
    con = duckdb_connection(memory_limit, temp_directory=folder / "spill")
    with Stage(mem, "features") as st:
        # one range of accounts at a time when the files keep accounts apart (they do here)
        write_account_months(str(data["events"]), folder / "usage.parquet", as_of=AS_OF,
                             con=con)
        t_months, c_months = time.perf_counter() - st.t0, tree_cpu() - st.c0
        support = ticket_months(str(data["tickets"]), as_of=AS_OF, con=con)
        active = con.sql(f"SELECT account_id, seats, first_contract_date FROM "
                         f"read_parquet('{data['accounts']}') WHERE churned_at IS NULL")
        feats = usage_features(str(folder / "usage.parquet"), support, active, as_of=AS_OF,
                               con=con)
        con.sql(f"COPY ({feats.sql_query()}) TO '{folder / 'usage_features.parquet'}' "
                "(FORMAT parquet)")
    n_months = con.sql(f"SELECT COUNT(*) FROM read_parquet('{folder / 'usage.parquet'}')"
                       ).fetchall()[0][0]
    n_feat = con.sql(f"SELECT COUNT(*) FROM read_parquet('{folder / 'usage_features.parquet'}')"
                     ).fetchall()[0][0]
    print(f"features on DuckDB (memory_limit {memory_limit}): {data['n_events']:,} events -> "
          f"{n_months:,} account-months in {t_months:.1f} s (CPU {c_months:.0f} s); "
          f"+ tickets -> usage features of "
          f"{n_feat:,} active accounts; total {st.seconds:.1f} s "
          f"({data['n_events'] / st.seconds / 1e6:.1f} M events/s), peak {st.peak_gb:.2f} GB; "
          f"CPU {st.cpu:.0f} s = {data['n_events'] / st.cpu / 1e6:.2f} M events per core-second")
    con.close()


def _person_month_tables(data: dict, folder: Path, con) -> dict:
    """saas accounts and one contract each, from the simulated accounts (churn dated where
    events stop); usage and support from the features step (computed here if absent)."""
    from tobmodel.engines.events import ticket_months, write_account_months
    from tobmodel.schema import INDUSTRIES
    usage, support = folder / "usage.parquet", folder / "support.parquet"
    if not usage.exists():
        write_account_months(str(data["events"]), usage, as_of=AS_OF, con=con)
    if not support.exists():
        rel = ticket_months(str(data["tickets"]), as_of=AS_OF, con=con)
        con.sql(f"COPY ({rel.sql_query()}) TO '{support}' (FORMAT parquet)")
    industries = "[" + ", ".join(f"'{i}'" for i in INDUSTRIES) + "]"
    con.sql(f"""COPY (
      SELECT account_id, 'saas' AS business_type, tier,
             {industries}[account_id % {len(INDUSTRIES)} + 1] AS industry,
             first_contract_date,
             CASE WHEN account_id % 3 = 0 THEN 'annual' ELSE 'monthly' END AS contract_term,
             seats, CAST(40 + account_id % 97 AS DOUBLE) AS price_per_seat_month,
             CAST(seats * (40 + account_id % 97) * 12 AS DOUBLE) AS arr,
             account_id % 7 = 0 AS sales_overpromised, account_id % 2 = 0 AS onboarding_completed
      FROM read_parquet('{data["accounts"]}')) TO '{folder / "pm_accounts.parquet"}'
      (FORMAT parquet)""")
    con.sql(f"""COPY (
      SELECT account_id, first_contract_date AS start_date,
             CASE WHEN churned_at IS NULL THEN DATE '2026-12-31'
                  ELSE GREATEST(CAST(churned_at AS DATE), first_contract_date + 1) END
               AS end_date,
             CAST(seats * (40 + account_id % 97) * 12 AS DOUBLE) AS arr,
             CASE WHEN churned_at IS NULL THEN 'open' ELSE 'churned' END AS outcome
      FROM read_parquet('{data["accounts"]}')) TO '{folder / "pm_contracts.parquet"}'
      (FORMAT parquet)""")
    return {"accounts": str(folder / "pm_accounts.parquet"),
            "contracts": str(folder / "pm_contracts.parquet"),
            "usage": str(usage), "support": str(support)}


def person_month_rows(data: dict, folder: Path, mem, memory_limit: str = "3GB") -> None:
    """Person-months of the simulated accounts on DuckDB: rows/s and peak memory."""
    from tobmodel.engines.connect import duckdb_connection
    from tobmodel.engines.person_months import person_months
    con = duckdb_connection(memory_limit, temp_directory=folder / "spill")
    t0 = time.perf_counter()
    tables = _person_month_tables(data, folder, con)
    prep = time.perf_counter() - t0
    n_months = con.sql(f"SELECT COUNT(*) FROM read_parquet('{tables['usage']}')"
                       ).fetchall()[0][0]
    out = folder / "person_months.parquet"
    with Stage(mem, "person_months") as st:
        rel = person_months(tables, as_of=AS_OF, con=con)
        con.sql(f"COPY ({rel.sql_query()}) TO '{out}' (FORMAT parquet)")
    n = con.sql(f"SELECT COUNT(*) FROM read_parquet('{out}')").fetchall()[0][0]
    con.close()
    print(f"person-months on DuckDB (memory_limit {memory_limit}; tables made in {prep:.0f} s): "
          f"{data['n_accounts']:,} accounts, {n_months:,} account-months -> {n:,} rows in "
          f"{st.seconds:.1f} s = {n / st.seconds:,.0f} rows/s, peak {st.peak_gb:.2f} GB "
          "(up to the cap, spilling beyond it; about 128 MB per DuckDB thread is the least "
          "it runs in); "
          f"CPU {st.cpu:.0f} s = {n / st.cpu:,.0f} rows per core-second")


def score(folder: Path, n: int, mem) -> None:
    from tobmodel.engines.connect import spark_session
    from tobmodel.engines.spark_scoring import score_on_spark
    from tobmodel.export import export_scores
    model, source = prepare(folder, n)
    with Stage(mem, "single") as one:
        s1 = export_scores(model, source, folder / "scores_local.parquet", progress=False)
    print(f"scoring on one machine (export_scores, chunks of 100,000): {s1.read:,} rows in "
          f"{one.seconds:.1f} s = {s1.read / one.seconds:,.0f} rows/s, peak {one.peak_gb:.2f} GB; "
          f"CPU {one.cpu:.0f} s = {s1.read / one.cpu:,.0f} rows per core-second")
    with Stage(mem, "spark") as sp:
        spark = spark_session("local[2]", conf={"spark.driver.memory": "3g",
                                                "spark.sql.shuffle.partitions": "8"})
        t_start = time.perf_counter() - sp.t0
        c0 = cpu_by_process(mem)
        s2 = score_on_spark(str(model), str(source), str(folder / "scores_spark.parquet"),
                            spark=spark)  # partitions: the session's parallelism (2)
        c1 = cpu_by_process(mem)
    spark.stop()
    secs = sp.seconds - t_start
    split = {k: c1[k] - c0[k] for k in c1}
    print(f"  Spark CPU (JVM and Python workers, session start included) {sp.cpu:.0f} s = "
          f"{s2.read / sp.cpu:,.0f} rows per core-second; of the scoring (session start "
          f"excluded): JVM {split['jvm']:.1f} s (JIT compiler {split['jit']:.1f} s, GC "
          f"{split['gc']:.1f} s), Python workers {split['python workers']:.1f} s, driver "
          f"{split['driver']:.1f} s")
    print(f"scoring on Spark local[2] (mapInPandas): {s2.read:,} rows in {secs:.1f} s "
          f"(+ {t_start:.1f} s session start) = {s2.read / secs:,.0f} rows/s "
          f"({s2.read / secs / 2:,.0f} rows/s per core), peak {sp.peak_gb:.2f} GB; "
          f"{s2.read / secs / (s1.read / one.seconds):.2f}x the single-machine rate")
    same = (s1.scored, s1.rejected, s1.rejects_by_reason) == (s2.scored, s2.rejected,
                                                             s2.rejects_by_reason)
    print(f"  same counts and reasons as one machine: {same}; drift figures counted on Spark: "
          f"{len(s2.drift)} (one machine: {len(s1.drift)})")
    scoring_cpu = split["jvm"] + split["python workers"] + split["driver"]
    print(f"  per core: Spark {s2.read / sp.cpu:,.0f} vs one machine {s1.read / one.cpu:,.0f} "
          f"rows per CPU-second = {(s2.read / sp.cpu) / (s1.read / one.cpu):.2f}x "
          "(CPU of the whole process tree: JVM, Python workers, session start); "
          f"session start excluded {s2.read / scoring_cpu:,.0f} = "
          f"{(s2.read / scoring_cpu) / (s1.read / one.cpu):.2f}x")
    print(f"  load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def sample(mem) -> None:
    import pandas as pd

    import tobmodel
    from tobmodel.renewal import build_account_features, fit_renewal_model
    with Stage(mem, "sample") as st:
        f = build_account_features(tobmodel.simulate("saas", n_accounts=20_000, seed=7))
        rng = np.random.default_rng(0)
        active = np.flatnonzero(f["active"].to_numpy())
        hold = rng.choice(active, size=min(3000, len(active) // 3), replace=False)
        train = f.drop(index=hold).reset_index(drop=True)
        test = f.iloc[hold].reset_index(drop=True)
        full = fit_renewal_model(train, "cox").score(test)["p_churn_horizon"].to_numpy()
        rows = []
        for n in (500, 1000, 2000, 5000, 10_000):
            if n >= len(train):
                continue
            sub = train.iloc[rng.choice(len(train), n, replace=False)].reset_index(drop=True)
            try:
                p = fit_renewal_model(sub, "cox", penalizer=0.01).score(test)
                p = p["p_churn_horizon"].to_numpy()
            except ValueError as e:  # e.g. a category level missing from a small sample
                rows.append((n, np.nan, np.nan, str(e)[:60]))
                continue
            rank = pd.Series(p).corr(pd.Series(full), method="spearman")
            rows.append((n, float(np.mean(np.abs(p - full))), float(rank), ""))
    print(f"sample size for the Cox model (fit on n of {len(train):,} accounts, scored on "
          f"{len(test):,} held-out active accounts vs the fit on all; {st.seconds:.0f} s):")
    for n, mad, rank, note in rows:
        print(f"  n={n:>6,}: mean |p_churn_12m - full| {mad:.4f}, rank correlation "
              f"{rank:.3f} {note}")


def main(scale: float = 1.0, steps: str = "simulate,features,score,sample") -> None:
    wanted = set(steps.split(","))
    n_accounts, n_events = int(10_000_000 * scale), int(1_000_000_000 * scale)
    mem = DeepTreeMemory()
    print(f"bench_scale: scale {scale:g} ({n_accounts:,} accounts, {n_events:,} events)")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        if wanted & {"simulate", "features", "person_months"}:
            keep = os.environ.get("BENCH_SCALE_DATA")
            where = Path(keep) if keep else folder / "events"
            data = reuse(where, n_accounts, n_events) if keep else None
            if data is None:
                data = simulate(where, n_accounts, n_events, mem)
            if "features" in wanted:
                features(data, folder, mem)
                if scale < 1:
                    print("  targets (< 10 min, < 4 GB) are for scale 1: time grows about "
                          "linearly with events, memory is capped by DuckDB's limit")
            if "person_months" in wanted:
                person_month_rows(data, folder, mem)
        if "score" in wanted:
            score(folder, n_accounts, mem)
        if "sample" in wanted:
            sample(mem)
    mem.stop()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0,
         *(sys.argv[2:3] if len(sys.argv) > 2 else []))
