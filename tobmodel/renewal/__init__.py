"""Renewal: when customers churn, and honest churn probabilities for every active customer.

Build one row per account with :func:`build_account_features`, fit a survival
model with :func:`fit_renewal_model` (Cox, Weibull AFT or log-logistic AFT) and
score active accounts with ``model.score(features)``: probability of churn at
the next renewal and within a horizon, expected remaining months, a flag for
extrapolation beyond the observed follow-up, and reasons in words. Higher
probability = more risk.

>>> import tobmodel
>>> from tobmodel.renewal import build_account_features, fit_renewal_model
>>> f = build_account_features(tobmodel.simulate("saas", n_accounts=400, seed=1))
>>> scores = fit_renewal_model(f, covariates=["tier", "logins_trend"]).score(f)
>>> list(scores.columns)[:3]
['account_id', 'next_renewal_date', 'p_churn_next_renewal']
"""
from __future__ import annotations

from .competing import CompetingRisksModel
from .cox import CoxRenewalModel, PHCheck, fit_weibull_tail
from .descriptive import (add_segments, book_by_period, cohort_retention_table,
                          compare_segments, fit_kaplan_meier, median_tenure, retention_at,
                          revenue_retention)
from .discrete import DiscreteTimeHazard, ShiftedBetaGeometric, cohort_survivors, person_period
from .dynamic import DynamicHazardModel, fit_dynamic_model
from .features import build_account_features, calendar_months
from .models import DesignEncoder, RenewalFitWarning, fit_renewal_model
from .parametric import LogLogisticAFTRenewalModel, WeibullAFTRenewalModel
from .person_months import current_month, inactive_run_churn, person_months
from .persist import load_renewal_model, save_renewal_model
from .plotting import (plot_calibration, plot_censoring, plot_cohort_heatmap,
                       plot_kaplan_meier, plot_metric_comparison, plot_revenue_retention,
                       plot_sbg_projection, plot_sbg_retention)
from .plotting_models import (plot_baseline_hazard, plot_discrete_hazard, plot_forest,
                              plot_ph_check, plot_reasons, plot_score_distribution,
                              plot_survival_curves)
from .reasons import reason_texts
from .repurchase import RepurchaseModel, fit_repurchase_model, order_gaps
from .scoring import SCORE_COLUMNS, RenewalModel

_EVALUATE = ("time_split", "TimeSplit", "evaluate_scores", "evaluate_against_truth",
             "evaluate_renewal_model", "calibration_table", "model_churn_curves",
             "oracle_churn_curves", "baseline_churn_curves")

__all__ = [
    "build_account_features", "calendar_months", "fit_renewal_model", "load_renewal_model",
    "save_renewal_model", "RenewalModel", "CoxRenewalModel", "WeibullAFTRenewalModel",
    "LogLogisticAFTRenewalModel", "DesignEncoder", "PHCheck", "RenewalFitWarning",
    "SCORE_COLUMNS", "fit_weibull_tail", "reason_texts", "plot_forest",
    "plot_survival_curves", "plot_score_distribution", "plot_baseline_hazard", "plot_ph_check",
    "plot_reasons", "plot_discrete_hazard",
    # dynamic prediction (person-months, time-varying covariates) and churn causes
    "person_months", "current_month", "inactive_run_churn", "DynamicHazardModel",
    "fit_dynamic_model", "CompetingRisksModel",
    # repurchase (hardware order gaps)
    "order_gaps", "fit_repurchase_model", "RepurchaseModel",
    # descriptive
    "add_segments", "fit_kaplan_meier", "retention_at", "median_tenure", "compare_segments",
    "cohort_retention_table", "revenue_retention", "book_by_period", "plot_kaplan_meier",
    "plot_censoring", "plot_cohort_heatmap", "plot_revenue_retention",
    # discrete renewals
    "ShiftedBetaGeometric", "cohort_survivors", "DiscreteTimeHazard", "person_period",
    "plot_sbg_projection", "plot_sbg_retention",
    # evaluation (imported on first use: it loads scikit-survival)
    *_EVALUATE, "plot_calibration", "plot_metric_comparison",
]


def __getattr__(name):
    if name in _EVALUATE:
        from . import evaluate
        return getattr(evaluate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
