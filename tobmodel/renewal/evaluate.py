"""Honest evaluation of churn scores: fit on the past, score what happened afterwards.

:func:`time_split` gives the survival view as known at a cutoff (to fit on)
and, for the accounts active at the cutoff, what happened next (to test on).
:func:`evaluate_scores` takes churn probabilities from any model, as a
Series of P(churn within the horizon) indexed by ``account_id`` or a DataFrame
of P(churn within t months) with one column per t, and reports discrimination
(Uno's IPCW concordance, time-dependent AUC), accuracy (Brier score at the
horizon, integrated Brier score over the columns given) and calibration,
against a segment-average baseline and, on simulated data, the oracle built
from the true hazards. Higher probability = more risk, everywhere.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from sksurv.metrics import (brier_score, concordance_index_ipcw, cumulative_dynamic_auc,
                            integrated_brier_score)
from sksurv.util import Surv

from ..simulator.oracle import oracle_scores
from ..survival import MIN_TENURE_MONTHS, calendar_months, survival_view
from ..evaluation import TimeSplit
from .concordance import (PairCounter, c_from_counts, censoring_before, harrell_c,
                          uno_weights)
from .descriptive import check_survival_frame, fit_kaplan_meier, view_as_of

ID = "account_id"


def time_split(data, cutoff, as_of=None, **view_options) -> TimeSplit:
    """Split a business's history at ``cutoff``: the past to fit on, the future to test on.

    Returns a :class:`~tobmodel.evaluation.TimeSplit` (unpacks as ``train, test``,
    like :func:`tobmodel.leads.time_split`): ``train`` is the survival view at
    ``cutoff``; ``test`` holds the accounts active at the cutoff with
    ``tenure_at_cutoff``, ``duration_months`` (calendar months from the cutoff)
    and ``churned`` by ``as_of``.

    A platform churn is dated at the first inactive month, which can lie
    before the cutoff for an account that looked active then; such accounts
    count as churned one day after the cutoff.

    Examples
    --------
    >>> import tobmodel
    >>> s = time_split(tobmodel.simulate("saas", n_accounts=300, seed=1), "2024-11-30")
    >>> bool((s.test["duration_months"] > 0).all()), s.cutoff < s.as_of
    (True, True)
    """
    tables = data.tables if hasattr(data, "tables") else dict(data)
    cutoff = pd.Timestamp(cutoff)
    later = survival_view(tables, as_of=as_of, **view_options)
    as_of = view_as_of(later)
    if cutoff >= as_of:
        raise ValueError(f"cutoff {cutoff.date()} must be before the data's as_of {as_of.date()}")
    train = survival_view(tables, as_of=cutoff, **view_options)
    active = train.loc[train["churned"] == 0, [ID, "tenure_months"]]
    test = active.rename(columns={"tenure_months": "tenure_at_cutoff"}).merge(
        later[[ID, "end_date", "churned"]], on=ID, how="inner")
    dur = calendar_months(np.full(len(test), cutoff.to_datetime64()), test["end_date"].to_numpy())
    test["duration_months"] = np.maximum(dur, MIN_TENURE_MONTHS)
    test = test.drop(columns="end_date")
    test.attrs.update(cutoff=str(cutoff.date()), as_of=str(as_of.date()))
    return TimeSplit(train, test, cutoff, as_of,
                     _training_outcomes(tables, cutoff, as_of, view_options))


def _training_outcomes(tables, cutoff, as_of, view_options):
    """Outcomes of the window before the cutoff, on the test's scale (see TimeSplit)."""
    window = (as_of.year - cutoff.year) * 12 + as_of.month - cutoff.month
    earlier = cutoff - pd.DateOffset(months=window)
    first = tables["accounts"]["first_contract_date"].min()
    if not (pd.notna(first) and earlier > first):
        return None
    past = survival_view(tables, as_of=earlier, **view_options)
    seen = survival_view(tables, as_of=cutoff, **view_options)
    out = past.loc[past["churned"] == 0, [ID]].merge(seen[[ID, "end_date", "churned"]], on=ID)
    dur = calendar_months(np.full(len(out), earlier.to_datetime64()), out["end_date"].to_numpy())
    out["duration_months"] = np.maximum(dur, MIN_TENURE_MONTHS)
    return out.drop(columns="end_date") if len(out) else None


