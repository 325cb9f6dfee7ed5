"""Dynamic churn prediction: a discrete-time hazard on person-months, projected month by month.

:func:`~tobmodel.renewal.person_months.person_months` gives one row per
account per month at risk with what was known when the month began (usage
and its trend, seats, support backlog and escalations, price changes, orders,
tenure and renewal timing). :class:`DynamicHazardModel` fits a logistic
regression of "churn became known this month" on those rows, one set of
coefficients per group (contract renewals of annual accounts vs monthly
decisions, and by ``groups``, default the tier: small businesses react to
usage far more than key accounts).

Scoring an active account starts from its running month
(:func:`~tobmodel.renewal.person_months.current_month`) and multiplies the
monthly survival probabilities forward. **Assumption about the future:**
behaviour covariates (usage, support, price, orders) are *held at their last
observed value*; the clocks (tenure, first-year flag, which months are
renewals) advance as they will. So a score answers "if this account goes on as
it is now". On a platform, where a churn is dated at the first month without a
login but known only three months later, an account already ``j`` months
inactive has churned with the share ``q_j`` measured in training
(:func:`~tobmodel.renewal.person_months.inactive_run_churn`), so its scores are
``q_j + (1 - q_j) * P(model)``. For the same reason a fit on the tables leaves out
the training months of a currently quiet account from the start of its running
inactive run on (:func:`~tobmodel.renewal.person_months.outcome_known`): their
"no churn" labels are not known yet, and some are churns.

Hardware has no contract to renew: an account lapses 12 months after its last
order. The months since the last order are a clock too: they advance while no
order comes, and a second logistic hazard on the same rows (``order_coef_``)
gives the chance of an order each month (an order moves the deadline 12 months
on). So P(lapse in month j) = A_j h_j with A_j = prod_{i<j} (1 - h_i)(1 - o_i):
the churn hazard ``h`` is what happens in the deadline month, the order hazard
``o`` whether the account gets there. An account that orders is counted as safe
from then on: its next deadline lies at least 12 months ahead, so horizons up to
12 months are exact in this respect and longer ones leave that second lapse out.

Examples
--------
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", n_accounts=600, seed=3)
>>> m = DynamicHazardModel().fit(sim)
>>> s = m.score(current_month(sim))
>>> bool(((s["p_churn_horizon"] >= s["p_churn_next_renewal"] - 1e-12)).all())
True
>>> m2 = DynamicHazardModel.from_document(m.to_document())
>>> bool(np.allclose(m2.score(current_month(sim))["p_churn_horizon"], s["p_churn_horizon"]))
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..protocol import DEFAULT_HORIZON_MONTHS, ModelBase
from ..survival import INACTIVE_MONTHS
from .person_months import (BEHAVIOUR, CLOCKS, ID, STATIC_CATEGORICAL, STATIC_NUMERIC,
                            current_month, person_months)

#: derived design columns: name -> (source covariate for reasons, depends on the clocks)
DERIVED = {
    "log_tenure": ("tenure_at_month_start", True),
    "tenure_after_12": ("tenure_at_month_start", True),
    "tenure_after_24": ("tenure_at_month_start", True),
    "first_year": ("tenure_at_month_start", True),
    "log_renewal_number": ("tenure_at_month_start", True),
    "overpromised_first_year": ("sales_overpromised", True),
    "share_logit_1m": ("active_seat_share_1m", False),
    "share_logit_3m": ("active_seat_share_3m", False),
    "any_inactive_month": ("inactive_months", False),
    "order_gap_after_9": ("months_since_last_order", False),
    "order_deadline_month": ("months_since_last_order", False),
}
#: hardware: the order clock, advanced month by month while no order comes (see the docstring)
ORDER_CLOCK = ("months_since_last_order", "order_gap_after_9", "order_deadline_month")
LAPSE_MONTHS = 12  # hardware: an account lapses 12 months after its last order
DEFAULT_NUMERIC = (*[c for c in BEHAVIOUR], *STATIC_NUMERIC)
DEFAULT_CATEGORICAL = ("contract_term", "industry")


def _is(s: pd.Series, level: str) -> np.ndarray:
    """``s == level`` compared as strings; on a categorical by its codes (no string per row)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in s.cat.categories]
        if level not in cats:
            return np.zeros(len(s), bool)
        return s.cat.codes.to_numpy() == cats.index(level)
    return s.astype(str).to_numpy() == level


