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
...               progress=False, checked=False):
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
from .guards import check_as_of_in_tables, parse_as_of
from .progress import stage
from .specs import ExportError
_PROTOCOL = ("kind", "name", "id_column", "model_id", "version", "features_", "as_of_",
             "check_schema", "score", "to_document", "save")


def load_scoring_model(model):
    """The model of a run: loaded from a path (the file is read once), or the object itself.

    Anything that does not follow :class:`tobmodel.protocol.ScoringModel` is
    refused with a one-line :class:`ExportError` naming what it lacks, including
    a ``score`` that does not take the protocol's ``checked=`` (the run passes
    ``checked=True`` after its row checks).
    """
    if isinstance(model, (str, Path)):
        from ..registry import load_model
        model = load_model(model)
    elif not isinstance(model, ScoringModel):
        lacking = [a for a in _PROTOCOL if not hasattr(model, a)]
        raise ExportError(f"{type(model).__name__} is not a tobmodel scoring model (it lacks "
                          f"{', '.join(lacking) or 'nothing, but is not one'}; see "
                          "tobmodel.protocol)")
    if not takes_checked(model.score):
        raise ExportError(f"{type(model).__name__}.score() does not take checked= (the "
                          "protocol's score(df, *, as_of, horizon_months, source, progress, "
                          "checked); see tobmodel.protocol)")
    return model


def takes_checked(score) -> bool:
    """Whether ``score`` accepts the keyword ``checked`` (by name or through ``**kwargs``)."""
    import inspect
    try:
        params = inspect.signature(score).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a C callable): let the call tell
        return True
    return any(p.kind is p.VAR_KEYWORD or (p.name == "checked" and p.kind in (
        p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) for p in params)


def resolve_as_of(model, as_of=None) -> pd.Timestamp:
    """The run's scoring date: ``as_of`` if given, else the date the model was fitted as of."""
    if as_of is None:
        as_of = model.as_of_
    if as_of is None:
        raise ExportError(f"as_of not given and the model {model.model_id} does not record "
                          "one: pass as_of= (--as-of YYYY-MM-DD)")
    return parse_as_of(as_of)


def _is_folder(source) -> bool:
    if not isinstance(source, (str, Path)) or "://" in str(source):
        return False
    path = Path(source)
    if path.is_dir() and path.suffix.lower() in (".csv", ".parquet", ".pq"):
        raise IsADirectoryError(f"{path}: is a directory, not a {path.suffix} file")
    return path.is_dir()


def read_input_tables(model, tables, as_of=None, progress: bool | None = None):
    """``(tables, as_of, inferred)``: the tables ``model`` is built from (its
    ``input_tables``), read from a folder / database URL, or given as a dict / Simulation.

    Tables read from files carry no as-of date: without ``as_of`` it is
    :func:`infer_as_of` of the renewal tables (``inferred`` is then True); a given
    ``as_of`` is checked against the data (not before it, not long after it).
    """
    if not isinstance(tables, (str, Path)):
        return tables, as_of, False
    from ..io.readers import read_tables
    names = list(model.input_tables)
    as_of = None if as_of is None else parse_as_of(as_of)
    with stage(f"reading tables from {tables}", progress):
        frames = read_tables(tables, names, as_of=as_of)
    first = ("accounts", "first_contract_date") if "accounts" in names else (
        "leads", "created_date")
    if as_of is not None:
        check_as_of_in_tables(frames, as_of, str(tables), first=first)
        return frames, as_of, False
    if "accounts" in names:
        return frames, infer_as_of(frames | maybe_leads(tables)), True
    return frames, None, False


def scoring_source(model, source, as_of: pd.Timestamp, progress: bool | None = None):
    """What to score for ``model``: tables become its frame (``model.frame_from_tables``).

    ``source`` may be a folder of ``<table>.csv/.parquet`` files, a dict of
    DataFrames or a Simulation (turned into the frame the model scores, built
    at ``as_of``: per-account features, the running month of each account,
    or the leads table), or anything :func:`tobmodel.export.sources.open_source`
    reads (a file, a database URL, a DataFrame), which passes through.
    """
    if not (_is_folder(source) or isinstance(source, dict) or hasattr(source, "tables")):
        return source
    # account tables are read as they were at as_of (features are a snapshot); leads are
    # read whole, as before: a lead's score does not depend on the date, and cutting at
    # the model's as_of would silently drop the leads created since it was fitted
    snapshot = "accounts" in model.input_tables
    tables, _, _ = read_input_tables(model, str(source) if isinstance(source, Path) else source,
                                     as_of if snapshot else None, progress)
    with stage(f"building what {model.name} scores as of {as_of.date()}", progress):
        return in_scope(model.frame_from_tables(tables, as_of))


def in_scope(frame: pd.DataFrame) -> pd.DataFrame:
    """Only active accounts and open leads are scored; the others are counted in
    ``attrs["not_scored"]`` (``{"churned": n}`` / ``{"closed": n}``), never rejected."""
    if "active" in frame and frame["active"].dtype.kind == "b":
        keep, reason = frame["active"].to_numpy(bool), "churned"
    elif "status" in frame:
        keep, reason = (frame["status"].astype(str) == "open").to_numpy(), "closed"
    else:  # e.g. the running month of each account: active accounts only already
        return frame
    out = frame.loc[keep].reset_index(drop=True)
    out.attrs = {**frame.attrs, "not_scored": {reason: int((~keep).sum())}}
    return out


def fit_frame(model, tables, as_of=None, progress: bool | None = None):
    """Fit ``model`` (unfitted) on the team's tables; returns ``(model, frame)``, the frame
    being what the model scores (``frame.attrs["as_of_inferred"]`` says how as_of was set).

    ``progress``: stage messages on stderr (default: on a terminal, not under CI)."""
    tables, as_of, inferred = read_input_tables(model, tables, as_of, progress)
    n = len(tables["accounts" if "accounts" in model.input_tables else "leads"]) if isinstance(
        tables, dict) else None
    what = f" on {n:,} {'accounts' if 'accounts' in model.input_tables else 'leads'}" if n else ""
    with stage(f"fitting {model.name}{what}", progress):
        model.fit_tables(tables, as_of)
    with stage("building the frame it scores", progress):
        frame = model.frame_from_tables(tables, as_of)
    frame.attrs["as_of_inferred"] = inferred
    return model, frame


def read_renewal_features(tables, as_of=None) -> pd.DataFrame:
    """Per-account features (:func:`tobmodel.renewal.build_account_features`) from a
    folder / database URL of tables, or from a dict of tables or a Simulation.

    Tables read from files carry no as-of date: without ``as_of`` it is
    :func:`infer_as_of` (recorded in ``attrs["as_of_inferred"]``).
    """
    from ..renewal import CoxRenewalModel
    model = CoxRenewalModel()
    tables, as_of, inferred = read_input_tables(model, tables, as_of)
    features = model.frame_from_tables(tables, as_of)
    features.attrs["as_of_inferred"] = inferred
    return features


def read_dynamic_features(tables, as_of=None) -> pd.DataFrame:
    """The running month of every active account
    (:func:`tobmodel.renewal.person_months.current_month`): what the dynamic model scores."""
    from ..renewal.dynamic import DynamicHazardModel
    model = DynamicHazardModel()
    tables, as_of, inferred = read_input_tables(model, tables, as_of)
    current = model.frame_from_tables(tables, as_of)
    current.attrs["as_of_inferred"] = inferred
    return current


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
    from ..leads import LeadModel
    model = LeadModel()
    tables, as_of, _ = read_input_tables(model, tables, as_of)
    return model.frame_from_tables(tables, as_of)
