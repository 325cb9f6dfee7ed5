"""Where things live. Paths come from here and nowhere else.

``TOBMODEL_HOME`` (default: the repository root, or the current directory when
tobmodel is installed elsewhere) holds ``data/`` and ``data/exports/``.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_repo = PACKAGE_DIR.parent
PROJECT_DIR = Path(os.environ.get("TOBMODEL_HOME", _repo if (_repo / "pyproject.toml").exists()
                                  else Path.cwd()))
DATA_DIR = PROJECT_DIR / "data"
EXPORTS_DIR = DATA_DIR / "exports"
MODELS_DIR = EXPORTS_DIR / "models"
DEFAULT_DATABASE_URL = f"sqlite:///{EXPORTS_DIR / 'tobmodel.sqlite'}"
