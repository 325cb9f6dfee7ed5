"""Saving and loading renewal models: JSON only, same bytes, same scores, schema checks."""
import json

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel.persist import ModelFileError, SchemaMismatchError
from tobmodel.registry import load_model
from tobmodel.renewal import build_account_features, fit_renewal_model, load_renewal_model

COVS = ["tier", "acquisition_channel", "sales_overpromised", "logins_trend",
        "price_vs_tier_median"]


@pytest.fixture(scope="module")
def features():
    return build_account_features(tobmodel.simulate("saas", n_accounts=800, seed=51))


@pytest.mark.parametrize("name", ["cox", "weibull_aft", "loglogistic_aft"])
def test_round_trip_same_scores_and_same_bytes(features, tmp_path, name):
    m = fit_renewal_model(features, name, covariates=COVS)
    path = m.save(tmp_path / "m.json")
    loaded = load_renewal_model(path)
    a, b = m.score(features), loaded.score(features)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for attr in ("kind", "name", "model_id", "feature_names_", "id_column"):
        assert getattr(loaded, attr) == getattr(m, attr)
    assert loaded.version == tobmodel.__version__
    # the generic loader dispatches on kind
    assert type(load_model(path)) is type(m)
    # same data and settings, fitted again: byte-identical file
    again = fit_renewal_model(features, name, covariates=COVS).save(tmp_path / "again.json")
    assert path.read_bytes() == again.read_bytes()
    # saving a loaded model reproduces the file
    assert loaded.save(tmp_path / "resaved.json").read_bytes() == path.read_bytes()


def test_file_is_plain_json_with_the_common_header(features, tmp_path):
    m = fit_renewal_model(features, covariates=COVS)
    doc = json.loads(m.save(tmp_path / "cox.json").read_text())
    assert doc["format"] == "tobmodel-model" and doc["kind"] == "renewal"
    assert doc["model_id"].startswith("cox-") and len(doc["model_id"]) == len("cox-") + 12
    assert {"tobmodel", "lifelines", "numpy", "pandas"} <= set(doc["versions"])
    names = [f["name"] for f in doc["features"]]
    assert set(COVS) <= set(names) and "tenure_months" in names
    tier = next(f for f in doc["features"] if f["name"] == "tier")
    assert tier["dtype"] == "category" and set(tier["categories"]) == {"KA", "mid", "SMB"}
    assert doc["baseline"][0]["times"] and doc["strata"]["columns"] == ["contract_term"]
    src = open(tobmodel.renewal.persist.__file__).read()
    assert "pickle" not in src.replace("no pickle", "") and "joblib" not in src


def test_model_id_depends_on_config_and_data(features):
    a = fit_renewal_model(features, covariates=COVS)
    assert fit_renewal_model(features, covariates=COVS).model_id == a.model_id
    assert fit_renewal_model(features, covariates=COVS, penalizer=0.1).model_id != a.model_id
    assert fit_renewal_model(features.iloc[:-5], covariates=COVS).model_id != a.model_id


def test_loaded_model_refuses_data_that_does_not_match(features, tmp_path):
    m = load_renewal_model(fit_renewal_model(features, covariates=COVS).save(tmp_path / "m.json"))
    with pytest.raises(SchemaMismatchError, match="missing columns 'logins_trend', "
                                                  "'price_vs_tier_median'"):
        m.score(features.drop(columns=["logins_trend", "price_vs_tier_median"]))
    with pytest.raises(SchemaMismatchError, match="'logins_trend' must be numeric"):
        m.score(features.assign(logins_trend=features["logins_trend"].astype(str)))
    with pytest.raises(SchemaMismatchError, match="'sales_overpromised' must be true/false"):
        m.score(features.assign(sales_overpromised="yes"))
    odd = features.copy()
    odd["acquisition_channel"] = odd["acquisition_channel"].astype(str)
    odd.loc[odd.index[3], "acquisition_channel"] = "billboard"
    with pytest.raises(SchemaMismatchError, match=r"'acquisition_channel' has values the model "
                                                  r"never saw: 'billboard' \(account_id"):
        m.check_schema(odd)
    with pytest.raises(SchemaMismatchError, match="missing column 'account_id'"):
        m.score(features.drop(columns="account_id"))


def test_loading_refuses_files_that_are_not_renewal_models(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ModelFileError, match="not a tobmodel model file"):
        load_renewal_model(other)
    with pytest.raises(ModelFileError, match="not a tobmodel model file"):
        load_model(other)
    binary = tmp_path / "model.pkl"
    binary.write_bytes(b"\x80\x04\x95 pickle bytes")
    with pytest.raises(ModelFileError, match="not a tobmodel model file"):
        load_renewal_model(binary)
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps({"format": "tobmodel-model", "format_version": 1, "kind": "lead"}))
    with pytest.raises(ModelFileError, match="expected a 'renewal' model"):
        load_renewal_model(lead)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "tobmodel-model", "format_version": 1,
                                  "kind": "renewal", "name": "cox"}))
    with pytest.raises(ModelFileError, match="incomplete or damaged"):
        load_renewal_model(broken)


def test_scores_reproducible_from_the_same_seed(tmp_path):
    def run(seed):
        f = build_account_features(tobmodel.simulate("tool", n_accounts=400, seed=seed))
        m = fit_renewal_model(f, covariates=["tier", "logins_trend"])
        return m.score(f), m.save(tmp_path / f"{seed}-{np.random.randint(1e9)}.json")
    (s1, p1), (s2, p2) = run(3), run(3)
    pd.testing.assert_frame_equal(s1, s2, check_exact=True)
    assert p1.read_bytes() == p2.read_bytes()
