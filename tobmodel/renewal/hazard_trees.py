"""A boosted discrete-time churn hazard: LightGBM on the person-month design rows.

:class:`~tobmodel.renewal.dynamic.DynamicHazardModel` with ``hazard="boosting"``
fits the monthly churn hazard with gradient-boosted trees instead of one
logistic regression per group (the group columns, e.g. the tier, become
features the trees may split on). The trees are kept as plain arrays
(LightGBM's documented model dump, read by :mod:`tobmodel.trees`): a saved model
loads without LightGBM and without running code, and the fit checks that the
plain arrays give LightGBM's own raw scores.

Reasons come from the trees' path contributions (Saabas' decomposition, as
LightGBM's approximate ``pred_contrib``): each split on an account's path moves
the expected log-odds from the node's to the child's and the move is credited
to the split's covariate. Relative to the ensemble's expected log-odds they
play the part of the logistic model's ``(x - mean) * beta``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(4000, 2))
>>> y = (rng.random(4000) < 1 / (1 + np.exp(-(-3 + 2 * (X[:, 0] > 0))))).astype(int)
>>> spec, ens = fit_hazard_trees(X, y, {"n_estimators": 20, "learning_rate": 0.2,
...                                     "num_leaves": 4, "min_child_samples": 50}, seed=0)
>>> raw = tree_raw(ens, X)
>>> bool(raw[X[:, 0] > 0].mean() > raw[X[:, 0] <= 0].mean() + 1)
True
"""
from __future__ import annotations

import numpy as np

from ..trees import TreeEnsemble, import_lightgbm, trees_from_lightgbm

#: LightGBM settings of the boosted hazard (``DynamicHazardModel(boosting=...)`` overrides)
BOOSTING_DEFAULTS = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15,
                     "min_child_samples": 200, "reg_lambda": 1.0}
CHECK_ROWS = 5_000  #: training rows on which the plain arrays are checked against LightGBM


def fit_hazard_trees(X: np.ndarray, y: np.ndarray, params: dict, seed: int = 0):
    """Fit LightGBM's binary objective on design rows ``X``; ``(spec, ensemble)``.

    ``spec`` is the plain-array form (JSON-ready), ``ensemble`` its evaluator.
    One thread and ``deterministic=True``: the same rows and seed give the same
    trees. Raises ``RuntimeError`` if the plain arrays do not reproduce
    LightGBM's raw scores to 1e-9 (a LightGBM release that changed its dump).
    """
    LGBMClassifier = import_lightgbm().LGBMClassifier  # idle OpenMP threads sleep
    opts = {**BOOSTING_DEFAULTS, **(params or {})}
    unknown = set(opts) - set(BOOSTING_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown boosting options {sorted(unknown)}; "
                         f"known: {sorted(BOOSTING_DEFAULTS)}")
    if not 2 <= int(opts["num_leaves"]) <= 64:
        raise ValueError("boosting num_leaves must be between 2 and 64")
    clf = LGBMClassifier(objective="binary", random_state=int(seed), n_jobs=1,
                         deterministic=True, force_row_wise=True, verbose=-1, **opts)
    clf.fit(np.asarray(X, float), np.asarray(y, int))
    spec = trees_from_lightgbm(clf.booster_.dump_model(), [0] * X.shape[1])
    ens = ensemble_from_spec(spec, X.shape[1])
    rows = np.random.default_rng(0).choice(len(X), min(CHECK_ROWS, len(X)), replace=False)
    want = clf.predict(X[rows], raw_score=True)
    if not np.allclose(tree_raw(ens, X[rows]), want, rtol=0, atol=1e-9):
        raise RuntimeError("the plain-array trees do not reproduce LightGBM's raw scores; "
                           "this LightGBM release is not supported for the boosted hazard")
    return spec, ens


def ensemble_from_spec(spec: dict, n_columns: int) -> TreeEnsemble:
    """The evaluator of saved trees over ``n_columns`` numeric design columns; a file whose
    trees name other columns is refused (``ValueError``)."""
    if len(spec.get("categorical", [])) != n_columns or any(spec["categorical"]):
        raise ValueError(f"model file: the trees are over {len(spec.get('categorical', []))} "
                         f"columns, the model has {n_columns} numeric design columns")
    for t in spec["trees"]:
        f = np.asarray(t["feature"], int)[~np.asarray(t["is_leaf"], bool)]
        if len(f) and (f.min() < 0 or f.max() >= n_columns):
            raise ValueError("model file: a tree splits on a column the model does not have")
    return TreeEnsemble(spec, [0] * n_columns)


def tree_raw(ens: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    """Raw scores (log-odds) of design rows ``X``, in blocks that stay in the cache."""
    out = np.empty(len(X))
    for a in range(0, len(X), ens.chunk_rows):
        out[a:a + ens.chunk_rows] = ens.prepare(X[a:a + ens.chunk_rows]).raw
    return out


def tree_contributions(ens: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    """Per design column, its path contribution to each row's log-odds (n x columns);
    a row's contributions add up to its raw score minus the ensemble's expected one."""
    out = np.empty((len(X), ens.n_features))
    for a in range(0, len(X), ens.chunk_rows):
        out[a:a + ens.chunk_rows] = ens.prepare(X[a:a + ens.chunk_rows]).contributions()
    return out
