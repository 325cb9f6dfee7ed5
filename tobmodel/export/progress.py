"""What a long fit or score shows while it runs: stage messages and tqdm bars on stderr.

Shown on a terminal; quiet under CI (``CI=true``) or when stderr is not a
terminal (a cron job's log stays clean), unless asked for explicitly.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> with stage("reading tables", enabled=True, file=out):
...     pass
>>> out.getvalue().startswith("tobmodel: reading tables ... done in ")
True
>>> show_progress(None, stream=io.StringIO())  # not a terminal
False
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

__all__ = ["show_progress", "stage"]


def show_progress(progress: bool | None = None, stream=None) -> bool:
    """``progress`` if given; else True only on a terminal and not under CI."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def stage(text: str, enabled: bool | None = None, file=None):
    """Print ``tobmodel: <text> ...`` then ``done in N s`` (when progress is shown)."""
    file = sys.stderr if file is None else file
    on = show_progress(enabled, file)
    started = time.perf_counter()
    if on:
        print(f"tobmodel: {text} ...", end="", file=file, flush=True)
    try:
        yield
    except BaseException:
        if on:
            print(" failed", file=file, flush=True)
        raise
    if on:
        print(f" done in {time.perf_counter() - started:.1f} s", file=file, flush=True)
