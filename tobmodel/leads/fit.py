"""Fit lead-quality models on leads with known outcomes, and cross-validate them in time.

Examples
--------
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=400, seed=1)
>>> state = fit_state(sim.leads, kind="logistic")
>>> state["training"]["n_open_excluded"] == int((sim.leads["status"] == "open").sum())
True
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.base import clone

from ..io.profile import reference_profile
from ..persist import data_fingerprint, feature_schema, library_versions, make_model_id
from .engine import CHECK_ROWS, calibrate_by_folds, calibrate_on, engine_from_pipeline
from .evaluate import lead_metrics
from .features import DEFAULT_FEATURES, LeadDataError, check_feature_frame, check_no_leakage, \
    outcome_labels, spread_rows
from .pipeline import MONOTONE_INCREASING, make_lead_model
from .reasons import reference_values
from .scoring import chunks, grid_ranks, score_grid
from .timesplit import TimeOrderedSplit

__all__ = ["fit_state", "cross_validate_by_time", "leads_as_of", "SmallDataWarning",
           "MIN_CONVERSIONS"]

MIN_CONVERSIONS = 10    # fewer converted (or lost) leads: refuse to fit
FEW_CONVERSIONS = 100   # fewer: warn that the model is rough
CALIBRATION_SHARE = 0.2  # newest share of closed leads that calibrates, the rest trains
CALIBRATION_FOLDS = 3    # folds of the cross-validated calibration, for fewer leads
HOLDOUT_MIN_LEADS = 50_000  # closed leads from which the newest share calibrates alone
LEAKAGE_ROWS = 200_000   # leads the single-feature leakage AUCs are computed on, at most
PROFILE_ROWS = 250_000   # evenly spread training leads the drift reference profile counts


def leads_as_of(leads: pd.DataFrame) -> str | None:
    """The date a leads table was known up to: its ``attrs["as_of"]`` (simulations and
    tables read with an as-of), else the latest creation or outcome date; ``None`` if
    it records no date."""
    if leads.attrs.get("as_of"):
        return str(pd.Timestamp(leads.attrs["as_of"]).date())
    dates = [_dates(leads[c], errors="coerce").max()
             for c in ("created_date", "outcome_date") if c in leads.columns]
    dates = [d for d in dates if pd.notna(d)]
    return str(max(dates).date()) if dates else None


def _dates(s: pd.Series, errors: str = "raise") -> pd.Series:
    """``pd.to_datetime(s)``, skipped for a column that holds dates already (0.1 s per 1M)."""
    return s if pd.api.types.is_datetime64_any_dtype(s.dtype) else pd.to_datetime(s, errors=errors)


class SmallDataWarning(UserWarning):
    """Few leads or conversions: the model will be rough."""


def _prepare(leads, features, source, check_leakage):
    """Closed leads, labels, open count, feature list and kinds; refuse unusable data."""
    if not isinstance(leads, pd.DataFrame):
        raise TypeError(f"{source}: expected a pandas DataFrame of leads, got {type(leads).__name__}")
    features = list(DEFAULT_FEATURES if features is None else features)
    # the closed leads' columns a fit reads (copying the others cost 0.07 s per 1.1M leads)
    closed, y, n_open = outcome_labels(leads, source,
                                       {*features, "business_type", "created_date"})
    if "business_type" in closed.columns and "business_type" not in features \
            and closed["business_type"].nunique() > 1:
        features.append("business_type")  # leads of several business types: tell them apart
    check_no_leakage(closed, features, None, source)
    kinds = check_feature_frame(closed, features, source)
    n_conv, n_lost = int(y.sum()), int(len(y) - y.sum())
    if n_conv == 0 or n_lost == 0:
        only = "lost" if n_conv == 0 else "converted"
        raise LeadDataError(f"{source}: all {len(y):,} closed leads are {only} (column 'status'); "
                            "a lead model needs both converted and lost leads")
    if min(n_conv, n_lost) < MIN_CONVERSIONS:
        raise LeadDataError(
            f"{source}: only {n_conv} converted and {n_lost} lost closed leads; need at least "
            f"{MIN_CONVERSIONS} of each: use a longer period or pool business types")
    if check_leakage:  # by data, on at most LEAKAGE_ROWS evenly spread leads
        rows = spread_rows(len(y), LEAKAGE_ROWS)
        check_no_leakage(closed.iloc[rows], features, y[rows], source)
    if min(n_conv, n_lost) < FEW_CONVERSIONS:
        warnings.warn(f"{source}: only {min(n_conv, n_lost)} {'converted' if n_conv < n_lost else 'lost'}"
                      " leads: the model will be rough; prefer kind='logistic' with "
                      "calibration='sigmoid' and check it with cross_validate_by_time",
                      SmallDataWarning, stacklevel=3)
    return closed, y, n_open, features, kinds


def fit_state(leads: pd.DataFrame, kind: str = "hgb", calibration: str | None = "sigmoid",
              features=None, random_state: int = 0, check_leakage: bool = True,
              source: str = "leads", n_jobs: int = 1) -> dict:
    """Fit a calibrated lead-quality model; the fitted state for ``LeadModel._set_fitted``.

    The work behind :meth:`LeadModel.fit <tobmodel.leads.LeadModel.fit>` and
    :func:`~tobmodel.leads.fit_lead_model` (see there for the parameters).
    """
    closed, y, n_open, features, kinds = _prepare(leads, features, source, check_leakage)
    categorical = [f for f in features if kinds[f] == "category"]
    hold = _calibration_holdout(closed, y, calibration)
    config = {"kind": kind, "calibration": calibration, "random_state": int(random_state),
              "features": features,
              "calibrated_on": None if calibration is None else
              "newest leads" if hold is not None else f"{CALIBRATION_FOLDS}-fold cv",
              "monotone_increasing": [f for f in MONOTONE_INCREASING if f in features]}
    train = np.arange(len(y)) if hold is None else np.flatnonzero(~hold)
    pipeline = make_lead_model(kind, None, random_state, features, categorical=categorical,
                               n_jobs=n_jobs)
    columns = closed.columns.get_indexer(features)  # the feature columns only are copied
    # with a hold-out, LightGBM's own scores of the leads it trains on (not scored again)
    kept = _TrainingScores() if kind == "hgb" and hold is not None else None
    pipeline.fit(closed.iloc[train, columns], y[train],
                 **({"classify__callbacks": [kept]} if kept else {}))
    encoding, engine, calibrator, spec = engine_from_pipeline(pipeline)
    model_kinds = [kinds[n] for n in encoding.names]
    encoding.kinds = ["category" if k == "category" else "number" for k in model_kinds]
    Z = encoding.encode(closed, source=source, warn=False)
    raw = np.full(len(Z), np.nan)
    scored = np.arange(len(Z)) if kept is None else np.flatnonzero(hold)
    raw[scored] = _raw_scores(engine, Z[scored])
    if kept is not None:
        raw[train] = kept.log_odds(engine, Z[train], source)
    if hold is not None:
        pipeline, calibrator = calibrate_on(pipeline, engine,
                                            closed.iloc[np.flatnonzero(hold), columns], y[hold],
                                            raw[hold], calibration, source)
    elif calibration is not None:
        calibrated = make_lead_model(kind, calibration, random_state, features,
                                     categorical=categorical,
                                     calibration_folds=CALIBRATION_FOLDS,
                                     n_jobs=n_jobs).fit(closed, y)
        calibrator = calibrate_by_folds(calibrated, pipeline, closed, y, raw,
                                        CALIBRATION_FOLDS, source)
        pipeline = calibrated
    p = calibrator(raw)
    if kept is None:
        grid = score_grid(p)
    else:  # the leads at the grid's ranks, scored by the trees as every later lead is
        at = np.argsort(p, kind="stable")[grid_ranks(len(p))]
        grid = np.sort(calibrator(_raw_scores(engine, Z[at])))
    dates = _dates(closed["created_date"]) if "created_date" in closed.columns else None
    # drift shares from evenly spread leads: PSI within 0.001 of all 1.1M leads' (0.35 s less)
    profiled = spread_rows(len(y), PROFILE_ROWS)
    training = {"n_train": int(len(y)), "n_converted": int(y.sum()),
                "n_open_excluded": n_open, "conversion_rate": float(y.mean()),
                "first_created": None if dates is None else str(dates.min().date()),
                "last_created": None if dates is None else str(dates.max().date()),
                "n_calibration": 0 if hold is None else int(hold.sum()),
                "fingerprint": data_fingerprint(pd.DataFrame(  # the columns, not copies
                    {**{f: closed[f] for f in features}, "_converted": y}, copy=False))}
    schema = feature_schema(closed, encoding.names)
    return dict(
        encoding=encoding, engine=engine, calibrator=calibrator, classifier=spec,
        features=schema, kinds=model_kinds,
        references=reference_values(Z, model_kinds), grid=grid,
        config=config, training=training,
        model_id=make_model_id(f"lead_{kind}", config, training["fingerprint"]),
        versions=library_versions("scikit-learn", *(["lightgbm"] if kind == "hgb" else [])),
        as_of=leads_as_of(leads), pipeline=pipeline,
        # the training leads and their p_convert, for the weekly job's drift checks
        reference_profile=reference_profile(closed.iloc[profiled, columns], schema,
                                            scores=p[profiled], score_column="p_convert"))


def _raw_scores(engine, Z: np.ndarray) -> np.ndarray:
    """The engine's raw scores (log-odds) of the encoded leads ``Z``."""
    raw = np.empty(len(Z))
    for part in chunks(len(Z), False, engine.chunk_rows):
        raw[part] = engine.prepare(Z[part]).raw
    return raw