def _codes(s: pd.Series):
    """(integer code per row, level strings) of a column, categorical or not."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), [str(c) for c in s.cat.categories]
    codes, uniq = pd.factorize(s.astype(str), sort=True)
    return codes.astype(np.int64), [str(u) for u in uniq]


def _logit_share(x):
    x = np.clip(np.asarray(x, float), 0.02, 0.98)
    return np.log(x / (1 - x))


def _clocks(t0: np.ndarray, k: np.ndarray, annual: np.ndarray, over: np.ndarray,
            since=None) -> dict:
    """Columns known in advance for any future month (``t0``: tenure at month start, ``k``;
    ``since``: months since the last order, if no order comes in between)."""
    first = (t0 < 12).astype(float)
    renewal_no = np.where(annual, np.ceil(k / 12), k)
    out = {"tenure_at_month_start": t0 / 12, "log_tenure": np.log1p(t0),
           "tenure_after_12": np.maximum(t0 - 12, 0) / 12,
           "tenure_after_24": np.maximum(t0 - 24, 0) / 12, "first_year": first,
           "log_renewal_number": np.log(np.maximum(renewal_no, 1)),
           "overpromised_first_year": over * first}
    if since is not None:
        out.update(months_since_last_order=since, **_order_clock(since))
    return out


def _order_clock(since: np.ndarray) -> dict:
    """The derived columns of the months since the last order: past 9 months, and the
    month holding the lapse deadline (last order + 12 months)."""
    return {"order_gap_after_9": np.maximum(since - 9, 0),
            "order_deadline_month": (since >= LAPSE_MONTHS - 1 - 1e-9).astype(float)}


def _derived(df: pd.DataFrame, t0: np.ndarray, k: np.ndarray, annual: np.ndarray) -> dict:
    """Clock columns and transformed behaviour columns of the rows ``df``."""
    return {
        **_clocks(t0, k, annual, df["sales_overpromised"].to_numpy(dtype=float)),
        "share_logit_1m": _logit_share(df["active_seat_share_1m"]),
        "share_logit_3m": _logit_share(df["active_seat_share_3m"]),
        "any_inactive_month": (df["inactive_months"].to_numpy(float) > 0).astype(float),
        **_order_clock(df["months_since_last_order"].to_numpy(float)),
    }


class DynamicHazardModel(ModelBase):
    """Discrete-time churn hazard on person-months with time-varying covariates.

    Parameters
    ----------
    numeric : list of str, optional
        Numeric / 0-1 covariates of the person-month rows (default: every
        behaviour covariate and the static account ones).
    categorical : list of str, optional
        Categorical covariates (default ``contract_term, industry``).
    groups : tuple of str
        Columns whose levels get their own coefficients (default ``("tier",)``).
        Annual renewals and monthly decisions are always separate.
    C : float
        Inverse L2 penalty of the logistic regression on standardised columns.
    max_iter : int
    hazard : {"logistic", "boosting"}
        ``"logistic"``: one L2-penalised logistic regression per group.
        ``"boosting"``: gradient-boosted trees (LightGBM, one model for all
        groups, the group columns as features; :mod:`~tobmodel.renewal.hazard_trees`),
        saved as plain arrays; reasons from the trees' path contributions. The
        hardware order hazard stays logistic.
    boosting : dict, optional
        LightGBM settings of the boosted hazard (defaults
        :data:`~tobmodel.renewal.hazard_trees.BOOSTING_DEFAULTS`).
    random_state : int
        Seed of the boosted hazard (same rows and seed, same trees).
    recalibrate_months : int
        0: no recalibration. Otherwise (fitting on tables) the same model is also
        fitted ``recalibrate_months`` earlier, its projected hazards for the accounts
        active then are compared with what happened up to the training date, and a
        logistic map ``logit h -> a + b logit h + c j`` (``j``: months ahead, up to
        ``recalibrate_months - 1``) fitted on those months (one for annual renewals,
        one for monthly decisions) is applied to every projected hazard
        (``calibration_``). It corrects the projection's drift (behaviour held at
        its last value, which drifts further the further ahead) as well as the fit.
        On a platform the months whose churn cannot be known yet at the training
        date (the last ``INACTIVE_MONTHS``) are left out. An industry whose churn in
        that year departs from the map beyond chance (a competitor's campaign: a
        shock of that year no column shows) is left out of the map's fit
        (``calibration_left_out_``), so one year's shock does not move every score.

    Attributes
    ----------
    columns_ : list of str
        Design columns (numeric, derived, one-hot ``name=level``).
    coef_ : dict
        Group key (``"annual|KA"``...) -> intercept and coefficients (raw scale);
        empty for the boosted hazard.
    trees_ : dict
        Boosted hazard only: the trees as plain arrays (:mod:`tobmodel.trees`).
    center_ : ndarray
        Training means of the design columns (for reasons).
    max_event_tenure_ : float
        Longest tenure at which a churn was seen (beyond it scores extrapolate).
    inactive_run_churn_ : dict
        Platform: months without a login at scoring -> share already churned.
    calibration_ : dict
        ``"annual"`` / ``"monthly"`` -> ``(a, b, c)`` of the recalibration map (empty
        without ``recalibrate_months``).
    calibration_left_out_ : list of str
        Industries left out of the map's fit as shocked in the graded year.
    n_rows_, n_events_ : int
    log_likelihood_ : float
        Of the fitted hazards on the training rows.
    """

    kind = "renewal"
    name = "dynamic"
    id_column = ID

    def __init__(self, numeric=None, categorical=None, groups=("tier",), C: float = 1.0,
                 max_iter: int = 50, recalibrate_months: int = 0, hazard: str = "logistic",
                 boosting: dict | None = None, random_state: int = 0):
        self.hazard = hazard
        self.boosting = boosting
        self.random_state = random_state
        self.numeric = numeric
        self.categorical = categorical
        self.groups = groups
        self.C = C
        self.max_iter = max_iter
        self.recalibrate_months = recalibrate_months

    # -- design ------------------------------------------------------------------
    input_tables = ("accounts", "contracts", "usage", "support")

    def frame_from_tables(self, tables, as_of=None) -> pd.DataFrame:
        """The running month of every active account at ``as_of`` (what the model scores)."""
        from .person_months import current_month
        return current_month(tables, as_of=as_of)

    def fit_tables(self, tables, as_of=None) -> "DynamicHazardModel":
        """Fit on the team's tables (person-months up to ``as_of``); returns ``self``."""
        return self.fit(tables, as_of=as_of)

    def config_(self) -> dict:
        return {"numeric": list(self.numeric) if self.numeric is not None else None,
                "categorical": list(self.categorical) if self.categorical is not None
                else None, "groups": list(self.groups), "C": float(self.C),
                "max_iter": int(self.max_iter),
                "recalibrate_months": int(self.recalibrate_months),
                **({"hazard": "boosting", "boosting": dict(self.boosting or {}),
                    "random_state": int(self.random_state)} if self._boosted() else {})}

    def _boosted(self) -> bool:
        if self.hazard not in ("logistic", "boosting"):
            raise ValueError(f"hazard must be 'logistic' or 'boosting', got {self.hazard!r}")
        return self.hazard == "boosting"

    def _group_keys(self, df) -> np.ndarray:
        """Group key of every row ("annual|KA"...), built from integer codes."""
        inv, keys = self._group_index(df)
        return np.asarray(keys, dtype=object)[inv]

    def _group_index(self, df):
        """(index per row into ``keys``, ``keys``): the distinct group keys of ``df``."""
        code = _is(df["contract_term"], "annual").astype(np.int64)
        labels = [["monthly", "annual"]]
        for g in self.groups_:
            c, lv = _codes(df[g])
            code = code * (len(lv) + 1) + (c + 1)
            labels.append(lv)
        inv, uniq = pd.factorize(code, sort=True)  # hashing: only the few keys are sorted
        keys = []
        for u in uniq.tolist():  # a handful of groups
            parts = []
            for lv in labels[:0:-1]:
                parts.append(lv[u % (len(lv) + 1) - 1] if u % (len(lv) + 1) else "nan")
                u //= len(lv) + 1
            keys.append("|".join([labels[0][u], *parts[::-1]]))
        return inv.ravel(), keys

    def _design_columns(self, df, t0=None, k=None) -> list:
        """The design columns of rows ``df`` (1-d arrays, views where possible); clocks
        from ``t0``/``k`` when given."""
        t0 = df["tenure_at_month_start"].to_numpy(float) if t0 is None else t0
        k = df["month_index"].to_numpy(float) if k is None else k
        annual = _is(df["contract_term"], "annual")
        der = _derived(df, t0, k, annual)
        cols = []
        for c in self.columns_:
            if c in der:
                cols.append(der[c])
            elif "=" in c:
                name, level = c.split("=", 1)
                cols.append(_is(df[name], level))
            else:
                cols.append(df[c].to_numpy(dtype=float))
        return cols

    def _matrix(self, df, t0=None, k=None) -> np.ndarray:
        """Design matrix (float64) of rows ``df``; clocks from ``t0``/``k`` when given."""
        return _fill(self._design_columns(df, t0, k), slice(0, len(df)))

    # -- fit -------------------------------------------------------------------------
    def fit(self, data, as_of=None) -> "DynamicHazardModel":
        """Fit on person-month rows, or on tables / a Simulation (rows built as of ``as_of``)."""
        from ..persist import data_fingerprint, feature_schema, make_model_id
        pm = data if isinstance(data, pd.DataFrame) else person_months(data, as_of=as_of)
        if "churn" not in pm:
            raise ValueError("fit needs person-month rows with a 'churn' column "
                             "(tobmodel.renewal.person_months) or the tables themselves")
        use = pm["at_risk"].to_numpy(bool, copy=True)  # a view would change the caller's rows
        if "outcome_known" in pm:  # platform: rows whose churn is not known yet
            use &= pm["outcome_known"].to_numpy(bool)
        pm = pm.loc[use]
        if pm["churn"].sum() == 0:
            raise ValueError("no churn in the person-month rows: the hazard cannot be fitted")
        numeric = list(DEFAULT_NUMERIC if self.numeric is None else self.numeric)
        categorical = list(DEFAULT_CATEGORICAL if self.categorical is None else self.categorical)
        self.groups_ = [g for g in self.groups if g in pm]
        missing = [c for c in [*numeric, *categorical, *self.groups_, "contract_term",
                               "sales_overpromised", "tenure_at_month_start", "month_index"]
                   if c not in pm]
        if missing:
            raise ValueError(f"person-month rows lack columns {missing}")
        numeric = [c for c in numeric if pm[c].nunique() > 1]
        onehot = []
        for c in categorical:
            levels = sorted(pm[c].astype(str).unique())
            onehot += [f"{c}={v}" for v in levels[1:]]
        derived = [d for d, (src, _) in DERIVED.items()
                   if src in numeric or src == "tenure_at_month_start"]
        if self._boosted():  # one model for all groups: the trees split on the groups
            for g in self.groups_:
                levels = sorted(pm[g].astype(str).unique())
                onehot += [f"{g}={v}" for v in levels[1:] if f"{g}={v}" not in onehot]
        self.columns_ = ["tenure_at_month_start", *derived, *numeric, *onehot]
        self.order_clock_ = "months_since_last_order" in self.columns_
        self.clock_columns_ = [c for c in self.columns_ if c == "tenure_at_month_start"
                               or DERIVED.get(c, ("", False))[1]
                               or (self.order_clock_ and c in ORDER_CLOCK)]
        X = self._matrix(pm)
        y = pm["churn"].to_numpy(np.int64)
        self.center_ = X.mean(axis=0)
        scale = X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        keys = self._group_keys(pm)
        if self._boosted():
            from .hazard_trees import fit_hazard_trees, tree_raw
            self.trees_, self.ensemble_ = fit_hazard_trees(X, y, self.boosting,
                                                           self.random_state)
            eta = tree_raw(self.ensemble_, X)
            self.coef_ = {}
            self.log_likelihood_ = float(np.sum(y * eta - np.logaddexp(0, eta)))
        else:
            self.coef_, self.log_likelihood_ = self._fit_groups(X, y, keys, scale)
        self.order_coef_ = None
        if self.order_clock_:
            use, ordered = _orders(pm)
            self.order_coef_, _ = self._fit_groups(X[use], ordered[use], keys[use], scale)
        self.n_rows_, self.n_events_ = int(len(pm)), int(y.sum())
        self.max_event_tenure_ = float(pm.loc[y == 1, "tenure_at_month_start"].max() + 1)
        self.inactive_run_churn_ = {int(j): float(q) for j, q in
                                    (pm.attrs.get("inactive_run_churn") or {}).items()}
        self.business_type_ = pm.attrs.get("business_type")
        self.as_of_ = pd.Timestamp(pm.attrs["as_of"]) if pm.attrs.get("as_of") else None
        needed = list(dict.fromkeys(
            ["month_index", "tenure_at_month_start", "contract_term", "sales_overpromised",
             *self.groups_, *numeric, *categorical,
             *[DERIVED[d][0] for d in derived if DERIVED[d][0] != "tenure_at_month_start"]]))
        self.features_ = feature_schema(pm, needed)
        self.model_id_ = make_model_id(self.name, self.config_(), data_fingerprint(
            pm[["account_id", "month_index", "churn"]]))
        self.calibration_, self.calibration_left_out_ = {}, []
        if self.recalibrate_months:
            if isinstance(data, pd.DataFrame):
                raise ValueError("recalibrate_months needs the tables (to refit on an earlier "
                                 "date), not person-month rows")
            self.calibration_ = self._recalibration(data, self.as_of_)
        return self

    def _fit_groups(self, X, y, keys, scale):
        """Logistic coefficients per group key (raw scale) and the log-likelihood."""
        coef, ll = {}, 0.0
        for key in sorted(set(keys)):
            rows = keys == key
            yk = y[rows]
            if yk.min() == yk.max():  # no event (or all events) in a group: its mean rate
                rate = np.clip(yk.mean(), 0.5 / len(yk), 1 - 0.5 / len(yk))
                b, beta = float(np.log(rate / (1 - rate))), np.zeros(X.shape[1])
            else:
                Z = (X[rows] - self.center_) / scale
                b0, beta_z = fit_logistic(Z, yk, 1.0 / self.C, self.max_iter)
                beta = beta_z / scale
                b = float(b0 - beta @ self.center_)
            coef[key] = {"intercept": b, "coef": beta}
            eta = b + X[rows] @ beta
            ll += float(np.sum(yk * eta - np.logaddexp(0, eta)))
        return coef, ll

    def _recalibration(self, tables, as_of):
        """{'annual' | 'monthly': (a, b, c)} of logit h -> a + b logit h + c j, from a fit
        ``recalibrate_months`` earlier graded on the months up to ``as_of`` (all known
        at ``as_of``). Sets ``calibration_left_out_`` (see :func:`_shock_level`)."""
        R = int(self.recalibrate_months)
        earlier = pd.Timestamp(as_of) - pd.DateOffset(months=R)
        cfg = {k: v for k, v in self.config_().items() if k != "recalibrate_months"}
        past = type(self)(**cfg).fit(tables, as_of=earlier)
        then = current_month(tables, as_of=earlier)
        H = past.project_hazards(then, R)
        seen = person_months(tables, as_of=as_of)
        pos = pd.Index(then[ID]).get_indexer(seen[ID])
        j = seen["month_index"].to_numpy() - then["month_index"].to_numpy()[np.maximum(pos, 0)]
        use = (pos >= 0) & (j >= 0) & (j < R) & seen["at_risk"].to_numpy(bool)
        if self.business_type_ == "platform":  # churns of the last months are not known yet
            known = pd.Timestamp(as_of) - pd.DateOffset(months=INACTIVE_MONTHS)
            use &= (seen["month_start"] < known).to_numpy()
        h = np.clip(H[pos[use], j[use]], 1e-9, 1 - 1e-9)
        y = seen["churn"].to_numpy()[use]
        ahead = np.minimum(j[use], R - 1).astype(float)
        annual = _is(seen["contract_term"], "annual")[use]
        if SHOCK_COLUMN in seen:
            level, names = _codes(seen[SHOCK_COLUMN])
            level = level[use]
            if (level < 0).any():  # a missing industry is a level of its own
                level, names = np.where(level < 0, len(names), level), [*names, "missing"]
        else:
            level, names = np.zeros(len(y), np.int64), []
        keep = np.ones(len(y), bool)
        left_out: list = []
        while True:  # one level more per round: the worst, while it departs beyond chance
            out = _fit_maps(h, y, ahead, annual, keep)
            worst = _shock_level(_apply_maps(out, h, ahead, annual), y, level, len(names),
                                 left_out)
            if worst is None:
                break
            left_out.append(worst)
            keep = ~np.isin(level, left_out)
        self.calibration_left_out_ = [names[i] for i in left_out]
        return out

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise ValueError("this DynamicHazardModel is not fitted yet; call fit(data)")

    # -- hazards ------------------------------------------------------------------
    def predict_hazard(self, rows: pd.DataFrame, event: str = "churn",
                       months_ahead=0) -> np.ndarray:
        """Monthly hazard of person-month rows, each with its own covariates and clocks: of
        churn (0 for months not at risk) or, ``event="order"`` (hardware), of an order.
        ``months_ahead``: how far each row lies beyond the scoring month (the calibration
        map's months-ahead term; 0 for observed rows)."""
        self._check_fitted()
        if event not in ("churn", "order") or (event == "order" and not self.order_coef_):
            raise ValueError(f"event must be 'churn' or, for hardware, 'order'; got {event!r}")
        X = self._matrix(rows)
        if event == "churn" and self._boosted():
            from .hazard_trees import tree_raw
            eta = tree_raw(self.ensemble_, X)
        else:
            inv, keys = self._group_index(rows)
            eta = np.empty(len(rows))
            for i, c in enumerate(self._group_coefs(keys, self._event_coefs(event))):
                r = inv == i
                eta[r] = c["intercept"] + X[r] @ c["coef"]
        if event == "order":
            return 1 / (1 + np.exp(-eta))
        h = 1 / (1 + np.exp(-self._calibrated(rows, eta, np.asarray(months_ahead))))
        return np.where(_at_risk(rows, rows["month_index"].to_numpy(float)), h, 0.0)

    def _event_coefs(self, event: str) -> dict:
        return self.order_coef_ if event == "order" else self.coef_

    def project_hazards(self, current: pd.DataFrame, n_months: int, X=None) -> np.ndarray:
        """Hazards of the next ``n_months`` months (columns) from each account's running month.

        Behaviour covariates are held at their last observed value; tenure, the
        first-year flag and the renewal months advance (see the module docstring).
        """
        self._check_fitted()
        hazards = self._hazards(current, n_months)
        cols = None if X is not None else self._design_columns(current)
        out = np.empty((len(current), int(n_months)))
        with _small_products():
            for sl in _chunks(len(current)):
                out[sl] = hazards(X[sl] if X is not None else _fill(cols, sl), sl)
        return out

    def _hazards(self, current: pd.DataFrame, n_months: int, P=None):
        """``f(X, rows)``: projected churn hazards (rows x months) of design rows ``X``.

        Hardware: the months since the last order advance while no order comes;
        each month an order comes with the order hazard ``o`` (and pushes the
        deadline 12 months on) or, in the deadline month, the account lapses with
        the churn hazard ``h``. P(lapse in month j) = A_j h_j with
        A_j = prod_{i<j} (1 - h_i)(1 - o_i); returned as hazards given survival.
        """
        P = self._projector(current, n_months) if P is None else P
        if not getattr(self, "order_coef_", None):
            return P.hazards
        O = self._projector(current, n_months, event="order")
        # the recalibration map was fitted on these combined hazards: applied to them
        maps = getattr(self, "calibration_", None) or {}
        annual = _is(current["contract_term"], "annual")[:, None]
        ahead = self._months_ahead(n_months)[None, :]

        def hazards(X, sl):
            h, o = P.hazards(X, sl), O.hazards(X, sl)
            A = np.cumprod(np.column_stack([np.ones(len(h)), ((1 - h) * (1 - o))[:, :-1]]),
                           axis=1)
            p = A * h                                   # P(lapse in month j)
            S_prev = 1 - np.column_stack([np.zeros(len(h)), np.cumsum(p, axis=1)[:, :-1]])
            q = np.where(S_prev > 0, p / np.where(S_prev > 0, S_prev, 1.0), 1.0)
            if not maps:
                return q
            inside = (q > 0) & (q < 1)
            return np.where(inside, _apply_maps(maps, np.where(inside, q, 0.5), ahead,
                                                annual[sl]), q)
        return hazards

    def _projector(self, current: pd.DataFrame, n_months: int,
                   event: str = "churn") -> "_Projector":
        """The month-by-month projection of the rows ``current``, vectorised.

        An accounts x months matrix: each account's linear predictor without the
        clock terms is computed once; the clock terms (with the calibration and
        the months at risk) depend only on the group, the over-promise flag and
        the month, so they are computed once per distinct combination and spread
        to the accounts: ``h = 1 / (1 + exp(-eta_account) * exp(-eta_clocks))``.
        """
        n_months = int(n_months)
        if event == "churn" and self._boosted():
            return _TreeProjector(self, current, n_months)
        inv, keys = self._group_index(current)
        coefs = self._group_coefs(keys, self._event_coefs(event))
        clock = np.array([self.columns_.index(c) for c in self.clock_columns_], np.int64)
        W = np.zeros((len(self.columns_), len(coefs)))
        for g, c in enumerate(coefs):
            W[:, g] = c["coef"]
        bc = W[clock].T.copy()                                   # groups x clocks
        W[clock] = 0.0
        annual_g = np.array([k.split("|")[0] == "annual" for k in keys], bool)
        a, b, c = (self._churn_map(annual_g) if event == "churn"
                   else _map_coefs({}, annual_g))   # the order hazard: no map
        # distinct (group, over-promised, month[, months since order]) combinations
        k0 = current["month_index"].to_numpy(float)
        over = current["sales_overpromised"].to_numpy(float)
        key = inv.astype(np.int64)
        for v in ([over, k0, current["months_since_last_order"].to_numpy(float)]
                  if self.order_clock_ else [over, k0]):
            code, uniq = pd.factorize(v, sort=False)
            key = key * max(len(uniq), 1) + code
        cinv, ckeys = pd.factorize(key, sort=False)
        first = np.zeros(len(ckeys), np.int64)
        first[cinv[::-1]] = np.arange(len(key))[::-1]           # a row of each combination
        g = inv[first]
        kk = k0[first][:, None] + np.arange(n_months)[None, :]   # combinations x months
        shape = kk.shape
        since = (current["months_since_last_order"].to_numpy(float)[first][:, None]
                 + np.arange(n_months)).ravel() if self.order_clock_ else None
        der = _clocks((kk - 1).ravel(), kk.ravel(), np.repeat(annual_g[g], n_months),
                      np.repeat(over[first], n_months), since)
        T = np.zeros(shape)
        for j, col in enumerate(self.clock_columns_):
            T += der[col].reshape(shape) * bc[g, j][:, None]
        with np.errstate(over="ignore"):
            V = np.exp(np.clip(-(b[g][:, None] * T + c[g][:, None]
                                 * self._months_ahead(n_months)[None, :]), -700, 700))
        if event == "churn":
            V[~(~annual_g[g][:, None] | (kk % 12 == 0))] = np.inf   # not at risk: hazard 0
        return _Projector(coefs, W, np.array([c["intercept"] for c in coefs]), a, b, inv, cinv, V)

    def _group_coefs(self, keys, coef=None) -> list:
        """Coefficients of each group key (an unseen group gets its decision type's)."""
        coef = self.coef_ if coef is None else coef
        known = list(coef)
        return [coef.get(key) or coef[_nearest(key, known)] for key in keys]

    def _calibration_ab(self, annual: np.ndarray):
        """Per entry of ``annual``: the calibration map ``(a, b, c)`` (identity if none)."""
        return _map_coefs(getattr(self, "calibration_", None) or {}, annual)

    def _churn_map(self, annual: np.ndarray):
        """The map the projectors apply to the churn hazard itself: the calibration map, or
        the identity for hardware, whose map applies once the orders combine (``_hazards``)."""
        return _map_coefs({}, annual) if self.order_clock_ else self._calibration_ab(annual)

    def _months_ahead(self, n_months: int) -> np.ndarray:
        """Months ahead 0..n_months-1 as the calibration map reads them."""
        return self._ahead(np.arange(n_months))

    def _ahead(self, months_ahead) -> np.ndarray:
        """Months ahead as the calibration map reads them (held beyond the months graded)."""
        return np.minimum(months_ahead, max(int(self.recalibrate_months) - 1, 0))

    def _calibrated(self, df, eta, months_ahead=0):
        cal = getattr(self, "calibration_", None)
        if not cal:
            return eta
        a, b, c = self._calibration_ab(_is(df["contract_term"], "annual"))
        return a + b * eta + c * self._ahead(months_ahead)

    def _already_churned(self, current) -> np.ndarray:
        """Per row: the share of accounts this many months inactive that had churned."""
        q = np.zeros(len(current))
        if self.inactive_run_churn_ and "inactive_months" in current:
            j = current["inactive_months"].to_numpy(float)
            for run, share in self.inactive_run_churn_.items():
                q = np.where(j == run, share, q)
        return q

    def survival(self, current: pd.DataFrame, n_months: int, X=None) -> np.ndarray:
        """P(no churn within 1..n_months months) per account (n x n_months)."""
        S = np.cumprod(1 - self.project_hazards(current, n_months, X), axis=1)
        return S * (1 - self._already_churned(current))[:, None]

    def churn_curves(self, current: pd.DataFrame, months=None,
                     horizon_months: int = DEFAULT_HORIZON_MONTHS) -> pd.DataFrame:
        """P(churn within t months | active now) for t in ``months`` (for the evaluation)."""
        months = list(range(1, horizon_months + 1)) if months is None else list(months)
        S = self.survival(current, int(max(months)))
        cols = {float(t): 1 - S[:, int(t) - 1] for t in months}
        return pd.DataFrame(cols, index=pd.Index(current[ID].to_numpy(), name=ID))

    # -- scoring (the protocol) -------------------------------------------------------
    def score(self, df, *, as_of=None, horizon_months=None, source="data", progress=False,
              checked=False):
        """Churn scores of the running months in ``df`` (:func:`current_month` output).

        Returns one row per input row: ``account_id, next_renewal_date,
        p_churn_next_renewal, horizon_months, p_churn_horizon,
        expected_remaining_months, beyond_followup, reasons``. Rows not
        ``active`` get NaN.
        """
        self._check_fitted()
        H = DEFAULT_HORIZON_MONTHS if horizon_months is None else horizon_months
        if not np.isfinite(H) or H <= 0 or H != int(H):
            raise ValueError(f"horizon_months must be a whole number of months > 0, got {H}")
        H = int(H)
        self.check_schema(df, source)
        for c in ("tenure_months", "months_to_next_renewal", "next_renewal_date"):
            if c not in df:
                raise ValueError(f"{source}: column {c!r} missing; score the running months "
                                 "from tobmodel.renewal.current_month(tables, as_of)")
        if as_of is not None and "as_of" in df and len(df):
            got = pd.Timestamp(df["as_of"].iloc[0]).normalize()
            if got != pd.Timestamp(as_of).normalize():
                raise ValueError(f"{source}: rows were built as of {got.date()}, not "
                                 f"{pd.Timestamp(as_of).date()}")
        active = df["active"].to_numpy(bool) if "active" in df else np.ones(len(df), bool)
        s = df["tenure_months"].to_numpy(float)
        to_next = np.where(active, df["months_to_next_renewal"].to_numpy(float), 1.0)
        n_next = np.ceil(s + to_next - 1e-6) - np.floor(s)
        n_next = np.clip(n_next, 1, 120).astype(np.int64)
        need = max(H, int(n_next.max()) if len(df) else 1)
        cols = self._design_columns(df)
        P = self._projector(df, need)
        hazards = self._hazards(df, need, P)
        kept = 1 - self._already_churned(df)
        names, contrib = self._contribution_maps(P, df)
        M = np.empty((len(df), len(names)), np.float32)
        p_next, p_h, rmst = np.empty(len(df)), np.empty(len(df)), np.empty(len(df))
        with _small_products():
            for sl in _chunks(len(df)):  # row chunks that stay in the cache
                Xb = _fill(cols, sl)
                # months x accounts: the products and sums run along whole rows of memory
                S = np.subtract(1.0, hazards(Xb, sl).T, order="C")
                np.cumprod(S, axis=0, out=S)
                S *= kept[sl]
                p_next[sl] = 1 - S[n_next[sl] - 1, np.arange(S.shape[1])]
                p_h[sl] = 1 - S[H - 1]
                # trapezoids of (kept, S_1, ..., S_H): kept/2 + S_1 + ... + S_{H-1} + S_H/2
                rmst[sl] = S[:H - 1].sum(axis=0) + (kept[sl] + S[H - 1]) / 2
                M[sl] = contrib(Xb, P.inv[sl])
        beyond = active & (s + np.maximum(to_next, H) > self.max_event_tenure_)
        from .reasons import reason_texts
        reasons = reason_texts(df, names, M)
        nan = np.where(active, 1.0, np.nan)
        nxt = df["next_renewal_date"]
        return pd.DataFrame({
            ID: df[ID].to_numpy(),
            "next_renewal_date": nxt.to_numpy() if nxt.dtype.kind == "M"
            else pd.to_datetime(nxt).to_numpy(),
            "p_churn_next_renewal": p_next * nan, "horizon_months": np.full(len(df), H),
            "p_churn_horizon": p_h * nan, "expected_remaining_months": rmst * nan,
            "beyond_followup": beyond, "reasons": np.where(active, reasons, ""),
        })

    # -- reasons ---------------------------------------------------------------------
    def contributions(self, df: pd.DataFrame, X=None):
        """Log-odds contributions ``(x - mean) * beta`` summed per source covariate.

        Returns ``(names, matrix n x names)``; positive pushes churn risk up.
        """
        self._check_fitted()
        inv, keys = self._group_index(df)
        names, contrib = self._contribution_maps(_Groups(inv, [] if self._boosted() else
                                                         self._group_coefs(keys)))
        cols = None if X is not None else self._design_columns(df)
        M = np.empty((len(df), len(names)), np.float32)
        with _small_products():
            for sl in _chunks(len(df)):
                M[sl] = contrib(X[sl] if X is not None else _fill(cols, sl), inv[sl])
        return names, M

    def _contribution_maps(self, groups, df=None):
        """``(names, f)``: ``f(X, inv)`` gives the contributions of design rows ``X`` of
        groups ``inv`` per source covariate ``names`` (one product per group); with
        ``df``, only the covariates reasons can name (in ``df``, not ``no_history``)."""
        source = [DERIVED.get(c, (c.split("=", 1)[0], False))[0] for c in self.columns_]
        names = [n for n in dict.fromkeys(source)
                 if df is None or (n in df and n != "no_history")]
        S = np.zeros((len(source), len(names)))   # design column -> its source covariate
        for j, c in enumerate(source):
            if c in names:
                S[j, names.index(c)] = 1.0
        if self._boosted():  # the trees' path contributions, summed per covariate
            from .hazard_trees import tree_contributions
            return names, lambda X, inv: tree_contributions(self.ensemble_, X) @ S
        C = np.array([np.asarray(c["coef"], float) for c in groups.coefs])  # groups x columns
        maps = [c[:, None] * S for c in C]                                 # columns x names
        shift = np.array([self.center_ @ m for m in maps])                 # groups x names

        def contrib(X, inv):
            """Per row ``x @ (beta_group S) - mean @ (beta_group S)`` (float64)."""
            if len(inv) and inv[0] == inv[-1] and (inv == inv[0]).all():  # one group
                return X @ maps[inv[0]] - shift[inv[0]]
            return (X * C[inv]) @ S - shift[inv]
        return names, contrib

    def reasons(self, df: pd.DataFrame, top: int = 3, X=None) -> np.ndarray:
        """The ``top`` covariates pushing each account's risk up, in words."""
        from .reasons import reason_texts
        names, M = self.contributions(df, X)
        keep = [i for i, n in enumerate(names) if n in df and n != "no_history"]
        return reason_texts(df, [names[i] for i in keep], M[:, keep], top=top)

    def check_schema(self, df, source: str = "data") -> None:
        """The protocol's check; a categorical column whose categories are all known to the
        model cannot hold an unknown value, so its rows need no look."""
        from ..persist import check_schema
        known = [f for f in self.features_ if f["dtype"] == "category" and f["name"] in df
                 and isinstance(df[f["name"]].dtype, pd.CategoricalDtype)
                 and {str(c) for c in df[f["name"]].cat.categories} <= set(f["categories"])]
        check_schema(df, [f for f in self.features_ if f not in known], source=source)

    # -- persistence -----------------------------------------------------------------
    def to_document(self) -> dict:
        """Plain JSON: columns, centres and per-group coefficients (loading runs no code)."""
        self._check_fitted()
        return {**self.header_document("scikit-learn"),
                "config": self.config_(), "created_from": self.config_(),
                "columns": list(self.columns_), "clock_columns": list(self.clock_columns_),
                "groups": list(self.groups_), "center": [float(x) for x in self.center_],
                "coefficients": _coef_document(self.coef_),
                "order_coefficients": _coef_document(self.order_coef_),
                **({"trees": self.trees_} if self._boosted() else {}),
                "max_event_tenure": self.max_event_tenure_,
                "calibration": {k: list(v) for k, v in self.calibration_.items()},
                "calibration_left_out": list(self.calibration_left_out_),
                "inactive_run_churn": {str(k): v for k, v in self.inactive_run_churn_.items()},
                "business_type": self.business_type_,
                "fit_statistics": {"n_rows": self.n_rows_, "n_events": self.n_events_,
                                   "log_likelihood": self.log_likelihood_}}

    @classmethod
    def from_document(cls, doc: dict) -> "DynamicHazardModel":
        """Rebuild a fitted model from :meth:`to_document` (raises KeyError if incomplete)."""
        cfg = doc["config"]
        m = cls(numeric=cfg["numeric"], categorical=cfg["categorical"],
                groups=tuple(cfg["groups"]), C=cfg["C"], max_iter=cfg["max_iter"],
                recalibrate_months=cfg["recalibrate_months"],
                hazard=cfg.get("hazard", "logistic"), boosting=cfg.get("boosting"),
                random_state=cfg.get("random_state", 0))  # older files: logistic
        m.columns_, m.clock_columns_ = list(doc["columns"]), list(doc["clock_columns"])
        m.groups_ = list(doc["groups"])
        m.center_ = np.asarray(doc["center"], float)
        m.coef_ = _coef_from_document(doc["coefficients"])
        m.order_coef_ = _coef_from_document(doc.get("order_coefficients"))  # older: none
        m.order_clock_ = "months_since_last_order" in m.columns_
        if any(len(v["coef"]) != len(m.columns_)
               for v in [*m.coef_.values(), *(m.order_coef_ or {}).values()]):
            raise ValueError("model file: coefficient lengths do not match the columns")
        if m._boosted():
            from .hazard_trees import ensemble_from_spec
            m.trees_ = doc["trees"]
            m.ensemble_ = ensemble_from_spec(m.trees_, len(m.columns_))
        m.max_event_tenure_ = float(doc["max_event_tenure"])
        m.calibration_ = {k: _cal3(v) for k, v in doc["calibration"].items()}
        m.calibration_left_out_ = [str(v) for v in doc.get("calibration_left_out", [])]
        m.inactive_run_churn_ = {int(k): float(v) for k, v in doc["inactive_run_churn"].items()}
        m.business_type_ = doc.get("business_type")
        m.features_ = list(doc["features"])
        m.model_id_ = doc["model_id"]
        m.as_of_ = pd.Timestamp(doc["as_of"]) if doc.get("as_of") else None
        st = doc.get("fit_statistics", {})
        m.n_rows_, m.n_events_ = st.get("n_rows"), st.get("n_events")
        m.log_likelihood_ = st.get("log_likelihood")
        saved = (doc.get("versions") or {}).get("tobmodel")
        if saved:
            m.saved_by_version_ = saved
        return m

    # -- plots -------------------------------------------------------------------------
    def plot_projection(self, current: pd.DataFrame, months: int = 24, ax=None):
        """Projected P(still a customer) month by month for a few accounts; returns the Axes."""
        import matplotlib.pyplot as plt
        ax = plt.figure().gca() if ax is None else ax
        S = np.cumprod(1 - self.project_hazards(current, months), axis=1)
        x = np.arange(0, months + 1)
        for i, acc in enumerate(current[ID].to_numpy()[:20]):
            ax.step(x, np.r_[1.0, S[i]], where="post", label=f"account {acc}")
        ax.set_xlabel("months from now")
        ax.set_ylabel("P(still a customer)")
        ax.set_ylim(0, 1.02)
        ax.set_title("Projected retention (behaviour held at its last value)")
        if len(current) <= 8:
            ax.legend(fontsize="small")
        return ax

    def plot_coefficients(self, group: str | None = None, ax=None):
        """Log-odds per standard deviation of each design column (one group); returns the Axes."""
        import matplotlib.pyplot as plt
        if self._boosted():
            raise ValueError("a boosted hazard has no coefficients; its reasons show what "
                             "moves each account's risk")
        ax = plt.figure().gca() if ax is None else ax
        key = group or max(self.coef_, key=lambda k: np.abs(self.coef_[k]["coef"]).sum())
        coef = np.asarray(self.coef_[key]["coef"])
        order = np.argsort(coef)
        ax.barh(np.array(self.columns_)[order], coef[order])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel("log-odds of churn per unit")
        ax.set_title(f"Dynamic hazard, group {key}")
        return ax


