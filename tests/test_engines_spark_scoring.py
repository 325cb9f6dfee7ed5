"""Scoring on Spark: the broadcast model document gives the single-machine scores and rejects."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.engines.spark_scoring import model_document_text, model_from_text
from tobmodel.export.runner import score_accounts
from tobmodel.renewal import build_account_features, fit_renewal_model


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    f = build_account_features(tobmodel.simulate("saas", n_accounts=500, seed=8))
    m = fit_renewal_model(f, covariates=["tier", "logins_trend", "key_feature_adoption_3m"])
    path = m.save(tmp_path_factory.mktemp("model") / "cox.json")
    # planted rows the job must reject: a duplicate id, an unknown tier, a missing number
    bad = f.loc[f["active"]].iloc[:3].copy()
    f = pd.concat([f, bad], ignore_index=True)
    f["tier"] = f["tier"].astype(str)
    active = np.flatnonzero(f["active"].to_numpy())
    f.loc[active[3], "tier"] = "XL"
    f.loc[active[4], "logins_trend"] = np.nan
    return path, f


def test_the_document_text_rebuilds_a_model_that_scores_identically(fitted):
    path, f = fitted
    text = model_document_text(path)
    assert text == path.read_text() and model_document_text(model_from_text(text)) == text
    a = score_accounts(str(path), f)
    b = score_accounts(model_from_text(text), f)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.spark
def test_spark_scores_and_rejects_match_the_single_machine_job(spark, fitted, tmp_path):
    from tobmodel.engines.spark_scoring import score_on_spark
    path, f = fitted
    want, want_rej = score_accounts(str(path), f, return_rejects=True)
    summary = score_on_spark(str(path), f, str(tmp_path / "scores.parquet"), spark=spark,
                             partitions=3)
    got = pd.read_parquet(tmp_path / "scores.parquet")
    got_rej = pd.read_parquet(tmp_path / "scores.rejects.parquet")
    # churned accounts are counted as not scored, as on a single machine, never rejects
    assert summary.not_scored == want.attrs["summary"]["not_scored"]
    assert summary.not_scored["churned"] == int((~f["active"]).sum()) > 0
    assert summary.read == len(f) == (summary.scored + summary.not_scored["churned"]
                                      + summary.rejected)
    assert (summary.scored, summary.rejected) == (len(want), len(want_rej))
    assert summary.rejects_by_reason == want.attrs["summary"]["rejects_by_reason"]
    assert summary.groups == want.attrs["summary"]["groups"]
    got = got.sort_values("account_id").reset_index(drop=True)
    want = want.sort_values("account_id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        if want[c].dtype.kind == "f":
            np.testing.assert_allclose(got[c], want[c], rtol=1e-12, atol=1e-12, err_msg=c)
        elif want[c].dtype.kind == "M":
            np.testing.assert_array_equal(pd.to_datetime(got[c]).to_numpy(),
                                          want[c].to_numpy(), err_msg=c)
        else:
            np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), err_msg=c)
    got_rej = got_rej.sort_values("row_number").reset_index(drop=True)
    cols = ["row_number", "account_id", "reason", "field", "value"]
    pd.testing.assert_frame_equal(got_rej[cols], want_rej[cols].reset_index(drop=True),
                                  check_dtype=False)
    assert {"duplicate id", "unknown category", "missing value"} <= set(got_rej["reason"])


@pytest.mark.spark
def test_spark_text_ids_take_the_shuffle_path_with_the_same_rejects(spark, fitted, tmp_path):
    """Ids read as text are parsed by the row checks: copies still meet and match one machine."""
    from tobmodel.engines.spark_scoring import score_on_spark
    path, f = fitted
    f = f.assign(account_id=f["account_id"].astype(str))
    f.loc[5, "account_id"] = "0" + f.loc[5, "account_id"]  # the same id, written differently
    want, want_rej = score_accounts(str(path), f, return_rejects=True)
    summary = score_on_spark(str(path), f, str(tmp_path / "s.parquet"), spark=spark,
                             partitions=2)
    got_rej = pd.read_parquet(tmp_path / "s.rejects.parquet").sort_values("row_number")
    cols = ["row_number", "account_id", "reason", "field", "value"]
    pd.testing.assert_frame_equal(got_rej[cols].reset_index(drop=True),
                                  want_rej[cols].reset_index(drop=True), check_dtype=False)
    assert summary.rejects_by_reason == want.attrs["summary"]["rejects_by_reason"]


@pytest.mark.spark
def test_spark_run_scoring_far_fewer_fails_and_keeps_the_last_output(spark, fitted, tmp_path):
    from tobmodel.engines.spark_scoring import score_on_spark
    from tobmodel.export import export_scores
    from tobmodel.export.specs import ExportError
    path, f = fitted
    out = str(tmp_path / "scores.parquet")
    first = score_on_spark(str(path), f, out, spark=spark)
    # the drift profile is counted on Spark as on one machine
    local = export_scores(str(path), f, tmp_path / "local.parquet", progress=False)
    assert [d["feature"] for d in first.drift] == [d["feature"] for d in local.drift]
    assert len(first.drift) > 0
    np.testing.assert_allclose([d["psi"] for d in first.drift],
                               [d["psi"] for d in local.drift], rtol=1e-9)
    before = pd.read_parquet(out).sort_values("account_id", ignore_index=True)
    before_rej = pd.read_parquet(tmp_path / "scores.rejects.parquet")
    few = f.loc[f["active"]].iloc[10:30]  # clean rows (the planted bad ones come first)
    with pytest.raises(ExportError, match=r"scored 20 rows, fewer than 0.5 x the "):
        score_on_spark(str(path), few, out, spark=spark)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out).sort_values("account_id", ignore_index=True), before)
    assert len(pd.read_parquet(tmp_path / "scores.rejects.parquet")) == len(before_rej)
    # nothing scored at all fails too, even with the comparison off
    none = few.assign(tier="XL")
    with pytest.raises(ExportError, match="scored 0 of 20 rows"):
        score_on_spark(str(path), none, out, spark=spark, min_scored_fraction=0)
    # an expected drop goes through with the comparison off, replacing the output
    s = score_on_spark(str(path), few, out, spark=spark, min_scored_fraction=0)
    assert s.scored == len(pd.read_parquet(out)) == 20
    assert not list(tmp_path.glob("*.tmp-*"))


@pytest.mark.spark
@pytest.mark.parametrize("ids, dup_ids, aggregated", [
    ([1, 2, 3, 4, 5, 6, 7, 8], [], False),        # distinct, partitions in id order: skipped
    ([1, 2, 2, 4, 5, 6, 7, 8], [2], True),        # a copy inside a partition
    ([1, 2, 3, 4, 5, 6, 7, 3], [3], True),        # a copy in another partition (ranges overlap)
    ([5, 6, 7, 8, 1, 2, 3, 4], [], False),        # distinct, partitions out of order: skipped
    ([1, None, 3, 4, 5, 6, None, 8], [], False),  # missing ids are no duplicates
])
def test_duplicate_ids_are_found_and_the_aggregate_skipped_only_when_none_can_exist(
        spark, monkeypatch, ids, dup_ids, aggregated):
    from pyspark.sql import functions as F

    from tobmodel.engines import spark_scoring as ss
    calls = []
    real = ss._duplicate_ids
    monkeypatch.setattr(ss, "_duplicate_ids", lambda *a: calls.append(1) or real(*a))
    # two partitions of four rows each, in the order given
    df = spark.createDataFrame(spark.sparkContext.parallelize([(i,) for i in ids], 2),
                               "account_id long")
    rows = df.withColumn("_mono", F.monotonically_increasing_id())
    (pids, starts), total, (dup, first) = ss._offsets_and_duplicates(rows, "account_id")
    assert total == len(ids) and list(starts) == [0, 4] and len(pids) == 2
    assert list(dup) == dup_ids and bool(calls) == aggregated
    if dup_ids:  # the first copy's row is the one kept
        mono = rows.where(F.col("account_id") == dup_ids[0]).agg(F.min("_mono")).first()[0]
        assert list(first) == [mono]
