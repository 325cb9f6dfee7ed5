"""Harrell's and Uno's concordance in O(n sqrt n), vectorised, with case weights.

scikit-survival's ``concordance_index_censored`` / ``concordance_index_ipcw``
take about a second on 10,000 accounts; a bootstrap needs hundreds of them.
These give the same numbers (tested against scikit-survival) from one
per-account count of the comparable pairs, computed by blocks of sqrt(n)
accounts sorted by time, and accept bootstrap weights (a resample is a vector
of counts, not a copy of the data).

A pair (i, j) is comparable when i's churn was observed at ``t_i < t_j``; it
is concordant when i's risk is higher, a tie (counted 1/2) when equal. Uno's
C weighs the pairs of i by ``1 / G(t_i)^2`` (G: Kaplan-Meier of the censoring,
from ``survival_train``) and keeps only ``t_i < tau``.

Examples
--------
>>> t = np.array([1.0, 2, 3, 4]); e = np.array([1, 1, 0, 1]); risk = np.array([4, 3, 2, 1.0])
>>> harrell_c(t, e, risk)
1.0
>>> harrell_c(t, e, -risk)
0.0
"""
from __future__ import annotations

import numpy as np


class PairCounter:
    """Comparable-pair counts of one (time, event, risk) set, for any case weights.

    The sort by time is done once; :meth:`counts` then costs two small cumulative
    sums per weight vector (a bootstrap replicate).
    """

    def __init__(self, time, event, risk, censored_ties: bool = False):
        t = np.asarray(time, float)
        r = np.asarray(risk, float)
        e = np.asarray(event).astype(np.int64)
        n = self.n = len(t)
        self.order = order = np.lexsort((r, e, -t))   # time descending, censored first
        ts, rs, es = t[order], r[order], e[order]
        new = np.r_[True, ts[1:] != ts[:-1]]
        if censored_ties:
            new |= np.r_[True, es[1:] != es[:-1]]
        self.first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
        self.ranks = np.unique(rs, return_inverse=True)[1].ravel()
        self.n_ranks = int(self.ranks.max()) + 1 if n else 0
        self.b = b = max(1, int(np.sqrt(n)))
        self.block = np.arange(n) // b
        self.fb = self.first // b
        cols = self.fb[:, None] * b + np.arange(b)[None, :]
        self.inside = cols < self.first[:, None]
        self.cols = np.minimum(cols, n - 1)
        rr = self.ranks[self.cols]
        self.lt = self.inside & (rr < self.ranks[:, None])
        self.eq = self.inside & (rr == self.ranks[:, None])

    def counts(self, weight=None):
        """(all, lower risk, equal risk) weighted counts per account, in input order."""
        n, b = self.n, self.b
        ws = np.ones(n) if weight is None else np.asarray(weight, float)[self.order]
        n_blocks = -(-n // b)
        width = self.n_ranks + 1
        cnt = np.bincount((self.block + 1) * width + self.ranks + 1, ws,
                          (n_blocks + 1) * width).reshape(n_blocks + 1, width)
        pre = np.cumsum(np.cumsum(cnt, axis=1), axis=0)
        fb, rk = self.fb, self.ranks
        wr = ws[self.cols]
        less = pre[fb, rk] + (wr * self.lt).sum(axis=1)
        tie = pre[fb, rk + 1] - pre[fb, rk] + (wr * self.eq).sum(axis=1)
        total = pre[fb, self.n_ranks] + (wr * self.inside).sum(axis=1)
        out = np.empty((3, n))
        out[:, self.order] = np.vstack([total, less, tie])
        return out


def pair_counts(time, event, risk, weight=None, censored_ties: bool = False):
    """Per account i: weighted counts over j with ``t_j > t_i`` of (all, risk_j < risk_i,
    risk_j == risk_i). Every account gets counts; only those with an event are used.

    ``censored_ties``: also count j censored at ``t_j == t_i`` (Harrell's convention,
    as in scikit-survival's ``concordance_index_censored``).
    """
    return PairCounter(time, event, risk, censored_ties).counts(weight)


def c_from_counts(counts, pair_weight) -> float:
    """Concordance from :meth:`PairCounter.counts` and the weight of each i's pairs."""
    total, less, tie = counts
    den = float(pair_weight @ total)
    return float(pair_weight @ (less + 0.5 * tie)) / den if den > 0 else float("nan")


def harrell_c(time, event, risk, weight=None) -> float:
    """Harrell's concordance of ``risk`` (higher = earlier churn) with observed times."""
    e = np.asarray(event).astype(bool)
    w = np.ones(len(e)) if weight is None else np.asarray(weight, float)
    return c_from_counts(pair_counts(time, event, risk, weight, censored_ties=True), w * e)


def censoring_survival(time_train, event_train):
    """Kaplan-Meier of the censoring times (``event == 0``) as (times, G just after t)."""
    t = np.asarray(time_train, float)
    c = ~np.asarray(event_train).astype(bool)
    u, idx = np.unique(t, return_inverse=True)
    d = np.bincount(idx, weights=c.astype(float), minlength=len(u))
    at_risk = len(t) - np.r_[0, np.cumsum(np.bincount(idx, minlength=len(u)))[:-1]]
    G = np.cumprod(1 - d / np.maximum(at_risk, 1))
    return u, G


def uno_c(time, event, risk, tau, survival_train=None, weight=None) -> float:
    """Uno's IPCW concordance truncated at ``tau``; censoring from ``survival_train``
    (``(times, events)`` of the training outcomes; default the test data itself)."""
    w = np.ones(len(np.asarray(event))) if weight is None else np.asarray(weight, float)
    return c_from_counts(pair_counts(time, event, risk, weight),
                         w * uno_weights(time, event, tau, survival_train))


def censoring_before(time, survival_train):
    """G(t-) for each t: the censoring survival just before t (scikit-survival's choice)."""
    u, G = censoring_survival(*survival_train)
    j = np.searchsorted(u, np.asarray(time, float), side="left") - 1
    return np.where(j >= 0, G[np.maximum(j, 0)], 1.0)


def uno_weights(time, event, tau, survival_train=None) -> np.ndarray:
    """Per account: 1 / G(t_i-)^2 for observed churns before ``tau``, else 0."""
    t = np.asarray(time, float)
    e = np.asarray(event).astype(bool)
    g = censoring_before(t, (t, e) if survival_train is None else survival_train)
    use = e & (t < tau) & (g > 0)
    return np.where(use, 1 / np.maximum(g, 1e-12) ** 2, 0.0)
