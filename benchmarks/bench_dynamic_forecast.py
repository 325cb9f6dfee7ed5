"""Does forecasting the covariates close the dynamic model's gap to the oracle?

The shipped projection holds behaviour at its last value. ``bench_dynamic_headroom.py``
showed that most of the gap is where health goes next, and that with the *true* health
a trend carried forward gains 0.012-0.019 of Uno's C. This script measures the two
ways of forecasting from what the data show, on the same fit and test accounts as
``bench_dynamic.py`` (10,000 accounts, fit 18 months before the as-of, Uno's C and
calibration error at 12 months):

* ``held``: the shipped model (behaviour held at its last value);
* ``drift``: the behaviour part of each group's linear predictor, ``u = x @ beta``, is
  forecast ``j`` months ahead by least squares of ``u(t + j) - u(t)`` on the design
  row at ``t`` (every design column, ridge 1 on standardised columns), fitted on the
  training person-months of accounts still present ``j`` months later (so it is the
  drift among survivors, which the hazard at ``t + j`` conditions on), for
  ``j = 1 .. 11``; the projected log-odds are ``logit h + drift``;
* ``drift + spread``: the same, and the forecast's residual spread ``s_j`` taken into
  the expected hazard (logistic-normal approximation: log-odds divided by
  ``sqrt(1 + pi s_j^2 / 8)``);
* ``per months-ahead``: one hazard per months-ahead ``j = 0 .. 11``, fitted on pairs
  (covariates of month ``t``, clocks and outcome of month ``t + j``): no assumption
  about the future covariates at all (direct multi-step, as landmark models do).

Paired differences against ``held`` on the same accounts are printed per seed and
averaged. None of these is in the product (see ``docs/dynamic.md``).

    nice -n 10 python benchmarks/bench_dynamic_forecast.py                 # 3 types x 3 seeds
    python benchmarks/bench_dynamic_forecast.py --types saas --seeds 1 --accounts 3000
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import tobmodel
from tobmodel.renewal import evaluate as EV
from tobmodel.renewal.dynamic import DynamicHazardModel, _clocks, _is
from tobmodel.renewal.person_months import current_month, outcome_known, person_months

WINDOW, MONTHS = 18, 12


def _behaviour_part(m, rows):
    """Design matrix of ``rows``, each row's group, and ``u = x @ beta`` without clocks."""
    X = m._matrix(rows)
    inv, keys = m._group_index(rows)
    W = np.array([c["coef"] for c in m._group_coefs(keys)]).T.copy()   # columns x groups
    W[[m.columns_.index(c) for c in m.clock_columns_]] = 0.0
    return X, inv, keys, np.einsum("ij,ji->i", X, W[:, inv])


def _later(pm, j):
    """Per row of ``pm``: the position of the same account's row ``j`` months later (-1)."""
    idx = pd.MultiIndex.from_arrays([pm["account_id"].to_numpy(), pm["month_index"].to_numpy()])
    return idx.get_indexer(pd.MultiIndex.from_arrays(
        [pm["account_id"].to_numpy(), pm["month_index"].to_numpy() + j]))


def fit_drift(m, pm, lags=MONTHS - 1, ridge=1.0) -> dict:
    """Group key -> (coefficients (1 + columns) x lags, residual spread per lag)."""
    X, inv, keys, u = _behaviour_part(m, pm)
    later = [_later(pm, j) for j in range(1, lags + 1)]
    Xc = np.column_stack([np.ones(len(X)), X])
    out = {}
    for g, key in enumerate(keys):
        rows = np.flatnonzero(inv == g)
        A = Xc[rows]
        mu, sd = A.mean(axis=0), A.std(axis=0)
        mu[0], sd[0] = 0.0, 1.0
        sd[sd == 0] = 1.0
        G, spread = np.zeros((Xc.shape[1], lags)), np.zeros(lags)
        for j in range(lags):
            pos = later[j][rows]
            ok = pos >= 0
            if ok.sum() < 50:   # too few survivors this far ahead: the previous lag's
                G[:, j], spread[j] = G[:, j - 1] if j else 0.0, spread[j - 1] if j else 0.0
                continue
            Z = (A[ok] - mu) / sd
            d = u[pos[ok]] - u[rows[ok]]
            pen = ridge * np.eye(Z.shape[1])
            pen[0, 0] = 0.0
            w = np.linalg.solve(Z.T @ Z + pen, Z.T @ d) / sd
            w[0] -= mu @ w
            G[:, j], spread[j] = w, np.std(d - A[ok] @ w)
        out[key] = (G, spread)
    return out


def drift_curves(m, now, drift, spread=False) -> pd.DataFrame:
    """P(churn within t), t = 1..12, with the forecast drift added to the held log-odds."""
    H = m.project_hazards(now, MONTHS)
    X, inv, keys, _ = _behaviour_part(m, now)
    Xc = np.column_stack([np.ones(len(X)), X])
    D, V = np.zeros_like(H), np.zeros_like(H)
    for g, key in enumerate(keys):
        if key in drift:
            r = inv == g
            G, s = drift[key]
            D[r, 1:] = Xc[r] @ G           # month j ahead: drift over j months
            V[r, 1:] = s ** 2
    eta = np.log(np.clip(H, 1e-12, 1)) - np.log1p(-np.clip(H, 0, 1 - 1e-12)) + D
    if spread:
        eta = eta / np.sqrt(1 + np.pi * V / 8)
    return _curves(m, now, np.where(H > 0, 1 / (1 + np.exp(-eta)), 0.0))


