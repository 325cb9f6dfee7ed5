"""The lead-quality classifiers: scikit-learn Pipelines built from stock parts.

``make_lead_model`` returns an unfitted Pipeline::

    prepare   ColumnTransformer: categories -> one-hot (logistic) or pandas
              categoricals (hgb: LightGBM reads their codes and keeps their
              categories), numbers -> log1p for head counts + standard scaling
              (logistic) or as is
    classify  LogisticRegression or LightGBM's LGBMClassifier (histogram gradient
              boosting; engagement, budget and activity may only raise the
              probability), wrapped in CalibratedClassifierCV unless calibration=None

The pipeline takes a raw leads frame (it picks its own columns), keeps column
names (``model[:-1].get_feature_names_out()``) and composes with scikit-learn
(``clone``, ``cross_val_score``, ``GridSearchCV``).

Why LightGBM for ``kind="hgb"``: a saved lead model is evaluated by tobmodel's own
code from plain arrays (:mod:`tobmodel.trees`), so the trees must be readable
through a documented interface. LightGBM documents its model dump
(``Booster.dump_model()``: every node's feature, threshold, missing-value rule,
categories and counts); scikit-learn's HistGradientBoostingClassifier keeps its trees
in private attributes that may change in any minor release. Both fit histogram
boosting at the same speed and accuracy on our leads (see ``benchmarks/bench_leads.py``).

Calibration defaults to ``"sigmoid"``: it keeps the ranking of leads (so
grades and capacity plans do not tie) and needs little data. ``"isotonic"`` is
more flexible but turns scores into steps; use it with many thousand leads.

Examples
--------
>>> import tobmodel
>>> from tobmodel.leads.features import outcome_labels
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=400, seed=1)
>>> closed, y, _ = outcome_labels(sim.leads)
>>> model = make_lead_model("logistic").fit(closed, y)
>>> p = model.predict_proba(closed)[:, 1]
>>> bool(0 < p.min() and p.max() < 1)
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..schema import LEADS
from ..trees import import_lightgbm
from .features import DEFAULT_FEATURES

__all__ = ["make_lead_model", "as_category", "KINDS", "CALIBRATIONS", "LOG_FEATURES",
           "MONOTONE_INCREASING"]

KINDS = ("hgb", "logistic")
CALIBRATIONS = ("sigmoid", "isotonic", None)
LOG_FEATURES = ("employees",)  # heavy-tailed counts: the logistic model sees log1p
# Domain prior for boosting: engaging the decision chain, a confirmed budget and more
# activity never lower a lead's chance (keeps reasons from saying "- budget confirmed").
MONOTONE_INCREASING = ("decision_maker_engaged", "user_engaged", "requester_engaged",
                       "budget_confirmed", "site_visits", "trial_active_days")


def as_category(X: pd.DataFrame) -> pd.DataFrame:
    """Every column of ``X`` as an unordered pandas categorical (the same categories).

    The boosting's category step: LightGBM codes a categorical column by its
    categories when it fits, keeps them (``dump_model()["pandas_categorical"]``)
    and re-aligns later frames to them by value, so a value it never saw is
    missing. Taking the codes is vectorised, where scikit-learn's OrdinalEncoder
    looked every value up in Python (1.3 s CPU of a 1.1M-lead fit).

    >>> as_category(pd.DataFrame({"intent": ["low", "high", "low"]}))["intent"].cat.codes.tolist()
    [1, 0, 1]
    """
    X = pd.DataFrame(X).copy(deep=False)
    for c in X.columns:
        if not isinstance(X[c].dtype, pd.CategoricalDtype):
            X[c] = X[c].astype("category")
        elif X[c].cat.ordered:  # LightGBM would split an ordered one as a number
            X[c] = X[c].cat.as_unordered()
    return X


def _split_kinds(features, categorical):
    if categorical is None:
        categorical = [f for f in features
                       if f in LEADS.names and LEADS.column(f).kind == "category"]
    cats = [f for f in features if f in set(categorical)]
    nums = [f for f in features if f not in set(cats)]
    return cats, nums


def make_lead_model(kind: str = "hgb", calibration: str | None = "sigmoid",
                    random_state: int = 0, features=None, categorical=None,
                    calibration_folds: int = 3,
                    monotone_increasing=MONOTONE_INCREASING, n_jobs: int = 1) -> Pipeline:
    """Build an unfitted lead-quality Pipeline.

    Parameters
    ----------
    kind : {'hgb', 'logistic'}
        Histogram gradient boosting (``lightgbm.LGBMClassifier``: 100 trees of at
        most 31 leaves, categories split natively; captures interactions) or
        LogisticRegression (a transparent baseline).
    calibration : {'sigmoid', 'isotonic', None}
        Probability calibration by CalibratedClassifierCV on out-of-fold
        predictions (``ensemble=False``: one classifier fit on all leads).
        From 50,000 closed leads, :func:`~tobmodel.leads.fit_lead_model`
        calibrates on a time-ordered hold-out instead (one fit instead of
        ``calibration_folds + 1``).
    random_state : int
        Seed for the boosting.
    features : list of str, optional
        Lead columns to use; default :data:`~tobmodel.leads.features.DEFAULT_FEATURES`.
    categorical : list of str, optional
        Which of ``features`` are categories; default: those the schema calls
        ``category``. Everything else is a number (true/false counts as 0/1).
    calibration_folds : int
        Folds for the calibration's out-of-fold predictions.
    monotone_increasing : tuple of str
        Numeric or true/false features whose effect the boosting may only make
        positive (``monotone_constraints``); default :data:`MONOTONE_INCREASING`. Pass
        ``()`` to let the data decide. Ignored by the logistic model.
    n_jobs : int
        LightGBM's threads (default 1, see :func:`boosting_classifier`; -1: every
        core). The trees are the same for any number. Ignored by the logistic model.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``prepare`` (ColumnTransformer, pandas output) and ``classify``.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> model = make_lead_model("hgb", calibration="isotonic")
    >>> clone(model).named_steps["classify"].method
    'isotonic'
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {calibration!r}")
    features = list(DEFAULT_FEATURES if features is None else features)
    cats, nums = _split_kinds(features, categorical)
    if kind == "logistic":
        logs = [f for f in nums if f in LOG_FEATURES]
        plain = [f for f in nums if f not in LOG_FEATURES]
        parts = [("category", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats),
                 ("log_number", Pipeline([
                     ("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
                     ("scale", StandardScaler())]), logs),
                 ("number", StandardScaler(), plain)]
        clf = LogisticRegression(C=1.0, max_iter=2000)
    else:
        parts = [("category", FunctionTransformer(as_category, feature_names_out="one-to-one"),
                  cats),
                 ("number", "passthrough", nums)]
        clf = boosting_classifier(len(cats), [f in set(monotone_increasing) for f in nums],
                                  random_state, n_jobs)
    prepare = ColumnTransformer([p for p in parts if p[2]], remainder="drop",
                                verbose_feature_names_out=False)
    prepare.set_output(transform="pandas")
    if calibration is not None:
        clf = CalibratedClassifierCV(clf, method=calibration, cv=calibration_folds,
                                     ensemble=False)
    return Pipeline([("prepare", prepare), ("classify", clf)])


def boosting_classifier(n_categories: int, increasing, random_state: int = 0,
                        n_jobs: int = 1):
    """The boosting step: ``LGBMClassifier`` on ``n_categories`` code columns, then numbers.

    ``increasing`` flags, per number column, a monotone (never lowering) effect.
    Settings follow scikit-learn's HistGradientBoostingClassifier defaults (100
    trees, 31 leaves, learning rate 0.1, at least 20 leads per leaf);
    ``deterministic=True``: the same leads and seed give the same trees, whatever
    ``n_jobs``. One thread by default (``n_jobs=1``): a weekly job runs unattended,
    often beside others, and spinning LightGBM threads slowed a busy machine's fit
    fivefold (now they sleep when idle: :func:`tobmodel.trees.import_lightgbm`). On
    cores of the job's own, ``n_jobs=2`` or more (``-1``: all) shares the boosting,
    about half of a one-thread fit of a million leads, between them
    (``benchmarks/bench_leads.py`` times several counts).
    """
    LGBMClassifier = import_lightgbm().LGBMClassifier
    monotone = [0] * n_categories + [int(bool(f)) for f in increasing]
    # 'categorical_column' is LightGBM's alias of categorical_feature: given at
    # construction it survives clone(), GridSearchCV and CalibratedClassifierCV.
    options = {"categorical_column": list(range(n_categories))} if n_categories else {}
    if any(monotone):
        options["monotone_constraints"] = monotone
    return LGBMClassifier(n_estimators=100, learning_rate=0.1, num_leaves=31,
                          min_child_samples=20, random_state=random_state,
                          n_jobs=n_jobs, deterministic=True, force_row_wise=True, verbose=-1,
                          **options)
