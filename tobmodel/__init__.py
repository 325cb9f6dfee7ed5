"""tobmodel: survival models for contract renewal and classifiers for lead quality.

Heavy modules are imported on first use so ``tobmodel --help`` stays fast.

>>> import tobmodel
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=200, seed=1)
>>> len(sim.accounts) > 0
True
"""
from __future__ import annotations

import importlib

from ._version import __version__

_LAZY = {
    "simulate": ("tobmodel.simulator", "simulate"),
    "Simulation": ("tobmodel.simulator", "Simulation"),
    "survival_view": ("tobmodel.survival", "survival_view"),
    "read_table": ("tobmodel.io.readers", "read_table"),
    "read_tables": ("tobmodel.io.readers", "read_tables"),
    "DataValidationError": ("tobmodel.io.validate", "DataValidationError"),
    "load_model": ("tobmodel.registry", "load_model"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'tobmodel' has no attribute {name!r}")
