"""The weekly job watching itself: drift, staleness, movers and the weekly report.

* :mod:`.drift` -- population stability index of every feature and of the
  score against the training profile saved in the model file and against
  last week (< 0.1 stable, 0.1-0.25 watch, > 0.25 shift).
* :mod:`.staleness` -- is the model too old, or has the data moved too far,
  to trust this week's scores (exit status 3 of ``tobmodel score`` when
  configured)?
* :mod:`.movers` -- accounts whose risk rose the most since last week, or
  several weeks in a row, from the score history.
* :mod:`.actions` -- what customer success did (a seeded hold-out of each call
  list, an actions log) and, months later, whether it lowered churn.
* :mod:`.report` -- ``tobmodel report``: one self-contained HTML file and the
  same tables in the database (``churn_drift``, ``churn_movers``).

Names are loaded on first use, so importing the package costs nothing.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "drift_table": "drift", "score_drift": "drift", "worst_status": "drift",
    "check_staleness": "staleness", "Staleness": "staleness", "EXIT_STALE": "staleness",
    "read_history": "movers", "find_movers": "movers",
    "assign_outreach": "actions", "log_actions": "actions", "read_actions": "actions",
    "measure_action_effect": "actions",
    "build_report": "report", "write_report": "report", "WeeklyReport": "report",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