def fit_logistic(Z: np.ndarray, y: np.ndarray, penalty: float = 1.0, max_iter: int = 50,
                 tol: float = 1e-9, hessian_rows: int = 200_000) -> tuple[float, np.ndarray]:
    """L2-penalised logistic regression by Newton's method: ``(intercept, coefficients)``.

    Minimises ``-loglik + penalty / 2 * |beta|^2`` (the intercept is not
    penalised), as scikit-learn's ``LogisticRegression(C=1/penalty)`` does. The
    gradient uses every row; above ``hessian_rows`` rows the curvature is taken
    from a fixed random subset of that size (same seed, same result), which
    changes only the path to the optimum, not the optimum.

    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(20000, 2))
    >>> y = (rng.random(20000) < 1 / (1 + np.exp(-(-1 + Z @ [1.0, -0.5])))).astype(int)
    >>> b, beta = fit_logistic(Z, y)
    >>> round(b, 1), np.round(beta, 1).tolist()
    (-1.0, [1.0, -0.5])
    """
    n, p = Z.shape
    A = np.column_stack([np.ones(n), Z])
    At = np.ascontiguousarray(A.T)
    sub = (np.sort(np.random.default_rng(0).choice(n, hessian_rows, replace=False))
           if n > hessian_rows else slice(None))
    As = A[sub]
    AsT = np.ascontiguousarray(As.T)
    scale = n / len(As)
    yf = y.astype(float)
    w = np.zeros(p + 1)
    rate = np.clip(yf.mean(), 1e-6, 1 - 1e-6)
    w[0] = np.log(rate / (1 - rate))
    pen = np.full(p + 1, penalty)
    pen[0] = 0.0

    def objective(w):
        eta = A @ w
        return float(np.sum(np.logaddexp(0, eta) - yf * eta) + 0.5 * np.sum(pen * w * w)), eta

    f, eta = objective(w)
    for _ in range(max_iter):
        mu = 1 / (1 + np.exp(-eta))
        grad = At @ (mu - yf) + pen * w
        ms = 1 / (1 + np.exp(-(As @ w)))
        H = scale * ((AsT * (ms * (1 - ms))) @ As) + np.diag(pen + 1e-9)
        step = np.linalg.solve(H, grad)
        t = 1.0
        while True:  # backtracking keeps every step a descent
            f_new, eta_new = objective(w - t * step)
            if f_new <= f or t < 1e-4:
                break
            t /= 2
        w, f_old, f, eta = w - t * step, f, f_new, eta_new
        if abs(f_old - f) <= tol * max(1.0, abs(f)):
            break
    return float(w[0]), w[1:]


