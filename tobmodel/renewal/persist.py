"""Save and load renewal models as one JSON file each (loading never executes code).

The file follows the common header of :mod:`tobmodel.persist` (``kind:
"renewal"``) and carries everything scoring needs as plain numbers: design
encoder (levels and reference of each categorical), coefficients and
centres, and for Cox the baseline cumulative hazard per stratum (knots) with its
Weibull tail; for AFT models the intercept and shape. Each model class writes
and reads its own part (``to_document`` / ``from_document``); loading goes
through :func:`tobmodel.registry.load_model`, which reads the file once. A
loaded model scores exactly like the fitted one: no pickle, no code.

Examples
--------
>>> import tempfile, pathlib, tobmodel
>>> from tobmodel.renewal import build_account_features, fit_renewal_model
>>> f = build_account_features(tobmodel.simulate("saas", n_accounts=400, seed=8))
>>> m = fit_renewal_model(f, covariates=["tier", "logins_trend"])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "cox.json"
>>> m2 = load_renewal_model(m.save(path))
>>> m2.model_id == m.model_id and bool((m2.score(f)["p_churn_horizon"]
...                                     .equals(m.score(f)["p_churn_horizon"])))
True
"""
from __future__ import annotations

from pathlib import Path


def save_renewal_model(model, path) -> Path:
    """Write ``model`` to ``path`` (atomic; sorted keys: same model, same bytes)."""
    return model.save(path)


def load_renewal_model(path):
    """Load a renewal model file; refuses anything else (one-line ``ModelFileError``)."""
    from ..registry import load_model
    return load_model(path, kind="renewal")
