"""Train a lead model on 1,000,000 leads and score 1,000,000 leads.

The leads come from the simulator's own lead generator
(``tobmodel.simulator.leads.simulate_leads``: the leads table and each lead's
true conversion probability, without the accounts' lifetimes), one seed for
training and another for scoring. Prints times, peak memory (ru_maxrss) and
ROC AUC against the truth; it is not a test.

Usage: python benchmarks/bench_leads.py [n_leads [threads [kind]]]
(defaults 1000000, 1 OpenMP thread (the machine is shared), hgb)
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from tobmodel.leads import fit_lead_model, load_lead_model
from tobmodel.simulator import params
from tobmodel.simulator.leads import simulate_leads


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def simulated_leads(n: int, seed: int, business_type="saas", stage="maturity"):
    """``n`` leads (plus the loss pool's returns) created over the stage's history."""
    as_of = np.datetime64("2025-12-31", "D")
    start = (as_of.astype("datetime64[M]") - params.STAGE[stage]["history_months"] + 1)
    leads, p_true, _ = simulate_leads(np.random.default_rng(seed), business_type, stage, n,
                                      start.astype("datetime64[D]"), as_of)
    return leads, p_true


def timed(label, fn):
    t = time.perf_counter()
    out = fn()
    print(f"{label:<42s} {time.perf_counter() - t:8.1f} s   peak {peak_mb():8,.0f} MB",
          flush=True)
    return out


def main(n: int = 1_000_000, threads: int = 1, kind: str = "hgb") -> None:
    print(f"lead benchmark: {n:,} training and {n:,} scoring leads, {kind}, "
          f"{threads} OpenMP thread(s)")
    train, _ = timed("simulate training leads", lambda: simulated_leads(n, seed=1))
    new, p_true = timed("simulate leads to score", lambda: simulated_leads(n, seed=2))
    new, p_true = new.iloc[:n], p_true[:n]
    n_closed = int((train["status"] != "open").sum())
    print(f"  {len(train):,} training leads ({n_closed:,} closed), scoring {len(new):,}")
    with threadpool_limits(threads, user_api="openmp"):
        model = timed(f"fit {kind} + sigmoid calibration", lambda: fit_lead_model(train, kind))
        print(f"  {model!r}")
        plain = timed("score, no reasons", lambda: model.score(new, n_reasons=0, progress=False))
        scored = timed("score with 3 reasons", lambda: model.score(new, progress=False))
    assert np.array_equal(plain["p_convert"].to_numpy(), scored["p_convert"].to_numpy())
    with tempfile.TemporaryDirectory() as tmp:
        path = timed("save (JSON)", lambda: model.save(Path(tmp) / "lead.json"))
        size = path.stat().st_size
        again = timed("load", lambda: load_lead_model(path))
    print(f"  model file {size / 1e6:.1f} MB")
    rho = spearmanr(scored["p_convert"], p_true).statistic
    print(f"  Spearman correlation of p_convert with the true probability: {rho:.3f}")
    closed = (new["status"] != "open").to_numpy()
    y = (new["status"] == "converted").to_numpy()[closed]
    print(f"  ROC AUC on closed scored leads: model "
          f"{roc_auc_score(y, scored['p_convert'].to_numpy()[closed]):.3f}, oracle "
          f"{roc_auc_score(y, p_true[closed]):.3f}")
    print(f"  loaded model id {again.model_id} "
          f"(same as fitted: {again.model_id == model.model_id})")
    print(f"peak memory (ru_maxrss): {peak_mb():,.0f} MB")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 1_000_000, int(args[1]) if len(args) > 1 else 1,
         args[2] if len(args) > 2 else "hgb")
