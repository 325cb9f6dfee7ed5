"""Model files that load without executing code: JSON with a common header.

Every saved tobmodel model is one JSON document::

    {"format": "tobmodel-model", "format_version": 1, "kind": "renewal" | "lead",
     "name": ..., "model_id": ..., "versions": {...}, "features": [...],
     "id_column": ..., "as_of": "YYYY-MM-DD" | null, "config": {...}, ...payload...}

The model classes write and read their own documents (``to_document`` /
``from_document``, :mod:`tobmodel.protocol`); :func:`tobmodel.registry.load_model`
reads a file once and hands it to the class registered for its ``name``.
``json.load`` never runs code, so a model file from anywhere is safe to open.
The feature schema travels with the model and incoming data is checked against
it (:func:`check_schema`).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"tier": pd.Categorical(["KA", "SMB"]), "seats": [10, 3]})
>>> feats = feature_schema(df, ["tier", "seats"])
>>> [f["name"] for f in feats]
['tier', 'seats']
>>> check_schema(df, feats)  # passes silently
>>> check_schema(df[["seats"]], feats, source="accounts.csv")
Traceback (most recent call last):
...
tobmodel.persist.SchemaMismatchError: accounts.csv: data does not match the model's features: missing column 'tier'
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ._version import __version__
from .io.values import show
from .io.writers import atomic_path

FORMAT = "tobmodel-model"
FORMAT_VERSION = 1


class SchemaMismatchError(ValueError):
    """Data handed to a model does not match the feature schema saved with it."""


class ModelFileError(ValueError):
    """A file is not a readable tobmodel model."""


def library_versions(*names: str) -> dict:
    """Versions of tobmodel and the named libraries, for the model header."""
    from importlib.metadata import PackageNotFoundError, version
    out = {"tobmodel": __version__, "numpy": np.__version__, "pandas": pd.__version__}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:  # pragma: no cover
            out[n] = "unknown"
    return out


def data_fingerprint(df: pd.DataFrame) -> str:
    """Stable hash of a frame's contents (same data, same hash)."""
    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def make_model_id(name: str, config: dict, fingerprint: str = "") -> str:
    """``<name>-<12 hex>`` from the model name, its config, tobmodel version and data."""
    blob = json.dumps({"name": name, "config": config, "version": __version__,
                       "data": fingerprint}, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def feature_schema(df: pd.DataFrame, columns) -> list[dict]:
    """Describe ``columns`` of ``df``: name, dtype kind and, for categoricals, categories."""
    out = []
    for c in columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
            cats = (list(map(str, s.cat.categories)) if isinstance(s.dtype, pd.CategoricalDtype)
                    else sorted(map(str, s.dropna().unique())))
            out.append({"name": c, "dtype": "category", "categories": cats})
        elif s.dtype.kind == "b" or str(s.dtype) == "boolean":
            out.append({"name": c, "dtype": "bool"})
        elif s.dtype.kind in "iuf" or str(s.dtype) in ("Int64", "Float64"):
            out.append({"name": c, "dtype": "number"})
        elif s.dtype.kind == "M":
            out.append({"name": c, "dtype": "date"})
        else:
            out.append({"name": c, "dtype": str(s.dtype)})
    return out


def check_schema(df: pd.DataFrame, features: list[dict], source: str = "data",
                 allow_unknown_categories: bool = False) -> None:
    """Raise :class:`SchemaMismatchError` unless ``df`` carries the model's features.

    Checks presence, dtype kind and (unless allowed) category values; the
    message names the columns and example rows.
    """
    missing = [f["name"] for f in features if f["name"] not in df.columns]
    if missing:
        cols = ", ".join(repr(m) for m in missing)
        raise SchemaMismatchError(
            f"{source}: data does not match the model's features: missing column"
            f"{'s' if len(missing) > 1 else ''} {cols}")
    for f in features:
        s = df[f["name"]]
        kind = f["dtype"]
        if kind == "number" and not (s.dtype.kind in "iufb" or str(s.dtype) in (
                "Int64", "Float64", "boolean")):
            raise SchemaMismatchError(
                f"{source}: column {f['name']!r} must be numeric for this model, got {s.dtype}")
        if kind == "bool" and not (s.dtype.kind in "bi" or str(s.dtype) == "boolean"):
            raise SchemaMismatchError(
                f"{source}: column {f['name']!r} must be true/false for this model, got {s.dtype}")
        if kind == "category" and not allow_unknown_categories:
            known = set(f["categories"])
            vals = s.astype("object")
            bad = vals.notna() & ~vals.astype(str).isin(known)
            if bad.any():
                rows = np.flatnonzero(bad.to_numpy())
                raise SchemaMismatchError(
                    f"{source}: column {f['name']!r} has values the model never saw: "
                    f"{show(vals[bad].unique())} (rows "
                    f"{show(rows[:3] + 1)}; known: {', '.join(f['categories'])})")


def json_ready(obj):
    """Make numpy scalars/arrays JSON-ready (what ``to_document`` returns); non-finite
    floats become None (``null``), dates ``YYYY-MM-DD``."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(obj).date())
    return obj


def write_model_json(document: dict, path) -> Path:
    """Write a model document atomically, with sorted keys (same model, same bytes)."""
    for key in ("kind", "name", "model_id", "features"):
        if key not in document:
            raise ValueError(f"model document lacks {key!r}")
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, **json_ready(document)}
    text = json.dumps(doc, sort_keys=True, indent=1, allow_nan=False)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text + "\n", encoding="utf-8")
    return Path(path)


def parse_model_document(text: str, source="model file") -> dict:
    """Check the header of a model document given as JSON text; return the document.

    A UTF-8 byte-order mark (as some Windows editors write) is tolerated.
    Raises a one-line :class:`ModelFileError` naming ``source`` otherwise.
    """
    try:
        doc = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{source}: not a tobmodel model file (not JSON: "
                             f"{e.__class__.__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not a tobmodel model file (no '\"format\": \"{FORMAT}\"')")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{source}: model format version {doc.get('format_version')} is "
                             f"not supported by tobmodel {__version__} (expects {FORMAT_VERSION})")
    return doc


def read_model_json(path, kind: str | None = None) -> dict:
    """Read a model file once and check its header; one-line :class:`ModelFileError` if it is
    not one (or, with ``kind``, not a model of that kind)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelFileError(f"{path}: not a tobmodel model file (not JSON: "
                             f"{e.__class__.__name__})") from None
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read model file ({e.strerror})") from None
    doc = parse_model_document(text, path)
    if kind is not None and doc.get("kind") != kind:
        raise ModelFileError(f"{path}: is a {doc.get('kind')!r} model, expected a {kind!r} model")
    return doc


# ------------------------------------------------- reading a document back (from_document)


def doc_numbers(value, what: str, length: int | None = None, allow_missing: bool = False
                ) -> np.ndarray:
    """``value`` (a list of numbers from a model document) as a float array, checked.

    Raises ``ValueError`` naming ``what`` when an entry is not a finite number
    (``null`` in JSON, from a NaN or infinity) or the length is not ``length``.
    ``allow_missing``: ``null`` entries become NaN (report-only numbers).
    """
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list of numbers, got {type(value).__name__}")
    if any(isinstance(v, bool) or not (v is None or isinstance(v, (int, float))) for v in value):
        raise ValueError(f"{what} must hold numbers only")
    arr = np.array([np.nan if v is None else v for v in value], dtype=float)
    if not allow_missing and not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{what}[{i}] is {value[i]!r}, not a finite number")
    if length is not None and len(arr) != length:
        raise ValueError(f"{what} has {len(arr)} entries, expected {length}")
    return arr


def doc_number(value, what: str) -> float:
    """One finite number from a model document (``ValueError`` naming ``what`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} is {value!r}, not a finite number")
    return float(value)
