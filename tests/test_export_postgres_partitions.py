"""PostgreSQL history partitioned by run: one table per run, keyed after its COPY and
attached without a validation scan; re-runs, several models a week, quoted and long
names, a history of the previous layout migrated (or kept when something depends on
it), and a killed or failing run that leaves layout and rows as they were."""
import signal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import StandInRenewalModel, snapshot_reader
from test_export_destinations import Boom, _failing_after, _kill_writer_mid_run, _read
from tobmodel.export import export_scores
from tobmodel.export import postgres as pgbulk

pytestmark = pytest.mark.postgres

PARTITIONS = """
SELECT c.relname AS name, c.relkind AS kind, p.relname AS parent,
       pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
ORDER BY 1
"""


def _execute(url, *sql):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            for s in sql:
                c.exec_driver_sql(s)
    finally:
        engine.dispose()


def _relkind(url, table):
    return _read(url, f"SELECT relkind FROM pg_class WHERE oid = to_regclass('{table}')"
                 )["relkind"].tolist()


def _all(url, table="churn_score_history"):
    return _read(url, f"SELECT * FROM {table} ORDER BY as_of, model_id, account_id")


def _model(name="standin", n=1):
    m = StandInRenewalModel(model_id=f"standin-{n:012d}")
    m.name = name
    return m


def test_each_run_is_a_partition_keyed_after_its_copy(pg_url, make_features, monkeypatch):
    notices = []
    real = pgbulk.RunPartition.finish

    def finish(self):  # the server's own account of the attach, at DEBUG1
        raw = self.conn.connection.driver_connection
        raw.add_notice_handler(lambda d: notices.append(d.message_primary))
        self.conn.exec_driver_sql("SET LOCAL client_min_messages = debug1")
        real(self)
        self.conn.exec_driver_sql("SET LOCAL client_min_messages = DEFAULT")
    monkeypatch.setattr(pgbulk.RunPartition, "finish", finish)
    feats = make_features(400)
    feats = feats.iloc[np.random.default_rng(5).permutation(400)].reset_index(drop=True)
    export_scores(_model(), feats, pg_url, as_of="2025-12-24", chunksize=128)
    export_scores(_model(), feats.iloc[:300], pg_url, as_of="2025-12-31", chunksize=128)
    export_scores(_model("other", 2), feats.iloc[:100], pg_url, as_of="2025-12-31")
    parts = _read(pg_url, PARTITIONS)
    day = parts[parts["parent"] == "churn_score_history"]
    assert day["name"].tolist() == ["churn_score_history_20251224",
                                    "churn_score_history_20251231"]
    assert set(day["kind"]) == {"p"} and day["bound"].iloc[1] == "FOR VALUES IN ('2025-12-31')"
    runs = parts[parts["kind"] == "r"]
    assert len(runs) == 3 and set(runs["name"].str.len()) == {len(day["name"].iloc[0]) + 13}
    assert sorted(runs["bound"]) == ["FOR VALUES IN ('standin-000000000001')"] * 2 + [
        "FOR VALUES IN ('standin-000000000002')"]
    # what the server checked: each attach was proven by the CHECK, no table was read
    verified = [n for n in notices if n.startswith("verifying table")]
    implied = [n for n in notices if "is implied by existing constraints" in n]
    assert not verified and len(implied) == 3, notices
    assert all(f'"{r}"' in " ".join(implied) for r in runs["name"])
    keys = _read(pg_url, "SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS d "
                         "FROM pg_constraint WHERE contype = 'p' AND conrelid::regclass::text "
                         "LIKE 'churn_score_history%'")
    assert set(keys["d"]) == {"PRIMARY KEY (as_of, account_id, model_id)"}
    assert len(keys) == 1 + 2 + 3
    hist = _all(pg_url)
    assert len(hist) == 800 and not hist.duplicated(["as_of", "model_id", "account_id"]).any()
    latest = _read(pg_url, "SELECT model_name, as_of, COUNT(*) AS n FROM churn_scores "
                           "GROUP BY 1, 2 ORDER BY 1")
    assert latest["n"].tolist() == [100, 300]
    # a row of another run cannot get into a run's table
    with pytest.raises(sa.exc.IntegrityError, match="check constraint"):
        _execute(pg_url, f"INSERT INTO {runs['name'].iloc[0]} (account_id, as_of, model_id) "
                         "VALUES (1, '2026-01-07', 'x')")