def _curves(name, score, ids, horizon_months):
    """(P within horizon, times, P-within-t matrix) for the test ids, checked."""
    if isinstance(score, pd.Series):
        frame = score.to_frame(horizon_months)
    elif isinstance(score, pd.DataFrame):
        frame = score
    else:
        raise TypeError(f"scores[{name!r}] must be a pandas Series or DataFrame indexed by "
                        f"account_id, got {type(score).__name__}")
    frame = frame.set_axis(np.asarray(frame.columns, float), axis=1)
    if float(horizon_months) not in frame.columns:
        raise ValueError(f"scores[{name!r}]: no column for the horizon {horizon_months} months "
                         f"(columns {list(frame.columns)})")
    got = frame.reindex(ids)
    missing = got.isna().any(axis=1).to_numpy()
    if missing.any():
        raise ValueError(f"scores[{name!r}] lack {missing.sum()} of the {len(ids)} test accounts,"
                         f" e.g. account_id {list(np.asarray(ids)[missing][:3])}; score every "
                         "account active at the cutoff")
    values = got.to_numpy(float)
    if ((values < 0) | (values > 1)).any():
        raise ValueError(f"scores[{name!r}] must be churn probabilities in [0, 1]")
    return values[:, list(frame.columns).index(float(horizon_months))], \
        frame.columns.to_numpy(float), values


def calibration_table(test, p_churn, horizon_months: float = 12, n_bins: int = 10,
                      horizon_time: float | None = None) -> pd.DataFrame:
    """Predicted vs observed churn within the horizon, by bins (deciles) of the prediction.

    ``test`` (the outcomes: ``TimeSplit.test``, with ``duration_months`` and
    ``churned``) comes first and ``p_churn`` (indexed by account_id) second,
    as in :func:`tobmodel.leads.calibration_table`. Observed = 1 - Kaplan-Meier
    survival at the horizon within each bin, so censored accounts count
    correctly. Columns: ``bin, mean_predicted, observed, lower, upper,
    n_accounts``; draw it with :func:`~tobmodel.renewal.plot_calibration`.

    Examples
    --------
    >>> t = pd.DataFrame({"account_id": range(6), "duration_months": [2.0, 3, 13, 13, 13, 13],
    ...                   "churned": [1, 1, 0, 0, 0, 0]})
    >>> p = pd.Series([.9, .8, .1, .1, .2, .1], index=range(6))
    >>> calibration_table(t, p, 12, n_bins=2)["observed"].round(2).tolist()
    [0.0, 0.67]
    """
    if not isinstance(test, pd.DataFrame) and isinstance(p_churn, pd.DataFrame):
        raise TypeError("calibration_table(test, p_churn, ...): the test accounts (y_true) come "
                        "first, the predicted probabilities second")
    check_survival_frame(test, "duration_months", "churned", source="test accounts")
    p = np.asarray(pd.Series(p_churn).reindex(test[ID]).to_numpy(float))
    h = float(horizon_months if horizon_time is None else horizon_time)
    bins = pd.qcut(pd.Series(p).rank(method="first"), n_bins, labels=False).to_numpy()
    view = pd.DataFrame({"tenure_months": test["duration_months"].to_numpy(),
                         "churned": test["churned"].to_numpy(), "bin": bins})
    rows = []
    with warnings.catch_warnings():  # a bin without churn is a valid observation (0%)
        warnings.simplefilter("ignore", UserWarning)
        fitted = fit_kaplan_meier(view, "bin")
    for b, kmf in fitted.items():  # one KM per bin
        i = np.searchsorted(kmf.timeline, h, side="right") - 1
        ci = kmf.confidence_interval_survival_function_.to_numpy()[i]
        rows.append({"bin": int(b) + 1, "mean_predicted": float(p[bins == b].mean()),
                     "observed": 1 - float(kmf.survival_function_.to_numpy()[i, 0]),
                     "lower": 1 - float(ci[1]), "upper": 1 - float(ci[0]),
                     "n_accounts": int((bins == b).sum())})
    table = pd.DataFrame(rows)
    table.attrs["outcome"] = "churn"
    return table


