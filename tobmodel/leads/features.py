"""What a lead model may see: features known at scoring time, outcome labels, leakage guard.

A lead is scored soon after it registers, before anyone knows whether it will
convert. Only columns the schema marks ``known_at_scoring`` qualify; columns
filled in later (``qualified_date``, ``status``, ``outcome_date``...) would leak
the answer. :func:`check_no_leakage` refuses them by name and refuses any other
column that separates converted from lost leads almost perfectly.

Examples
--------
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=300, seed=1)
>>> closed, y, n_open = outcome_labels(sim.leads)
>>> len(closed) + n_open == len(sim.leads)
True
>>> check_no_leakage(closed, ["channel", "intent"], y)  # passes silently
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import LEADS, lead_columns_known_at_scoring

__all__ = ["DEFAULT_FEATURES", "LeakageError", "LeadDataError", "outcome_labels",
           "check_no_leakage", "feature_kinds", "check_feature_frame", "examples", "spread_rows"]

# Known at scoring, minus dates (a calendar date does not generalise to new
# leads) and business_type (constant within one business; added automatically
# when the training leads mix several business types).
DEFAULT_FEATURES: tuple[str, ...] = tuple(
    c for c in lead_columns_known_at_scoring()
    if LEADS.column(c).kind != "date" and c != "business_type")

MAX_SINGLE_FEATURE_AUC = 0.99
MAX_CATEGORIES = 255  # HistGradientBoosting's limit for a categorical column


class LeadDataError(ValueError):
    """Leads handed to a lead model cannot be used as they are."""


class LeakageError(LeadDataError):
    """A feature is known only after the lead's outcome (it would leak the answer)."""


def examples(rows, k: int = 3) -> str:
    """The first ``k`` items of ``rows`` as a short comma-separated string."""
    rows = list(rows)
    more = f", ... ({len(rows)} in all)" if len(rows) > k else ""
    return ", ".join(map(str, rows[:k])) + more


def spread_rows(n: int, k: int) -> np.ndarray:
    """At most ``k`` evenly spread positions of ``n`` rows, increasing, first and last kept.

    With at most ``n`` points the step is at least one row, so no position repeats
    (no ``np.unique``, which hashes: 0.25 s for 200,000 positions).

    >>> spread_rows(10, 4).tolist(), spread_rows(3, 5).tolist(), len(spread_rows(0, 5))
    ([0, 3, 6, 9], [0, 1, 2], 0)
    """
    return np.linspace(0, n - 1, min(n, k)).astype(np.intp) if n > 0 else np.arange(0)


def outcome_labels(leads: pd.DataFrame, source: str = "leads", columns=None):
    """Closed leads and their label (1 = converted); open leads are left out and counted.

    Parameters
    ----------
    leads : DataFrame
        Needs a ``status`` column with values converted / lost / open.
    source : str
        Name used in error messages (a table or file name).
    columns : collection of str, optional
        The columns of ``leads`` the closed leads keep (default all, in their order).

    Returns
    -------
    closed : DataFrame
        Leads whose outcome is known (converted or lost), original index kept.
    y : ndarray of int
        1 for converted, 0 for lost, aligned with ``closed``.
    n_open : int
        Number of open leads left out (outcome unknown at the as-of date).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"status": ["converted", "lost", "open", "lost"]})
    >>> closed, y, n_open = outcome_labels(df)
    >>> y.tolist(), n_open
    ([1, 0, 0], 1)
    """
    if "status" not in leads.columns:
        raise LeadDataError(f"{source}: no column 'status' (converted / lost / open): cannot "
                            "tell which leads converted")
    # each distinct status judged once (a categorical's own codes), then looked up per lead
    codes, uniques = pd.factorize(leads["status"], use_na_sentinel=True)
    uniques = pd.Index(np.asarray(uniques, dtype=object))
    def per_lead(flags):  # code -1 (missing) is last
        return np.append(np.asarray(flags, bool), False)[codes]
    known = per_lead(uniques.isin(["converted", "lost", "open"]))
    if not known.all():
        rows = np.flatnonzero(~known)
        bad = leads["status"].iloc[rows].astype("object").unique()
        raise LeadDataError(
            f"{source}: column 'status' has values other than converted/lost/open: "
            f"{examples(repr(v) for v in bad)} (rows {examples(rows + 1)})")
    is_open = per_lead(uniques == "open")
    closed = leads.loc[~is_open] if columns is None else \
        leads.loc[~is_open, leads.columns.isin(list(columns))]
    y = per_lead(uniques == "converted")[~is_open].astype(np.int64)
    return closed, y, int(is_open.sum())


