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
