"""Fit a lead model on 1.1 million leads, score and explain 1,000,000 leads; old vs new.

The leads come from the simulator's own lead generator
(``tobmodel.simulator.leads.simulate_leads``: the leads table and each lead's
true conversion probability, without the accounts' lifetimes), one seed for
training and another for scoring. The training leads are split in time: the
older ones (about 1.1 million) fit the model, the closed leads created after
them grade it (ROC AUC and calibration error on leads the model never saw).

Printed, in one run:

* fit: ``fit_lead_model`` (LightGBM, sigmoid calibration on the newest 20% of
  the closed leads, one fit) against the previous approach, measured here on the
  same leads: HistGradientBoostingClassifier in CalibratedClassifierCV
  (``cv=3, ensemble=False``: three fold fits plus one on all leads);
* with ``--against REV``: the same fit by tobmodel at git revision ``REV``
  (``git archive`` into a temporary directory, fitted in a child process on the
  same leads, just before this code's fit with the same threads): its time, model
  id and quality beside this code's;
* the scikit-learn Pipeline of the fitted model on first use (``model.pipeline_``:
  the calibration of the frozen LightGBM on the hold-out, which the fit leaves
  until asked for);
* quality of both on the later leads;
* scoring with and without reasons (per-feature tree contributions) and the
  previous "what if" reasons, timed on ``n_whatif`` leads and scaled to all;
* save/load, file size, peak memory (ru_maxrss);
* with ``--profile``: one more fit under cProfile, its time split into stages
  (checks and labels, encoders, LightGBM Dataset, boosting rounds, calibration
  on the hold-out, tree engine scores, reference profile,
  everything else), each in seconds and as a share of the profiled fit. The tree
  engine scores the calibrating leads (the training leads' scores are LightGBM's
  own, checked on 5,000 of them).

Usage: python benchmarks/bench_leads.py [n_leads [threads [n_whatif]]] [--no-baseline] [--profile]
[--against REV]
(defaults 1300000 simulated training leads, 1 thread (the machine is shared;
``fit_lead_model(n_jobs=...)``, ``tobmodel fit --threads``), 100000 what-if leads;
``--no-baseline`` skips the previous fit, which takes minutes). ``threads`` may
list several counts, e.g. ``1,2``: the new fit is timed with each (the same model
each time, checked) and the first count runs the rest. It is not a test.
"""
from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from tobmodel.leads import fit_lead_model, load_lead_model, make_lead_model, outcome_labels
from tobmodel.leads.evaluate import calibration_error
from tobmodel.leads.pipeline import MONOTONE_INCREASING
from tobmodel.leads.reasons import effects
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
    took = time.perf_counter() - t
    print(f"{label:<46s} {took:8.1f} s   peak {peak_mb():8,.0f} MB", flush=True)
    return out, took


def previous_pipeline(features):
    """The lead model before LightGBM: HGB in 3-fold CalibratedClassifierCV (ensemble=False)."""
    new = make_lead_model("hgb", calibration=None, features=features)
    prepare = new.named_steps["prepare"]
    cats = list(prepare.transformers[0][2])
    nums = [f for f in features if f not in cats]
    hgb = HistGradientBoostingClassifier(
        categorical_features=cats or None, max_leaf_nodes=31, random_state=0,
        monotonic_cst={f: 1 for f in nums if f in MONOTONE_INCREASING} or None)
    return Pipeline([("prepare", prepare),
                     ("classify", CalibratedClassifierCV(hgb, method="sigmoid", cv=3,
                                                         ensemble=False))])


# stages of a lead fit, by the function that does each (none runs inside another)
FIT_STAGES = [
    ("checks, labels, leakage", "tobmodel/leads/fit.py", "_prepare"),
    ("encoders (pipeline's prepare step)", "sklearn/compose/_column_transformer.py",
     "fit_transform"),
    ("LightGBM Dataset construction", "lightgbm/basic.py", "construct"),
    ("boosting rounds", "lightgbm/basic.py", "update"),
    ("calibration on the hold-out", "tobmodel/leads/engine.py", "calibrate_on"),
    ("tree engine: raw scores (hold-out, checks)", "tobmodel/trees.py", "prepare"),
    ("reference profile (drift)", "tobmodel/io/profile.py", "reference_profile"),
]


def profiled_fit(train, threads: int) -> None:
    """Fit once more under cProfile and print the time of each of :data:`FIT_STAGES`."""
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.runcall(fit_lead_model, train, "hgb", n_jobs=threads)
    total = time.perf_counter() - t
    stats = pstats.Stats(prof).stats
    print(f"fit profile ({total:.1f} s under cProfile, {threads} thread(s)):")
    rest = total
    for label, path, name in FIT_STAGES:
        took = sum(v[3] for (file, _, func), v in stats.items()
                   if func == name and file.replace("\\", "/").endswith(path))
        rest -= took
        print(f"  {label:<38s} {took:6.2f} s  {took / total:6.1%}")
    print(f"  {'everything else':<38s} {rest:6.2f} s  {rest / total:6.1%}")


