"""Renewals as discrete decisions: the sBG cohort model and a discrete-time hazard model.

* :class:`ShiftedBetaGeometric`: Fader and Hardie's shifted-beta-geometric model
  ("How to project customer retention", J. Interactive Marketing, 2007). Each
  customer has a fixed churn probability theta per renewal; theta varies across
  customers as Beta(alpha, beta). Fitted to survivor counts of one or several
  cohorts, it projects survivors and retention rates, which rise with tenure
  because the customers most likely to churn leave first.
* :func:`person_period` + :class:`DiscreteTimeHazard`: one row per account per
  renewal opportunity, and a scikit-learn classifier of "churned at this
  renewal" with account covariates.

Annual and monthly terms: annual accounts face a renewal every 12 months,
monthly ones every month, and the two hazards differ in scale.
``period_months="term"`` gives each account its own period (12 for annual,
1 otherwise) and the model sees ``period_months`` and ``renewal_month``
(months since start at the renewal) as covariates. Fitting annual and monthly
accounts separately (filter the person-period rows) is the simpler choice when
each group has a few hundred accounts; the tests do that for annual accounts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from .descriptive import (DURATION, EVENT, TOLERANCE_MONTHS, check_survival_frame,
                          cohort_retention_table)

ID = "account_id"


def _cohorts(survivors) -> list[np.ndarray]:
    """Survivor counts as a list of 1-D arrays (one per cohort, trailing NaN dropped;
    cohorts observed only at period 0 are skipped)."""
    if isinstance(survivors, pd.DataFrame):
        rows = list(survivors.to_numpy(float))
    elif len(survivors) and np.ndim(survivors[0]) == 0:
        rows = [np.asarray(survivors, float)]
    else:
        rows = [np.asarray(r, float) for r in survivors]
    out = []
    for i, r in enumerate(rows):
        seen = ~np.isnan(r)
        r = r[: seen.argmin() if not seen.all() else len(r)]
        where = f"cohort {i}" if len(rows) > 1 else "survivor counts"
        if len(rows) > 1 and len(r) == 1:
            continue  # a cohort not yet at its first renewal carries no information
        if len(r) < 2 or r[0] <= 0:
            raise ValueError(f"{where}: need the cohort size (> 0) and at least one later count,"
                             f" got {r.tolist()}")
        if (np.diff(r) > 0).any() or (r < 0).any():
            k = int(np.argmax(np.diff(r) > 0)) + 1
            raise ValueError(f"{where}: survivor counts rise from period {k - 1} ({r[k - 1]:g}) "
                             f"to {k} ({r[k]:g}); pass customers still alive from one start "
                             "cohort, without new customers")
        out.append(r)
    if not out:
        raise ValueError("no cohort has reached its first renewal: nothing to fit yet")
    if all(r[-1] == r[0] for r in out):
        raise ValueError("no customer churned in any cohort (all censored): the sBG model cannot"
                         " be fitted; wait for renewals or add older cohorts")
    return out


class ShiftedBetaGeometric:
    """Shifted-beta-geometric model of contractual retention (Fader and Hardie 2007).

    Attributes (after ``fit``): ``alpha_, beta_, log_likelihood_, standard_errors_``
    (of alpha and beta, from the observed information), ``cohort_sizes_``.

    Examples
    --------
    >>> m = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> round(m.alpha_, 3), round(m.beta_, 3)
    (0.704, 1.182)
    >>> round(float(m.churn_probability_next_renewal(0)), 3)  # new customer
    0.373
    """

    def fit(self, survivors) -> "ShiftedBetaGeometric":
        """Maximum likelihood from survivors at periods 0..n: a sequence, a list of
        sequences (cohorts), or a DataFrame (rows cohorts, NaN where not observed)."""
        cohorts = _cohorts(survivors)
        width = max(len(r) for r in cohorts)
        pad = np.array([np.r_[r, np.full(width - len(r), r[-1])] for r in cohorts])
        lost = -np.diff(pad, axis=1)                     # churned at periods 1..n-1
        last = np.array([len(r) - 1 for r in cohorts])   # final observed period
        alive = pad[np.arange(len(cohorts)), last]
        t = np.arange(1, width)

        def nll(log_ab):
            a, b = np.exp(log_ab)
            log_p = betaln(a + 1, b + t - 1) - betaln(a, b)
            log_s = betaln(a, b + last) - betaln(a, b)
            return -(np.sum(lost * log_p) + alive @ log_s)
        res = minimize(nll, np.zeros(2), method="Nelder-Mead",
                       options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 4000})
        if not res.success:
            raise RuntimeError(f"sBG fit did not converge: {res.message}")
        self.alpha_, self.beta_ = (float(v) for v in np.exp(res.x))
        self.log_likelihood_ = float(-res.fun)
        self.standard_errors_ = self._standard_errors(nll, res.x)
        self.cohort_sizes_ = [float(r[0]) for r in cohorts]
        self.n_periods_ = width - 1
        return self

    @staticmethod
    def _standard_errors(nll, x, h=1e-4):
        """Delta-method SEs of (alpha, beta) from a finite-difference Hessian in log space."""
        e = np.eye(2) * h
        hess = np.array([[(nll(x + e[i] + e[j]) - nll(x + e[i] - e[j]) - nll(x - e[i] + e[j])
                           + nll(x - e[i] - e[j])) / (4 * h * h) for j in range(2)]
                         for i in range(2)])
        cov = np.linalg.pinv(hess)
        return np.exp(x) * np.sqrt(np.clip(np.diag(cov), 0, None))

    def survival(self, periods) -> np.ndarray:
        """Share of a cohort still customers after ``periods`` renewals: B(a, b+t) / B(a, b)."""
        t = np.asarray(periods, float)
        return np.exp(betaln(self.alpha_, self.beta_ + t) - betaln(self.alpha_, self.beta_))

    def retention_rate(self, periods) -> np.ndarray:
        """r_t = (beta + t - 1) / (alpha + beta + t - 1): share of period t-1 survivors renewing."""
        t = np.asarray(periods, float)
        return (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)

    def churn_probability_next_renewal(self, renewals) -> np.ndarray:
        """P(churn at the next renewal | survived ``renewals`` renewals) = a / (a + b + t)."""
        return self.alpha_ / (self.alpha_ + self.beta_ + np.asarray(renewals, float))

    def expected_residual_lifetime(self, renewals=0, discount_rate: float = 0.0) -> np.ndarray:
        """Expected further renewals (discounted: DERL of Fader and Hardie 2010).

        For a customer who survived ``renewals`` renewals, just before the next
        one: sum over k >= 1 of P(renews k more times) / (1 + d)^(k - 1), i.e.
        (b + s) / (a + b + s) * 2F1(1, b + s + 1; a + b + s + 1; 1 / (1 + d)).
        Infinite without discounting when alpha <= 1.
        """
        s = np.asarray(renewals, float)
        a, b = self.alpha_, self.beta_ + s
        if discount_rate == 0:
            return np.where(a > 1, b / max(a - 1, 1e-300), np.inf)
        return b / (a + b) * hyp2f1(1.0, b + 1, a + b + 1, 1.0 / (1.0 + discount_rate))

    def project(self, n_periods: int, cohort_size: float | None = None) -> pd.DataFrame:
        """Expected survivors and retention rate for periods 0..n_periods."""
        t = np.arange(n_periods + 1)
        size = self.cohort_sizes_[0] if cohort_size is None else cohort_size
        return pd.DataFrame({"period": t, "survival": self.survival(t),
                             "expected_survivors": size * self.survival(t),
                             "retention_rate": np.where(t > 0, self.retention_rate(t), np.nan)})


def cohort_survivors(view, period_months: int = 12, freq: str = "Y") -> pd.DataFrame:
    """Customers still active after 0, 1, 2, ... renewal periods, per start cohort (sBG input).

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("saas", n_accounts=300, seed=1)
    >>> annual = sim.accounts.loc[sim.accounts["contract_term"] == "annual", "account_id"]
    >>> v = tobmodel.survival_view(sim)
    >>> s = cohort_survivors(v[v["account_id"].isin(annual)])
    >>> ShiftedBetaGeometric().fit(s).alpha_ > 0
    True
    """
    t = cohort_retention_table(view, freq=freq, step_months=period_months, counts=True)
    t.columns = pd.Index(np.arange(t.shape[1]), name="period")
    return t


def renewal_period_months(df, period_months=12) -> np.ndarray:
    """Months between renewals per row: a constant, or ``"term"`` (annual 12, else 1)."""
    if period_months == "term":
        if "contract_term" not in df.columns:
            raise ValueError("period_months='term' needs a 'contract_term' column in the features")
        return np.where(df["contract_term"].astype(str).to_numpy() == "annual", 12, 1)
    if not (isinstance(period_months, (int, np.integer)) and period_months >= 1):
        raise ValueError(f"period_months must be a positive integer or 'term', got "
                         f"{period_months!r}")
    return np.full(len(df), int(period_months))


def completed_renewals(tenure, period) -> np.ndarray:
    """Renewal dates passed by an active account (3 days of slack for calendar months)."""
    return np.floor((np.asarray(tenure) - TOLERANCE_MONTHS) / period).clip(0).astype(np.int64)


def person_period(view, features, period_months=12) -> pd.DataFrame:
    """One row per account per renewal it faced: ``account_id, period, period_months,
    renewal_month``, the features, and ``churned`` (1 = did not renew at that renewal).

    A churned account has rows up to the renewal where it left; an active one
    up to its last renewal passed. ``features``: one row per account (static
    covariates; columns ``tenure_months``/``churned`` in it are ignored).

    Examples
    --------
    >>> v = pd.DataFrame({"account_id": [1, 2], "tenure_months": [24.0, 30.0],
    ...                   "churned": [1, 0]})
    >>> f = pd.DataFrame({"account_id": [1, 2], "tier": ["SMB", "KA"]})
    >>> person_period(v, f)[["account_id", "period", "churned"]].to_numpy().tolist()
    [[1, 1, 0], [1, 2, 1], [2, 1, 0], [2, 2, 0]]
    """
    d, e = check_survival_frame(view)
    extra = [c for c in features.columns if c not in (DURATION, EVENT) and
             (c == ID or c not in view.columns)]
    df = view[[ID, DURATION, EVENT]].merge(features[extra], on=ID, how="left", indicator=True)
    lacking = df["_merge"] == "left_only"
    if lacking.any():
        raise ValueError(f"features: no row for {int(lacking.sum())} accounts of the survival "
                         f"view, e.g. account_id {df.loc[lacking, ID].head(3).tolist()}")
    length = renewal_period_months(df, period_months)
    n_rows = np.where(e == 1, np.ceil((d - TOLERANCE_MONTHS) / length).clip(1),
                      completed_renewals(d, length)).astype(np.int64)
    r = np.repeat(np.arange(len(df)), n_rows)
    period = np.arange(len(r)) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows) + 1
    out = df.drop(columns=[DURATION, EVENT, "_merge"]).iloc[r].reset_index(drop=True)
    out.insert(1, "period", period)
    out.insert(2, "period_months", length[r])
    out.insert(3, "renewal_month", period * length[r])
    out[EVENT] = ((e[r] == 1) & (period == n_rows[r])).astype(np.int64)
    return out


def make_hazard_pipeline(estimator: str, numeric, categorical, random_state: int = 0
                         ) -> Pipeline:
    """scikit-learn pipeline of stock parts for P(churn at a renewal).

    ``"logistic"``: impute + scale numbers, one-hot categories, LogisticRegression.
    ``"hgb"``: numbers as they are, ordinal-coded categories,
    HistGradientBoostingClassifier with native categorical splits.
    """
    if estimator == "logistic":
        prep = ColumnTransformer(
            [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
             ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)],
            verbose_feature_names_out=False)
        model = LogisticRegression(max_iter=2000)
    elif estimator == "hgb":
        prep = ColumnTransformer(
            [("num", "passthrough", numeric),
             ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                    encoded_missing_value=np.nan), categorical)],
            verbose_feature_names_out=False)
        model = HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=100, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, categorical_features=list(categorical),
            early_stopping=False, random_state=random_state)
    else:
        raise ValueError(f"estimator must be 'logistic' or 'hgb', got {estimator!r}")
    return Pipeline([("prepare", prep.set_output(transform="pandas")), ("classify", model)])


class DiscreteTimeHazard:
    """P(churn at a renewal | reached it, covariates), fitted on :func:`person_period` rows.

    Parameters
    ----------
    estimator : {'logistic', 'hgb'}
    features : list of str, optional
        Covariates; default every column except ids, ``period`` and ``churned``.
        ``renewal_month``, its log and ``period_months`` are always added.

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("saas", n_accounts=300, seed=1)
    >>> acc = sim.accounts[["account_id", "tier", "contract_term", "onboarding_completed"]]
    >>> v = tobmodel.survival_view(sim)
    >>> m = DiscreteTimeHazard().fit(person_period(v, acc, period_months="term"))
    >>> active = v[v["churned"] == 0].merge(acc, on="account_id")
    >>> p = m.predict_next_renewal(active)
    >>> bool(p.between(0, 1).all()) and p.index.name == "account_id"
    True
    """

    _TIME = ["renewal_month", "log_renewal_month", "period_months"]

    def __init__(self, estimator: str = "logistic", features=None, random_state: int = 0):
        self.estimator = estimator
        self.features = features
        self.random_state = random_state

    def _design(self, df: pd.DataFrame) -> pd.DataFrame:
        x = df[self.feature_names_].copy()
        for c in self.categorical_features_:
            x[c] = x[c].astype("object").where(x[c].notna(), "missing").astype(str)
        for c in self.numeric_features_:
            x[c] = pd.to_numeric(x[c], errors="coerce").astype(float)
        x["log_renewal_month"] = np.log(df["renewal_month"].to_numpy(float))
        x["renewal_month"] = df["renewal_month"].to_numpy(float)
        x["period_months"] = df["period_months"].to_numpy(float)
        return x

    def fit(self, person_period_df: pd.DataFrame) -> "DiscreteTimeHazard":
        pp = person_period_df
        need = {ID, "period", "period_months", "renewal_month", EVENT} - set(pp.columns)
        if need:
            raise ValueError(f"person-period table lacks {sorted(need)}; build it with "
                             "person_period(view, features)")
        check_survival_frame(pp.assign(_d=1.0), "_d", EVENT, source="person-period table")
        skip = {ID, "period", EVENT, *self._TIME}
        self.feature_names_ = [c for c in (self.features or pp.columns) if c not in skip]
        kinds = pp[self.feature_names_].dtypes
        self.categorical_features_ = [c for c in self.feature_names_
                                      if not (pd.api.types.is_numeric_dtype(kinds[c])
                                              or pd.api.types.is_bool_dtype(kinds[c]))]
        self.numeric_features_ = [c for c in self.feature_names_
                                  if c not in self.categorical_features_]
        self.pipeline_ = make_hazard_pipeline(self.estimator,
                                              self.numeric_features_ + self._TIME,
                                              self.categorical_features_, self.random_state)
        self.pipeline_.fit(self._design(pp), pp[EVENT].to_numpy())
        self.period_months_ = sorted(int(v) for v in pp["period_months"].unique())
        self.event_rate_ = float(pp[EVENT].mean())
        return self

    def predict_hazard(self, df: pd.DataFrame) -> np.ndarray:
        """P(churn at the renewal of each person-period row)."""
        missing = [c for c in self.feature_names_ + ["renewal_month", "period_months"]
                   if c not in df.columns]
        if missing:
            raise ValueError(f"data to score lacks columns {missing}")
        return self.pipeline_.predict_proba(self._design(df))[:, 1]

    def _lengths(self, active):
        if "period_months" in active.columns:
            return active["period_months"].to_numpy(int)
        if len(self.period_months_) == 1:
            return np.full(len(active), self.period_months_[0])
        return renewal_period_months(active, "term")

    def _upcoming(self, active, horizon_months):
        """Person-period rows of the renewals each active account faces next."""
        check_survival_frame(active.assign(_e=0), DURATION, "_e", source="active accounts")
        length = self._lengths(active)
        done = completed_renewals(active[DURATION].to_numpy(float), length)
        if horizon_months is None:
            n = np.ones(len(active), np.int64)
        else:
            # renewals from the next one (possibly a few days overdue, see
            # completed_renewals) up to tenure + horizon; no horizon, no renewal
            reach = np.floor((active[DURATION].to_numpy(float) + horizon_months) / length)
            n = (reach.astype(np.int64) - done).clip(0) * (horizon_months > 0)
        r = np.repeat(np.arange(len(active)), n)
        k = done[r] + 1 + np.arange(len(r)) - np.repeat(np.cumsum(n) - n, n)
        rows = active.iloc[r].reset_index(drop=True)
        rows["period_months"] = length[r]
        rows["renewal_month"] = k * length[r]
        return rows, r

    def predict_next_renewal(self, active_df: pd.DataFrame) -> pd.Series:
        """P(not renewing at the next renewal date) per active account (higher = more risk).

        ``active_df``: one row per active account with ``account_id``,
        ``tenure_months`` (at the snapshot) and the features.
        """
        rows, _ = self._upcoming(active_df, None)
        return pd.Series(self.predict_hazard(rows), index=pd.Index(
            active_df[ID].to_numpy(), name=ID), name="p_churn_next_renewal")

    def predict_churn_within(self, active_df: pd.DataFrame, horizon_months: float = 12
                             ) -> pd.Series:
        """P(churn at a renewal within ``horizon_months``) = 1 - prod(1 - hazard)."""
        rows, r = self._upcoming(active_df, horizon_months)
        hazard = self.predict_hazard(rows) if len(rows) else np.zeros(0)
        log_keep = np.bincount(r, np.log1p(-hazard), minlength=len(active_df))
        return pd.Series(-np.expm1(log_keep), index=pd.Index(active_df[ID].to_numpy(), name=ID),
                         name=f"p_churn_{horizon_months:g}m")
