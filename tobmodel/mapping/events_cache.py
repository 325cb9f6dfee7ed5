"""A cache of counted events, so ``validate``, ``fit`` and ``score`` on one export count once.

Counting 50 million events takes about a minute; the three commands a user
runs on the same export would count them three times. The result of
:func:`tobmodel.mapping.events.account_months_of_files` is kept under a key
made of **the files' contents** (a BLAKE2 digest of every byte, not their
names or dates), the accounts' keys, the mapping's time zone, date format,
login and key events, the as-of cut and the tobmodel version. So a changed
file, mapping or cut is counted again, and a file edited back to what it was
is found again.

Only a clean count is kept: a run whose events had a problem (bad
timestamps, an unreadable file) is counted every time, so every run reports
its problems. Events read from a database table are not cached (their
contents cannot be hashed before reading them). The newest
:data:`CACHE_KEEP` results are kept.

Where: ``$TOBMODEL_CACHE_DIR`` if set (``off`` turns the cache off), else
``$XDG_CACHE_HOME/tobmodel/events`` or ``~/.cache/tobmodel/events``.

Examples
--------
>>> import os, tempfile
>>> os.environ["TOBMODEL_CACHE_DIR"] = "off"
>>> cache_dir() is None
True
>>> os.environ["TOBMODEL_CACHE_DIR"] = tempfile.mkdtemp()
>>> cache_dir().is_dir()
True
>>> del os.environ["TOBMODEL_CACHE_DIR"]
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..io.writers import atomic_path, write_parquet

CACHE_FORMAT = 1   #: bump when the counting rule changes (old results are then not found)
CACHE_KEEP = 8     #: results kept (the newest by use)
_BLOCK = 1 << 22


def cache_dir() -> Path | None:
    """The cache folder (created), or None when ``TOBMODEL_CACHE_DIR=off``."""
    v = os.environ.get("TOBMODEL_CACHE_DIR")
    if v is not None and v.strip().lower() in ("", "off", "0", "false", "no", "none"):
        return None
    if v is not None:
        d = Path(v)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        d = Path(base) / "tobmodel" / "events"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: count every time
    return d


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def cache_key(files, keys: pd.DataFrame, **settings) -> str | None:
    """The key of a count, or None when the cache is off or a source cannot be hashed (a
    database table): the files are read for their digest only when a result can be kept."""
    if cache_dir() is None or any(not isinstance(ef.path, Path) for ef in files):
        return None
    h = hashlib.blake2b(digest_size=20)
    ids = pd.util.hash_pandas_object(
        pd.DataFrame({"c": keys["crm_account_id"].astype(str).to_numpy(),
                      "k": keys["account_id"].to_numpy()}), index=False)
    head = {"format": CACHE_FORMAT, "version": __version__,
            "settings": {k: str(v) for k, v in sorted(settings.items())},
            "files": [[ef.name, _digest(ef.path), sorted(ef.have.items()), list(ef.head)]
                      for ef in files]}
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(ids.to_numpy().tobytes())
    return h.hexdigest()


def load(key: str | None):
    """(usage, rows read, events of unknown accounts) kept under ``key``, or None."""
    d = cache_dir() if key else None
    if d is None:
        return None
    meta, table = d / f"{key}.json", d / f"{key}.parquet"
    try:
        info = json.loads(meta.read_text())
        usage = pd.read_parquet(table)
        os.utime(meta)  # newest by use
    except (OSError, ValueError):
        return None
    usage["month"] = usage["month"].astype("datetime64[ns]")
    usage.attrs["latest"] = pd.Timestamp(info["latest"]) if info["latest"] else None
    return usage, int(info["rows"]), int(info["unknown"])


def store(key: str | None, usage: pd.DataFrame, n_rows: int, n_unknown: int) -> None:
    """Keep a clean count under ``key`` (never fails the run: a full disk skips it)."""
    d = cache_dir() if key else None
    if d is None:
        return
    latest = usage.attrs.get("latest")
    try:
        write_parquet(usage, d / f"{key}.parquet")
        with atomic_path(d / f"{key}.json") as tmp:
            Path(tmp).write_text(json.dumps({
                "rows": int(n_rows), "unknown": int(n_unknown),
                "latest": None if latest is None else pd.Timestamp(latest).isoformat()}))
        kept = sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[CACHE_KEEP:]:
            old.unlink(missing_ok=True)
            old.with_suffix(".parquet").unlink(missing_ok=True)
    except OSError:
        pass
