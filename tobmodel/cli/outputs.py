"""Output files of the commands: checked before long work, written atomically."""
from __future__ import annotations

from pathlib import Path


def _check_writable(path) -> None:
    """Fail before a long fit if the output cannot be written (folder made if missing)."""
    import os
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give a file name")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"{parent}: cannot create folder ({e.strerror})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: cannot write (no permission on {parent})")


def _frame_writer(path):
    from ..io.writers import write_csv, write_parquet
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path}: unknown format {suffix!r} (expected .csv or .parquet)")
    return write_csv if suffix == ".csv" else write_parquet


def _write_frame(df, path) -> None:
    _frame_writer(path)(df, path)