def _calibration_error(cal):
    return float(np.average(np.abs(cal["mean_predicted"] - cal["observed"]),
                            weights=cal["n_accounts"]))


BOOTSTRAP_METRICS = ("c_index", "harrell_c", "auc", "brier", "ibs", "calibration_error",
                     "mean_predicted", "observed_churn", "oracle_gap", "calibration_gap")


def evaluate_scores(scores: dict, split, horizon_months: int = 12, baseline: str = "baseline",
                    oracle: str = "oracle", n_bins: int = 10, n_boot: int = 200,
                    seed: int = 0, level: float = 0.95, survival_train=None) -> pd.DataFrame:
    """Compare churn scores on the accounts active at the cutoff: one row per model.

    Parameters
    ----------
    scores : dict of name -> Series or DataFrame
        P(churn within ``horizon_months``) indexed by account_id, or P(churn
        within t) with one column per t (then the integrated Brier score is
        computed over those t).
    split : TimeSplit or DataFrame
        The test accounts (``account_id, duration_months, churned``).
    baseline, oracle : str
        Names in ``scores`` of the baseline and the oracle, if present.
    n_boot : int
        Bootstrap replicates of the test accounts (0: no intervals). Every model
        is graded on the same replicates, so the oracle gap gets an interval too.
    seed, level
        Random seed of the replicates; coverage of the percentile intervals.
    survival_train : DataFrame, optional
        Outcomes (``duration_months, churned``) the censoring distribution of
        Uno's C and the Brier scores is estimated from. Default: the split's
        ``train_outcomes`` (known at the cutoff), else the test accounts.

    Returns
    -------
    DataFrame: ``model, n_accounts, c_index`` (Uno's, truncated at the horizon),
    ``harrell_c``, ``auc`` (cumulative/dynamic at the horizon), ``brier`` (at the
    horizon), ``ibs``, ``calibration_error`` (mean |predicted - Kaplan-Meier
    observed| over bins), ``mean_predicted, observed_churn, oracle_gap`` (oracle
    c-index minus the model's), ``calibration_gap`` (the model's calibration error
    minus the oracle's: both carry the binomial noise of the bins, so "within the
    oracle's + 0.01" is judged on the difference, with its interval from the same
    replicates), ``beats_baseline`` (higher c-index and lower
    Brier than the baseline) and, with ``n_boot``, ``<metric>_lo`` and
    ``<metric>_hi`` for each of :data:`BOOTSTRAP_METRICS`.
    ``attrs``: ``sentence`` (in words), ``censoring_from``, ``n_boot``.
    """
    test = split.test if isinstance(split, TimeSplit) else split
    dur, event = check_survival_frame(test, "duration_months", "churned", "test accounts")
    h = split.horizon_time(horizon_months) if isinstance(split, TimeSplit) else horizon_months
    if h >= dur.max():
        raise ValueError(f"the test window ({dur.max():.1f} months after the cutoff) must be "
                         f"longer than horizon_months={horizon_months}; move the cutoff earlier")
    if survival_train is None and isinstance(split, TimeSplit):
        survival_train = split.train_outcomes
    source = "training outcomes" if survival_train is not None else "test accounts"
    if survival_train is not None:
        tr_dur, tr_event = check_survival_frame(survival_train, "duration_months", "churned",
                                                "training outcomes")
        # both windows end at an administrative censoring date; the estimate must reach
        # the last test time (scikit-survival's rule), a day's difference at most
        tr_dur = np.where(tr_dur == tr_dur.max(), max(tr_dur.max(), dur.max()), tr_dur)
        y_train = Surv.from_arrays(tr_event.astype(bool), tr_dur)
    else:
        y_train = None
    y = Surv.from_arrays(event.astype(bool), dur)
    y_train = y if y_train is None else y_train
    ids = test[ID].to_numpy()
    rows, parts = [], {}
    for name, score in scores.items():
        p, times, curves = _curves(name, score, ids, horizon_months)
        ok = (times >= dur.min()) & (times < dur.max())
        ibs = integrated_brier_score(y_train, y, 1 - curves[:, ok], times[ok]) \
            if ok.sum() >= 2 else np.nan
        cal = calibration_table(test, pd.Series(p, index=ids), horizon_months, n_bins, h)
        rows.append({"model": name, "n_accounts": len(ids),
                     "c_index": concordance_index_ipcw(y_train, y, p, tau=h)[0],
                     "harrell_c": harrell_c(dur, event, p),
                     "auc": cumulative_dynamic_auc(y_train, y, p, [h])[1],
                     "brier": brier_score(y_train, y, 1 - p, h)[1][0], "ibs": ibs,
                     "calibration_error": _calibration_error(cal), "mean_predicted": p.mean(),
                     "observed_churn": 1 - KaplanMeierFitter().fit(dur, event).predict(h)})
        parts[name] = (p, times[ok], curves[:, ok])
    table = pd.DataFrame(rows)
    names = table["model"]
    has_oracle = (names == oracle).any()
    table["oracle_gap"] = (table.loc[names == oracle, "c_index"].iloc[0] - table["c_index"]
                           if has_oracle else np.nan)
    table["calibration_gap"] = (table["calibration_error"]
                                - table.loc[names == oracle, "calibration_error"].iloc[0]
                                if has_oracle else np.nan)
    if (names == baseline).any():
        base = table.loc[names == baseline].iloc[0]
        beats = (table["c_index"] > base["c_index"]) & (table["brier"] < base["brier"])
        table["beats_baseline"] = beats.astype(object).where(names != baseline, None)
    else:
        table["beats_baseline"] = None
    if n_boot:
        tr = (y_train["time"], y_train["event"])
        boot = bootstrap_metrics(parts, dur, event, h, tr, n_bins, n_boot, seed,
                                 oracle if has_oracle else None)
        a = (1 - level) / 2
        for m in BOOTSTRAP_METRICS:
            table[f"{m}_lo"] = [np.nanquantile(boot[n][m], a) if m in boot[n] else np.nan
                                for n in names]
            table[f"{m}_hi"] = [np.nanquantile(boot[n][m], 1 - a) if m in boot[n] else np.nan
                                for n in names]
    table.attrs["sentence"] = _sentence(table, baseline, oracle)
    table.attrs.update(censoring_from=source, n_boot=int(n_boot))
    return table


