"""How much of the dynamic model's gap to the oracle is health the observed history could reveal.

For each business type: simulate ``--accounts`` accounts (seed ``--seed``), fit on
what was known 18 months before the as-of date and grade on what happened next,
as ``bench_dynamic.py`` does (Uno's C at 12 months, calibration error). The same
logistic hazard is fitted on the same person-months with different covariates:

* ``today``: the model's covariates as they stood before this benchmark
  (:data:`BASELINE_BEHAVIOUR` and the static account ones), scoring the rows of
  ``current_month`` (behaviour of every calendar month complete at the cutoff);
* ``today, scoring rows as before``: the same fit scoring the rows as they were
  built before (only the months completed before the running month began);
* ``+true health``: plus the simulator's latent health at the month (health0 +
  drift t - slope max(0, t - onset), the quantity the churn log-odds use; held at
  its value in the running month when projecting). An upper bound for "health is
  observable": no data shows it, it is not for the product;
* ``+true latent``: plus also the latent unresolved-ticket share and the price
  relative to the tier list (the other latent terms of the log-odds);
* ``..., future path``: the same fit, projected with the true health of every future
  month instead of holding it (saas, tool, platform): what knowing where health goes
  would add; ``..., trend extrapolated``: the running month's true health carried
  forward along its current slope (declines under way go on, new ones unforeseen);
* ``+<candidate>``: one candidate history covariate (:func:`_history`: whole-history
  and exponentially weighted means, the whole-history slope, the drop from the
  account's own peak, logins per active seat, tickets per seat to date; known at the
  month's start only, built from the person-months' own monthly panel), and
  ``+all candidates`` (with and without true health). None of them helped: they are
  not in the product;
* ``default``: the model with the shipped default covariates (``DEFAULT_NUMERIC``);
* ``oracle``: the simulator's true hazards.

The paired differences (each row minus ``today`` on the same test accounts) are
printed beside the bootstrap intervals; they are far less noisy than the
intervals of each row.

    nice -n 10 python benchmarks/bench_dynamic_headroom.py            # 10,000 accounts, seed 1
    python benchmarks/bench_dynamic_headroom.py --accounts 2000 --types saas --n-boot 0
"""
from __future__ import annotations

import argparse
import time

import sys

import numpy as np
import pandas as pd

import tobmodel
from tobmodel.renewal import evaluate as EV
from tobmodel.renewal.dynamic import DynamicHazardModel
from tobmodel.renewal.person_months import (STATIC_NUMERIC, current_month, outcome_known,
                                            person_months)
from tobmodel.engines.person_months import NOW_COLUMNS
from tobmodel.simulator import _prepare
from tobmodel.simulator.lifecycle import _health

PM = sys.modules["tobmodel.renewal.person_months"]  # the module (the package exports the function)
WINDOW = 18
#: the behaviour covariates of the model before the history covariates were added
BASELINE_BEHAVIOUR = (
    "active_seat_share_1m", "active_seat_share_3m", "seat_share_trend",
    "key_feature_adoption_3m", "logins_trend", "inactive_months", "unresolved_share_to_date",
    "unresolved_tickets_6m", "bot_escalations_6m", "tickets_per_seat_6m", "log_arr_change",
    "months_since_last_order", "active_seat_share_12m", "key_feature_adoption_12m",
    "peer_churn_3m", "no_history")
CANDIDATES = (
    "active_seat_share_to_date", "key_feature_adoption_to_date", "active_seat_share_ewm",
    "key_feature_adoption_ewm", "seat_share_slope_to_date", "seat_share_drop_from_peak",
    "logins_per_active_seat_3m", "logins_per_active_seat_12m", "tickets_per_seat_to_date")


EWM_DECAY = 0.8  # candidate: weight of a month one month older in the exponential mean