class _TrainingScores:
    """A LightGBM callback that keeps its probabilities of the training leads after the last round.

    LightGBM updates its scores of the leads it trains on every round; after the
    last, ``Booster.eval_train`` hands them to an evaluation function (documented:
    the probability of class 1 for the binary objective). :meth:`log_odds` turns
    them into raw scores and checks them against the trees read from the model
    dump on :data:`~tobmodel.leads.engine.CHECK_ROWS` evenly spread leads (1e-9):
    the same scores, to rounding, that scoring every training lead again with the
    trees (1.7 s per 1.1M leads) would give.
    """

    order, before_iteration = 100, False  # what LightGBM reads of a callback

    def __init__(self):
        self.p = None

    def __call__(self, env):
        if env.iteration + 1 == env.end_iteration:
            env.model.eval_train(self._keep)

    def _keep(self, preds, data):
        self.p = np.array(preds, dtype=np.float64)
        return "kept", 0.0, False

    def log_odds(self, engine, Z: np.ndarray, source: str = "leads") -> np.ndarray:
        """Raw scores of the training leads ``Z``: LightGBM's, checked; the trees' own
        when LightGBM handed none (a version whose callbacks run otherwise): slower,
        the same numbers."""
        if self.p is None or self.p.shape != (len(Z),):
            return _raw_scores(engine, Z)
        with np.errstate(divide="ignore"):
            raw = logit(self.p)
        rows = spread_rows(len(Z), CHECK_ROWS)
        ok = np.abs(self.p[rows] - 0.5) < 0.5 - 1e-6  # logit loses digits next to 0 and 1
        gap = float(np.max(np.abs(raw[rows][ok] - _raw_scores(engine, Z[rows[ok]])),
                           initial=0.0))
        if not gap <= 1e-9:
            raise LeadDataError(f"{source}: LightGBM's scores of its training leads differ "
                                f"from its trees' by up to {gap:.2g} > 1e-9 (log-odds)")
        return raw