def bootstrap_metrics(parts: dict, dur, event, h, survival_train, n_bins=10, n_boot=200,
                      seed=0, oracle=None) -> dict:
    """Metrics of each model on ``n_boot`` resamples of the test accounts (the same for all).

    ``parts``: name -> (P(churn by h), times, P(churn by t) matrix). Resamples are
    multinomial case weights; the weighted metrics equal the unweighted ones at
    weight 1 (tested against scikit-survival and lifelines). Returns name -> metric ->
    array of replicates.
    """
    n = len(dur)
    rng = np.random.default_rng(seed)
    W = rng.multinomial(n, np.full(n, 1 / n), size=n_boot).astype(float)
    g_before = censoring_before(dur, survival_train)
    g_h = censoring_before(np.array([h]), survival_train)[0]
    uno_w = uno_weights(dur, event, h, survival_train)
    e = event.astype(bool)
    km_all = KMByGroup(dur, event, np.zeros(n, np.int64), 1, h)
    out = {}
    for name, (p, times, curves) in parts.items():
        uno, harrell = PairCounter(dur, event, p), PairCounter(dur, event, p, True)
        bins = pd.qcut(pd.Series(p).rank(method="first"), n_bins, labels=False).to_numpy()
        g_t = censoring_before(times, survival_train) if len(times) else None
        km_bins = KMByGroup(dur, event, bins, n_bins, h)
        res = {m: np.empty(n_boot) for m in BOOTSTRAP_METRICS if not m.endswith("_gap")}
        for b in range(n_boot):  # replicates, each vectorised over accounts
            w = W[b]
            res["c_index"][b] = c_from_counts(uno.counts(w), w * uno_w)
            res["harrell_c"][b] = c_from_counts(harrell.counts(w), w * e)
            res["brier"][b] = _brier(dur, e, p, h, g_before, g_h, w)
            res["ibs"][b] = (_ibs(dur, e, curves, times, g_before, g_t, w)
                             if len(times) >= 2 else np.nan)
            obs = km_bins.churn(w)
            wb = np.bincount(bins, w, n_bins)
            pred = np.bincount(bins, w * p, n_bins) / np.maximum(wb, 1e-12)
            res["calibration_error"][b] = float(np.sum(wb * np.abs(pred - obs)) / wb.sum())
            res["mean_predicted"][b] = float(w @ p / w.sum())
            res["observed_churn"][b] = float(km_all.churn(w)[0])
            res["auc"][b] = _auc(dur, e, p, h, g_before, w)
        out[name] = res
    if oracle is not None:
        for name in out:
            out[name]["oracle_gap"] = out[oracle]["c_index"] - out[name]["c_index"]
            out[name]["calibration_gap"] = (out[name]["calibration_error"]
                                            - out[oracle]["calibration_error"])
    return out


