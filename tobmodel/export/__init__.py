"""Export churn and lead scores to files and databases, safely and in bounded memory.

Python API (the command line ``tobmodel score`` calls the same functions):

* :func:`export_scores` -- score a table in chunks and write CSV / Parquet /
  SQLite / PostgreSQL, with rejects and a summary (:class:`ExportSummary`).
* :func:`score_accounts`, :func:`score_leads` -- the same checks, returning
  DataFrames for notebooks.

Conventions: churn probabilities, higher = more risk; ``risk_tier`` is
``high`` / ``medium`` / ``low`` on ``p_churn_horizon`` with cut-offs
:data:`RISK_CUTOFFS`. Lead ``p_convert`` and ``score``: higher = better lead.
"""
from .destinations import write_tables
from .runner import ExportSummary, export_scores, score_accounts, score_leads
from .specs import CHUNKSIZE, RISK_CUTOFFS, SPECS, ExportError, risk_tier

__all__ = ["export_scores", "score_accounts", "score_leads", "ExportSummary", "ExportError",
           "write_tables", "risk_tier", "RISK_CUTOFFS", "CHUNKSIZE", "SPECS"]
