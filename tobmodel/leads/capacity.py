"""Capacity planning: sales can call K leads a week — which ones, and what to expect.

Calling leads in order of calibrated probability maximises expected
conversions for a fixed number of calls; the expected number of conversions
is the sum of the called leads' probabilities (the model must be calibrated,
which :func:`~tobmodel.leads.make_lead_model` ensures).

Examples
--------
>>> import pandas as pd
>>> scores = pd.DataFrame({"lead_id": [1, 2, 3, 4], "p_convert": [0.5, 0.1, 0.4, 0.2],
...                        "score": [95, 20, 90, 50]})
>>> plan = capacity_plan(scores, leads_per_week=2)
>>> plan.call_list["lead_id"].tolist(), round(float(plan.summary["expected_conversions_per_week"]), 2)
([1, 3], 0.9)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .features import LeadDataError

__all__ = ["CapacityPlan", "capacity_plan", "capacity_curve"]


@dataclass
class CapacityPlan:
    """Result of :func:`capacity_plan`.

    Attributes
    ----------
    summary : pandas.Series
        ``leads_per_week`` (capacity), ``leads_arriving_per_week``, ``weeks``,
        ``threshold_p_convert`` and ``threshold_score`` (call leads at or above),
        ``expected_conversions_per_week`` (calling the list),
        ``expected_if_random`` (same number of calls picked at random),
        ``expected_if_all_called``, ``share_of_conversions`` and, when outcomes
        are known, ``actual_conversions_per_week``.
    call_list : DataFrame
        The leads to call, best first, with ``rank`` and ``cum_expected_conversions``.
    curve : DataFrame
        Expected conversions per week for every capacity (for the plot).
    """

    summary: pd.Series
    call_list: pd.DataFrame
    curve: pd.DataFrame

    def __repr__(self) -> str:
        s = self.summary
        score = "" if pd.isna(s["threshold_score"]) else f" (score >= {s['threshold_score']:.0f})"
        return (f"CapacityPlan: call {s['leads_per_week']:,.0f} of {s['leads_arriving_per_week']:,.0f}"
                f" leads a week, those with p_convert >= {s['threshold_p_convert']:.3f}{score}; "
                f"expect {s['expected_conversions_per_week']:,.1f} conversions a week "
                f"({s['share_of_conversions']:.0%} of all expected; "
                f"{s['expected_if_random']:,.1f} if the calls were picked at random)")


def _weeks(scores: pd.DataFrame, weeks) -> float:
    if weeks is not None:
        return float(weeks)
    if "created_date" in scores.columns and len(scores):
        d = pd.to_datetime(scores["created_date"])
        return max(1.0, np.ceil(((d.max() - d.min()).days + 1) / 7))
    return 1.0


def capacity_curve(p, weeks: float = 1.0, n_points: int = 50) -> pd.DataFrame:
    """Expected conversions per week against calls per week, calling best leads first."""
    p = np.sort(np.asarray(p, float))[::-1]
    cum = np.concatenate([[0.0], np.cumsum(p)])
    calls = np.unique(np.linspace(0, len(p), n_points + 1).round().astype(int))
    return pd.DataFrame({"leads_per_week": calls / weeks,
                         "expected_conversions_per_week": cum[calls] / weeks,
                         "expected_if_random": calls * (p.mean() if len(p) else 0) / weeks})


def capacity_plan(scores: pd.DataFrame, leads_per_week: int, weeks: float | None = None,
                  outcome=None) -> CapacityPlan:
    """Which leads to call when sales can call ``leads_per_week`` leads a week.

    Parameters
    ----------
    scores : DataFrame
        Output of :meth:`LeadModel.score` (needs ``p_convert``; uses ``score``
        and ``created_date`` when present). May hold several weeks of leads.
    leads_per_week : int
        Calls sales can make per week.
    weeks : float, optional
        How many weeks of leads ``scores`` holds; default from the span of
        ``created_date``, else 1.
    outcome : array-like of 0/1, optional
        Observed conversions (for a back-test on past leads).

    Returns
    -------
    CapacityPlan
    """
    if "p_convert" not in scores.columns:
        raise LeadDataError("scores: no column 'p_convert'; pass the output of LeadModel.score")
    if leads_per_week < 0:
        raise LeadDataError(f"leads_per_week must be at least 0, got {leads_per_week}")
    w = _weeks(scores, weeks)
    p = scores["p_convert"].to_numpy(dtype=float)
    order = np.argsort(-p, kind="stable")
    k = int(min(len(p), round(leads_per_week * w)))
    chosen = order[:k]
    call = scores.iloc[chosen].copy()
    call.insert(0, "rank", np.arange(1, k + 1))
    call["cum_expected_conversions"] = np.cumsum(p[chosen])
    summary = {
        "leads_per_week": leads_per_week, "leads_arriving_per_week": len(p) / w, "weeks": w,
        "threshold_p_convert": float(p[chosen[-1]]) if k else float("nan"),
        "threshold_score": float(scores["score"].iloc[chosen[-1]])
        if k and "score" in scores.columns else float("nan"),
        "expected_conversions_per_week": float(p[chosen].sum() / w),
        "expected_if_random": float(k * p.mean() / w) if len(p) else 0.0,
        "expected_if_all_called": float(p.sum() / w),
        "share_of_conversions": float(p[chosen].sum() / p.sum()) if p.sum() > 0 else float("nan"),
    }
    if outcome is not None:
        y = np.asarray(outcome, float)
        summary["actual_conversions_per_week"] = float(y[chosen].sum() / w)
    return CapacityPlan(pd.Series(summary), call.reset_index(drop=True), capacity_curve(p, w))
