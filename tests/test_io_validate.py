"""Validation against the schema: each kind of bad cell gives a one-line error naming
the file, the column and the rows (file line numbers in CSV: header = line 1)."""
from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.io.readers import read_table
from tobmodel.io.validate import DataValidationError, validate
from tobmodel.io.writers import write_csv
from tobmodel.schema import TABLES


@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("hardware", n_accounts=150, seed=1)


def _bad_csv(df, path, edits):
    """Write ``df`` as CSV, then set ``{(data_row, column): text}``; return the path and
    the file line number of each edited row (data row 0 is line 2)."""
    write_csv(df, path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for (i, column), text in edits.items():
        rows[i + 1][rows[0].index(column)] = text
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path, tuple(sorted({i + 2 for i, _ in edits}))


def _error(path, table):
    with pytest.raises(DataValidationError) as info:  # the CLI turns this into exit code 1
        read_table(path, table)
    err = info.value
    assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
    assert err.source == str(path) and err.table == table
    return err


def _check(err, column, lines, *phrases):
    assert err.column == column and err.rows == lines
    msg = str(err)
    assert f"column '{column}'" in msg
    assert ("rows " if len(lines) > 1 else "row ") + ", ".join(map(str, lines)) in msg
    for p in phrases:
        assert p in msg


def test_missing_column(sim, tmp_path):
    path = write_csv(sim.accounts.drop(columns="tier"), tmp_path / "accounts.csv")
    err = _error(path, "accounts")
    assert err.column == "tier" and "column 'tier' is missing" in str(err)


# (table, {(data_row, column): text}, column blamed, phrases the message must hold)
CELL_CASES = {
    "text_in_numeric_column": ("accounts", {(6, "seats"): "ten"}, "seats",
                               ["not whole numbers 'ten'"]),
    "fraction_in_integer_column": ("usage", {(3, "logins"): "2.5"}, "logins",
                                   ["not whole numbers 2.5"]),
    "unparseable_date": ("leads", {(2, "created_date"): "31/01/2025", (9, "created_date"): "soon"},
                         "created_date", ["not dates '31/01/2025', 'soon'", "YYYY-MM-DD"]),
    "time_of_day_in_date": ("usage", {(0, "month"): "2024-03-01 09:30"}, "month",
                            ["times of day"]),
    "zero_seats_below_minimum": ("accounts", {(4, "seats"): "0", (11, "seats"): "-2"}, "seats",
                                 ["below 1: 0, -2"]),
    # tier, industry, region and channel are open (any label); contract_term is not
    "unknown_category": ("accounts", {(1, "contract_term"): "Enterprise",
                                      (15, "contract_term"): "Enterprise",
                                      (40, "contract_term"): "ka"}, "contract_term",
                         ["unknown values 'Enterprise', 'ka'",
                          "allowed: monthly, annual, none"]),
    "blank_numeric_cell": ("contracts", {(3, "arr"): ""}, "arr", ["blank values"]),
    "bad_boolean": ("leads", {(5, "budget_confirmed"): "maybe"}, "budget_confirmed",
                    ["not booleans 'maybe'", "true/false, 1/0, yes/no"]),
}


def test_open_categories_take_any_label(sim, tmp_path):
    path, _ = _bad_csv(sim.accounts, tmp_path / "accounts.csv",
                       {(1, "tier"): "Enterprise", (2, "region"): "华东", (3, "industry"): " Mining "})
    from tobmodel.io.readers import read_table
    acc = read_table(path, "accounts")
    assert acc.loc[1, "tier"] == "Enterprise" and acc.loc[2, "region"] == "华东"
    assert acc.loc[3, "industry"] == "Mining"
    assert list(acc["tier"].cat.categories[:3]) == ["KA", "mid", "SMB"]


@pytest.mark.parametrize("case", CELL_CASES)
def test_bad_cell(sim, tmp_path, case):
    table, edits, column, phrases = CELL_CASES[case]
    path, lines = _bad_csv(getattr(sim, table), tmp_path / f"{table}.csv", edits)
    _check(_error(path, table), column, lines, *phrases)


def _with_end_date(contracts):
    return contracts.index[contracts["end_date"].notna()][:2]


def test_zero_tenure_contract(sim, tmp_path):
    i = _with_end_date(sim.contracts)[0]
    start = sim.contracts.loc[i, "start_date"].strftime("%Y-%m-%d")
    path, lines = _bad_csv(sim.contracts, tmp_path / "contracts.csv", {(i, "end_date"): start})
    _check(_error(path, "contracts"), "end_date", lines, "tenure <= 0")


def test_end_before_start(sim, tmp_path):
    rows = _with_end_date(sim.contracts)
    path, lines = _bad_csv(sim.contracts, tmp_path / "contracts.csv",
                           {(i, "end_date"): "2001-01-31" for i in rows})
    _check(_error(path, "contracts"), "end_date", lines, "before start_date")


def test_duplicate_ids(sim, tmp_path):
    first = str(sim.accounts.loc[0, "account_id"])
    path, lines = _bad_csv(sim.accounts, tmp_path / "accounts.csv", {(7, "account_id"): first})
    _check(_error(path, "accounts"), "account_id", (2,) + lines, f"duplicate values {first}")


def test_duplicate_composite_key(sim, tmp_path):
    df = pd.concat([sim.support, sim.support.iloc[[5]]], ignore_index=True)
    err = _error(write_csv(df, tmp_path / "support.csv"), "support")
    assert err.column == ("account_id", "month") and err.rows == (7, len(df) + 1)
    assert "columns 'account_id', 'month' have duplicate values" in str(err)


def test_support_and_lead_row_checks(sim, tmp_path):
    opened = sim.support.loc[2, "tickets_opened"]
    path, lines = _bad_csv(sim.support, tmp_path / "support.csv",
                           {(2, "tickets_unresolved"): str(opened + 1)})
    _check(_error(path, "support"), "tickets_unresolved", lines, "greater than tickets_opened")
    i = sim.leads.index[sim.leads["outcome_date"].notna()][0]
    path, lines = _bad_csv(sim.leads, tmp_path / "leads.csv", {(i, "outcome_date"): "2000-01-01"})
    _check(_error(path, "leads"), "outcome_date", lines, "before created_date")


def test_booleans_accept_words_and_digits_in_any_case():
    spec = TABLES["accounts"]
    raw = pd.DataFrame({c.name: ["1"] * 6 for c in spec.columns})
    raw = raw.assign(tier="KA", business_type="saas", industry="tech", region="east",
                     acquisition_channel="content", contract_term="annual",
                     first_contract_date="2024-02-29", account_id=range(6),
                     sales_overpromised=["TRUE", "yes", "1", "False", "NO", "0"],
                     onboarding_completed=[True, False, 1, 0, 1.0, 0.0])
    got = validate(raw, "accounts")
    assert got["sales_overpromised"].tolist() == [True, True, True, False, False, False]
    assert got["onboarding_completed"].tolist() == [True, False, True, False, True, False]
    assert got["sales_overpromised"].dtype == bool


def test_dtypes_follow_schema_from_text_input(sim):
    raw = sim.contracts.astype(str).replace({"NaT": "", "nan": ""})
    got = validate(raw, "contracts")
    pd.testing.assert_frame_equal(got, sim.contracts)
    assert list(got["outcome"].cat.categories) == list(TABLES["contracts"].column("outcome").allowed)


def test_nullable_integers_stay_exact_from_floats(sim):
    raw = sim.leads.astype({"account_id": "float64", "previous_lead_id": "float64"})
    got = validate(raw, "leads")
    assert got["account_id"].dtype == "Int64"
    pd.testing.assert_frame_equal(got, sim.leads)


def test_validate_uses_positions_not_index_and_default_rows_from_1(sim):
    df = sim.accounts.set_index(np.arange(len(sim.accounts)) * 10).copy()
    df.iloc[3, df.columns.get_loc("arr")] = -5.0
    with pytest.raises(DataValidationError) as info:
        validate(df, "accounts", source="crm export")
    assert info.value.rows == (4,) and str(info.value).startswith("crm export: column 'arr'")


def test_semicolon_file_gets_a_delimiter_hint(sim, tmp_path):
    path = tmp_path / "usage.csv"
    sim.usage.to_csv(path, sep=";", index=False)
    err = _error(path, "usage")
    assert "';'-separated" in str(err)
