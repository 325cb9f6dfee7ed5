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

from pathlib import Path

import pandas as pd

from ..registry import FIT_NAMES, model_class
from .inputs import (fit_frame, load_scoring_model, read_dynamic_features, read_input_tables,
                     read_leads, read_renewal_features)
from .progress import stage
from .specs import ExportError

MODEL_CHOICES = tuple(FIT_NAMES)

__all__ = ["fit_model", "evaluate_model", "refit_options", "model_kind", "MODEL_CHOICES",
           "read_renewal_features", "read_dynamic_features", "read_leads"]


def model_kind(model: str) -> str:
    """'renewal' or 'lead' for a model name given to :func:`fit_model`."""
    if model not in FIT_NAMES:
        raise ExportError(f"unknown model {model!r}; choose one of {', '.join(MODEL_CHOICES)}")
    return model_class(FIT_NAMES[model]).kind


def new_model(model: str, **options):
    """An unfitted model of ``fit_model``'s name ``model`` with constructor ``options``."""
    cls = model_class(FIT_NAMES[model]) if model in FIT_NAMES else None
    if cls is None:
        model_kind(model)  # raises the one-line error
    if cls.kind == "lead":
        options.setdefault("estimator", FIT_NAMES[model].removeprefix("lead_"))
    return cls(**options)


def fit_model(tables, model: str = "cox", *, as_of=None, output=None,
              progress: bool | None = None, **options):
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
    progress : bool, optional
        Stage messages on stderr (reading, fitting, saving); default: on a terminal and
        not under CI (:mod:`.progress`).
    **options
        Constructor options of the model class (:data:`tobmodel.registry.MODEL_CLASSES`),
        e.g. ``covariates``, ``penalizer`` (renewal) or ``calibration`` (lead).

    Returns
    -------
    (model, data)
        The fitted model and the frame it was fitted on (account features or
        leads; for ``'dynamic'`` the frame to score).
    """
    fitted, data = fit_frame(new_model(model, **options), tables, as_of, progress)
    if output is not None:
        with stage(f"saving the model to {output}", progress):
            fitted.save(output)
    return fitted, data


def refit_options(model) -> dict:
    """The constructor options ``model`` was fitted with, from its document's ``config``.

    ``type(model)(**refit_options(model))`` is the same configuration, unfitted.
    """
    import inspect
    config = model.to_document()["config"]
    params = inspect.signature(type(model).__init__).parameters
    options = {k: v for k, v in config.items() if k in params and k != "self"}
    if "estimator" in params and "kind" in config:  # lead models record their estimator as kind
        options["estimator"] = config["kind"]
    return options


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
    model = load_scoring_model(model)
    if model.kind == "renewal":
        return _evaluate_renewal(model, tables, cutoff, horizon_months)
    return _evaluate_lead(model, tables, cutoff)


def _evaluate_renewal(model, tables, cutoff, horizon_months):
    from ..renewal.evaluate import baseline_churn_curves, time_split
    frames, as_of, _ = read_input_tables(model, tables)  # files: as_of inferred from the data
    if cutoff is None:
        end = as_of if as_of is not None else \
            read_renewal_features(frames)["as_of"].max()
        cutoff = end - pd.DateOffset(months=horizon_months + 6)
    split = time_split(frames, cutoff, as_of=as_of)
    accounts = frames.accounts if hasattr(frames, "accounts") else frames["accounts"]
    scores = {"baseline": baseline_churn_curves(split, accounts, horizon_months=horizon_months)}
    refit = type(model)(**refit_options(model)).fit_tables(frames, as_of=split.cutoff)
    scores[model.name] = refit.churn_curves(refit.frame_from_tables(frames, split.cutoff),
                                            horizon_months=horizon_months)
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
    from ..leads import evaluate_lead_model, fit_channel_baseline, time_split
    leads = read_leads(tables)
    if cutoff is None:
        cutoff = leads["created_date"].max().normalize() - pd.DateOffset(months=6)
    # the refit learns only outcomes known at the cutoff, as it would have then
    train, test = time_split(leads, cutoff, as_seen_at_cutoff=True)
    refit = type(model)(**refit_options(model)).fit(train)
    truth = _truth(tables, "leads")
    table = evaluate_lead_model(refit, test, truth=truth,
                                baselines={"channel only": fit_channel_baseline(train)})
    table = table.rename(index={"model": refit.name})
    table.attrs["cutoff"] = str(pd.Timestamp(cutoff).date())
    return table
