"""Your own data at scale: validate + fit + score on a Salesforce + Zendesk + Segment export.

Target (issue 11): an export of 100,000 accounts, 300,000 contracts, 1,000,000
tickets and 50,000,000 usage events validated, fitted (Cox) and scored in under
3 minutes and 3 GB peak memory on this 2-core machine. Prints its figures; it is
not a test.

Data: generated here with NumPy (the simulator is too slow at this size):
Account.csv and Contract.csv with the standard Salesforce field names and two
custom fields, zendesk/organizations.csv and tickets.csv, and the Segment
``tracks`` table as Parquet parts (a warehouse export: ``timestamp`` as a
Parquet UTC timestamp, ids and event names dictionary-encoded). Each of the
three steps runs in a fresh subprocess, as the three commands of the weekly
job would (``tobmodel validate``, ``fit``, ``score``), so each peak memory
(``ru_maxrss``) is its own. The baseline, measured in the same run, is reading
the same files with pandas / pyarrow and nothing else. Wall and CPU seconds
are printed, per step and for its events stage (DuckDB), with the load
average: on a shared machine the CPU seconds are the comparable figure.

Usage: python benchmarks/bench_frontdoor.py [scale [steps]]   (scale 1 = the full size; 0.02
to try; steps: comma-separated subset of validate,fit,score, default all three).
Each run starts with an empty events cache, so validate counts the events and fit
and score read its count, as a user's three commands on one export do;
``BENCH_EVENTS_CACHE=off`` counts them in every step.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
# validate + fit + score at scale 1 with the pandas event batches (issue 11's closing note;
# a figure of another run on the same machine, not a baseline measured here)
PREVIOUS = {"wall": 563, "peak_mb": 3_200}
FULL = {"accounts": 100_000, "contracts": 300_000, "tickets": 1_000_000,
        "events": 50_000_000}
AS_OF = np.datetime64("2025-12-31")
MAPPING = """\
format: tobmodel-mapping/1
extends: salesforce
sources:
  accounts:
    columns: {tier: Tier__c, seats: Seats__c}
    absent: [arr, price_per_seat_month, sales_overpromised, onboarding_completed]
"""
SEGMENT = """\
format: tobmodel-mapping/1
extends: segment
sources:
  events:
    key_events: [Report Exported]