def _cal3(v) -> tuple:
    """A calibration map ``(a, b, c)``; files from before the months-ahead term hold ``(a, b)``."""
    v = [float(x) for x in v]
    return (v[0], v[1], v[2] if len(v) > 2 else 0.0)


#: the column whose levels a calendar-time shock hits one at a time (a competitor's campaign
#: in one industry); see :func:`_shock_level`
SHOCK_COLUMN = "industry"
SHOCK_Z = 3.0  #: |observed - expected| churns beyond this many standard deviations


def _fit_maps(h, y, ahead, annual, keep) -> dict:
    """The calibration maps ``(a, b, c)`` per decision type on the rows ``keep``; a type with
    fewer than 10 churns (or only churns) keeps the fit (no map)."""
    out = {}
    for key, rows in (("annual", annual & keep), ("monthly", ~annual & keep)):
        if y[rows].sum() < 10 or y[rows].sum() == rows.sum():
            continue  # too few churns to learn a correction: keep the fit
        Z = np.column_stack([np.log(h[rows] / (1 - h[rows])), ahead[rows]])
        b0, b = fit_logistic(Z, y[rows], penalty=0.0)
        out[key] = (float(b0), float(b[0]), float(b[1]))
    return out


def _map_coefs(maps: dict, annual: np.ndarray):
    """Per entry of ``annual``: ``(a, b, c)`` of the maps of :func:`_fit_maps` (identity for
    a decision type without one)."""
    m = _cal3(maps.get("monthly", (0.0, 1.0, 0.0)))
    y = _cal3(maps.get("annual", (0.0, 1.0, 0.0)))
    return tuple(np.where(annual, y[i], m[i]) for i in range(3))