def _history(panel, offset, span, r, rel, has, seats) -> dict:
    """Candidate whole-history covariates of rows (account ``r``, ``rel`` = the last
    complete month the row knows, relative to the account's first month), from the
    monthly panel of :mod:`tobmodel.renewal.person_months` (running sums per account)."""
    size = int(span.sum())
    seg = np.repeat(np.arange(len(span)), span)
    j = np.arange(size) - np.repeat(offset, span)     # month within the account
    s_a = np.repeat(seats, span)

    def cum(x):  # running sum within each account
        return pd.Series(x).groupby(seg).cumsum().to_numpy()

    def monthly(name):
        cs = panel[name]
        x = np.diff(cs, prepend=0.0)
        first = offset[span > 0]
        x[first] = cs[first]
        return x

    share = monthly("active_seats") / s_a
    adopt = monthly("key_feature_adoption")
    at = offset[r] + np.clip(np.minimum(rel, span[r] - 1), 0, None)
    n = np.where(has, np.minimum(rel, span[r] - 1) + 1, 0).astype(float)
    cs_share = cum(share)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out["active_seat_share_to_date"] = np.where(n > 0, cs_share[at] / np.maximum(n, 1), 0.0)
        out["key_feature_adoption_to_date"] = np.where(
            n > 0, panel["key_feature_adoption"][at] / np.maximum(n, 1), 0.0)
        # exponentially weighted means: sum_i a^(j-i) x_i / sum_i a^(j-i)
        a = EWM_DECAY
        w = a ** (-j.astype(float))
        jj = j[at].astype(float)
        for name, x in (("active_seat_share_ewm", share), ("key_feature_adoption_ewm", adopt)):
            val = cum(x * w)[at] * a ** jj * (1 - a) / (1 - a ** (jj + 1))
            out[name] = np.where(n > 0, val, 0.0)
        # whole-history least-squares slope of the monthly seat share (per year)
        sx, sjx = cs_share[at], cum(share * j)[at]
        sj = n * (n - 1) / 2
        sjj = (n - 1) * n * (2 * n - 1) / 6
        den = n * sjj - sj ** 2
        out["seat_share_slope_to_date"] = np.where(n >= 3, 12 * (n * sjx - sj * sx)
                                                   / np.where(den > 0, den, 1.0), 0.0)
        # drop of the 3-month mean share from its highest value so far
        idx = np.arange(size)
        m3 = (cs_share - np.where(j >= 3, cs_share[np.maximum(idx - 3, 0)], 0.0)) \
            / np.minimum(j + 1, 3)
        peak = pd.Series(m3).groupby(seg).cummax().to_numpy()
        out["seat_share_drop_from_peak"] = np.where(n > 0, peak[at] - m3[at], 0.0)
        cl, ca = panel["logins"], panel["active_seats"]
        for width in (3, 12):
            lo = np.maximum(at - width, 0)
            inside = j[at] >= width
            l_w = cl[at] - np.where(inside, cl[lo], 0.0)
            s_w = ca[at] - np.where(inside, ca[lo], 0.0)
            out[f"logins_per_active_seat_{width}m"] = np.where(
                n > 0, np.log1p(l_w) - np.log1p(s_w), 0.0)
        out["tickets_per_seat_to_date"] = np.where(
            n > 0, panel["tickets_opened"][at] / np.maximum(n, 1) / seats[r], 0.0)
    return out


def _internals(sim, as_of):
    """The person-months module's accounts and panel at ``as_of`` (for the candidates)."""
    tables = PM._tables(sim)
    sv, acc, as_of, btype, start, churned, tenure = PM._accounts(tables, as_of, None)
    start_m = start.astype("datetime64[M]").astype(np.int64)
    span = np.clip(np.datetime64(as_of, "M").astype(np.int64) - start_m + 1, 1, None)
    panel, offset = PM._panel(tables, sv["account_id"].to_numpy(), start_m, span, as_of)
    return dict(tables=tables, sv=sv, acc=acc, as_of=as_of, btype=btype, start=start,
                churned=churned, tenure=tenure, start_m=start_m, span=span, panel=panel,
                offset=offset)