"""


def _ids(prefix, n):
    return np.char.add(np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), 12)),
                       "IAQ").astype(object)


def make_export(folder: Path, scale: float, seed: int = 11) -> dict:
    rng = np.random.default_rng(seed)
    n_acc = int(FULL["accounts"] * scale)
    ids = _ids("001", n_acc)
    start0 = AS_OF - rng.integers(60, 6 * 365, n_acc).astype("timedelta64[D]")
    pd.DataFrame({
        "Id": ids, "Name": np.char.add("Account ", np.arange(n_acc).astype(str)),
        "Industry": rng.choice(["Retail", "Technology", "Healthcare", "Education", "Consulting"],
                               n_acc),
        "BillingCountry": rng.choice(["华北", "华东", "华南", "Germany", "United States"], n_acc),
        "AccountSource": rng.choice(["Web", "Referral", "Partner", "Trade Show"], n_acc),
        "OwnerId": _ids("005", n_acc) if False else rng.choice(_ids("005", 40), n_acc),
        "CreatedDate": pd.Series(start0 - np.timedelta64(20, "D")).dt.strftime(
            "%Y-%m-%dT09:00:00.000+0000"),
        "Tier__c": rng.choice(["Key Account", "Mid-Market", "Small Business"], n_acc,
                              p=[0.1, 0.3, 0.6]),
        "Seats__c": rng.integers(3, 300, n_acc),
    }).to_csv(folder / "Account.csv", index=False, lineterminator="\r\n",
              encoding="utf-8-sig")
    # contracts: chains of annual (some quarterly) terms; an account stops renewing at random
    n_con_target = int(FULL["contracts"] * scale)
    per = rng.poisson(1.6 * n_con_target / n_acc - 1, n_acc) + 1  # some start after as_of
    acc_of = np.repeat(np.arange(n_acc), per)
    k = np.arange(len(acc_of)) - np.repeat(np.cumsum(per) - per, per)
    term = np.where(np.repeat(rng.random(n_acc) < 0.2, per), 3, 12)
    start = (start0[acc_of].astype("datetime64[M]") + (k * term).astype("timedelta64[M]")
             ).astype("datetime64[D]") + (start0[acc_of] - start0[acc_of].astype(
                 "datetime64[M]").astype("datetime64[D]"))
    keep = start <= AS_OF
    acc_of, start, term = acc_of[keep], start[keep], term[keep]
    end = (start.astype("datetime64[M]") + term.astype("timedelta64[M]")).astype(
        "datetime64[D]") + (start - start.astype("datetime64[M]").astype("datetime64[D]")) - 1
    pd.DataFrame({"Id": _ids("800", len(start)), "AccountId": ids[acc_of],
                  "Status": "Activated", "StartDate": start.astype(str),
                  "EndDate": end.astype(str), "ContractTerm": term}
                 ).to_csv(folder / "Contract.csv", index=False, lineterminator="\r\n",
                          encoding="utf-8-sig")
    last_end = pd.Series(end).groupby(acc_of).max().reindex(range(n_acc)).to_numpy()
    stop = np.minimum(last_end.astype("datetime64[D]"), AS_OF)
    span = np.maximum((stop - start0).astype(np.int64), 1)
    z = folder / "zendesk"
    z.mkdir(exist_ok=True)
    pd.DataFrame({"id": np.arange(n_acc) + 360_000_000_000, "name": "org",
                  "external_id": ids}).to_csv(z / "organizations.csv", index=False)
    n_t = int(FULL["tickets"] * scale)
    ta = rng.integers(0, n_acc, n_t)
    created = start0[ta].astype("datetime64[s]") + (rng.random(n_t) * span[ta] * 86_400
                                                    ).astype("timedelta64[s]")
    solved = created + (rng.exponential(3, n_t) * 86_400).astype("timedelta64[s]")
    open_ = solved > AS_OF.astype("datetime64[s]")
    pd.DataFrame({"id": np.arange(n_t), "created_at": np.char.add(created.astype(str), "Z"),
                  "status": np.where(open_, "open", "solved"),
                  "organization_id": ta + 360_000_000_000,
                  "solved_at": np.where(open_, "", np.char.add(solved.astype(str), "Z"))}
                 ).to_csv(z / "tickets.csv", index=False)
    # events: Parquet parts of 5M rows, dictionary-encoded like a warehouse export
    seg = folder / "segment" / "tracks"
    seg.mkdir(parents=True, exist_ok=True)
    n_ev = int(FULL["events"] * scale)
    users_per = 8
    user_names = pa.array(np.char.add("u", np.arange(n_acc * users_per).astype(str)))
    acc_names = pa.array(ids.astype(str))
    kinds = pa.array(["Signed In", "Report Exported", "Page Viewed"])
    part, written = 5_000_000, 0
    while written < n_ev:
        m = min(part, n_ev - written)
        a = rng.integers(0, n_acc, m)
        t = start0[a].astype("datetime64[ms]") + (rng.random(m) * span[a] * 86_400_000
                                                  ).astype("timedelta64[ms]")
        u = a * users_per + rng.integers(0, users_per, m)
        e = rng.choice(3, m, p=[0.3, 0.1, 0.6])
        table = pa.table({
            "timestamp": pa.array(t, pa.timestamp("ms", tz="UTC")),
            "user_id": pa.DictionaryArray.from_arrays(pa.array(u.astype(np.int32)), user_names),
            "group_id": pa.DictionaryArray.from_arrays(pa.array(a.astype(np.int32)), acc_names),
            "event": pa.DictionaryArray.from_arrays(pa.array(e.astype(np.int32)), kinds)})
        pq.write_table(table, seg / f"part-{written // part:04d}.parquet")
        written += m
    (folder / "mapping.yaml").write_text(MAPPING)
    (folder / "segment.yaml").write_text(SEGMENT)
    return {"accounts": n_acc, "contracts": int(len(start)), "tickets": n_t, "events": n_ev}


STEP = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
folder, step = sys.argv[1], sys.argv[2]
maps = [folder + "/mapping.yaml", "zendesk", folder + "/segment.yaml"]
stage = {"events_s": 0.0, "events_cpu": 0.0}
if step != "baseline":  # time the events stage (DuckDB) inside the step
    import tobmodel.mapping.load as load
    inner = load._events
    def timed(*a, **k):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return inner(*a, **k)
        finally:
            stage["events_s"] += time.perf_counter() - t0
            stage["events_cpu"] += time.process_time() - c0
    load._events = timed
t = time.perf_counter()
if step == "baseline":
    import pandas as pd, pyarrow.parquet as pq, glob
    for f in ("Account.csv", "Contract.csv", "zendesk/organizations.csv", "zendesk/tickets.csv"):
        pd.read_csv(folder + "/" + f, dtype=str)
    n = sum(pq.read_table(p).num_rows for p in sorted(glob.glob(folder + "/segment/tracks/*")))
elif step == "validate":
    from tobmodel.cli import main
    assert main(["validate", "--input", folder, *sum((["--mapping", m] for m in maps), [])]) == 0
elif step == "fit":
    from tobmodel.cli import main
    assert main(["fit", "--data", folder, *sum((["--mapping", m] for m in maps), []),
                 "--penalizer", "0.1", "--output", folder + "/cox.json"]) == 0
elif step == "score":
    from tobmodel.cli import main
    assert main(["score", "--model", folder + "/cox.json", "--input", folder,
                 *sum((["--mapping", m] for m in maps), []), "--output",
                 folder + "/churn_scores.parquet", "--no-progress"]) == 0
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": ru.ru_utime + ru.ru_stime,
                  "peak_mb": ru.ru_maxrss / 1024, **stage}))
"""