def test_a_rerun_replaces_its_partition_at_commit(pg_url, make_features):
    feats = make_features(200)
    export_scores(_model(), feats, pg_url, as_of="2025-12-31")
    first = _read(pg_url, PARTITIONS)
    export_scores(_model(), feats.iloc[50:], pg_url, as_of="2025-12-31")
    again = _read(pg_url, PARTITIONS)
    pd.testing.assert_frame_equal(again, first)  # the same names and bounds, no leftovers
    hist = _all(pg_url)
    assert hist["account_id"].tolist() == feats["account_id"].iloc[50:].sort_values().tolist()
    assert len(_read(pg_url, "SELECT relname FROM pg_class WHERE relname LIKE "
                             "'churn_score_history%' AND relkind = 'r'")) == 1


def test_a_failing_rerun_keeps_the_old_partition(pg_url, churn_model, make_features):
    export_scores(churn_model, make_features(300), pg_url, as_of="2025-12-31")
    before, parts = _all(pg_url), _read(pg_url, PARTITIONS)
    with pytest.raises(Boom):
        export_scores(_failing_after(type(churn_model), 2), make_features(300), pg_url,
                      as_of="2025-12-31", chunksize=100)
    pd.testing.assert_frame_equal(_all(pg_url), before)
    pd.testing.assert_frame_equal(_read(pg_url, PARTITIONS), parts)


def test_a_killed_run_leaves_tables_and_layout_intact(tmp_path, pg_url, make_features):
    export_scores(StandInRenewalModel(), make_features(100), pg_url, as_of="2025-12-24")
    before = {t: _all(pg_url, t) for t in ("churn_score_history", "churn_scores")}
    tables = _read(pg_url, "SELECT relname FROM pg_class WHERE relnamespace = "
                           "'public'::regnamespace ORDER BY 1")
    make_features(3000).to_parquet(tmp_path / "f.parquet")
    code = _kill_writer_mid_run(tmp_path, tmp_path / "f.parquet", pg_url)
    assert code == -signal.SIGKILL
    for t, frame in before.items():
        pd.testing.assert_frame_equal(_all(pg_url, t), frame)
    # the run's table, created in its transaction, went with it
    pd.testing.assert_frame_equal(_read(pg_url, "SELECT relname FROM pg_class WHERE "
                                                "relnamespace = 'public'::regnamespace "
                                                "ORDER BY 1"), tables)


def test_quoted_and_long_table_names(pg_url, make_features):
    feats = make_features(40)
    for name in ('Weekly "scores"', "é" * 27):  # 54 bytes: the partitions' names are cut
        for as_of in ("2025-12-24", "2025-12-31", "2025-12-31"):
            export_scores(_model(), feats, f"{pg_url}#{name}", as_of=as_of)
        q = '"' + name.replace('"', '""') + '_history"'
        got = _read(pg_url, f"SELECT as_of, COUNT(*) AS n FROM {q} GROUP BY 1 ORDER BY 1")
        assert got["n"].tolist() == [40, 40]
    parts = _read(pg_url, PARTITIONS)  # tables and their primary keys
    assert parts["name"].str.encode("utf-8").str.len().max() <= 63
    assert parts["name"].is_unique and len(parts) == 16
    assert not parts["name"].str.endswith("pkey1").any()  # named, not numbered by the server
    parts = parts[parts["kind"].isin(["r", "p"])]
    assert len(parts) == 8
    long = parts[parts["parent"] == "é" * 27 + "_history"]["name"].tolist()
    assert [n[-9:] for n in long] == ["_20251224", "_20251231"]
    cut = pgbulk.child_name("a" + "é" * 40, "_x")  # 52 bytes of room: never half an é
    assert cut.startswith("a" + "é" * 25 + "_") and cut.endswith("_x")
    other = pgbulk.child_name("b" + "é" * 40, "_x")  # cut the same: told apart by the hash
    assert len(cut.encode()) == 62 and cut[1:] != other[1:] and cut[:26] == "a" + other[1:26]


