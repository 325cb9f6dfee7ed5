"""Analytics events through DuckDB (tobmodel.mapping.events) give the account-months of
the pandas rule: every timestamp read by parse_timestamps, ids joined, names case-folded.

The reference below is that rule written out row by row in pandas (what the mapped-events
path computed before it ran on DuckDB); the exports carry the quirks CRMs and analytics
tools write: zoned timestamps of every style, date-only and minute-only values, a column
in an explicit US format, a mapping time zone, blank values, untrimmed names, a second
file in Parquet without an event column, events of unknown accounts and after as_of.
"""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tobmodel.engines.connect import EngineError
from tobmodel.engines.events import account_months, to_pandas
from tobmodel.mapping import account_key, read_export
from tobmodel.mapping.load import _Reader, _events
from tobmodel.mapping.parse import Column, parse_timestamps, text
from tobmodel.mapping.spec import load_mappings
from tobmodel.simulator.crm_exports import write_crm_exports


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return write_crm_exports(tmp_path_factory.mktemp("sf"), n_accounts=60, seed=3,
                             events_per_login=0.03)


def reference(frames, m, tz, crm_ids, cut=None):
    """The pandas rule: per file, parse_timestamps (format, zone), then count per month."""
    spec = m.sources["events"]
    fmt = (spec.get("date_formats") or {}).get("timestamp")
    logins = {str(x).casefold() for x in spec["login_events"]}
    keys = {str(x).casefold() for x in spec["key_events"]}
    parts = []
    for df in frames:
        ts = parse_timestamps(Column("f", "timestamp", "events", "timestamp",
                                     df["timestamp"].astype(object), []), fmt, tz)
        crm = text(df["group_id"].astype(object))
        event = (text(df["event"].astype(object)).astype("string").str.casefold()
                 if "event" in df else pd.Series(sorted(logins)[0], index=df.index))
        parts.append(pd.DataFrame({"ts": ts, "crm": crm, "user": text(df["user_id"]).fillna(""),
                                   "login": event.isin(logins).fillna(False).to_numpy(bool),
                                   "key": event.isin(keys).fillna(False).to_numpy(bool)}))
    e = pd.concat(parts, ignore_index=True)
    e = e.loc[e["ts"].notna() & e["crm"].notna() & ((e["ts"] < cut) if cut else True)]
    known = e["crm"].isin(set(crm_ids))
    reference.unknown = int((~known).sum())
    e = e.loc[known].copy()
    e["account_id"] = account_key(e["crm"])
    e["month"] = e["ts"].to_numpy().astype("datetime64[M]").astype("datetime64[ns]")
    users = e.groupby(["account_id", "month", "user"])["key"].max().reset_index()
    out = users.groupby(["account_id", "month"]).agg(active_seats=("user", "size"),
                                                      keyed=("key", "sum"))
    out["key_feature_adoption"] = out.pop("keyed") / out["active_seats"]
    out["logins"] = e.groupby(["account_id", "month"])["login"].sum()
    return out.reset_index()[["account_id", "month", "active_seats", "key_feature_adoption",
                              "logins"]]


def _run(folder, maps, crm_ids, cut=None):
    m = load_mappings(maps)
    problems = []
    acc = pd.DataFrame({"crm_account_id": crm_ids})
    got = _events(_Reader(folder, m, problems), m, problems, m.settings["timezone"], acc, cut)
    return m, got, problems


def _check(got, want):
    want = want.astype({"active_seats": np.int64, "logins": np.int64})
    assert len(got) > 100
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                  check_dtype=False)
    assert got.dtypes.astype(str).tolist() == ["int64", "datetime64[ns]", "int64", "float64",
                                               "int64"]


