"""Save and load renewal models as one JSON file each (loading never executes code).

The file follows the common header of :mod:`tobmodel.persist` (``kind:
"renewal"``) and carries everything scoring needs as plain numbers: design
encoder (levels and reference of each categorical), coefficients and
centres, and for Cox the baseline cumulative hazard per stratum (knots) with its
Weibull tail; for AFT models the intercept and shape. A loaded model scores
exactly like the fitted one.

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

import numpy as np

from ..io.profile import check_profile
from ..persist import ModelFileError, library_versions, read_model_json, write_model_json
from .models import MODELS, DesignEncoder, model_class


def model_document(model) -> dict:
    """The JSON-ready document of a fitted renewal model."""
    model._check_fitted()
    doc = {
        "kind": "renewal", "name": model.name, "model_id": model.model_id,
        "versions": library_versions("lifelines", "scipy"),
        "features": model.features_, "id_column": model.id_column,
        "created_from": model.config_(),
        "encoder": model.encoder_.to_dict(),
        "dropped_covariates": list(model.dropped_covariates_),
        "coefficients": {"names": model.encoder_.columns, "coef": model.coef_,
                         "se": model.se_, "p": model.p_, "center": model.center_},
    }
    if model.reference_profile_ is not None:  # training distribution, for drift checks
        doc["reference_profile"] = model.reference_profile_
    if model.name == "cox":
        doc["strata"] = {"columns": model.strata_, "levels": model.strata_levels_,
                         "keys": model.stratum_keys_}
        doc["baseline"] = [
            {"times": t, "cumulative_hazard": h, "last_event_time": last,
             "tail_scale": scale, "tail_shape": shape}
            for t, h, last, scale, shape in zip(
                model.baseline_times_, model.baseline_cumhaz_, model.last_event_time_,
                model.tail_scale_, model.tail_shape_)]
    else:
        doc["aft"] = {"intercept": model.intercept_, "shape": model.shape_,
                      "last_event_time": model.last_event_time_}
    return doc


def save_renewal_model(model, path) -> Path:
    """Write ``model`` to ``path`` (atomic; sorted keys: same model, same bytes)."""
    return write_model_json(model_document(model), path)


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def load_renewal_model(path):
    """Load a renewal model saved by :meth:`RenewalModel.save`; refuses anything else."""
    doc = read_model_json(path, kind="renewal")
    try:
        return _from_document(doc)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ModelFileError(f"{path}: renewal model file is incomplete or damaged "
                             f"({type(e).__name__}: {e})") from None


def _from_document(doc: dict):
    name = doc["name"]
    if name == "dynamic":
        from .dynamic import DynamicHazardModel
        return DynamicHazardModel.from_document(doc)
    if name not in MODELS:
        raise ValueError(f"unknown renewal model {name!r}")
    cfg = doc["created_from"]
    options = {k: cfg[k] for k in ("covariates", "penalizer", "allow_unknown_categories")}
    if name == "cox":
        options.update(strata=cfg["strata"], l1_ratio=cfg["l1_ratio"], baseline=cfg["baseline"])
    m = model_class(name)(**options)
    m.encoder_ = DesignEncoder.from_dict(doc["encoder"])
    m.covariates_ = list(m.encoder_.covariates)
    m.dropped_covariates_ = list(doc["dropped_covariates"])
    coefs = doc["coefficients"]
    if coefs["names"] != m.encoder_.columns:
        raise ValueError("coefficient names do not match the encoder's design columns")
    m.coef_, m.se_, m.p_, m.center_ = (_arr(coefs[k]) for k in ("coef", "se", "p", "center"))
    m.features_ = doc["features"]
    profile = doc.get("reference_profile")  # training distribution (drift checks)
    m.reference_profile_ = None if profile is None else check_profile(profile)
    m.model_id_ = doc["model_id"]
    m.saved_by_version_ = doc["versions"]["tobmodel"]
    m.as_of_, m.business_type_ = cfg["as_of"], cfg["business_type"]
    m.n_accounts_, m.n_events_ = cfg["n_accounts"], cfg["n_events"]
    m.lifelines_fitter_ = None
    if name == "cox":
        st = doc["strata"]
        m.strata_, m.strata_levels_, m.stratum_keys_ = st["columns"], st["levels"], st["keys"]
        b = doc["baseline"]
        m.baseline_times_ = [_arr(x["times"]) for x in b]
        m.baseline_cumhaz_ = [_arr(x["cumulative_hazard"]) for x in b]
        m.last_event_time_ = [float(x["last_event_time"]) for x in b]
        m.tail_scale_ = [float("inf") if x["tail_scale"] is None else float(x["tail_scale"])
                         for x in b]
        m.tail_shape_ = [float(x["tail_shape"]) for x in b]
        if len(b) != len(m.stratum_keys_):
            raise ValueError("one baseline per stratum expected")
    else:
        a = doc["aft"]
        m.intercept_, m.shape_ = float(a["intercept"]), float(a["shape"])
        m.last_event_time_ = float(a["last_event_time"])
    return m
