"""Small vectorised random helpers shared by the simulator."""
from __future__ import annotations

import numpy as np
import pandas as pd


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Draw one index per row of ``probs`` (rows need not be normalised)."""
    probs = np.asarray(probs, dtype=float)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return (u[:, None] >= cum).sum(axis=1).clip(0, probs.shape[1] - 1)


def choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """n draws of category indices with the given weights."""
    w = np.asarray(weights, dtype=float)
    return np.searchsorted(np.cumsum(w) / w.sum(), rng.random(n), side="right").clip(0, len(w) - 1)


def as_category(codes: np.ndarray, labels) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(labels))


# Day number (since 1970-01-01) of the first day of each month since 1970-01.
_MONTH_START = np.arange(np.datetime64("1970-01"), np.datetime64("2170-01"),
                         dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_parts(dates: np.ndarray):
    """(month number since 1970-01, day offset within the month) of datetime64 dates."""
    d = np.asarray(dates).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    return m.astype(np.int64), (d - m.astype("datetime64[D]")).astype(np.int64)


def dates_from_parts(month_no: np.ndarray, day: np.ndarray | int = 0) -> np.ndarray:
    """datetime64[D] from month numbers and day offsets (a table look-up, no calendar maths)."""
    return (_MONTH_START[month_no] + day).astype("datetime64[D]")


def add_months(dates: np.ndarray, months) -> np.ndarray:
    """Add whole calendar months to datetime64 dates whose day is at most 28."""
    m, day = month_parts(dates)
    return dates_from_parts(m + np.asarray(months).astype(np.int64), day)


def segment_starts(lengths: np.ndarray) -> np.ndarray:
    """Start offsets of consecutive segments of the given lengths."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def within_index(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., len-1 for each segment, concatenated."""
    total = int(lengths.sum())
    starts = segment_starts(lengths)
    return np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)


def segment_cumsum(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each segment."""
    c = np.cumsum(values)
    starts = segment_starts(lengths)
    offset = np.where(starts > 0, c[np.maximum(starts - 1, 0)], 0)
    offset[starts == 0] = 0
    return c - np.repeat(offset, lengths)


def first_true(flags: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Index within each segment of the first True, or the segment length if none."""
    idx = within_index(lengths)
    big = np.where(flags, idx, np.iinfo(np.int64).max)
    starts = segment_starts(lengths)
    out = np.full(len(lengths), np.iinfo(np.int64).max, dtype=np.int64)
    nonempty = lengths > 0
    if nonempty.any():
        out[nonempty] = np.minimum.reduceat(big, starts[nonempty])
    return np.minimum(out, lengths)
