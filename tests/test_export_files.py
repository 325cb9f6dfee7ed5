"""Output files and databases on a bad day: modes, full disks, stray temp files, refused
runs, directories where files should be, table names (issue 13, sections 2-5)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tobmodel.export import ExportError, export_scores
from tobmodel.io.writers import remove_stale_temps, write_csv

ROOT = os.geteuid() == 0


@pytest.fixture
def umask():
    def set_umask(mask):
        old.append(os.umask(mask))
    old = []
    yield set_umask
    if old:
        os.umask(old[0])


@pytest.mark.parametrize("suffix", ["csv", "parquet", "sqlite"])
def test_outputs_follow_the_umask(tmp_path, churn_model, make_features, umask, suffix):
    umask(0o027)
    out = tmp_path / f"s.{suffix}"
    export_scores(churn_model, make_features(20), out)
    assert out.stat().st_mode & 0o777 == 0o640  # mkstemp alone gives 0600
    if suffix != "sqlite":
        assert (tmp_path / "s.rejects.csv").stat().st_mode & 0o777 == 0o640
    write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_replaced_file_keeps_its_mode(tmp_path, churn_model, make_features, umask, suffix):
    out = tmp_path / f"s.{suffix}"
    export_scores(churn_model, make_features(20), out)
    out.chmod(0o604)
    umask(0o077)
    export_scores(churn_model, make_features(30), out)
    assert out.stat().st_mode & 0o777 == 0o604 and len(_read(out)) == 30


def _read(path):
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def _dead_pid() -> int:
    """A pid no process can have (above the kernel's pid_max): a killed run's, for sure."""
    try:
        return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    except OSError:
        p = subprocess.Popen([sys.executable, "-c", "pass"])
        p.wait()
        return p.pid


def test_stray_temp_files_of_a_killed_run_are_cleaned(tmp_path, churn_model, make_features):
    out = tmp_path / "s.csv"
    export_scores(churn_model, make_features(20), out)
    old = time.time() - 60
    dead = tmp_path / f".s.csv.{_dead_pid()}.k1ll3d_x.tmp"
    dead_rejects = tmp_path / f".s.rejects.csv.{_dead_pid()}.abc_12.tmp"
    live = tmp_path / f".s.csv.{os.getppid()}.w0rk1ng.tmp"  # a live process's file
    other = tmp_path / ".notes.csv.123.abcdef.tmp"          # another target's
    mine = tmp_path / ".s.csv.backup.tmp"                    # not our pattern
    legacy = tmp_path / ".s.csv.a1b2c3d4.tmp"                # an older version's, recent
    for f in (dead, dead_rejects, live, other, mine, legacy):
        f.write_bytes(b"x" * 1000)
        os.utime(f, (old, old))
    export_scores(churn_model, make_features(20), out)
    left = {p.name for p in tmp_path.iterdir()}
    assert dead.name not in left and dead_rejects.name not in left
    assert {live.name, other.name, mine.name, legacy.name} <= left
    os.utime(legacy, (old - 2 * 86400, old - 2 * 86400))
    assert remove_stale_temps(out) == [legacy]


def test_an_output_that_is_a_directory_leaves_no_temp_file(tmp_path, churn_model,
                                                           make_features, capsys):
    from tobmodel.cli import main
    (tmp_path / "s.csv").mkdir()
    with pytest.raises(ExportError, match="s.csv: is a directory"):
        export_scores(churn_model, make_features(20), tmp_path / "s.csv")
    (tmp_path / "t.rejects.csv").mkdir()  # the rejects file's name is taken by a folder
    with pytest.raises(ExportError, match="t.rejects.csv: is a directory"):
        export_scores(churn_model, make_features(20), tmp_path / "t.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "t.rejects.csv"]


# -- SQLite: a refused run changes nothing -----------------------------------------------
def _tables(db: Path) -> list[str]:
    with sqlite3.connect(db) as c:
        return sorted(r[0] for r in c.execute("SELECT name FROM sqlite_master "
                                              "WHERE type = 'table'"))


def _journal(db: Path) -> str:
    with sqlite3.connect(db) as c:
        return c.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_refused_sqlite_run_leaves_no_table_and_no_wal(tmp_path, churn_model, make_features):
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE accounts (account_id INTEGER)")
        c.execute("CREATE TABLE score_runs (something_else TEXT)")  # refused: other columns
    with pytest.raises(ExportError, match="score_runs exists with other columns"):
        export_scores(churn_model, make_features(20), db)
    assert _tables(db) == ["accounts", "score_runs"] and _journal(db) == "delete"
    with sqlite3.connect(db) as c:
        c.execute("DROP TABLE score_runs")
    feats = make_features(20)
    feats["tier"] = "giant"  # scores nothing: refused after every row was written
    with pytest.raises(ExportError, match="scored 0 of 20"):
        export_scores(churn_model, feats, db)
    assert _tables(db) == ["accounts"] and _journal(db) == "delete"
    export_scores(churn_model, make_features(20), db)  # a good run: tables, then WAL
    assert "churn_score_history" in _tables(db) and _journal(db) == "wal"


def test_a_refused_run_into_a_new_sqlite_file_leaves_no_file(tmp_path, churn_model,
                                                             make_features):
    feats = make_features(20)
    feats["tier"] = "giant"
    with pytest.raises(ExportError, match="scored 0"):
        export_scores(churn_model, feats, tmp_path / "new.sqlite")
    assert list(tmp_path.iterdir()) == []


# -- table names -------------------------------------------------------------------------
def test_hash_names_the_table_in_a_sqlite_file(tmp_path, churn_model, make_features):
    export_scores(churn_model, make_features(20), f"sqlite:///{tmp_path / 'crm.db'}#my_scores")
    export_scores(churn_model, make_features(20), f"{tmp_path / 'crm.db'}#other")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]
    names = _tables(tmp_path / "crm.db")
    assert {"my_scores", "my_scores_history", "my_scores_rejects", "other",
            "score_runs"} <= set(names) and "churn_scores" not in names
    with sqlite3.connect(tmp_path / "crm.db") as c:
        assert c.execute("SELECT COUNT(*) FROM my_scores").fetchone()[0] == 20


@pytest.mark.parametrize("name", ['we"ird', "x\"; DROP TABLE accounts; --", "it's"])
def test_table_names_with_quotes_are_quoted_not_injected(tmp_path, churn_model,
                                                         make_features, name):
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE accounts (account_id INTEGER)")
    export_scores(churn_model, make_features(20), f"sqlite:///{db}#{name}")
    assert {"accounts", name, f"{name}_history"} <= set(_tables(db))
    # and read back as an input table of that name
    from tobmodel.export.sources import open_source
    src = open_source(f"sqlite:///{db}#{name}", id_column="account_id")
    assert sum(len(c) for c in src.chunks) == 20 and src.total == 20


def test_a_sql_error_on_an_input_table_does_not_say_cannot_connect(tmp_path):
    from tobmodel.export.sources import open_source
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as c:
        c.execute('CREATE TABLE "we""ird" (account_id INTEGER)')
        c.execute('INSERT INTO "we""ird" VALUES (1)')
    src = open_source(f"sqlite:///{db}#we\"ird", id_column="account_id")
    assert [len(c) for c in src.chunks] == [1]
    with pytest.raises(ExportError) as e:
        open_source(f"sqlite:///{db}#nothere")
    assert "cannot connect" not in str(e.value) and "no table 'nothere'" in str(e.value)


def test_postgres_table_names_are_quoted(pg_url, churn_model, make_features):
    name = 'Weekly "scores"'
    export_scores(churn_model, make_features(30), f"{pg_url}#{name}")
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as c:
            n = c.exec_driver_sql('SELECT COUNT(*) FROM "Weekly ""scores"""').scalar()
            assert n == 30
    finally:
        engine.dispose()
    with pytest.raises(ExportError, match="not usable"):
        export_scores(churn_model, make_features(30), f"{pg_url}#{'x' * 60}")


# -- full disk ---------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 kB tmpfs (root only): a real ENOSPC, no stand-in."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if not ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                                   str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("needs root and mount to make a small full disk")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "sqlite"])
def test_a_full_disk_names_the_file_and_leaves_no_temp_file(tiny_disk, churn_model,
                                                            make_features, suffix):
    out = tiny_disk / f"s.{suffix}"
    export_scores(churn_model, make_features(50), out)
    before = {p.name: p.read_bytes() for p in tiny_disk.iterdir()}
    with pytest.raises(ExportError) as e:
        export_scores(churn_model, make_features(20_000), out, chunksize=2_000)
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 400, msg
    assert str(out) in msg and ("disk full" in msg or "disk is full" in msg), msg
    after = {p.name: p.read_bytes() for p in tiny_disk.iterdir()}
    assert after == before  # last week's output kept, no .tmp left


def test_score_input_csv_gz(tmp_path, churn_model, make_features):
    import gzip
    feats = make_features(30)
    feats.to_csv(tmp_path / "f.csv.gz", index=False, compression="gzip")
    s = export_scores(churn_model, tmp_path / "f.csv.gz", tmp_path / "s.csv")
    assert s.scored == 30
    feats.to_csv(tmp_path / "plain.csv.gz", index=False, compression=None)
    with pytest.raises(ExportError, match="plain.csv.gz: is not gzip-compressed"):
        export_scores(churn_model, tmp_path / "plain.csv.gz", tmp_path / "s.csv")
    whole = gzip.compress(make_features(200_000).to_csv(index=False).encode())
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ExportError, match="cut.csv.gz: cannot be decompressed as gzip"):
        export_scores(churn_model, tmp_path / "cut.csv.gz", tmp_path / "s.csv")
    assert len(pd.read_csv(tmp_path / "s.csv")) == 30  # kept