# fits in a child process with another tobmodel on PYTHONPATH; prints one JSON line
_CHILD_FIT = """
import json, sys, time
import pandas as pd
from threadpoolctl import threadpool_limits
from tobmodel.leads import fit_lead_model
train, test = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
threads = int(sys.argv[3])
with threadpool_limits(threads, user_api="openmp"):
    t, c = time.perf_counter(), time.process_time()
    model = fit_lead_model(train, "hgb", n_jobs=threads)
    took, cpu = time.perf_counter() - t, time.process_time() - c
    p = model.predict_proba(test)
import tobmodel
print(json.dumps({"seconds": took, "cpu": cpu, "model_id": model.model_id, "p": p.tolist(),
                  "tobmodel": tobmodel.__file__}))
"""


def fit_at_revision(rev: str, train, test, threads: int) -> dict:
    """``fit_lead_model`` of tobmodel at git revision ``rev`` on the same leads, in a child process.

    Returns its wall and CPU seconds, model id and the probabilities of ``test``.
    """
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", rev, "tobmodel"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        # this run's own leads, read back by the child (Parquet keeps dtypes and attrs)
        data = [Path(tmp) / "train.parquet", Path(tmp) / "test.parquet"]
        train.to_parquet(data[0])
        test.to_parquet(data[1])
        env = {**os.environ, "PYTHONPATH": tmp}
        # run in the archive: "python -c" puts the working directory first on sys.path
        out = subprocess.run([sys.executable, "-c", _CHILD_FIT, *map(str, data), str(threads)],
                             env=env, cwd=tmp, capture_output=True, text=True,
                             check=True).stdout
        got = json.loads(out.strip().splitlines()[-1])
        if not got["tobmodel"].startswith(str(Path(tmp).resolve())) and \
                not got["tobmodel"].startswith(tmp):
            raise RuntimeError(f"the child fitted with {got['tobmodel']}, not tobmodel {rev}")
    got["p"] = np.asarray(got["p"])
    return got


class _WhatIf:
    """A tree state without contributions: reasons by the previous "what if" scores."""

    def __init__(self, state):
        self.raw, self.raw_with = state.raw, state.raw_with


