"""Safe writers: write to a temporary file in the same folder, then rename.

Temporary files are named ``.<name>.<pid>.<random>.tmp`` beside the target.
A file written here gets the mode of the file it replaces, or ``0666 & ~umask``
for a new file (``mkstemp`` alone would make every output ``0600``). A stray
temporary file left by a killed run is removed by the next write of the same
target once its process is gone (:func:`remove_stale_temps`).

Examples
--------
>>> import os, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> old = os.umask(0o022)
>>> _ = write_csv(pd.DataFrame({"a": [1]}), path)
>>> os.umask(old) == 0o022, oct(path.stat().st_mode & 0o777)
(True, '0o644')
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["atomic_path", "create_temp", "remove_stale_temps", "write_csv", "write_parquet"]

STALE_UNKNOWN_SECONDS = 24 * 3600  # temp files of older versions (no pid in the name)


def current_umask() -> int:
    """The process umask, without changing it (Linux: /proc; elsewhere set and restore)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def output_mode(path: Path) -> int:
    """Mode for a file written at ``path``: that of the file it replaces, else 0666 & ~umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def create_temp(path) -> tuple[int, Path]:
    """``(fd, temp path)`` beside ``path`` with the mode the final file should have.

    Stale temporary files of earlier killed runs for the same target are removed first.
    """
    path = Path(path)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                               dir=path.parent)
    try:
        os.fchmod(fd, output_mode(path))
    except OSError:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, Path(tmp)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return True
    return True


def remove_stale_temps(path, started: float | None = None) -> list[Path]:
    """Remove ``.<name>.<pid>.*.tmp`` files beside ``path`` whose process is gone.

    Only files of this naming pattern for this target, last modified before
    ``started`` (default: now), are considered; a file whose pid is alive is
    kept (a concurrent run may be writing it). Files of the older pattern
    without a pid are removed after :data:`STALE_UNKNOWN_SECONDS`. Returns the
    files removed; errors (a file vanishing, no permission) are ignored.
    """
    path = Path(path)
    started = time.time() if started is None else started
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.(?:(\d+)\.)?[A-Za-z0-9_]+\.tmp")
    removed = []
    try:
        candidates = list(path.parent.glob(f".{glob_escape(path.name)}.*.tmp"))
    except OSError:
        return removed
    for tmp in candidates:
        m = pattern.fullmatch(tmp.name)
        if not m:
            continue
        try:
            age = started - tmp.lstat().st_mtime
            if not tmp.is_file() or tmp.is_symlink() or age <= 0:
                continue
            pid = m.group(1)
            if pid is not None and (int(pid) == os.getpid() or _pid_alive(int(pid))):
                continue
            if pid is None and age < STALE_UNKNOWN_SECONDS:
                continue
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            continue
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    A crash or Ctrl-C leaves the previous file intact; the temporary file is
    removed whatever fails (a full disk included).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_parquet(df: pd.DataFrame, path) -> Path:
    """Write ``df`` to Parquet atomically and reproducibly (same frame, same bytes)."""
    df = df.copy(deep=False)
    df.attrs = {}  # attrs would land in the file's metadata
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
    return Path(path)


def write_csv(df: pd.DataFrame, path) -> Path:
    """Write ``df`` to CSV atomically (ISO dates, no index)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, date_format="%Y-%m-%d")
    return Path(path)
