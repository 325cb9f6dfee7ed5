"""Cox proportional-hazards renewal model (lifelines ``CoxPHFitter``), scored without lifelines.

The fitted model keeps coefficients, covariate centres and the Breslow baseline
cumulative hazard per stratum as arrays. ``H(t | x) = H0_k(t) * exp((x - mean) . beta)``
with ``H0_k`` interpolated linearly between its knots exactly as lifelines does,
so scores agree with ``CoxPHFitter.predict_survival_function(...,
conditional_after=...)``.

Beyond the last churn time seen in a stratum the Breslow baseline is flat: an
account older than every churner would get (almost) no risk. ``baseline="weibull"``
continues ``H0`` past that point with a Weibull curve fitted to the tail of the
baseline (least squares of ``log H0`` on ``log t`` over the later half of the
churn times) and is the default; ``baseline="step"`` keeps lifelines' flat
baseline. Either way the score's ``beyond_followup`` flag marks the rows concerned.

By default (``strata="auto"``) the model is stratified on ``contract_term``
when it varies: annual contracts can only churn at anniversaries, monthly ones
every month, so their baseline hazards differ in shape, not just in scale.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..persist import data_fingerprint, doc_number, doc_numbers, make_model_id
from .checks import check_penalizer
from .design import (DesignEncoder, level_codes, run_lifelines, schema_for, snapshot_info,
                     training_design, warn_near_separation)
from .base import RenewalModel

BASELINES = ("step", "weibull")
PAD_MONTHS = 10_000.0  # flat baseline either side of a stratum's knots (see _knots)


class PHCheck(NamedTuple):
    """Result of :meth:`CoxRenewalModel.ph_check_report`: a table and a plain-words summary."""

    table: pd.DataFrame
    text: str

    def __str__(self) -> str:
        return self.text


def _compress(times, values):
    """Drop knots inside flat runs; ``np.interp`` on the rest gives the same function."""
    keep = np.ones(len(values), dtype=bool)
    if len(values) > 2:
        keep[1:-1] = ~((values[1:-1] == values[:-2]) & (values[1:-1] == values[2:]))
    return times[keep], values[keep]


def fit_weibull_tail(event_times, cum_hazard) -> tuple[float, float]:
    """Weibull ``(scale, shape)`` with ``H(t) = (t/scale)^shape`` fitted to a baseline's tail.

    >>> t = np.array([12.0, 24, 36, 48, 60])
    >>> scale, shape = fit_weibull_tail(t, (t / 80.0) ** 1.3)
    >>> round(scale, 6), round(shape, 6)
    (80.0, 1.3)
    """
    t = np.asarray(event_times, dtype=float)
    h = np.asarray(cum_hazard, dtype=float)
    ok = (t > 0) & (h > 0)
    t, h = t[ok], h[ok]
    if len(t) == 0:
        return float("inf"), 1.0
    if len(t) >= 3:
        tail = t >= np.median(t) if (t >= np.median(t)).sum() >= 3 else np.ones(len(t), bool)
        shape, intercept = np.polyfit(np.log(t[tail]), np.log(h[tail]), 1)
        shape = float(np.clip(shape, 0.2, 5.0))
    else:
        shape = 1.0
    scale = float(t[-1] / h[-1] ** (1.0 / shape))  # through the last point: continuous
    return scale, shape


def _stratum_levels(s: pd.Series) -> list:
    """Levels of a strata column as strings: categories, or the sorted distinct values
    (integers such as 0/1 included)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return [str(c) for c in s.cat.categories if (s == c).any()]
    vals = pd.unique(s.dropna())
    try:
        vals = sorted(vals)
    except TypeError:
        vals = sorted(vals, key=str)
    return [str(v) for v in vals]


