"""What watching the weekly job costs: drift counting while scoring, movers, the report.

A Cox model is fitted on a simulated SaaS business (its file carries the
training profile); the active accounts' features are repeated (new ids) to
``n`` rows. Measured in one run, so the ratios hold on any machine:

* read the features Parquet (the floor any scoring run pays);
* count every row in the training profile's bins (``ProfileCounts.add``, in
  chunks of 100,000 like the export), and the same per row of scoring;
* ``export_scores`` to Parquet with the profile and with it removed (twice
  each, alternating; the fastest counts): the drift check's share of a run;
* ``find_movers`` over 8 weekly runs of ``n`` accounts, and the HTML report.

Prints seconds and ratios; it is not a test.

Usage: python benchmarks/bench_monitor.py [n_rows]   (default 1,000,000)
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _time(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(n: int = 1_000_000) -> None:
    import tobmodel
    from tobmodel.export import export_scores
    from tobmodel.io.profile import ProfileCounts
    from tobmodel.io.writers import write_parquet
    from tobmodel.monitor.movers import find_movers
    from tobmodel.monitor.report import build_report, write_report
    from tobmodel.renewal import build_account_features, fit_renewal_model
    folder = Path(tempfile.mkdtemp(prefix="bench_monitor_"))
    features = build_account_features(tobmodel.simulate("saas", "maturity", n_accounts=5000,
                                                        seed=2026))
    model = fit_renewal_model(features, "cox")
    model.save(folder / "cox.json")
    bare = json.loads((folder / "cox.json").read_text())
    bare.pop("reference_profile")
    (folder / "cox_noprofile.json").write_text(json.dumps(bare))
    active = features.loc[features["active"]].reset_index(drop=True)
    big = active.iloc[np.arange(n) % len(active)].reset_index(drop=True)
    big["account_id"] = np.arange(1, n + 1, dtype=np.int64)
    write_parquet(big, folder / "features.parquet")
    print(f"{n:,} rows, {len(model.reference_profile_['features'])} profiled features")

    t_read, df = _time(lambda: pd.read_parquet(folder / "features.parquet"))
    p = np.random.default_rng(0).random(n)

    def count():
        c = ProfileCounts(model.reference_profile_)
        for start in range(0, n, 100_000):
            c.add(df.iloc[start:start + 100_000], p[start:start + 100_000])
        return c
    t_count, c = _time(count)
    print(f"read features Parquet        {t_read:7.2f} s")
    print(f"drift counting               {t_count:7.2f} s  ({t_count / t_read:.2f}x the read)")
    print(f"  largest PSI of the repeated training rows: {max(c.psi().values()):.2e}")

    spent = []  # time inside ProfileCounts.add during the export: the check's own cost
    add = ProfileCounts.add

    def timed_add(self, *a, **k):
        t = time.perf_counter()
        add(self, *a, **k)
        spent.append(time.perf_counter() - t)
    ProfileCounts.add = timed_add
    runs = {"with": [], "without": []}
    for _ in range(2):  # alternate, keep the fastest of each: a shared machine is noisy
        for which, name in (("without", "cox_noprofile.json"), ("with", "cox.json")):
            t, s = _time(lambda: export_scores(folder / name, folder / "features.parquet",
                                               folder / f"{which}.parquet", progress=False))
            runs[which].append(t)
            if which == "with":
                summary = s
    t_with, t_without = min(runs["with"]), min(runs["without"])
    ProfileCounts.add = add
    inside = sum(spent) / 2
    print(f"drift counting inside export {inside:7.2f} s per run  "
          f"({inside / t_with:.1%} of the run)")
    print(f"export_scores with profile   {t_with:7.2f} s  (fastest of 2)")
    print(f"export_scores without        {t_without:7.2f} s  (drift check adds "
          f"{(t_with - t_without) / t_without:+.1%} wall clock, noisy on a shared machine)")
    s = summary
    assert len(s.drift) > 0

    rng = np.random.default_rng(1)
    weeks = pd.date_range("2026-01-05", periods=8, freq="7D")
    base = rng.beta(2, 8, n)
    hist = pd.concat([pd.DataFrame({
        "as_of": w, "account_id": np.arange(1, n + 1), "model_name": "cox",
        "model_id": "cox-1", "horizon_months": 12, "risk_tier": "low", "reasons": "",
        "p_churn_horizon": np.clip(base + rng.normal(0, 0.01, n), 0, 1)}) for w in weeks],
        ignore_index=True)
    t_movers, m = _time(lambda: find_movers(hist, top=20, min_weeks=3))
    print(f"find_movers, 8 runs x {n:,}  {t_movers:7.2f} s  ({len(m):,} movers)")
    t_report, _ = _time(lambda: write_report(build_report(hist), folder / "report.html"))
    size = (folder / "report.html").stat().st_size
    print(f"report (build + HTML)        {t_report:7.2f} s  ({size / 1e3:,.0f} kB)")


if __name__ == "__main__":
    main(int(sys.argv[1].replace("_", "")) if len(sys.argv) > 1 else 1_000_000)
