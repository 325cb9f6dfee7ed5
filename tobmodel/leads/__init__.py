"""Lead quality: which leads should sales call first?

Calibrated scikit-learn classifiers that give each lead a probability of
converting (saas/tool: paid; hardware: purchase; platform: active merchant),
a score 0-100, a grade A-D and the reasons in words; evaluation against the
simulator's truth; capacity planning; and the funnel around the leads.

Typical use::

    import tobmodel
    from tobmodel import leads as L

    sim = tobmodel.simulate("saas", "maturity", n_accounts=2000, seed=1)
    train, test = L.time_split(sim.leads, "2025-01-01")
    model = L.fit_lead_model(train)                     # hgb + sigmoid calibration
    L.evaluate_lead_model(model, test, truth=sim.truth["leads"],
                          baselines={"channel only": L.fit_channel_baseline(train)})
    scores = model.score(test)                          # lead_id, p_convert, score, grade, reasons
    L.capacity_plan(scores, leads_per_week=200)
    model.save("lead_model.json"); L.load_lead_model("lead_model.json")
    L.funnel_table(sim.leads, by="channel")

Examples
--------
>>> import tobmodel
>>> from tobmodel.leads import fit_lead_model
>>> sim = tobmodel.simulate("tool", "growth", n_accounts=400, seed=3)
>>> fit_lead_model(sim.leads, kind="logistic").score(sim.leads.head(2))["grade"].isin(
...     ["A", "B", "C", "D"]).all()
np.True_
"""
from __future__ import annotations

from .capacity import CapacityPlan, capacity_curve, capacity_plan
from .engine import UnknownCategoryWarning
from .evaluate import (calibration_error, calibration_table, compare_models,
                       conversion_by_grade, evaluate_lead_model, gains_table, lead_metrics,
                       top_decile_lift)
from .features import (DEFAULT_FEATURES, LeadDataError, LeakageError, check_no_leakage,
                       outcome_labels)
from .fit import SmallDataWarning, cross_validate_by_time
from .funnel import FUNNEL_STEPS, funnel_table, loss_pool_summary, step_times
from .leadmodel import LeadModel, fit_channel_baseline, fit_lead_model
from .pipeline import make_lead_model
from .persist import load_lead_model, save_lead_model
from .plotting import (plot_calibration, plot_capacity, plot_conversion_by_grade, plot_funnel,
                       plot_gains, plot_lift, plot_step_times)
from .reasons import WORDS
from .scoring import GRADE_CUTOFFS, grade_from_score, score_from_probability
from .timesplit import TimeOrderedSplit, TimeSplit, leads_known_at, time_split

__all__ = [
    # data and features
    "DEFAULT_FEATURES", "outcome_labels", "check_no_leakage", "time_split", "TimeSplit",
    "TimeOrderedSplit", "leads_known_at",
    # models
    "make_lead_model", "fit_lead_model", "fit_channel_baseline", "cross_validate_by_time",
    "LeadModel", "save_lead_model", "load_lead_model",
    # scores, grades, reasons
    "GRADE_CUTOFFS", "grade_from_score", "score_from_probability", "WORDS",
    # evaluation and capacity
    "lead_metrics", "calibration_error", "top_decile_lift", "gains_table", "calibration_table",
    "conversion_by_grade", "compare_models", "evaluate_lead_model",
    "capacity_plan", "capacity_curve", "CapacityPlan",
    # funnel
    "FUNNEL_STEPS", "funnel_table", "step_times", "loss_pool_summary",
    # plots
    "plot_calibration", "plot_gains", "plot_lift", "plot_conversion_by_grade", "plot_funnel",
    "plot_step_times", "plot_capacity",
    # errors and warnings
    "LeadDataError", "LeakageError", "SmallDataWarning", "UnknownCategoryWarning",
]
