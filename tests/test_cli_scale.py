"""The scale path on the command line: simulate --events, score --engine duckdb | spark."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import tobmodel
from tobmodel.cli import main
from tobmodel.renewal import build_account_features, fit_renewal_model


@pytest.fixture(scope="module")
def model_and_parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale_cli")
    f = build_account_features(tobmodel.simulate("saas", n_accounts=400, seed=4))
    m = fit_renewal_model(f, covariates=["tier", "logins_trend", "onboarding_completed"])
    m.save(d / "cox.json")
    f.to_parquet(d / "features.parquet", index=False)
    (d / "parts").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(f)), 3)):
        f.iloc[part].to_parquet(d / "parts" / f"part-{i}.parquet", index=False)
    return d


def test_simulate_events_streams_parts_with_the_counts_asked_for(tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["simulate", "--accounts", "300", "--events", "25000", "--events-per-file",
                 "10000", "--output", str(out)]) == 0
    assert "25,000 events" in capsys.readouterr().out
    parts = sorted((out / "events").glob("*.parquet"))
    assert len(parts) == 3 and sum(pq.read_metadata(p).num_rows for p in parts) == 25_000
    assert pq.read_metadata(out / "accounts.parquet").num_rows == 300
    ev = pd.read_parquet(out / "events")
    assert set(ev["event"].astype(str)) == {"login", "key_feature", "view", "export"}
    acc = pd.read_parquet(out / "accounts.parquet")
    # no event after the as-of day, nor before the account started
    assert ev["timestamp"].max() < pd.Timestamp("2026-01-01")
    first = ev.merge(acc, on="account_id").groupby("account_id")
    assert (first["timestamp"].min() >= pd.to_datetime(first["first_contract_date"].first())).all()


def test_score_engine_duckdb_reads_a_folder_of_parts_like_the_single_file(model_and_parts,
                                                                          capsys):
    d = model_and_parts
    assert main(["score", "--model", str(d / "cox.json"), "--input", str(d / "features.parquet"),
                 "--output", str(d / "local.parquet"), "--no-progress"]) == 0
    assert main(["score", "--engine", "duckdb", "--memory-limit", "256MB", "--model",
                 str(d / "cox.json"), "--input", str(d / "parts"), "--output",
                 str(d / "duck.parquet"), "--chunksize", "150", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "(duckdb)" in text
    local, duck = pd.read_parquet(d / "local.parquet"), pd.read_parquet(d / "duck.parquet")
    pd.testing.assert_frame_equal(local, duck)
    pd.testing.assert_frame_equal(pd.read_csv(d / "local.rejects.csv"),
                                  pd.read_csv(d / "duck.rejects.csv"))


def test_score_engine_errors_are_one_line(model_and_parts, capsys):
    d = model_and_parts
    assert main(["score", "--engine", "duckdb", "--model", str(d / "cox.json"), "--input",
                 str(d / "nothing_here"), "--output", str(d / "x.parquet")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tobmodel: error:") and "nothing_here" in err and "\n" not in err
    assert main(["score", "--engine", "spark", "--model", str(d / "cox.json"), "--input",
                 str(d / "parts"), "--output", "a.parquet", "--output", "b.parquet"]) == 1
    assert "one --output" in capsys.readouterr().err


@pytest.mark.spark
def test_score_engine_spark_writes_the_local_scores(spark, model_and_parts, capsys):
    d = model_and_parts
    assert main(["score", "--engine", "spark", "--model", str(d / "cox.json"), "--input",
                 str(d / "parts"), "--output", str(d / "spark.parquet")]) == 0
    assert "rejected" in capsys.readouterr().out
    main(["score", "--model", str(d / "cox.json"), "--input", str(d / "features.parquet"),
          "--output", str(d / "ref.parquet"), "--no-progress"])
    ref = pd.read_parquet(d / "ref.parquet").sort_values("account_id", ignore_index=True)
    got = pd.read_parquet(d / "spark.parquet").sort_values("account_id", ignore_index=True)
    np.testing.assert_array_equal(got["account_id"], ref["account_id"])
    np.testing.assert_allclose(got["p_churn_horizon"], ref["p_churn_horizon"], rtol=1e-12)
    assert len(pd.read_parquet(d / "spark.rejects.parquet")) == len(
        pd.read_csv(d / "ref.rejects.csv"))