@pytest.fixture
def quirky(export_dir, tmp_path):
    """Segment events in six timestamp styles, Asia/Shanghai, half of them in Parquet."""
    d = shutil.copytree(export_dir, tmp_path / "exports")
    ev = pd.read_csv(d / "segment" / "tracks.csv", dtype=str)
    ts = pd.to_datetime(ev["timestamp"], utc=True)
    styles = [ts.dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
              ts.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
              ts.dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d %H:%M:%S%z"),
              ts.dt.strftime("%Y-%m-%d %H:%M"), ts.dt.strftime("%Y-%m")]
    r = np.arange(len(ev)) % len(styles)
    ev["timestamp"] = np.select([r == k for k in range(len(styles))], styles)
    ev.loc[29, "timestamp"] = "  "                   # blank: not an event, not a problem
    ev.loc[30, "group_id"] = "001XXXXXXXXXXXXXXX"    # an account the CRM does not have
    ev.loc[31, "event"] = "  SIGNED IN "             # case and spaces fold away
    ev.loc[32, "user_id"] = ""                       # a blank user is one user
    ev.loc[33, "timestamp"] = "2026-03-01T10:00:00Z"  # after any as_of below
    ev.loc[34:39, "timestamp"] = "2025-10-31T20:00:00Z"  # 1 November in Shanghai
    half = len(ev) // 2
    ev.iloc[:half].to_csv(d / "segment" / "tracks.csv", index=False)
    ev.iloc[half:].drop(columns=["event"]).to_parquet(d / "segment" / "tracks_2.parquet")
    (d / "tz.yaml").write_text(f"format: tobmodel-mapping/1\nextends: {d / 'segment.yaml'}\n"
                               "settings: {timezone: Asia/Shanghai}\nsources:\n  events:\n"
                               "    files: ['tracks*']\n")
    return d, [ev.iloc[:half], ev.iloc[half:].drop(columns=["event"])]


def _crm_ids(folder):
    return read_export(folder, [str(folder / "mapping.yaml")]).tables["accounts"][
        "crm_account_id"].to_numpy(dtype=object)


@pytest.mark.parametrize("cut", [None, pd.Timestamp("2025-12-01")])
def test_zoned_timestamps_of_every_style_give_the_pandas_rules_months(quirky, cut):
    d, frames = quirky
    ids = _crm_ids(d)
    m, got, problems = _run(d, [str(d / "mapping.yaml"), str(d / "tz.yaml")], ids, cut)
    _check(got, reference(frames, m, "Asia/Shanghai", ids, cut))
    assert reference.unknown > 0
    assert [p.line() for p in problems] == [
        "segment/tracks_2.parquet: column 'event' is missing (field event; the models lose "
        "key_feature_adoption_3m, logins_trend counts every event); fix: sources.events."
        "columns: {event: <column>} or sources.events.absent: [event]",
        "segment/tracks.csv, segment/tracks_2.parquet: column 'group_id' names accounts not "
        f"in the accounts export on {reference.unknown:,} events: left out"]
    assert got.attrs["latest"] < (cut or pd.Timestamp("2026-03-02"))
    # the zone matters: read in UTC, the evening of 31 October stays in October
    with pytest.raises(AssertionError, match="month|logins|active_seats|shape"):
        _check(got, reference(frames, m, "UTC", ids, cut))


def test_an_explicit_us_format_gives_the_pandas_rules_months(export_dir, tmp_path):
    d = shutil.copytree(export_dir, tmp_path / "exports")
    ev = pd.read_csv(d / "segment" / "tracks.csv", dtype=str)
    ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True).dt.strftime("%m/%d/%Y %H:%M")
    ev.to_csv(d / "segment" / "tracks.csv", index=False)
    (d / "us.yaml").write_text(f"format: tobmodel-mapping/1\nextends: {d / 'segment.yaml'}\n"
                               "sources:\n  events:\n    date_formats: {timestamp: "
                               "'%m/%d/%Y %H:%M'}\n")
    ids = _crm_ids(d)
    m, got, problems = _run(d, [str(d / "mapping.yaml"), str(d / "us.yaml")], ids)
    assert [p.column for p in problems] == ["group_id"]  # only the unknown accounts' notice
    _check(got, reference([ev], m, "UTC", ids))


def test_bad_timestamps_name_file_column_and_lines_counted_over_the_file(export_dir, tmp_path):
    d = shutil.copytree(export_dir, tmp_path / "exports")
    ev = pd.read_csv(d / "segment" / "tracks.csv", dtype=str)
    ev.loc[[5, 400, 900], "timestamp"] = ["03/04/2025", "04/05/2025", "05/06/2025"]
    ev.loc[[17, 18], "timestamp"] = ["not a date", "2025-13-45"]
    ev.to_csv(d / "segment" / "tracks.csv", index=False)
    maps = [str(d / "mapping.yaml"), "zendesk", str(d / "segment.yaml")]
    lines = [p.line() for p in read_export(d, maps).errors]
    assert lines == [
        "segment/tracks.csv: column 'timestamp' has dates like '03/04/2025', '04/05/2025', "
        "'05/06/2025' (3 rows: lines 7, 402, 902); fix: these could be month/day or day/month:"
        " set sources.events.date_formats: {timestamp: '%m/%d/%Y'} (US) or '%d/%m/%Y' (EU)",
        "segment/tracks.csv: column 'timestamp' has values that are not dates 'not a date', "
        "'2025-13-45' (2 rows: lines 19, 20); fix: sources.events.date_formats: "
        "{timestamp: <strptime format>}"]
    with pytest.raises(Exception, match="segment/tracks.csv: column 'timestamp' has dates"):
        read_export(d, maps, strict=True)


