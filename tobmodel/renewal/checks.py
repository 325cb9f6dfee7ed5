"""Checks of survival frames, written once for every renewal model and analysis.

Kaplan-Meier and log-rank (:mod:`.descriptive`), the Cox and AFT models and
the repurchase-gap model all need positive finite durations and 0/1 events;
their inputs come from :func:`tobmodel.survival_view`,
:func:`~tobmodel.renewal.build_account_features` or
:func:`~tobmodel.renewal.order_gaps`. Numbers follow the vocabulary of
:mod:`tobmodel.io.values` (an infinite tenure is refused, not scored).

Examples
--------
>>> import pandas as pd
>>> d, e = check_durations_events(pd.DataFrame({"tenure_months": [3.0, 12.0],
...                                             "churned": [1, 0]}))
>>> d.tolist(), e.tolist()
([3.0, 12.0], [1, 0])
>>> check_durations_events(pd.DataFrame({"account_id": [7], "tenure_months": [float("inf")],
...                                      "churned": [0]}), source="view")
Traceback (most recent call last):
...
ValueError: view: tenure_months must be a positive number of months; 1 rows are not (account_id 7, values inf)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.values import check_param, check_range, check_zero_one, show_ids

EVENT_RULE = "0 (still a customer) or 1 (churned)"


def check_penalizer(penalizer, l1_ratio=0.0) -> None:
    """A lifelines penalty: ``penalizer >= 0`` and ``l1_ratio`` in [0, 1]."""
    check_param("penalizer", penalizer, 0)
    check_param("l1_ratio", l1_ratio, 0, 1)


def check_durations_events(df: pd.DataFrame, duration_col: str = "tenure_months",
                           event_col: str = "churned", source: str = "survival view", *,
                           max_duration: float | None = None, event_rule: str = EVENT_RULE,
                           advice: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Durations (finite, > 0, at most ``max_duration``) and 0/1 events as numpy arrays.

    Raises ValueError naming the column, the count, example accounts and values.
    """
    rule = ("a positive number of months" if max_duration is None
            else f"in (0, {max_duration:g}]")
    d = check_range(df, duration_col, rule, 0.0, np.inf if max_duration is None
                    else max_duration, source=source, advice=advice)
    e = check_zero_one(df, event_col, event_rule, source=source)
    return d, e


def check_missing(df: pd.DataFrame, columns, source: str = "features") -> None:
    """Refuse missing (and infinite) values in model inputs, naming the column and accounts."""
    for c in columns:
        s = df[c]
        na = s.isna().to_numpy(dtype=bool)
        if na.any():
            raise ValueError(
                f"{source}: column {c!r} has {int(na.sum())} missing values "
                f"({show_ids(df, na)}); fill them (e.g. with the median) or drop "
                "those rows before fitting or scoring")
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            inf = np.isinf(s.to_numpy(dtype="float64", na_value=np.nan))
            if inf.any():
                raise ValueError(f"{source}: column {c!r} has {int(inf.sum())} infinite values "
                                 f"({show_ids(df, inf)}); a model input must be a finite number")