def _brier(t, e, p, h, g_before, g_h, w):
    """IPCW Brier score at ``h`` of P(churn by h) = ``p`` with case weights ``w``."""
    died = e & (t <= h)
    loss = np.where(died, (1 - p) ** 2 / np.maximum(g_before, 1e-12), 0.0) + np.where(
        t > h, p ** 2 / max(g_h, 1e-12), 0.0)
    return float(w @ loss / w.sum())


def _auc(t, e, p, h, g_before, w):
    """Cumulative/dynamic AUC at ``h``: churned by h (IPCW-weighted) against still active."""
    case = e & (t <= h)
    wc = np.where(case, w / np.maximum(g_before, 1e-12), 0.0)
    wn = np.where(t > h, w, 0.0)
    if wc.sum() == 0 or wn.sum() == 0:
        return np.nan
    order = np.argsort(p, kind="stable")
    ps, cum = p[order], np.r_[0.0, np.cumsum(wn[order])]
    lo = cum[np.searchsorted(ps, p, side="left")]    # controls with a lower score
    hi = cum[np.searchsorted(ps, p, side="right")]   # ... or an equal one
    return float(wc @ (lo + 0.5 * (hi - lo)) / (wc.sum() * wn.sum()))


def _ibs(t, e, curves, times, g_before, g_t, w):
    bs = np.array([_brier(t, e, curves[:, k], times[k], g_before, g_t[k], w)
                   for k in range(len(times))])  # a dozen horizons
    return float(np.trapezoid(bs, times) / (times[-1] - times[0]))


def km_churn_by_group(t, event, w, group, n_groups, h) -> np.ndarray:
    """1 - weighted Kaplan-Meier survival at ``h`` within each group (0..n_groups-1)."""
    return KMByGroup(t, event, group, n_groups, h).churn(w)


class KMByGroup:
    """Kaplan-Meier churn by ``h`` per group for any case weights (sorted once)."""

    def __init__(self, t, event, group, n_groups, h):
        t = np.asarray(t, float)
        g = np.asarray(group, np.int64)
        keys, self.cell = np.unique(np.column_stack([g, t]), axis=0, return_inverse=True)
        self.cell = self.cell.ravel()
        self.g, self.t = keys[:, 0].astype(np.int64), keys[:, 1]
        self.e = np.asarray(event, float)
        self.n_groups, self.h = n_groups, h
        last = np.r_[self.g[1:] != self.g[:-1], True]
        # index of the first cell of the next group (len = none)
        nxt = np.where(last, np.arange(len(self.g)) + 1, len(self.g))
        self.next_group = np.minimum.accumulate(nxt[::-1])[::-1]
        self.use = self.t <= h

    def churn(self, w) -> np.ndarray:
        m = len(self.g)
        wc = np.bincount(self.cell, w, m)
        dc = np.bincount(self.cell, w * self.e, m)
        rev = np.r_[np.cumsum(wc[::-1])[::-1], 0.0]
        at_risk = rev[:m] - rev[self.next_group]
        ok = self.use & (dc > 0)
        step = np.zeros(m)
        step[ok] = np.log1p(-np.minimum(dc[ok] / at_risk[ok], 1.0))
        return 1 - np.exp(np.bincount(self.g, step, self.n_groups))


