"""What a score export contains: columns, table names and risk tiers.

Two kinds of export share one machinery:

* ``churn``: one row per active account, from a renewal model. Higher
  probability = more risk of churn.
* ``lead``: one row per open lead, from a lead model. Higher ``p_convert`` and
  ``score`` = better lead (more likely to convert); grade A is best.

Risk tiers (churn only) cut ``p_churn_horizon`` (churn within the horizon,
12 months by default): ``high`` >= 0.40, ``medium`` >= 0.15, ``low`` below.
Pass ``risk_cutoffs=(medium, high)`` to change them.

Examples
--------
>>> import numpy as np
>>> risk_tier(np.array([0.05, 0.2, 0.9])).tolist()
['low', 'medium', 'high']
>>> SPECS["churn"].latest_table, SPECS["lead"].history_table
('churn_scores', 'lead_score_history')
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RISK_CUTOFFS = (0.15, 0.40)
RISK_TIERS = ("low", "medium", "high")
CHUNKSIZE = 100_000  # rows per chunk: ~50 MB working memory for a renewal model


@dataclass(frozen=True)
class ExportSpec:
    """Layout of one kind of score export.

    ``columns`` maps output column -> kind (``int``, ``float``, ``str``,
    ``date``, ``bool``); the same layout is used for files and tables.
    """

    kind: str            # churn | lead
    model_kind: str      # renewal | lead (the model file's ``kind``)
    id_column: str
    columns: dict
    latest_table: str
    history_table: str
    rejects_table: str
    default_input_table: str
    probability: str     # the score column a row needs to be exported
    group_column: str    # counted in the summary: risk tiers (churn) or grades (lead)

    @property
    def rejects_columns(self) -> dict:
        return {"row_number": "int", self.id_column: "str", "as_of": "date",
                "model_name": "str", "model_id": "str", "reason": "str", "field": "str",
                "value": "str"}


_MODEL = {"as_of": "date", "model_name": "str", "model_id": "str", "model_version": "str"}

SPECS = {
    "churn": ExportSpec(
        "churn", "renewal", "account_id",
        {"account_id": "int", **_MODEL, "next_renewal_date": "date",
         "p_churn_next_renewal": "float", "horizon_months": "int", "p_churn_horizon": "float",
         "expected_remaining_months": "float", "beyond_followup": "bool", "risk_tier": "str",
         "reasons": "str"},
        "churn_scores", "churn_score_history", "churn_score_rejects", "account_features",
        "p_churn_horizon", "risk_tier"),
    "lead": ExportSpec(
        "lead", "lead", "lead_id",
        {"lead_id": "int", **_MODEL, "p_convert": "float", "score": "float", "grade": "str",
         "reasons": "str"},
        "lead_scores", "lead_score_history", "lead_score_rejects", "leads", "p_convert",
        "grade"),
}


def spec_for_model(model) -> ExportSpec:
    """The export layout for a loaded model (by its protocol ``kind``)."""
    for spec in SPECS.values():
        if getattr(model, "kind", None) == spec.model_kind:
            return spec
    raise ValueError(f"cannot export scores of a model of kind {getattr(model, 'kind', None)!r}"
                     " (expected 'renewal' or 'lead')")


def risk_tier(p_churn, cutoffs=RISK_CUTOFFS) -> np.ndarray:
    """``low`` / ``medium`` / ``high`` from churn probabilities (higher = more risk)."""
    # three label objects shared by all rows (np.select of text made a new string per row)
    return _TIERS[risk_levels(p_churn, cutoffs)]


def risk_levels(p_churn, cutoffs=RISK_CUTOFFS) -> np.ndarray:
    """The index of each row's tier in :data:`RISK_TIERS` (int8): :func:`risk_tier` as codes.

    >>> pd.Categorical.from_codes(risk_levels([0.05, 0.9]), RISK_TIERS).tolist()
    ['low', 'high']
    """
    medium, high = cutoffs
    if not 0 <= medium <= high <= 1:
        raise ValueError(f"risk_cutoffs must satisfy 0 <= medium <= high <= 1, got {cutoffs}")
    p = np.asarray(p_churn, dtype=float)
    level = (p >= medium).astype(np.int8)
    level += p >= high
    return level


_TIERS = np.array(RISK_TIERS, dtype=object)


class ExportError(ValueError):
    """An input or output of a score export cannot be used (one-line message)."""


_PANDAS_KIND = {"int": "int64", "float": "float64", "bool": "bool"}


def typed_frame(df, columns: dict, categories: bool = False):
    """Select ``columns`` (name -> kind) from ``df`` in order and cast to their kinds.

    Text is an object array, ``None`` where empty. ``categories=True`` keeps a text
    Categorical one (each distinct text held once, empty text a missing code), for the
    destinations that take it as it is (:class:`.destinations.FileDestination`; the others
    turn it into text: :func:`plain_text`).

    >>> df = pd.DataFrame({"r": pd.Categorical(["a", "", "a"])})
    >>> typed_frame(df, {"r": "str"})["r"].tolist()
    ['a', None, 'a']
    >>> typed_frame(df, {"r": "str"}, categories=True)["r"].cat.codes.tolist()
    [1, -1, 1]
    """
    out = {}
    for name, kind in columns.items():
        s = df[name]
        if kind == "str" and _text_categorical(s):
            c = _blank_as_missing(s.array)
            out[name] = c if categories else _object_text(c)
            continue
        if kind == "date":
            s = s if s.dtype.kind == "M" else pd.to_datetime(s)
            if isinstance(s.dtype, np.dtype):  # naive: truncate to the day in numpy (fast)
                out[name] = s.to_numpy(dtype="datetime64[ns]").astype(
                    "datetime64[D]").astype("datetime64[ns]")
                continue
            s = s.dt.normalize()
        elif kind == "str":
            a = s.to_numpy(dtype=object)
            # empty text is NULL everywhere; all-text columns (the usual) skip the isna scan
            only_text = pd.api.types.infer_dtype(a, skipna=False) in ("string", "empty")
            blank = (a == "") if only_text else (pd.isna(a) | (a == ""))
            if blank.any():
                a = a.copy()
                a[blank] = None
            out[name] = a
            continue
        else:
            s = s.astype(_PANDAS_KIND[kind])
        out[name] = s.to_numpy()
    # copy=False: the columns as they are, not consolidated into 2-D blocks (a copy of
    # every number that the destinations split into columns again)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)), copy=False)


def _text_categorical(s) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) and (
        s.dtype.categories.inferred_type in ("string", "empty"))  # cached by the index


def _blank_as_missing(c: pd.Categorical) -> pd.Categorical:
    """The empty text as a missing code (empty text is NULL everywhere)."""
    where = np.flatnonzero(c.categories == "")
    if not len(where):
        return c
    codes = c.codes
    return pd.Categorical.from_codes(np.where(codes == where[0], -1, codes), c.categories)


def _object_text(c: pd.Categorical) -> np.ndarray:
    """Object array of a text Categorical, ``None`` where missing (one object per text)."""
    labels = np.append(np.asarray(c.categories, dtype=object), None)
    return labels[c.codes]  # code -1: the None at the end


def plain_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text Categorical as an object array (``None`` where missing)."""
    cats = [c for c in df.columns if _text_categorical(df[c])]
    if not cats:
        return df
    return pd.DataFrame({c: _object_text(df[c].array) if c in cats else df[c]
                         for c in df.columns}, index=df.index, copy=False)
