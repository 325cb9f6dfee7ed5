"""The weekly job's other steps as Python calls: fit a model from the team's tables,
build what to score, and evaluate a model honestly on a time split.

The command line (``tobmodel fit | score | evaluate``) is a thin layer over
these functions and :func:`tobmodel.export.export_scores`.

Examples
--------
>>> import tempfile, tobmodel
>>> folder = tobmodel.simulate("saas", n_accounts=300, seed=4).to_parquet(tempfile.mkdtemp())
>>> model, features = fit_model(folder, "cox", covariates=["tier"])
>>> model.kind, int(features["active"].sum()) > 0
('renewal', True)
"""
from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd

from ..survival import infer_as_of
from .guards import check_as_of_in_tables, parse_as_of
from .specs import ExportError

RENEWAL_MODELS = ("cox", "weibull_aft", "loglogistic_aft", "dynamic")
LEAD_MODELS = {"lead": "hgb", "lead-hgb": "hgb", "lead-logistic": "logistic"}
MODEL_CHOICES = (*RENEWAL_MODELS, *LEAD_MODELS)
RENEWAL_TABLES = ("accounts", "contracts", "usage", "support")


def model_kind(model: str) -> str:
    """'renewal' or 'lead' for a model name given to :func:`fit_model`."""
    if model in RENEWAL_MODELS:
        return "renewal"
    if model in LEAD_MODELS:
        return "lead"
    raise ExportError(f"unknown model {model!r}; choose one of {', '.join(MODEL_CHOICES)}")


def read_renewal_features(tables, as_of=None) -> pd.DataFrame:
    """Per-account features (:func:`tobmodel.renewal.build_account_features`) from a
    folder / database URL of tables, or from a dict of tables or a Simulation.

    Tables read from files carry no as-of date: without ``as_of`` it is
    :func:`infer_as_of` (recorded in ``attrs["as_of_inferred"]``).
    """
    from ..renewal import build_account_features
    inferred = False
    as_of = None if as_of is None else parse_as_of(as_of)
    if isinstance(tables, (str, Path)):
        from ..io.readers import read_tables
        source, tables = tables, read_tables(tables, RENEWAL_TABLES, as_of=as_of)
        if as_of is None:
            as_of, inferred = infer_as_of(tables | _maybe_leads(source)), True
        else:
            check_as_of_in_tables(tables, as_of, str(source))
    features = build_account_features(tables, as_of=as_of)
    features.attrs["as_of_inferred"] = inferred
    return features


def read_renewal_tables(tables, as_of=None):
    """``(tables, as_of, inferred)`` from a folder / URL, a dict of tables or a Simulation."""
    if isinstance(tables, (str, Path)):
        from ..io.readers import read_tables
        source, tables = tables, read_tables(tables, RENEWAL_TABLES, as_of=as_of)
        if as_of is None:
            return tables, infer_as_of(tables | _maybe_leads(source)), True
    return tables, as_of, False


def read_dynamic_features(tables, as_of=None) -> pd.DataFrame:
    """The running month of every active account
    (:func:`tobmodel.renewal.person_months.current_month`): what the dynamic model scores."""
    from ..renewal.person_months import current_month
    tables, as_of, inferred = read_renewal_tables(tables, as_of)
    current = current_month(tables, as_of=as_of)
    current.attrs["as_of_inferred"] = inferred
    return current


def _maybe_leads(source) -> dict:
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
        as_of = None if as_of is None else parse_as_of(as_of)
        leads = read_tables(tables, ["leads"], as_of=as_of)
        check_as_of_in_tables(leads, as_of, str(tables), first=("leads", "created_date"))
        return leads["leads"]
    return tables.leads if hasattr(tables, "leads") else tables["leads"]


def fit_model(tables, model: str = "cox", *, as_of=None, output=None, **options):
    """Fit a renewal or lead model on the team's tables; optionally save it.

    Parameters
    ----------
    tables : folder, database URL, dict of DataFrames or Simulation
        ``accounts, contracts, usage, support`` (renewal) or ``leads`` (lead).
    model : {'cox', 'weibull_aft', 'loglogistic_aft', 'dynamic', 'lead', 'lead-hgb', 'lead-logistic'}
        ``'dynamic'``: :class:`tobmodel.renewal.dynamic.DynamicHazardModel` on
        person-months; the returned data is then the running month of each
        active account (what it scores).
    as_of : date-like, optional
        Use only data up to this date (default: the data's own as-of).
    output : path, optional
        Save the model there (JSON, written atomically).
    **options
        Passed to :func:`tobmodel.renewal.fit_renewal_model` or
        :func:`tobmodel.leads.fit_lead_model`.

    Returns
    -------
    (model, data)
        The fitted model and the frame it was fitted on (account features or
        leads; for ``'dynamic'`` the frame to score).
    """
    if model == "dynamic":
        from ..renewal.dynamic import DynamicHazardModel
        frames, as_of, inferred = read_renewal_tables(tables, as_of)
        fitted = DynamicHazardModel(**options).fit(frames, as_of=as_of)
        data = read_dynamic_features(frames, as_of)
        data.attrs["as_of_inferred"] = inferred
    elif model_kind(model) == "renewal":
        from ..renewal import fit_renewal_model
        data = read_renewal_features(tables, as_of)
        fitted = fit_renewal_model(data, model=model, **options)
    else:
        from ..leads import fit_lead_model
        data = read_leads(tables, as_of)
        fitted = fit_lead_model(data, kind=LEAD_MODELS[model], **options)
    if output is not None:
        fitted.save(output)
    return fitted, data


