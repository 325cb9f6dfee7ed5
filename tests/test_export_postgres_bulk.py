"""PostgreSQL bulk writes: binary COPY and the latest table refilled in bulk, with the
same rows, the same one transaction and the same fall-backs as the row-by-row path."""
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import StandInRenewalModel, snapshot_reader
from test_export_destinations import _read
from tobmodel.export import export_scores
from tobmodel.export import postgres as pgbulk

pytestmark = pytest.mark.postgres

TABLES = ("churn_scores", "churn_score_history", "churn_score_rejects")


def _execute(url, sql):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            c.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _tables(url):
    return {t: _read(url, f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in TABLES}


def _primary_key(url, table):
    return _read(url, "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                      f"WHERE conrelid = '{table}'::regclass AND contype = 'p'")


def _features(make_features):
    feats = make_features(700)
    feats.loc[5, "tier"] = "giant"          # a reject
    feats.loc[9, "seats"] = float("nan")    # another
    return feats


def test_binary_copy_writes_what_csv_copy_writes(pg_url, postgres_url, churn_model,
                                                 make_features, monkeypatch):
    calls = []
    real = pgbulk.copy_payload
    monkeypatch.setattr(pgbulk, "copy_payload", lambda t, b: calls.append(b) or real(t, b))
    feats = _features(make_features)
    s = export_scores(churn_model, feats, pg_url, as_of="2025-12-31", chunksize=256)
    assert (s.scored, s.rejected) == (698, 2)
    assert calls and all(calls)  # every COPY was binary
    binary = _tables(pg_url)
    other = postgres_url.rsplit("/", 1)[0] + "/" + pg_url.rsplit("/", 1)[1] + "csv"
    monkeypatch.setattr(pgbulk, "binary_encoder", lambda: None)  # as without pgpq
    calls.clear()
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {other.rsplit('/', 1)[1]}")
    try:
        export_scores(churn_model, feats, other, as_of="2025-12-31", chunksize=256)
        assert calls and not any(calls)  # CSV
        for t, frame in _tables(other).items():
            pd.testing.assert_frame_equal(frame, binary[t], check_exact=True)
    finally:
        with engine.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE {other.rsplit('/', 1)[1]} WITH (FORCE)")
        engine.dispose()


def test_a_column_of_another_type_gets_csv(pg_url, churn_model, make_features, monkeypatch):
    export_scores(churn_model, make_features(50), pg_url, as_of="2025-12-24")
    _execute(pg_url, "ALTER TABLE churn_score_history ALTER COLUMN horizon_months TYPE integer")
    calls = []
    real = pgbulk.copy_payload
    monkeypatch.setattr(pgbulk, "copy_payload", lambda t, b: calls.append(b) or real(t, b))
    export_scores(churn_model, make_features(50), pg_url, as_of="2025-12-31")
    assert calls[0] is False  # the history table: CSV, which the server converts
    got = _read(pg_url, "SELECT horizon_months, COUNT(*) AS n FROM churn_score_history "
                        "WHERE as_of = '2025-12-31' GROUP BY 1")
    assert got.to_dict("records") == [{"horizon_months": 12, "n": 50}]


def test_latest_refill_keeps_other_models_and_the_primary_key(pg_url, make_features):
    feats = make_features(300)
    other = StandInRenewalModel(model_id="standin-000000000002")
    other.name = "other"  # a second model name in the same tables
    export_scores(other, feats.iloc[:120], pg_url, as_of="2025-12-31")
    key = _primary_key(pg_url, "churn_scores")
    for as_of in ("2025-12-24", "2025-12-31"):
        export_scores(StandInRenewalModel(), feats, pg_url, as_of=as_of)
    latest = _read(pg_url, "SELECT model_name, as_of, COUNT(*) AS n FROM churn_scores "
                           "GROUP BY 1, 2 ORDER BY 1")
    assert latest["model_name"].tolist() == ["other", "standin"]
    assert latest["n"].tolist() == [120, 300]
    assert set(pd.to_datetime(latest["as_of"])) == {pd.Timestamp("2025-12-31")}
    pd.testing.assert_frame_equal(_primary_key(pg_url, "churn_scores"), key)
    assert key["def"].iloc[0] == "PRIMARY KEY (model_name, account_id)"
    # only one model name left: the refill truncates, and still keeps the key
    _execute(pg_url, "DELETE FROM churn_scores WHERE model_name = 'other'")
    export_scores(StandInRenewalModel(), feats.iloc[:200], pg_url, as_of="2026-01-07")
    assert _read(pg_url, "SELECT COUNT(*) AS n FROM churn_scores")["n"].iloc[0] == 200
    pd.testing.assert_frame_equal(_primary_key(pg_url, "churn_scores"), key)


def test_a_foreign_key_on_the_latest_table_falls_back_to_row_by_row(pg_url, make_features):
    feats = make_features(100)
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24")
    _execute(pg_url, "CREATE TABLE calls (model_name text, account_id bigint, FOREIGN KEY "
                     "(model_name, account_id) REFERENCES churn_scores ON DELETE CASCADE)")
    _execute(pg_url, "INSERT INTO calls VALUES ('standin', 7)")
    s = export_scores(StandInRenewalModel(), feats.iloc[10:], pg_url, as_of="2025-12-31")
    assert s.scored == 90  # TRUNCATE and dropping the key are refused: rows one by one
    got = _read(pg_url, "SELECT as_of, COUNT(*) AS n FROM churn_scores GROUP BY 1")
    assert got["n"].tolist() == [90] and str(got["as_of"].iloc[0]) == "2025-12-31"
    assert _read(pg_url, "SELECT COUNT(*) AS n FROM calls")["n"].iloc[0] == 0  # cascaded


def test_a_reader_holding_the_latest_table_does_not_block_the_run(pg_url, make_features,
                                                                  monkeypatch):
    feats = make_features(80)
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24")
    monkeypatch.setattr(pgbulk, "LOCK_TIMEOUT", "200ms")
    engine = sa.create_engine(pg_url)
    reader = engine.connect()
    try:
        trans = reader.begin()  # a dashboard's open transaction on the latest table
        assert reader.exec_driver_sql("SELECT COUNT(*) FROM churn_scores").scalar() == 80
        s = export_scores(StandInRenewalModel(), feats.iloc[:60], pg_url, as_of="2025-12-31")
        # the bulk refill timed out on the reader's lock (waiting for it would hang this
        # test): rows one by one, which readers do not block
        assert s.scored == 60
        assert reader.exec_driver_sql("SELECT COUNT(*) FROM churn_scores").scalar() == 60
        trans.rollback()
    finally:
        reader.close()
        engine.dispose()
    assert _read(pg_url, "SELECT COUNT(*) AS n FROM churn_scores")["n"].iloc[0] == 60


@pytest.mark.parametrize("way", ["in place", "swap"])
def test_a_failure_after_the_truncate_keeps_last_weeks_latest_rows(pg_url, make_features,
                                                                   monkeypatch, way):
    feats = make_features(150)
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24")
    before = _tables(pg_url)

    def boom(*args):
        raise RuntimeError("killed mid-refill")
    if way == "in place":  # after the TRUNCATE and the key dropped
        monkeypatch.setattr(pgbulk, "_swap_latest", lambda *a: False)
        monkeypatch.setattr(pgbulk, "latest_from_history", boom)
    else:  # after the old table dropped and the new one renamed
        swap = pgbulk._swap_latest
        monkeypatch.setattr(pgbulk, "_swap_latest", lambda *a: swap(*a) and boom())
    with pytest.raises(RuntimeError, match="mid-refill"):
        export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-31")
    for t, frame in _tables(pg_url).items():
        pd.testing.assert_frame_equal(frame, before[t])


def test_each_copy_block_goes_in_id_order_with_the_same_rows(pg_url, churn_model,
                                                            make_features):
    feats = make_features(700)
    feats = feats.iloc[np.random.default_rng(3).permutation(len(feats))].reset_index(drop=True)
    export_scores(churn_model, feats, pg_url, as_of="2025-12-31", chunksize=256)
    stored = _read(pg_url, "SELECT account_id FROM churn_score_history ORDER BY ctid")
    ids = stored["account_id"].to_numpy()
    sent = [np.sort(feats["account_id"].to_numpy()[i:i + 256]) for i in range(0, 700, 256)]
    np.testing.assert_array_equal(ids, np.concatenate(sent))  # block by block, id order
    latest = _read(pg_url, "SELECT * FROM churn_scores ORDER BY account_id")
    history = _read(pg_url, "SELECT * FROM churn_score_history ORDER BY account_id")
    pd.testing.assert_frame_equal(latest, history)
    by_id = churn_model.score(feats, as_of="2025-12-31").sort_values("account_id")
    np.testing.assert_array_equal(history["p_churn_horizon"], by_id["p_churn_horizon"])


def test_key_order():
    assert pgbulk.key_order(np.array([5, 5, 9])) is None
    assert pgbulk.key_order(np.array([2, 1, 1, 0])).tolist() == [3, 1, 2, 0]
    assert pgbulk.key_order(np.array(["b", "a"], dtype=object)) is None  # sent as they come


def _oid(url, table="churn_scores"):
    return int(_read(url, f"SELECT to_regclass('{table}')::oid AS o")["o"].iloc[0])


def _columns(url, table="churn_scores"):
    return _read(url, "SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull "
                      f"FROM pg_attribute WHERE attrelid = to_regclass('{table}') AND attnum > 0"
                      " AND NOT attisdropped ORDER BY attnum")


def _acl(url, table="churn_scores"):
    return _read(url, "SELECT relacl::text AS acl FROM pg_class WHERE oid = "
                      f"to_regclass('{table}')")


@pytest.mark.parametrize("name", [None, 'Weekly "scores"', "é" * 27])
def test_the_latest_table_is_swapped_with_its_columns_key_and_grants(pg_url, make_features,
                                                                     name):
    feats = make_features(300)
    url = pg_url if name is None else f"{pg_url}#{name}"
    q = "churn_scores" if name is None else '"' + name.replace('"', '""') + '"'
    h = "churn_score_history" if name is None else '"' + name.replace('"', '""') + '_history"'
    export_scores(StandInRenewalModel(), feats, url, as_of="2025-12-24")
    role = f"crm_{np.random.default_rng().integers(1e9)}"
    _execute(pg_url, f"CREATE ROLE {role}")
    _execute(pg_url, f"GRANT SELECT ON {q} TO {role}")
    _execute(pg_url, f"GRANT UPDATE ON {q} TO {role} WITH GRANT OPTION")
    _execute(pg_url, f"GRANT SELECT, INSERT ON {q} TO PUBLIC")
    key = _read(pg_url, "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                        f"WHERE conrelid = to_regclass('{q}') AND contype = 'p'")
    before = {"oid": _oid(pg_url, q), "key": key, "columns": _columns(pg_url, q),
              "acl": _acl(pg_url, q)}
    export_scores(StandInRenewalModel(), feats.iloc[:250], url, as_of="2025-12-31")
    assert _oid(pg_url, q) != before["oid"]  # a new table took the name
    pd.testing.assert_frame_equal(
        _read(pg_url, "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                      f"WHERE conrelid = to_regclass('{q}') AND contype = 'p'"), before["key"])
    pd.testing.assert_frame_equal(_columns(pg_url, q), before["columns"])
    pd.testing.assert_frame_equal(_acl(pg_url, q), before["acl"])
    assert role in before["acl"]["acl"].iloc[0]
    latest = _read(pg_url, f"SELECT * FROM {q} ORDER BY account_id")
    history = _read(pg_url, f"SELECT * FROM {h} WHERE as_of = '2025-12-31' ORDER BY account_id")
    pd.testing.assert_frame_equal(latest, history)
    out_of_order = _read(pg_url, "SELECT count(*) AS n FROM (SELECT account_id - lag(account_id)"
                                 f" OVER (ORDER BY ctid) AS d FROM {q}) s WHERE d < 0")
    assert out_of_order["n"].iloc[0] == 0  # written in key order: the key's sort is one pass
    names = _read(pg_url, "SELECT relname FROM pg_class WHERE relname LIKE '%%refill%%'")
    assert names.empty  # no table or index left under a passing name


@pytest.mark.parametrize("order", ["ascending", "shuffled"])
def test_the_swap_reads_the_partition_as_it_lies_only_when_ids_went_in_ascending(
        pg_url, make_features, order):
    feats = make_features(600)
    if order == "shuffled":  # each COPY block sorted, but the blocks' ids interleave
        feats = feats.sample(frac=1, random_state=3)
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24", chunksize=100)
    statements = []
    engine_events = (sa.engine.Engine, "before_cursor_execute")

    def keep(conn, cursor, statement, *rest):
        if statement.startswith("CREATE TABLE") and " AS SELECT " in statement:
            statements.append(statement)
    sa.event.listen(*engine_events, keep)
    try:
        export_scores(StandInRenewalModel(), feats.iloc[50:], pg_url, as_of="2025-12-31",
                      chunksize=100)
    finally:
        sa.event.remove(*engine_events, keep)
    [ctas] = statements
    part = _read(pg_url, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = "
                         "i.inhrelid WHERE i.inhparent = 'churn_score_history_20251231'"
                         "::regclass")["relname"].tolist()
    if order == "ascending":  # straight from the run's partition, no sort
        assert ctas.endswith(f'FROM {part[0]}') and "ORDER BY" not in ctas
    else:
        assert ctas.endswith("ORDER BY account_id")
    latest = _read(pg_url, "SELECT * FROM churn_scores ORDER BY account_id")
    history = _read(pg_url, "SELECT * FROM churn_score_history WHERE as_of = '2025-12-31' "
                            "ORDER BY account_id")
    assert len(latest) == 550
    pd.testing.assert_frame_equal(latest, history)
    laid = _read(pg_url, "SELECT account_id FROM churn_scores ORDER BY ctid")["account_id"]
    assert laid.is_monotonic_increasing  # either way the key's sort finds it in order


@pytest.mark.parametrize("extra", [
    "COMMENT ON TABLE churn_scores IS 'read by the CRM'",
    "ALTER TABLE churn_scores ALTER COLUMN reasons SET DEFAULT 'none'",
    "CREATE INDEX ON churn_scores (p_churn_horizon)",
    "CREATE VIEW risky AS SELECT * FROM churn_scores WHERE risk_tier = 'high'",
    "ALTER TABLE churn_scores SET (fillfactor = 90)",
    "CREATE PUBLICATION crm FOR TABLE churn_scores",
    "CREATE PUBLICATION everything FOR ALL TABLES",  # names no table: would miss the DROP
    "CREATE PUBLICATION crm FOR TABLES IN SCHEMA public",
])
def test_a_latest_table_with_more_than_tobmodel_gave_it_is_refilled_in_place(
        pg_url, make_features, extra):
    feats = make_features(120)
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24")
    _execute(pg_url, extra)
    oid = _oid(pg_url)
    export_scores(StandInRenewalModel(), feats.iloc[:100], pg_url, as_of="2025-12-31")
    assert _oid(pg_url) == oid  # the same table, what was added to it kept
    got = _read(pg_url, "SELECT as_of, COUNT(*) AS n FROM churn_scores GROUP BY 1")
    assert got["n"].tolist() == [100] and str(got["as_of"].iloc[0]) == "2025-12-31"


def test_a_reader_waiting_during_the_swap_reads_the_new_table(pg_url, make_features,
                                                             monkeypatch):
    import threading
    feats = make_features(80)
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24")
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    got, swapped = {}, []

    def read():
        try:
            with engine.connect() as c:
                got["row"] = tuple(c.exec_driver_sql(
                    "SELECT COUNT(*), MAX(as_of)::text FROM churn_scores").first())
        except Exception as e:  # noqa: BLE001 - the assertion below shows it
            got["error"] = repr(e)

    swap = pgbulk._swap_latest
    reader = threading.Thread(target=read)

    def swap_then_read(*args):
        swapped.append(swap(*args))
        reader.start()  # the old table is dropped in the run's transaction: it waits
        with engine.connect() as c:
            for _ in range(200):
                if c.exec_driver_sql("SELECT COUNT(*) FROM pg_stat_activity WHERE "
                                     "wait_event_type = 'Lock' AND query LIKE "
                                     "'%%FROM churn_scores%%'").scalar():
                    break
                threading.Event().wait(0.05)
            else:
                raise AssertionError("the reader did not wait for the run")
        return swapped[-1]
    monkeypatch.setattr(pgbulk, "_swap_latest", swap_then_read)
    try:
        export_scores(StandInRenewalModel(), feats.iloc[:60], pg_url, as_of="2025-12-31")
        reader.join(30)
    finally:
        engine.dispose()
    assert swapped == [True]
    assert got == {"row": (60, "2025-12-31")}  # the new table, found by its name


def test_a_transaction_begun_before_the_swap_reads_the_new_table_empty(pg_url, make_features):
    feats = make_features(50)
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24")
    with snapshot_reader(pg_url) as (c, runs):
        assert runs == 1
        oid = _oid(pg_url)
        export_scores(StandInRenewalModel(), feats.iloc[:30], pg_url, as_of="2025-12-31")
        assert _oid(pg_url) != oid  # swapped
        # as after a TRUNCATE (not MVCC-safe, docs/postgresql.md): the table is found
        # by its name, without an error, and its new rows are not in the snapshot
        assert c.exec_driver_sql("SELECT COUNT(*) FROM churn_scores").scalar() == 0
    assert _read(pg_url, "SELECT COUNT(*) AS n FROM churn_scores")["n"].iloc[0] == 30


def test_the_new_latest_table_stays_in_the_old_ones_schema(pg_url, make_features):
    feats = make_features(40)
    _execute(pg_url, 'CREATE SCHEMA "CRM data"')
    database = pg_url.rsplit("/", 1)[1]
    _execute(pg_url, f"ALTER DATABASE {database} SET search_path = \"CRM data\", public")
    export_scores(StandInRenewalModel(), feats, pg_url, as_of="2025-12-24")
    _execute(pg_url, "CREATE SCHEMA scratch")  # first on the path now, where new tables go
    _execute(pg_url, f"ALTER DATABASE {database} SET search_path = scratch, \"CRM data\"")
    oid = _oid(pg_url, '"CRM data".churn_scores')
    export_scores(StandInRenewalModel(), feats.iloc[:30], pg_url, as_of="2025-12-31")
    where = _read(pg_url, "SELECT relnamespace::regnamespace::text AS s, relname FROM pg_class "
                          "WHERE relname LIKE 'churn_scores%%' ORDER BY 2")
    assert where.to_dict("records") == [{"s": '"CRM data"', "relname": "churn_scores"},
                                        {"s": '"CRM data"', "relname": "churn_scores_pkey"}]
    assert _oid(pg_url, '"CRM data".churn_scores') != oid  # swapped, in its own schema
