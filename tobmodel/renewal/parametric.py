"""Parametric accelerated-failure-time renewal models: Weibull and log-logistic.

A parametric survival curve continues past the longest tenure observed, so it
can say how long a customer will stay in total and what that is worth:

* Weibull AFT: ``S(t) = exp(-(t/lambda)^rho)``, ``log lambda = b0 + x . b``;
* log-logistic AFT: ``S(t) = 1 / (1 + (t/alpha)^beta)``, ``log alpha = a0 + x . a``.

Coefficients act on the time scale: ``exp(coef)`` is a *time ratio* (above 1:
customers stay longer). For reasons a term is turned into a log-hazard (Weibull)
or log-odds (log-logistic) contribution by multiplying with ``-rho`` / ``-beta``,
so positive still means more risk. Fitted by lifelines (``WeibullAFTFitter``,
``LogLogisticAFTFitter``); scored with closed forms.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from ..persist import data_fingerprint, doc_number, make_model_id
from .design import run_lifelines, schema_for, snapshot_info, training_design
from .base import RenewalModel


class _AFTRenewalModel(RenewalModel):
    """Shared fitting and scoring of the two AFT models."""

    _scale_param = ""   # lifelines name of the time-scale parameter
    _shape_param = ""
    _options = ("covariates", "penalizer", "allow_unknown_categories")

    def __init__(self, covariates=None, penalizer: float = 0.0,
                 allow_unknown_categories: bool = False):
        self.covariates = covariates
        self.penalizer = penalizer
        self.allow_unknown_categories = allow_unknown_categories

    def _fitter(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, features: pd.DataFrame):
        """Fit on :func:`build_account_features` output; returns ``self``."""
        enc, dropped, X, T, E = training_design(features, self.covariates, self.penalizer)
        frame = pd.DataFrame(X, columns=enc.columns)
        frame["tenure_months"] = T
        frame["churned"] = E
        fitter = self._fitter()
        run_lifelines(f"{self.name} model",
                      lambda: fitter.fit(frame, "tenure_months", "churned"), enc.columns, X)
        params, se, p = fitter.params_, fitter.standard_errors_, fitter.summary["p"]
        cols = [(self._scale_param, c) for c in enc.columns]
        self.encoder_ = enc
        self.covariates_ = enc.covariates
        self.dropped_covariates_ = dropped
        self.coef_ = params[cols].to_numpy(dtype=float) if cols else np.zeros(0)
        self.se_ = se[cols].to_numpy(dtype=float) if cols else np.zeros(0)
        self.p_ = p[cols].to_numpy(dtype=float) if cols else np.zeros(0)
        self.center_ = X.mean(axis=0)
        self.intercept_ = float(params[(self._scale_param, "Intercept")]
                                + self.center_ @ self.coef_)  # log scale at the mean account
        self.shape_ = float(np.exp(params[(self._shape_param, "Intercept")]))
        self.last_event_time_ = float(T[E == 1].max())
        self.lifelines_fitter_ = fitter
        # lifelines' regression intercept (log scale at covariates 0) and fit statistics
        self.regression_intercept_ = float(params[(self._scale_param, "Intercept")])
        self.log_likelihood_ = float(fitter.log_likelihood_)
        self.concordance_index_ = float(fitter.concordance_index_)
        self.AIC_ = float(fitter.AIC_)
        self.n_accounts_, self.n_events_ = len(frame), int(E.sum())
        self.as_of_, self.business_type_ = snapshot_info(features)
        self.features_ = schema_for(features, enc)
        self.model_id_ = make_model_id(self.name, self.config_(), data_fingerprint(frame))
        self._profile_training(features)
        return self

    def config_(self) -> dict:
        return {"model": self.name, "covariates": list(self.covariates_),
                "penalizer": float(self.penalizer),
                "allow_unknown_categories": bool(self.allow_unknown_categories),
                "as_of": self.as_of_text(), "business_type": self.business_type_,
                "n_accounts": int(self.n_accounts_), "n_events": int(self.n_events_)}

    # -- the model document --------------------------------------------------------
    def _payload(self) -> dict:
        return {"aft": {"intercept": self.intercept_, "shape": self.shape_,
                        "last_event_time": self.last_event_time_}}

    def _read_payload(self, doc: dict) -> None:
        a = doc["aft"]
        self.intercept_ = doc_number(a["intercept"], "aft.intercept")
        self.shape_ = doc_number(a["shape"], "aft.shape")
        if self.shape_ <= 0:
            raise ValueError(f"aft.shape is {self.shape_}, must be positive")
        self.last_event_time_ = doc_number(a["last_event_time"], "aft.last_event_time")

    # -- scoring -----------------------------------------------------------------
    def _state(self, df):
        log_scale = np.full(len(df), self.intercept_)
        for _, term in self.encoder_.terms(df, self.coef_, self.center_,
                                           self.allow_unknown_categories):
            log_scale += term
        return {"log_scale": log_scale}

    def _z(self, t, state):
        with np.errstate(divide="ignore"):
            return self.shape_ * (np.log(np.asarray(t, dtype=float)) - state["log_scale"])

    def _last_event(self, state):
        return np.full(len(state["log_scale"]), self.last_event_time_)

    def _risk_sign(self) -> float:
        return -self.shape_

    def scale(self, df: pd.DataFrame) -> np.ndarray:
        """Per-account time scale (lambda for Weibull, alpha for log-logistic), in months."""
        self._check_fitted()
        return np.exp(self._state(df)["log_scale"])

    @property
    def time_ratios_(self) -> pd.DataFrame:
        """``exp(coef)`` per design column: > 1 means customers stay longer."""
        self._check_fitted()
        z = stats.norm.ppf(0.975)
        return pd.DataFrame({
            "covariate": self.encoder_.columns,
            "time_ratio": np.exp(self.coef_),
            "lower_95": np.exp(self.coef_ - z * self.se_),
            "upper_95": np.exp(self.coef_ + z * self.se_),
            "p": self.p_,
        })

    def plot_time_ratios(self, ax=None):
        """Forest plot of the time ratios (log scale); returns the Axes."""
        from .plotting_models import plot_forest
        return plot_forest(self.time_ratios_, ax=ax, value="time_ratio",
                           title=f"{self.name}: time ratios ({self.model_id})")

    def expected_lifetime(self, df: pd.DataFrame) -> np.ndarray:
        """Expected total tenure in months from the first contract (closed form)."""
        return self._remaining_integral(np.zeros(len(df)), self._state(df))

    def expected_remaining_lifetime(self, df: pd.DataFrame) -> np.ndarray:
        """``E[T - s | T > s]`` for each account alive at its tenure ``s`` (no horizon cap)."""
        _, active, state, s = self._prepared(df)
        return np.where(active, self._remaining_integral(s, state), np.nan)

    def lifetime_value(self, df: pd.DataFrame, horizon_months: float | None = 120,
                       annual_discount_rate: float = 0.0) -> np.ndarray:
        """Remaining value: ARR/12 per expected month alive.

        ``horizon_months=None`` with no discount uses the closed-form expected
        remaining lifetime (no cap); otherwise a monthly grid (see base class).
        """
        if horizon_months is None and annual_discount_rate == 0:
            if "arr" not in df:
                raise ValueError("lifetime_value needs an 'arr' column")
            return df["arr"].to_numpy(dtype=float) / 12 * self.expected_remaining_lifetime(df)
        return super().lifetime_value(df, 600 if horizon_months is None else horizon_months,
                                      annual_discount_rate)


class WeibullAFTRenewalModel(_AFTRenewalModel):
    """Weibull accelerated-failure-time model of churn timing.

    Examples
    --------
    >>> import tobmodel
    >>> from tobmodel.renewal import build_account_features
    >>> f = build_account_features(tobmodel.simulate("saas", n_accounts=500, seed=6))
    >>> m = WeibullAFTRenewalModel(covariates=["tier", "onboarding_completed"]).fit(f)
    >>> bool((m.expected_lifetime(f) > 0).all())
    True
    """

    name = "weibull_aft"
    _scale_param, _shape_param = "lambda_", "rho_"

    def _fitter(self):
        from lifelines import WeibullAFTFitter
        return WeibullAFTFitter(penalizer=self.penalizer)

    def _cumhaz(self, t, state):
        return np.exp(self._z(t, state))

    def _remaining_integral(self, s, state):
        """``int_s^inf S(t) dt / S(s)`` via the upper incomplete gamma function."""
        lam, rho = np.exp(state["log_scale"]), self.shape_
        x = (np.asarray(s, dtype=float) / lam) ** rho
        a = 1.0 / rho
        q = special.gammaincc(a, x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            exact = lam / rho * np.exp(special.gammaln(a) + np.log(q) + x)
            asymptotic = lam / rho * x ** (a - 1)  # large x: q underflows
        return np.where(q > 1e-300, exact, asymptotic)


class LogLogisticAFTRenewalModel(_AFTRenewalModel):
    """Log-logistic accelerated-failure-time model (hazard rises, then falls).

    Examples
    --------
    >>> import tobmodel
    >>> from tobmodel.renewal import build_account_features
    >>> f = build_account_features(tobmodel.simulate("tool", n_accounts=500, seed=6))
    >>> m = LogLogisticAFTRenewalModel(covariates=["tier"]).fit(f)
    >>> bool(m.shape_ > 0)
    True
    """

    name = "loglogistic_aft"
    _scale_param, _shape_param = "alpha_", "beta_"

    def _fitter(self):
        from lifelines import LogLogisticAFTFitter
        return LogLogisticAFTFitter(penalizer=self.penalizer)

    def _cumhaz(self, t, state):
        return np.logaddexp(0.0, self._z(t, state))  # log(1 + (t/alpha)^beta)

    def _remaining_integral(self, s, state):
        """``int_s^inf S(t) dt / S(s)`` via the incomplete beta function (inf if beta <= 1)."""
        alpha, b = np.exp(state["log_scale"]), self.shape_
        if b <= 1:
            return np.full(len(alpha), np.inf)
        x = (np.asarray(s, dtype=float) / alpha) ** b
        p, q = 1.0 / b, 1.0 - 1.0 / b
        tail = alpha / b * special.beta(p, q) * special.betainc(q, p, 1.0 / (1.0 + x))
        return tail * (1.0 + x)