def _old_database(pg_url, make_features, monkeypatch):
    """Two weeks written by the previous layout's code; then the current code."""
    with monkeypatch.context() as m:
        m.setattr(pgbulk, "create_history", None)
        m.setattr(pgbulk.RunPartition, "open", classmethod(lambda cls, *a: None))
        feats = make_features(150)
        for as_of in ("2025-12-17", "2025-12-24"):
            export_scores(_model(), feats, pg_url, as_of=as_of)
    assert _relkind(pg_url, "churn_score_history") == ["r"]
    return feats


def test_a_history_of_the_previous_layout_is_migrated(pg_url, make_features, monkeypatch):
    feats = _old_database(pg_url, make_features, monkeypatch)
    old = _all(pg_url)
    export_scores(_model(), feats.iloc[:120], pg_url, as_of="2025-12-31")
    assert _relkind(pg_url, "churn_score_history") == ["p"]
    parts = _read(pg_url, PARTITIONS)
    legacy = parts[parts["name"] == "churn_score_history_legacy"]
    assert legacy["bound"].tolist() == ["FOR VALUES IN ('2025-12-17', '2025-12-24')"]
    assert _read(pg_url, "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE "
                         "conrelid = 'churn_score_history'::regclass AND contype = 'p'"
                 )["d"].tolist() == ["PRIMARY KEY (as_of, model_id, account_id)"]  # the old key
    hist = _all(pg_url)
    pd.testing.assert_frame_equal(hist[hist["as_of"] < pd.Timestamp("2025-12-31").date()]
                                  .reset_index(drop=True), old)  # the old rows, untouched
    assert (pd.to_datetime(hist["as_of"]) == "2025-12-31").sum() == 120
    # a re-run of an old week goes into the old table, replacing that run's rows
    s = export_scores(_model(), feats.iloc[:90], pg_url, as_of="2025-12-24")
    assert any("kept newer scores" in n for n in s.notes)
    got = _read(pg_url, "SELECT as_of, COUNT(*) AS n FROM churn_score_history "
                        "GROUP BY 1 ORDER BY 1")
    assert got["n"].tolist() == [150, 90, 120]
    assert len(_read(pg_url, PARTITIONS)) == len(parts)  # no table for it
    from tobmodel.monitor import read_history
    h = read_history(pg_url)  # the monitor reads old and new partitions alike
    assert h.groupby("as_of").size().tolist() == [150, 90, 120]


def test_a_refused_run_leaves_the_previous_layout(pg_url, make_features, monkeypatch):
    feats = _old_database(pg_url, make_features, monkeypatch)
    old = _all(pg_url)
    with pytest.raises(Boom):  # the migration is part of the run's transaction
        export_scores(_failing_after(StandInRenewalModel, 1), feats, pg_url,
                      as_of="2025-12-31", chunksize=50)
    assert _relkind(pg_url, "churn_score_history") == ["r"]
    assert _relkind(pg_url, "churn_score_history_legacy") == []
    pd.testing.assert_frame_equal(_all(pg_url), old)


@pytest.mark.parametrize("dependent", [
    "CREATE VIEW trend AS SELECT account_id, as_of FROM churn_score_history",
    "GRANT SELECT ON churn_score_history TO PUBLIC",
    "CREATE INDEX by_account ON churn_score_history (account_id)"])
