"""Score files are sorted by risk (churn) or lead quality, ties by id: same input, same bytes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tobmodel.export import export_scores, score_accounts, score_leads

AS_OF = "2025-12-31"


def _read(path):
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_churn_scores_are_written_highest_risk_first(tmp_path, churn_model, make_features,
                                                     suffix):
    feats = make_features(700, seed=3).sample(frac=1, random_state=2)  # ids out of order
    feats.loc[feats.index[:5], "tier"] = "giant"  # rejects keep the input order
    out = tmp_path / f"s.{suffix}"
    export_scores(churn_model, feats, out, as_of=AS_OF, chunksize=64)
    got = _read(out)
    expected = score_accounts(churn_model, feats, as_of=AS_OF).sort_values(
        ["p_churn_horizon", "account_id"], ascending=[False, True])
    assert len(got) == 695
    assert got["account_id"].tolist() == expected["account_id"].tolist()
    assert got["p_churn_horizon"].is_monotonic_decreasing
    assert got["risk_tier"].iloc[0] == "high" and got["risk_tier"].iloc[-1] == "low"
    rejects = pd.read_csv(tmp_path / "s.rejects.csv")
    assert rejects["row_number"].tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_lead_scores_best_first_ties_by_id_and_same_bytes(tmp_path, lead_model, suffix):
    rng = np.random.default_rng(5)
    ids = rng.permutation(np.arange(1, 2001))
    leads = pd.DataFrame({"lead_id": ids, "intent": rng.choice(["high", "low", "medium"],
                                                               len(ids)),
                          "employees": 5, "status": "open"})
    runs = {}
    for chunksize in (100, 333, 5000):  # chunking does not change a byte
        out = tmp_path / f"{chunksize}.{suffix}"
        export_scores(lead_model, leads, out, as_of=AS_OF, chunksize=chunksize)
        runs[chunksize] = out.read_bytes()
    assert len(set(runs.values())) == 1
    got = _read(tmp_path / f"100.{suffix}")
    # three levels of p_convert: within each, ascending lead id
    assert got["p_convert"].is_monotonic_decreasing
    for _, g in got.groupby("p_convert"):
        assert g["lead_id"].is_monotonic_increasing and len(g) > 100
    assert got["grade"].iloc[0] == "A"
    mem = score_leads(lead_model, leads, as_of=AS_OF)  # the notebook API keeps input order
    assert mem["lead_id"].tolist() == leads["lead_id"].tolist()


def test_the_sort_spills_to_disk_within_its_memory_cap(tmp_path):
    """More rows than the cap holds (about 80 MB of text under a 100 MB cap, DuckDB's own
    layout being larger): DuckDB spills to the temporary folder, the order is still total,
    every batch but the last is full, and no temporary file is left."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tobmodel.export.order import sorted_batches
    from tobmodel.export.specs import SPECS
    n = 600_000
    rng = np.random.default_rng(1)
    spool = tmp_path / "spool.parquet"
    pq.write_table(pa.table({"account_id": rng.permutation(n).astype(np.int64),
                             "p_churn_horizon": np.round(rng.random(n), 3),
                             "reasons": np.char.add("x" * 120, rng.integers(0, 9, n).astype(str))
                             }), spool, row_group_size=50_000)
    tmp = tmp_path / "sort-tmp"
    batches = sorted_batches(spool, SPECS["churn"], batch_rows=30_000, memory_limit="100MB",
                             temp_directory=tmp)
    out = [next(batches)]
    assert tmp.is_dir() and any(tmp.iterdir())  # sorted runs spilled while the rows stream
    out += list(batches)
    assert [t.num_rows for t in out[:-1]] == [30_000] * (len(out) - 1)
    df = pa.concat_tables(out).to_pandas()
    assert len(df) == n and df["account_id"].is_unique
    key = list(zip(-df["p_churn_horizon"], df["account_id"]))
    assert key == sorted(key)
    assert not tmp.exists() or not any(tmp.iterdir())


def test_a_failed_sort_commits_nothing_anywhere(tmp_path, churn_model, make_features,
                                                monkeypatch):
    """The sort runs before any destination commits: DuckDB refusing it (here a 1 MB cap)
    leaves last week's CSV and database as they were, and no temporary file."""
    import sqlalchemy as sa

    from tobmodel.export import ExportError
    from tobmodel.export import order
    out, db = tmp_path / "s.csv", f"sqlite:///{tmp_path / 's.sqlite'}"
    export_scores(churn_model, make_features(300), [out, db], as_of="2025-12-24")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix == ".csv"}
    monkeypatch.setattr(order, "SORT_MEMORY_LIMIT", "1MB")
    with pytest.raises(ExportError, match="sorting the scores") as e:
        export_scores(churn_model, make_features(20_000), [out, db], as_of="2025-12-31")
    assert str(out) in str(e.value) and "\n" not in str(e.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix == ".csv"} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    engine = sa.create_engine(db)
    with engine.connect() as c:
        weeks = c.exec_driver_sql("SELECT DISTINCT as_of FROM churn_score_history").all()
    engine.dispose()
    assert len(weeks) == 1


