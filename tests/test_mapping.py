"""Your own data: Salesforce + Zendesk + Segment (and HubSpot) exports through mappings.

The exports are made by the project itself (tobmodel.simulator.crm_exports) from
the simulator, with the tools' file names, field names and quirks; one test per quirk.
"""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tobmodel.cli import main
from tobmodel.mapping import (DataProblems, MappingError, account_key, load_mappings,
                              read_export)
from tobmodel.mapping.contracts import contract_outcomes
from tobmodel.mapping.parse import Column, parse_dates
from tobmodel.simulator.crm_exports import write_crm_exports

MAPS = ["mapping.yaml", "zendesk", "segment.yaml"]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return write_crm_exports(tmp_path_factory.mktemp("sf"), n_accounts=100, seed=7,
                             events_per_login=0.03)


@pytest.fixture(scope="module")
def data(export_dir):
    return read_export(export_dir, [str(export_dir / m) if m.endswith(".yaml") else m
                                    for m in MAPS])


def _maps(folder):
    return [str(folder / m) if m.endswith(".yaml") else m for m in MAPS]


@pytest.fixture
def copy(export_dir, tmp_path):
    """A private copy of the exports a test may break."""
    return shutil.copytree(export_dir, tmp_path / "exports")


# -- quirks, one test each --------------------------------------------------------------

def test_string_ids_are_kept_and_keyed_stably(data, export_dir):
    acc = data.tables["accounts"]
    raw = pd.read_csv(export_dir / "Account.csv", dtype=str, encoding="utf-8-sig")
    assert set(acc["crm_account_id"]) <= set(raw["Id"])
    assert acc["crm_account_id"].str.fullmatch(r"0015g\w{13}").all()
    # the integer key is a pure function of the text id: same in every run and source
    assert (account_key(acc["crm_account_id"]) == acc["account_id"].to_numpy()).all()
    assert acc["account_id"].max() < 2 ** 53 and acc["account_id"].is_unique
    con = data.tables["contracts"]
    assert (account_key(con["crm_account_id"]) == con["account_id"].to_numpy()).all()


def test_zoned_timestamps_any_offset():
    probs = []
    s = pd.Series(["2024-04-20T09:15:00.000+0000", "2024-04-20T20:30:00Z",
                   "2024-04-21T01:00:00+08:00", "2024-04-22", "2024-04-20T17:00:00-0700"])
    utc = parse_dates(Column("x.csv", "CreatedDate", "accounts", "created_date", s, probs))
    assert utc.dt.strftime("%Y-%m-%d").tolist() == [
        "2024-04-20", "2024-04-20", "2024-04-20", "2024-04-22", "2024-04-21"]
    sh = parse_dates(Column("x.csv", "CreatedDate", "accounts", "created_date", s, probs),
                     tz="Asia/Shanghai")
    assert sh.dt.strftime("%Y-%m-%d").tolist()[:3] == ["2024-04-20", "2024-04-21",
                                                        "2024-04-21"]
    assert probs == []


def test_us_dates_are_one_clear_error_and_read_with_a_format():
    probs = []
    s = pd.Series(["04/20/2024", "05/01/2024", "2024-05-02"])
    parse_dates(Column("Contract.csv", "StartDate", "contracts", "start_date", s, probs))
    assert len(probs) == 1
    line = probs[0].line()
    assert "Contract.csv" in line and "'StartDate'" in line and "'04/20/2024'" in line
    assert "date_formats: {start_date: '%m/%d/%Y'}" in line and "lines 2, 3" in line
    probs.clear()
    us = parse_dates(Column("c.csv", "StartDate", "contracts", "start_date", s[:2], probs),
                     fmt="%m/%d/%Y")
    assert us.dt.strftime("%Y-%m-%d").tolist() == ["2024-04-20", "2024-05-01"] and not probs


def test_crlf_and_bom_are_read(export_dir, data):
    head = (export_dir / "Account.csv").read_bytes()[:40]
    assert head.startswith(b"\xef\xbb\xbfId,") and b"\r\n" in (export_dir / "Account.csv"
                                                                ).read_bytes()[:400]
    acc = data.tables["accounts"]
    assert not acc["crm_account_id"].str.contains("\r").any()
    assert not acc["owner"].astype(str).str.contains("\r").any()


