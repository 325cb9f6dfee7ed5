"""Reasons behind a churn score, in words a customer-success manager reads.

Each covariate's contribution to an account's log-hazard is
``(x_j - mean_j) * beta_j`` (categoricals: summed over their levels), so the
reasons compare the account with the average training customer. The covariates
with the largest positive contributions push risk up; the most negative push it
down. Phrases describe the account's own value ("usage fell 40% in 3 months",
"3 unresolved tickets in 6 months", "price 25% above tier median").

Vectorised: every phrase is formatted once per distinct (rounded) value, never
once per account, and every joined text once per distinct combination
(:func:`reason_categories` keeps them so: a Categorical, no string per account).

Examples
--------
>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"sales_overpromised": [True, False],
...                    "logins_trend": [np.log(0.6), 0.0]})
>>> contrib = np.array([[0.8, 0.5], [-0.1, 0.0]])
>>> reason_texts(df, ["sales_overpromised", "logins_trend"], contrib).tolist()
['sales over-promised; usage fell 40% in 3 months', '']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_EFFECT = 0.05  # log-hazard units: a covariate must move risk by ~5% to be named

TIER_WORDS = {"KA": "key account", "mid": "mid-market customer", "SMB": "small business"}
CHANNEL_WORDS = {"bidding": "acquired via search ads (bidding)", "referral": "came by referral",
                 "content": "acquired via content", "events": "acquired at an event",
                 "partner": "acquired via a partner", "offline_bd": "acquired via offline BD"}


def _by_value_(values, phrase, codes: bool = False):
    """Apply ``phrase`` once per distinct value and spread the results.

    With ``codes=True`` return ``(texts, inverse)`` instead: the phrase of each
    distinct value and, per row, the index of its phrase. A categorical Series
    is phrased once per category (its labels as text, a missing value as "nan").
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        inv = values.cat.codes.to_numpy().astype(np.int64)
        uniq = [str(c) for c in values.cat.categories] + ["nan"]  # code -1: missing
        inv[inv < 0] = len(uniq) - 1
    else:
        values = np.asarray(values)
        if len(values) == 0:
            return ([], np.zeros(0, np.int64)) if codes else np.zeros(0, dtype=object)
        inv, uniq = pd.factorize(values, sort=True)  # hashing: no sort of all rows
        uniq = np.asarray(uniq).tolist()
    texts = [phrase(u) for u in uniq]
    if codes:
        return texts, inv.ravel()
    return np.array(texts, dtype=object)[inv.ravel()]


def _text(s: pd.Series):
    """Labels as text for :func:`_by_value_`: a categorical as it is (phrased once per
    category), anything else as ``astype(str)``."""
    return s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype(str)


def _pct(x) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=float) * 100).astype(np.int64)


def _change(v, what):
    if v < 0:
        return f"{what} fell {-v}% in 3 months"
    return f"{what} rose {v}% in 3 months" if v > 0 else f"{what} steady over 3 months"


def _count(k, one, many):
    return f"no {many}" if k == 0 else (f"1 {one}" if k == 1 else f"{k} {many}")