def feature_kinds(leads: pd.DataFrame, features) -> dict[str, str]:
    """``{feature: 'category' | 'bool' | 'number'}`` from the schema, else from the data."""
    out = {}
    for f in features:
        if f in LEADS.names:
            kind = LEADS.column(f).kind
            out[f] = {"category": "category", "bool": "bool"}.get(kind, kind)
            if kind in ("int", "float", "id"):
                out[f] = "number"
            continue
        s = leads[f]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or \
                pd.api.types.is_string_dtype(s.dtype):
            out[f] = "category"
        elif s.dtype.kind == "b" or str(s.dtype) == "boolean":
            out[f] = "bool"
        elif s.dtype.kind in "iuf":
            out[f] = "number"
        else:
            out[f] = str(s.dtype)
    return out


def check_feature_frame(leads: pd.DataFrame, features, source: str = "leads",
                        training: bool = True) -> dict[str, str]:
    """Refuse missing columns, dates, empty values and oversized categories; return kinds."""
    missing = [f for f in features if f not in leads.columns]
    if missing:
        raise LeadDataError(f"{source}: missing feature column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(map(repr, missing))}")
    kinds = feature_kinds(leads, features)
    for f, kind in kinds.items():
        if kind not in ("category", "bool", "number"):
            raise LeadDataError(
                f"{source}: column {f!r} has type {kind}; a lead feature must be a category, "
                "true/false or a number (turn dates into e.g. days since registration)")
        s = leads[f]
        if kind != "category" and training and not (pd.api.types.is_numeric_dtype(s.dtype)
                                                    or pd.api.types.is_bool_dtype(s.dtype)):
            raise LeadDataError(  # LightGBM would read a categorical as categories
                f"{source}: column {f!r} is a {'true/false' if kind == 'bool' else kind} "
                f"feature but has type {s.dtype}; convert it (e.g. pd.to_numeric) before fitting")
        empty = s.isna().to_numpy()
        if kind != "category" and empty.any():
            raise LeadDataError(
                f"{source}: column {f!r} has {int(empty.sum())} empty values (rows "
                f"{examples(np.flatnonzero(empty) + 1)}); fill or drop them before scoring")
        if kind == "category" and training:
            if empty.any():
                raise LeadDataError(
                    f"{source}: column {f!r} has {int(empty.sum())} empty values (rows "
                    f"{examples(np.flatnonzero(empty) + 1)}); fill them (e.g. 'unknown')")
            n_levels = s.nunique()
            if n_levels > MAX_CATEGORIES:
                raise LeadDataError(
                    f"{source}: column {f!r} has {n_levels} distinct values; a categorical lead "
                    f"feature may have at most {MAX_CATEGORIES} (group the rare ones)")
    return kinds


