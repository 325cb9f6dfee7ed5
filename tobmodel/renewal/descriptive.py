"""Descriptive renewal analytics: Kaplan-Meier curves, log-rank tests, cohort and revenue retention.

Every function takes the account-level survival view of
:func:`tobmodel.survival.survival_view` (any business type), joined with segment
columns by :func:`add_segments` when you compare segments.

Durations are calendar months (the package's one month convention, see
:func:`tobmodel.survival.calendar_months`), so a churn at the m-month renewal
has a tenure of exactly m. A churn recorded a few days after the renewal date
still counts as lost *at* m months: durations up to ``TOLERANCE_MONTHS``
(about 3 days) past m count as m.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

from ..survival import calendar_months, survival_view
from .checks import check_durations_events

TOLERANCE_MONTHS = 0.1
DURATION, EVENT = "tenure_months", "churned"
SEGMENT_COLUMNS = ("business_type", "tier", "industry", "region", "acquisition_channel",
                   "contract_term")
_STEP = {"M": 1, "Q": 3, "Y": 12}


def check_survival_frame(df, duration_col=DURATION, event_col=EVENT, source="survival view"):
    """Validate durations (> 0) and events (0/1); return them as numpy arrays.

    Examples
    --------
    >>> d, e = check_survival_frame(pd.DataFrame({"tenure_months": [3.0, 12.0],
    ...                                           "churned": [1, 0]}))
    >>> d.tolist(), e.tolist()
    ([3.0, 12.0], [1, 0])
    """
    missing = [c for c in (duration_col, event_col) if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; pass the output of "
                         f"tobmodel.survival_view (has {DURATION!r} and {EVENT!r})")
    if len(df) == 0:
        raise ValueError(f"{source}: no accounts (0 rows); check the as_of date and filters")
    return check_durations_events(df, duration_col, event_col, source,
                                  advice="drop them or fix start/end dates")


def view_as_of(view) -> pd.Timestamp:
    """The snapshot date of a survival view (``attrs["as_of"]`` or its latest end date)."""
    return pd.Timestamp(view.attrs.get("as_of") or pd.to_datetime(view["end_date"]).max())


def add_segments(view, accounts, cohort_freq: str = "Q") -> pd.DataFrame:
    """Join segment columns of ``accounts`` and the start cohort to a survival view.

    Adds ``business_type, tier, industry, region, acquisition_channel,
    contract_term``, ``start_cohort`` (e.g. ``"2023Q1"`` for ``cohort_freq="Q"``),
    ``start_year`` and ``stage`` (from ``accounts.attrs`` of a simulation).

    Examples
    --------
    >>> import tobmodel
    >>> sim = tobmodel.simulate("saas", n_accounts=100, seed=1)
    >>> seg = add_segments(tobmodel.survival_view(sim), sim.accounts)
    >>> {"tier", "start_cohort", "stage"} <= set(seg.columns)
    True
    """
    cols = [c for c in SEGMENT_COLUMNS if c in accounts.columns and c not in view.columns]
    out = view.merge(accounts[["account_id", *cols]], on="account_id", how="left")
    start = pd.to_datetime(out["start_date"])
    out["start_cohort"] = start.dt.to_period(cohort_freq).astype(str)
    out["start_year"] = start.dt.year
    if "stage" not in out.columns and accounts.attrs.get("stage"):
        out["stage"] = accounts.attrs["stage"]
    out.attrs.update(view.attrs)
    return out


def segment_masks(df, by, segments=None):
    """``[(label, boolean mask)]`` per segment of column ``by`` (one ``"all"`` when None).

    ``segments`` picks and orders the labels; a requested label without accounts
    is left out with a warning. Unused categories of a categorical are skipped.
    """
    if by is None:
        return [("all", np.ones(len(df), bool))]
    if by not in df.columns:
        raise ValueError(f"survival view has no segment column {by!r} (has {list(df.columns)});"
                         " join segments first with add_segments(view, accounts)")
    col = df[by]
    if segments is not None:
        labels = list(segments)
    elif isinstance(col.dtype, pd.CategoricalDtype):
        labels = [c for c in col.cat.categories if (col == c).any()]
    else:
        labels = pd.unique(col.dropna())
        labels = sorted(labels, key=str) if labels.dtype == object else np.sort(labels)
    out = []
    for label in labels:  # a handful of segments, not accounts
        mask = (col == label).to_numpy()
        if mask.any():
            out.append((label, mask))
        else:
            warnings.warn(f"segment {by}={label!r} has no accounts and is left out; check the "
                          f"spelling (values present: {sorted(map(str, pd.unique(col.dropna())))})",
                          stacklevel=3)
    if not out:
        raise ValueError(f"no accounts in any requested segment of {by!r}")
    return out


def fit_kaplan_meier(view, by=None, alpha: float = 0.05, segments=None) -> dict:
    """One lifelines ``KaplanMeierFitter`` per segment of ``by`` (or for all accounts).

    Warns when a segment has no observed churn: its curve stays at 100% and
    says nothing about churn yet.

    Examples
    --------
    >>> v = pd.DataFrame({"tenure_months": [2.0, 5, 12, 12], "churned": [1, 1, 0, 0]})
    >>> round(float(fit_kaplan_meier(v)["all"].predict(6.0)), 2)
    0.5
    """
    d, e = check_survival_frame(view)
    fitters = {}
    for label, mask in segment_masks(view, by, segments):
        if e[mask].sum() == 0:
            where = "" if by is None else f" of {by}={label!r}"
            warnings.warn(f"no churn observed among the {mask.sum()} accounts{where}: retention"
                          " stays at 100% and says nothing yet about churn; wait for renewals "
                          "or use a longer history", stacklevel=2)
        fitters[label] = KaplanMeierFitter(alpha=alpha).fit(d[mask], e[mask], label=str(label))
    return fitters


def _step(kmf, t):
    """Survival and CI bounds of a fitted KM at times ``t`` (step function)."""
    i = np.searchsorted(kmf.timeline, t, side="right") - 1
    ci = kmf.confidence_interval_survival_function_.to_numpy()
    return kmf.survival_function_.to_numpy()[i, 0], ci[i, 0], ci[i, 1]


def retention_at(view, months=(12, 24, 36), by=None, alpha: float = 0.05, segments=None
                 ) -> pd.DataFrame:
    """Share still customers after ``months`` (Kaplan-Meier, with CIs), per segment.

    Returns a tidy table: ``segment, months, retention, lower, upper, at_risk,
    n_accounts, n_churned``; ``retention`` is NaN beyond the segment's longest
    follow-up (not observable yet).

    Examples
    --------
    >>> v = pd.DataFrame({"tenure_months": [6.0, 12.0, 30, 40], "churned": [1, 1, 1, 0]})
    >>> retention_at(v, months=[12])["retention"].tolist()
    [0.5]
    """
    d, e = check_survival_frame(view)
    m = np.asarray(months, float)
    rows = []
    for label, kmf in fit_kaplan_meier(view, by, alpha, segments).items():
        s, lo, hi = _step(kmf, m + TOLERANCE_MONTHS)
        seen = m <= kmf.durations.max()
        rows.append(pd.DataFrame({
            "segment": label, "months": m, "retention": np.where(seen, s, np.nan),
            "lower": np.where(seen, lo, np.nan), "upper": np.where(seen, hi, np.nan),
            "at_risk": (kmf.durations[:, None] > m + TOLERANCE_MONTHS).sum(axis=0),
            "n_accounts": len(kmf.durations), "n_churned": int(kmf.event_observed.sum())}))
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "segment_column", by or "all")
    return out


def median_tenure(view, by=None, alpha: float = 0.05, segments=None) -> pd.DataFrame:
    """Median tenure in months (Kaplan-Meier) with CI, per segment; inf = not reached yet.

    Examples
    --------
    >>> v = pd.DataFrame({"tenure_months": [1.0, 2, 3, 4, 5], "churned": [1, 1, 1, 1, 1]})
    >>> float(median_tenure(v)["median_months"].iloc[0])
    3.0
    """
    rows = []
    for label, kmf in fit_kaplan_meier(view, by, alpha, segments).items():
        ci = median_survival_times(kmf.confidence_interval_).to_numpy()[0]
        rows.append({"segment": label, "n_accounts": len(kmf.durations),
                     "n_churned": int(kmf.event_observed.sum()),
                     "median_months": float(kmf.median_survival_time_),
                     "lower": float(ci[0]), "upper": float(ci[1])})
    return pd.DataFrame(rows)


@dataclass
class SegmentComparison:
    """Log-rank comparison of renewal curves across segments (see :func:`compare_segments`)."""

    by: str
    table: pd.DataFrame
    test_statistic: float
    degrees_of_freedom: int
    p_value: float
    sentence: str

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"segment_column": self.by, "n_segments": len(self.table),
                              "test_statistic": self.test_statistic,
                              "degrees_of_freedom": self.degrees_of_freedom,
                              "p_value": self.p_value}])

    def __str__(self) -> str:
        return self.sentence


def compare_segments(view, by: str, at_months: float = 12, alpha: float = 0.05,
                     segments=None) -> SegmentComparison:
    """Log-rank test of whether renewal differs across segments, with a plain-words sentence.

    Examples
    --------
    >>> v = pd.DataFrame({"tenure_months": [1.0, 2, 3, 20, 30, 40], "churned": [1] * 6,
    ...                   "tier": ["SMB"] * 3 + ["KA"] * 3})
    >>> compare_segments(v, "tier").sentence.startswith("Renewal differs by tier")
    True
    """
    d, e = check_survival_frame(view)
    masks = segment_masks(view, by, segments)
    if len(masks) < 2:
        raise ValueError(f"comparing segments needs at least two values of {by!r} with accounts;"
                         f" found {len(masks)}")
    if e.sum() == 0:
        raise ValueError("the log-rank test needs observed churn: every account is censored; "
                         "wait for renewals or use a longer history")
    groups = np.empty(len(view), object)
    for label, mask in masks:
        groups[mask] = str(label)
    keep = groups != None  # noqa: E711 (rows with a segment)
    res = multivariate_logrank_test(d[keep], groups[keep], e[keep])
    table = median_tenure(view, by, alpha, segments)
    ret = retention_at(view, [at_months], by, alpha, segments)
    table["retention"] = ret["retention"].to_numpy()
    p, stat, dof = float(res.p_value), float(res.test_statistic), int(res.degrees_of_freedom)
    p_txt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    test = f"log-rank chi-square {stat:.1f} on {dof} df, {p_txt}"
    ranked = table.dropna(subset=["retention"]).sort_values("retention")
    if p < alpha and len(ranked) >= 2:
        best, worst = ranked.iloc[-1], ranked.iloc[0]
        sentence = (f"Renewal differs by {by} ({test}): {best['segment']} keeps customers best "
                    f"({best['retention']:.0%} still customers after {at_months:g} months), "
                    f"{worst['segment']} worst ({worst['retention']:.0%}).")
    elif p < alpha:
        sentence = f"Renewal differs by {by} ({test})."
    else:
        sentence = (f"No clear difference in renewal by {by} ({test}): the gaps between the "
                    "curves may be chance.")
    return SegmentComparison(by, table, stat, dof, p, sentence)


def cohort_retention_table(view, freq: str = "Q", step_months: int | None = None,
                           max_months: int | None = None, counts: bool = False) -> pd.DataFrame:
    """Cohort retention as a SaaS team draws it: start cohorts x months since start.

    A cell is the share of the cohort still customers ``m`` months after their
    start (``counts=True``: the number), filled only when every account of the
    cohort has been observable for ``m`` months, else NaN (the triangle).

    Parameters
    ----------
    freq : {'M', 'Q', 'Y'}
        Start cohort: month, quarter or year.
    step_months : int, optional
        Column spacing; default 1, 3 or 12 to match ``freq``.

    Examples
    --------
    >>> v = pd.DataFrame({"start_date": pd.to_datetime(["2023-01-05", "2023-02-01",
    ...                   "2023-07-01", "2023-08-01"]), "tenure_months": [2.0, 30, 4, 20],
    ...                   "churned": [1, 0, 1, 0]})
    >>> v.attrs["as_of"] = "2025-06-30"
    >>> cohort_retention_table(v, step_months=12).to_numpy().tolist()
    [[1.0, 0.5, 0.5], [1.0, 0.5, nan]]
    """
    d, e = check_survival_frame(view)
    if freq not in _STEP:
        raise ValueError(f"freq must be one of {list(_STEP)}, got {freq!r}")
    step = step_months or _STEP[freq]
    start = pd.to_datetime(view["start_date"])
    follow = calendar_months(start, view_as_of(view))
    top = max_months if max_months is not None else int(follow.max() // step * step)
    m = np.arange(0, top + 1, step)
    # month 0 is the start: every account is a customer then
    alive = ~((e[:, None] == 1) & (d[:, None] <= m[None, :] + TOLERANCE_MONTHS) & (m > 0))
    codes, labels = pd.factorize(start.dt.to_period(freq), sort=True)
    alive_n = pd.DataFrame(alive).groupby(codes).sum().to_numpy(float)
    size = np.bincount(codes)
    min_follow = pd.Series(follow).groupby(codes).min().to_numpy()
    values = alive_n if counts else alive_n / size[:, None]
    values = np.where(m[None, :] <= min_follow[:, None], values, np.nan)
    if len(labels) == 1:
        warnings.warn(f"all accounts start in one cohort ({labels[0]}); a cohort table needs "
                      "several: use a finer freq (e.g. 'M') or more history", stacklevel=2)
    out = pd.DataFrame(values, index=pd.Index(labels.astype(str), name="start_cohort"),
                       columns=pd.Index(m, name="months_since_start"))
    out.attrs["cohort_size"] = dict(zip(out.index, size.tolist()))
    return out


def _arr_at(contracts, pairs, when, trailing):
    """ARR per (account, date) row of ``pairs``: latest contract, or orders in the last year."""
    c = contracts[["account_id", "start_date", "arr"]].dropna()
    c = c.sort_values(["account_id", "start_date"], kind="stable")
    c = c.assign(cum=c.groupby("account_id")["arr"].cumsum()).sort_values("start_date")
    value = "cum" if trailing else "arr"

    def at(dates):
        left = pd.DataFrame({"account_id": pairs["account_id"].to_numpy(), "t": dates,
                             "row": np.arange(len(pairs))}).sort_values("t")
        hit = pd.merge_asof(left, c, left_on="t", right_on="start_date", by="account_id")
        return hit.set_index("row")[value].sort_index().fillna(0).to_numpy()
    d = pairs[when].to_numpy()
    if not trailing:
        return at(d)
    return at(d) - at((pairs[when] - pd.DateOffset(years=1)).to_numpy())


def revenue_retention(data, freq: str = "Y", as_of=None, view=None, **view_options
                      ) -> pd.DataFrame:
    """Gross and net revenue retention (GRR / NRR) of the customers at each period end.

    For each year (``freq="Y"``) or quarter end d0 with a full year after it,
    takes the customers active at d0 and their ARR, and compares with their
    ARR at d0 + 12 months (0 if they churned). GRR counts churn and
    contraction, NRR adds expansion. Churn follows the survival view; ARR comes
    from ``contracts``: the contract running at the date (saas, tool; platform:
    the yearly commission at signing, so GRR = NRR), or for hardware the order
    value of the 12 months up to the date.

    Examples
    --------
    >>> import tobmodel
    >>> rr = revenue_retention(tobmodel.simulate("saas", n_accounts=200, seed=1))
    >>> bool((rr["grr"] <= rr["nrr"] + 1e-12).all())
    True
    """
    tables = data.tables if hasattr(data, "tables") else dict(data)
    view = survival_view(tables, as_of=as_of, **view_options) if view is None else view
    snapshot = view_as_of(view)
    if freq not in ("Y", "Q"):
        raise ValueError(f"freq must be 'Y' or 'Q', got {freq!r}")
    ends = pd.period_range(view["start_date"].min(), snapshot, freq=freq)
    d0 = ends.end_time.normalize()
    ok = d0 + pd.DateOffset(years=1) <= snapshot
    if not ok.any():
        raise ValueError(f"revenue retention needs a full year after a {freq} end; the data "
                         f"span {view['start_date'].min().date()} to {snapshot.date()}")
    periods = pd.DataFrame({"period": ends[ok].astype(str), "d0": d0[ok]})
    periods["d1"] = periods["d0"] + pd.DateOffset(years=1)
    acc = view[["account_id", "start_date", "end_date", "churned"]]
    pairs = periods.merge(acc, how="cross")
    pairs = pairs.loc[(pairs["start_date"] <= pairs["d0"])
                      & ((pairs["churned"] == 0) | (pairs["end_date"] > pairs["d0"]))]
    kept = ((pairs["churned"] == 0) | (pairs["end_date"] > pairs["d1"])).to_numpy()
    trailing = view.attrs.get("business_type") == "hardware"
    a0 = _arr_at(tables["contracts"], pairs, "d0", trailing)
    a1 = np.where(kept, _arr_at(tables["contracts"], pairs, "d1", trailing), 0.0)
    parts = pd.DataFrame({"period": pairs["period"].to_numpy(), "accounts": 1,
                          "retained_accounts": kept.astype(int), "start_arr": a0,
                          "churned_arr": np.where(kept, 0.0, a0),
                          "contraction_arr": np.where(kept, np.maximum(a0 - a1, 0), 0.0),
                          "expansion_arr": np.maximum(a1 - a0, 0) * kept, "end_arr": a1})
    out = periods.merge(parts.groupby("period", as_index=False).sum(), on="period")
    out = out.rename(columns={"d0": "start_date", "d1": "end_date"})
    lost = out["churned_arr"] + out["contraction_arr"]
    out["grr"] = (out["start_arr"] - lost) / out["start_arr"]
    out["nrr"] = out["end_arr"] / out["start_arr"]
    return out


def book_by_period(data, freq: str = "Q", as_of=None, view=None, **view_options
                   ) -> pd.DataFrame:
    """The customer book per month, quarter or year: in force, new, churned, ARR.

    A customer is *in force* at a date d when it started on or before d and has
    not churned by d (churn dated at ``end_date`` of the survival view, so a
    customer churning on d is no longer in force at d). Churn follows
    :func:`tobmodel.survival_view`, so it means what it means for the business
    type: a churned contract (saas, tool), ``inactive_months`` without a login
    (platform), ``lapse_months`` without an order (hardware). Only complete
    periods are listed: from the period of the first start to the last period
    ending on or before ``as_of``.

    Parameters
    ----------
    data : Simulation or dict of DataFrame
        Needs ``accounts`` and ``contracts`` (``usage`` for platform).
    freq : {'M', 'Q', 'Y'}
        Period length.
    as_of : date-like, optional
        Snapshot (default: the data's own); passed to the survival view.
    view : DataFrame, optional
        A survival view already built (then ``as_of`` and ``view_options`` are unused).
    **view_options
        Passed to :func:`tobmodel.survival_view` (``inactive_months``, ``lapse_months``).

    Returns
    -------
    DataFrame indexed by ``period`` (a PeriodIndex) with ``period_end`` (last
    day), ``customers_at_start`` (in force at the previous period end),
    ``new_customers`` (first contract in the period), ``churned_customers``
    (churn dated in the period, including customers who joined and left within
    it), ``customers_at_end``, ``churned_from_start`` (churned customers among
    ``customers_at_start``), ``churn_rate`` = churned_from_start /
    customers_at_start (a share of the customers at the start; NaN without any)
    and ``arr_at_end``: ARR of the customers in force at the period end, from
    ``contracts`` as in :func:`revenue_retention`: the contract running at the
    date (saas, tool), the yearly commission of the latest contract signed
    (platform), or the order value of the 12 months up to the date (hardware).
    ``customers_at_end = customers_at_start + new_customers - churned_customers``.

    Examples
    --------
    >>> import tobmodel
    >>> book = book_by_period(tobmodel.simulate("saas", n_accounts=200, seed=1))
    >>> str(book.index[-1]), list(book.columns[:3])
    ('2025Q4', ['period_end', 'customers_at_start', 'new_customers'])
    >>> flow = book["customers_at_start"] + book["new_customers"] - book["churned_customers"]
    >>> bool((flow == book["customers_at_end"]).all())
    True
    """
    if freq not in _STEP:
        raise ValueError(f"freq must be one of {list(_STEP)}, got {freq!r}")
    tables = data.tables if hasattr(data, "tables") else dict(data)
    if "contracts" not in tables:
        raise ValueError(f"book_by_period needs a 'contracts' table for ARR; got tables "
                         f"{sorted(tables)}")
    if view is None:
        view = survival_view(tables, as_of=as_of, **view_options)
    else:
        check_survival_frame(view)
    snapshot = view_as_of(view)
    start = pd.to_datetime(view["start_date"]).to_numpy("datetime64[ns]")
    periods = pd.period_range(start.min(), snapshot, freq=freq)
    periods = periods[periods.end_time.normalize() <= snapshot]
    if len(periods) == 0:
        raise ValueError(f"no complete {freq} period between the first start "
                         f"{pd.Timestamp(start.min()).date()} and as_of {snapshot.date()}")
    ends = periods.end_time.normalize().to_numpy("datetime64[ns]")
    n_p = len(periods)
    churned = view["churned"].to_numpy() == 1
    end = pd.to_datetime(view["end_date"]).to_numpy("datetime64[ns]")
    # period of the start / of the churn: the first period end on or after the date
    k_start = np.searchsorted(ends, start, side="left")
    k_churn = np.where(churned, np.searchsorted(ends, end, side="left"), n_p)
    new = np.bincount(k_start[k_start < n_p], minlength=n_p)[:n_p]
    lost = churned & (k_churn < n_p)
    churned_n = np.bincount(k_churn[lost], minlength=n_p)
    from_start = np.bincount(k_churn[lost & (k_start < k_churn)], minlength=n_p)
    at_end = np.cumsum(new) - np.cumsum(churned_n)
    at_start = np.r_[0, at_end[:-1]]
    # one (account, period) pair per period end the account is in force at
    first, stop = k_start, np.minimum(k_churn, n_p)
    length = np.maximum(stop - first, 0)
    who = np.repeat(np.arange(len(view)), length)
    k = first[who] + np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    pairs = pd.DataFrame({"account_id": view["account_id"].to_numpy()[who], "d": ends[k]})
    business_type = view.attrs.get("business_type") or str(
        tables["accounts"]["business_type"].iloc[0])
    arr = _arr_at(tables["contracts"], pairs, "d", business_type == "hardware")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(at_start > 0, from_start / np.maximum(at_start, 1), np.nan)
    return pd.DataFrame({
        "period_end": ends, "customers_at_start": at_start, "new_customers": new,
        "churned_customers": churned_n, "customers_at_end": at_end,
        "churned_from_start": from_start, "churn_rate": rate,
        "arr_at_end": np.bincount(k, weights=arr, minlength=n_p)},
        index=pd.Index(periods, name="period"))