def phrases(df: pd.DataFrame, name: str, rows: np.ndarray, codes: bool = False):
    """Words describing covariate ``name`` for the accounts at positions ``rows``.

    ``codes=True``: ``(texts, inverse)`` as :func:`_by_value` gives them.
    """
    def _by_value(values, phrase):
        return _by_value_(values, phrase, codes)
    rows = np.asarray(rows)
    whole = len(rows) == len(df) and bool(np.all(rows[1:] > rows[:-1]))  # every row, in order
    s = df[name] if whole else df[name].iloc[rows]
    if name == "tier":
        return _by_value(_text(s), lambda v: TIER_WORDS.get(v, f"tier {v}"))
    if name == "acquisition_channel":
        return _by_value(_text(s), lambda v: CHANNEL_WORDS.get(v, f"acquired via {v}"))
    if name == "industry":
        return _by_value(_text(s), lambda v: f"industry: {v.replace('_', ' ')}")
    if name == "region":
        return _by_value(_text(s), lambda v: f"{v} region")
    if name == "contract_term":
        return _by_value(_text(s), lambda v: f"{v} contract" if v != "none" else
                         "no contract")
    if name == "sales_overpromised":
        return _by_value(s.astype(bool), lambda v: "sales over-promised" if v else
                         "no over-promise at sale")
    if name == "onboarding_completed":
        return _by_value(s.astype(bool), lambda v: "onboarding completed" if v else
                         "onboarding not completed")
    x = s.to_numpy(dtype=float)
    if name == "log_seats":
        return _by_value(np.rint(np.exp(x)).astype(np.int64), lambda v: _count(v, "seat", "seats"))
    if name == "price_vs_tier_median":
        return _by_value(_pct(np.expm1(x)), lambda v: (
            f"price {abs(v)}% {'above' if v > 0 else 'below'} tier median" if v else
            "price at tier median"))
    if name == "logins_trend":
        return _by_value(_pct(np.expm1(x)), lambda v: _change(v, "usage"))
    if name == "key_feature_adoption_3m":
        return _by_value(_pct(x), lambda v: f"key-feature adoption {v}% (3 months)")
    if name == "active_seat_share_3m":
        return _by_value(_pct(x), lambda v: f"{v}% of seats active (3 months)")
    if name == "unresolved_share_6m":
        if "unresolved_tickets_6m" in df:
            k = df["unresolved_tickets_6m"].to_numpy()[rows].astype(np.int64)
            return _by_value(k, lambda v: _count(v, "unresolved ticket", "unresolved tickets")
                             + " in 6 months")
        return _by_value(_pct(x), lambda v: f"{v}% of tickets unresolved (6 months)")
    if name == "bot_escalations_6m":
        return _by_value(np.rint(x).astype(np.int64), lambda v: _count(
            v, "bot escalation", "bot escalations") + " in 6 months")
    if name == "active_seat_share_1m":
        return _by_value(_pct(x), lambda v: f"{v}% of seats active last month")
    if name == "seat_share_trend":
        return _by_value(_pct(x), lambda v: (
            f"active seats {'down' if v < 0 else 'up'} {abs(v)} points in 3 months" if v
            else "active seats steady"))
    if name == "inactive_months":
        return _by_value(np.rint(x).astype(np.int64), lambda v: _count(
            v, "month without a login", "months without a login"))
    if name == "unresolved_share_to_date":
        return _by_value(_pct(x), lambda v: f"{v}% of tickets unresolved (to date)")
    if name == "unresolved_tickets_6m":
        return _by_value(np.rint(x).astype(np.int64), lambda v: _count(
            v, "unresolved ticket", "unresolved tickets") + " in 6 months")
    if name == "tickets_per_seat_6m":
        return _by_value(np.round(x, 1), lambda v: f"{v:g} tickets per seat in 6 months")
    if name == "log_arr_change":
        return _by_value(_pct(np.expm1(x)), lambda v: (
            f"contract value {'up' if v > 0 else 'down'} {abs(v)}% since the first contract"
            if v else "contract value unchanged since the first contract"))
    if name == "active_seat_share_12m":
        return _by_value(_pct(x), lambda v: f"{v}% of seats active (12 months)")
    if name == "key_feature_adoption_12m":
        return _by_value(_pct(x), lambda v: f"key-feature adoption {v}% (12 months)")
    if name == "peer_churn_3m":
        return _by_value(np.round(x * 100, 1), lambda v: (
            f"{v:g}% of peers in the industry churned in 3 months (competitor wave?)"))
    if name == "tenure_at_month_start":
        return _by_value(np.rint(x).astype(np.int64), lambda v: _count(
            v, "month as a customer", "months as a customer"))
    if name == "months_since_last_order":
        return _by_value(np.rint(x).astype(np.int64), lambda v: f"{v} months since last order")
    if s.dtype.kind in "fiu":
        return _by_value(np.round(x, 2), lambda v: f"{name} = {v:g}")
    return _by_value(_text(s), lambda v: f"{name}: {v}")


def _strongest(work: np.ndarray, k: int, min_effect: float) -> np.ndarray:
    """``(k, n)``: the column of each row's r-th largest value above ``min_effect``, -1 if
    none; ties go to the lower column, a NaN ranks first and is never named (as ``k``
    passes of ``argmax``, blanking each pick, give it).

    In blocks of rows laid out one covariate per row, so the maximum and where it
    lies are elementwise passes over contiguous memory, not a loop per row.
    """
    n, m = work.shape
    out = np.empty((k, n), np.int64)
    lo = np.float32(min_effect)
    for a in range(0, n, _BLOCK):
        W = np.array(work[a:a + _BLOCK].T, dtype=np.float32, order="C")  # a copy: blanked
        b = W.shape[1]
        flat, at = W.reshape(-1), np.arange(b)
        odd = None
        for r in range(k):
            t = W.max(axis=0)
            if r == 0 and np.isnan(t).any():       # rows holding a NaN: argmax's order
                odd = np.flatnonzero(np.isnan(t))
                odd_picks = _strongest_argmax(W[:, odd].T, k, lo)
            j = np.full(b, m - 1, np.int64)
            for c in range(m - 2, -1, -1):          # the first column holding the maximum
                np.copyto(j, c, where=W[c] == t)
            out[r, a:a + b] = np.where(t > lo, j, -1)
            if r < k - 1:
                flat[j * b + at] = -np.inf          # a named covariate is named once per row
        if odd is not None:
            out[:, a + odd] = odd_picks
    return out


_BLOCK = 16_384  #: rows per block of :func:`_strongest` (its copy stays in the cache)


def _strongest_argmax(work: np.ndarray, k: int, lo) -> np.ndarray:
    """:func:`_strongest` by ``k`` passes of ``argmax`` (for the few rows holding a NaN)."""
    work = np.array(work, dtype=np.float32)
    every = np.arange(len(work))
    out = np.empty((k, len(work)), np.int64)
    for r in range(k):
        j = work.argmax(axis=1)
        out[r] = np.where(work[every, j] > lo, j, -1)
        work[every, j] = -np.inf
    return out