def test_parquet_utc_timestamps_are_converted_to_the_mappings_zone(export_dir, tmp_path):
    d = shutil.copytree(export_dir, tmp_path / "exports")
    shutil.rmtree(d / "segment")
    (d / "segment").mkdir()
    ids = _crm_ids(d)
    t = pd.to_datetime(["2025-10-31 23:30", "2025-10-31 15:00", "2025-11-02 08:00"], utc=True)
    pd.DataFrame({"timestamp": t, "user_id": ["a", "b", "a"], "group_id": ids[:1].repeat(3),
                  "event": ["Signed In", "Report Exported", "signed in"]}
                 ).to_parquet(d / "segment" / "tracks.parquet")
    (d / "tz.yaml").write_text(f"format: tobmodel-mapping/1\nextends: {d / 'segment.yaml'}\n"
                               "settings: {timezone: Asia/Shanghai}\n")
    _, got, problems = _run(d, [str(d / "mapping.yaml"), str(d / "tz.yaml")], ids)
    assert problems == []
    assert got[["month", "active_seats", "logins"]].to_dict("records") == [
        {"month": pd.Timestamp("2025-10-01"), "active_seats": 1, "logins": 0},
        {"month": pd.Timestamp("2025-11-01"), "active_seats": 1, "logins": 2}]
    assert got["key_feature_adoption"].tolist() == [1.0, 0.0]
    assert got.attrs["latest"] == pd.Timestamp("2025-11-02 16:00")


def test_events_from_a_database_table(export_dir, tmp_path):
    import sqlalchemy as sa
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    eng = sa.create_engine(url)
    for name, f in (("sf_account", "Account.csv"), ("sf_contract", "Contract.csv"),
                    ("tracks", "segment/tracks.csv")):
        pd.read_csv(export_dir / f, dtype=str, encoding="utf-8-sig").to_sql(name, eng,
                                                                           index=False)
    eng.dispose()
    db_map = tmp_path / "db.yaml"
    db_map.write_text(f"format: tobmodel-mapping/1\nextends: {export_dir / 'mapping.yaml'}\n"
                      "sources:\n  accounts: {table: sf_account}\n"
                      "  contracts: {table: sf_contract}\n")
    ev_map = tmp_path / "ev.yaml"
    ev_map.write_text(f"format: tobmodel-mapping/1\nextends: {export_dir / 'segment.yaml'}\n"
                      "sources:\n  events: {table: tracks}\n")
    maps = [str(export_dir / "mapping.yaml"), str(export_dir / "segment.yaml")]
    f = read_export(export_dir, maps)
    d = read_export(url, [str(db_map), str(ev_map)], as_of=f.as_of)
    assert not d.errors and d.files["events"] == [f"{url} table tracks"]
    pd.testing.assert_frame_equal(d.tables["usage"], f.tables["usage"])


def test_account_months_counts_any_of_a_list_of_names_or_every_event():
    ev = pd.DataFrame({"timestamp": pd.to_datetime(["2025-11-03", "2025-11-04", "2025-11-05"]),
                       "user_id": ["a", "b", "b"], "account_id": [7, 7, 7],
                       "event": ["signed in", "$identify", "report exported"]})
    got = to_pandas(account_months(ev, as_of="2025-12-31",
                                   login_event=["signed in", "$identify"],
                                   key_event=["report exported"]))
    assert got[["logins", "active_seats", "key_feature_adoption"]].values.tolist() == [
        [2, 2, 0.5]]
    every = to_pandas(account_months(ev, as_of="2025-12-31", login_event=None,
                                     key_event=None))
    assert every[["logins", "key_feature_adoption"]].values.tolist() == [[3, 0.0]]
    with pytest.raises(EngineError, match="without quotes"):
        account_months(ev, as_of="2025-12-31", login_event=["it's"])
