"""Why a lead scores high or low: per-feature effects in words.

The effect of feature f on lead i is how far the lead's probability sits above
or below what it would be if f took its usual values, everything else kept::

    effect[i, f] = p(lead i) - sum_v w_v * p(lead i with f set to v)

where v runs over the feature's categories (true/false) with weights = their
share among training leads, or is the training median for a number. Positive
effects raise the lead's score, negative ones lower it. It is computed for all
leads at once, one "what if" per feature value.

Examples
--------
>>> phrase("channel", "category", "bidding")
'came from paid bidding (SEM)'
>>> phrase("decision_maker_engaged", "bool", 0.0)
'decision maker not engaged'
>>> phrase("industry", "category", "food_service")
'industry: food service'
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["WORDS", "phrase", "reference_values", "effects", "reason_text"]

# Words for sales: category levels, (False, True) for flags, a template for numbers.
WORDS: dict[str, object] = {
    "channel": {"bidding": "came from paid bidding (SEM)",
                "referral": "came through a referral (relationship)",
                "content": "came from content marketing", "events": "came from an event or trade show",
                "partner": "came through a partner", "offline_bd": "came from offline BD"},
    "company_size": {"KA": "key account (large company)", "mid": "mid-market company",
                     "SMB": "small business"},
    "intent": {"low": "low buying intent", "medium": "medium buying intent",
               "high": "high buying intent"},
    "industry": "industry: {}",
    "region": "region: {}",
    "business_type": "business type: {}",
    "decision_maker_engaged": ("decision maker not engaged", "decision maker engaged"),
    "user_engaged": ("no end user engaged", "end user engaged"),
    "requester_engaged": ("requesting department not engaged", "requesting department engaged"),
    "budget_confirmed": ("budget not confirmed", "budget confirmed"),
    "reengaged_from_loss_pool": ("first-time lead", "came back from the loss pool"),
    "employees": "{:,.0f} employees",
    "site_visits": "{:,.0f} site visits in 14 days",
    "trial_active_days": "{:,.0f} days of demo/trial activity",
}
MIN_EFFECT = 0.005  # effects below half a percentage point are not worth a reason


def phrase(name: str, kind: str, value) -> str:
    """Words for one feature value of a lead."""
    w = WORDS.get(name)
    label = name.replace("_", " ")
    if kind == "category":
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return f"{label}: unknown"
        words = str(value).replace("_", " ")  # food_service -> food service
        if isinstance(w, dict):
            return w.get(str(value), f"{label}: {words}")
        return (w or f"{label}: {{}}").format(words)
    if kind == "bool":
        return w[int(bool(value))] if isinstance(w, tuple) else \
            (label if value else f"not {label}")
    return w.format(value) if isinstance(w, str) else f"{label} = {value:g}"


def reference_values(Z: np.ndarray, kinds) -> list[dict]:
    """Usual values of each feature among training leads: ``{"values", "weights"}``."""
    refs = []
    for j, kind in enumerate(kinds):
        z = Z[:, j][~np.isnan(Z[:, j])]
        if kind == "number" or len(z) == 0:
            refs.append({"values": [float(np.median(z)) if len(z) else 0.0], "weights": [1.0]})
            continue
        vals, counts = np.unique(z, return_counts=True)
        refs.append({"values": vals.tolist(), "weights": (counts / counts.sum()).tolist()})
    return refs


def effects(state, calibrate, p: np.ndarray, refs) -> np.ndarray:
    """Effect of each feature on each lead's probability, shape (n leads, n features)."""
    out = np.empty((len(p), len(refs)))
    for j, ref in enumerate(refs):
        alt = calibrate(state.raw_with(j, ref["values"]))
        out[:, j] = p - alt @ np.asarray(ref["weights"])
    return out


def _phrases(encoding, j: int, kind: str, z: np.ndarray) -> np.ndarray:
    """Words for feature j of every lead (formatted once per distinct value)."""
    name = encoding.names[j]
    vals, inverse = np.unique(z, return_inverse=True)  # NaN sorts last, kept once per NaN
    if kind == "category":
        cats = encoding.categories[j]
        words = [phrase(name, kind, cats[int(v)] if not np.isnan(v) else None) for v in vals]
    else:
        words = [phrase(name, kind, v) for v in vals]
    return np.asarray(words, dtype=object)[inverse.ravel()]


def reason_text(E: np.ndarray, Z: np.ndarray, encoding, kinds, n_reasons: int = 3,
                min_effect: float = MIN_EFFECT) -> np.ndarray:
    """Top reasons of each lead as ``"+ decision maker engaged; - came from paid bidding"``."""
    n = len(E)
    if n == 0 or n_reasons <= 0 or E.shape[1] == 0:
        return np.full(n, "", dtype=object)
    k = min(n_reasons, E.shape[1])
    top = np.argsort(-np.abs(E), axis=1, kind="stable")[:, :k]
    rows = np.arange(n)
    out = pd.Series([""] * n, dtype=object)
    cache = {}
    for r in range(k):
        j = top[:, r]
        e = E[rows, j]
        text = np.empty(n, dtype=object)
        for f in np.unique(j):  # one pass per feature, not per lead
            sel = j == f
            if f not in cache:
                cache[f] = _phrases(encoding, f, kinds[f], Z[:, f])
            text[sel] = cache[f][sel]
        part = pd.Series(np.where(e > 0, "+ ", "- "), dtype=object) + pd.Series(text)
        keep = pd.Series(np.abs(e) >= min_effect)
        sep = np.where((out != "") & keep, "; ", "")
        out = out + pd.Series(sep, dtype=object) + part.where(keep, "")
    return out.to_numpy()
