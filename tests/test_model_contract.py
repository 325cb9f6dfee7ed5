"""One contract for every model kind (the way lifelines tests every fitter once).

Each case is a fitted model and the data it scores: the real renewal and lead
models, and the stand-ins of tests/conftest.py (which must follow the protocol
exactly, or the export tests that use them prove nothing).
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import StandInLeadModel, StandInRenewalModel, account_features

import tobmodel
from tobmodel.persist import ModelFileError, SchemaMismatchError
from tobmodel.protocol import SCORE_COLUMNS, ModelBase, ScoringModel
from tobmodel.registry import MODEL_CLASSES, load_model

RENEWAL = ("cox", "weibull_aft", "loglogistic_aft")
HARDWARE = ("repurchase",)
LEAD = ("lead_hgb", "lead_logistic")
STANDINS = ("standin", "standin_lead")
COVS = ["tier", "onboarding_completed", "logins_trend"]


@pytest.fixture(scope="module")
def sim():
    return tobmodel.simulate("saas", "maturity", n_accounts=500, seed=21)


@pytest.fixture(scope="module")
def renewal_features(sim):
    from tobmodel.renewal import build_account_features
    return build_account_features(sim)


def fit(name, sim, features):
    """(fitted model, data to score, truth to check the direction against or None)."""
    if name in RENEWAL:
        from tobmodel.renewal import fit_renewal_model
        active = features.loc[features["active"]].reset_index(drop=True)
        truth = active[["account_id"]].merge(sim.truth["accounts"][["account_id", "p_churn_12m"]],
                                             on="account_id", how="left")["p_churn_12m"]
        return fit_renewal_model(features, name, covariates=COVS), active, truth.to_numpy()
    if name in HARDWARE:
        from tobmodel.renewal import RepurchaseModel
        hw = tobmodel.simulate("hardware", "maturity", n_accounts=500, seed=21)
        model = RepurchaseModel(covariates=["tier", "log_order_number"]).fit_tables(hw)
        latest = model.frame_from_tables(hw)
        active = latest.loc[latest["active"]].reset_index(drop=True)
        truth = active[["account_id"]].merge(hw.truth["accounts"][["account_id", "p_churn_12m"]],
                                             on="account_id", how="left")["p_churn_12m"]
        return model, active, truth.to_numpy()
    if name in LEAD:
        from tobmodel.leads import fit_lead_model
        leads = sim.leads
        truth = leads[["lead_id"]].merge(sim.truth["leads"][["lead_id", "p_convert"]],
                                         on="lead_id", how="left")["p_convert"]
        return (fit_lead_model(leads, kind=name.removeprefix("lead_")), leads,
                truth.to_numpy())
    if name == "standin":
        return StandInRenewalModel(), account_features(200, seed=4), None
    leads = pd.DataFrame({"lead_id": np.arange(1, 61), "employees": np.arange(60),
                          "intent": np.resize(["low", "medium", "high"], 60)})
    return StandInLeadModel(), leads, None


@pytest.fixture(scope="module", params=[*RENEWAL, *HARDWARE, *LEAD, *STANDINS])
def case(request, sim, renewal_features):
    return (request.param, *fit(request.param, sim, renewal_features))


def test_follows_the_protocol(case):
    name, model, _, _ = case
    assert isinstance(model, ScoringModel) and isinstance(model, ModelBase)
    assert model.name == name and model.kind in SCORE_COLUMNS
    assert model.id_column == {"renewal": "account_id", "lead": "lead_id"}[model.kind]
    assert model.model_id.startswith(f"{name}-") and model.version
    assert all({"name", "dtype"} <= set(f) for f in model.features_)
    assert model.as_of_ == pd.Timestamp("2025-12-31")  # every model records the date its data was known up to
    if name not in STANDINS:
        assert MODEL_CLASSES[name].endswith(":" + type(model).__name__)


def test_score_columns_order_and_ids(case):
    _, model, data, _ = case
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    s = model.score(shuffled, as_of="2025-12-31", horizon_months=12, source="x", progress=False)
    assert list(s.columns) == list(SCORE_COLUMNS[model.kind])
    assert s[model.id_column].tolist() == shuffled[model.id_column].tolist()


def test_higher_means_more_risk_or_a_better_lead(case):
    name, model, data, truth = case
    if model.kind == "renewal":
        s6, s12 = (model.score(data, horizon_months=h) for h in (6, 12))
        assert (s12["p_churn_horizon"] >= s6["p_churn_horizon"] - 1e-12).all()
        assert s12["p_churn_horizon"].between(0, 1).all()
        assert (s6["expected_remaining_months"] <= 6 + 1e-9).all()
        assert (s12["expected_remaining_months"] <= 12 + 1e-9).all()
        p = s12["p_churn_horizon"].to_numpy()
    else:
        p = model.score(data)["p_convert"].to_numpy()
        assert ((0 <= p) & (p <= 1)).all()
    if truth is not None:  # fitted on a simulation: agrees with the simulator's truth
        ok = np.isfinite(truth) & np.isfinite(p)
        rho = pd.Series(p[ok]).corr(pd.Series(truth[ok]), method="spearman")
        assert rho > 0.3, (name, rho)


def test_document_round_trip_scores_identically(case, tmp_path):
    name, model, data, _ = case
    doc = json.loads(json.dumps(model.to_document(), allow_nan=False))
    assert {"kind", "name", "model_id", "versions", "features", "id_column", "as_of",
            "config"} <= set(doc)
    again = type(model).from_document(doc)
    pd.testing.assert_frame_equal(again.score(data), model.score(data), check_exact=True)
    assert (again.model_id, again.as_of_, again.features_) == (
        model.model_id, model.as_of_, model.features_)
    if name not in STANDINS:  # registered: the file loads through the registry
        loaded = load_model(model.save(tmp_path / f"{name}.json"))
        pd.testing.assert_frame_equal(loaded.score(data), model.score(data), check_exact=True)


def test_check_schema_refuses_a_missing_column(case):
    _, model, data, _ = case
    col = next(f["name"] for f in model.features_ if f["name"] != model.id_column)
    with pytest.raises(SchemaMismatchError, match=f"missing column '{col}'"):
        model.check_schema(data.drop(columns=col))
    with pytest.raises(SchemaMismatchError, match=f"missing column '{col}'"):
        model.score(data.drop(columns=col))


def test_model_id_is_stable_for_the_same_seed(case, sim, renewal_features):
    name, model, _, _ = case
    assert fit(name, sim, renewal_features)[0].model_id == model.model_id


# ---------------------------------------------------------------- registry and model files


@pytest.fixture(scope="module")
def cox_file(tmp_path_factory, renewal_features):
    from tobmodel.renewal import fit_renewal_model
    d = tmp_path_factory.mktemp("cox")
    fit_renewal_model(renewal_features, covariates=COVS).save(d / "cox.json")
    renewal_features.to_parquet(d / "features.parquet")
    return d


def test_scoring_a_saved_cox_model_imports_neither_lifelines_nor_sklearn(cox_file):
    code = f"""