def roc_auc(y: np.ndarray, x: np.ndarray) -> float:
    """ROC AUC of scores ``x`` for 0/1 labels ``y``, ties counted half (what
    ``sklearn.metrics.roc_auc_score`` computes), by one sort (whole-number scores:
    counted): per distinct score, its converted leads times the lost leads scored
    below it plus half those tied with it.

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y, dtype=np.int64)
    x = np.asarray(x, dtype=np.float64)
    pos, neg = _outcomes_by_value(y, x)
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))


def _both_outcomes(y: np.ndarray) -> bool:
    """Whether 0/1 labels ``y`` hold both values (``np.unique`` hashes: 12 ms per 200,000)."""
    return len(y) > 0 and y.min() != y.max()


def _outcomes_by_value(y: np.ndarray, x: np.ndarray):
    """Converted and lost leads per distinct value of ``x``, in increasing order of ``x``.

    Whole numbers within a range of 65,536 (codes, flags, counts) are counted
    (``bincount``); other values are sorted.
    """
    if len(x) and (np.ptp(x) < 65_536) and np.array_equal(x, np.floor(x)):
        k = (x - x.min()).astype(np.intp)
        n = np.bincount(k)
        pos = np.bincount(k, weights=y, minlength=len(n)).astype(np.int64)
        present = n > 0
        return pos[present], n[present] - pos[present]
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    pos = np.add.reduceat(ys, starts) if len(xs) else np.zeros(0, np.int64)
    return pos, np.diff(np.r_[starts, len(xs)]) - pos


def _single_feature_auc(s: pd.Series, y: np.ndarray) -> float:
    """How well one column alone separates converted from lost leads (0.5 = not at all)."""
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or \
            pd.api.types.is_string_dtype(s.dtype):
        if isinstance(s.dtype, pd.CategoricalDtype):  # its own codes; missing: one more
            codes = s.cat.codes.to_numpy().astype(np.int64)
            codes[codes < 0] = len(s.cat.categories)
            codes = pd.factorize(codes)[0]  # only the levels present count
        else:
            codes = pd.factorize(s.astype("object"), use_na_sentinel=False)[0]
        if codes.max(initial=0) + 1 > max(2, len(codes) // 10):
            return 0.5  # near-unique labels: an in-sample rate would separate anything
        rate = np.bincount(codes, weights=y) / np.bincount(codes)
        # the rank of the row's category by its in-sample conversion rate (equal rates tie)
        x = np.unique(rate, return_inverse=True)[1].astype(np.float64)[codes]
    elif s.dtype.kind == "M":
        x = s.to_numpy().astype("datetime64[D]").astype("float64")
        x[s.isna().to_numpy()] = np.nan
    else:
        x = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    empty = np.isnan(x)
    aucs = []
    if (~empty).sum() > 1 and _both_outcomes(y[~empty]):
        a = roc_auc(y[~empty], x[~empty])
        if (~empty).mean() >= 0.5:  # judge values only where most rows have one
            aucs.append(max(a, 1 - a))
    if empty.any() and not empty.all():
        a = roc_auc(y, empty.astype(float))
        aucs.append(max(a, 1 - a))
    return max(aucs, default=0.5)


def check_no_leakage(leads: pd.DataFrame, features, y=None, source: str = "leads",
                     max_auc: float = MAX_SINGLE_FEATURE_AUC) -> None:
    """Refuse features known only after the outcome.

    Two checks: by name (schema columns with ``known_at_scoring=False`` and ids),
    and by data (a feature that alone separates converted from lost leads with
    ROC AUC above ``max_auc``, or whose presence does, is almost surely filled
    in after the outcome).

    Parameters
    ----------
    leads : DataFrame
        Closed leads (aligned with ``y``).
    features : list of str
    y : array-like of 0/1, optional
        Converted flags; without it only the name check runs.
    source : str
        Name used in error messages.
    max_auc : float
        Largest single-feature AUC accepted.

    Raises
    ------
    LeakageError
        Naming the columns and why.

    Examples
    --------
    >>> import pandas as pd
    >>> check_no_leakage(pd.DataFrame({"status": ["lost"]}), ["status"])
    Traceback (most recent call last):
    ...
    tobmodel.leads.features.LeakageError: leads: refusing feature 'status': the schema marks it as known only after the lead's outcome (leakage)
    """
    ids = {c.name for c in LEADS.columns if c.kind == "id"}
    after = [f for f in features if f in LEADS.names and not LEADS.column(f).known_at_scoring]
    if after:
        raise LeakageError(
            f"{source}: refusing feature{'s' if len(after) > 1 else ''} "
            f"{', '.join(map(repr, after))}: the schema marks {'them' if len(after) > 1 else 'it'}"
            " as known only after the lead's outcome (leakage)")
    bad_ids = [f for f in features if f in ids]
    if bad_ids:
        raise LeakageError(f"{source}: refusing id column(s) {', '.join(map(repr, bad_ids))} "
                           "as features: ids identify leads, they do not describe them")
    if y is None:
        return
    y = np.asarray(y)
    if not _both_outcomes(y):
        return
    leaks = []
    for f in features:
        if f not in leads.columns:
            continue
        auc = _single_feature_auc(leads[f], y)
        if auc > max_auc:
            leaks.append(f"{f!r} (AUC {auc:.3f})")
    if leaks:
        raise LeakageError(
            f"{source}: refusing feature{'s' if len(leaks) > 1 else ''} {', '.join(leaks)}: "
            f"alone {'they separate' if len(leaks) > 1 else 'it separates'} converted from lost"
            f" leads almost perfectly (AUC > {max_auc}), so {'they are' if len(leaks) > 1 else 'it is'}"
            " probably filled in after the outcome (leakage); drop it or pass check_leakage=False"
            " if you are sure")
