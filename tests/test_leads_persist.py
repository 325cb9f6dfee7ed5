"""Lead model files (JSON, no code on load) and bad input: clear errors or documented handling."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tobmodel
from tobmodel import leads as L
from tobmodel.persist import ModelFileError, SchemaMismatchError
from tobmodel.registry import load_model



@pytest.fixture(scope="module")
def leads():
    return tobmodel.simulate("tool", "growth", n_accounts=300, seed=3).leads


@pytest.fixture(scope="module")
def models(leads):
    return {kind: L.fit_lead_model(leads, kind=kind, random_state=7)
            for kind in ("hgb", "logistic")}


# --- files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["hgb", "logistic"])
def test_round_trip_scores_equal_the_fitted_model(kind, models, leads, tmp_path):
    model = models[kind]
    path = model.save(tmp_path / "lead.json")
    again = load_model(path)  # the generic loader dispatches on kind
    assert isinstance(again, L.LeadModel) and again.pipeline_ is None
    assert (again.kind, again.name, again.model_id, again.version, again.id_column) == \
        (model.kind, model.name, model.model_id, tobmodel.__version__, "lead_id")
    assert again.feature_names_ == model.feature_names_
    a, b = model.score(leads), again.score(leads)
    np.testing.assert_allclose(b["p_convert"], a["p_convert"], rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_allclose(b["p_convert"], model.pipeline_.predict_proba(leads)[:, 1],
                               atol=1e-9)


def test_same_seed_same_bytes_and_header(leads, models, tmp_path):
    again = L.fit_lead_model(leads, kind="hgb", random_state=7)
    a = models["hgb"].save(tmp_path / "a.json").read_bytes()
    b = again.save(tmp_path / "b.json").read_bytes()
    assert a == b
    doc = json.loads(a)
    assert doc["format"] == "tobmodel-model" and doc["kind"] == "lead"
    assert doc["name"] == "lead_hgb" and doc["id_column"] == "lead_id"
    assert doc["model_id"] == models["hgb"].model_id
    assert {"tobmodel", "scikit-learn", "numpy", "pandas"} <= set(doc["versions"])
    feats = {f["name"]: f for f in doc["features"]}
    assert feats["channel"]["dtype"] == "category" and "bidding" in feats["channel"]["categories"]
    assert feats["employees"]["dtype"] == "number"
    assert feats["decision_maker_engaged"]["dtype"] == "bool"
    assert doc["created_from"]["kind"] == "hgb" and doc["created_from"]["table"] == "leads"
    assert "pickle" not in a.decode() and b"\x80" not in a  # plain text, no pickled objects


def test_model_id_follows_config_and_data(leads, models):
    other_data = L.fit_lead_model(leads.iloc[:-50], kind="hgb", random_state=7)
    other_config = L.fit_lead_model(leads, kind="hgb", random_state=8)
    ids = {models["hgb"].model_id, other_data.model_id, other_config.model_id,
           models["logistic"].model_id}
    assert len(ids) == 4
    assert models["logistic"].model_id.startswith("lead_logistic-")


def test_loading_refuses_other_files(models, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFileError, match="not a tobmodel model file"):
        L.load_lead_model(bad)
    doc = json.loads(models["logistic"].save(tmp_path / "m.json").read_text())
    (tmp_path / "renewal.json").write_text(json.dumps(doc | {"kind": "renewal"}))
    with pytest.raises(ModelFileError, match="expected a 'lead' model"):
        L.load_lead_model(tmp_path / "renewal.json")
    del doc["classifier"]
    (tmp_path / "cut.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="incomplete \\(no classifier\\)"):
        L.load_lead_model(tmp_path / "cut.json")


# --- bad input at scoring ------------------------------------------------------------------

def test_loaded_model_refuses_missing_columns_and_wrong_types(models, leads, tmp_path):
    model = L.load_lead_model(models["hgb"].save(tmp_path / "m.json"))
    with pytest.raises(SchemaMismatchError, match="new_leads.csv.*missing columns 'intent', "
                                                  "'site_visits'"):
        model.score(leads.drop(columns=["intent", "site_visits"]), source="new_leads.csv")
    with pytest.raises(SchemaMismatchError, match="column 'employees' must be numeric"):
        model.score(leads.assign(employees=leads["employees"].astype(str)))
    with pytest.raises(SchemaMismatchError, match="'budget_confirmed' must be true/false"):
        model.score(leads.assign(budget_confirmed="yes"))
    with pytest.raises(L.LeadDataError, match="'site_visits' has 2 empty values \\(rows 1, 2\\)"):
        model.score(leads.assign(site_visits=leads["site_visits"].astype(float).where(
            np.arange(len(leads)) >= 2)))


def test_unseen_categories_warn_and_score_as_unknown(models, leads):
    new = leads.head(100).copy()
    new["channel"] = new["channel"].astype(object)
    new.loc[new.index[:7], "channel"] = "tiktok"
    for model in models.values():
        with pytest.warns(L.UnknownCategoryWarning, match="'channel': 7 rows \\('tiktok'\\)"):
            out = model.score(new)
        assert len(out) == 100 and out["p_convert"].notna().all()
        # other rows are untouched; unknown rows equal the pipeline's own unknown handling
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_allclose(out["p_convert"], model.pipeline_.predict_proba(new)[:, 1],
                                       atol=1e-9)
        np.testing.assert_allclose(out["p_convert"][7:], model.score(leads.head(100))
                                   ["p_convert"][7:], atol=0)
        with pytest.raises(SchemaMismatchError, match="'tiktok'"):
            model.check_schema(new)  # the strict check the export runs names them


def test_empty_input_gives_empty_scores(models, leads):
    out = models["hgb"].score(leads.head(0))
    assert list(out.columns) == ["lead_id", "p_convert", "score", "grade", "reasons"]
    assert len(out) == 0


# --- bad input at fitting ------------------------------------------------------------------

def test_single_class_label_is_refused(leads):
    lost_only = leads[leads["status"] != "converted"]
    with pytest.raises(L.LeadDataError, match="all .* closed leads are lost.*needs both"):
        L.fit_lead_model(lost_only)


def test_very_small_data(leads):
    closed = leads[leads["status"] != "open"]
    tiny = pd.concat([closed[closed["status"] == "converted"].head(5),
                      closed[closed["status"] == "lost"].head(40)])
    with pytest.raises(L.LeadDataError, match="only 5 converted and 40 lost.*at least 10"):
        L.fit_lead_model(tiny)
    small = pd.concat([closed[closed["status"] == "converted"].head(30),
                       closed[closed["status"] == "lost"].head(200)])
    with pytest.warns(L.SmallDataWarning, match="only 30 converted leads"):
        model = L.fit_lead_model(small, kind="logistic")
    assert model.score(small)["p_convert"].between(0, 1).all()


def test_missing_or_unusable_feature_columns_at_fit(leads):
    with pytest.raises(L.LeadDataError, match="leads.parquet: missing feature column 'intent'"):
        L.fit_lead_model(leads.drop(columns="intent"), source="leads.parquet")
    with pytest.raises(L.LeadDataError, match="no column 'status'"):
        L.fit_lead_model(leads.drop(columns="status"))
    with pytest.raises(L.LeadDataError, match="'status' has values other than.*'won'"):
        L.fit_lead_model(leads.assign(status=leads["status"].astype(object).replace(
            "converted", "won")))
    with pytest.raises(L.LeadDataError, match="'industry' has 3 empty values"):
        L.fit_lead_model(leads.assign(industry=leads["industry"].where(
            np.arange(len(leads)) >= 3)))
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        L.fit_lead_model(leads.to_numpy())


# --- files saved by earlier versions ---------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def _old_leads():
    """The 120 leads scored by tobmodel 0.1.0, with the scores it gave (see fixtures/README)."""
    old = pd.read_csv(FIXTURES / "lead_scores_v0.1.0.csv", keep_default_na=False,
                      na_values=[""])
    for col in ("decision_maker_engaged", "user_engaged", "requester_engaged",
                "budget_confirmed", "reengaged_from_loss_pool"):
        assert old[col].dtype == bool
    return old


@pytest.mark.parametrize("kind", ["hgb", "logistic"])
def test_files_saved_by_tobmodel_0_1_0_load_and_score_as_they_did(kind):
    path = FIXTURES / f"lead_{kind}_v0.1.0.json"
    assert json.loads(path.read_text())["lead_format"] == 1
    old = _old_leads()
    model = load_model(path)
    assert isinstance(model, L.LeadModel) and model.name == f"lead_{kind}"
    with pytest.warns(L.UnknownCategoryWarning, match="'industry': 5 rows \\('space_mining'\\)"):
        out = model.score(old)
    np.testing.assert_allclose(out["p_convert"], old[f"p_{kind}"], rtol=0, atol=1e-12)
    assert out["reasons"].tolist() == old[f"reasons_{kind}"].fillna("").tolist()


def test_loading_needs_no_lightgbm():
    code = ("import sys; from tobmodel.leads import load_lead_model; "
            f"m = load_lead_model({str(FIXTURES / 'lead_hgb_v0.1.0.json')!r}); "
            "assert 'lightgbm' not in sys.modules, 'lightgbm imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ | {"PYTHONPATH": str(Path(__file__).parents[1])})
    assert done.returncode == 0, done.stderr


def test_files_of_a_newer_format_are_refused_naming_the_versions(models, tmp_path):
    doc = json.loads(models["hgb"].save(tmp_path / "m.json").read_text())
    assert doc["lead_format"] == L.persist.LEAD_FORMAT == 2
    assert doc["versions"]["lightgbm"] and doc["calibrator"]["input"] in ("raw", "probability")
    doc["lead_format"] = 3
    doc["versions"]["tobmodel"] = "9.0.0"
    (tmp_path / "new.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="lead model format 3 \\(saved by tobmodel 9.0.0\\) "
                                             "is not supported.*reads formats 1, 2"):
        L.load_lead_model(tmp_path / "new.json")


def test_damaged_calibrator_is_refused_in_one_line(models, tmp_path):
    doc = json.loads(models["hgb"].save(tmp_path / "m.json").read_text())
    doc["calibrator"] = {"method": "isotonic", "input": "raw", "x": [0.0, 1.0], "y": [0.5]}
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="damaged.*isotonic calibration needs thresholds"):
        L.load_lead_model(tmp_path / "bad.json")
