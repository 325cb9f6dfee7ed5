"""Per-lead output: probability, score 0-100, grade A-D and reasons.

Score and grade
---------------
``p_convert`` is the calibrated probability that the lead converts (a paying
customer; on a platform, an active merchant). The **score** ranks it against
the leads the model was trained on: score 83 means the lead out-scores 83% of
past leads (0-100, integer). **Grades** cut the score::

    A  score >= 90   top 10% of past leads: call first
    B  70 - 89       next 20%
    C  40 - 69       next 30%
    D  below 40      bottom 40%: nurture by marketing, do not call

Grades are relative, so they mean the same across business types; what a
grade converts at is measured by :func:`~tobmodel.leads.evaluate.conversion_by_grade`.

Examples
--------
>>> import numpy as np
>>> grade_from_score(np.array([95, 70, 69, 0])).tolist()
['A', 'B', 'C', 'D']
>>> grid = np.linspace(0.01, 0.5, 1000)
>>> score_from_probability(np.array([0.0, 0.26, 0.9]), grid).tolist()
[0, 51, 100]
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

__all__ = ["GRADE_CUTOFFS", "GRADES", "grade_from_score", "score_from_probability",
           "score_grid", "grid_ranks", "scored_frame"]

GRADE_CUTOFFS = {"A": 90, "B": 70, "C": 40, "D": 0}  # lowest score of each grade
GRADES = tuple(GRADE_CUTOFFS)
GRID_SIZE = 1000
CHUNK_ROWS = 16_384


def score_grid(p_train: np.ndarray, size: int = GRID_SIZE) -> np.ndarray:
    """Quantiles of the training leads' probabilities: the yardstick for scores."""
    return np.quantile(np.asarray(p_train, float), _grid_levels(size), method="inverted_cdf")


def _grid_levels(size: int) -> np.ndarray:
    """The grid's quantile levels: the middles of ``size`` equal slices."""
    return (np.arange(size) + 0.5) / size


def grid_ranks(n: int, size: int = GRID_SIZE) -> np.ndarray:
    """Ranks (0 = lowest) of the ``n`` training leads whose probabilities are the grid.

    The grid's quantiles are leads' own probabilities:
    ``score_grid(p) == np.sort(p)[grid_ranks(len(p))]``.

    >>> p = np.array([0.3, 0.1, 0.2, 0.2])
    >>> bool((np.sort(p)[grid_ranks(len(p), 3)] == score_grid(p, 3)).all())
    True
    """
    return np.quantile(np.arange(n), _grid_levels(size), method="inverted_cdf").astype(np.intp)


def score_from_probability(p: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Share of past leads (``grid`` quantiles) scoring at or below ``p``, in percent, floored."""
    below = np.searchsorted(np.asarray(grid), np.asarray(p, float), side="right")
    return (100 * below // len(grid)).astype(np.int64)


def grade_from_score(score: np.ndarray) -> np.ndarray:
    """Grade letter of each score, by :data:`GRADE_CUTOFFS`."""
    cut = np.asarray(list(GRADE_CUTOFFS.values())[::-1][1:])  # 40, 70, 90
    letters = np.asarray(GRADES[::-1])  # D, C, B, A
    return letters[np.searchsorted(cut, np.asarray(score), side="right")]


def scored_frame(ids, p, score, reasons) -> pd.DataFrame:
    """The export table: lead_id, p_convert, score, grade (ordered category), reasons."""
    return pd.DataFrame({
        "lead_id": ids,
        "p_convert": np.asarray(p, float),
        "score": np.asarray(score, np.int64),
        "grade": pd.Categorical(grade_from_score(score), categories=list(GRADES), ordered=True),
        "reasons": np.asarray(reasons, dtype=object),
    })


def chunks(n: int, progress: bool | None = None, size: int = CHUNK_ROWS,
           desc: str = "scoring leads"):
    """Row slices of at most ``size`` rows, with a progress bar only on a terminal."""
    starts = range(0, n, size)
    if progress is None:
        progress = sys.stderr.isatty() and n > 200_000
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc=desc, unit="block")
    for s in starts:
        yield slice(s, min(s + size, n))
