"""Drift of features and scores: against the training data and against last week.

Every comparison is a population stability index (PSI) over fixed bins of a
*reference*: the training profile saved in the model file
(``doc["reference_profile"]``, :func:`tobmodel.io.profile.reference_profile`)
or last week's scores (bins at last week's deciles). Reading of the index
(:func:`tobmodel.io.profile.psi_status`):

========  ==========  =================================================
PSI       status      what to do
========  ==========  =================================================
< 0.10    ``stable``  nothing
0.10-0.25 ``watch``   look at the feature; note it in the weekly review
> 0.25    ``shift``   the population moved: check the data, consider a refit
========  ==========  =================================================

Examples
--------
>>> import numpy as np, pandas as pd
>>> from tobmodel.io.profile import reference_profile
>>> rng = np.random.default_rng(1)
>>> train = pd.DataFrame({"seats": rng.lognormal(3, 1, 4000),
...                       "tier": rng.choice(["KA", "mid", "SMB"], 4000)})
>>> now = train.assign(seats=train["seats"] * 3)          # planted shift in seats only
>>> t = drift_table(reference_profile(train, ["seats", "tier"]), now)
>>> t[["feature", "status"]].to_dict("records")
[{'feature': 'seats', 'status': 'shift'}, {'feature': 'tier', 'status': 'stable'}]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.profile import (PSI_SHIFT, PSI_WATCH, ProfileCounts, bin_labels, profile_entry, psi,
                          psi_status)

__all__ = ["drift_table", "score_drift", "DRIFT_COLUMNS", "PSI_WATCH", "PSI_SHIFT",
           "psi_status", "worst_status"]

DRIFT_COLUMNS = ("against", "feature", "kind", "psi", "status", "n_reference", "n_current",
                 "largest_change")


def _largest_change(entry: dict, counts: np.ndarray) -> str:
    """The bin whose share moved most, e.g. ``'SMB: 31% -> 58%'``."""
    ref = np.asarray(entry["shares"], float)
    cur = counts / counts.sum() if counts.sum() else np.zeros_like(ref)
    i = int(np.argmax(np.abs(cur - ref)))
    return f"{bin_labels(entry)[i]}: {ref[i]:.0%} -> {cur[i]:.0%}"


def _rows(against: str, entries: dict, counts: dict) -> list[dict]:
    rows = []
    for name, entry in entries.items():
        c = counts[name]
        value = psi(entry["shares"], c)
        rows.append({"against": against, "feature": name, "kind": entry["type"],
                     "psi": value, "status": psi_status(value),
                     "n_reference": int(entry.get("n", 0)), "n_current": int(c.sum()),
                     "largest_change": _largest_change(entry, c) if c.sum() else ""})
    return rows


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(DRIFT_COLUMNS)).astype(
        {"psi": float, "n_reference": "int64", "n_current": "int64"})


def drift_table(profile: dict, features: pd.DataFrame | None = None, scores=None, *,
                counts: ProfileCounts | None = None, against: str = "training") -> pd.DataFrame:
    """PSI of every profiled feature (and the score) against a reference profile.

    Parameters
    ----------
    profile : dict
        A reference profile (the model file's ``reference_profile``).
    features : DataFrame, optional
        This week's rows (e.g. the active accounts' features). Features of the
        profile missing from the frame are left out.
    scores : array-like, optional
        This week's scores of the same rows, compared with the profile's
        ``score`` entry (when the profile has one).
    counts : ProfileCounts, optional
        Counts already accumulated (the weekly job counts chunk by chunk),
        instead of ``features`` / ``scores``.
    against : str
        Label of the reference in the ``against`` column.

    Returns
    -------
    DataFrame
        One row per feature (and ``score`` last): ``against, feature, kind, psi,
        status, n_reference, n_current, largest_change``, features sorted by
        PSI, largest first.
    """
    if counts is None:
        counts = ProfileCounts(profile)
        if features is not None:
            counts.add(features[[c for c in counts.entries if c in features.columns]], scores)
        elif scores is not None:
            counts.add(pd.DataFrame(index=range(len(scores))), scores)
    seen = {k: v for k, v in counts.counts.items() if v.sum() > 0}
    rows = _rows(against, {k: counts.entries[k] for k in seen}, seen)
    rows.sort(key=lambda r: -r["psi"] if np.isfinite(r["psi"]) else 0.0)
    if counts.score_entry is not None and counts.score_counts.sum() > 0:
        entry = counts.score_entry
        rows += _rows(against, {"score": entry}, {"score": counts.score_counts})
        rows[-1]["feature"] = f"score ({entry.get('column') or 'score'})"
    return _frame(rows)


def score_drift(previous, current, *, bins: int = 10, against: str = "last week",
                label: str = "score") -> pd.DataFrame:
    """PSI of this week's scores against last week's (bins at last week's deciles).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> last = rng.beta(2, 8, 3000)
    >>> score_drift(last, rng.beta(2, 8, 3000))["status"].item()
    'stable'
    >>> score_drift(last, rng.beta(4, 6, 3000))["status"].item()
    'shift'
    """
    entry = profile_entry(np.asarray(previous, float), bins, "numeric")
    c = ProfileCounts({"features": {label: entry}})
    c.add(pd.DataFrame({label: np.asarray(current, float)}))
    return _frame(_rows(against, {label: entry}, c.counts))


def worst_status(table: pd.DataFrame) -> str:
    """The worst status in a drift table: ``shift`` > ``watch`` > ``stable`` (``n/a`` if empty)."""
    for s in ("shift", "watch", "stable"):
        if (table["status"] == s).any():
            return s
    return "n/a"
