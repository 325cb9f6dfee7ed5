"""Repurchase (hardware): time from one order to the next, and the lapse risk it implies.

A hardware customer pays per order; "renewal" is the next order and churn is a
lapse of ``lapse_months`` without one (see :func:`tobmodel.survival_view`). A
model of tenure since the first order cannot see how long the customer has
already waited, so here the unit is the **order gap**: the time from an order
to the next. The event is the *reorder*; the latest gap of each customer is
censored at ``as_of`` and a gap that passes ``lapse_months`` is censored there
(for churn only "did the next order come in time?" matters).

Gaps run in *calendar months* (:func:`tobmodel.renewal.calendar_months`), so
the lapse date, the order date plus ``lapse_months`` calendar months as in
``survival_view``, falls at exactly ``lapse_months`` for every order.

A Cox model of the gap gives ``S_gap(t | x)``, the probability of no reorder by
``t``. A customer whose latest order was ``m`` months ago lapses with
probability ``S_gap(L | x) / S_gap(m | x)`` (``L = lapse_months``); the lapse
date is within ``L`` months by construction, so this is also the churn
probability over the next 12 months. ``m >= L`` means already lapsed (1).

Note: the account covariates are measured at ``as_of`` (as
:func:`build_account_features` gives them) and joined to every gap of the
account, earlier gaps included; only the order number is specific to a gap.
Usage and support covariates change over time, so they describe only the latest
gap and are not used by default (see ``CHANGING``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.values import show_ids
from ..persist import (data_fingerprint, doc_number, doc_numbers, feature_schema, json_ready,
                       make_model_id)
from ..protocol import DEFAULT_HORIZON_MONTHS, ModelBase
from ..survival import LAPSE_MONTHS
from .features import SNAPSHOT_ONLY, build_account_features, calendar_months
from .checks import check_durations_events, check_missing, check_penalizer
from .design import DesignEncoder, _is_constant, resolve_covariates, run_lifelines

GAP_COLUMNS = ("account_id", "order_number", "start_date", "gap_months", "reordered", "latest")
#: covariates known at each order (added to the default account covariates)
ORDER_COVARIATES = ("log_order_number",)
#: usage and support covariates: measured over the months before ``as_of``, so they describe
#: the latest gap only; joined to earlier gaps they mismatch and bias the lapse risk low
#: (about -0.035 on simulations), hence not defaults (pass ``covariates=`` to use them)
CHANGING = ("logins_trend", "key_feature_adoption_3m", "active_seat_share_3m",
            "unresolved_share_6m", "bot_escalations_6m")
#: build_account_features columns that describe the account's survival, not covariates
_NOT_COVARIATES = ("start_date", "end_date", "as_of", "tenure_months", "churned", "active",
                   "next_renewal_date", "months_to_next_renewal", *SNAPSHOT_ONLY)
MIN_GAP_MONTHS = 1 / 31  # an order on the same day as the previous one (or on as_of)


def order_gaps(data, as_of=None, lapse_months: int = LAPSE_MONTHS) -> pd.DataFrame:
    """One row per order: months to the next order, or censored (latest order, or a lapse).

    Parameters
    ----------
    data : Simulation or dict of DataFrame
        Hardware tables ``accounts``, ``contracts`` (one row per order),
        ``usage`` and ``support``.
    as_of : date-like, optional
        Snapshot; orders after it are ignored. Default: the data's own as-of date.
    lapse_months : int
        Months without an order that make a lapse (churn).

    Returns
    -------
    DataFrame
        ``account_id, order_number`` (1 = first order), ``start_date`` (order
        date), ``gap_months`` (calendar months to the next order, at most
        ``lapse_months``, > 0), ``reordered`` (1 = the next order came within
        ``lapse_months``; 0 = censored: the latest order at ``as_of``, or a
        lapse), ``latest`` (the account's latest order by ``as_of``),
        ``log_order_number`` and the account covariates of
        :func:`build_account_features` at ``as_of`` (without
        ``months_since_last_order`` and the survival columns). Sorted by
        account and order; ``attrs`` hold ``as_of`` and ``lapse_months``.
        Accounts whose first order is on ``as_of`` are left out (as in
        ``survival_view``).

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("hardware", n_accounts=200, seed=3)
    >>> g = order_gaps(sim, as_of="2024-06-30")
    >>> int(g["latest"].sum()) == g["account_id"].nunique()
    True
    >>> bool(g["gap_months"].between(0, 12).all()), int(g.loc[g["latest"], "reordered"].max())
    (True, 0)
    """
    tables = data.tables if hasattr(data, "tables") else dict(data)
    features = build_account_features(tables, as_of=as_of)
    if features.attrs.get("business_type") != "hardware":
        raise ValueError(f"order_gaps: accounts are business type "
                         f"{features.attrs.get('business_type')!r}; order gaps need 'hardware' "
                         "(one contract row per order)")
    as_of = pd.Timestamp(features.attrs["as_of"])
    c = tables["contracts"]
    missing = [col for col in ("account_id", "start_date") if col not in c]
    if missing:
        raise ValueError(f"contracts: column(s) {missing} missing; order_gaps needs one row "
                         "per order with account_id and start_date")
    if c["start_date"].isna().any():
        bad = c["start_date"].isna().to_numpy()
        raise ValueError(f"contracts: column 'start_date' has {int(bad.sum())} missing order "
                         f"dates ({show_ids(c, bad)})")
    c = c.loc[(c["start_date"] <= as_of).to_numpy(), ["account_id", "start_date"]]
    c = c.sort_values(["account_id", "start_date"], kind="stable")
    acc = c["account_id"].to_numpy()
    start = c["start_date"].to_numpy().astype("datetime64[ns]")
    has_next = np.append(acc[1:] == acc[:-1], False)
    end = np.where(has_next, np.append(start[1:], start[-1:]), np.datetime64(as_of, "ns"))
    months = calendar_months(start, end)
    first = np.r_[True, ~has_next[:-1]] if len(acc) else np.zeros(0, bool)
    number = np.arange(len(acc)) - np.maximum.accumulate(np.where(first, np.arange(len(acc)), 0))
    gaps = pd.DataFrame({
        "account_id": acc,
        "order_number": (number + 1).astype(np.int64),
        "start_date": start,
        "gap_months": np.clip(months, MIN_GAP_MONTHS, lapse_months),
        "reordered": (has_next & (months <= lapse_months)).astype(np.int64),
        "latest": ~has_next,
        "log_order_number": np.log(number + 1.0),
    })
    covs = features.drop(columns=[k for k in _NOT_COVARIATES if k in features])
    gaps = gaps.merge(covs, on="account_id", how="inner", validate="many_to_one")
    gaps.attrs.update(as_of=str(as_of.date()), lapse_months=int(lapse_months),
                      business_type="hardware")
    return gaps


def _check_gaps(gaps: pd.DataFrame, lapse_months: float, source: str = "gaps") -> None:
    missing = [col for col in GAP_COLUMNS if col not in gaps]
    if missing:
        raise ValueError(f"{source}: column(s) {missing} missing; build the frame with "
                         "tobmodel.renewal.order_gaps(tables)")
    built = gaps.attrs.get("lapse_months")
    if built is not None and built != lapse_months:
        raise ValueError(f"{source}: gaps were built with lapse_months={built} but the model "
                         f"uses lapse_months={lapse_months}; use the same value for both")
    check_durations_events(gaps, "gap_months", "reordered", source, max_duration=lapse_months,
                           event_rule="0 or 1")


class RepurchaseModel(ModelBase):
    """Cox model of the gap between orders (event = reorder), scored as a lapse probability.

    Follows :class:`tobmodel.protocol.ScoringModel` (name ``"repurchase"``): it
    scores the latest gap of each customer (:meth:`frame_from_tables`), so
    ``tobmodel fit --model repurchase`` and ``tobmodel score`` work on hardware
    tables like the other renewal models. For hardware the "next renewal" is
    the lapse date (last order + ``lapse_months``); a customer who reorders
    before it stays (a new lapse date at least ``lapse_months`` later), so the
    scores are exact for horizons up to ``lapse_months``, and longer horizons
    are refused.

    Parameters
    ----------
    covariates : list of str, optional
        Columns of :func:`order_gaps`. Default: the standard account
        covariates present and not constant, except the usage and support
        ones measured at ``as_of`` (``CHANGING``), plus ``log_order_number``.
    penalizer : float
        Ridge shrinkage passed to ``lifelines.CoxPHFitter``.
    lapse_months : int
        Months without an order that make a lapse; must match the gaps.

    Attributes
    ----------
    covariates_, encoder_, coef_, center_ :
        Covariates used, their design encoding, log reorder-hazard ratios and
        centres.
    baseline_times_, baseline_cumhaz_ : ndarray
        Breslow baseline cumulative hazard of reordering (lifelines' knots).
    n_gaps_, n_reorders_ : int
    lifelines_fitter_ : lifelines.CoxPHFitter

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("hardware", n_accounts=300, seed=3)
    >>> g = order_gaps(sim)
    >>> m = RepurchaseModel(covariates=["tier", "log_order_number"]).fit(g)
    >>> p = m.lapse_probability(g[g["latest"]])
    >>> list(p.columns)
    ['account_id', 'months_since_last_order', 'p_lapse_next_12m']
    >>> bool(p["p_lapse_next_12m"].between(0, 1).all())
    True
    """

    kind, name, id_column = "renewal", "repurchase", "account_id"
    input_tables = ("accounts", "contracts", "usage", "support")

    def __init__(self, covariates=None, penalizer: float = 0.01,
                 lapse_months: int = LAPSE_MONTHS):
        self.covariates = covariates
        self.penalizer = penalizer
        self.lapse_months = lapse_months

    def frame_from_tables(self, tables, as_of=None) -> pd.DataFrame:
        """The latest gap of every customer at ``as_of`` (what the model scores); ``active``
        is False for a customer already lapsed."""
        gaps = order_gaps(tables, as_of=as_of, lapse_months=self.lapse_months)
        latest = gaps.loc[gaps["latest"].to_numpy(bool)].reset_index(drop=True)
        latest["active"] = latest["gap_months"].to_numpy(float) < self.lapse_months
        latest.attrs.update(gaps.attrs)
        return latest

    def fit_tables(self, tables, as_of=None) -> "RepurchaseModel":
        """Fit on every order gap of the tables up to ``as_of``; returns ``self``."""
        return self.fit(order_gaps(tables, as_of=as_of, lapse_months=self.lapse_months))

    def _resolve_covariates(self, gaps):
        if self.covariates is not None:
            return resolve_covariates(gaps, self.covariates, source="gaps")
        covs, dropped = resolve_covariates(gaps, None, exclude=CHANGING, source="gaps")
        order = [c for c in ORDER_COVARIATES if c in gaps]
        keep = [c for c in order if not _is_constant(gaps[c])]
        return covs + keep, dropped + [c for c in order if c not in keep]

    def fit(self, gaps: pd.DataFrame) -> "RepurchaseModel":
        """Fit on :func:`order_gaps` output; returns ``self``."""
        from lifelines import CoxPHFitter
        check_penalizer(self.penalizer)
        _check_gaps(gaps, self.lapse_months)
        T = gaps["gap_months"].to_numpy(dtype=float)
        E = pd.to_numeric(gaps["reordered"].astype("object")).to_numpy().astype(np.int64)
        if E.sum() == 0:
            raise ValueError(f"gaps: no reorder among {len(gaps)} order gaps, so a repurchase "
                             "model cannot be fitted; use a longer history or a later as_of")
        covs, dropped = self._resolve_covariates(gaps)
        check_missing(gaps, covs, source="gaps")
        enc = DesignEncoder.fit(gaps, covs)
        X = enc.matrix(gaps)
        frame = pd.DataFrame(X, columns=enc.columns)
        frame["gap_months"] = T
        frame["reordered"] = E
        cph = CoxPHFitter(penalizer=self.penalizer)
        run_lifelines("Repurchase model", lambda: cph.fit(frame, "gap_months", "reordered"),
                      enc.columns, X)
        self.encoder_ = enc
        self.covariates_ = covs
        self.dropped_covariates_ = dropped
        self.coef_ = cph.params_[enc.columns].to_numpy(dtype=float)
        self.center_ = cph._norm_mean[enc.columns].to_numpy(dtype=float)
        bch = cph.baseline_cumulative_hazard_
        self.baseline_times_ = bch.index.to_numpy(dtype=float)
        self.baseline_cumhaz_ = bch.iloc[:, 0].to_numpy(dtype=float)
        self.n_gaps_, self.n_reorders_ = len(frame), int(E.sum())
        self.as_of_ = gaps.attrs.get("as_of")
        self.lifelines_fitter_ = cph
        self.features_ = feature_schema(gaps, ["gap_months", "start_date", *covs])
        for f in self.features_:
            if f["name"] in enc.categorical:
                f["categories"] = list(enc.categorical[f["name"]]["levels"])
        self.model_id_ = make_model_id(self.name, self.config_(), data_fingerprint(frame))
        return self

    def config_(self) -> dict:
        """Settings that define the model (its id and file): options and training facts."""
        return {"covariates": list(self.covariates_), "penalizer": float(self.penalizer),
                "lapse_months": int(self.lapse_months), "as_of": self.as_of_text(),
                "n_gaps": int(self.n_gaps_), "n_reorders": int(self.n_reorders_)}

    # -- the model document -------------------------------------------------------------
    def to_document(self) -> dict:
        """JSON-ready document: encoder, coefficients and the reorder baseline (no code)."""
        if not hasattr(self, "coef_"):
            raise ValueError("this RepurchaseModel is not fitted yet; call fit(gaps)")
        return json_ready({
            **self.header_document("lifelines"), "config": self.config_(),
            "encoder": self.encoder_.to_dict(), "dropped_covariates": self.dropped_covariates_,
            "coefficients": {"names": self.encoder_.columns, "coef": self.coef_,
                             "center": self.center_},
            "baseline": {"times": self.baseline_times_, "cumulative_hazard": self.baseline_cumhaz_},
        })

    @classmethod
    def from_document(cls, doc: dict) -> "RepurchaseModel":
        """The model a :meth:`to_document` document describes (scores identically)."""
        cfg = doc["config"]
        m = cls(covariates=cfg["covariates"], penalizer=doc_number(cfg["penalizer"], "penalizer"),
                lapse_months=int(doc_number(cfg["lapse_months"], "lapse_months")))
        m.read_header(doc)
        m.encoder_ = DesignEncoder.from_dict(doc["encoder"])
        m.covariates_ = list(m.encoder_.covariates)
        m.dropped_covariates_ = list(doc["dropped_covariates"])
        names = m.encoder_.columns
        if doc["coefficients"]["names"] != names:
            raise ValueError("coefficient names do not match the encoder's design columns")
        m.coef_ = doc_numbers(doc["coefficients"]["coef"], "coefficients.coef", len(names))
        m.center_ = doc_numbers(doc["coefficients"]["center"], "coefficients.center", len(names))
        b = doc["baseline"]
        m.baseline_times_ = doc_numbers(b["times"], "baseline.times")
        m.baseline_cumhaz_ = doc_numbers(b["cumulative_hazard"], "baseline.cumulative_hazard",
                                         len(m.baseline_times_))
        m.n_gaps_, m.n_reorders_ = int(cfg["n_gaps"]), int(cfg["n_reorders"])
        m.lifelines_fitter_ = None
        return m

    # -- the protocol's score ------------------------------------------------------------
    def score(self, df: pd.DataFrame, as_of=None, horizon_months=None, source: str = "data",
              progress: bool = False, checked: bool = False) -> pd.DataFrame:
        """Churn scores of the latest gaps in ``df`` (:meth:`frame_from_tables` rows).

        ``p_churn_next_renewal``: P(no order before the lapse date); ``p_churn_horizon``:
        the same if the lapse date falls within ``horizon_months``, else 0;
        ``expected_remaining_months``: ``(1 - p) * h + p * min(months to lapse, h)``.
        Rows of customers already lapsed (``active`` False) get NaN. ``checked=True``
        (:mod:`tobmodel.protocol`): the rows' categories were checked already.
        """
        h = float(DEFAULT_HORIZON_MONTHS if horizon_months is None else horizon_months)
        L = float(self.lapse_months)
        if not 0 < h <= L:
            raise ValueError(f"horizon_months must be between 1 and lapse_months ({L:g}) for "
                             f"the repurchase model, got {horizon_months}")
        if checked:  # the columns and dtypes only (no scan of every row's category)
            self.check_schema(df.iloc[:0], source)
        else:
            self.check_schema(df, source)
        lapse = self.lapse_probability(df)["p_lapse_next_12m"].to_numpy()
        m = df["gap_months"].to_numpy(dtype=float)
        active = (df["active"].to_numpy(bool) if "active" in df else np.ones(len(df), bool)) \
            & (m < L)
        to_lapse = L - m
        p_h = np.where(to_lapse <= h, lapse, 0.0)
        from .reasons import reason_texts
        names, contrib = [], []
        for name, term in self.encoder_.terms(df, self.coef_, self.center_):
            names.append(name)
            contrib.append(-term)  # a higher reorder hazard means less risk
        reasons = reason_texts(df, names, np.column_stack(contrib) if contrib else
                               np.zeros((len(df), 0)), top=3, direction=1)
        start = pd.to_datetime(df["start_date"]).reset_index(drop=True)
        return pd.DataFrame({
            "account_id": df["account_id"].to_numpy(),
            "next_renewal_date": (start + pd.DateOffset(months=int(L))).to_numpy(),
            "p_churn_next_renewal": np.where(active, lapse, np.nan),
            "horizon_months": np.full(len(df), h),
            "p_churn_horizon": np.where(active, p_h, np.nan),
            "expected_remaining_months": np.where(
                active, (1 - lapse) * h + lapse * np.minimum(to_lapse, h), np.nan),
            "beyond_followup": active & (m > self.baseline_times_[-1]),
            "reasons": np.where(active, reasons, ""),
        })

    @property
    def hazard_ratios_(self) -> pd.Series:
        """Reorder hazard ratio per design column (> 1 = reorders sooner = safer)."""
        return pd.Series(np.exp(self.coef_), index=self.encoder_.columns,
                         name="reorder_hazard_ratio")

    def lapse_probability(self, latest_gaps: pd.DataFrame) -> pd.DataFrame:
        """Probability that each customer lapses: no order before its lapse date.

        Parameters
        ----------
        latest_gaps : DataFrame
            The latest gap of each customer (``gaps[gaps["latest"]]`` of
            :func:`order_gaps` at the scoring date), with the model's covariates.

        Returns
        -------
        DataFrame
            ``account_id``, ``months_since_last_order`` (the gap so far, at most
            ``lapse_months``) and ``p_lapse_next_12m`` = ``S_gap(L) / S_gap(m)``:
            churn risk within the next 12 months, higher = more risk; 1 for a
            customer already lapsed (``m >= lapse_months``). Same row order.
        """
        if not hasattr(self, "coef_"):
            raise ValueError("this RepurchaseModel is not fitted yet; call fit(gaps)")
        df = latest_gaps
        missing = [c for c in ("account_id", "gap_months", *self.covariates_) if c not in df]
        if missing:
            raise ValueError(f"latest_gaps: column(s) {missing} missing; pass the latest rows "
                             "of tobmodel.renewal.order_gaps(tables)")
        if "latest" in df and not df["latest"].all():
            bad = ~df["latest"].to_numpy(dtype=bool)
            raise ValueError(f"latest_gaps: {int(bad.sum())} rows are not a customer's latest "
                             f"order ({show_ids(df, bad)}); pass gaps[gaps['latest']]")
        check_missing(df, ["gap_months", *self.covariates_], source="latest_gaps")
        m = df["gap_months"].to_numpy(dtype=float)
        lp = np.zeros(len(df))
        for _, term in self.encoder_.terms(df, self.coef_, self.center_):
            lp += term
        L = float(self.lapse_months)
        h = np.interp(np.r_[L, m], self.baseline_times_, self.baseline_cumhaz_)
        p = np.exp(-np.maximum(h[0] - h[1:], 0.0) * np.exp(lp))
        p = np.where(m >= L, 1.0, np.clip(p, 0.0, 1.0))
        return pd.DataFrame({"account_id": df["account_id"].to_numpy(),
                             "months_since_last_order": m, "p_lapse_next_12m": p})


def fit_repurchase_model(gaps: pd.DataFrame, covariates=None, penalizer: float = 0.01,
                         lapse_months: int = LAPSE_MONTHS) -> RepurchaseModel:
    """Fit a :class:`RepurchaseModel` (Cox model of the order gap) on :func:`order_gaps` output.

    Examples
    --------
    >>> import tobmodel
    >>> g = order_gaps(tobmodel.simulate("hardware", n_accounts=300, seed=3))
    >>> m = fit_repurchase_model(g, covariates=["tier", "log_order_number"])
    >>> bool(m.hazard_ratios_["log_order_number"] > 1)  # loyal customers reorder sooner
    True
    """
    return RepurchaseModel(covariates=covariates, penalizer=penalizer,
                           lapse_months=lapse_months).fit(gaps)
