"""Reading tables from CSV, Parquet and SQL: round trips and one-line errors for bad sources."""
from __future__ import annotations

import csv
import gzip
import pickle

import pandas as pd
import pytest
import sqlalchemy as sa

import tobmodel
from tobmodel.io.readers import read_table, read_tables
from tobmodel.io.validate import DataValidationError
from tobmodel.io.writers import write_csv, write_parquet

TABLE_NAMES = ["accounts", "leads", "contracts", "usage", "support"]


@pytest.fixture(scope="module", params=["saas", "hardware"])
def sim(request):
    return tobmodel.simulate(request.param, n_accounts=150, seed=1)


@pytest.fixture(scope="module")
def saas():
    return tobmodel.simulate("saas", n_accounts=150, seed=1)


def _to_sqlite(tables, path):
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for name, df in tables.items():
            df.to_sql(name, conn, index=False)
    engine.dispose()
    return f"sqlite:///{path}"


def _edit_csv(src, dst, edits):
    """Copy CSV ``src`` to ``dst`` setting ``{(file_line, column): text}``."""
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for (line, column), value in edits.items():
        rows[line - 1][rows[0].index(column)] = value
    with open(dst, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return dst


@pytest.fixture
def accounts_csv(saas, tmp_path):
    return write_csv(saas.accounts, tmp_path / "clean_accounts.csv")


def _raises(path_or_url, table, **kw):
    with pytest.raises(DataValidationError) as info:
        read_table(path_or_url, table, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return info.value, msg


# -- round trips ------------------------------------------------------------------------
def test_round_trip_csv_parquet_sqlite_keeps_exact_dtypes(sim, tmp_path):
    has_nulls = sim.contracts["end_date"].isna().any() and sim.leads["account_id"].isna().any()
    assert has_nulls or sim.config["business_type"] == "saas"
    url = _to_sqlite(sim.tables, tmp_path / "crm.db")
    for name, original in sim.tables.items():
        sources = [write_csv(original, tmp_path / f"{name}.csv"),
                   write_parquet(original, tmp_path / f"{name}.parquet"), url]
        for source in sources:
            got = read_table(source, name)
            pd.testing.assert_frame_equal(got, original, check_exact=True)
            assert got.attrs["rejected"] == {}


def test_round_trip_gzip_csv(saas, tmp_path):
    path = tmp_path / "usage.csv.gz"
    saas.usage.to_csv(path, index=False, compression="gzip")
    pd.testing.assert_frame_equal(read_table(path, "usage"), saas.usage, check_exact=True)


def test_read_tables_folder_and_database(saas, tmp_path):
    folder = saas.to_parquet(tmp_path / "pq", truth=False)
    tables = read_tables(folder)
    assert sorted(tables) == sorted(TABLE_NAMES)
    pd.testing.assert_frame_equal(tables["contracts"], saas.contracts)
    url = _to_sqlite({"leads": saas.leads}, tmp_path / "crm.db")
    assert list(read_tables(url)) == ["leads"]
    with pytest.raises(DataValidationError, match="has no table 'accounts'"):
        read_tables(url, ["leads", "accounts"])


def test_read_tables_refuses_two_files_for_one_table(saas, tmp_path):
    write_csv(saas.accounts, tmp_path / "accounts.csv")
    write_parquet(saas.accounts, tmp_path / "accounts.parquet")
    with pytest.raises(DataValidationError, match="several files .*accounts.csv"):
        read_tables(tmp_path)


def test_sql_table_name_can_differ(saas, tmp_path):
    url = _to_sqlite({"crm_accounts": saas.accounts}, tmp_path / "crm.db")
    pd.testing.assert_frame_equal(read_table(url, "accounts", sql_table="crm_accounts"),
                                  saas.accounts)


def test_as_of_excludes_later_usage_months_and_reports_them(saas, tmp_path):
    path = write_csv(saas.usage, tmp_path / "usage.csv")
    as_of = pd.Timestamp("2025-06-30")
    got = read_table(path, "usage", as_of=as_of)
    late = saas.usage["month"] > as_of
    assert late.any() and (got["month"] <= as_of).all()
    pd.testing.assert_frame_equal(got, saas.usage[~late].reset_index(drop=True))
    (reason, info), = got.attrs["rejected"].items()
    assert "month after as_of 2025-06-30" == reason and info["count"] == late.sum()
    assert info["rows"][0] == late.to_numpy().argmax() + 2  # file line of the first late row


def test_extra_columns_are_kept_at_the_end_unvalidated(saas, tmp_path):
    df = saas.accounts.copy()
    df.insert(0, "crm_note", "anything")
    got = read_table(write_csv(df, tmp_path / "accounts.csv"), "accounts")
    assert list(got.columns) == list(saas.accounts.columns) + ["crm_note"]
    pd.testing.assert_frame_equal(got.drop(columns="crm_note"), saas.accounts)


# -- bad files --------------------------------------------------------------------------
def test_missing_file(tmp_path):
    err, msg = _raises(tmp_path / "accounts.csv", "accounts")
    assert "accounts.csv" in msg and "does not exist" in msg


@pytest.mark.parametrize("content", [b"", "header"], ids=["zero_bytes", "header_only"])
def test_empty_file(saas, tmp_path, content):
    path = tmp_path / "accounts.csv"
    path.write_bytes(content if content == b"" else
                     (",".join(saas.accounts.columns) + "\n").encode())
    err, msg = _raises(path, "accounts")
    assert msg.startswith(str(path)) and err.table == "accounts"
    assert ("0 bytes" in msg) if content == b"" else ("no data rows (only a header)" in msg)


def test_not_utf8_file_names_line_and_iconv(saas, tmp_path):
    df = saas.accounts.head(5).assign(note="ok")
    df.loc[2, "note"] = "华北大客户"  # data row 2 -> file line 4
    path = tmp_path / "accounts.csv"
    path.write_bytes(df.to_csv(index=False, date_format="%Y-%m-%d").encode("gbk"))
    err, msg = _raises(path, "accounts")
    assert "accounts.csv: is not UTF-8" in msg and "line 4" in msg
    assert "iconv -f GBK -t UTF-8 accounts.csv" in msg


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "accounts.parquet"
    path.write_bytes(b"not parquet at all")
    err, msg = _raises(path, "accounts")
    assert "accounts.parquet: cannot be read as Parquet" in msg


def test_csv_row_with_extra_cells(accounts_csv, tmp_path):
    lines = accounts_csv.read_text().splitlines()
    lines[6] += ",oops"
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join(lines) + "\n")
    err, msg = _raises(path, "accounts")
    assert "14 cells where the header has 13" in msg and err.rows == (7,)


def test_unknown_table_name_is_a_value_error(accounts_csv):
    with pytest.raises(ValueError, match="unknown table 'customers'"):
        read_table(accounts_csv, "customers")


# -- bad databases ----------------------------------------------------------------------
def test_unreachable_postgres_is_one_line():
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/x"
    err, msg = _raises(url, "accounts")
    assert msg.startswith("postgresql+psycopg://nobody:***@127.0.0.1:1/x: cannot connect")
    assert "secret" not in msg


def test_sqlite_in_missing_folder_is_not_created(tmp_path):
    db = tmp_path / "no_such_folder" / "crm.db"
    err, msg = _raises(f"sqlite:///{db}", "accounts")
    assert "does not exist" in msg and "no_such_folder" in msg
    assert not db.parent.exists()
    err, msg = _raises(f"sqlite:///{tmp_path / 'crm.db'}", "accounts")
    assert "database file" in msg and not (tmp_path / "crm.db").exists()


def test_missing_sql_table(saas, tmp_path):
    url = _to_sqlite({"leads": saas.leads}, tmp_path / "crm.db")
    err, msg = _raises(url, "accounts")
    assert "crm.db table accounts: has no table 'accounts' (tables: leads)" in msg


def test_bad_value_in_sqlite_names_table_column_and_row(saas, tmp_path):
    df = saas.accounts.astype({"seats": object})
    df.loc[4, "seats"] = "ten"
    url = _to_sqlite({"accounts": df}, tmp_path / "crm.db")
    err, msg = _raises(url, "accounts")
    assert (err.column, err.rows) == ("seats", (5,))
    assert "table accounts: column 'seats' has values that are not whole numbers 'ten'" in msg


def test_error_survives_pickling(tmp_path):
    err, msg = _raises(tmp_path / "x.csv", "usage")
    assert str(pickle.loads(pickle.dumps(err))) == msg


def test_gzip_header_only(saas, tmp_path):
    path = tmp_path / "usage.csv.gz"
    path.write_bytes(gzip.compress((",".join(saas.usage.columns) + "\n").encode()))
    err, msg = _raises(path, "usage")
    assert "no data rows" in msg


# -- issue 13: messages that name the file (and column) -----------------------------------
def _one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 400, msg
    return msg


def test_a_csv_gz_that_is_not_gzip(saas, tmp_path):
    path = tmp_path / "accounts.csv.gz"
    saas.accounts.to_csv(path, index=False, compression=None)
    with pytest.raises(DataValidationError) as e:
        read_table(path, "accounts")
    msg = _one_line(e)
    assert "accounts.csv.gz: is not gzip-compressed" in msg and "zlib" not in msg


def test_a_truncated_csv_gz(saas, tmp_path):
    path = tmp_path / "usage.csv.gz"
    saas.usage.to_csv(path, index=False, compression="gzip")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataValidationError) as e:
        read_table(path, "usage")
    assert "usage.csv.gz: cannot be decompressed as gzip" in _one_line(e)


def test_a_cell_over_a_pyarrow_block_is_read(saas, tmp_path):
    df = saas.accounts.copy()
    df["notes"] = ""
    df.loc[3, "notes"] = "x" * 5_000_000  # pyarrow's 1 MB block: "straddling object"
    df.to_csv(tmp_path / "accounts.csv", index=False)
    back = read_table(tmp_path / "accounts.csv", "accounts")
    assert len(back) == len(df) and len(back.loc[3, "notes"]) == 5_000_000
    # industry is an open category (any label): a closed one shows the long value shortened
    df = saas.accounts.astype({"contract_term": object})
    df.loc[3, "contract_term"] = "y" * 5_000_000
    df.to_csv(tmp_path / "big.csv", index=False)
    with pytest.raises(DataValidationError) as e:
        read_table(tmp_path / "big.csv", "accounts")
    msg = _one_line(e)
    assert "big.csv: column 'contract_term' has unknown values" in msg and "5,000,000 char" in msg
