"""A throwaway PostgreSQL server for tests and benchmarks (initdb + pg_ctl in a temp dir).

Uses Debian's server binaries (``apt-get install postgresql``) from
``/usr/lib/postgresql/*/bin`` or PATH. ``initdb`` refuses to run as root, so
under root the server runs as the ``postgres`` user (``runuser``) in a folder
it owns. It listens on 127.0.0.1 on a free port, trusts local logins and is
deleted on exit.

Examples
--------
>>> with throwaway_postgres() as url:  # doctest: +SKIP
...     print(url)
postgresql+psycopg://postgres@127.0.0.1:54321/postgres
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, user, check=True):
    prefix = ["runuser", "-u", user, "--"] if user else []  # util-linux, on every Debian
    return subprocess.run(prefix + [str(c) for c in cmd], check=check, capture_output=True,
                          text=True)


@contextmanager
def throwaway_postgres(bin_dir: Path | None = None):
    """Start a private PostgreSQL server; yield its SQLAlchemy URL; stop and delete it."""
    bin_dir = bin_dir or find_pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                                "install Debian's postgresql package")
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="tobmodel-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if user:
        shutil.chown(root, user)
        shutil.chown(sock, user)
        root.chmod(0o755)
    port = _free_port()
    started = False
    try:
        _run([bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
              "--encoding=UTF8", "--no-sync"], user)
        opts = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        _run([bin_dir / "pg_ctl", "-D", data, "-o", opts, "-l", root / "server.log", "-w",
              "-t", "60", "start"], user)
        started = True
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    except subprocess.CalledProcessError as e:
        log = (root / "server.log")
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL test server failed: {e.stderr or e.stdout}\n{tail}"
                           ) from None
    finally:
        if started:
            _run([bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], user,
                 check=False)
        shutil.rmtree(root, ignore_errors=True)