import sys, pandas as pd
from tobmodel.registry import load_model
m = load_model({str(cox_file / 'cox.json')!r})
s = m.score(pd.read_parquet({str(cox_file / 'features.parquet')!r}))
assert s["p_churn_horizon"].notna().any()
from tobmodel.cli import main  # the weekly job's whole score command too
assert main(["score", "--model", {str(cox_file / 'cox.json')!r}, "--input",
             {str(cox_file / 'features.parquet')!r}, "--output",
             {str(cox_file / 'scores.csv')!r}]) == 0
print(sorted({{k.split('.')[0] for k in sys.modules}} & {{'lifelines', 'sklearn', 'sksurv'}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def damage(doc, what):
    doc = json.loads(json.dumps(doc))
    if what == "null coefficient":
        doc["coefficients"]["coef"][0] = None
    elif what == "short centres":
        doc["coefficients"]["center"] = doc["coefficients"]["center"][:-1]
    elif what == "baseline lengths":
        doc["baseline"][0]["cumulative_hazard"].pop()
    elif what == "text for a number":
        doc["baseline"][0]["tail_shape"] = "1.2"
    elif what == "one baseline too few":
        doc["baseline"].pop()
    elif what == "unknown name":
        doc["name"] = "xgboost"
    return doc


@pytest.mark.parametrize("what, message", [
    ("null coefficient", r"coefficients.coef\[0\] is None, not a finite number"),
    ("short centres", r"coefficients.center has \d+ entries, expected \d+"),
    ("baseline lengths", r"baseline\[0\].cumulative_hazard has \d+ entries"),
    ("text for a number", r"baseline\[0\].tail_shape is '1.2', not a finite number"),
    ("one baseline too few", r"1 baselines for 2 strata"),
    ("unknown name", r"unknown model name 'xgboost'"),
])
def test_damaged_model_files_give_one_line_naming_the_file(cox_file, tmp_path, what, message):
    doc = json.loads((cox_file / "cox.json").read_text())
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(damage(doc, what)))
    with pytest.raises(ModelFileError, match=message) as e:
        load_model(path)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_a_byte_order_mark_is_tolerated(cox_file, tmp_path, renewal_features):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + (cox_file / "cox.json").read_bytes())
    a = load_model(path).score(renewal_features)
    pd.testing.assert_frame_equal(a, load_model(cox_file / "cox.json").score(renewal_features))


def test_the_file_is_read_once(cox_file, monkeypatch):
    import pathlib
    reads = []
    real = pathlib.Path.read_bytes

    def counting(self):
        reads.append(self)
        return real(self)
    monkeypatch.setattr(pathlib.Path, "read_bytes", counting)
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self, *a, **k: pytest.fail("read_text"))
    from tobmodel.export import score_accounts
    features = pd.read_parquet(cox_file / "features.parquet")
    scores = score_accounts(cox_file / "cox.json", features)
    assert len(scores) == int(features["active"].sum())
    assert reads == [cox_file / "cox.json"]


