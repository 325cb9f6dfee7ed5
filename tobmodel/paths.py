"""Where things live. Paths come from here and nowhere else.

``TOBMODEL_HOME`` (default: the current working directory) holds ``data/`` and
``data/exports/``: default outputs never land inside the package or the checkout
unless you run from there. ``SAMPLES_DIR`` is the repository's own ``data/`` (the
shipped samples that ``make data`` rebuilds).
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_repo = PACKAGE_DIR.parent
PROJECT_DIR = Path(os.environ.get("TOBMODEL_HOME", Path.cwd()))
SAMPLES_DIR = _repo / "data"
DATA_DIR = PROJECT_DIR / "data"
EXPORTS_DIR = DATA_DIR / "exports"
MODELS_DIR = EXPORTS_DIR / "models"
DEFAULT_DATABASE_URL = f"sqlite:///{EXPORTS_DIR / 'tobmodel.sqlite'}"