def per_months_ahead_curves(m, pm, known, now) -> pd.DataFrame:
    """One hazard per months-ahead j, fitted on (covariates at t, clocks and outcome at
    t + j); the projection's month j uses the hazard of j."""
    X = m._matrix(pm)
    keys_all = m._group_keys(pm)
    clock = [m.columns_.index(c) for c in m.clock_columns_]
    scale = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    y = pm["churn"].to_numpy()
    at_risk = pm["at_risk"].to_numpy(bool) & known
    Xn = m._matrix(now)
    inv, keys = m._group_index(now)
    k0, t0 = now["month_index"].to_numpy(float), now["tenure_at_month_start"].to_numpy(float)
    annual = _is(now["contract_term"], "annual")
    over = now["sales_overpromised"].to_numpy(float)
    H = np.zeros((len(now), MONTHS))
    for j in range(MONTHS):
        pos = _later(pm, j)
        ok = pos >= 0
        ok[ok] &= at_risk[pos[ok]]
        src, tgt = np.flatnonzero(ok), pos[ok]
        Xj = X[src].copy()
        Xj[:, clock] = X[tgt][:, clock]            # the clocks of the month predicted
        coef, _ = m._fit_groups(Xj, y[tgt], keys_all[src], scale)
        Xi = Xn.copy()
        der = _clocks(t0 + j, k0 + j, annual, over)
        for c in m.clock_columns_:
            Xi[:, m.columns_.index(c)] = der[c]
        eta = np.empty(len(now))
        for g, c in enumerate(m._group_coefs(keys, coef)):
            r = inv == g
            eta[r] = c["intercept"] + Xi[r] @ c["coef"]
        H[:, j] = np.where(~annual | ((k0 + j) % 12 == 0), 1 / (1 + np.exp(-eta)), 0.0)
    return _curves(m, now, H)


def _curves(m, now, H) -> pd.DataFrame:
    S = np.cumprod(1 - H, axis=1) * (1 - m._already_churned(now))[:, None]
    return pd.DataFrame({float(t): 1 - S[:, t - 1] for t in range(1, MONTHS + 1)},
                        index=pd.Index(now["account_id"].to_numpy(), name="account_id"))


def run(btype, n_accounts, seed, n_boot) -> pd.DataFrame:
    sim = tobmodel.simulate(btype, n_accounts=n_accounts, seed=seed)
    cutoff = pd.Timestamp(sim.as_of) - pd.DateOffset(months=WINDOW)
    split = EV.time_split(sim, cutoff)
    now = current_month(sim, as_of=cutoff)
    m = DynamicHazardModel().fit(sim, as_of=cutoff)
    pm = person_months(sim, as_of=cutoff)
    t0 = time.perf_counter()
    drift = fit_drift(m, pm)
    t1 = time.perf_counter()
    scores = {"oracle": EV.oracle_churn_curves(sim.truth["hazard"], split, tables=sim.tables),
              "held": m.churn_curves(now), "drift": drift_curves(m, now, drift),
              "drift + spread": drift_curves(m, now, drift, spread=True)}
    t2 = time.perf_counter()
    if btype != "hardware":   # the order hazard's clock is not advanced here
        scores["per months-ahead"] = per_months_ahead_curves(m, pm, outcome_known(sim, pm), now)
    print(f"{btype} seed {seed}: drift fitted in {t1 - t0:.1f} s on {len(pm):,} rows; "
          f"per months-ahead fitted and scored in {time.perf_counter() - t2:.1f} s", flush=True)
    table = EV.evaluate_scores(scores, split, MONTHS, baseline="held", n_boot=n_boot, seed=seed)
    held = table.set_index("model").loc["held", "c_index"]
    table["c_minus_held"] = table["c_index"] - held
    table.insert(0, "seed", seed)
    table.insert(0, "business_type", btype)
    return table


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--types", default="saas,tool,platform")
    ap.add_argument("--n-boot", type=int, default=20)
    a = ap.parse_args(argv)
    show = ["c_index", "c_minus_held", "calibration_error", "mean_predicted", "observed_churn"]
    rows = []
    for btype in a.types.split(","):
        for seed in (int(s) for s in a.seeds.split(",")):
            t = run(btype, a.accounts, seed, a.n_boot)
            rows.append(t)
            with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
                print(t.set_index("model")[show].to_string(), flush=True)
    table = pd.concat(rows, ignore_index=True)
    with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
        print("\nMean over seeds (Uno's C at 12 months, its difference to 'held' on the same "
              "accounts, calibration error)")
        print(table.groupby(["business_type", "model"], sort=False)[show].mean().to_string())


if __name__ == "__main__":
    main()