def test_repurchase_model_fits_and_scores_from_the_command_line(tmp_path, capsys):
    from tobmodel.cli import main
    hw = tobmodel.simulate("hardware", "maturity", n_accounts=400, seed=8)
    hw.to_parquet(tmp_path / "data")
    assert main(["fit", "--data", str(tmp_path / "data"), "--model", "repurchase",
                 "--covariates", "tier,log_order_number", "--output",
                 str(tmp_path / "rep.json")]) == 0
    assert main(["score", "--model", str(tmp_path / "rep.json"), "--input",
                 str(tmp_path / "data"), "--output", str(tmp_path / "s.csv")]) == 0
    scores = pd.read_csv(tmp_path / "s.csv")
    rejects = pd.read_csv(tmp_path / "s.rejects.csv")
    # every account is scored, rejected, or counted as not scored (lapsed: churned)
    from tobmodel.export import score_accounts
    api = score_accounts(tmp_path / "rep.json", tmp_path / "data")
    lapsed = sum(api.attrs["summary"]["not_scored"].values())
    assert len(scores) == len(api) and lapsed > 0
    assert len(scores) + len(rejects) + lapsed == hw.accounts["account_id"].nunique() - int(
        (hw.tables["contracts"].groupby("account_id")["start_date"].min()
         == pd.Timestamp("2025-12-31")).sum())
    assert len(rejects) == 0  # lapsed accounts are not scored, never rejects
    assert (scores["model_name"] == "repurchase").all() and scores["p_churn_horizon"].between(
        0, 1).all()
    assert main(["score", "--model", str(tmp_path / "rep.json"), "--input",
                 str(tmp_path / "data"), "--output", str(tmp_path / "t.csv"),
                 "--horizon", "24"]) == 1
    assert "between 1 and lapse_months (12)" in capsys.readouterr().err