class CoxRenewalModel(RenewalModel):
    """Cox proportional hazards on account covariates.

    Parameters
    ----------
    covariates : list of str, optional
        Default: every standard covariate present and not constant (see
        :mod:`tobmodel.renewal.features`), minus the strata columns.
    strata : "auto", str, list of str or None
        Columns with a separate baseline each. ``"auto"``: ``contract_term``
        when it takes more than one value.
    penalizer, l1_ratio : float
        Passed to ``lifelines.CoxPHFitter`` (ridge / elastic-net shrinkage).
    baseline : {"weibull", "step"}
        How to treat time beyond the last churn seen (see module notes).
        Default ``"weibull"``: an account older than every churner still gets
        a churn risk; ``"step"`` reproduces lifelines exactly (flat, so ~0).
    allow_unknown_categories : bool
        Score category values unseen in training as the reference level
        instead of refusing them.

    Examples
    --------
    >>> import tobmodel
    >>> from tobmodel.renewal import build_account_features
    >>> sim = tobmodel.simulate("saas", n_accounts=600, seed=4)
    >>> f = build_account_features(sim)
    >>> m = CoxRenewalModel(covariates=["tier", "sales_overpromised", "logins_trend"]).fit(f)
    >>> m.strata_
    ['contract_term']
    >>> s = m.score(f)
    >>> bool(s["p_churn_horizon"].dropna().between(0, 1).all())
    True
    """

    name = "cox"
    _options = ("covariates", "strata", "penalizer", "l1_ratio", "baseline",
                "allow_unknown_categories")

    def __init__(self, covariates=None, strata="auto", penalizer: float = 0.0,
                 l1_ratio: float = 0.0, baseline: str = "weibull",
                 allow_unknown_categories: bool = False):
        self.covariates = covariates
        self.strata = strata
        self.penalizer = penalizer
        self.l1_ratio = l1_ratio
        self.baseline = baseline
        self.allow_unknown_categories = allow_unknown_categories

    # -- fitting -----------------------------------------------------------------
    def _resolve_strata(self, df):
        s = self.strata
        if s == "auto":
            given = self.covariates or []
            return (["contract_term"] if "contract_term" in df and "contract_term" not in given
                    and df["contract_term"].nunique() > 1 else [])
        if s is None:
            return []
        s = [s] if isinstance(s, str) else list(s)
        missing = [c for c in s if c not in df]
        if missing:
            raise ValueError(f"features: strata column(s) {missing} not found")
        return s

    def _stratum_codes(self, df) -> np.ndarray:
        """Index of each row's stratum in ``stratum_keys_`` (-1 if the combination is new)."""
        if not self.strata_:
            return np.zeros(len(df), dtype=np.int64)
        combined = np.zeros(len(df), dtype=np.int64)
        bad = np.zeros(len(df), dtype=bool)
        for c in self.strata_:
            lv = self.strata_levels_[c]
            code = level_codes(df[c], lv)
            bad |= code < 0
            combined = combined * len(lv) + np.maximum(code, 0)
        table = np.full(int(np.prod([len(v) for v in self.strata_levels_.values()])), -1)
        for i, key in enumerate(self.stratum_keys_):
            k = 0
            for c, v in zip(self.strata_, key):
                k = k * len(self.strata_levels_[c]) + self.strata_levels_[c].index(v)
            table[k] = i
        out = np.where(bad, -1, table[combined])
        if (out < 0).any():
            rows = np.flatnonzero(out < 0)
            vals = df.iloc[rows[:3]][self.strata_].astype(str).agg("/".join, axis=1).tolist()
            raise ValueError(
                f"data: stratum {vals} of {self.strata_} was not in the training data "
                f"(rows {', '.join(str(r + 1) for r in rows[:3])}); refit including it")
        return out

    def fit(self, features: pd.DataFrame) -> "CoxRenewalModel":
        """Fit on :func:`build_account_features` output; returns ``self``."""
        from lifelines import CoxPHFitter
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        check_penalizer(self.penalizer, self.l1_ratio)
        strata = self._resolve_strata(features)
        enc, dropped, X, T, E = training_design(features, self.covariates, self.penalizer,
                                                exclude=strata)
        covs = enc.covariates
        self.strata_ = strata
        self.strata_levels_ = {c: _stratum_levels(features[c]) for c in strata}
        keys = features[strata].astype(str).drop_duplicates() if strata else pd.DataFrame()
        self.stratum_keys_ = (sorted(map(list, keys.itertuples(index=False)), key=lambda k: [
            self.strata_levels_[c].index(v) for c, v in zip(strata, k)]) if strata else [[]])
        stratum = self._stratum_codes(features)
        for i, key in enumerate(self.stratum_keys_):
            if strata and E[stratum == i].sum() == 0:
                raise ValueError(f"features: stratum {dict(zip(strata, key))} has no churn events,"
                                 " so its baseline hazard is zero; drop it or fit without strata"
                                 " (strata=None)")
        frame = pd.DataFrame(X, columns=enc.columns)
        frame["tenure_months"] = T
        frame["churned"] = E
        if strata:
            frame["_stratum"] = stratum
        cph = CoxPHFitter(penalizer=self.penalizer, l1_ratio=self.l1_ratio)
        run_lifelines("Cox model", lambda: cph.fit(frame, "tenure_months", "churned",
                                                   strata=["_stratum"] if strata else None),
                      enc.columns, X)
        self.encoder_ = enc
        self.covariates_ = covs
        self.dropped_covariates_ = dropped
        self.coef_ = cph.params_[enc.columns].to_numpy(dtype=float)
        self.se_ = cph.standard_errors_[enc.columns].to_numpy(dtype=float)
        self.p_ = cph.summary["p"][enc.columns].to_numpy(dtype=float)
        self.center_ = cph._norm_mean[enc.columns].to_numpy(dtype=float)
        self._set_baseline(cph.baseline_cumulative_hazard_, T, E, stratum)
        warn_near_separation(enc.columns, self.coef_, X.std(axis=0))
        self.lifelines_fitter_ = cph
        self.log_likelihood_ = float(cph.log_likelihood_)
        self.concordance_index_ = float(cph.concordance_index_)
        self.AIC_ = float(cph.AIC_partial_)  # partial likelihood: no baseline parameters
        self._training_frame = frame
        self.n_accounts_, self.n_events_ = len(frame), int(E.sum())
        self.as_of_, self.business_type_ = snapshot_info(features)
        self.features_ = schema_for(features, enc, extra=strata)
        for f in self.features_:
            if f["name"] in self.strata_levels_:
                f["categories"] = list(self.strata_levels_[f["name"]])
        self.model_id_ = make_model_id(self.name, self.config_(), data_fingerprint(frame))
        self._profile_training(features)
        return self

    def _set_baseline(self, bch: pd.DataFrame, T, E, stratum):
        times = bch.index.to_numpy(dtype=float)
        self.baseline_times_, self.baseline_cumhaz_ = [], []
        self.last_event_time_, self.tail_scale_, self.tail_shape_ = [], [], []
        for i in range(len(self.stratum_keys_)):
            col = bch.iloc[:, 0] if bch.shape[1] == 1 else bch[i]
            t, h = _compress(times, col.to_numpy(dtype=float))
            ev = np.unique(T[(stratum == i) & (E == 1)])
            scale, shape = fit_weibull_tail(ev, np.interp(ev, t, h))
            self.baseline_times_.append(t)
            self.baseline_cumhaz_.append(h)
            self.last_event_time_.append(float(ev[-1]) if len(ev) else 0.0)
            self.tail_scale_.append(scale)
            self.tail_shape_.append(shape)

    def config_(self) -> dict:
        """Settings that define the model (go into its id and file)."""
        return {"model": self.name, "covariates": list(self.covariates_),
                "strata": list(self.strata_), "penalizer": float(self.penalizer),
                "l1_ratio": float(self.l1_ratio), "baseline": self.baseline,
                "allow_unknown_categories": bool(self.allow_unknown_categories),
                "as_of": self.as_of_text(), "business_type": self.business_type_,
                "n_accounts": int(self.n_accounts_), "n_events": int(self.n_events_)}

    # -- the model document ----------------------------------------------------------
    def _payload(self) -> dict:
        return {
            "strata": {"columns": self.strata_, "levels": self.strata_levels_,
                       "keys": self.stratum_keys_},
            "baseline": [{"times": t, "cumulative_hazard": h, "last_event_time": last,
                          "tail_scale": scale, "tail_shape": shape}
                         for t, h, last, scale, shape in zip(
                             self.baseline_times_, self.baseline_cumhaz_, self.last_event_time_,
                             self.tail_scale_, self.tail_shape_)]}

    def _read_payload(self, doc: dict) -> None:
        st = doc["strata"]
        self.strata_, self.strata_levels_ = list(st["columns"]), dict(st["levels"])
        self.stratum_keys_ = [list(k) for k in st["keys"]]
        b = doc["baseline"]
        if len(b) != len(self.stratum_keys_):
            raise ValueError(f"{len(b)} baselines for {len(self.stratum_keys_)} strata "
                             "(one per stratum expected)")
        self.baseline_times_, self.baseline_cumhaz_ = [], []
        for i, x in enumerate(b):
            t = doc_numbers(x["times"], f"baseline[{i}].times")
            if len(t) == 0 or (np.diff(t) < 0).any():
                raise ValueError(f"baseline[{i}].times must be a non-empty increasing list")
            self.baseline_times_.append(t)
            self.baseline_cumhaz_.append(doc_numbers(x["cumulative_hazard"],
                                                     f"baseline[{i}].cumulative_hazard", len(t)))
        self.last_event_time_ = [doc_number(x["last_event_time"], f"baseline[{i}].last_event_time")
                                 for i, x in enumerate(b)]
        # a tail scale of null means "no Weibull tail" (infinite scale), as written by fit
        self.tail_scale_ = [float("inf") if x["tail_scale"] is None else
                            doc_number(x["tail_scale"], f"baseline[{i}].tail_scale")
                            for i, x in enumerate(b)]
        self.tail_shape_ = [doc_number(x["tail_shape"], f"baseline[{i}].tail_shape")
                            for i, x in enumerate(b)]

    # -- scoring hooks -------------------------------------------------------------
    def _knots(self):
        """All strata's baselines as one piecewise-linear function, so that one
        ``np.interp`` serves every account: stratum ``i`` lives at times
        ``i * width + t``, padded on both sides by ``PAD_MONTHS`` of flat baseline
        (lifelines' own clamping at the ends)."""
        key = (id(self.baseline_times_), len(self.baseline_times_))
        cached = getattr(self, "_knots_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        width = float(max(t[-1] for t in self.baseline_times_)) + 2 * PAD_MONTHS + 1.0
        off = width * np.arange(len(self.baseline_times_))
        times, values = [], []
        for o, t, h in zip(off, self.baseline_times_, self.baseline_cumhaz_):
            times.append(np.r_[o - PAD_MONTHS, o + t, o + t[-1] + PAD_MONTHS])
            values.append(np.r_[h[0], h, h[-1]])
        h_last = [float(np.interp(last, t, h)) for t, h, last in zip(
            self.baseline_times_, self.baseline_cumhaz_, self.last_event_time_)]
        knots = {"t": np.concatenate(times), "h": np.concatenate(values), "offset": off,
                 "last": np.asarray(self.last_event_time_, float), "h_last": np.array(h_last),
                 "scale": np.asarray(self.tail_scale_, float),
                 "shape": np.asarray(self.tail_shape_, float)}
        self._knots_cache = (key, knots)
        return knots

    def _state(self, df):
        lp = np.zeros(len(df))
        for _, term in self.encoder_.terms(df, self.coef_, self.center_,
                                           self.allow_unknown_categories):
            lp += term
        st = self._stratum_codes(df)
        k = self._knots()
        state = {"risk": np.exp(lp), "stratum": st, "last": k["last"][st]}
        if len(k["offset"]) > 1:  # the account's stratum segment, looked up once
            state["offset"] = k["offset"][st]
        return state

    def _sort_offset(self, state):
        return state.get("offset", 0.0)

    _risk_key = "risk"  # H(t | x) = H0_k(t) * risk, the product taken last in _cumhaz
    _baseline_keys = ("stratum",)  # a row's "last" and "offset" are its stratum's

    def _cumhaz(self, t, state):
        """``H0_k(t) * exp(lp)``: lifelines' linear interpolation of its baseline (flat
        outside the knots), plus the Weibull tail past the last churn if chosen."""
        t = np.asarray(t, dtype=float)
        k, st = self._knots(), state["stratum"]
        h = np.interp(t + state["offset"] if "offset" in state else t, k["t"], k["h"])
        if self.baseline == "weibull":
            ext = np.flatnonzero(t > state["last"])
            ext = ext[np.isfinite(k["scale"][st[ext]])]
            if len(ext):  # only the rows past the last churn seen in their stratum
                i = st[ext]
                scale, shape, last = k["scale"][i], k["shape"][i], k["last"][i]
                h[ext] = k["h_last"][i] + (t[ext] / scale) ** shape - (last / scale) ** shape
        h *= state["risk"]
        return h

    def _last_event(self, state):
        return state["last"]

    # -- reporting -------------------------------------------------------------------
    @property
    def hazard_ratios_(self) -> pd.DataFrame:
        """Hazard ratio per design column with 95% interval and p-value (tidy)."""
        from scipy import stats  # here: scoring a saved model does not import scipy.stats
        self._check_fitted()
        z = stats.norm.ppf(0.975)
        ref = []
        for c in self.encoder_.columns:
            name = c.split("=", 1)[0]
            spec = self.encoder_.categorical.get(name)
            ref.append(f"{name}={spec['reference']}" if spec else "per unit")
        return pd.DataFrame({
            "covariate": self.encoder_.columns,
            "hazard_ratio": np.exp(self.coef_),
            "lower_95": np.exp(self.coef_ - z * self.se_),
            "upper_95": np.exp(self.coef_ + z * self.se_),
            "p": self.p_,
            "compared_with": ref,
        })

    def plot_hazard_ratios(self, ax=None):
        """Forest plot of the hazard ratios (log scale); returns the Axes."""
        from .plotting_models import plot_forest
        return plot_forest(self.hazard_ratios_, ax=ax, value="hazard_ratio",
                           title=f"Cox model: hazard ratios ({self.model_id})")

    def ph_check_report(self, alpha: float = 0.01) -> PHCheck:
        """Test proportional hazards per covariate (scaled Schoenfeld residuals, rank time).

        Returns ``PHCheck(table, text)``: the table has one row per covariate
        (``test_statistic, p, breaks_ph, advice``); ``text`` says in plain words
        which covariates break the assumption and what to do about each.
        Needs the model fitted in this session (the training data is not saved).
        """
        from lifelines.statistics import proportional_hazard_test
        cph = getattr(self, "lifelines_fitter_", None)
        if cph is None:
            raise ValueError("ph_check_report needs the training data: refit the model "
                             "(a loaded model does not carry it)")
        res = proportional_hazard_test(cph, self._training_frame, time_transform="rank")
        summ = res.summary
        groups = self.encoder_.column_groups
        kinds = {f["name"]: f["dtype"] for f in self.features_}
        rows = []
        for i, c in enumerate(self.covariates_):
            cols = [col for col, g in zip(self.encoder_.columns, groups) if g == i]
            sub = summ.loc[cols]
            j = int(np.argmin(sub["p"].to_numpy()))
            p = float(sub["p"].iloc[j]) * len(cols)  # Bonferroni over a covariate's levels
            cat = kinds.get(c) in ("category", "bool")
            if cat:
                advice = (f"stratify on it: fit_renewal_model(features, strata="
                          f"{[*self.strata_, c]!r})")
            else:
                advice = ("add a time interaction (its effect changes with tenure) or use "
                          "model='weibull_aft' or a discrete-time model")
            rows.append({"covariate": c, "test_statistic": float(sub["test_statistic"].iloc[j]),
                         "p": min(p, 1.0), "breaks_ph": bool(p < alpha),
                         "advice": advice if p < alpha else ""})
        table = pd.DataFrame(rows)
        bad = table[table["breaks_ph"]]
        if bad.empty:
            text = (f"Proportional hazards holds for all {len(table)} covariates at the "
                    f"{alpha:.0%} level: each covariate's effect on churn stays the same "
                    "whatever the customer's tenure.")
        else:
            items = "; ".join(f"{r.covariate} (p={r.p:.2g}): {r.advice}" for r in bad.itertuples())
            text = (f"{len(bad)} of {len(table)} covariates break proportional hazards at the "
                    f"{alpha:.0%} level, i.e. their effect on churn changes with tenure: {items}. "
                    f"With {self.n_accounts_} accounts small departures test significant; "
                    "act on those whose hazard ratio matters for decisions.")
        return PHCheck(table, text)

