"""The weekly job on a team's own exports: fit, score and evaluate through mappings.

The same steps as :mod:`tobmodel.export.jobs`, with the tables read from
CRM / help-desk / analytics exports by :func:`tobmodel.mapping.read_export`:

* only what the export has is used: the model's covariates are the features
  whose columns were mapped (``ExportData.covariates``), the rest is reported
  as absent;
* only active accounts are scored; churned accounts are counted as "not
  scored (churned)", never as rejects;
* every score output (files, database tables and their history) carries the
  CRM's own text id (``crm_account_id`` / ``crm_lead_id``) and the passthrough
  columns (account name, owner) beside tobmodel's integer key;
* beside the score outputs a **call list** is written: the same ids and
  columns, risk and reasons, sorted by risk (highest first).

Examples
--------
>>> import tempfile
>>> from tobmodel.simulator.crm_exports import write_crm_exports
>>> d = write_crm_exports(tempfile.mkdtemp(), n_accounts=120, seed=5, events=False)
>>> maps = [str(d / "mapping.yaml"), "zendesk"]
>>> model, features = fit_mapped(d, maps, "cox", penalizer=0.1)
>>> model.kind, "bot_escalations_6m" in model.feature_names_
('renewal', False)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

CALL_LIST_COLUMNS = ("rank", "crm_account_id", "risk_tier", "p_churn_horizon",
                     "p_churn_next_renewal", "next_renewal_date", "arr", "reasons")


def read_mapped(source, mappings, as_of=None, strict: bool = True):
    """:func:`tobmodel.mapping.read_export`, raising on unusable data (fit, score)."""
    from .load import read_export
    return read_export(source, mappings, as_of=as_of, strict=strict)


def mapped_features(data) -> pd.DataFrame:
    """Account features of an :class:`~tobmodel.mapping.ExportData`, with the CRM id and
    the passthrough columns appended."""
    from ..renewal import build_account_features
    feats = build_account_features(data.tables, as_of=data.as_of)
    acc = data.tables["accounts"].set_index("account_id")
    extra = acc[["crm_account_id", *data.passthrough]].reindex(feats["account_id"])
    for c in extra.columns:
        feats[c] = extra[c].to_numpy()
    feats.attrs["as_of_inferred"] = False
    return feats


def fit_mapped(source, mappings, model: str = "cox", *, as_of=None, output=None, **options):
    """Fit a renewal model on exports; covariates default to the features present.

    Returns ``(model, features)`` like :func:`tobmodel.export.fit_model`.
    """
    from ..export.jobs import model_kind
    data = read_mapped(source, mappings, as_of)
    if model_kind(model) == "lead":
        from ..leads import fit_lead_model
        leads = _leads_of(data)
        options.setdefault("features", list(data.lead_features))
        kind = "logistic" if model == "lead-logistic" else "hgb"
        fitted = fit_lead_model(leads, kind=kind, **options)
        if output is not None:
            fitted.save(output)
        return fitted, leads
    feats = mapped_features(data)
    options.setdefault("covariates", list(data.covariates))
    unknown = [c for c in options["covariates"] if c not in feats.columns]
    if unknown:
        raise ValueError(f"covariates {', '.join(unknown)} are not features of this export "
                         f"(features: {', '.join(data.covariates)})")
    from ..renewal import fit_renewal_model
    fitted = fit_renewal_model(feats, model=model, **options)
    if output is not None:
        fitted.save(output)
    return fitted, feats


@dataclass
class MappedRun:
    """What a scoring run on exports did."""

    summary: object
    as_of: pd.Timestamp
    not_scored: dict = field(default_factory=dict)   # reason -> count (churned, ...)
    call_list: pd.DataFrame | None = None
    call_list_path: Path | None = None


def score_mapped(model, source, mappings, output, *, as_of=None, horizon_months: int = 12,
                 chunksize=100_000, risk_cutoffs=(0.15, 0.40), progress=None,
                 call_list=None) -> MappedRun:
    """Score the active accounts of an export and write scores, rejects and a call list.

    The scoring date is the export's own (its latest date) unless ``as_of``
    is given. ``call_list`` is the call list's path; default
    ``<first file output's stem>.call_list.csv``, or ``call_list.csv`` in the
    working directory when every output is a database.
    """
    from ..export import export_scores
    from ..export.destinations import MemoryDestination
    from ..export.runner import load_scoring_model
    from ..export.specs import spec_for_model
    from ..io.writers import write_csv
    model = load_scoring_model(model)
    data = read_mapped(source, mappings, as_of)
    from ..export.inputs import in_scope
    # open leads / active accounts; the others counted in the summary as not scored
    active = in_scope(_leads_of(data) if model.kind == "lead" else mapped_features(data))
    not_scored = dict(active.attrs["not_scored"])
    outputs = list(output) if isinstance(output, (list, tuple)) else [output]
    memory = MemoryDestination(spec_for_model(model))
    keep = (["crm_lead_id"] if model.kind == "lead" else
            ["crm_account_id", *data.passthrough])
    summary = export_scores(model, active, [*outputs, memory], as_of=data.as_of,
                            horizon_months=horizon_months, chunksize=chunksize,
                            risk_cutoffs=risk_cutoffs, progress=progress, keep_columns=keep)
    summary.destinations = [d for d in summary.destinations if d != "<memory>"]
    summary.rejects_destinations = [d for d in summary.rejects_destinations if d != "<memory>"]
    summary.source = str(source)
    calls = (build_lead_list(memory.scores, active) if model.kind == "lead" else
             build_call_list(memory.scores, active, data.passthrough))
    currency = data.settings.get("currency")
    if currency and "arr" in calls:  # stated once in the mapping, shown beside the money
        calls.insert(calls.columns.get_loc("arr") + 1, "currency", currency)
    path = Path(call_list) if call_list else _call_list_path(outputs)
    write_csv(calls, path)
    return MappedRun(summary, data.as_of, not_scored, calls, path)


def build_call_list(scores, features, passthrough=()) -> pd.DataFrame:
    """Scores with the CRM id and passthrough columns, highest risk first."""
    keep = ["account_id", *(c for c in ("crm_account_id", *passthrough) if c not in scores)]
    if "arr" in features:
        keep.append("arr")
    df = scores.merge(features[keep], on="account_id", how="left")
    df = df.sort_values(["p_churn_horizon", "crm_account_id"], ascending=[False, True],
                        kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    cols = [c for c in CALL_LIST_COLUMNS if c in df]
    cols[2:2] = [c for c in passthrough if c in df]
    return df[cols]


def _leads_of(data) -> pd.DataFrame:
    if "leads" not in data.tables:
        raise ValueError("the mappings read no leads (Salesforce Lead.csv, HubSpot contacts): "
                         "a lead model needs them")
    return data.tables["leads"]


def build_lead_list(scores, leads) -> pd.DataFrame:
    """Open leads with the CRM lead id, best first (higher p_convert = better lead)."""
    scores = scores.drop(columns=[c for c in ("crm_lead_id",) if c in scores])
    extra = [c for c in leads.columns if c not in ("lead_id", "crm_lead_id", "created_date",
                                                    "status", "outcome_date", "crm_account_id")
             and leads[c].dtype == object and c not in ("channel", "industry", "region",
                                                        "company_size")]
    df = scores.merge(leads[["lead_id", "crm_lead_id", "created_date", *extra]], on="lead_id",
                      how="left")
    df = df.sort_values(["p_convert", "crm_lead_id"], ascending=[False, True],
                        kind="stable").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df[["rank", "crm_lead_id", *extra, "grade", "p_convert", "score", "created_date",
               "reasons"]]


def _call_list_path(outputs) -> Path:
    for o in outputs:
        text = str(o)
        if "://" not in text and Path(text).suffix.lower() in (".csv", ".parquet"):
            p = Path(text)
            return p.with_name(p.name[: -len(p.suffix)] + ".call_list.csv")
    return Path.cwd() / "call_list.csv"


def evaluate_mapped(model, source, mappings, cutoff=None, horizon_months: int = 12):
    """:func:`tobmodel.export.evaluate_model` on the tables of an export."""
    from ..export.jobs import evaluate_model
    data = read_mapped(source, mappings)
    return evaluate_model(model, data.tables, cutoff, horizon_months)
