"""The lead-quality classifiers: scikit-learn Pipelines built from stock parts.

``make_lead_model`` returns an unfitted Pipeline::

    prepare   ColumnTransformer: categories -> one-hot (logistic) or codes (hgb),
              numbers -> log1p for head counts + standard scaling (logistic) or as is
    classify  LogisticRegression or HistGradientBoostingClassifier (engagement,
              budget and activity may only raise the probability), wrapped in
              CalibratedClassifierCV unless calibration=None

The pipeline takes a raw leads frame (it picks its own columns), keeps column
names (``model[:-1].get_feature_names_out()``) and composes with scikit-learn
(``clone``, ``cross_val_score``, ``GridSearchCV``).

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
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, \
    StandardScaler

from ..schema import LEADS
from .features import DEFAULT_FEATURES

__all__ = ["make_lead_model", "KINDS", "CALIBRATIONS", "LOG_FEATURES", "MONOTONE_INCREASING"]

KINDS = ("hgb", "logistic")
CALIBRATIONS = ("sigmoid", "isotonic", None)
LOG_FEATURES = ("employees",)  # heavy-tailed counts: the logistic model sees log1p
# Domain prior for boosting: engaging the decision chain, a confirmed budget and more
# activity never lower a lead's chance (keeps reasons from saying "- budget confirmed").
MONOTONE_INCREASING = ("decision_maker_engaged", "user_engaged", "requester_engaged",
                       "budget_confirmed", "site_visits", "trial_active_days")


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
                    monotone_increasing=MONOTONE_INCREASING) -> Pipeline:
    """Build an unfitted lead-quality Pipeline.

    Parameters
    ----------
    kind : {'hgb', 'logistic'}
        HistGradientBoostingClassifier (captures interactions) or
        LogisticRegression (a transparent baseline).
    calibration : {'sigmoid', 'isotonic', None}
        Probability calibration by CalibratedClassifierCV on out-of-fold
        predictions (``ensemble=False``: one classifier fit on all leads).
    random_state : int
        Seed for the boosting's early-stopping split.
    features : list of str, optional
        Lead columns to use; default :data:`~tobmodel.leads.features.DEFAULT_FEATURES`.
    categorical : list of str, optional
        Which of ``features`` are categories; default: those the schema calls
        ``category``. Everything else is a number (true/false counts as 0/1).
    calibration_folds : int
        Folds for the calibration's out-of-fold predictions.
    monotone_increasing : tuple of str
        Numeric or true/false features whose effect the boosting may only make
        positive (``monotonic_cst``); default :data:`MONOTONE_INCREASING`. Pass
        ``()`` to let the data decide. Ignored by the logistic model.

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
        parts = [("category", OrdinalEncoder(handle_unknown="use_encoded_value",
                                             unknown_value=np.nan), cats),
                 ("number", "passthrough", nums)]
        monotone = {f: 1 for f in nums if f in set(monotone_increasing)}
        clf = HistGradientBoostingClassifier(
            categorical_features=cats or None, max_leaf_nodes=31, random_state=random_state,
            monotonic_cst=monotone or None)
    prepare = ColumnTransformer([p for p in parts if p[2]], remainder="drop",
                                verbose_feature_names_out=False)
    prepare.set_output(transform="pandas")
    if calibration is not None:
        clf = CalibratedClassifierCV(clf, method=calibration, cv=calibration_folds,
                                     ensemble=False)
    return Pipeline([("prepare", prepare), ("classify", clf)])