def _apply_maps(maps: dict, h, ahead, annual) -> np.ndarray:
    """Hazards ``h`` (``ahead`` months ahead) through the maps of :func:`_fit_maps`."""
    a, b, c = _map_coefs(maps, annual)
    return 1 / (1 + np.exp(-(a + b * np.log(h / (1 - h)) + c * ahead)))


def _shock_level(p, y, level, n_levels, left_out):
    """The level (code) of :data:`SHOCK_COLUMN` whose churns in the graded window depart
    most from the recalibrated hazards ``p``, if by more than :data:`SHOCK_Z` standard
    deviations and fewer than half of the levels are left out already; else None.

    A shock of calendar time the data do not show (a competitor's campaign in one
    industry triples its churn for a few months) belongs to that window, not to the
    projection: left in, it moves the whole map, and the scores of a calmer year
    over-predict. Such levels are left out of the map's fit one at a time, the worst
    first (the map is refitted in between, so a level that looked low only beside an
    inflated map is not taken for a shock).
    """
    if n_levels < 2 or len(left_out) + 1 > n_levels // 2:
        return None
    obs = np.bincount(level, y.astype(float), n_levels)
    exp = np.bincount(level, p, n_levels)
    var = np.bincount(level, p * (1 - p), n_levels)
    z = np.abs(obs - exp) / np.sqrt(np.maximum(var, 1e-12))
    z[left_out] = 0.0
    worst = int(np.argmax(z))
    return worst if z[worst] > SHOCK_Z else None