def refit_options(model) -> dict:
    """The constructor options a loaded model was fitted with (to refit it elsewhere)."""
    config = model.config_() if callable(getattr(model, "config_", None)) else dict(
        getattr(model, "config", None) or getattr(model, "created_from", None) or {})
    if model.kind == "lead":
        return {k: config[k] for k in ("calibration", "features", "random_state")
                if k in config}
    params = inspect.signature(type(getattr(model, "_model", model)).__init__).parameters
    return {k: v for k, v in config.items() if k in params and k != "self"}


def _truth(folder, name):
    path = Path(folder) / f"truth_{name}.parquet" if isinstance(folder, (str, Path)) else None
    return pd.read_parquet(path) if path is not None and path.exists() else None


def evaluate_model(model, tables, cutoff=None, horizon_months: int = 12) -> pd.DataFrame:
    """Refit ``model``'s configuration on data known at ``cutoff``; score what came after.

    Renewal: one row per model (``baseline`` = segment averages, the model,
    and ``oracle`` when the folder holds the simulator's ``truth_hazard``)
    with c-index, AUC, Brier score and calibration at the horizon
    (:func:`tobmodel.renewal.evaluate.evaluate_scores`). Lead: ROC AUC, PR AUC,
    Brier score and top-decile lift on leads created from ``cutoff`` on,
    beside a channel-only baseline (:func:`tobmodel.leads.evaluate_lead_model`).
    Default cutoff: ``horizon_months + 6`` months (renewal) or 6 months (lead)
    before the data's as-of date.
    """
    from .runner import load_scoring_model
    model = load_scoring_model(model)
    if model.kind == "renewal":
        return _evaluate_renewal(model, tables, cutoff, horizon_months)
    return _evaluate_lead(model, tables, cutoff)


def _evaluate_renewal(model, tables, cutoff, horizon_months):
    from ..io.readers import read_tables
    from ..renewal import build_account_features, fit_renewal_model
    from ..renewal.evaluate import baseline_churn_curves, model_churn_curves, time_split
    as_of = None
    if isinstance(tables, (str, Path)):
        frames = read_tables(tables, RENEWAL_TABLES)
        as_of = infer_as_of(frames | _maybe_leads(tables))  # files carry no as-of date
    else:
        frames = tables
    if cutoff is None:
        end = as_of if as_of is not None else build_account_features(frames)["as_of"].max()
        cutoff = end - pd.DateOffset(months=horizon_months + 6)
    split = time_split(frames, cutoff, as_of=as_of)
    accounts = frames.accounts if hasattr(frames, "accounts") else frames["accounts"]
    scores = {"baseline": baseline_churn_curves(split, accounts, horizon_months=horizon_months)}
    if model.name == "dynamic":
        from ..renewal.dynamic import DynamicHazardModel
        from ..renewal.person_months import current_month
        refit = DynamicHazardModel(**refit_options(model)).fit(frames, as_of=split.cutoff)
        scores[model.name] = refit.churn_curves(current_month(frames, as_of=split.cutoff),
                                                horizon_months=horizon_months)
        return _graded(scores, tables, split, horizon_months)
    past = build_account_features(frames, as_of=split.cutoff)
    refit = fit_renewal_model(past, model=model.name, **refit_options(model))
    active = past.loc[past["active"]]
    scores[model.name] = model_churn_curves(refit, active, horizon_months=horizon_months)
    return _graded(scores, tables, split, horizon_months)


def _graded(scores, tables, split, horizon_months):
    from ..renewal.evaluate import evaluate_scores, oracle_churn_curves
    truth = _truth(tables, "hazard")
    if truth is not None:
        frames = tables if not isinstance(tables, (str, Path)) else None
        if frames is None:
            from ..io.readers import read_tables
            frames = read_tables(tables, ["contracts"])
        scores["oracle"] = oracle_churn_curves(truth, split, horizon_months=horizon_months,
                                               tables=frames)
    table = evaluate_scores(scores, split, horizon_months)
    table.attrs["cutoff"] = str(split.cutoff.date())
    return table


def _evaluate_lead(model, tables, cutoff):
    from ..leads import evaluate_lead_model, fit_channel_baseline, fit_lead_model, time_split
    leads = read_leads(tables)
    if cutoff is None:
        cutoff = leads["created_date"].max().normalize() - pd.DateOffset(months=6)
    train, test = time_split(leads, cutoff)
    kind = getattr(model, "estimator", None) or (getattr(model, "config", None) or {})["kind"]
    refit = fit_lead_model(train, kind=kind, **refit_options(model))
    truth = _truth(tables, "leads")
    table = evaluate_lead_model(refit, test, truth=truth,
                                baselines={"channel only": fit_channel_baseline(train)})
    table = table.rename(index={"model": refit.name})
    table.attrs["cutoff"] = str(pd.Timestamp(cutoff).date())
    return table