def test_title_case_and_chinese_labels_are_learnt(data):
    acc = data.tables["accounts"]
    assert set(acc["region"]) <= {"华北", "华东", "华南", "华中", "西部", "other"}
    assert {"Small Business", "Mid-Market"} <= set(acc["tier"])
    # blank picklist values are a level of their own, never a crash
    assert "unknown" in set(acc["industry"])


def test_rare_levels_pool_into_other(copy):
    acc = pd.read_csv(copy / "Account.csv", dtype=str, encoding="utf-8-sig")
    acc.loc[:1, "Industry"] = ["Aerospace", "Mining"]
    acc.to_csv(copy / "Account.csv", index=False, encoding="utf-8-sig")
    d = read_export(copy, _maps(copy))
    levels = set(d.tables["accounts"]["industry"])
    assert "other" in levels and not {"Aerospace", "Mining"} & levels


def test_custom_fields_through_a_file_extending_the_preset(export_dir, data):
    assert "tier" in data.covariates and "log_seats" in data.covariates
    plain = read_export(export_dir, ["salesforce", "zendesk", str(export_dir / "segment.yaml")])
    assert "tier" not in plain.covariates and "tier" in plain.absent
    assert plain.tables["accounts"]["tier"].eq("unknown").all()


def test_quarterly_and_multi_year_terms_and_the_open_contracts_end(data):
    from tobmodel.renewal import build_account_features
    acc = data.tables["accounts"]
    assert {"monthly", "annual"} <= set(acc["contract_term"])
    assert {"quarterly", "multi_year"} & set(acc["contract_term"])
    con = data.tables["contracts"]
    assert {3, 24} <= set(con["term_months"].astype(int))
    f = build_account_features(data.tables, as_of=data.as_of)
    a = f.loc[f["active"]].set_index("account_id")
    running = con.loc[(con["start_date"] <= data.as_of) & (con["end_date"] > data.as_of)]
    ends = running.groupby("account_id")["end_date"].max()
    both = a.index.intersection(ends.index)
    assert len(both) > 20
    assert (a.loc[both, "next_renewal_date"] == ends.loc[both]).all()
    assert (a.loc[both, "months_to_next_renewal"] > 0).all()


def test_co_termed_add_ons_and_the_renewal_gap():
    c = pd.DataFrame({
        "account_id": [1, 1, 1, 2, 2],
        "start_date": pd.to_datetime(["2023-01-01", "2023-07-01", "2024-02-15", "2023-01-01",
                                      "2024-03-15"]),
        "end_date": pd.to_datetime(["2023-12-31", "2023-12-31", "2025-02-14", "2023-12-31",
                                    "2025-03-14"])})
    # the add-on (row 2) ends with the main contract; a renewal 46 days later is a
    # renewal under a 60-day gap, a churn and win-back under the default 31 days
    assert contract_outcomes(c, "2025-12-31", 60).tolist() == [
        "renewed", "renewed", "churned", "churned", "churned"]
    assert contract_outcomes(c, "2025-12-31", 31).tolist() == [
        "churned", "churned", "churned", "churned", "churned"]
    # a run that ended less than the gap before as_of may still renew: open, not churn
    assert contract_outcomes(c, "2025-03-01", 31).tolist()[2] == "open"


def test_draft_contracts_are_not_contracts(export_dir, data):
    raw = pd.read_csv(export_dir / "Contract.csv", dtype=str, encoding="utf-8-sig")
    drafts = raw.loc[raw["Status"] == "Draft", "Id"]
    assert len(drafts) and not set(drafts) & set(data.tables["contracts"]["crm_contract_id"])


def test_percent_in_a_fraction_column_is_an_error_with_the_fix(copy):
    usage = pd.DataFrame({"Account": ["0015g0000000001IAQ"] * 2,
                          "Month": ["2025-10-01", "2025-11-01"], "Adoption": ["41.3", "12"]})
    usage.to_csv(copy / "usage_monthly.csv", index=False)
    extra = copy / "usage.yaml"
    extra.write_text("format: tobmodel-mapping/1\nsources:\n  usage:\n    files: "
                     "[usage_monthly.csv]\n    columns: {account_id: Account, month: Month,"
                     " key_feature_adoption: Adoption}\n    absent: [active_seats, logins]\n")
    d = read_export(copy, [*_maps(copy), str(extra)])
    lines = [p.line() for p in d.errors]
    assert any("'Adoption' holds percentages" in x and "'41.3'" in x and
               "sources.usage.units: {key_feature_adoption: percent}" in x for x in lines)
    extra.write_text(extra.read_text() + "    units: {key_feature_adoption: percent}\n")
    d = read_export(copy, [*_maps(copy), str(extra)])
    assert not d.errors
    u = d.tables["usage"]
    key = account_key(["0015g0000000001IAQ"])[0]
    got = u.loc[(u["account_id"] == key) & (u["month"] == "2025-10-01"),
                "key_feature_adoption"]
    assert got.max() == pytest.approx(0.413)


