"""The same features as CSV or as Parquet give the same scores, to the last bit."""
from __future__ import annotations

import numpy as np
import pytest

import tobmodel
from tobmodel.export import score_accounts
from tobmodel.renewal import build_account_features, fit_renewal_model

COVS = ["tier", "contract_term", "log_seats", "price_vs_tier_median", "logins_trend",
        "key_feature_adoption_3m", "unresolved_share_6m"]


@pytest.fixture(scope="module")
def fitted():
    sim = tobmodel.simulate("saas", n_accounts=1300, seed=7)
    features = build_account_features(sim)
    return fit_renewal_model(features, "cox", covariates=COVS), features


def test_csv_and_parquet_inputs_score_identically(fitted, tmp_path):
    model, features = fitted
    active = features[features["active"]]
    csv, parquet = tmp_path / "f.csv", tmp_path / "f.parquet"
    active.to_csv(csv, index=False)  # shortest round-trip text of each float
    active.to_parquet(parquet, index=False)
    from_csv = score_accounts(model, csv, as_of=features.attrs["as_of"])
    from_parquet = score_accounts(model, parquet, as_of=features.attrs["as_of"])
    assert len(from_csv) == len(active) > 500
    for col in ("p_churn_next_renewal", "p_churn_horizon", "expected_remaining_months"):
        a, b = from_csv[col].to_numpy(), from_parquet[col].to_numpy()
        assert np.array_equal(a, b), f"{col}: {(a != b).sum()} of {len(a)} differ"