def _sentence(table, baseline, oracle):
    base = table.loc[table["model"] == baseline]
    parts = []
    for _, r in table.loc[~table["model"].isin([baseline, oracle])].iterrows():
        if base.empty:
            parts.append(f"{r['model']}: c-index {r['c_index']:.3f} (no baseline given).")
            continue
        b = base.iloc[0]
        verdict = "beats" if r["beats_baseline"] else "does NOT beat"
        parts.append(f"{r['model']} {verdict} the segment baseline (c-index {r['c_index']:.3f} vs"
                     f" {b['c_index']:.3f}, Brier {r['brier']:.4f} vs {b['brier']:.4f})"
                     + ("." if r["beats_baseline"] else "; do not use it for decisions."))
    if (table["model"] == oracle).any():
        o = table.loc[table["model"] == oracle].iloc[0]
        parts.append(f"The best possible (oracle, true hazards) reaches c-index "
                     f"{o['c_index']:.3f}, Brier {o['brier']:.4f}.")
    return " ".join(parts)


def oracle_churn_curves(truth_hazard, split: TimeSplit, months=None, horizon_months: int = 12,
                        tables=None) -> pd.DataFrame:
    """True P(churn within t months of the cutoff) for the test accounts, on the event the
    models are graded on (the observed churn of :func:`tobmodel.survival_view`).

    * saas / tool: the simulator's churn is the observed one (a contract ends churned).
    * platform: an account whose true churn came before the cutoff still looked active
      then (fewer than 3 months without a login); its observed churn is dated at the
      first inactive month and counted the day after the cutoff: probability 1.
    * hardware (needs ``tables`` for the orders): the observed churn is the lapse, 12
      months after the last order. An account the simulator had churned before the
      cutoff lapses exactly 12 months after its last order (probability 0 or 1 by
      ``t``); a live one can lapse within t <= 12 months only at that same deadline,
      and only if it churns before ordering again, bounded here by the true P(churn
      before the deadline). Without ``tables`` the true churn is used (another event).

    ``attrs["already_churned"]``: share of test accounts whose true churn was past.
    """
    months = list(range(1, horizon_months + 1)) if months is None else list(months)
    ids = split.test[ID].to_numpy()
    btype = split.train.attrs.get("business_type")
    true = {t: oracle_scores(truth_hazard, split.cutoff, t).set_index(ID)[f"p_churn_{t}m"]
            .reindex(ids).to_numpy() for t in months}  # a dozen horizons
    gone = np.isnan(true[months[0]])
    out = {t: np.where(gone, 1.0, true[t]) for t in months}
    if btype == "hardware" and tables is not None:
        deadline = _lapse_deadline(tables["contracts"], ids, split.cutoff)
        d = calendar_months(np.full(len(ids), split.cutoff.to_datetime64()), deadline)
        by_m = np.column_stack([np.nan_to_num(true[m]) if m in true else np.nan_to_num(
            oracle_scores(truth_hazard, split.cutoff, m).set_index(ID)[f"p_churn_{m}m"]
            .reindex(ids).to_numpy()) for m in range(1, 13)])  # twelve horizons
        live = by_m[np.arange(len(ids)), np.clip(np.ceil(d - 1e-9), 1, 12).astype(int) - 1]
        for t in (t for t in months if t <= 12):  # beyond a year: later orders lapse too
            by_deadline = (d <= split.horizon_time(t) + 1e-9).astype(float)
            out[t] = np.where(gone, by_deadline, by_deadline * live)
    frame = pd.DataFrame(out, index=pd.Index(ids, name=ID))
    frame.attrs["already_churned"] = float(gone.mean()) if len(ids) else 0.0
    return frame


def _lapse_deadline(contracts, ids, cutoff) -> np.ndarray:
    """Hardware: last order on or before the cutoff + 12 months, per account."""
    c = contracts.loc[contracts["start_date"] <= cutoff, [ID, "start_date"]]
    last = c.groupby(ID)["start_date"].max().reindex(ids)
    return (last + pd.DateOffset(months=12)).to_numpy().astype("datetime64[ns]")


