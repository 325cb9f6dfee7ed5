"""Safe writes: atomic files, one transaction per run, re-runs replace, history kept."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tobmodel.export import ExportError, export_scores

sys.path.insert(0, str(Path(__file__).parent))
from conftest import StandInRenewalModel  # noqa: E402

HERE = Path(__file__).parent


class Boom(RuntimeError):
    pass


def _failing_after(model_cls, n_calls):
    class Failing(model_cls):
        calls = 0

        def score(self, df, *a, **kw):
            type(self).calls += 1
            if type(self).calls > n_calls:
                raise Boom("model broke mid-run")
            return super().score(df, *a, **kw)
    return Failing()


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_file_written_whole_or_not_at_all(tmp_path, churn_model, make_features, suffix):
    out = tmp_path / f"churn_scores.{suffix}"
    export_scores(churn_model, make_features(50), out)
    before = out.read_bytes(), (tmp_path / "churn_scores.rejects.csv").read_bytes()
    with pytest.raises(Boom):
        export_scores(_failing_after(type(churn_model), 2), make_features(500), out,
                      chunksize=100)
    assert (out.read_bytes(), (tmp_path / "churn_scores.rejects.csv").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"churn_scores.{suffix}", "churn_scores.rejects.csv"]  # no temp files left


def test_file_layout(tmp_path, churn_model, make_features):
    from tobmodel.export.specs import SPECS
    export_scores(churn_model, make_features(30), tmp_path / "s.parquet")
    back = pd.read_parquet(tmp_path / "s.parquet")
    assert list(back.columns) == list(SPECS["churn"].columns)
    assert len(back) == 30 and back["account_id"].dtype == "int64"
    assert str(back["as_of"].iloc[0]) == "2025-12-31"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_killed_writer_leaves_the_old_file_byte_identical(tmp_path, make_features, suffix):
    """SIGKILL a writer subprocess mid-write: the previous export survives intact."""
    make_features(2000).to_parquet(tmp_path / "f.parquet")
    out = tmp_path / f"churn_scores.{suffix}"
    out.write_bytes(b"last week's scores\n")
    before = out.read_bytes()
    _kill_writer_mid_run(tmp_path, tmp_path / "f.parquet", out)
    stray = list(tmp_path.glob(f".churn_scores.{suffix}.*.tmp"))
    assert stray and stray[0].stat().st_size > 0, "the writer was not mid-write"
    assert out.read_bytes() == before
    # the next run succeeds and replaces it; the stray temp file never becomes the output
    export_scores(StandInRenewalModel(), tmp_path / "f.parquet", out, as_of="2025-12-31")
    assert out.read_bytes() != before and len(_read_scores(out)) == 2000


def _read_scores(path):
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_ctrl_c_leaves_the_old_file_and_no_temp_file(tmp_path, make_features, suffix):
    make_features(2000).to_parquet(tmp_path / "f.parquet")
    out = tmp_path / f"churn_scores.{suffix}"
    out.write_bytes(b"last week's scores\n")
    code = _kill_writer_mid_run(tmp_path, tmp_path / "f.parquet", out, signal.SIGINT)
    assert code != 0
    assert out.read_bytes() == b"last week's scores\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["f.parquet", out.name, "stalled"])  # temp files removed on the way out


def _kill_writer_mid_run(tmp_path, source, output, sig=signal.SIGKILL):
    """Run an export in a subprocess; send ``sig`` after 3 chunks were written.

    Returns the subprocess's exit status.
    """
    marker = tmp_path / "stalled"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from conftest import StandInRenewalModel
        from tobmodel.export import export_scores
        model = StandInRenewalModel(stall_after=3, marker={str(marker)!r})
        export_scores(model, {str(source)!r}, {str(output)!r}, as_of="2025-12-31",
                      chunksize=100)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    try:
        assert marker.exists() and proc.poll() is None, "writer did not reach chunk 4"
    finally:
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=60)
    return code


def _sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'exports' / 'tobmodel.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        (tmp_path / "exports").mkdir()
        return _sqlite_url(tmp_path)
    return request.getfixturevalue("pg_url")


def _read(url, sql):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return pd.read_sql_query(sa.text(sql), c)
    finally:
        engine.dispose()


def _count(url, table, where="1=1"):
    return int(_read(url, f"SELECT COUNT(*) AS n FROM {table} WHERE {where}")["n"].iloc[0])


def test_rerun_replaces_history_keeps_latest_shows_newest(db_url, churn_model, make_features):
    feats = make_features(200)
    feats.loc[3, "tier"] = "giant"
    for as_of in ("2025-12-24", "2025-12-31", "2025-12-31"):  # the last is a re-run
        s = export_scores(churn_model, feats, db_url, as_of=as_of, chunksize=64)
        assert (s.read, s.scored, s.rejected) == (200, 199, 1)
    hist = _read(db_url, "SELECT as_of, COUNT(*) AS n FROM churn_score_history "
                         "GROUP BY as_of ORDER BY as_of")
    assert hist["n"].tolist() == [199, 199]  # two weeks, the re-run did not duplicate
    latest = _read(db_url, "SELECT * FROM churn_scores")
    assert len(latest) == 199 and set(pd.to_datetime(latest["as_of"])) == {
        pd.Timestamp("2025-12-31")}
    assert _count(db_url, "churn_score_rejects") == 2  # one per run, re-run replaced
    runs = _read(db_url, "SELECT * FROM score_runs")
    assert len(runs) == 2 and (runs["rows_read"] == 200).all()
    # back-filling an older week adds history but leaves the latest scores alone
    s = export_scores(churn_model, feats.iloc[:50], db_url, as_of="2025-12-17")
    assert any("kept newer scores" in n for n in s.notes)
    assert _count(db_url, "churn_scores") == 199
    assert _count(db_url, "churn_score_history") == 2 * 199 + 49  # row 3 is rejected
    # each customer's trend is there: one row per account per week
    trend = _read(db_url, "SELECT account_id, COUNT(*) AS n FROM churn_score_history "
                          "GROUP BY account_id")
    assert trend.set_index("account_id")["n"].loc[1] == 3


def test_a_failed_run_changes_nothing_in_the_database(db_url, churn_model, make_features):
    export_scores(churn_model, make_features(300), db_url, as_of="2025-12-31")
    snapshot = {t: _read(db_url, f"SELECT * FROM {t} ORDER BY 1, 2") for t in
                ("churn_scores", "churn_score_history", "churn_score_rejects", "score_runs")}
    with pytest.raises(Boom):  # same as_of: its rows were deleted inside the transaction
        export_scores(_failing_after(type(churn_model), 2), make_features(300), db_url,
                      as_of="2025-12-31", chunksize=100)
    for t, before in snapshot.items():
        pd.testing.assert_frame_equal(_read(db_url, f"SELECT * FROM {t} ORDER BY 1, 2"), before)


def test_lead_scores_go_to_their_own_tables(db_url, lead_model):
    leads = pd.DataFrame({"lead_id": range(1, 11), "intent": ["high", "low"] * 5,
                          "employees": 5, "status": ["open"] * 9 + ["lost"]})
    leads.loc[4, "intent"] = "urgent"  # a category the model never saw: a reject
    s = export_scores(lead_model, leads, db_url)
    assert (s.scored, s.rejected, s.not_scored) == (8, 1, {"closed": 1})
    assert _count(db_url, "lead_scores") == 8 == _count(db_url, "lead_score_history")
    # the closed lead is counted as not scored, never written to the rejects table
    assert _read(db_url, "SELECT reason FROM lead_score_rejects")["reason"].tolist() == [
        "unknown category"]


def test_input_streams_from_a_database_table(db_url, churn_model, make_features):
    from tobmodel.export import write_tables
    feats = make_features(250).sample(frac=1, random_state=1)  # stored out of order
    write_tables({"account_features": feats}, db_url)
    s = export_scores(churn_model, db_url, db_url, chunksize=40)
    assert (s.read, s.scored) == (250, 250)
    ids = _read(db_url, "SELECT account_id FROM churn_score_history")["account_id"]
    assert sorted(ids) == list(range(1, 251))


def test_a_foreign_table_of_the_same_name_is_refused(db_url, churn_model, make_features):
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE churn_scores (customer TEXT, score REAL)")
    engine.dispose()
    with pytest.raises(ExportError, match="table churn_scores exists with other columns"):
        export_scores(churn_model, make_features(5), db_url)


def test_sqlite_killed_mid_transaction_keeps_the_previous_run(tmp_path, make_features,
                                                               churn_model):
    url = _sqlite_url(tmp_path)
    export_scores(churn_model, make_features(100), url, as_of="2025-12-31")
    before = _read(url, "SELECT * FROM churn_scores ORDER BY account_id")
    make_features(3000).to_parquet(tmp_path / "f.parquet")
    _kill_writer_mid_run(tmp_path, tmp_path / "f.parquet", url)
    pd.testing.assert_frame_equal(_read(url, "SELECT * FROM churn_scores ORDER BY account_id"),
                                  before)
    assert _count(url, "churn_score_history") == 100