def _calibration_holdout(closed, y, calibration):
    """Which closed leads calibrate (the newest whole days), or None to use CV folds.

    The newest :data:`CALIBRATION_SHARE` of closed leads (by ``created_date``,
    whole days; input order without that column) calibrate the probabilities
    and the older ones train the classifier: one fit, on leads in the order the
    model will meet them. With fewer than :data:`HOLDOUT_MIN_LEADS` closed leads
    (or fewer than ``FEW_CONVERSIONS`` converted or lost leads in either part),
    every lead is needed for training: the calibration then uses out-of-fold
    predictions (:data:`CALIBRATION_FOLDS` folds, the classifier fitted once
    more per fold), which costs seconds at that size. On 3,930 leads the
    hold-out lost 0.01 ROC AUC and 0.01-0.02 calibration error against the folds.
    """
    n = len(y)
    if calibration is None or n < HOLDOUT_MIN_LEADS:
        return None
    start = int(np.floor(n * (1 - CALIBRATION_SHARE)))
    hold = np.zeros(n, bool)
    if "created_date" in closed.columns:
        days = _dates(closed["created_date"]).to_numpy().astype("datetime64[D]")
        order = np.argsort(days, kind="stable")
        hold = days >= days[order[start]]
        if hold.all():  # every lead on one day: split by row order instead
            hold = np.zeros(n, bool)
            hold[order[start:]] = True
    else:
        hold[start:] = True
    for part in (hold, ~hold):
        k = int(y[part].sum())
        if min(k, int(part.sum()) - k) < FEW_CONVERSIONS:
            return None
    return hold



def cross_validate_by_time(leads: pd.DataFrame, n_splits: int = 5, kind: str = "hgb",
                           calibration: str | None = "sigmoid", features=None,
                           random_state: int = 0, source: str = "leads") -> pd.DataFrame:
    """Expanding-window cross-validation in order of ``created_date``.

    Fold k trains on the oldest leads and tests on the next block of newer
    ones (:class:`~tobmodel.leads.TimeOrderedSplit`); open leads are left out.

    Returns
    -------
    DataFrame
        One row per fold: ``fold, train_from, train_to, test_from, test_to,
        n_train, leads, converted, conversion_rate, mean_p_convert, roc_auc, pr_auc,
        brier, calibration_error, top_decile_lift``.

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("saas", "maturity", n_accounts=600, seed=1)
    >>> cv = cross_validate_by_time(sim.leads, n_splits=3, kind="logistic")
    >>> len(cv), bool((cv["roc_auc"] > 0.6).all())
    (3, True)
    """
    closed, y, _, features, kinds = _prepare(leads, features, source, True)
    base = make_lead_model(kind, calibration, random_state, features,
                           categorical=[f for f in features if kinds[f] == "category"])
    dates = pd.to_datetime(closed["created_date"]).to_numpy()
    rows = []
    for k, (tr, te) in enumerate(TimeOrderedSplit(n_splits).split(closed), start=1):
        if len(np.unique(y[tr])) < 2:
            raise LeadDataError(f"{source}: fold {k} trains on leads of one outcome only; "
                                "use fewer folds")
        model = clone(base).fit(closed.iloc[tr], y[tr])
        p = model.predict_proba(closed.iloc[te])[:, 1]
        day = lambda i: str(pd.Timestamp(dates[i]).date())  # noqa: E731
        rows.append({"fold": k, "train_from": day(tr[0]),
                     "train_to": day(tr[-1]), "test_from": day(te[0]), "test_to": day(te[-1]),
                     "n_train": len(tr), **lead_metrics(y[te], p)})
    return pd.DataFrame(rows)
