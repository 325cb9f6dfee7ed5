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

from .cox import CoxRenewalModel, PHCheck, fit_weibull_tail
from .features import build_account_features, calendar_months
from .models import DesignEncoder, RenewalFitWarning, fit_renewal_model
from .parametric import LogLogisticAFTRenewalModel, WeibullAFTRenewalModel
from .persist import load_renewal_model, save_renewal_model
from .plotting_models import (plot_baseline_hazard, plot_discrete_hazard, plot_forest,
                              plot_ph_check, plot_reasons, plot_score_distribution,
                              plot_survival_curves)
from .reasons import reason_texts
from .scoring import SCORE_COLUMNS, RenewalModel

__all__ = [
    "build_account_features", "calendar_months", "fit_renewal_model", "load_renewal_model",
    "save_renewal_model", "RenewalModel", "CoxRenewalModel", "WeibullAFTRenewalModel",
    "LogLogisticAFTRenewalModel", "DesignEncoder", "PHCheck", "RenewalFitWarning",
    "SCORE_COLUMNS", "fit_weibull_tail", "reason_texts", "plot_forest",
    "plot_survival_curves", "plot_score_distribution", "plot_baseline_hazard", "plot_ph_check",
    "plot_reasons", "plot_discrete_hazard",
]
