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

import importlib

# name -> submodule: imported on first use, so that scoring a saved model loads
# neither lifelines nor scikit-learn (only fitting and the descriptive tools do)
_EXPORTS = {
    "cox": ("CoxRenewalModel", "PHCheck", "fit_weibull_tail"),
    "descriptive": ("add_segments", "book_by_period", "cohort_retention_table",
                    "compare_segments", "fit_kaplan_meier", "median_tenure", "retention_at",
                    "revenue_retention"),
    "discrete": ("DiscreteTimeHazard", "ShiftedBetaGeometric", "cohort_survivors",
                 "person_period"),
    "features": ("build_account_features", "calendar_months"),
    "design": ("DesignEncoder", "RenewalFitWarning", "fit_renewal_model"),
    "parametric": ("LogLogisticAFTRenewalModel", "WeibullAFTRenewalModel"),
    "persist": ("load_renewal_model", "save_renewal_model"),
    "plotting": ("plot_calibration", "plot_censoring", "plot_cohort_heatmap",
                 "plot_kaplan_meier", "plot_metric_comparison", "plot_revenue_retention",
                 "plot_sbg_projection", "plot_sbg_retention"),
    "plotting_models": ("plot_baseline_hazard", "plot_discrete_hazard", "plot_forest",
                        "plot_ph_check", "plot_reasons", "plot_score_distribution",
                        "plot_survival_curves"),
    "reasons": ("reason_texts",),
    "repurchase": ("RepurchaseModel", "fit_repurchase_model", "order_gaps"),
    "base": ("SCORE_COLUMNS", "RenewalModel"),
    # dynamic prediction (person-months, time-varying covariates) and churn causes
    "person_months": ("person_months", "current_month", "inactive_run_churn"),
    "dynamic": ("DynamicHazardModel", "fit_dynamic_model"),
    "competing": ("CompetingRisksModel",),
    # evaluation loads scikit-survival
    "evaluate": ("time_split", "TimeSplit", "evaluate_scores", "evaluate_against_truth",
                 "evaluate_renewal_model", "calibration_table", "model_churn_curves",
                 "oracle_churn_curves", "baseline_churn_curves"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_WHERE})
