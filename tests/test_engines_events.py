"""Event-level features: one SQL definition, the same results on DuckDB, Spark and pandas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tobmodel.engines.connect import EngineError, duckdb_connection
from tobmodel.engines.events import (USAGE_FEATURES, account_months, reference_usage_features,
                                     ticket_months, to_pandas, usage_features)
from tobmodel.simulator.events import simulate_events_to_parquet

AS_OF = "2025-12-31"
KEYS = ["account_id", "month"]


@pytest.fixture(scope="module")
def scale_data(tmp_path_factory):
    return simulate_events_to_parquet(tmp_path_factory.mktemp("events"), n_accounts=400,
                                      n_events=60_000, seed=5, events_per_file=20_000)


def _events(data) -> pd.DataFrame:
    return pd.read_parquet(data["events"]).assign(event=lambda d: d["event"].astype(str))


def _tickets(data) -> pd.DataFrame:
    return pd.read_parquet(data["tickets"]).assign(via=lambda d: d["via"].astype(str))


def _sorted(df, keys=KEYS) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def pandas_account_months(ev: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """An independent pandas reading of the definition in tobmodel.engines.events."""
    ev = ev.loc[ev["timestamp"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)].copy()
    ev["month"] = ev["timestamp"].dt.to_period("M").dt.to_timestamp()
    ev["is_login"] = ev["event"] == "login"
    g = ev.groupby(KEYS)
    out = pd.DataFrame({"active_seats": g["user_id"].nunique(),
                        "logins": g["is_login"].sum(), "events": g.size()})
    key_users = ev.loc[ev["event"] == "key_feature"].groupby(KEYS)["user_id"].nunique()
    out["key_feature_users"] = key_users.reindex(out.index, fill_value=0)
    out["key_feature_adoption"] = out["key_feature_users"] / out["active_seats"]
    return _sorted(out.reset_index())


def pandas_ticket_months(t: pd.DataFrame, as_of: str) -> pd.DataFrame:
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    t = t.loc[t["created_at"] < end].copy()
    t["month"] = t["created_at"].dt.to_period("M").dt.to_timestamp()
    bot = t["via"] == "bot"
    week = t["created_at"] + pd.Timedelta(days=7)
    t["opened"] = ~bot
    t["unresolved"] = ~bot & (week < end) & (t["solved_at"].isna() | (t["solved_at"] > week))
    t["bot"], t["esc"] = bot, bot & t["escalated"]
    g = t.groupby(KEYS)[["opened", "unresolved", "bot", "esc"]].sum().reset_index()
    return _sorted(g.rename(columns={"opened": "tickets_opened", "unresolved":
                                     "tickets_unresolved", "bot": "bot_sessions",
                                     "esc": "bot_escalations"}))


def _dates(df, col="month"):
    return df.assign(**{col: pd.to_datetime(df[col])})


def test_account_months_match_an_independent_pandas_reading(scale_data):
    got = _dates(_sorted(to_pandas(account_months(scale_data["events"], as_of=AS_OF,
                                                  kinds=["export"]))))
    want = pandas_account_months(_events(scale_data), AS_OF)
    assert len(got) == len(want) > 1000
    for c in ("account_id", "active_seats", "logins", "events", "key_feature_users"):
        np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), err_msg=c)
    np.testing.assert_allclose(got["key_feature_adoption"], want["key_feature_adoption"],
                               rtol=1e-12)
    assert (got["month"] == want["month"]).all()
    ev = _events(scale_data)
    assert got["events_export"].sum() == (ev["event"] == "export").sum()


def test_only_what_was_known_at_as_of_is_counted(scale_data):
    ev = _events(scale_data).iloc[:500]
    base = to_pandas(account_months(ev, as_of=AS_OF))
    acc = int(ev["account_id"].iloc[0])
    future = pd.DataFrame({"timestamp": pd.to_datetime(["2026-01-01 00:00:00"]),
                           "user_id": [acc * 1000 + 998], "account_id": [acc],
                           "event": ["login"]})
    same = to_pandas(account_months(pd.concat([ev, future]), as_of=AS_OF))
    pd.testing.assert_frame_equal(_sorted(base), _sorted(same))
    last_day = future.assign(timestamp=pd.to_datetime(["2025-12-31 23:59:59"]))
    more = _sorted(to_pandas(account_months(pd.concat([ev, last_day]), as_of=AS_OF)))
    row = more.loc[(more["account_id"] == acc) & (pd.to_datetime(more["month"]) == "2025-12-01")]
    assert len(row) == 1 and row["logins"].iloc[0] >= 1


def test_ticket_months_match_pandas_and_use_only_what_was_known(scale_data):
    t = _tickets(scale_data)
    got = _dates(_sorted(to_pandas(ticket_months(t, as_of=AS_OF))))
    want = pandas_ticket_months(t, AS_OF)
    for c in ("account_id", "tickets_opened", "tickets_unresolved", "bot_sessions",
              "bot_escalations"):
        np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), err_msg=c)
    # a ticket solved after as_of was open at as_of; one opened 3 days before is not yet late
    planted = pd.DataFrame({"account_id": [999_001, 999_002],
                            "created_at": pd.to_datetime(["2025-12-01", "2025-12-28"]),
                            "solved_at": pd.to_datetime(["2026-01-20", None]),
                            "via": "web", "escalated": False})
    p = to_pandas(ticket_months(planted, as_of=AS_OF)).set_index("account_id")
    assert p.loc[999_001, "tickets_unresolved"] == 1
    assert p.loc[999_002, "tickets_unresolved"] == 0 and p.loc[999_002, "tickets_opened"] == 1


def test_tickets_without_bot_columns_leave_bot_counts_empty():
    t = pd.DataFrame({"account_id": [1], "created_at": pd.to_datetime(["2025-10-01"]),
                      "solved_at": pd.to_datetime(["2025-10-02"])})
    out = to_pandas(ticket_months(t, as_of=AS_OF))
    assert out["tickets_opened"].tolist() == [1] and out["bot_sessions"].isna().all()


def test_usage_features_match_the_pandas_account_features():
    import tobmodel
    sim = tobmodel.simulate("saas", n_accounts=400, seed=11)
    tables = sim.tables
    want = reference_usage_features(tables, AS_OF)
    acc = tables["accounts"]
    active = acc.loc[acc["account_id"].isin(want["account_id"]),
                     ["account_id", "seats", "first_contract_date"]]
    got = _sorted(to_pandas(usage_features(tables["usage"], tables["support"], active,
                                           as_of=AS_OF)), ["account_id"])
    assert len(got) == len(want) > 100
    np.testing.assert_array_equal(got["account_id"], want["account_id"])
    # accounts without a complete month get the median of the population scored (pandas:
    # of every account); compare those with one
    full = (pd.to_datetime(active.set_index("account_id").loc[got["account_id"],
            "first_contract_date"]) < "2025-12-01").to_numpy()
    assert full.mean() > 0.9
    for c in USAGE_FEATURES:
        np.testing.assert_allclose(got.loc[full, c].to_numpy(float),
                                   want.loc[full, c].to_numpy(float), rtol=1e-12, atol=1e-12,
                                   err_msg=c)


def test_out_of_core_aggregation_under_a_small_memory_limit(tmp_path):
    data = simulate_events_to_parquet(tmp_path / "big", n_accounts=20_000, n_events=2_000_000,
                                      seed=3, events_per_file=1_000_000)
    small = duckdb_connection("64MB", threads=1, temp_directory=tmp_path / "spill")
    assert small.sql("SELECT current_setting('memory_limit')").fetchall()[0][0] in ("61.0 MiB",
                                                                                 "64.0 MB")
    rel = account_months(data["events"], as_of=AS_OF, con=small)
    got = _sorted(rel.df())
    want = _sorted(account_months(data["events"], as_of=AS_OF, memory_limit="2GB").df())
    pd.testing.assert_frame_equal(got, want)
    assert got["events"].sum() == data["n_events"]


def test_missing_event_column_is_one_line_naming_it(scale_data):
    ev = _events(scale_data).drop(columns=["user_id"])
    with pytest.raises(EngineError, match="events lacks column user_id"):
        account_months(ev, as_of=AS_OF)
    with pytest.raises(EngineError, match="no such file"):
        account_months("/nonexistent/events", as_of=AS_OF)


@pytest.mark.spark
def test_spark_runs_the_same_definition_with_identical_results(spark, scale_data):
    kw = {"as_of": AS_OF}
    duck = duckdb_connection("1GB")
    for step, src in ((account_months, scale_data["events"]),
                      (ticket_months, scale_data["tickets"])):
        d = _dates(_sorted(to_pandas(step(str(src), con=duck, **kw))))
        s = _dates(_sorted(to_pandas(step(str(src), engine="spark", con=spark, **kw))))
        assert list(d.columns) == list(s.columns) and len(d) == len(s) > 100
        for c in d.columns:
            if d[c].dtype.kind == "f":
                np.testing.assert_allclose(s[c], d[c], rtol=1e-12, err_msg=c)
            else:
                np.testing.assert_array_equal(s[c].to_numpy(), d[c].to_numpy(), err_msg=c)
    accounts = str(scale_data["accounts"])
    d = usage_features(account_months(str(scale_data["events"]), con=duck, **kw),
                       ticket_months(str(scale_data["tickets"]), con=duck, **kw), accounts,
                       con=duck, **kw)
    s = usage_features(account_months(str(scale_data["events"]), engine="spark", con=spark,
                                      **kw),
                       ticket_months(str(scale_data["tickets"]), engine="spark", con=spark,
                                     **kw), accounts, engine="spark", con=spark, **kw)
    d, s = _sorted(to_pandas(d), ["account_id"]), _sorted(to_pandas(s), ["account_id"])
    assert len(d) == 400
    for c in USAGE_FEATURES:
        np.testing.assert_allclose(s[c].to_numpy(float), d[c].to_numpy(float), rtol=1e-12,
                                   atol=1e-12, err_msg=c)


def _by_time(ev: pd.DataFrame, folder, parts: int):
    """``ev`` rewritten as ``parts`` files by time, as a tracking export is: every file
    holds every account."""
    folder.mkdir()
    ev = ev.sort_values("timestamp", kind="stable").reset_index(drop=True)
    for i, rows in enumerate(np.array_split(np.arange(len(ev)), parts)):
        ev.iloc[rows].to_parquet(folder / f"part-{i}.parquet")
    return folder


def test_account_ranges_come_from_the_footers_and_cover_every_id(tmp_path):
    from tobmodel.engines.events import account_batches
    data = simulate_events_to_parquet(tmp_path / "ev", n_accounts=300, n_events=40_000, seed=2,
                                      events_per_file=5_000)
    files = sorted(str(f) for f in data["events"].glob("*.parquet"))
    batches = account_batches(files, batch_events=10_000)
    assert len(batches) == 4 and batches[0][0] is None and batches[-1][1] is None
    assert [b[1] for b in batches[:-1]] == [b[0] for b in batches[1:]]  # cut to cut, no gap
    ev = pd.read_parquet(data["events"])

    def inside(ids, lo, hi):
        return ((ids > lo) if lo is not None else True) & ((ids <= hi) if hi is not None
                                                           else True)
    for lo, hi, fs in batches:  # every event of a range lies in the files named for it
        held = pd.concat([pd.read_parquet(f) for f in fs])["account_id"]
        assert inside(ev["account_id"], lo, hi).sum() == inside(held, lo, hi).sum() > 0
    # files partitioned by time hold every account: they do not split
    by_time = _by_time(ev, tmp_path / "by_time", 3)
    assert account_batches(sorted(str(f) for f in by_time.glob("*.parquet")), 10_000) is None


@pytest.mark.parametrize("layout", ["by_account", "by_time"])
def test_written_account_months_equal_the_one_query(tmp_path, layout):
    from tobmodel.engines.events import write_account_months
    data = simulate_events_to_parquet(tmp_path / "ev", n_accounts=600, n_events=120_000, seed=8,
                                      events_per_file=15_000)
    src = data["events"]
    if layout == "by_time":
        src = _by_time(pd.read_parquet(src), tmp_path / "by_time", 4)
    want = _dates(_sorted(to_pandas(account_months(str(src), as_of=AS_OF, kinds=["export"]))))
    out = tmp_path / "usage.parquet"
    con = duckdb_connection("1GB", threads=2)
    n = write_account_months(str(src), out, as_of=AS_OF, con=con, batch_events=20_000,
                             kinds=["export"])
    got = _dates(_sorted(pd.read_parquet(out)))
    assert n == len(got) == len(want) > 1000
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert con.sql("SELECT current_setting('threads')").fetchall()[0][0] == 2  # restored
    # a failed run leaves the previous file as it was
    before = out.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.read_parquet(src).drop(columns=["user_id"]).to_parquet(bad / "part-0.parquet")
    with pytest.raises(EngineError, match="events lacks column user_id"):
        write_account_months(str(bad), out, as_of=AS_OF)
    assert out.read_bytes() == before


@pytest.mark.parametrize("kind", ["parquet", "csv"])  # ranges of accounts; the one query
def test_unreadable_events_are_one_line_and_leave_nothing(tmp_path, kind):
    from tobmodel.engines.events import write_account_months
    bad = pd.DataFrame({"timestamp": ["not a time"], "user_id": [1], "account_id": [1],
                        "event": ["login"]})
    src = tmp_path / f"e.{kind}"
    bad.to_parquet(src) if kind == "parquet" else bad.to_csv(src, index=False)
    with pytest.raises(EngineError, match=rf"e\.{kind}: DuckDB cannot aggregate the events"):
        write_account_months(str(src), tmp_path / "u.parquet", as_of=AS_OF)
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]