def test_events_and_a_usage_table_combine(copy):
    """Segment gives logins and active users, a warehouse sheet gives adoption: the
    features each source gives are kept (a feature is absent only if no source has it)."""
    maps = [str(copy / "mapping.yaml"), "zendesk", "segment"]
    alone = read_export(copy, maps)  # the Segment preset names no key events
    assert "key_feature_adoption_3m" in alone.absent and "logins_trend" in alone.covariates
    u = alone.tables["usage"]
    busy = u.loc[(u["month"] == "2025-10-01") & (u["logins"] > 0), "account_id"][:3]
    crm = alone.tables["accounts"].set_index("account_id").loc[busy, "crm_account_id"]
    pd.DataFrame({"Account": crm.to_numpy(), "Month": "2025-10-01",
                  "Adoption": ["41.3", "12", "90"]}).to_csv(copy / "adoption.csv", index=False)
    extra = copy / "usage.yaml"
    extra.write_text("format: tobmodel-mapping/1\nsources:\n  usage:\n    files: [adoption.csv]"
                     "\n    columns: {account_id: Account, month: Month, key_feature_adoption: "
                     "Adoption}\n    units: {key_feature_adoption: percent}\n"
                     "    absent: [active_seats, logins]\n")
    d = read_export(copy, [*maps, str(extra)])
    assert not d.errors
    for feat in ("logins_trend", "active_seat_share_3m", "key_feature_adoption_3m"):
        assert feat in d.covariates and feat not in d.absent
    both = d.tables["usage"].set_index(["account_id", "month"])
    first = (busy.iloc[0], pd.Timestamp("2025-10-01"))
    assert both.loc[first, "key_feature_adoption"] == pytest.approx(0.413)
    # the Segment sign-ins and active users of that month are still counted
    assert both.loc[first, "logins"] == u.set_index(["account_id", "month"]).loc[first, "logins"]
    assert both.loc[first, "active_seats"] > 0


def test_tickets_without_an_account_are_counted_not_lost(export_dir, data):
    raw = pd.read_csv(export_dir / "zendesk" / "tickets.csv", dtype=str)
    no_org = int(raw["organization_id"].isna().sum())
    assert no_org > 0
    notes = [p for p in data.problems if p.column == "organization_id"]
    assert notes and notes[0].severity == "notice" and notes[0].count == no_org
    assert data.tables["support"]["tickets_opened"].sum() < len(raw)


# -- validate: every problem at once -----------------------------------------------------

def test_validate_reports_every_problem_at_once(copy, capsys):
    acc = pd.read_csv(copy / "Account.csv", dtype=str, encoding="utf-8-sig")
    acc = acc.rename(columns={"Seats__c": "Seats"})
    acc.loc[3, "Onboarding_Completed__c"] = "maybe"
    acc.to_csv(copy / "Account.csv", index=False, encoding="utf-8-sig")
    con = pd.read_csv(copy / "Contract.csv", dtype=str, encoding="utf-8-sig")
    con.loc[5, "StartDate"] = "03/04/2024"
    con.to_csv(copy / "Contract.csv", index=False, encoding="utf-8-sig")
    status = main(["validate", "--input", str(copy), *sum((["--mapping", m]
                                                           for m in _maps(copy)), [])])
    out = capsys.readouterr().out
    assert status == 1 and "usable: no (2 errors above)" in out
    # a mapped optional column that is missing costs features but leaves the data usable
    assert "notice: Account.csv: column 'Seats__c' is missing (field seats; the models lose " \
           "log_seats, active_seat_share_3m)" in out
    assert "'Onboarding_Completed__c' has values that are not true/false: 'maybe' (1 row: " \
           "line 5)" in out
    assert "Contract.csv: column 'StartDate' has dates like '03/04/2024' (1 row: line 7)" in out


