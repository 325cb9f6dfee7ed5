"""Is the model still fit to score this week? Age and drift against its training data.

A model is *stale* when it was fitted more than ``max_age_weeks`` before the
scoring date (``model.as_of_`` vs the run's ``as_of``), or when a feature or
the score drifted past the shift threshold (PSI > 0.25) against the training
profile in the model file. Either way the scores are still written (they are
the model's honest output), the export summary carries a warning, and when the
run was asked to (``tobmodel score --max-model-age-weeks N`` /
``--fail-on-drift``) the command exits with status :data:`EXIT_STALE` (3) so
that the scheduler raises an alert instead of a silent green tick.

Without ``--max-model-age-weeks`` a model older than
:data:`DEFAULT_WARN_AGE_WEEKS` (26 weeks) is warned about, never failed.

Examples
--------
>>> s = check_staleness("2025-06-30", "2026-03-02", max_age_weeks=26)
>>> round(s.age_weeks, 1), s.stale, s.exit_code
(35.0, True, 3)
>>> s.warnings[0]
'model fitted as of 2025-06-30 is 35.0 weeks old at as_of 2026-03-02 (limit 26 weeks): refit it'
>>> check_staleness("2025-06-30", "2025-07-07").exit_code
0
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EXIT_STALE = 3
DEFAULT_WARN_AGE_WEEKS = 26

__all__ = ["check_staleness", "Staleness", "EXIT_STALE", "DEFAULT_WARN_AGE_WEEKS"]


@dataclass
class Staleness:
    """Outcome of :func:`check_staleness`."""

    age_weeks: float | None
    warnings: list = field(default_factory=list)
    stale: bool = False          # a configured limit was passed
    drifted: list = field(default_factory=list)  # features (or score) with PSI > 0.25

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_STALE` when a configured limit was passed, else 0."""
        return EXIT_STALE if self.stale else 0


def _day(value, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise ValueError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from None


def check_staleness(model_as_of, as_of, *, max_age_weeks: float | None = None,
                    drift: pd.DataFrame | None = None, fail_on_drift: bool = False
                    ) -> Staleness:
    """Warnings (and whether to fail) for a model fitted at ``model_as_of`` scoring at ``as_of``.

    Parameters
    ----------
    model_as_of, as_of : date-like
        The date the model's training data was known up to, and the scoring date.
    max_age_weeks : float, optional
        Fail (exit 3) when the model is older than this. Default: warn above
        26 weeks, never fail on age.
    drift : DataFrame, optional
        A drift table against the training data (:func:`.drift.drift_table`).
    fail_on_drift : bool
        Fail (exit 3) when any row of ``drift`` has status ``shift``.
    """
    if max_age_weeks is not None and not (max_age_weeks > 0):
        raise ValueError(f"max_age_weeks must be a positive number of weeks, got {max_age_weeks}")
    fitted, scored = _day(model_as_of, "model as_of"), _day(as_of, "as_of")
    out = Staleness(None)
    if fitted is not None and scored is not None:
        out.age_weeks = (scored - fitted).days / 7
        limit = DEFAULT_WARN_AGE_WEEKS if max_age_weeks is None else max_age_weeks
        if out.age_weeks > limit:
            out.warnings.append(
                f"model fitted as of {fitted.date()} is {out.age_weeks:.1f} weeks old at as_of "
                f"{scored.date()} (limit {limit:g} weeks): refit it")
            out.stale = max_age_weeks is not None
    elif max_age_weeks is not None:
        out.warnings.append("model records no as_of: its age cannot be checked")
        out.stale = True
    if drift is not None and len(drift):
        shifted = drift[drift["status"] == "shift"]
        watch = drift[drift["status"] == "watch"]
        out.drifted = shifted["feature"].tolist()
        if len(shifted):
            top = ", ".join(f"{r.feature} {r.psi:.2f}" for r in shifted.head(5).itertuples())
            out.warnings.append(f"drift against the training data: PSI > 0.25 for "
                                f"{len(shifted)} of {len(drift)} ({top})")
            out.stale = out.stale or fail_on_drift
        if len(watch):
            out.warnings.append("watch (PSI 0.10-0.25): " + ", ".join(
                f"{r.feature} {r.psi:.2f}" for r in watch.head(5).itertuples()))
    return out


def _stable_note(drift: pd.DataFrame) -> str | None:
    """``drift against the training data: stable (largest PSI 0.03, tenure_months)``."""
    finite = drift[np.isfinite(drift["psi"].to_numpy(float))]
    if len(finite) == 0 or (finite["status"] != "stable").any():
        return None
    top = finite.loc[finite["psi"].idxmax()]
    return (f"drift against the training data: stable (largest PSI {top['psi']:.3f}, "
            f"{top['feature']})")


def summary_staleness(summary, *, max_age_weeks: float | None = None,
                      fail_on_drift: bool = False) -> Staleness:
    """Check a finished export run and add the warnings to its notes.

    ``summary`` is the :class:`tobmodel.export.runner.ExportSummary` of the
    run: ``model_as_of``, ``as_of`` and ``drift`` (PSI of every feature and the
    score against the model's training profile, counted while scoring).
    """
    drift = pd.DataFrame(summary.drift, columns=["feature", "psi", "status"])
    out = check_staleness(summary.model_as_of, summary.as_of, max_age_weeks=max_age_weeks,
                          drift=drift, fail_on_drift=fail_on_drift)
    summary.notes.extend(out.warnings)
    if summary.drift and _stable_note(drift):
        summary.notes.append(_stable_note(drift))
    if not summary.drift:
        note = ("no drift check against the training data: the model file carries no "
                "training profile (tobmodel report --training can compute one)")
        summary.notes.append(note)
        if fail_on_drift:  # asked to fail on drift and it cannot be checked: fail
            out.warnings.append(note)
            out.stale = True
    return out
