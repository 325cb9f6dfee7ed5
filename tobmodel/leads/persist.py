"""Save and load lead models as JSON: loading reads numbers, it never runs code.

The file is a tobmodel model document (see :mod:`tobmodel.persist`) of kind
``"lead"``. Besides the common header (model id, versions, feature schema) it
holds the feature encoding (category lists), the classifier as plain numbers
(logistic: intercept and one term per feature; boosting: every tree's node
arrays), the calibrator (sigmoid a, b or isotonic thresholds), the reference
values for reasons and the score yardstick. The loaded model scores with the
same code as the fitted one, so the numbers agree exactly.

Examples
--------
>>> import tempfile, pathlib, tobmodel
>>> from tobmodel.leads import fit_lead_model
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=400, seed=1)
>>> model = fit_lead_model(sim.leads, kind="logistic")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "lead.json"
>>> again = load_lead_model(save_lead_model(model, path))
>>> again.model_id == model.model_id
True
"""
from __future__ import annotations

from pathlib import Path

from ..persist import ModelFileError, read_model_json, write_model_json
from .engine import Calibrator, Encoding, engine_from_spec
from .leadmodel import LeadModel

__all__ = ["save_lead_model", "load_lead_model", "LEAD_FORMAT"]

LEAD_FORMAT = 1
_KEYS = ("lead_format", "encoding", "classifier", "calibrator", "references", "score_grid",
         "kinds", "config", "training", "versions", "features", "model_id")


def save_lead_model(model: LeadModel, path) -> Path:
    """Write ``model`` to ``path`` (JSON, atomically; same model, same bytes).

    Parameters
    ----------
    model : LeadModel
    path : str or Path

    Returns
    -------
    Path
    """
    if not isinstance(model, LeadModel):
        raise TypeError(f"save_lead_model expects a LeadModel, got {type(model).__name__}")
    doc = {"kind": "lead", "name": model.name, "model_id": model.model_id,
           "versions": model.versions, "features": model.features_, "id_column": "lead_id",
           "created_from": {"table": "leads", **model.config,
                            **{k: model.training_.get(k) for k in ("first_created",
                                                                    "last_created")}},
           "lead_format": LEAD_FORMAT, "encoding": model.encoding.to_dict(),
           "classifier": model.spec, "calibrator": model.calibrator.to_dict(),
           "references": model.references, "score_grid": model.grid.tolist(),
           "kinds": model.kinds, "config": model.config, "training": model.training_}
    return write_model_json(doc, path)


def load_lead_model(path) -> LeadModel:
    """Read a lead model saved by :func:`save_lead_model`.

    Refuses (``ModelFileError``, one line) files that are not tobmodel lead
    models, come from a newer lead format, or are incomplete.
    """
    doc = read_model_json(path, kind="lead")
    missing = [k for k in _KEYS if k not in doc]
    if missing:
        raise ModelFileError(f"{path}: lead model file is incomplete (no {', '.join(missing)})")
    if doc["lead_format"] != LEAD_FORMAT:
        raise ModelFileError(f"{path}: lead model format {doc['lead_format']} is not supported "
                             f"(this tobmodel reads format {LEAD_FORMAT})")
    try:
        encoding = Encoding.from_dict(doc["encoding"])
        engine = engine_from_spec(encoding, doc["classifier"])
        calibrator = Calibrator.from_dict(doc["calibrator"])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ModelFileError(f"{path}: lead model file is damaged ({e.__class__.__name__}: {e})"
                             ) from None
    return LeadModel(encoding, engine, calibrator, doc["classifier"], features=doc["features"],
                     kinds=doc["kinds"], references=doc["references"], grid=doc["score_grid"],
                     config=doc["config"], training=doc["training"], model_id=doc["model_id"],
                     versions=doc["versions"], pipeline=None)