def test_validate_without_mapping_detects_presets_and_suggest_fixes_custom_fields(
        export_dir, tmp_path, capsys):
    assert main(["validate", "--input", str(export_dir)]) == 0
    out = capsys.readouterr().out
    assert "salesforce, zendesk, segment" in out and "tier (no tier column mapped)" in out
    assert "Account.csv: has custom fields no mapping uses: Tier__c, Seats__c" in out
    starter = tmp_path / "mapping.yaml"
    assert main(["validate", "--input", str(export_dir), "--suggest", str(starter)]) == 0
    out = capsys.readouterr().out
    assert "usable: yes" in out and "tier, " in out.split("features the models will use")[1]
    assert "Tier__c" in starter.read_text()


def test_mapping_files_are_validated(tmp_path):
    with pytest.raises(MappingError, match="sources.accounts.columns: unknown key 'teir'"):
        load_mappings([{"sources": {"accounts": {"columns": {"teir": "Tier__c"}}}}])
    with pytest.raises(MappingError, match="units.key_feature_adoption: 'percentage' is not"):
        load_mappings([{"sources": {"usage": {"units": {"key_feature_adoption":
                                                        "percentage"}}}}])
    with pytest.raises(MappingError, match="settings.timezone 'Mars/Base'"):
        load_mappings([{"settings": {"timezone": "Mars/Base"}}])
    bad = tmp_path / "m.yaml"
    bad.write_text("sources: [accounts\n")
    with pytest.raises(MappingError, match=r"m.yaml: line \d+ not valid YAML"):
        load_mappings([str(bad)])
    with pytest.raises(MappingError, match="no such mapping file and not a preset"):
        load_mappings(["salesfroce"])


def test_fit_refuses_unusable_data_with_the_same_message(copy):
    con = pd.read_csv(copy / "Contract.csv", dtype=str, encoding="utf-8-sig")
    con = con.drop(columns="AccountId")
    con.to_csv(copy / "Contract.csv", index=False, encoding="utf-8-sig")
    with pytest.raises(DataProblems, match="Contract.csv: column 'AccountId' is missing"):
        read_export(copy, _maps(copy), strict=True)


# -- only what was known at as_of --------------------------------------------------------

def test_future_events_and_tickets_do_not_change_features(copy):
    from tobmodel.mapping.jobs import mapped_features
    as_of = "2025-06-30"
    before = mapped_features(read_export(copy, _maps(copy), as_of=as_of))
    ev = copy / "segment" / "tracks.csv"
    first = pd.read_csv(ev, nrows=1, dtype=str)
    planted = pd.concat([first] * 50, ignore_index=True)
    planted["timestamp"] = "2025-07-15T10:00:00.000Z"
    planted.to_csv(ev, mode="a", header=False, index=False)
    tk = copy / "zendesk" / "tickets.csv"
    t1 = pd.read_csv(tk, nrows=1, dtype=str)
    t1["created_at"], t1["solved_at"], t1["status"] = "2025-07-01T00:00:00Z", "", "open"
    t1.to_csv(tk, mode="a", header=False, index=False)
    after = mapped_features(read_export(copy, _maps(copy), as_of=as_of))
    pd.testing.assert_frame_equal(before, after)


# -- the whole journey on the command line ------------------------------------------------

