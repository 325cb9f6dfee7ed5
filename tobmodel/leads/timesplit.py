"""Splits that respect time: train on older leads, test on newer ones.

A lead model is used on leads that arrive after it was trained, so it must be
judged the same way. Random splits would let next month's leads teach the
model about last month's.

Examples
--------
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=300, seed=1)
>>> train, test = time_split(sim.leads, "2025-01-01")
>>> bool(train["created_date"].max() < test["created_date"].min())
True
>>> cv = TimeOrderedSplit(n_splits=3)
>>> [bool(sim.leads["created_date"].iloc[tr].max() < sim.leads["created_date"].iloc[te].min())
...  for tr, te in cv.split(sim.leads)]
[True, True, True]
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import TimeSeriesSplit

from ..evaluation import TimeSplit
from .features import LeadDataError

__all__ = ["time_split", "TimeSplit", "TimeOrderedSplit"]


def _dates(leads: pd.DataFrame, column: str, source: str) -> np.ndarray:
    if column not in leads.columns:
        raise LeadDataError(f"{source}: no column {column!r} to split by time")
    d = pd.to_datetime(leads[column], errors="coerce")
    if d.isna().any():
        rows = np.flatnonzero(d.isna().to_numpy())
        raise LeadDataError(f"{source}: column {column!r} has {len(rows)} empty or unreadable "
                            f"dates (rows {', '.join(map(str, rows[:3] + 1))})")
    return d.to_numpy()


def time_split(leads: pd.DataFrame, cutoff, date_column: str = "created_date",
               source: str = "leads", as_seen_at_cutoff: bool = False):
    """Leads created before ``cutoff`` (train) and on or after it (test).

    Parameters
    ----------
    leads : DataFrame
    cutoff : str or Timestamp
        First day of the test period.
    date_column : str
        Column holding the lead's registration date.
    source : str
        Name used in error messages.
    as_seen_at_cutoff : bool
        Show the training leads as they looked on the cutoff day: funnel steps
        and outcomes dated on or after it are emptied and such leads become
        ``open``. A back-test then trains only on what was known at the
        cutoff (the default keeps outcomes learnt later, which flatters the
        model a little).

    Returns
    -------
    TimeSplit
        ``train`` and ``test`` (DataFrames; unpack as ``train, test``), ``cutoff``
        and ``as_of`` (``leads.attrs["as_of"]`` when recorded), the same type as
        :func:`tobmodel.renewal.time_split` returns. All statuses are kept;
        fitting and evaluation drop open leads themselves.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"created_date": pd.to_datetime(["2024-05-01", "2025-02-01"])})
    >>> split = time_split(df, "2025-01-01")
    >>> [len(part) for part in split], str(split.cutoff.date())
    ([1, 1], '2025-01-01')
    """
    cutoff = pd.Timestamp(cutoff)
    before = _dates(leads, date_column, source) < np.datetime64(cutoff)
    if before.all() or not before.any():
        side = "after" if not before.any() else "before"
        raise LeadDataError(f"{source}: every lead was created {side} the cutoff {cutoff.date()}; "
                            "pick a cutoff inside the leads' date range")
    train = leads.loc[before]
    if as_seen_at_cutoff:
        train = _as_seen_at(train, cutoff)
    as_of = leads.attrs.get("as_of")
    return TimeSplit(train, leads.loc[~before], cutoff,
                     pd.Timestamp(as_of) if as_of is not None else None)


def leads_known_at(leads: pd.DataFrame, as_of, date_column: str = "created_date",
                   source: str = "leads") -> pd.DataFrame:
    """The leads table as it was known at the end of ``as_of``: a point-in-time snapshot.

    Leads created after ``as_of`` are left out; funnel steps and outcomes dated
    after it are emptied, and leads whose outcome came later are ``open`` again
    (their converted account id too). Fitting "as of" a date then learns only
    outcomes that were known on that date.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"created_date": pd.to_datetime(["2025-01-05", "2025-03-01"]),
    ...                    "outcome_date": pd.to_datetime(["2025-02-10", "2025-03-02"]),
    ...                    "status": ["converted", "lost"]})
    >>> leads_known_at(df, "2025-02-01")["status"].tolist()
    ['open']
    """
    day = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    created = _dates(leads, date_column, source) < np.datetime64(day)
    return _as_seen_at(leads.loc[created].reset_index(drop=True), day)


def _as_seen_at(leads: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Leads as they looked on ``day``: later steps and outcomes hidden."""
    out = leads.copy()
    for col in ("qualified_date", "engaged_date", "outcome_date"):
        if col in out.columns:
            out[col] = out[col].where(out[col] < day)
    if "status" in out.columns and "outcome_date" in leads.columns:
        later = (leads["outcome_date"] >= day).to_numpy()
        status = out["status"].astype("object").to_numpy()
        status[later] = "open"
        out["status"] = pd.Categorical(status, dtype=leads["status"].dtype) \
            if isinstance(leads["status"].dtype, pd.CategoricalDtype) else status
        if "account_id" in out.columns:
            out["account_id"] = out["account_id"].where(~later)
    return out


class TimeOrderedSplit:
    """Expanding-window cross-validation in order of registration date.

    Like :class:`sklearn.model_selection.TimeSeriesSplit`, but the rows need not
    be sorted: they are ordered by ``date_column``, and no date is split between
    a training and a test fold. Works as ``cv=`` for scikit-learn's
    ``cross_val_score`` when ``X`` is a leads frame holding ``date_column``.

    Parameters
    ----------
    n_splits : int
        Number of folds; fold k trains on the first k blocks and tests on block k+1.
    date_column : str
        Column with the lead's registration date.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"created_date": pd.date_range("2024-01-01", periods=8, freq="W")})
    >>> [(len(tr), len(te)) for tr, te in TimeOrderedSplit(3).split(df)]
    [(2, 2), (4, 2), (6, 2)]
    """

    def __init__(self, n_splits: int = 5, date_column: str = "created_date"):
        self.n_splits = n_splits
        self.date_column = date_column

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` positional indices, train strictly older than test."""
        dates = _dates(X, self.date_column, "leads")
        order = np.argsort(dates, kind="stable")
        sorted_dates = dates[order]
        for train, test in TimeSeriesSplit(self.n_splits).split(order):
            # move both fold edges to the start of a date so that no day is shared
            start = np.searchsorted(sorted_dates, sorted_dates[test[0]], side="left")
            stop = test[-1] + 1
            if stop < len(order):
                stop = np.searchsorted(sorted_dates, sorted_dates[stop], side="left")
            if start == 0 or stop <= start:
                raise LeadDataError(f"leads: too few distinct '{self.date_column}' dates for "
                                    f"{self.n_splits} time-ordered folds; use fewer folds")
            yield order[:start], order[start:stop]

    def __repr__(self) -> str:
        return f"TimeOrderedSplit(n_splits={self.n_splits}, date_column={self.date_column!r})"