def test_write_tables_on_a_full_disk_is_one_line(tiny_disk, make_features):
    from tobmodel.export import write_tables
    with pytest.raises(ExportError) as e:
        write_tables({"features": make_features(20_000)}, tiny_disk / "crm.sqlite")
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 400 and "crm.sqlite" in msg, msg
    assert "disk is full" in msg and "cannot connect" not in msg and "INSERT" not in msg, msg


def test_a_parquet_damaged_inside_names_the_file(tmp_path, churn_model, make_features):
    import pyarrow as pa
    import pyarrow.parquet as pq
    export_scores(churn_model, make_features(20), tmp_path / "s.csv")
    before = (tmp_path / "s.csv").read_bytes()
    feats = make_features(50_000)
    pq.write_table(pa.Table.from_pandas(feats), tmp_path / "f.parquet", row_group_size=10_000,
                   compression="none")
    data = bytearray((tmp_path / "f.parquet").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 20_000] = b"\xff" * 20_000  # pages garbled, footer intact
    (tmp_path / "f.parquet").write_bytes(bytes(data))
    with pytest.raises(ExportError, match="f.parquet: not a readable Parquet file") as e:
        export_scores(churn_model, tmp_path / "f.parquet", tmp_path / "s.csv", chunksize=10_000)
    assert "\n" not in str(e.value)
    assert (tmp_path / "s.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.parquet", "s.csv",
                                                          "s.rejects.csv"]


def test_a_copy_refused_by_postgres_is_one_line_and_rolls_back(pg_url, churn_model,
                                                               make_features):
    export_scores(churn_model, make_features(300), pg_url, as_of="2025-12-24")
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as c:  # same column names, a type the rows do not fit
            c.exec_driver_sql("ALTER TABLE churn_score_history ALTER COLUMN reasons "
                              "TYPE varchar(3) USING left(reasons, 3)")
        with pytest.raises(ExportError) as e:
            export_scores(churn_model, make_features(300), pg_url, as_of="2025-12-31",
                          chunksize=100)
        msg = str(e.value)
        assert "\n" not in msg and "cannot write scores" in msg and "COPY" not in msg, msg
        assert "too long" in msg, msg
        with engine.connect() as c:
            runs = c.exec_driver_sql("SELECT as_of FROM score_runs").fetchall()
            week2 = c.exec_driver_sql("SELECT COUNT(*) FROM churn_score_history "
                                      "WHERE as_of = '2025-12-31'").scalar()
        assert len(runs) == 1 and week2 == 0  # last week's run only: nothing half-written
    finally:
        engine.dispose()