def main(n: int = 1_300_000, threads="1", n_whatif: int = 100_000,
         baseline: bool = True, profile: bool = False, against: str | None = None) -> None:
    counts = [int(t) for t in str(threads).split(",")]
    threads = counts[0]
    print(f"lead benchmark: {n:,} simulated training leads, {threads} thread(s); fit also "
          f"with {counts[1:]}" if counts[1:] else
          f"lead benchmark: {n:,} simulated training leads, {threads} thread(s)")
    (leads, _), _ = timed("simulate training leads", lambda: simulated_leads(n, seed=1))
    (new, p_true), _ = timed("simulate 1,000,000 leads to score",
                             lambda: simulated_leads(1_000_000, seed=2))
    new, p_true = new.iloc[:1_000_000], p_true[:1_000_000]
    days = leads["created_date"].to_numpy()
    cutoff = np.sort(days)[min(int(0.85 * len(days)), 1_100_000)]
    train, later = leads[days < cutoff], leads[days >= cutoff]
    test, y_test, _ = outcome_labels(later)
    n_closed = int((train["status"] != "open").sum())
    print(f"  fit on {len(train):,} leads created before {str(cutoff)[:10]} ({n_closed:,} "
          f"closed); grade on {len(test):,} later closed leads; score {len(new):,}")
    t_fits = {}
    for k in counts[1:]:  # the other thread counts first: the model kept is the first count's
        with threadpool_limits(k, user_api="openmp"):
            other, t_fits[k] = timed(f"fit: LightGBM + sigmoid on newest 20%, {k} thread(s)",
                                     lambda: fit_lead_model(train, "hgb", n_jobs=k))
    if against:
        prev, _ = timed(f"fit by tobmodel {against} (child process), {threads} thread(s)",
                        lambda: fit_at_revision(against, train, test, threads))
        print(f"  {against}: fit {prev['seconds']:.1f} s ({prev['cpu']:.1f} s CPU), "
              f"model id {prev['model_id']}")
    with threadpool_limits(threads, user_api="openmp"):
        c_fit = time.process_time()
        model, t_fit = timed(f"fit: LightGBM + sigmoid on newest 20%, {threads} thread(s)",
                             lambda: fit_lead_model(train, "hgb", n_jobs=threads))
        cpu_fit = time.process_time() - c_fit
        print(f"  {model!r}")
        for k in counts[1:]:
            assert other.model_id == model.model_id and other.classifier_ == model.classifier_
        t_fits = {threads: t_fit, **t_fits}
        p_new = model.predict_proba(test)
        pipe, t_pipe = timed("  scikit-learn Pipeline on first use (pipeline_)",
                             lambda: model.pipeline_)
        gap = np.abs(pipe.predict_proba(test)[:, 1] - p_new).max()
        print(f"  its probabilities of the later leads within {gap:.1e} of the model's")
        if baseline:
            closed, y, _ = outcome_labels(train)
            old, t_old = timed("fit, previous: HGB + 3-fold CalibratedClassifierCV",
                               lambda: previous_pipeline(model.fit_config_["features"]).fit(closed, y))
            p_old = old.predict_proba(test)[:, 1]
        plain, t_plain = timed("score 1M, no reasons",
                               lambda: model.score(new, n_reasons=0, progress=False))
        scored, t_reasons = timed("score 1M with 3 reasons (contributions)",
                                  lambda: model.score(new, progress=False))
        Z = model.encoding_.encode(new.iloc[:n_whatif], warn=False)
        state = model.engine_.prepare(Z)
        p = model.calibrator_(state.raw)
        E_fast, t_fast = timed(f"  effects only, contributions, {n_whatif:,} leads",
                               lambda: effects(state, model.calibrator_, p, model.references_))
        E_old, t_whatif = timed(f"  effects only, previous what-if, {n_whatif:,} leads",
                                lambda: effects(_WhatIf(state), model.calibrator_, p,
                                                model.references_))
    assert np.array_equal(plain["p_convert"].to_numpy(), scored["p_convert"].to_numpy())
    with tempfile.TemporaryDirectory() as tmp:
        (path, _), _ = timed("save (JSON)", lambda: (model.save(Path(tmp) / "lead.json"), 0))
        size = path.stat().st_size
        again, _ = timed("load", lambda: load_lead_model(path))
    print(f"  model file {size / 1e6:.1f} MB; loaded model id {again.model_id} "
          f"(same as fitted: {again.model_id == model.model_id})")
    rows = [("new: LightGBM, newest-20% sigmoid", p_new)]
    if against:
        rows.append((f"tobmodel {against}", prev["p"]))
    if baseline:
        rows.append(("previous: HGB, 3-fold CV sigmoid", p_old))
    print(f"quality on {len(test):,} later closed leads (conversion rate {y_test.mean():.4f}):")
    for label, q in rows:
        print(f"  {label:<36s} ROC AUC {roc_auc_score(y_test, q):.4f}   calibration error "
              f"{calibration_error(y_test, q):.4f}   mean p {q.mean():.4f}")
    rho = spearmanr(scored["p_convert"], p_true).statistic
    print(f"  Spearman correlation of p_convert with the true probability (scored leads): "
          f"{rho:.3f}")
    top_fast = np.argmax(np.abs(E_fast), axis=1)
    top_old = np.argmax(np.abs(E_old), axis=1)
    big = np.abs(E_old) >= 0.005
    print(f"  reasons: same top feature as what-if for {np.mean(top_fast == top_old):.1%} of "
          f"leads; same sign for {np.mean(np.sign(E_fast[big]) == np.sign(E_old[big])):.1%} of "
          "effects >= 0.005")
    print("figures:")
    if baseline:
        print(f"  fit {t_fit:.1f} s vs previous {t_old:.1f} s: {t_old / t_fit:.1f}x faster; "
              f"target < 20 s ({len(train):,} leads): the fit takes {t_fit / 20:.1f}x the "
              f"target; the previous fit {t_old / 20:.1f}x")
    else:
        print(f"  fit {t_fit:.1f} s ({cpu_fit:.1f} s CPU): {t_fit / 20:.2f}x the target of 20 s")
    if against:
        same = prev["model_id"] == model.model_id
        print(f"  fit {t_fit:.1f} s vs {prev['seconds']:.1f} s by {against} (CPU {cpu_fit:.1f} s vs "
              f"{prev['cpu']:.1f} s): {prev['seconds'] / t_fit:.2f}x the speed, "
              f"{prev['cpu'] / cpu_fit:.2f}x in CPU; same model id: {same}; probabilities "
              f"within {np.abs(prev['p'] - p_new).max():.1e}")
    print(f"  scikit-learn Pipeline on first use {t_pipe:.1f} s (outside the fit)")
    for k, t in t_fits.items():
        if k != threads:
            print(f"  fit with {k} thread(s) {t:.1f} s ({t / 20:.2f}x the target; "
                  f"{t_fit / t:.2f}x the speed of {threads} thread(s); the same model)")
    scale = len(new) / max(n_whatif, 1)
    print(f"  score+reasons 1M {t_reasons:.1f} s (scoring alone {t_plain:.1f} s); "
          f"effects {t_fast * scale:.1f} s vs previous what-if {t_whatif * scale:.1f} s per 1M "
          f"(scaled from {n_whatif:,}): {t_whatif / max(t_fast, 1e-9):.0f}x faster; "
          f"target < 5 s per 1M: {t_fast * scale / 5:.2f}x the target")
    print(f"peak memory (ru_maxrss): {peak_mb():,.0f} MB")
    if profile:
        with threadpool_limits(threads, user_api="openmp"):
            profiled_fit(train, threads)


if __name__ == "__main__":
    argv = sys.argv[1:]
    against = argv[argv.index("--against") + 1] if "--against" in argv else None
    if against:
        del argv[argv.index("--against"):argv.index("--against") + 2]
    args = [a for a in argv if not a.startswith("--")]
    main(int(args[0]) if args else 1_300_000, args[1] if len(args) > 1 else "1",
         int(args[2]) if len(args) > 2 else 100_000, "--no-baseline" not in sys.argv,
         "--profile" in sys.argv, against)
