"""Lead models: features and leakage guard, time splits, the factory pipelines, the engine.

The engine (plain-array scoring used by fitted and loaded models) must give the
same probabilities as scikit-learn's own Pipeline.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from lightgbm import LGBMClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

import tobmodel
from tobmodel.leads import (DEFAULT_FEATURES, LeakageError, LeadDataError, TimeOrderedSplit,
                            UnknownCategoryWarning, check_no_leakage, cross_validate_by_time,
                            fit_lead_model, make_lead_model, outcome_labels, time_split)
from tobmodel.leads.engine import engine_from_pipeline
from tobmodel.schema import LEADS



@pytest.fixture(scope="module")
def leads():
    return tobmodel.simulate("saas", "maturity", n_accounts=500, seed=11).leads


@pytest.fixture(scope="module")
def closed(leads):
    c, y, _ = outcome_labels(leads)
    return c, y


# --- features and leakage -------------------------------------------------------------------

def test_default_features_are_known_at_scoring():
    after = {c.name for c in LEADS.columns if not c.known_at_scoring}
    assert after >= {"status", "outcome_date", "qualified_date", "engaged_date", "account_id"}
    assert not after & set(DEFAULT_FEATURES)
    assert {"channel", "intent", "decision_maker_engaged"} <= set(DEFAULT_FEATURES)
    assert "lead_id" not in DEFAULT_FEATURES and "created_date" not in DEFAULT_FEATURES


def test_schema_post_outcome_column_is_refused_by_name(leads):
    with pytest.raises(LeakageError, match="'engaged_date'.*known only after"):
        fit_lead_model(leads, features=[*DEFAULT_FEATURES, "engaged_date"])
    with pytest.raises(LeakageError, match="id column"):
        check_no_leakage(leads, ["channel", "lead_id"])


def test_planted_post_outcome_column_is_refused_by_data(leads):
    # a column the CRM fills in after the deal: 'contract_value' is >0 only for converted leads
    rng = np.random.default_rng(0)
    planted = leads.assign(contract_value=np.where(leads["status"] == "converted",
                                                   rng.uniform(1e4, 5e4, len(leads)), 0.0))
    with pytest.raises(LeakageError, match="'contract_value' \\(AUC 1.000\\).*leakage"):
        fit_lead_model(planted, kind="logistic", features=[*DEFAULT_FEATURES, "contract_value"])
    # an honest extra column with a real but imperfect signal passes
    honest = leads.assign(webinar=(leads["status"] == "converted") ^ (rng.random(len(leads)) < .3))
    model = fit_lead_model(honest, kind="logistic", features=[*DEFAULT_FEATURES, "webinar"])
    assert "webinar" in model.feature_names_
    # the override lets a user insist
    m = fit_lead_model(planted, kind="logistic", check_leakage=False,
                       features=[*DEFAULT_FEATURES, "contract_value"])
    assert "contract_value" in m.feature_names_


def test_open_leads_are_left_out_of_training(leads):
    model = fit_lead_model(leads, kind="logistic")
    n_open = int((leads["status"] == "open").sum())
    assert n_open > 0
    assert model.training_["n_open_excluded"] == n_open
    assert model.training_["n_train"] == len(leads) - n_open


# --- time ------------------------------------------------------------------------------------

def test_outcome_labels_read_categorical_and_text_status_alike(leads):
    as_text = leads.assign(status=leads["status"].astype(object))
    assert isinstance(leads["status"].dtype, pd.CategoricalDtype)
    for a, b in zip(outcome_labels(leads), outcome_labels(as_text)):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_index_equal(a.index, b.index)
        else:
            np.testing.assert_array_equal(a, b)
    status = pd.Categorical(["lost", None, "converted", "won", "open"],
                            categories=["converted", "lost", "open", "won", "unused"])
    with pytest.raises(LeadDataError, match=r"other than converted/lost/open: nan, 'won' "
                                            r"\(rows 2, 4\)"):
        outcome_labels(pd.DataFrame({"status": status}))
    closed, y, n_open = outcome_labels(pd.DataFrame({"status": pd.Categorical(
        ["open", "lost", "converted"], categories=["converted", "lost", "open", "unused"])}))
    assert closed.index.tolist() == [1, 2] and y.tolist() == [0, 1] and n_open == 1


def test_spread_rows_are_distinct_increasing_and_cover_both_ends():
    from tobmodel.leads.features import spread_rows
    for n, k in [(n, k) for n in range(0, 120) for k in (1, 2, 7, 50, 500)] + \
            [(1_099_757, 200_000), (879_806, 20_000), (200_001, 200_000)]:
        rows = spread_rows(n, k)
        assert len(rows) == min(n, k) and (np.diff(rows) > 0).all()
        if n:
            assert rows[0] == 0 and (rows[-1] == n - 1 or k == 1)


def test_time_split_trains_on_older_leads(leads):
    train, test = time_split(leads, "2025-01-01")
    assert len(train) + len(test) == len(leads)
    assert train["created_date"].max() < pd.Timestamp("2025-01-01") <= test["created_date"].min()
    with pytest.raises(LeadDataError, match="every lead was created before"):
        time_split(leads, "2099-01-01")


def test_time_ordered_cv_never_tests_on_older_leads(leads):
    shuffled = leads.sample(frac=1.0, random_state=0)  # rows need not be sorted
    d = shuffled["created_date"].to_numpy()
    folds = list(TimeOrderedSplit(n_splits=4).split(shuffled))
    assert len(folds) == 4
    for tr, te in folds:
        assert d[tr].max() < d[te].min()  # no day shared between train and test
        assert not set(tr) & set(te)
    assert [len(tr) for tr, _ in folds] == sorted(len(tr) for tr, _ in folds)


def test_time_ordered_cv_composes_with_cross_val_score(closed):
    c, y = closed
    auc = cross_val_score(make_lead_model("logistic", calibration=None), c, y,
                          scoring="roc_auc", cv=TimeOrderedSplit(3))
    assert auc.shape == (3,) and (auc > 0.65).all()


def test_cross_validate_by_time_reports_folds_in_order(leads):
    cv = cross_validate_by_time(leads, n_splits=3, kind="logistic", calibration=None)
    assert list(cv["fold"]) == [1, 2, 3]
    assert (pd.to_datetime(cv["train_to"]) < pd.to_datetime(cv["test_from"])).all()
    assert (cv["roc_auc"] > 0.65).all() and (cv["brier"] < cv["conversion_rate"]).all()


# --- factory pipelines -------------------------------------------------------------------------

@pytest.mark.parametrize("kind, estimator", [("logistic", LogisticRegression),
                                             ("hgb", LGBMClassifier)])
def test_factory_builds_calibrated_pipeline_of_stock_parts(kind, estimator, closed):
    c, y = closed
    pipe = make_lead_model(kind)
    assert isinstance(pipe, Pipeline) and [n for n, _ in pipe.steps] == ["prepare", "classify"]
    assert isinstance(pipe.named_steps["prepare"], ColumnTransformer)
    cal = pipe.named_steps["classify"]
    assert isinstance(cal, CalibratedClassifierCV) and isinstance(cal.estimator, estimator)
    assert cal.method == "sigmoid"
    fitted = clone(pipe).fit(c, y)
    names = list(fitted[:-1].get_feature_names_out())
    Xt = fitted[:-1].transform(c)
    assert list(Xt.columns) == names  # pandas output keeps the names
    if kind == "hgb":
        assert sorted(names) == sorted(DEFAULT_FEATURES)  # one column per feature
    else:
        assert "channel_bidding" in names and "intent_high" in names and "employees" in names
    p = fitted.predict_proba(c)[:, 1]
    assert abs(p.mean() - y.mean()) < 0.02  # calibrated in the large


def test_boosting_reads_categories_that_lightgbm_coded(closed):
    c, y = closed
    pipe = make_lead_model("hgb", calibration=None).fit(c, y)
    Xt = pipe[:-1].transform(c)
    assert isinstance(Xt["industry"].dtype, pd.CategoricalDtype)  # no codes made in Python
    encoding, *_ = engine_from_pipeline(pipe)
    j = encoding.names.index("industry")
    assert encoding.categories[j] == [str(v) for v in c["industry"].cat.categories]
    # text categories become categoricals too: the same model and categories
    as_text = c.assign(industry=c["industry"].astype(object))
    again = engine_from_pipeline(make_lead_model("hgb", calibration=None).fit(as_text, y))
    assert again[0].categories[j] == sorted(as_text["industry"].unique())
    # an ordered categorical is still split as categories (LightGBM would treat it as a number)
    ordered = c.assign(intent=c["intent"].cat.as_ordered())
    model = make_lead_model("hgb", calibration=None).fit(ordered, y)
    encoding, engine, calibrator, _ = engine_from_pipeline(model)
    np.testing.assert_allclose(calibrator(engine.prepare(encoding.encode(ordered)).raw),
                               model.predict_proba(ordered)[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(ordered), pipe.predict_proba(c), atol=1e-12)
    # a number column of category dtype would be coded by LightGBM too: refused, not misread
    with pytest.warns(UserWarning, match="categorical_column in param dict is overridden"):
        odd = make_lead_model("hgb", calibration=None).fit(
            c.assign(employees=c["employees"].astype("category")), y)
    with pytest.raises(ValueError, match="LightGBM saw 6 categorical columns, expected the 5"):
        engine_from_pipeline(odd)
    # (with a monotone constraint LightGBM would abort the process): one line at fit instead
    with pytest.raises(LeadDataError, match="column 'site_visits' is a number feature but has "
                                            "type category; convert it"):
        fit_lead_model(c.assign(site_visits=c["site_visits"].astype("category")))


def test_factory_rejects_unknown_options():
    with pytest.raises(ValueError, match="kind must be one of"):
        make_lead_model("forest")
    with pytest.raises(ValueError, match="calibration must be one of"):
        make_lead_model("hgb", calibration="platt")


def test_factory_pipeline_composes_with_grid_search(closed):
    from sklearn.model_selection import GridSearchCV
    c, y = closed
    grid = GridSearchCV(make_lead_model("logistic", calibration=None),
                        {"classify__C": [0.1, 1.0]}, cv=TimeOrderedSplit(2), scoring="roc_auc")
    grid.fit(c, y)
    assert grid.best_params_["classify__C"] in (0.1, 1.0)


# --- engine == scikit-learn --------------------------------------------------------------------

def _with_unseen(leads):
    out = leads.copy()
    out["industry"] = out["industry"].astype(object)
    out.loc[out.index[:40], "industry"] = "space_mining"
    return out


@pytest.mark.parametrize("kind, calibration", [("hgb", "sigmoid"), ("hgb", "isotonic"),
                                               ("hgb", None), ("logistic", "sigmoid"),
                                               ("logistic", None)])
def test_engine_matches_sklearn_predict_proba(kind, calibration, leads):
    model = fit_lead_model(leads, kind=kind, calibration=calibration)
    for data in (leads, _with_unseen(leads)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownCategoryWarning)
            ours = model.predict_proba(data)
        theirs = model.pipeline_.predict_proba(data)[:, 1]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


def test_tree_engine_with_more_than_32_leaves_and_what_if_scores(closed):
    c, y = closed
    pipe = make_lead_model("hgb", calibration=None)
    pipe.set_params(classify__num_leaves=48, classify__n_estimators=30,
                    classify__min_child_samples=5)
    pipe.fit(c, y)
    encoding, engine, calibrator, _ = engine_from_pipeline(pipe)
    assert engine.dtype == np.uint64
    Z = encoding.encode(c)
    state = engine.prepare(Z)
    np.testing.assert_allclose(calibrator(state.raw), pipe.predict_proba(c)[:, 1], atol=1e-9)
    # "what if feature j had value v" equals re-scoring the changed rows
    j = encoding.names.index("intent")
    what_if = state.raw_with(j, [0.0, 2.0, np.nan])
    for k, v in enumerate([0.0, 2.0, np.nan]):
        Z2 = Z.copy()
        Z2[:, j] = v
        np.testing.assert_allclose(what_if[:, k], engine.prepare(Z2).raw, atol=1e-12)


def test_time_split_can_show_training_leads_as_seen_at_the_cutoff(leads):
    cutoff = pd.Timestamp("2025-01-01")
    train, _ = time_split(leads, cutoff)
    seen, test = time_split(leads, cutoff, as_seen_at_cutoff=True)
    later = (train["outcome_date"] >= cutoff).to_numpy()
    assert later.sum() > 10
    assert (seen["status"].to_numpy()[later] == "open").all()
    assert (seen["status"].to_numpy()[~later] == train["status"].to_numpy()[~later]).all()
    for col in ("qualified_date", "engaged_date", "outcome_date"):
        assert not (seen[col] >= cutoff).any()
    assert seen["status"].dtype == leads["status"].dtype and len(test) > 0
    model = fit_lead_model(seen, kind="logistic")
    assert model.training_["n_open_excluded"] == int((seen["status"] == "open").sum())


def test_pooled_business_types_get_a_business_type_feature(leads):
    tool = tobmodel.simulate("tool", "growth", n_accounts=200, seed=2).leads
    pooled = pd.concat([leads, tool.assign(lead_id=tool["lead_id"] + 10**6)], ignore_index=True)
    model = fit_lead_model(pooled, kind="logistic")
    assert "business_type" in model.feature_names_
    assert "business_type" not in fit_lead_model(leads, kind="logistic").feature_names_
    out = model.explain(pooled.head(3))
    assert "business_type" in out.columns


# --- calibration on the newest leads (large data) ----------------------------------------------

@pytest.mark.parametrize("kind, calibration", [("hgb", "sigmoid"), ("logistic", "isotonic")])
def test_large_data_calibrates_on_the_newest_leads_only(kind, calibration, leads, monkeypatch):
    from tobmodel.leads import fit as fit_module
    monkeypatch.setattr(fit_module, "HOLDOUT_MIN_LEADS", 100)  # this data counts as large
    # plant a later world: among the newest 20% of closed leads, half the lost ones converted
    c, y, _ = outcome_labels(leads)
    days = c["created_date"].to_numpy()
    newest = days >= np.sort(days)[int(len(days) * 0.8)]
    rng = np.random.default_rng(3)
    flip = newest & (c["status"].to_numpy() == "lost") & (rng.random(len(c)) < 0.5)
    planted = c.assign(status=c["status"].where(~flip, "converted"))
    model = fit_lead_model(planted, kind=kind, calibration=calibration)
    assert model.fit_config_["calibrated_on"] == "newest leads"
    assert model.training_["n_calibration"] == int(newest.sum())
    p = model.predict_proba(planted)
    y_new = (planted["status"] == "converted").to_numpy()
    # probabilities follow the newest leads' conversion rate, not the older ones'
    assert abs(p.mean() - y_new[newest].mean()) < 0.03 < y_new[newest].mean() - y_new[~newest].mean()
    np.testing.assert_allclose(p, model.pipeline_.predict_proba(planted)[:, 1], rtol=0, atol=1e-9)
    # the classifier never saw the calibrating leads: other outcomes there, same raw scores
    other = fit_lead_model(planted.assign(status=c["status"]), kind=kind, calibration=calibration)
    Z = model.encoding_.encode(planted)
    np.testing.assert_array_equal(model.engine_.prepare(Z).raw, other.engine_.prepare(Z).raw)


def test_drift_profile_of_evenly_spread_leads_gives_the_same_answers(leads, monkeypatch):
    from tobmodel.io.profile import reference_profile
    from tobmodel.leads import fit as fit_module
    from tobmodel.monitor.drift import drift_table
    monkeypatch.setattr(fit_module, "PROFILE_ROWS", 1500)  # fewer than these leads
    model = fit_lead_model(leads, kind="logistic")
    c, y, _ = outcome_labels(leads)
    assert model.reference_profile_["n_rows"] == 1500 < len(c)
    full = reference_profile(c, model.features_, scores=model.predict_proba(c),
                             score_column="p_convert")
    week = c.sample(3000, replace=True, random_state=1)
    planted = week.assign(site_visits=week["site_visits"] + 3,  # more visits, fewer small firms
                          company_size=week["company_size"].where(week["company_size"] != "SMB",
                                                                  "mid"))
    for frame in (week, planted):
        tables = [drift_table(profile, frame, model.predict_proba(frame)).set_index("feature")
                  for profile in (full, model.reference_profile_)]
        a, b = tables[0], tables[1].loc[tables[0].index]
        assert list(a["status"]) == list(b["status"])
        np.testing.assert_allclose(a["psi"], b["psi"], rtol=0.02, atol=0.01)
        if frame is week:
            assert set(a["status"]) == {"stable"}
    assert a.loc[["site_visits", "company_size"], "status"].eq("shift").all()


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("kind", ["decision_function", "predict_proba"])
def test_calibration_of_scores_is_scikit_learns_calibration_of_the_classifier(method, kind):
    from sklearn.frozen import FrozenEstimator
    from sklearn.naive_bayes import GaussianNB
    from tobmodel.leads.engine import calibration_of_scores
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6000, 3))
    y = (rng.random(6000) < 1 / (1 + np.exp(-X @ [1.0, -0.5, 0.2]))).astype(int)
    est = (LogisticRegression() if kind == "decision_function" else GaussianNB()).fit(X[:3000], y[:3000])
    assert hasattr(est, "decision_function") == (kind == "decision_function")
    theirs = CalibratedClassifierCV(FrozenEstimator(est), method=method).fit(X[3000:], y[3000:])
    scores = lambda A: est.decision_function(A) if kind == "decision_function" \
        else est.predict_proba(A)[:, 1]  # noqa: E731
    ours = calibration_of_scores(scores(X[3000:]), y[3000:], method, kind)
    new = rng.normal(size=(500, 3))
    np.testing.assert_allclose(ours.predict_proba(scores(new)[:, None])[:, 1],
                               theirs.predict_proba(new)[:, 1], rtol=0, atol=1e-12)


def test_hold_out_calibration_leaves_lightgbm_the_check_rows_only(leads, monkeypatch):
    from tobmodel.leads import engine as engine_module
    from tobmodel.leads import fit as fit_module
    monkeypatch.setattr(fit_module, "HOLDOUT_MIN_LEADS", 100)  # the hold-out path
    monkeypatch.setattr(engine_module, "CHECK_ROWS", 50)
    predicted = []
    real = LGBMClassifier.decision_function

    @functools.wraps(real)  # scikit-learn calls the method by its name
    def counting(self, X, *args, **kwargs):
        predicted.append(len(X))
        return real(self, X, *args, **kwargs)
    monkeypatch.setattr(LGBMClassifier, "decision_function", counting)
    model = fit_lead_model(leads)
    assert predicted == [50] < [model.training_["n_calibration"]]  # 50 spread leads, checked
    p = model.predict_proba(leads)
    pipe = model.pipeline_  # scikit-learn's calibration of the frozen LightGBM, fitted now
    assert sum(predicted) == 50 + model.training_["n_calibration"] + 50
    assert model.pipeline_ is pipe  # kept
    np.testing.assert_allclose(pipe.predict_proba(leads)[:, 1], p, rtol=0, atol=1e-9)


def test_hold_out_fit_reads_lightgbms_training_scores_with_the_same_grid(leads, monkeypatch):
    from tobmodel.io.profile import reference_profile
    from tobmodel.leads import fit as fit_module
    from tobmodel.leads.scoring import score_grid
    monkeypatch.setattr(fit_module, "HOLDOUT_MIN_LEADS", 100)  # the hold-out path
    model = fit_lead_model(leads)
    c, y, _ = outcome_labels(leads)
    p = model.predict_proba(c)  # every closed lead scored by the trees
    np.testing.assert_allclose(model.grid_, score_grid(p), rtol=0, atol=1e-12)
    full = reference_profile(c, model.features_, scores=p, score_column="p_convert")
    np.testing.assert_allclose(model.reference_profile_["score"]["edges"], full["score"]["edges"],
                               rtol=0, atol=1e-12)
    # scores that are not the trees' are refused, in one line
    keep = fit_module._TrainingScores._keep
    monkeypatch.setattr(fit_module._TrainingScores, "_keep",
                        lambda self, preds, data: keep(self, np.clip(preds * 1.01, 0, 1), data))
    with pytest.raises(LeadDataError, match="training leads differ from its trees"):
        fit_lead_model(leads)
    # no scores handed over (a LightGBM whose callbacks run otherwise): the trees score them
    monkeypatch.setattr(fit_module._TrainingScores, "__call__", lambda self, env: None)
    again = fit_lead_model(leads)
    np.testing.assert_allclose(again.grid_, model.grid_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(again.reference_profile_["score"]["edges"],
                               model.reference_profile_["score"]["edges"], rtol=0, atol=1e-12)


def test_threads_change_nothing_in_the_fitted_model(leads, monkeypatch):
    from tobmodel.leads import fit as fit_module
    monkeypatch.setattr(fit_module, "HOLDOUT_MIN_LEADS", 100)  # the hold-out path
    one, two = (fit_lead_model(leads, n_jobs=j) for j in (1, 2))
    assert one.pipeline_.named_steps["classify"].estimator.estimator.n_jobs == 1
    assert two.pipeline_.named_steps["classify"].estimator.estimator.n_jobs == 2
    assert one.model_id == two.model_id and one.classifier_ == two.classifier_
    np.testing.assert_array_equal(one.predict_proba(leads), two.predict_proba(leads))
    np.testing.assert_array_equal(one.grid_, two.grid_)  # LightGBM's training scores too
    assert one.reference_profile_ == two.reference_profile_


def test_lightgbm_threads_are_told_to_sleep_when_idle():
    import subprocess
    import sys
    code = ("import os; from tobmodel.leads.pipeline import boosting_classifier; "
            "boosting_classifier(0, [True]); print(os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "OMP_WAIT_POLICY"}
    got = [subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          check=True).stdout.strip()
           for e in (env, {**env, "OMP_WAIT_POLICY": "ACTIVE"})]
    assert got == ["PASSIVE", "ACTIVE"]  # set before LightGBM loads; the user's value kept


def test_tree_contributions_add_up_to_the_raw_score(closed):
    c, y = closed
    pipe = make_lead_model("hgb", calibration=None).fit(c, y)
    encoding, engine, calibrator, _ = engine_from_pipeline(pipe)
    state = engine.prepare(encoding.encode(c))
    contrib = state.contributions()
    assert contrib.shape == (len(c), len(encoding.names))
    np.testing.assert_allclose(engine.bias + contrib.sum(axis=1), state.raw, atol=1e-9)
    # engaging the decision maker is credited to that feature, with the right sign
    j = encoding.names.index("decision_maker_engaged")
    engaged = c["decision_maker_engaged"].to_numpy()
    assert contrib[engaged, j].mean() > 0 > contrib[~engaged, j].mean()
    # a feature no tree splits on gets no credit
    unused = [k for k in range(len(encoding.names)) if len(engine.uses[k]) == 0]
    assert all((contrib[:, k] == 0).all() for k in unused)


def test_lightgbm_rules_the_evaluator_cannot_follow_are_refused(closed):
    c, y = closed
    pipe = make_lead_model("hgb", calibration=None)
    pipe.set_params(classify__zero_as_missing=True, classify__n_estimators=5)
    pipe.fit(c, y)
    with pytest.raises(ValueError, match="missing_type 'Zero' is not supported"):
        engine_from_pipeline(pipe)
    with pytest.raises(ValueError, match="reads an uncalibrated lead Pipeline"):
        engine_from_pipeline(make_lead_model("hgb").fit(c, y))


def test_leakage_by_data_is_caught_on_a_sample_of_many_leads(leads, monkeypatch):
    from tobmodel.leads import fit as fit_module
    monkeypatch.setattr(fit_module, "LEAKAGE_ROWS", 400)  # these leads count as many
    planted = leads.assign(contract_value=np.where(leads["status"] == "converted", 2e4, 0.0))
    with pytest.raises(LeakageError, match="'contract_value' \\(AUC 1.000\\)"):
        fit_lead_model(planted, kind="logistic", features=[*DEFAULT_FEATURES, "contract_value"])
