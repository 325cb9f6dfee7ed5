"""Why a lead scores high or low: per-feature effects in words.

The effect of feature f on lead i is how far the lead's probability sits above
or below what it would be if f took its usual values, everything else kept.
Positive effects raise the lead's score, negative ones lower it. It is
computed for all leads at once, in one of two ways:

* boosted trees (lead format 2): from per-feature contributions. Each tree's
  score for the lead is split along the lead's path, each split crediting its
  feature with the change of the expected score (training-count weighted),
  so ``raw = bias + sum_f c[i, f]`` in log-odds (:meth:`TreeEnsemble.contributions`).
  Removing f's contribution gives what the lead would score with a usual f::

      effect[i, f] = p(lead i) - calibrate(raw[i] - c[i, f])

  One table look-up per tree and lead: about ten times faster than the "what
  if" below, which re-scores every tree for every feature value.
* logistic models and trees saved in lead format 1 (no node counts): "what if"
  scores::

      effect[i, f] = p(lead i) - sum_v w_v * p(lead i with f set to v)

  where v runs over the feature's categories (true/false) with weights = their
  share among training leads, or is the training median for a number. For the
  logistic model this is one term per feature, already cheap.

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
        if z.min() >= 0 and z.max() < 65_536 and np.array_equal(z, np.floor(z)):
            counts = np.bincount(z.astype(np.intp))  # codes and 0/1: counted, not sorted
            vals, counts = np.flatnonzero(counts).astype(np.float64), counts[counts > 0]
        else:
            vals, counts = np.unique(z, return_counts=True)
        refs.append({"values": vals.tolist(), "weights": (counts / counts.sum()).tolist()})
    return refs


def effects(state, calibrate, p: np.ndarray, refs) -> np.ndarray:
    """Effect of each feature on each lead's probability, shape (n leads, n features)."""
    contributions = getattr(state, "contributions", None)
    c = contributions() if contributions is not None else None
    if c is not None:
        return p[:, None] - calibrate(state.raw[:, None] - c)
    out = np.empty((len(p), len(refs)))
    for j, ref in enumerate(refs):
        alt = calibrate(state.raw_with(j, ref["values"]))
        out[:, j] = p - alt @ np.asarray(ref["weights"])
    return out


def _phrase_ids(encoding, kinds, J: np.ndarray, Z: np.ndarray, vocab: list) -> np.ndarray:
    """Index into ``vocab`` of the words for feature ``J[i, r]`` of lead i (grows ``vocab``).

    Words are formatted once per distinct value of each feature, not per lead.
    """
    ids = np.empty(J.shape, np.int64)
    for f in np.unique(J):
        sel = J == f
        z = Z[np.nonzero(sel)[0], f]
        name, kind = encoding.names[f], kinds[f]
        if kind in ("category", "bool"):  # codes 0..K-1 (0/1), missing or unknown: K
            k = len(encoding.categories[f]) if kind == "category" else 2
            inverse = np.where(np.isnan(z), k, z).astype(np.int64)
            vals = [*range(k), None]
        else:  # hashing, not sorting: each distinct number once
            inverse, vals = pd.factorize(z, use_na_sentinel=False)
        if kind == "category":
            cats = encoding.categories[f]
            words = [phrase(name, kind, cats[v] if v is not None else None) for v in vals]
        else:
            words = [phrase(name, kind, float("nan") if v is None else v) for v in vals]
        ids[sel] = len(vocab) + inverse.ravel()
        vocab.extend(words)
    return ids


def reason_text(E: np.ndarray, Z: np.ndarray, encoding, kinds, n_reasons: int = 3,
                min_effect: float = MIN_EFFECT) -> np.ndarray:
    """Top reasons of each lead as ``"+ decision maker engaged; - came from paid bidding"``.

    The ``n_reasons`` largest effects (by size; ties: the feature listed first)
    with at least ``min_effect`` become words. Each distinct combination of
    reasons is written once and shared by every lead that has it.
    """
    n = len(E)
    if n == 0 or n_reasons <= 0 or E.shape[1] == 0:
        return np.full(n, "", dtype=object)
    k = min(n_reasons, E.shape[1])
    rows = np.arange(n)
    size = np.abs(E)
    J = np.empty((n, k), np.intp)
    for r in range(k):  # k largest effects in order; argmax takes the first of ties
        J[:, r] = size.argmax(axis=1)
        size[rows, J[:, r]] = -1.0
    top = E[rows[:, None], J]
    vocab: list[str] = []
    code = 2 * _phrase_ids(encoding, kinds, J, Z, vocab) + (top > 0)
    code[~(np.abs(top) >= min_effect)] = -1
    base = 2 * len(vocab) + 1
    if base ** k < 2 ** 62:
        key = np.zeros(n, np.int64)
        for r in range(k):
            key = key * base + (code[:, r] + 1)
        inverse, keys = pd.factorize(key)
        combos = np.empty((len(keys), k), np.int64)
        for r in range(k - 1, -1, -1):  # the key's digits, last reason first
            combos[:, r] = keys % base - 1
            keys = keys // base
    else:
        combos, inverse = np.unique(code, axis=0, return_inverse=True)
    signs = ("- ", "+ ")
    text = np.array(["; ".join(signs[c & 1] + vocab[c >> 1] for c in combo if c >= 0)
                     for combo in combos.tolist()] or [""], dtype=object)
    return text[inverse.ravel()]
