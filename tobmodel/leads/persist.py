"""Save and load lead models as JSON: loading reads numbers, it never runs code.

The file is a tobmodel model document (see :mod:`tobmodel.persist`) of kind
``"lead"``. Besides the common header (model id, versions, feature schema) it
holds the feature encoding (category lists), the classifier as plain numbers
(logistic: intercept and one term per feature; boosting: every tree's node
arrays), the calibrator (sigmoid a, b or isotonic thresholds), the reference
values for reasons and the score yardstick. The loaded model scores with the
same code as the fitted one, so the numbers agree exactly.

What a file saved today needs to load tomorrow
----------------------------------------------
Only tobmodel and numpy/pandas/scipy: loading builds no scikit-learn or
LightGBM object and reads none of their attributes (LightGBM is not even
imported), so upgrading either never breaks a saved model. The payload is versioned by ``lead_format``:

* format 2 (current): boosted trees from LightGBM's documented model
  dump, with per-node training counts (``count``, used for per-feature
  contributions); the calibrator records its ``input`` (``"raw"`` log-odds or the
  classifier's ``"probability"``).
* format 1 (tobmodel 0.1.0, before the move to LightGBM): trees from
  scikit-learn's HistGradientBoosting, calibrator on the log-odds, no counts.
  Still loaded and scored identically; their trees explain leads by "what if"
  scores as before (see :mod:`.reasons`).

Every future tobmodel reads every earlier format (``tests/fixtures`` holds files
saved by 0.1.0, and a test scores them against the scores that version gave);
a file of a newer format than the running tobmodel is refused with a one-line
message naming both formats, never read half-way. Saved models also carry the
library versions they were fitted with and the feature schema the data must
match. A fitting-time change of scikit-learn or LightGBM that altered what
their documented outputs mean is caught when fitting (the plain-number model
is checked against scikit-learn's to 1e-9), not when scoring.

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

from .._version import __version__
from ..io.profile import check_profile
from ..persist import doc_numbers
from .engine import Calibrator, Encoding, engine_from_spec

__all__ = ["save_lead_model", "load_lead_model", "lead_document", "lead_state", "LEAD_FORMAT",
           "READS_FORMATS"]

LEAD_FORMAT = 2
READS_FORMATS = (1, 2)
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
    if model.reference_profile_ is not None:  # training distribution (drift checks)
        doc["reference_profile"] = model.reference_profile_
    return doc


def lead_state(doc: dict) -> dict:
    """The fitted state of a lead model document (``LeadModel.from_document``).

    Raises ``KeyError`` / ``ValueError`` naming what is missing or damaged (the
    registry turns them into one-line ``ModelFileError``).
    """
    missing = [k for k in _KEYS if k not in doc]
    if missing:
        raise KeyError(", ".join(missing))
    if doc["lead_format"] not in READS_FORMATS:
        from ..persist import ModelFileError
        saved_by = doc["versions"].get("tobmodel", "?") if isinstance(doc["versions"], dict) \
            else "?"
        raise ModelFileError(  # the registry puts the file name in front
            f"lead model format {doc['lead_format']!r} (saved by tobmodel {saved_by}) "
            f"is not supported: this tobmodel {__version__} reads formats "
            f"{', '.join(map(str, READS_FORMATS))}; upgrade tobmodel to load it")
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
            "as_of": doc.get("as_of", training.get("last_created")),
            "reference_profile": None if doc.get("reference_profile") is None
            else check_profile(doc["reference_profile"])}


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

    Reads every lead format listed in :data:`READS_FORMATS` (see the module
    docstring). Refuses (``ModelFileError``, one line) files that are not
    tobmodel lead models, come from a newer lead format, or are incomplete or
    damaged.
    """
    from ..registry import load_model
    return load_model(path, kind="lead")
