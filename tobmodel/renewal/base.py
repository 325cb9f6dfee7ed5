"""Churn scores for active customers, conditional on the tenure they have already survived.

For an account alive at tenure ``s`` (months) with cumulative hazard ``H``,

* ``P(churn by t | alive at s) = 1 - exp(-(H(t) - H(s)))``,
* expected remaining months within a horizon ``h``: the restricted mean
  ``integral_s^{s+h} S(u | s) du``, by the midpoint rule on cells that end at
  whole months of tenure (:func:`restricted_mean`).

Everything is vectorised over accounts: the model supplies ``H`` as a function
of an array of times (one per account), never a full survival matrix.
Higher probability = more risk.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..persist import doc_numbers, json_ready
from ..protocol import DEFAULT_HORIZON_MONTHS, RENEWAL_SCORE_COLUMNS, ModelBase
from .design import DesignEncoder, score_inputs

SCORE_COLUMNS = RENEWAL_SCORE_COLUMNS


def conditional_churn(cumhaz, s, t, h_s=None) -> np.ndarray:
    """``P(T <= t | T > s)`` from a vectorised cumulative hazard ``cumhaz(times)``."""
    h_s = cumhaz(s) if h_s is None else h_s
    return -np.expm1(-np.maximum(cumhaz(t) - h_s, 0.0))


def _cells(s, horizon):
    """The midpoint rule's cells of :func:`restricted_mean`: ``(midpoint, width)`` per cell,
    each an array over ``s``; ``horizon`` broadcast to ``s``."""
    end = s + horizon
    start_month = np.floor(s)
    lo, hi = s.copy(), np.empty(s.shape)
    for i in range(1, int(np.ceil(np.max(horizon, initial=0.0))) + 2):
        np.minimum(np.add(start_month, i, out=hi), end, out=hi)
        width = hi - lo
        mid = np.multiply(np.add(lo, hi), 0.5)
        yield mid, width
        lo, hi = hi, lo


def restricted_mean(cumhaz, s, horizon, h_s=None):
    """Expected months alive in ``(s, s + horizon]`` given alive at ``s``.

    Midpoint rule on cells that end at whole months of tenure: ``(s, ceil s]``,
    then one cell per calendar month, then the remainder up to ``s + horizon``.
    Contract renewals (annual and monthly) fall on whole months of tenure, so
    their churn steps lie on cell edges and the rule is exact for them between
    the baseline's knots; elsewhere the error is at most half a month times the
    drop in survival within the horizon. ``ceil(horizon) + 1`` evaluations of
    ``cumhaz``, each vectorised over all accounts.

    >>> H = lambda t: 0.1 * t                       # constant hazard 0.1 a month
    >>> round(float(restricted_mean(H, np.array([3.0]), 12.0)[0]), 4)
    6.9851
    """
    s = np.asarray(s, dtype=float)
    h_s = cumhaz(s) if h_s is None else h_s
    horizon = np.broadcast_to(np.asarray(horizon, dtype=float), s.shape)
    total = np.zeros(s.shape)
    for mid, width in _cells(s, horizon):
        total += _survived(cumhaz(mid), h_s) * width
    return np.minimum(total, horizon)  # widths sum to the horizon up to rounding


def _survived(h, h_s):
    """``exp(-max(h - h_s, 0))`` in place of ``h`` (the cumulative hazard at later times)."""
    h -= h_s
    np.maximum(h, 0.0, out=h)
    return np.exp(np.negative(h, out=h), out=h)


def _groups(*columns, key=None):
    """Rows with equal values in every one of ``columns``: ``(inverse, first)``, the group
    of each row and the first row of each group (hashing, no sort of all rows; NaN is a
    value like any other). ``key`` (per row): groups numbered in increasing ``key`` of
    their first row.

    >>> _groups(np.array([3.0, 1.0, 3.0]), np.array([0, 0, 0]), key=np.array([3.0, 1.0, 3.0]))
    (array([1, 0, 1]), array([1, 0]))
    """
    parts = [pd.factorize(np.asarray(c), use_na_sentinel=False) for c in columns]
    sizes = [max(len(uniq), 1) for _, uniq in parts]
    if len(parts) > 1 and float(np.prod(sizes, dtype=float)) < 2.0 ** 62:
        # one mixed-radix number per row, factorized once: the same groups, numbered the
        # same (in order of first appearance) as combining the columns one at a time
        key_all = np.zeros(len(parts[0][0]), np.int64)
        for (k, _), size in zip(parts, sizes):
            key_all *= size
            key_all += k
        codes = pd.factorize(key_all)[0]
    else:
        codes = None
        for k, uniq in parts:
            codes = k if codes is None else pd.factorize(codes * len(uniq) + k)[0]
    # factorize numbers groups in order of first appearance: a group's first row is
    # where the codes reach a new maximum
    seen = np.maximum.accumulate(np.r_[-1, codes[:-1]]) if len(codes) else codes
    first = np.flatnonzero(codes > seen)
    if key is not None:
        order = np.argsort(np.asarray(key)[first], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        codes, first = rank[codes], first[order]
    return codes, first


def _dates(s: pd.Series) -> np.ndarray:
    return s.to_numpy() if s.dtype.kind == "M" else pd.to_datetime(s).to_numpy()


class RenewalModel(ModelBase):
    """Base of the fitted renewal models: scoring, reasons, the model document.

    Follows :class:`tobmodel.protocol.ScoringModel`. Subclasses implement
    ``fit``, ``config_()`` (constructor options plus training facts),
    ``_payload()`` / ``_read_payload(doc)`` (their part of the document) and
    three hooks: ``_state(df)`` (per-account linear predictor and stratum),
    ``_cumhaz(t, state)`` and ``_last_event(state)`` (last churn time seen in
    training, per account).
    """

    kind = "renewal"
    id_column = "account_id"
    name = ""
    allow_unknown_categories = False
    input_tables = ("accounts", "contracts", "usage", "support")
    #: constructor options (the rest of ``config_()`` are facts about the training data)
    _options: tuple = ()

    def frame_from_tables(self, tables, as_of=None) -> pd.DataFrame:
        """Per-account features at ``as_of`` (:func:`~tobmodel.renewal.build_account_features`):
        what the model fits on and scores."""
        from .features import build_account_features
        return build_account_features(tables, as_of=as_of)
    reference_profile_ = None  # training distribution of features and scores (monitoring)

    def _profile_training(self, features: pd.DataFrame) -> None:
        """Keep a compact profile of the active training accounts and their 12-month scores.

        These are the accounts the weekly job scores, so later weeks are compared
        like with like (:mod:`tobmodel.io.profile`; written to the model file).
        """
        from ..io.profile import reference_profile
        active = features[features["active"].to_numpy(bool)] if "active" in features \
            else features
        from .design import TIMING
        timed = all(c in active for c in TIMING)
        p = self.churn_probability(active, 12) if len(active) and timed else None
        self.reference_profile_ = reference_profile(active, self.features_, scores=p,
                                                    score_column="p_churn_horizon",
                                                    horizon_months=12)

    def check_schema(self, df: pd.DataFrame, source: str = "data") -> None:
        """Raise :class:`tobmodel.persist.SchemaMismatchError` unless ``df`` fits the model."""
        score_inputs(self, df, None, source)

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(features)")

    # -- hooks -----------------------------------------------------------------
    def _state(self, df):  # pragma: no cover - abstract
        raise NotImplementedError

    def _cumhaz(self, t, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def _last_event(self, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def _risk_sign(self) -> float:
        """Multiplier turning a covariate's linear term into a log-hazard contribution."""
        return 1.0

    # -- core quantities -------------------------------------------------------
    def _prepared(self, df, as_of=None, source="data", checked=False):
        self._check_fitted()
        as_of, active = score_inputs(self, df, as_of, source, checked)
        state = self._state(df)
        s = np.where(active, df["tenure_months"].to_numpy(dtype=float, na_value=np.nan), 1.0)
        return as_of, active, state, s

    def cumulative_hazard(self, df: pd.DataFrame, times) -> np.ndarray:
        """Cumulative hazard of each account at its own tenure ``times`` (array, one per row)."""
        self._check_fitted()
        return self._cumhaz(np.asarray(times, dtype=float), self._state(df))

    def conditional_survival(self, df: pd.DataFrame, months_ahead) -> np.ndarray:
        """``S(s + m | s)`` for each account (rows) and each ``m`` in ``months_ahead`` (columns).

        ``s`` is the account's ``tenure_months``; meant for a few accounts (plots, checks).
        """
        _, _, state, s = self._prepared(df)
        m = np.atleast_1d(np.asarray(months_ahead, dtype=float))
        h_s = self._cumhaz(s, state)
        cols = [np.exp(-np.maximum(self._cumhaz(s + x, state) - h_s, 0.0)) for x in m]
        return np.column_stack(cols) if cols else np.zeros((len(s), 0))

    def survival_function(self, df: pd.DataFrame, times) -> np.ndarray:
        """Unconditional ``S(t)`` at tenure ``times`` (columns) for each account (rows)."""
        self._check_fitted()
        state = self._state(df)
        n = len(df)
        return np.column_stack([np.exp(-self._cumhaz(np.full(n, float(t)), state))
                                for t in np.atleast_1d(times)])

    def _sort_offset(self, state):
        """Per-row shift of the time axis that the sort for :meth:`_conditional` adds."""
        return 0.0

    #: Key of the per-row multiplier in ``_state(df)`` when the model has proportional
    #: hazards: ``_cumhaz(t, state)`` is then exactly ``_cumhaz(t, state with that entry
    #: 1.0) * state[key]`` (the baseline times the account's risk, multiplied last), which
    #: lets :meth:`_conditional` look the baseline up once per distinct tenure. None: no
    #: such factor (every row's cumulative hazard is computed on its own).
    _risk_key: str | None = None

    #: Entries of ``_state(df)`` that tell the baselines of rows with the same tenure apart
    #: (the stratum...), for :meth:`_conditional_groups`; None: every per-row entry but
    #: the risk. A model whose other entries are looked up from these names them: the
    #: same groups, fewer columns hashed.
    _baseline_keys: tuple | None = None

    def _conditional(self, df, horizon_months, what, as_of=None, source="data",
                     checked=False):
        """Conditional scores named in ``what`` (``next, horizon, rmst``), original row order.

        With proportional hazards (:attr:`_risk_key`) the baseline is looked up once per
        distinct tenure (and stratum; for ``next`` also per distinct time to the renewal)
        and spread to the rows, which then only multiply by their risk: the same
        floating-point operations per row as computing each row on its own. Otherwise rows
        are processed sorted by tenure (per stratum) so that the baseline look-ups come in
        increasing order, which makes ``np.interp`` several times faster.
        """
        _, active, state, s = self._prepared(df, as_of, source, checked)
        horizon = float(horizon_months)
        to_next = (np.where(active, df["months_to_next_renewal"].to_numpy(dtype=float), 1.0)
                   if "next" in what else None)
        if self._risk_key is None or len(s) == 0:
            out = self._conditional_rows(state, s, to_next, horizon, what)
        else:
            out = self._conditional_groups(state, s, to_next, horizon, what)
        out = {k: np.where(active, v, np.nan) for k, v in out.items()}
        if "next" in what:
            out["beyond"] = active & (s + np.maximum(to_next, horizon) > self._last_event(state))
        return active, out

    def _conditional_rows(self, state, s, to_next, horizon, what):
        """:meth:`_conditional` for any model: every row's cumulative hazard on its own."""
        n = len(s)
        order = np.argsort(s + self._sort_offset(state))
        st = {k: v[order] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v
              for k, v in state.items()}
        so = s[order]
        cumhaz = lambda t: self._cumhaz(t, st)  # noqa: E731
        h_s = cumhaz(so)
        out = {}
        if "next" in what:
            out["next"] = conditional_churn(cumhaz, so, so + to_next[order], h_s)
        if "horizon" in what:
            out["horizon"] = conditional_churn(cumhaz, so, so + horizon, h_s)
        if "rmst" in what:
            out["rmst"] = restricted_mean(cumhaz, so, horizon, h_s)
        for k, v in out.items():
            back = np.empty_like(v)
            back[order] = v
            out[k] = back
        return out

    def _conditional_groups(self, state, s, to_next, horizon, what):
        """:meth:`_conditional` with proportional hazards: baseline look-ups per group of
        rows sharing their tenure and every other per-row entry of ``state`` (stratum...)."""
        n = len(s)
        risk = state[self._risk_key]
        keys = self._baseline_keys
        per_row = [v for k, v in state.items() if k != self._risk_key and
                   (keys is None or k in keys) and
                   isinstance(v, np.ndarray) and v.shape[:1] == (n,)]
        # groups in increasing tenure (per stratum): np.interp is faster on sorted times
        sort_key = s + self._sort_offset(state)
        group, first = _groups(s, *per_row, key=sort_key)

        def baseline(rows, times):
            """Baseline cumulative hazard (risk 1) at ``times`` for the rows ``rows``."""
            st = {k: v[rows] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v
                  for k, v in state.items()}
            st[self._risk_key] = np.ones(len(rows))
            return self._cumhaz(times, st)

        def spread(h0, rows_group):  # the rows' cumulative hazard: baseline times risk
            h = h0[rows_group]
            h *= risk
            return h

        s_g = s[first]
        h_s = spread(baseline(first, s_g), group)
        out = {}
        if "next" in what:
            nxt, nfirst = _groups(group, to_next, key=sort_key + to_next)
            h_t = spread(baseline(nfirst, s[nfirst] + to_next[nfirst]), nxt)
            out["next"] = -np.expm1(-np.maximum(h_t - h_s, 0.0))
        if "horizon" in what:
            h_t = spread(baseline(first, s_g + horizon), group)
            out["horizon"] = -np.expm1(-np.maximum(h_t - h_s, 0.0))
        if "rmst" in what:
            hz = np.full(len(s_g), horizon)
            total = np.zeros(n)
            for mid, width in _cells(s_g, hz):
                total += _survived(spread(baseline(first, mid), group), h_s) * width[group]
            out["rmst"] = np.minimum(total, horizon)
        return out

    def churn_probability(self, df: pd.DataFrame, horizon_months: float = 12) -> np.ndarray:
        """P(churn within ``horizon_months`` | alive now) per row; NaN for churned rows."""
        return self._conditional(df, horizon_months, ("horizon",))[1]["horizon"]

    def next_renewal_churn_probability(self, df: pd.DataFrame) -> np.ndarray:
        """P(churn at or before the next renewal date | alive now); NaN for churned rows."""
        return self._conditional(df, 12, ("next",))[1]["next"]

    def expected_remaining_months(self, df: pd.DataFrame, horizon_months: float = 12
                                  ) -> np.ndarray:
        """Expected months as a customer within the next ``horizon_months`` (restricted mean)."""
        return self._conditional(df, horizon_months, ("rmst",))[1]["rmst"]

    def churn_curves(self, features: pd.DataFrame, months=None,
                     horizon_months: int = DEFAULT_HORIZON_MONTHS) -> pd.DataFrame:
        """P(churn within t months | alive now) for t in ``months`` (default 1..horizon_months).

        One row per active account of ``features`` (index ``account_id``), one
        column per t: what :func:`tobmodel.renewal.evaluate.evaluate_scores` grades.
        """
        months = list(range(1, horizon_months + 1)) if months is None else list(months)
        act = features[features["active"].to_numpy(bool)] if "active" in features else features
        churn = 1 - self.conditional_survival(act, months)
        return pd.DataFrame(churn, index=pd.Index(act[self.id_column].to_numpy(),
                                                  name=self.id_column),
                            columns=np.asarray(months, float))

    def lifetime_value(self, df: pd.DataFrame, horizon_months: float = 120,
                       annual_discount_rate: float = 0.0) -> np.ndarray:
        """Remaining lifetime value: ARR/12 per expected month alive, optionally discounted.

        ``sum_m ARR/12 * S(s + m | s) / (1 + r)^(m/12)`` over months ``m`` up to
        ``horizon_months`` (monthly grid, vectorised over accounts). Needs an
        ``arr`` column. Beyond the follow-up a Cox step baseline is flat, which
        overstates value: prefer ``baseline="weibull"`` or a parametric model.
        """
        _, active, state, s = self._prepared(df)
        if "arr" not in df:
            raise ValueError("lifetime_value needs an 'arr' column (annual recurring revenue)")
        h_s = self._cumhaz(s, state)
        total = np.zeros(len(s))
        for m in range(1, int(np.ceil(horizon_months)) + 1):
            surv = np.exp(-np.maximum(self._cumhaz(s + m - 0.5, state) - h_s, 0.0))
            total += surv / (1.0 + annual_discount_rate) ** ((m - 0.5) / 12)
        return np.where(active, df["arr"].to_numpy(dtype=float) / 12 * total, np.nan)

    def contributions(self, df: pd.DataFrame):
        """Per-covariate log-hazard contributions ``(x_j - mean_j) * beta_j`` (n x covariates).

        Positive pushes churn risk up. Returns ``(names, matrix)``.
        """
        self._check_fitted()
        sign = self._risk_sign()
        names, cols = [], []
        for name, term in self.encoder_.terms(df, self.coef_, self.center_,
                                              self.allow_unknown_categories):
            names.append(name)
            cols.append((sign * term).astype(np.float32))
        # one covariate per row of memory, seen transposed (column_stack's copy into rows
        # was the slow part, and the reasons read a covariate at a time)
        return names, (np.stack(cols).T if cols else np.zeros((len(df), 0), np.float32))

    def explain(self, df: pd.DataFrame, top: int = 3) -> pd.DataFrame:
        """The covariates pushing each account's risk up and down, in words."""
        from .reasons import reason_texts
        names, contrib = self.contributions(df)
        return pd.DataFrame({
            self.id_column: df[self.id_column].to_numpy(),
            "reasons_up": reason_texts(df, names, contrib, top=top, direction=1),
            "reasons_down": reason_texts(df, names, contrib, top=top, direction=-1),
        })

    # -- the protocol's score ----------------------------------------------------
    def score(self, df: pd.DataFrame, as_of=None, horizon_months=None, source: str = "data",
              progress: bool = False, checked: bool = False) -> pd.DataFrame:
        """Churn scores for every row of ``df`` (active accounts; churned rows get NaN).

        Parameters
        ----------
        df : DataFrame
            From :func:`build_account_features` (needs ``account_id``, the timing
            columns ``tenure_months, months_to_next_renewal, next_renewal_date`` and
            the model's covariates; ``active`` if present).
        as_of : date-like, optional
            Must match the date the features were built at (checked).
        horizon_months : int, optional
            Horizon of ``p_churn_horizon`` and of the restricted mean (default 12).
        source : str
            Table or file name used in error messages.
        progress : bool
            Accepted for the protocol (scoring is vectorised: no progress bar).
        checked : bool
            The rows were checked already (:mod:`tobmodel.protocol`; the weekly
            export's row checks): skip the per-row checks of categories and
            missing or infinite values. Same scores.

        Returns
        -------
        DataFrame, one row per input row in the same order: ``account_id,
        next_renewal_date, p_churn_next_renewal, horizon_months, p_churn_horizon,
        expected_remaining_months, beyond_followup, reasons`` (``reasons``: a
        Categorical of the texts, ``""`` where nothing stands out or churned).
        """
        from ..io.values import check_horizon_months
        if horizon_months is None:
            horizon_months = DEFAULT_HORIZON_MONTHS
        check_horizon_months(horizon_months)
        active, c = self._conditional(df, horizon_months, ("next", "horizon", "rmst"), as_of,
                                      source, checked)
        from .reasons import reason_categories
        names, contrib = self.contributions(df)
        # a Categorical: each distinct text once (churned rows get "")
        reasons = reason_categories(df, names, contrib, top=3, direction=1, blank=~active)
        return pd.DataFrame({
            "account_id": df[self.id_column].to_numpy(),
            "next_renewal_date": _dates(df["next_renewal_date"]),
            "p_churn_next_renewal": c["next"],
            "horizon_months": np.full(len(df), horizon_months),
            "p_churn_horizon": c["horizon"],
            "expected_remaining_months": c["rmst"],
            "beyond_followup": c["beyond"],
            "reasons": reasons,
        })

    # -- the model document --------------------------------------------------------
    def to_document(self) -> dict:
        """The JSON-ready document of the fitted model (header, encoder, coefficients...)."""
        self._check_fitted()
        return json_ready({
            **self.header_document("lifelines", "scipy"),
            "config": self.config_(),
            "encoder": self.encoder_.to_dict(),
            "dropped_covariates": list(self.dropped_covariates_),
            "coefficients": {"names": self.encoder_.columns, "coef": self.coef_,
                             "se": self.se_, "p": self.p_, "center": self.center_},
            **self._payload(),
            # training distribution, for drift checks (tobmodel.monitor)
            **({} if self.reference_profile_ is None else
               {"reference_profile": self.reference_profile_}),
        })

    @classmethod
    def from_document(cls, doc: dict):
        """The model a :meth:`to_document` document describes (scores identically).

        Raises ``KeyError`` / ``ValueError`` naming what is missing or damaged.
        """
        cfg = doc["config"] if "config" in doc else doc["created_from"]  # files before 0.2
        m = cls(**{k: cfg[k] for k in cls._options})
        m.read_header(doc)
        m.as_of_ = cfg.get("as_of", m.as_of_)
        m.encoder_ = DesignEncoder.from_dict(doc["encoder"])
        m.covariates_ = list(m.encoder_.covariates)
        m.dropped_covariates_ = list(doc["dropped_covariates"])
        coefs = doc["coefficients"]
        names = m.encoder_.columns
        if coefs["names"] != names:
            raise ValueError("coefficient names do not match the encoder's design columns")
        m.coef_ = doc_numbers(coefs["coef"], "coefficients.coef", len(names))
        m.center_ = doc_numbers(coefs["center"], "coefficients.center", len(names))
        m.se_ = doc_numbers(coefs["se"], "coefficients.se", len(names), allow_missing=True)
        m.p_ = doc_numbers(coefs["p"], "coefficients.p", len(names), allow_missing=True)
        m.business_type_ = cfg.get("business_type")
        m.n_accounts_, m.n_events_ = int(cfg["n_accounts"]), int(cfg["n_events"])
        m.lifelines_fitter_ = None
        profile = doc.get("reference_profile")  # training distribution (drift checks)
        if profile is not None:
            from ..io.profile import check_profile
            m.reference_profile_ = check_profile(profile)
        m._read_payload(doc)
        return m

    def _payload(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_payload(self, doc: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