def reason_texts(df: pd.DataFrame, names, contrib: np.ndarray, top: int = 3,
                 direction: int = 1, min_effect: float = MIN_EFFECT) -> np.ndarray:
    """The ``top`` covariates pushing risk up (``direction=1``) or down (``-1``), "; "-joined.

    Parameters
    ----------
    df : DataFrame
        The scored rows (covariate values, for the words).
    names : list of str
        Covariate of each column of ``contrib``.
    contrib : ndarray (n, len(names))
        Log-hazard contributions; positive = more risk. Compared as float32.

    Returns
    -------
    ndarray of str, most important first; "" when nothing moves risk by
    more than ``min_effect``. Ties go to the covariate listed first.
    """
    texts, codes = _reason_codes(df, names, contrib, top, direction, min_effect)
    return np.array(texts, dtype=object)[codes]


def reason_categories(df: pd.DataFrame, names, contrib: np.ndarray, top: int = 3,
                      direction: int = 1, min_effect: float = MIN_EFFECT,
                      blank=None) -> pd.Categorical:
    """:func:`reason_texts` as a Categorical: each distinct text held once, in sorted
    order, and a code per row (no Python string per row).

    ``blank``: optional boolean mask of rows given ``""`` instead (e.g. churned
    accounts). The texts are exactly those of :func:`reason_texts`.

    >>> df = pd.DataFrame({"sales_overpromised": [True, False, True]})
    >>> c = reason_categories(df, ["sales_overpromised"], np.array([[0.8], [0.0], [0.8]]),
    ...                       blank=np.array([False, False, True]))
    >>> c.tolist(), list(c.categories)
    (['sales over-promised', '', ''], ['', 'sales over-promised'])
    """
    texts, codes = _reason_codes(df, names, contrib, top, direction, min_effect)
    if blank is not None and np.any(blank):
        if "" not in texts:
            texts = [*texts, ""]
        codes = np.where(np.asarray(blank, bool), texts.index(""), codes)
    # the texts some row has, sorted (sort_values orders the rows as text)
    used = np.flatnonzero(np.bincount(codes, minlength=len(texts)))
    rank = used[np.argsort(np.array(texts, dtype=object)[used])]
    where = np.zeros(len(texts), np.int32)
    where[rank] = np.arange(len(rank), dtype=np.int32)
    return pd.Categorical.from_codes(where[codes], [texts[i] for i in rank])


def _reason_codes(df, names, contrib, top, direction, min_effect) -> tuple[list, np.ndarray]:
    """``(texts, codes)``: the distinct reason texts (each once) and, per row, the index
    of its text (:func:`reason_texts`)."""
    n = len(df)
    contrib = np.asarray(contrib)
    if n == 0 or contrib.shape[1] == 0:
        return [""], np.zeros(n, np.int64)
    m = contrib.shape[1]
    k = min(top, m)
    work = contrib.astype(np.float32, copy=False)
    picked = _strongest(work if direction == 1 else direction * work, k, min_effect)
    # phrases once per covariate, for all the rows that name it at any rank
    vocab: dict[str, int] = {}                  # phrase -> id (0 = nothing named)
    ids = np.zeros(k * n, dtype=np.int64)       # rank-major: ids[r * n + row]
    flat = picked.reshape(-1)
    col = np.where(flat < 0, m, flat).astype(np.uint16 if m < 65535 else np.int64)
    order = np.argsort(col, kind="stable")      # radix sort: by covariate, positions sorted
    counts = np.bincount(col, minlength=m + 1)[:m]
    ends = np.cumsum(counts)
    for c in np.flatnonzero(counts):
        pos = order[ends[c] - counts[c]:ends[c]]
        texts, inv = phrases(df, names[c], pos % n, codes=True)
        lut = np.array([vocab.setdefault(t, len(vocab) + 1) for t in texts])
        ids[pos] = lut[inv]
    ids = ids.reshape(k, n)
    # join once per distinct combination of phrases, not once per account
    base = len(vocab) + 1
    if base ** k < 2 ** 62:
        key = ids[0].copy()
        for r in range(1, k):
            key *= base
            key += ids[r]
        inv, uniq = pd.factorize(key)           # hashing, no sort of all rows
        combos = np.stack([(uniq // base ** (k - 1 - r)) % base for r in range(k)], axis=1)
    else:  # pragma: no cover - a vocabulary of millions of phrases
        combos, inv = np.unique(ids.T, axis=0, return_inverse=True)
    words = [""] + list(vocab)
    joined = ["; ".join(words[i] for i in row if i) for row in combos.tolist()]
    # distinct combinations join to distinct texts unless a phrase holds "; ": made unique
    first: dict[str, int] = {}
    lut = np.array([first.setdefault(t, len(first)) for t in joined], dtype=np.int64)
    return list(first), lut[inv.ravel()]
