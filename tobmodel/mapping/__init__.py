"""Your own data: CRM, help-desk and analytics exports mapped onto tobmodel's tables.

* :mod:`.spec` -- mapping files (YAML) and the shipped presets
  (``salesforce``, ``hubspot``, ``zendesk``, ``segment``, ``mixpanel``);
* :mod:`.parse` -- ids, dates with zones, numbers and units, labels;
* :mod:`.contracts` -- renewals and churn from contract rows;
* :mod:`.load` -- :func:`read_export`: every source read, joined and
  aggregated, every problem collected;
* :mod:`.report` -- what ``tobmodel validate`` prints, and ``--suggest``;
* :mod:`.jobs` -- fit, score and evaluate on exports (above :mod:`tobmodel.export`).
"""
from .load import ExportData, account_key, read_export
from .parse import DataProblems, Problem
from .spec import PRESETS, Mapping, MappingError, load_mappings

__all__ = ["ExportData", "account_key", "read_export", "DataProblems", "Problem", "PRESETS",
           "Mapping", "MappingError", "load_mappings"]
