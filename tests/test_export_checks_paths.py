"""The row checks' fast paths (categoricals by category, ids as text only for rejects)
give the same answers as the plain paths."""
from __future__ import annotations

import numpy as np
import pandas as pd

from tobmodel.export import score_accounts


def _rejects(model, feats):
    scores, rejects = score_accounts(model, feats, as_of="2025-12-31", return_rejects=True)
    return scores, rejects[["row_number", "account_id", "reason", "field", "value"]]


def test_categorical_and_text_columns_are_checked_alike(churn_model, make_features):
    feats = make_features(12)
    feats["tier"] = ["KA", " ", "SMB", "giant", None, "mid"] * 2
    as_text = feats.astype({"tier": object})
    as_cat = feats.astype({"tier": "category"})  # categories include " " and "giant"
    s1, r1 = _rejects(churn_model, as_text)
    s2, r2 = _rejects(churn_model, as_cat)
    pd.testing.assert_frame_equal(r1, r2)
    pd.testing.assert_frame_equal(s1, s2)
    assert r1["reason"].tolist() == ["missing value", "unknown category", "missing value"] * 2
    assert r1["row_number"].tolist() == [2, 4, 5, 8, 10, 11]


def test_rejected_ids_keep_their_text(churn_model, make_features):
    feats = make_features(5).astype({"account_id": object})
    feats.loc[1, "account_id"] = "A-17"   # not an integer: shown as written
    feats.loc[3, "account_id"] = 4.0      # an integer read as float: shown as 4
    feats.loc[3, "tier"] = "giant"
    feats.loc[4, "account_id"] = 1        # a duplicate of row 1
    s, r = _rejects(churn_model, feats)
    assert r["account_id"].tolist() == ["A-17", "4", "1"]
    assert r["reason"].tolist() == ["id is not an integer", "unknown category", "duplicate id"]
    assert s["account_id"].tolist() == [1, 3]
    assert np.array_equal(s["account_id"].to_numpy(), np.array([1, 3]))


def test_check_rows_leaves_its_input_alone(make_features):
    from tobmodel.export.rejects import SeenIds, check_rows
    feats = make_features(50)
    feats.loc[3, "tier"] = "giant"
    feats.loc[5, "tenure_months"] = np.nan
    before = feats.copy(deep=True)
    schema = [{"name": "tenure_months", "dtype": "number"},
              {"name": "tier", "dtype": "category", "categories": ["KA", "SMB", "mid"]},
              {"name": "onboarding_completed", "dtype": "bool"}]
    rc = check_rows(feats, "account_id", schema, SeenIds(), scope="churn")
    assert rc.frame["tenure_months"].isna().sum() == 0  # coerced in the check's frame
    pd.testing.assert_frame_equal(feats, before)        # not in the caller's