def test_a_history_something_depends_on_keeps_its_layout(pg_url, make_features, monkeypatch,
                                                        dependent):
    feats = _old_database(pg_url, make_features, monkeypatch)
    _execute(pg_url, dependent)
    export_scores(_model(), feats.iloc[:100], pg_url, as_of="2025-12-31")
    export_scores(_model(), feats.iloc[:80], pg_url, as_of="2025-12-31")  # a re-run
    assert _relkind(pg_url, "churn_score_history") == ["r"]  # written as before
    got = _read(pg_url, "SELECT as_of, COUNT(*) AS n FROM churn_score_history "
                        "GROUP BY 1 ORDER BY 1")
    assert got["n"].tolist() == [150, 150, 80]
    if dependent.startswith("CREATE VIEW"):
        assert _read(pg_url, "SELECT COUNT(*) AS n FROM trend")["n"].iloc[0] == 380


def test_a_reader_of_the_old_partition_does_not_block_a_rerun(pg_url, make_features,
                                                              monkeypatch):
    feats = make_features(120)
    export_scores(_model(), feats, pg_url, as_of="2025-12-31")
    parts = _read(pg_url, PARTITIONS)
    monkeypatch.setattr(pgbulk, "LOCK_TIMEOUT", "200ms")
    engine = sa.create_engine(pg_url)
    reader = engine.connect()
    try:
        trans = reader.begin()  # a report's open transaction on this week's history
        q = "SELECT COUNT(*) FROM churn_score_history WHERE as_of = '2025-12-31'"
        assert reader.exec_driver_sql(q).scalar() == 120
        s = export_scores(_model(), feats.iloc[:70], pg_url, as_of="2025-12-31")
        # dropping the old partition timed out on the reader's lock: rows one by one
        assert s.scored == 70 and reader.exec_driver_sql(q).scalar() == 70
        trans.rollback()
    finally:
        reader.close()
        engine.dispose()
    pd.testing.assert_frame_equal(_read(pg_url, PARTITIONS), parts)  # no table left over
    assert len(_all(pg_url)) == 70


def test_two_models_of_one_week_written_at_once(pg_url, make_features, monkeypatch):
    import threading
    feats, errors = make_features(150), []
    export_scores(_model("a", 1), feats, pg_url, as_of="2025-12-24")  # the tables exist
    barrier = threading.Barrier(2, timeout=60)
    real = pgbulk.RunPartition.finish

    def finish(self):  # both runs written, neither attached yet: the date is new to both
        barrier.wait()
        real(self)
    monkeypatch.setattr(pgbulk.RunPartition, "finish", finish)

    def run(name, n, rows):
        try:
            export_scores(_model(name, n), feats.iloc[:rows], pg_url, as_of="2025-12-31")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=run, args=a) for a in (("a", 1, 150), ("b", 2, 90))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    parts = _read(pg_url, PARTITIONS)
    runs = parts[parts["kind"] == "r"]
    assert runs["parent"].tolist() == ["churn_score_history_20251224"] + [
        "churn_score_history_20251231"] * 2
    got = _read(pg_url, "SELECT model_name, COUNT(*) AS n FROM churn_score_history "
                        "WHERE as_of = '2025-12-31' GROUP BY 1 ORDER BY 1")
    assert got["n"].tolist() == [150, 90]


def test_a_transaction_begun_before_the_commit_does_not_see_the_new_run(pg_url,
                                                                       make_features):
    feats = make_features(50)
    export_scores(_model(), feats, pg_url, as_of="2025-12-24")
    with snapshot_reader(pg_url) as (c, runs):
        assert runs == 1
        export_scores(_model(), feats.iloc[:30], pg_url, as_of="2025-12-31")
        # its snapshot predates the run: no new week in the history (COPY FREEZE's
        # rows would be visible to it), consistent with the run log it sees
        assert c.exec_driver_sql("SELECT COUNT(*) FROM churn_score_history WHERE "
                                 "as_of = '2025-12-31'").scalar() == 0
        assert c.exec_driver_sql("SELECT COUNT(*) FROM churn_score_history").scalar() == 50
    assert len(_all(pg_url)) == 80
