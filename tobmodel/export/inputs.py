"""What a score run starts from: the model (loaded once), its as-of date, and what to score.

Every way into a run (``tobmodel score``, :func:`tobmodel.export.export_scores`,
``score_accounts`` / ``score_leads``) goes through these three functions, so
the command line and the Python API accept the same inputs and settle the
scoring date the same way:

* :func:`load_scoring_model` -- a model file (read once, through
  :func:`tobmodel.registry.load_model`) or a model object that follows
  :class:`tobmodel.protocol.ScoringModel`;
* :func:`resolve_as_of` -- the run's date: the one given, else the model's
  ``as_of_``; resolved once per run;
* :func:`scoring_source` -- a folder of tables (or a dict of tables / a
  Simulation) becomes the per-account features (renewal models) or the leads
  table (lead models); files, database URLs and DataFrames pass through.

Examples
--------
>>> import pandas as pd
>>> from tobmodel.protocol import ModelBase
>>> class Dated(ModelBase):
...     kind, name, id_column = "lead", "dated", "lead_id"
...     features_, model_id_, as_of_ = [], "dated-0", "2025-12-31"
...     def score(self, df, *, as_of=None, horizon_months=None, source="data",
...               progress=False):
...         return df
>>> resolve_as_of(Dated(), None), resolve_as_of(Dated(), "2026-01-07")
(Timestamp('2025-12-31 00:00:00'), Timestamp('2026-01-07 00:00:00'))
>>> load_scoring_model(object())
Traceback (most recent call last):
...
tobmodel.export.specs.ExportError: object is not a tobmodel scoring model (it lacks kind, name, id_column, model_id, version, features_, as_of_, check_schema, score, to_document, save; see tobmodel.protocol)
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..protocol import ScoringModel
from ..survival import infer_as_of
from .specs import ExportError

RENEWAL_TABLES = ("accounts", "contracts", "usage", "support")
_PROTOCOL = ("kind", "name", "id_column", "model_id", "version", "features_", "as_of_",
             "check_schema", "score", "to_document", "save")


def load_scoring_model(model):
    """The model of a run: loaded from a path (the file is read once), or the object itself.

    Anything that does not follow :class:`tobmodel.protocol.ScoringModel` is
    refused with a one-line :class:`ExportError` naming what it lacks.
    """
    if isinstance(model, (str, Path)):
        from ..registry import load_model
        return load_model(model)
    if not isinstance(model, ScoringModel):
        lacking = [a for a in _PROTOCOL if not hasattr(model, a)]
        raise ExportError(f"{type(model).__name__} is not a tobmodel scoring model (it lacks "
                          f"{', '.join(lacking) or 'nothing, but is not one'}; see "
                          "tobmodel.protocol)")
    return model


def resolve_as_of(model, as_of=None) -> pd.Timestamp:
    """The run's scoring date: ``as_of`` if given, else the date the model was fitted as of."""
    if as_of is None:
        as_of = model.as_of_
    if as_of is None:
        raise ExportError(f"as_of not given and the model {model.model_id} does not record "
                          "one: pass as_of= (--as-of YYYY-MM-DD)")
    try:
        return pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError):
        raise ExportError(f"as_of {as_of!r} is not a date (use YYYY-MM-DD)") from None


def _is_folder(source) -> bool:
    if not isinstance(source, (str, Path)) or "://" in str(source):
        return False
    path = Path(source)
    if path.is_dir() and path.suffix.lower() in (".csv", ".parquet", ".pq"):
        raise IsADirectoryError(f"{path}: is a directory, not a {path.suffix} file")
    return path.is_dir()


def scoring_source(model, source, as_of: pd.Timestamp):
    """What to score for ``model``: tables become features (renewal) or leads (lead).

    ``source`` may be a folder of ``<table>.csv/.parquet`` files, a dict of
    DataFrames or a Simulation (turned into per-account features built at
    ``as_of``, or the leads table), or anything :func:`tobmodel.export.sources.open_source`
    reads (a file, a database URL, a DataFrame), which passes through.
    """
    tables = None
    if _is_folder(source):
        tables = str(source)
    elif isinstance(source, dict) or hasattr(source, "tables"):
        tables = source
    if tables is None:
        return source
    if model.kind == "renewal":
        return read_renewal_features(tables, as_of)
    return read_leads(tables)


def read_renewal_features(tables, as_of=None) -> pd.DataFrame:
    """Per-account features (:func:`tobmodel.renewal.build_account_features`) from a
    folder / database URL of tables, or from a dict of tables or a Simulation.

    Tables read from files carry no as-of date: without ``as_of`` it is
    :func:`infer_as_of` (recorded in ``attrs["as_of_inferred"]``).
    """
    from ..renewal import build_account_features
    inferred = False
    if isinstance(tables, (str, Path)):
        from ..io.readers import read_tables
        source, tables = tables, read_tables(tables, RENEWAL_TABLES, as_of=as_of)
        if as_of is None:
            as_of, inferred = infer_as_of(tables | maybe_leads(source)), True
    features = build_account_features(tables, as_of=as_of)
    features.attrs["as_of_inferred"] = inferred
    return features


def maybe_leads(source) -> dict:
    """``{"leads": table}`` if the folder / database holds a readable leads table, else ``{}``."""
    from ..io.readers import read_tables
    from ..io.validate import DataValidationError
    try:
        return read_tables(source, ["leads"])
    except DataValidationError:
        return {}


def read_leads(tables, as_of=None) -> pd.DataFrame:
    """The leads table from a folder / database URL, a dict of tables or a Simulation."""
    if isinstance(tables, (str, Path)):
        from ..io.readers import read_tables
        return read_tables(tables, ["leads"], as_of=as_of)["leads"]
    return tables.leads if hasattr(tables, "leads") else tables["leads"]
