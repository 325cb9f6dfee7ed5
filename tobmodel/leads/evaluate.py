"""How good are the lead scores, in terms the growth team uses.

ROC AUC (ranking: chance a converting lead scores above a lost one), PR AUC
(precision over recall, sensitive to the conversion rate), Brier score (mean
squared error of the probabilities; lower is better), calibration error (mean
gap between predicted and observed conversion in ten groups), lift in the top decile
(conversion of the best-scored 10% over the average), the cumulative gains
table (share of conversions found by calling the top x% of leads), the
calibration table (predicted vs observed conversion) and conversion by grade.

On simulated data the simulator's true conversion probability is the oracle:
the best any model could do with perfect knowledge of each lead.

Examples
--------
>>> import numpy as np
>>> y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
>>> p = np.array([.9, .1, .8, .2, .1, .1, .3, .2, .1, .1])
>>> lead_metrics(y, p)["roc_auc"]
1.0
>>> gains_table(y, p, n_bins=5)["cum_conversion_share"].tolist()
[1.0, 1.0, 1.0, 1.0, 1.0]
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from .features import LeadDataError, outcome_labels
from .scoring import GRADES

__all__ = ["lead_metrics", "calibration_error", "top_decile_lift", "gains_table",
           "calibration_table",
           "conversion_by_grade", "compare_models", "evaluate_lead_model"]


def _check(y, p):
    y, p = np.asarray(y).astype(np.int64), np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise LeadDataError(f"outcomes ({len(y)}) and probabilities ({len(p)}) differ in length")
    if np.isnan(p).any():
        raise LeadDataError(f"{int(np.isnan(p).sum())} probabilities are empty (NaN)")
    return y, p


def _rank(p):
    """Positions from best to worst score (ties keep input order)."""
    return np.argsort(-p, kind="stable")


def top_decile_lift(y, p, share: float = 0.1) -> float:
    """Conversion rate of the top ``share`` of leads divided by the overall rate."""
    y, p = _check(y, p)
    k = max(1, int(round(share * len(y))))
    base = y.mean()
    return float(y[_rank(p)[:k]].mean() / base) if base > 0 else float("nan")


def calibration_error(y, p, n_bins: int = 10) -> float:
    """Mean gap between predicted and observed conversion over ``n_bins`` equal groups.

    Weighted by group size (the "expected calibration error"); 0.02 means
    predictions are off by two percentage points on average. Part of it is
    noise: about ``sqrt(rate * (1 - rate) * n_bins / n) * 0.8`` for a perfect model.
    """
    t = calibration_table(y, p, n_bins)
    w = t["n_leads"] / t["n_leads"].sum()
    return float((w * (t["mean_predicted"] - t["observed"]).abs()).sum())


def lead_metrics(y, p) -> dict:
    """ROC AUC, PR AUC, Brier score, calibration error, top-decile lift and counts."""
    y, p = _check(y, p)
    both = len(np.unique(y)) == 2
    nan = float("nan")
    return {"leads": int(len(y)), "converted": int(y.sum()),
            "conversion_rate": float(y.mean()) if len(y) else nan,
            "mean_p_convert": float(p.mean()) if len(y) else nan,
            "roc_auc": float(roc_auc_score(y, p)) if both else nan,
            "pr_auc": float(average_precision_score(y, p)) if both else nan,
            "brier": float(brier_score_loss(y, p, labels=[0, 1])) if len(y) else nan,
            "calibration_error": calibration_error(y, p) if len(y) else nan,
            "top_decile_lift": top_decile_lift(y, p) if len(y) else nan}


def gains_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Leads ranked by score in ``n_bins`` equal groups (1 = best), with cumulative gains.

    Columns: ``group, leads, converted, conversion_rate, mean_p_convert,
    cum_lead_share, cum_conversion_share, lift, cum_lift``.
    """
    y, p = _check(y, p)
    order = _rank(p)
    group = np.minimum(np.arange(len(y)) * n_bins // max(len(y), 1), n_bins - 1) + 1
    df = pd.DataFrame({"group": group, "y": y[order], "p": p[order]})
    t = df.groupby("group").agg(leads=("y", "size"), converted=("y", "sum"),
                                mean_p_convert=("p", "mean")).reset_index()
    t["conversion_rate"] = t["converted"] / t["leads"]
    base = y.mean() if len(y) else np.nan
    t["cum_lead_share"] = t["leads"].cumsum() / len(y)
    t["cum_conversion_share"] = t["converted"].cumsum() / max(y.sum(), 1)
    t["lift"] = t["conversion_rate"] / base
    t["cum_lift"] = t["cum_conversion_share"] / t["cum_lead_share"]
    return t[["group", "leads", "converted", "conversion_rate", "mean_p_convert",
              "cum_lead_share", "cum_conversion_share", "lift", "cum_lift"]]


def calibration_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed conversion in ``n_bins`` groups of equal size.

    Columns ``bin, mean_predicted, observed, lower, upper, n_leads`` (``lower``
    and ``upper``: observed rate -/+ two standard errors), the same layout as
    :func:`tobmodel.renewal.calibration_table`; draw it with
    :func:`~tobmodel.leads.plot_calibration`.
    """
    y, p = _check(y, p)
    order = np.argsort(p, kind="stable")
    group = np.minimum(np.arange(len(y)) * n_bins // max(len(y), 1), n_bins - 1) + 1
    df = pd.DataFrame({"bin": group, "y": y[order], "p": p[order]})
    t = df.groupby("bin").agg(mean_predicted=("p", "mean"), observed=("y", "mean"),
                              n_leads=("y", "size")).reset_index()
    se = np.sqrt(t["observed"] * (1 - t["observed"]) / t["n_leads"])
    t.insert(3, "lower", t["observed"] - 2 * se)
    t.insert(4, "upper", t["observed"] + 2 * se)
    t.attrs["outcome"] = "conversion"
    return t


def conversion_by_grade(scored: pd.DataFrame, y) -> pd.DataFrame:
    """Leads, conversions and conversion rate per grade (A-D) of scored leads.

    ``scored`` is the output of :meth:`LeadModel.score` (needs ``grade`` and
    ``p_convert``), ``y`` the observed outcomes (1 = converted), aligned.
    """
    y, _ = _check(y, scored["p_convert"])
    df = pd.DataFrame({"grade": pd.Categorical(np.asarray(scored["grade"]), categories=GRADES),
                       "y": y, "p": scored["p_convert"].to_numpy()})
    t = df.groupby("grade", observed=False).agg(leads=("y", "size"), converted=("y", "sum"),
                                                mean_p_convert=("p", "mean")).reset_index()
    t["conversion_rate"] = t["converted"] / t["leads"].where(t["leads"] > 0)
    t["share_of_leads"] = t["leads"] / max(len(y), 1)
    t["share_of_conversions"] = t["converted"] / max(y.sum(), 1)
    return t


def compare_models(y, predictions: dict) -> pd.DataFrame:
    """:func:`lead_metrics` of several score sets, one row each (e.g. model, oracle, baseline)."""
    return pd.DataFrame({name: lead_metrics(y, p) for name, p in predictions.items()}).T


def evaluate_lead_model(model, leads: pd.DataFrame, truth: pd.DataFrame | None = None,
                        baselines: dict | None = None, source: str = "leads") -> pd.DataFrame:
    """Metrics of a fitted model on closed ``leads``, beside the oracle and baselines.

    Parameters
    ----------
    model : LeadModel
    leads : DataFrame
        Leads to evaluate on (open ones are left out), e.g. the newer half of
        :func:`~tobmodel.leads.time_split`.
    truth : DataFrame, optional
        ``lead_id, p_convert`` true probabilities (``sim.truth["leads"]``):
        adds an ``oracle`` row.
    baselines : dict of name -> LeadModel, optional
        Other models to compare, e.g. a channel-only model.

    Returns
    -------
    DataFrame
        One row per model with ``leads, converted, conversion_rate, mean_p_convert,
        roc_auc, pr_auc, brier, calibration_error, top_decile_lift``.
    """
    closed, y, _ = outcome_labels(leads, source)
    preds = {"model": model.predict_proba(closed, source=source)}
    for name, other in (baselines or {}).items():
        preds[name] = other.predict_proba(closed, source=source)
    if truth is not None:
        oracle = pd.Series(truth["p_convert"].to_numpy(), index=truth["lead_id"].to_numpy())
        p_true = oracle.reindex(closed["lead_id"].to_numpy()).to_numpy()
        if np.isnan(p_true).any():
            raise LeadDataError(f"{source}: truth lacks {int(np.isnan(p_true).sum())} of the "
                                "leads' lead_id values")
        preds["oracle"] = p_true
    return compare_models(y, preds)
