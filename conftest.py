"""Session fixtures for everything pytest collects here: tests, doctests in
``tobmodel/`` and notebooks. They live at the top so the doctests get them too
(``tests/conftest.py`` reaches only ``tests/``).
"""
from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_openmp_thread():
    """Gradient boosting with OpenMP on a busy 2-core machine runs 20-40x slower."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(autouse=True, scope="session")
def private_events_cache(tmp_path_factory):
    """Counted events are cached for this session only (also for CLI subprocesses)."""
    old = os.environ.get("TOBMODEL_CACHE_DIR")
    os.environ["TOBMODEL_CACHE_DIR"] = str(tmp_path_factory.mktemp("events-cache"))
    yield
    if old is None:
        os.environ.pop("TOBMODEL_CACHE_DIR", None)
    else:
        os.environ["TOBMODEL_CACHE_DIR"] = old