def with_candidates(rows, x, now=False) -> pd.DataFrame:
    """``rows`` plus the candidate columns (:func:`_history`), known at each row's month
    (``now``: the scoring rows, every month complete at as_of, as ``current_month``)."""
    r = pd.Index(x["sv"]["account_id"].to_numpy()).get_indexer(rows["account_id"].to_numpy())
    assert (r >= 0).all()
    last_m = rows["month_start"].to_numpy().astype("datetime64[M]").astype(np.int64) - 1
    if now:
        last_m = np.maximum(last_m, PM._last_complete_month(x["as_of"]))
    rel = last_m - x["start_m"][r]
    seats = np.maximum(x["acc"]["seats"].to_numpy(dtype=float), 1.0)
    out = rows.copy()
    for c, v in _history(x["panel"], x["offset"], x["span"], r, rel, rel >= 0, seats).items():
        out[c] = v
    out.attrs.update(rows.attrs)
    return out


def scoring_rows_as_before(now, x) -> pd.DataFrame:
    """The scoring rows as ``current_month`` built them before: behaviour of the calendar
    months completed before the running month began only."""
    keep = np.flatnonzero(~x["churned"])
    k = np.floor(x["tenure"][keep]).astype(np.int64) + 1
    old = PM._rows(x["tables"], x["acc"], x["sv"], x["start"], keep, k, x["as_of"], x["btype"])
    assert (old["account_id"].to_numpy() == now["account_id"].to_numpy()).all()
    out = now.copy()
    for c in NOW_COLUMNS:
        out[c] = old[c].to_numpy()
    return out


def _with_latent(rows: pd.DataFrame, lat: dict, pos: pd.Index) -> pd.DataFrame:
    """``rows`` plus the true latent health of each row's month and the latent account terms."""
    i = pos.get_indexer(rows["account_id"].to_numpy())
    assert (i >= 0).all(), "latent parameters missing for some accounts"
    out = rows.copy()
    out["true_health"] = _health(lat, i, rows["month_index"].to_numpy(float))
    out["true_unresolved_share"] = lat["unresolved_share"][i]
    out["true_log_price_rel"] = lat["log_price_rel"][i]
    out.attrs.update(rows.attrs)
    return out


def _trend_health(lat, i, k0, k):
    """True health at month ``k`` extrapolated from month ``k0`` along the trajectory's
    slope at ``k0`` (drift, minus the decline slope once the decline has begun): a decline
    already under way goes on, one that has not begun by ``k0`` is not foreseen."""
    declining = k0 > lat["decline_onset"][i]
    slope = lat["drift"][i] - np.where(declining, lat["decline_slope"][i], 0.0)
    return _health(lat, i, k0) + slope * (k - k0)


def _future_path_curves(model, now, lat, pos, months=12, trend=False) -> pd.DataFrame:
    """P(churn within t) when the true health of every future month is known: explicit
    future rows (clocks advanced, ``true_health`` at each month, other covariates held);
    with ``trend`` the health of the running month extrapolated (:func:`_trend_health`)."""
    n = len(now)
    j = np.tile(np.arange(months), n)
    rows = now.iloc[np.repeat(np.arange(n), months)].reset_index(drop=True)
    k = rows["month_index"].to_numpy() + j
    rows["month_index"] = k
    rows["tenure_at_month_start"] = (k - 1).astype(float)
    i = pos.get_indexer(rows["account_id"].to_numpy())
    k0 = now["month_index"].to_numpy(float)[np.repeat(np.arange(n), months)]
    rows["true_health"] = (_trend_health(lat, i, k0, k.astype(float)) if trend
                           else _health(lat, i, k.astype(float)))
    h = model.predict_hazard(rows, months_ahead=j).reshape(n, months)
    S = np.cumprod(1 - h, axis=1) * (1 - model._already_churned(now))[:, None]
    return pd.DataFrame({float(t): 1 - S[:, t - 1] for t in range(1, months + 1)},
                        index=pd.Index(now["account_id"].to_numpy(), name="account_id"))


def _health_r2(train, base, candidates):
    """R^2 of least squares of the true health on today's covariates, and with the
    candidates too (training months at risk or not, with an intercept)."""
    y = train["true_health"].to_numpy(float)
    out = []
    for cols in (base, [*base, *candidates]):
        X = np.column_stack([np.ones(len(train)), *(train[c].to_numpy(float) for c in cols)])
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        out.append(1 - np.var(y - X @ beta) / np.var(y))
    return out