def test_in_memory_and_duckdb_sorts_hand_back_the_same_tables(tmp_path):
    """Rows within half the cap are sorted by Arrow, larger ones by DuckDB: the same tables
    (rows, order, batch sizes, types) either way, ties broken by id; the in-memory sort
    leaves no spill folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tobmodel.export import order
    from tobmodel.export.specs import SPECS
    n = 25_000
    rng = np.random.default_rng(4)
    p = np.round(rng.random(n), 2)  # many ties: the id decides
    spool = tmp_path / "spool.parquet"
    pq.write_table(pa.table({
        "account_id": rng.permutation(n).astype(np.int64) * 7 + 1,
        "p_churn_horizon": p,
        "next_renewal_date": pa.array(rng.integers(19_000, 20_000, n).astype("int32"),
                                      pa.date32()),
        "reasons": np.char.add("r", rng.integers(0, 50, n).astype(str)),
        "beyond_followup": rng.random(n) < 0.1}), spool, row_group_size=4_000)
    tmp = tmp_path / "sort-tmp"
    memory = list(order.sorted_batches(spool, SPECS["churn"], batch_rows=3_000,
                                       memory_limit="1GB", temp_directory=tmp))
    assert not tmp.exists()  # sorted in memory, DuckDB not involved
    duck = list(order._duckdb_sorted(spool, SPECS["churn"], 3_000, "1GB", tmp))
    assert [t.num_rows for t in memory] == [t.num_rows for t in duck] == [3_000] * 8 + [1_000]
    got, want = pa.concat_tables(memory), pa.concat_tables(duck).cast(memory[0].schema)
    assert got.equals(want)
    key = list(zip(-got["p_churn_horizon"].to_numpy(), got["account_id"].to_numpy()))
    assert key == sorted(key)
    # over half the cap: DuckDB (the spool takes about 0.5 MB in memory)
    assert order._read_within(spool, 100_000) is None
    assert order._read_within(spool, 10**9).num_rows == n
    assert order.parse_size("2GiB") == 2**31 and order.parse_size("") is None


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_held_in_memory_or_spilled_the_file_has_the_same_bytes(tmp_path, churn_model,
                                                               make_features, monkeypatch,
                                                               suffix):
    """Scores within half the sort's cap are held and sorted in memory; beyond it the
    destination spills them to a Parquet spool that DuckDB sorts: same bytes either way."""
    from tobmodel.export import destinations, order
    feats = make_features(30_000, seed=8).sample(frac=1, random_state=1)
    spools = []
    real = destinations.FileDestination._spill

    def spill(self):
        spools.append(self.path)
        return real(self)
    monkeypatch.setattr(destinations.FileDestination, "_spill", spill)
    held = tmp_path / f"held.{suffix}"
    export_scores(churn_model, feats, held, as_of=AS_OF, chunksize=4_000)
    assert spools == []
    monkeypatch.setattr(order, "in_memory_budget", lambda limit: 1_000_000)  # rows: 3.5 MB
    spilled = tmp_path / f"spilled.{suffix}"
    export_scores(churn_model, feats, spilled, as_of=AS_OF, chunksize=4_000)
    assert spools == [spilled]
    assert spilled.read_bytes() == held.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [held.name, spilled.name, "held.rejects.csv", "spilled.rejects.csv"])


def test_text_categoricals_are_written_as_their_text(tmp_path, churn_model, make_features,
                                                     monkeypatch):
    """A model whose text comes as a Categorical (the renewal models' reasons) writes what
    the same text as objects writes: the same Parquet and CSV bytes held or spilled, chunked
    or not, the same rows in SQLite and in memory (text, None where empty)."""
    import sqlite3

    from tobmodel.export import destinations, order

    class AsText(type(churn_model)):
        def score(self, df, *args, **kw):
            s = super().score(df, *args, **kw)
            text = s["reasons"].to_numpy(object).copy()
            text[s["account_id"].to_numpy() % 3 == 0] = ""  # empty text: None, NULL
            s["reasons"] = text
            return s

    class AsCategories(AsText):
        def score(self, df, *args, **kw):
            s = super().score(df, *args, **kw)
            s["reasons"] = pd.Categorical(s["reasons"], categories=sorted(
                set(s["reasons"]), reverse=True))  # categories in any order, "" among them
            return s

    spools, real_spill = [], destinations.FileDestination._spill

    def spill(self):
        spools.append(self.path)
        return real_spill(self)

    feats = make_features(3_000, seed=4).sample(frac=1, random_state=5)
    feats.loc[feats.index[:7], "tier"] = "giant"  # rejects too
    files = {}
    for model in (AsText(), AsCategories()):
        for chunksize in (250, 5_000):
            for suffix in ("parquet", "csv"):
                out = tmp_path / f"{type(model).__name__}{chunksize}.{suffix}"
                export_scores(model, feats, out, as_of=AS_OF, chunksize=chunksize)
                files[model, chunksize, suffix] = out.read_bytes()
        for suffix in ("parquet", "csv"):  # spilled to the spool that DuckDB sorts
            with monkeypatch.context() as mp:
                mp.setattr(order, "in_memory_budget", lambda limit: 50_000)
                mp.setattr(destinations.FileDestination, "_spill", spill)
                out = tmp_path / f"{type(model).__name__}-spilled.{suffix}"
                export_scores(model, feats, out, as_of=AS_OF, chunksize=250)
            files[model, "spilled", suffix] = out.read_bytes()
    assert len(spools) == 4
    for suffix in ("parquet", "csv"):
        got = {v for k, v in files.items() if k[2] == suffix}
        assert len(got) == 1, suffix
    text = pd.read_parquet(tmp_path / "AsText250.parquet")
    assert text["reasons"].dtype == object and text["reasons"].isna().sum() > 500
    assert text["reasons"].dropna().str.len().gt(0).all()

    frames = [score_accounts(m, feats, as_of=AS_OF, chunksize=400) for m in (AsText(),
                                                                             AsCategories())]
    pd.testing.assert_frame_equal(*frames)
    assert frames[1]["reasons"].dtype == object and frames[1]["reasons"].isna().any()
    assert {type(v) for v in frames[1]["reasons"].dropna()} == {str}
    rows = []
    for m in (AsText(), AsCategories()):
        db = tmp_path / f"{type(m).__name__}.sqlite"
        export_scores(m, feats, db, as_of=AS_OF, chunksize=400)
        with sqlite3.connect(db) as c:
            rows.append(c.execute("SELECT * FROM churn_score_history ORDER BY account_id"
                                  ).fetchall())
        c.close()
    assert rows[0] == rows[1] and any(r[-1] is None for r in rows[0])


@pytest.mark.parametrize("ids_in_order", [True, False])
def test_risk_order_is_lexsorts_order(ids_in_order):
    """Highest probability first, ties by id: the order of ``np.lexsort((ids, -p))``, with
    many ties (0.0 among them), ids in order or not, large and negative ids."""
    from tobmodel.export.order import risk_order
    rng = np.random.default_rng(11)
    n = 50_000
    ids = np.sort(rng.choice(np.arange(-10**12, 10**12, 7_777_777), n, replace=False))
    if not ids_in_order:
        ids = rng.permutation(ids)
    p = rng.choice(np.r_[0.0, rng.random(300)], n)
    got = risk_order(p, ids)
    assert np.array_equal(got, np.lexsort((ids, -p)))
    assert (np.diff(p[got]) <= 0).all() and len(set(got)) == n


def test_a_column_of_one_value_is_found_across_chunk_dictionaries():
    """One value in every row: sliced, not taken; dictionary chunks of differing
    dictionaries naming one value count as one value, anything else does not."""
    import pyarrow as pa

    from tobmodel.export.order import _constant

    def dictionary(codes, values):
        return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(values))
    same = pa.chunked_array([dictionary([0, 0], ["a"]), dictionary([1, 1, 1], ["b", "a"])])
    assert _constant(same)
    assert not _constant(pa.chunked_array([dictionary([0, 0], ["a"]),
                                           dictionary([0], ["b"])]))
    assert not _constant(pa.chunked_array([dictionary([0, 1], ["a", "b"])]))
    assert not _constant(pa.chunked_array([dictionary([0, None], ["a"])]))
    assert _constant(pa.chunked_array([[3, 3], [3]])) and not _constant(
        pa.chunked_array([[3, 3], [4]]))
    assert not _constant(pa.chunked_array([], pa.int64()))