def _coef_document(coef):
    return None if coef is None else {
        k: {"intercept": float(v["intercept"]), "coef": [float(x) for x in v["coef"]]}
        for k, v in coef.items()}


def _coef_from_document(doc):
    return None if doc is None else {
        k: {"intercept": float(v["intercept"]), "coef": np.asarray(v["coef"], float)}
        for k, v in doc.items()}


def _orders(pm: pd.DataFrame):
    """Hardware rows whose next month is known, and whether an order came in the month
    (the next month's count of months since the last order did not go up by one); the
    lapse month has no order."""
    acc, k = pm[ID].to_numpy(), pm["month_index"].to_numpy()
    o = np.lexsort((k, acc))                      # by account, then month
    acc, k = acc[o], k[o]
    m = pm["months_since_last_order"].to_numpy(float)[o]
    nxt = np.r_[(acc[1:] == acc[:-1]) & (k[1:] == k[:-1] + 1), False]
    ordered = np.r_[m[1:] < m[:-1] + 1 - 1e-9, False] & nxt
    use = nxt | (pm["churn"].to_numpy()[o] == 1)
    back = np.empty_like(o)
    back[o] = np.arange(len(o))
    return use[back], ordered.astype(np.int64)[back]


CHUNK_ROWS = 16_384  #: rows scored at a time (the matrices of a chunk stay in the cache)