def run_step(folder, step):
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", STEP, str(folder), step], capture_output=True,
                       text=True, cwd=folder, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin",
                            # a fresh events cache per run: validate counts, fit and score
                            # read its count (set "off" to count in every step)
                            "TOBMODEL_CACHE_DIR": os.environ.get("BENCH_EVENTS_CACHE") or
                            str(Path(folder) / ".events-cache")})
    if r.returncode:
        raise SystemExit(f"{step} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - t
    return out


def main(scale: float = 1.0, steps=("validate", "fit", "score")):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        sizes = make_export(folder, scale)
        print(f"export: {', '.join(f'{v:,} {k}' for k, v in sizes.items())} "
              f"(generated in {time.perf_counter() - t:.0f} s; scale {scale:g})")
        base = run_step(folder, "baseline")
        print(f"baseline (read the files, nothing else): {base['wall']:.1f} s wall, "
              f"{base['cpu']:.1f} s CPU, {base['peak_mb']:,.0f} MB peak")
        total, cpu, peak = 0.0, 0.0, 0.0
        for step in steps:
            r = run_step(folder, step)
            total += r["wall"]
            cpu += r["cpu"]
            peak = max(peak, r["peak_mb"])
            print(f"{step:<9} {r['wall']:6.1f} s wall (incl. start-up), {r['cpu']:6.1f} s CPU, "
                  f"{r['peak_mb']:,.0f} MB peak; of which events (DuckDB) "
                  f"{r['events_s']:.1f} s wall, {r['events_cpu']:.1f} s CPU; "
                  f"load average {os.getloadavg()[0]:.1f}")
        if scale == 1 and set(steps) == {"validate", "fit", "score"}:
            print(f"previous method (pandas event batches, measured at scale 1 before the "
                  f"DuckDB path): {PREVIOUS['wall']} s wall, {PREVIOUS['peak_mb']:,} MB peak "
                  f"-> {PREVIOUS['wall'] / total:.1f}x faster now")
        print(f"{' + '.join(steps)}: {total:.1f} s wall, {cpu:.1f} s CPU "
              f"({cpu / base['cpu']:.1f}x the baseline read's CPU), peak {peak:,.0f} MB "
              f"(target: < 180 s, < 3,072 MB at scale 1; CPU time is the figure that does not "
              f"depend on what else runs on the machine)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0,
         tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else ("validate", "fit", "score"))
