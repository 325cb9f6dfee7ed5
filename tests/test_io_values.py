"""One vocabulary of cell values: the table loaders and the score job accept the same
booleans, numbers, dates and categories, and refuse the same (infinite numbers included)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.export.rejects import SeenIds, check_rows
from tobmodel.io.readers import read_table
from tobmodel.io.validate import DataValidationError, validate
from tobmodel.io.values import FALSE_TEXT, TRUE_TEXT, parse_number
from tobmodel.io.writers import write_csv

BOOLEAN_CELLS = [*TRUE_TEXT, *FALSE_TEXT, "TRUE", " Yes ", "F", "N", 1, 0, 1.0, True, False,
                 "maybe", "2", "-1", "oui", "tru", 2, 0.5]
CATEGORY_CELLS = ["annual", "monthly", "none", "Annual", " annual", "ANNUAL", "quarterly", 3]
DATE_CELLS = ["2024-03-05", " 2024-03-05", "2024-03-05T00:00:00", pd.Timestamp("2024-03-05"),
              "12/01/2025", "2024-13-01", "2024-03-05 10:30", "yesterday", 20240305]
NUMBER_CELLS = ["1.5", " 2 ", "+0.25", "1e3", 3, 2.5, "inf", "-inf", "Infinity", "-Infinity",
                float("inf"), float("-inf"), "nan", "NaN", "x", "1,5", "1e400"]


@pytest.fixture(scope="module")
def accounts():
    return tobmodel.simulate("saas", n_accounts=40, seed=3).accounts


def _io_accepts(accounts, column, cell):
    raw = accounts.astype({column: object})
    raw[column] = raw[column].astype(object)
    raw.at[5, column] = cell
    try:
        return True, validate(raw, "accounts")[column].iloc[5]
    except DataValidationError as e:
        assert e.column == column and e.rows == (6,)
        return False, None


def _export_accepts(cell, dtype):
    chunk = pd.DataFrame({"account_id": [1, 2], "x": pd.Series([cell, cell], dtype=object)})
    feature = {"name": "x", "dtype": dtype, "categories": ["annual", "monthly", "none"]}
    rc = check_rows(chunk, "account_id", [feature], SeenIds())
    if rc.ok.all():
        return True, rc.frame["x"].iloc[0]
    return False, None


@pytest.mark.parametrize("column, dtype, cell",
                         [("onboarding_completed", "bool", c) for c in BOOLEAN_CELLS]
                         + [("arr", "number", c) for c in NUMBER_CELLS]
                         + [("first_contract_date", "date", c) for c in DATE_CELLS]
                         # tier, industry, region and channel are open vocabularies (any label
                         # of the team's CRM); contract_term is closed
                         + [("contract_term", "category", c) for c in CATEGORY_CELLS], ids=repr)
def test_loaders_and_score_job_read_cells_alike(accounts, column, dtype, cell):
    io_ok, io_value = _io_accepts(accounts, column, cell)
    ex_ok, ex_value = _export_accepts(cell, dtype)
    assert io_ok == ex_ok
    word = str(cell).strip().lower()
    if dtype == "bool":
        assert io_ok == (word in (*TRUE_TEXT, *FALSE_TEXT))
        if io_ok:
            assert bool(io_value) == bool(ex_value) == (word in TRUE_TEXT)
    elif dtype == "category":
        assert io_ok == (cell in ("annual", "monthly", "none"))  # exact labels, case-sensitive
        if io_ok:
            assert io_value == ex_value == cell
    elif dtype == "date":
        assert io_ok == (cell in DATE_CELLS[:4])  # ISO calendar dates only
        if io_ok:
            assert io_value == ex_value == pd.Timestamp("2024-03-05")
    elif io_ok:
        assert io_value == ex_value == float(word) and np.isfinite(io_value)
    else:
        assert word in ("inf", "-inf", "infinity", "-infinity", "nan", "x", "1,5", "1e400")


def test_infinite_arr_is_refused_by_the_loader(accounts, tmp_path):
    # +inf satisfied ">= 0" and went on to shift the tier medians of other accounts' prices
    raw = accounts.copy()
    raw.loc[[3, 8], "arr"] = [np.inf, -np.inf]
    with pytest.raises(DataValidationError, match=r"column 'arr' has values that are not "
                       r"finite numbers inf, -inf \(rows 4, 9"):
        validate(raw, "accounts", source="accounts")
    path = tmp_path / "accounts.csv"
    write_csv(accounts, path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("arr")] = "Infinity"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=r"accounts.csv: column 'arr' has values that "
                       r"are not finite numbers inf \(row 4;"):
        read_table(path, "accounts")


def test_infinite_timing_columns_are_rejected_by_the_score_job():
    chunk = pd.DataFrame({"account_id": [1, 2, 3, 4], "active": True,
                          "tenure_months": [5.0, np.inf, 7.0, 8.0],
                          "months_to_next_renewal": [1.0, 2.0, -np.inf, 3.0],
                          "seats": [1.0, 2.0, 3.0, 4.0]})
    rc = check_rows(chunk, "account_id", [{"name": "seats", "dtype": "number"}], SeenIds(),
                    scope="churn")
    assert rc.reason.tolist() == [None, "not a finite number", "not a finite number", None]
    assert rc.field.tolist()[1:3] == ["tenure_months", "months_to_next_renewal"]


def test_blank_boolean_text_is_missing_not_false():
    chunk = pd.DataFrame({"account_id": [1, 2], "flag": pd.Series(["  ", "yes"], dtype=object)})
    rc = check_rows(chunk, "account_id", [{"name": "flag", "dtype": "bool"}], SeenIds())
    assert rc.reason.tolist() == ["missing value", None]


def test_text_numbers_are_parsed_round_trip_exactly(accounts):
    rng = np.random.default_rng(5)
    x = rng.random(2000) * np.exp(rng.normal(0, 4, 2000))
    parsed = parse_number(pd.Series([repr(float(v)) for v in x], dtype=object)).values
    assert (parsed.to_numpy() == x).all()  # pd.to_numeric gets about half of these wrong
    raw = accounts.copy()
    raw["arr"] = [repr(float(v)) for v in x[:len(raw)]]
    assert (validate(raw, "accounts")["arr"].to_numpy() == x[:len(raw)]).all()


def test_big_ids_as_text_stay_exact(accounts):
    raw = accounts.astype({"account_id": object})
    raw["account_id"] = [str(2**60 + i) for i in range(len(raw))]
    out = validate(raw, "accounts")
    assert out["account_id"].tolist() == [2**60 + i for i in range(len(raw))]


def test_score_job_keeps_big_ids_exact():
    # ids beyond 2**53 went through a float: 2**60 + 1 came out as 2**60 (another account)
    big = [2**60 + 1, 2**60 + 3, 2**53 + 1]
    for raw in (pd.Series(big, dtype="int64"), pd.Series([str(i) for i in big], dtype=object)):
        chunk = pd.DataFrame({"account_id": raw, "x": [1.0, 2.0, 3.0]})
        rc = check_rows(chunk, "account_id", [{"name": "x", "dtype": "number"}], SeenIds())
        assert rc.ok.all() and rc.frame["account_id"].tolist() == big
    chunk = pd.DataFrame({"account_id": pd.Series(["7", "7.5", "x", None], dtype=object),
                          "x": 1.0})
    rc = check_rows(chunk, "account_id", [{"name": "x", "dtype": "number"}], SeenIds())
    assert rc.reason.tolist() == [None, "id is not an integer", "id is not an integer",
                                  "missing id"]


def test_typed_columns_and_their_text_are_checked_alike():
    """A Parquet file's typed columns (float64, bool, a categorical of the model's labels)
    take the row checks' short path: the same reasons, fields, values and cleaned frame
    as the same cells given as text (the general path)."""
    n = 12
    typed = pd.DataFrame({
        "account_id": np.arange(1, n + 1),
        "x": np.array([1.5, np.nan, np.inf, -np.inf, 0.0, -2.0, 3.25, 1e300, np.nan, 4.0,
                       5.0, 6.0]),
        "flag": np.array([True, False] * 6),
        "tier": pd.Categorical(["KA", "SMB", None, "mid", "KA", "SMB", "mid", None, "KA",
                                "SMB", "mid", "KA"], categories=["KA", "mid", "SMB"]),
    })
    text = typed.astype(object).astype({"account_id": np.int64})
    text["x"] = ["1.5", None, "inf", "-inf", "0", "-2", "3.25", "1e300", "", "4", "5", "6"]
    text["tier"] = text["tier"].where(typed["tier"].notna(), None)
    feats = [{"name": "x", "dtype": "number"}, {"name": "flag", "dtype": "bool"},
             {"name": "tier", "dtype": "category", "categories": ["KA", "mid", "SMB"]}]
    a, b = (check_rows(df, "account_id", feats, SeenIds()) for df in (typed, text))
    assert a.reason.tolist() == b.reason.tolist() == [
        None, "missing value", "not a finite number", "not a finite number", None, None,
        None, "missing value", "missing value", None, None, None]
    assert a.field.tolist() == b.field.tolist()
    assert a.value.tolist()[2:4] == ["inf", "-inf"] and b.value.tolist()[2:4] == ["inf", "-inf"]
    ok = a.ok
    assert ok.tolist() == b.ok.tolist()
    for c in ("x", "flag"):
        assert a.frame[c].to_numpy()[ok].tolist() == b.frame[c].to_numpy()[ok].tolist()
    assert a.frame["tier"][ok].astype(str).tolist() == b.frame["tier"][ok].astype(str).tolist()
    assert a.frame["x"].dtype == b.frame["x"].dtype == np.float64
    assert a.frame["flag"].dtype == b.frame["flag"].dtype == bool
    assert typed["x"].isna().sum() == 2  # the input is left alone
