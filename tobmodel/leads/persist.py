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

from ..persist import doc_numbers
from .engine import Calibrator, Encoding, engine_from_spec

__all__ = ["save_lead_model", "load_lead_model", "lead_document", "lead_state", "LEAD_FORMAT"]

LEAD_FORMAT = 1
_KEYS = ("lead_format", "encoding", "classifier", "calibrator", "references", "score_grid",
         "kinds", "config", "training", "versions", "features", "model_id")


def lead_document(model) -> dict:
    """The JSON-ready document of a fitted :class:`LeadModel` (its ``to_document``)."""
    doc = model.header_document()
    doc.update(versions=model.versions_, config=model.fit_config_,
               created_from={"table": "leads", **model.fit_config_,
                             **{k: model.training_.get(k) for k in ("first_created",
                                                                     "last_created")}},
               lead_format=LEAD_FORMAT, encoding=model.encoding_.to_dict(),
               classifier=model.classifier_, calibrator=model.calibrator_.to_dict(),
               references=model.references_, score_grid=model.grid_.tolist(),
               kinds=model.kinds_, training=model.training_)
    return doc


def lead_state(doc: dict) -> dict:
    """The fitted state of a lead model document (``LeadModel.from_document``).

    Raises ``KeyError`` / ``ValueError`` naming what is missing or damaged (the
    registry turns them into one-line ``ModelFileError``).
    """
    missing = [k for k in _KEYS if k not in doc]
    if missing:
        raise KeyError(", ".join(missing))
    if doc["lead_format"] != LEAD_FORMAT:
        raise ValueError(f"lead model format {doc['lead_format']} is not supported "
                         f"(this tobmodel reads format {LEAD_FORMAT})")
    encoding = Encoding.from_dict(doc["encoding"])
    if len(doc["kinds"]) != len(encoding.names) or len(doc["references"]) != len(encoding.names):
        raise ValueError(f"kinds and references must have one entry per feature "
                         f"({len(encoding.names)})")
    grid = doc_numbers(doc["score_grid"], "score_grid")
    training = doc["training"]
    return {"encoding": encoding, "engine": engine_from_spec(encoding, doc["classifier"]),
            "calibrator": Calibrator.from_dict(doc["calibrator"]),
            "classifier": doc["classifier"], "features": doc["features"], "kinds": doc["kinds"],
            "references": doc["references"], "grid": grid, "config": doc["config"],
            "training": training, "model_id": doc["model_id"], "versions": doc["versions"],
            # files of tobmodel 0.1 record no as-of: the latest lead they were fitted on
            "as_of": doc.get("as_of", training.get("last_created"))}


def save_lead_model(model, path) -> Path:
    """Write ``model`` to ``path`` (JSON, atomically; same model, same bytes).

    Parameters
    ----------
    model : LeadModel
    path : str or Path

    Returns
    -------
    Path
    """
    if getattr(model, "kind", None) != "lead" or not hasattr(model, "to_document"):
        raise TypeError(f"save_lead_model expects a LeadModel, got {type(model).__name__}")
    return model.save(path)


def load_lead_model(path):
    """Read a lead model saved by :func:`save_lead_model` (or ``model.save``).

    Refuses (``ModelFileError``, one line) files that are not tobmodel lead
    models, come from a newer lead format, or are incomplete.
    """
    from ..registry import load_model
    return load_model(path, kind="lead")