def baseline_churn_curves(split: TimeSplit, accounts, segments=("tier", "contract_term"),
                          months=None, horizon_months: int = 12) -> pd.DataFrame:
    """Segment-average baseline: Kaplan-Meier by segment on the training view, conditional
    on each account's tenure a at the cutoff: P(churn within t) = 1 - S(a + t) / S(a)."""
    months = np.asarray(range(1, horizon_months + 1) if months is None else months, float)
    segs = [c for c in segments if c in accounts.columns]
    train = split.train.merge(accounts[[ID, *segs]], on=ID, how="left")
    test = split.test.merge(accounts[[ID, *segs]], on=ID, how="left")
    both = pd.concat([train[segs], test[segs]], ignore_index=True).astype(str)
    codes = both.groupby(segs, sort=True).ngroup().to_numpy() if segs else np.zeros(len(both))
    train["_seg"], test["_seg"] = codes[:len(train)], codes[len(train):]
    a = test["tenure_at_cutoff"].to_numpy(float)
    out = np.full((len(test), len(months)), np.nan)
    with warnings.catch_warnings():  # a segment without churn predicts 0%, as it should
        warnings.simplefilter("ignore", UserWarning)
        overall = fit_kaplan_meier(train)["all"]
        fitted = fit_kaplan_meier(train, "_seg")
    for code in np.unique(test["_seg"]):  # a handful of segments
        rows = (test["_seg"] == code).to_numpy()
        kmf = fitted.get(code, overall)
        s = kmf.survival_function_.to_numpy()[:, 0]
        at = np.searchsorted(kmf.timeline, a[rows, None] + months[None, :], side="right") - 1
        now = s[np.searchsorted(kmf.timeline, a[rows], side="right") - 1]
        out[rows] = np.where(now[:, None] > 0, 1 - s[at] / np.maximum(now[:, None], 1e-12), 1.0)
    return pd.DataFrame(out, index=pd.Index(test[ID].to_numpy(), name=ID), columns=months)


def evaluate_against_truth(sim, cutoff, scores: dict | None = None, horizon_months: int = 12,
                           segments=("tier", "contract_term"), split: TimeSplit | None = None
                           ) -> pd.DataFrame:
    """:func:`evaluate_scores` on a simulation, with the oracle and the segment baseline added.

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("saas", n_accounts=400, seed=2)
    >>> t = evaluate_against_truth(sim, "2024-11-30")
    >>> bool(t.set_index("model").loc["oracle", "beats_baseline"])
    True
    """
    split = time_split(sim, cutoff) if split is None else split
    models = {"oracle": oracle_churn_curves(sim.truth["hazard"], split,
                                            horizon_months=horizon_months, tables=sim.tables),
              "baseline": baseline_churn_curves(split, sim.accounts, segments,
                                                horizon_months=horizon_months)}
    models.update(scores or {})
    return evaluate_scores(models, split, horizon_months)


def model_churn_curves(model, features: pd.DataFrame, months=None, horizon_months: int = 12
                       ) -> pd.DataFrame:
    """P(churn within t months | alive now) of a fitted renewal model, for :func:`evaluate_scores`.

    One row per active account of ``features`` (index ``account_id``), one column
    per t in ``months`` (default 1..horizon_months). Vectorised over accounts.
    """
    return model.churn_curves(features, months, horizon_months)


def evaluate_renewal_model(sim, cutoff, model: str = "cox", horizon_months: int = 12,
                           segments=("tier", "contract_term"), **options) -> pd.DataFrame:
    """Fit ``model`` on what was known at ``cutoff`` and grade it on what happened next.

    Builds features as of the cutoff, fits :func:`~tobmodel.renewal.fit_renewal_model`
    (``options`` are passed on), and compares its churn curves with the segment
    baseline and the oracle (:func:`evaluate_against_truth`). Works for every
    business type; ``attrs["sentence"]`` says whether the model beats the baseline.

    Examples
    --------
    >>> import tobmodel
    >>> t = evaluate_renewal_model(tobmodel.simulate("tool", n_accounts=500, seed=3),
    ...                            "2024-09-30", covariates=["tier", "logins_trend"])
    >>> t["model"].tolist()
    ['oracle', 'baseline', 'cox']
    """
    from .features import build_account_features
    from .design import fit_renewal_model
    split = time_split(sim, cutoff)
    features = build_account_features(sim, as_of=split.cutoff)
    fitted = fit_renewal_model(features, model, **options)
    curves = model_churn_curves(fitted, features, horizon_months=horizon_months)
    return evaluate_against_truth(sim, cutoff, {fitted.name: curves}, horizon_months,
                                  segments, split=split)