def run_type(btype, n_accounts, seed, n_boot, only=None):
    sim = tobmodel.simulate(btype, n_accounts=n_accounts, seed=seed)
    c = sim.config
    lat = _prepare(btype, c["stage"], c["n_accounts"], c["seed"], c["as_of"])["latent"]
    pos = pd.Index(sim.accounts["account_id"].to_numpy())
    cutoff = pd.Timestamp(sim.as_of) - pd.DateOffset(months=WINDOW)
    split = EV.time_split(sim, cutoff)
    pm = person_months(sim, as_of=cutoff)
    known = outcome_known(sim, pm)
    x = _internals(sim, cutoff)
    train = _with_latent(with_candidates(pm.loc[known].reset_index(drop=True), x), lat, pos)
    train.attrs.update(pm.attrs)
    now = _with_latent(with_candidates(current_month(sim, as_of=cutoff), x, now=True), lat, pos)
    before = scoring_rows_as_before(now, x)
    base = [*BASELINE_BEHAVIOUR, *STATIC_NUMERIC]
    latent = ["true_health", "true_unresolved_share", "true_log_price_rel"]
    variants = {"today": base, "+true health": [*base, "true_health"],
                "+true latent": [*base, *latent]}
    for cand in CANDIDATES:
        variants[f"+{cand}"] = [*base, cand]
    variants["+all candidates"] = [*base, *CANDIDATES]
    variants["+all candidates +true health"] = [*base, *CANDIDATES, "true_health"]
    variants["default"] = None
    if only:
        variants = {k: v for k, v in variants.items() if k in only or k == "today"}
    scores = {"oracle": EV.oracle_churn_curves(sim.truth["hazard"], split, tables=sim.tables)}
    for name, numeric in variants.items():
        t0 = time.perf_counter()
        m = DynamicHazardModel(numeric=numeric).fit(train)
        scores[name] = m.churn_curves(now)
        if name == "today":
            scores["today, scoring rows as before"] = m.churn_curves(before)
        if name.startswith("+true") and btype != "hardware":  # no order hazard here
            scores[f"{name}, future path"] = _future_path_curves(m, now, lat, pos)
            if name == "+true health":
                scores[f"{name}, trend extrapolated"] = _future_path_curves(m, now, lat, pos,
                                                                            trend=True)
        print(f"  {btype} {name}: fitted and scored in {time.perf_counter() - t0:.1f} s",
              flush=True)
    r2 = _health_r2(train, base, CANDIDATES)
    print(f"  {btype}: R^2 of the true health on the covariates: today {r2[0]:.3f}, "
          f"with the candidates {r2[1]:.3f}", flush=True)
    table = EV.evaluate_scores(scores, split, 12, n_boot=n_boot, seed=seed)
    table["minus_today"] = table["c_index"] - table.loc[table["model"] == "today",
                                                        "c_index"].iloc[0]
    table.insert(0, "business_type", btype)
    return table


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--types", default="saas,tool,platform")
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--only", default="", help="comma-separated variant names (and today)")
    a = ap.parse_args(argv)
    only = [s for s in a.only.split(",") if s]
    show = ["c_index", "c_index_lo", "c_index_hi", "minus_today", "calibration_error"]
    show = [s for s in show if a.n_boot or not s.endswith(("_lo", "_hi"))]
    tables = []
    for btype in a.types.split(","):
        t = run_type(btype, a.accounts, a.seed, a.n_boot, only)
        tables.append(t)
        with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
            print(f"\n{btype}, {a.accounts:,} accounts, seed {a.seed}, Uno's C at 12 months:")
            print(t.set_index("model")[show].to_string(), flush=True)
    table = pd.concat(tables, ignore_index=True)
    wide = table.pivot(index="model", columns="business_type", values="c_index")
    order = list(tables[0]["model"])
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print("\nUno's C by covariates (columns: business type)")
        print(wide.loc[order, a.types.split(",")].to_string())
        o, t, h = (wide.loc[k] for k in ("oracle", "today", "+true health"))
        print("\nGap to the oracle: total, closed by true health, left with true health")
        print(pd.DataFrame({"oracle - today": o - t, "true health - today": h - t,
                            "oracle - true health": o - h}).T.to_string())


if __name__ == "__main__":
    main()