def _chunks(n: int) -> list:
    size = CHUNK_ROWS
    return [slice(a, min(n, a + size)) for a in range(0, n, size)] or [slice(0, 0)]


def _small_products():
    """One BLAS thread for the chunks' small matrix products: starting threads for each
    costs more than it saves (half the CPU time of scoring 1M accounts)."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(1, user_api="blas")


def _fill(cols: list, sl: slice) -> np.ndarray:
    """Rows ``sl`` of the design columns as a float64 matrix (column-major: filled by column)."""
    n = len(range(*sl.indices(len(cols[0])))) if cols else 0
    X = np.empty((n, len(cols)), order="F")
    for j, c in enumerate(cols):
        X[:, j] = c[sl]
    return X


class _Groups:
    """Per row its group (``inv``) and the coefficients of each group (``coefs``)."""

    def __init__(self, inv, coefs):
        self.inv, self.coefs = inv, coefs


class _TreeProjector(_Groups):
    """Hazards of the projected months of design rows under the boosted hazard: each
    account's row with the clocks of each future month, through the trees (only the
    months at risk are evaluated)."""

    def __init__(self, model, current, n_months):
        super().__init__(np.zeros(len(current), np.int64), [])
        self.model, self.n_months = model, n_months
        self.k0 = current["month_index"].to_numpy(float)
        self.annual = _is(current["contract_term"], "annual")
        self.over = current["sales_overpromised"].to_numpy(float)
        self.since = (current["months_since_last_order"].to_numpy(float)
                      if model.order_clock_ else None)
        self.clock = [model.columns_.index(c) for c in model.clock_columns_]
        self.a, self.b, self.c = model._churn_map(np.array([False, True]))  # (monthly, annual)
        self.ahead = model._months_ahead(n_months).astype(float)

    def hazards(self, X, sl) -> np.ndarray:
        from .hazard_trees import tree_raw
        pos = np.arange(len(self.k0))[sl]
        kk = self.k0[pos][:, None] + np.arange(self.n_months)[None, :]
        r, j = np.nonzero(~self.annual[pos][:, None] | (kk % 12 == 0))  # months at risk
        Z = np.array(X[r], order="C")
        since = None if self.since is None else self.since[pos][r] + j
        der = _clocks(kk[r, j] - 1, kk[r, j], self.annual[pos][r], self.over[pos][r], since)
        for i, col in zip(self.clock, self.model.clock_columns_):
            Z[:, i] = der[col]
        g = self.annual[pos][r].astype(np.int64)
        eta = self.a[g] + self.b[g] * tree_raw(self.model.ensemble_, Z) + self.c[g] * self.ahead[j]
        h = np.zeros((len(pos), self.n_months))
        h[r, j] = 1 / (1 + np.exp(-eta))
        return h


class _Projector(_Groups):
    """Hazards of the projected months of design rows (see ``DynamicHazardModel._projector``)."""

    def __init__(self, coefs, W, intercept, a, b, inv, cinv, V):
        super().__init__(inv, coefs)
        self.W, self.intercept, self.a, self.b, self.cinv, self.V = W, intercept, a, b, cinv, V

    def hazards(self, X, sl) -> np.ndarray:
        g = self.inv[sl]
        if len(g) and g[0] == g[-1] and (g == g[0]).all():  # one group: one product
            g = g[0]
            base = X @ self.W[:, g] + self.intercept[g]
        else:
            base = (X @ self.W)[np.arange(len(X)), g] + self.intercept[g]
        with np.errstate(over="ignore"):
            u = np.exp(np.clip(-(self.a[g] + self.b[g] * base), -700, 700))
        return 1 / (1 + u[:, None] * self.V[self.cinv[sl]])


def _nearest(key: str, known: list) -> str:
    """The trained group sharing the decision type (annual/monthly) of ``key``."""
    same = [k for k in known if k.split("|")[0] == key.split("|")[0]]
    return (same or known)[0]


def _at_risk(df, k) -> np.ndarray:
    annual = _is(df["contract_term"], "annual")
    return ~annual | (np.asarray(k) % 12 == 0)


def fit_dynamic_model(data, as_of=None, **options) -> DynamicHazardModel:
    """``DynamicHazardModel(**options).fit(data, as_of)``."""
    return DynamicHazardModel(**options).fit(data, as_of=as_of)


__all__ = ["DynamicHazardModel", "fit_dynamic_model", "person_months", "current_month"]