def test_validate_fit_score_evaluate(export_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    flags = sum((["--mapping", m] for m in _maps(export_dir)), [])
    assert main(["validate", "--input", str(export_dir), *flags]) == 0
    assert main(["fit", "--data", str(export_dir), *flags, "--penalizer", "0.1",
                 "--output", "models/cox.json"]) == 0
    assert main(["score", "--model", "models/cox.json", "--input", str(export_dir), *flags,
                 "--output", "churn_scores.csv"]) == 0
    out = capsys.readouterr().out
    feats = __import__("tobmodel.mapping.jobs", fromlist=["x"]).mapped_features(
        read_export(export_dir, _maps(export_dir)))
    n_active, n_churned = int(feats["active"].sum()), int((~feats["active"]).sum())
    assert f"scored {n_active:,} active accounts; not scored (churned {n_churned:,}); " \
           "rejected 0" in out
    calls = pd.read_csv(tmp_path / "churn_scores.call_list.csv", dtype={"crm_account_id": str})
    assert len(calls) == n_active and calls["rank"].tolist() == list(range(1, n_active + 1))
    assert calls["p_churn_horizon"].is_monotonic_decreasing
    assert calls["crm_account_id"].str.startswith("0015g").all()
    assert calls["account_name"].notna().all() and calls["owner"].notna().all()
    assert "currency" not in calls  # the fixture's mapping states none
    scores = pd.read_csv(tmp_path / "churn_scores.csv", dtype={"crm_account_id": str})
    assert len(scores) == n_active
    # the CRM's own ids and the passthrough columns are in the score output itself
    assert set(scores["crm_account_id"]) == set(calls["crm_account_id"])
    assert {"account_name", "owner"} <= set(scores.columns)
    assert main(["score", "--model", "models/cox.json", "--input", str(export_dir), *flags,
                 "--output", "scores.sqlite"]) == 0
    import sqlalchemy as sa
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'scores.sqlite'}")
    hist = pd.read_sql("select crm_account_id, account_name from churn_score_history", eng)
    eng.dispose()
    assert set(hist["crm_account_id"]) == set(calls["crm_account_id"])
    # the scores rank the truly risky first (the simulator's oracle), better than chance
    truth = pd.read_csv(export_dir / "truth_accounts.csv", dtype={"crm_account_id": str})
    j = calls.merge(truth, on="crm_account_id")
    assert j["p_churn_horizon"].corr(j["p_churn_12m"], method="spearman") > 0.2
    assert main(["evaluate", "--model", "models/cox.json", "--data", str(export_dir),
                 *flags]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "cox" in out


def test_hubspot_exports(tmp_path, monkeypatch, capsys):
    d = write_crm_exports(tmp_path / "hs", n_accounts=120, seed=4, crm="hubspot",
                          events=False)
    assert sorted(p.name for p in d.glob("hubspot-*.csv")) == [
        "hubspot-crm-exports-all-companies-2025-12-31.csv",
        "hubspot-crm-exports-all-contacts-2025-12-31.csv",
        "hubspot-crm-exports-all-deals-2025-12-31.csv"]
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--input", str(d)]) == 0
    out = capsys.readouterr().out
    assert "hubspot, zendesk" in out
    assert main(["fit", "--data", str(d), "--mapping", "hubspot", "--mapping", "zendesk",
                 "--penalizer", "0.1", "--output", "cox.json"]) == 0
    assert main(["score", "--model", "cox.json", "--input", str(d), "--mapping", "hubspot",
                 "--mapping", "zendesk", "--output", "s.parquet"]) == 0
    calls = pd.read_csv(tmp_path / "s.call_list.csv", dtype={"crm_account_id": str})
    assert calls["crm_account_id"].str.fullmatch(r"9\d{9}").all()
    assert np.isfinite(calls["p_churn_horizon"]).all()


def test_mixpanel_events_in_unix_seconds(copy):
    shutil.rmtree(copy / "segment")
    ids = pd.read_csv(copy / "Account.csv", dtype=str, encoding="utf-8-sig")["Id"][:3]
    t = pd.Timestamp("2025-11-03 23:30", tz="UTC").timestamp()
    pd.DataFrame({"event": ["Sign In", "Sign In", "Report Exported", "Sign In"],
                  "time": [int(t), int(t) + 60, int(t) + 90, int(t) + 86_400 * 40],
                  "distinct_id": ["a", "b", "a", "a"],
                  "company_id": [ids[0], ids[0], ids[0], ids[1]]}
                 ).to_csv(copy / "mixpanel_export.csv", index=False)
    extra = copy / "mp.yaml"
    extra.write_text("format: tobmodel-mapping/1\nextends: mixpanel\nsettings: {timezone: "
                     "Asia/Shanghai}\nsources:\n  events:\n    key_events: [Report Exported]\n")
    d = read_export(copy, [str(copy / "mapping.yaml"), "zendesk", str(extra)])
    assert not d.errors
    u = d.tables["usage"].set_index(["account_id", "month"])
    # 23:30 UTC on 3 November is 4 November in Shanghai: still November
    row = u.loc[(account_key([ids[0]])[0], pd.Timestamp("2025-11-01"))]
    assert (row["active_seats"], row["logins"]) == (2, 2)
    assert row["key_feature_adoption"] == pytest.approx(0.5)
    assert (account_key([ids[1]])[0], pd.Timestamp("2025-12-01")) in u.index


def test_sources_from_database_tables(export_dir, tmp_path):
    import sqlalchemy as sa
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    eng = sa.create_engine(url)
    for name, f in (("sf_account", "Account.csv"), ("sf_contract", "Contract.csv")):
        pd.read_csv(export_dir / f, dtype=str, encoding="utf-8-sig").to_sql(name, eng,
                                                                           index=False)
    eng.dispose()
    db_map = tmp_path / "db.yaml"
    db_map.write_text("format: tobmodel-mapping/1\nextends: " + str(export_dir / "mapping.yaml")
                      + "\nsources:\n  accounts: {table: sf_account}\n"
                      "  contracts: {table: sf_contract}\n")
    f = read_export(export_dir, [str(export_dir / "mapping.yaml")])
    d = read_export(url, [str(db_map)], as_of=f.as_of)
    assert not d.errors and d.files["accounts"] == [f"{url} table sf_account"]
    pd.testing.assert_frame_equal(d.tables["contracts"], f.tables["contracts"])
    pd.testing.assert_frame_equal(d.tables["accounts"], f.tables["accounts"])


def test_salesforce_leads_fit_and_score(export_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    raw = pd.read_csv(export_dir / "Lead.csv", dtype=str, encoding="utf-8-sig")
    d = read_export(export_dir, ["salesforce"])
    leads = d.tables["leads"]
    assert (leads["status"] == "converted").sum() == (raw["IsConverted"] == "true").sum()
    assert set(d.lead_features) == {"channel", "industry", "region", "employees"}
    assert main(["fit", "--data", str(export_dir), "--mapping", "salesforce", "--model",
                 "lead-logistic", "--output", "lead.json"]) == 0
    assert main(["score", "--model", "lead.json", "--input", str(export_dir), "--mapping",
                 "salesforce", "--output", "leads.csv"]) == 0
    out = capsys.readouterr().out
    n_open = int((leads["status"] == "open").sum())
    assert f"scored {n_open:,} open leads; not scored (closed {len(leads) - n_open:,})" in out
    calls = pd.read_csv("leads.call_list.csv", dtype=str)
    assert len(calls) == n_open and calls["crm_lead_id"].str.startswith("00Q5g").all()
    assert calls["p_convert"].astype(float).is_monotonic_decreasing
    assert calls["company"].str.startswith("Prospect").all()
    assert main(["evaluate", "--model", "lead.json", "--data", str(export_dir), "--mapping",
                 "salesforce"]) == 0
    assert "channel only" in capsys.readouterr().out


def test_a_file_that_is_not_utf8_is_one_problem_not_a_crash(copy):
    raw = (copy / "Account.csv").read_bytes().decode("utf-8-sig")
    (copy / "Account.csv").write_bytes(raw.encode("gb18030"))  # 华北 in a Chinese code page
    d = read_export(copy, _maps(copy))
    lines = [p.line() for p in d.errors]
    assert any(x.startswith("Account.csv: cannot be read (") and "UTF-8" in x for x in lines)


def test_unreadable_events_file_is_one_problem(copy):
    (copy / "segment" / "tracks.csv").write_bytes(b"timestamp,user_id,group_id,event\n\xff\xfe\x00")
    d = read_export(copy, _maps(copy))
    assert any(p.line().startswith("segment/tracks.csv: cannot be read (") for p in d.errors)


def test_value_maps_with_a_catch_all():
    from tobmodel.mapping.parse import parse_labels
    s = pd.Series(["Enterprise", "enterprise ", "SMB", "Startup", None, "Mid"])
    col = Column("Account.csv", "Tier__c", "accounts", "tier", s, [])
    got = parse_labels(col, {"Enterprise": "KA", "Mid": "mid", "SMB": "SMB", "*": "other"})
    assert got.tolist() == ["KA", "KA", "SMB", "other", "unknown", "mid"]
    # without a map: spellings that differ in case or spaces are one level
    col = Column("Account.csv", "Industry", "accounts", "industry",
                 pd.Series(["Retail", "retail", " Retail", "零售"]), [])
    assert parse_labels(col).tolist() == ["Retail", "Retail", "Retail", "零售"]
