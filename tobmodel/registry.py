"""The model registry: a model ``name`` -> the class that reads and scores it.

A model file is one JSON document (:mod:`tobmodel.persist`) whose ``name``
says which class wrote it. :func:`load_model` reads the file **once**, checks
the common header and hands the document to ``Class.from_document(doc)``;
each class owns its own serialisation, so there is no ``if name == ...`` here.
Classes are named as ``"module.path:ClassName"`` strings and imported only
when a model of that name is loaded: loading a Cox model imports neither
lifelines nor scikit-learn.

To add a model kind, add one entry to :data:`MODEL_CLASSES`; the class
follows :class:`tobmodel.protocol.ScoringModel`.

Examples
--------
>>> model_class("cox").__name__
'CoxRenewalModel'
>>> sorted(n for n in MODEL_CLASSES if n.startswith("lead"))
['lead_hgb', 'lead_logistic']
>>> model_class("xgboost")
Traceback (most recent call last):
...
tobmodel.persist.ModelFileError: unknown model name 'xgboost' (known: cox, dynamic, lead_hgb, lead_logistic, loglogistic_aft, repurchase, weibull_aft)
"""
from __future__ import annotations

import importlib

from .protocol import ID_COLUMNS, KINDS

# standard library only at import time (the command line reads FIT_NAMES for its --help)

MODEL_CLASSES = {
    "cox": "tobmodel.renewal.cox:CoxRenewalModel",
    "weibull_aft": "tobmodel.renewal.parametric:WeibullAFTRenewalModel",
    "loglogistic_aft": "tobmodel.renewal.parametric:LogLogisticAFTRenewalModel",
    "dynamic": "tobmodel.renewal.dynamic:DynamicHazardModel",
    "repurchase": "tobmodel.renewal.repurchase:RepurchaseModel",
    "lead_hgb": "tobmodel.leads.leadmodel:LeadModel",
    "lead_logistic": "tobmodel.leads.leadmodel:LeadModel",
}

#: what ``tobmodel fit --model`` / :func:`tobmodel.export.fit_model` accept -> registered name
FIT_NAMES = {"cox": "cox", "weibull_aft": "weibull_aft", "loglogistic_aft": "loglogistic_aft",
             "dynamic": "dynamic", "repurchase": "repurchase", "lead": "lead_hgb", "lead-hgb": "lead_hgb", "lead-logistic": "lead_logistic"}

#: errors a damaged document raises in ``from_document`` (turned into ModelFileError)
DOCUMENT_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def model_class(name: str):
    """The class registered for model ``name`` (imported on first use)."""
    from .persist import ModelFileError
    target = MODEL_CLASSES.get(name) if isinstance(name, str) else None
    if target is None:
        raise ModelFileError(f"unknown model name {name!r} (known: "
                             f"{', '.join(sorted(MODEL_CLASSES))})")
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def check_header(doc: dict, source="model file", kind: str | None = None) -> None:
    """The protocol header every document carries: kind, name, id column, features."""
    from .persist import ModelFileError
    if doc.get("kind") not in KINDS:
        raise ModelFileError(f"{source}: unknown model kind {doc.get('kind')!r} (expected one "
                             f"of {', '.join(KINDS)})")
    if kind is not None and doc["kind"] != kind:
        raise ModelFileError(f"{source}: is a {doc['kind']!r} model, expected a {kind!r} model")
    if doc.get("name") not in MODEL_CLASSES:
        raise ModelFileError(f"{source}: unknown model name {doc.get('name')!r} (known: "
                             f"{', '.join(sorted(MODEL_CLASSES))})")
    missing = [k for k in ("model_id", "features", "versions") if k not in doc]
    if missing:
        raise ModelFileError(f"{source}: {doc['kind']} model file is incomplete or damaged "
                             f"(no {', '.join(missing)})")
    id_column = doc.get("id_column", ID_COLUMNS[doc["kind"]])
    if id_column != ID_COLUMNS[doc["kind"]]:
        raise ModelFileError(f"{source}: id_column {id_column!r} does not fit a "
                             f"{doc['kind']} model ({ID_COLUMNS[doc['kind']]!r})")
    if not isinstance(doc["features"], list) or not all(
            isinstance(f, dict) and isinstance(f.get("name"), str) for f in doc["features"]):
        raise ModelFileError(f"{source}: {doc['kind']} model file is incomplete or damaged "
                             "(features must be a list of {\"name\": ..., \"dtype\": ...})")


def model_from_document(doc: dict, source="model document", kind: str | None = None):
    """The model a document describes; one-line :class:`ModelFileError` if it is damaged."""
    from .persist import ModelFileError
    check_header(doc, source, kind)
    cls = model_class(doc["name"])
    try:
        return cls.from_document(doc)
    except ModelFileError as e:  # raised by the class with a reason: name the file
        raise ModelFileError(f"{source}: {e}") from None
    except KeyError as e:
        raise ModelFileError(f"{source}: {doc['kind']} model file is incomplete (no "
                             f"{e.args[0] if e.args else 'key'})") from None
    except DOCUMENT_ERRORS as e:
        raise ModelFileError(f"{source}: {doc['kind']} model file is incomplete or damaged "
                             f"({type(e).__name__}: {' '.join(str(e).split())})") from None


def load_model(path, kind: str | None = None):
    """Load any tobmodel model file: read it once, check the header, dispatch on ``name``.

    Parameters
    ----------
    path : str or Path
    kind : {'renewal', 'lead'}, optional
        Refuse a model of the other kind.

    Raises
    ------
    ModelFileError
        One line naming the file: not a model file, unknown name, damaged
        content (missing keys, null or non-finite numbers, lists of
        inconsistent lengths).
    """
    from .persist import read_model_json
    return model_from_document(read_model_json(path), path, kind)