def test_each_chunk_is_checked_once(cox_file, monkeypatch):
    """The export checks rows (rejects) and the model's score() checks its schema: once per
    chunk, not a second time through check_schema."""
    import tobmodel.renewal.base as base
    from tobmodel.export import score_accounts
    calls = []
    real = base.score_inputs

    def counting(model, df, *a, **k):
        calls.append(len(df))
        return real(model, df, *a, **k)
    monkeypatch.setattr(base, "score_inputs", counting)
    features = pd.read_parquet(cox_file / "features.parquet")
    score_accounts(cox_file / "cox.json", features, chunksize=200)
    n_chunks = -(-len(features) // 200)
    assert len(calls) == n_chunks and sum(calls) == int(features["active"].sum())


def test_export_scores_takes_what_the_command_line_takes(sim, renewal_features, tmp_path):
    """A folder of tables, a Simulation, a dict of tables and the features frame score alike
    (the folder turned into features at the model's own as-of)."""
    from tobmodel.export import score_accounts
    from tobmodel.renewal import fit_renewal_model
    path = fit_renewal_model(renewal_features, covariates=COVS).save(tmp_path / "cox.json")
    folder = sim.to_parquet(tmp_path / "tables")
    runs = {"features": renewal_features, "folder": folder, "simulation": sim,
            "dict": dict(sim.tables)}
    scores = {k: score_accounts(path, v).drop(columns=["model_version"]) for k, v in runs.items()}
    for k in ("folder", "simulation", "dict"):
        pd.testing.assert_frame_equal(scores[k], scores["features"], check_exact=False,
                                      rtol=1e-12, obj=k)


def test_a_lead_model_scores_every_open_lead_of_a_folder(sim, tmp_path):
    """Leads are read whole: those created after the model's as-of are scored too (cutting
    them at the default as-of would drop them without a word)."""
    from tobmodel.export import fit_model, score_leads
    folder = sim.to_parquet(tmp_path / "tables")
    model, _ = fit_model(folder, "lead-logistic", as_of="2025-09-30")
    assert model.as_of_ == pd.Timestamp("2025-09-30")
    scores, rejects = score_leads(model, folder, return_rejects=True)
    is_open = sim.leads["status"] == "open"
    assert sorted(scores["lead_id"]) == sorted(sim.leads.loc[is_open, "lead_id"])
    closed = sum(scores.attrs["summary"]["not_scored"].values())  # counted, not rejected
    assert closed == int((~is_open).sum())
    assert len(scores) + len(rejects) + closed == len(sim.leads)
    assert (sim.leads.loc[is_open, "created_date"] > "2025-09-30").any()


def test_every_registered_model_takes_checked():
    """The protocol's ``checked=`` (the export passes it after its row checks)."""
    import importlib

    from tobmodel.export.inputs import takes_checked
    for name, where in MODEL_CLASSES.items():
        module, cls = where.split(":")
        score = getattr(importlib.import_module(module), cls).score
        assert takes_checked(score), name


def test_checked_rows_score_exactly_as_unchecked(case):
    """Rows through the export's row checks score the same with ``checked=True`` (the
    model's own per-row checks skipped) as without."""
    from tobmodel.export.rejects import SeenIds, check_rows
    _, model, data, _ = case
    scope = "churn" if model.kind == "renewal" else "lead"
    rc = check_rows(data, model.id_column, list(model.features_), SeenIds(), scope=scope,
                    as_of=pd.Timestamp("2025-12-31"))
    valid = rc.frame.loc[rc.ok].reset_index(drop=True)
    assert len(valid) >= 50  # open leads / active accounts
    kw = dict(as_of="2025-12-31", horizon_months=12, source="x", progress=False)
    pd.testing.assert_frame_equal(model.score(valid, checked=True, **kw),
                                  model.score(valid, **kw), check_exact=True)


@pytest.mark.parametrize("name", RENEWAL)
def test_checked_skips_the_renewal_models_row_checks(name, sim, renewal_features):
    """What ``checked=True`` skips, shown on a row the renewal models refuse unchecked (a
    missing covariate): never pass it for rows that were not checked."""
    model, data, _ = fit(name, sim, renewal_features)
    rows = data.head(3).copy()
    rows.loc[rows.index[0], "logins_trend"] = np.nan
    with pytest.raises(ValueError, match="'logins_trend' has 1 missing values"):
        model.score(rows)
    with np.errstate(invalid="ignore"):  # not checked again: the caller vouched for the rows
        model.score(rows, checked=True)
