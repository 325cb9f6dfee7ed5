"""Export churn and lead scores to files and databases, safely and in bounded memory.

Python API (the command line ``tobmodel score`` calls the same functions):

* :func:`export_scores` -- score a table in chunks and write CSV / Parquet /
  SQLite / PostgreSQL, with rejects and a summary (:class:`ExportSummary`).
* :func:`score_accounts`, :func:`score_leads` -- the same checks, returning
  DataFrames for notebooks.
* :func:`load_scoring_model`, :func:`resolve_as_of`, :func:`scoring_source` --
  the first steps of every run (model read once, as-of settled once, tables
  turned into what the model scores).
* :func:`fit_model` -- fit a renewal or lead model from a folder / database of
  tables; :func:`evaluate_model` -- refit it on a time split and compare with
  a baseline (and the simulator's truth when present).

Conventions: churn probabilities, higher = more risk; ``risk_tier`` is
``high`` / ``medium`` / ``low`` on ``p_churn_horizon`` with cut-offs
:data:`RISK_CUTOFFS`. Lead ``p_convert`` and ``score``: higher = better lead.
"""
from .destinations import write_tables
from .inputs import (load_scoring_model, read_leads, read_renewal_features, resolve_as_of,
                     scoring_source)
from .jobs import evaluate_model, fit_model
from .runner import ExportSummary, export_scores, score_accounts, score_leads
from .specs import CHUNKSIZE, RISK_CUTOFFS, SPECS, ExportError, risk_tier

__all__ = ["export_scores", "score_accounts", "score_leads", "fit_model", "evaluate_model",
           "read_renewal_features", "read_leads", "load_scoring_model", "resolve_as_of",
           "scoring_source", "ExportSummary", "ExportError", "write_tables", "risk_tier",
           "RISK_CUTOFFS", "CHUNKSIZE", "SPECS"]
