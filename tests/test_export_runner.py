"""The score job: every row scored or rejected with its reason, chunking, conventions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tobmodel.export import ExportError, export_scores, risk_tier, score_accounts, score_leads
from tobmodel.export.rejects import SeenIds
from tobmodel.persist import SchemaMismatchError

AS_OF = "2025-12-31"


def _bad_rows(make_features):
    """300 accounts with one row per kind of problem, at known positions."""
    df = make_features(300)
    df["tenure_months"] = df["tenure_months"].astype(object)
    df["seats"] = df["seats"].astype(object)
    problems = {
        10: ("tenure_months", None, "missing value"),
        20: ("tenure_months", -2.0, "tenure <= 0"),
        30: ("tenure_months", 0.0, "tenure <= 0"),
        40: ("seats", "many", "not a number"),
        50: ("seats", float("inf"), "not a finite number"),
        60: ("tier", "enterprise", "unknown category"),
        70: ("onboarding_completed", "maybe", "not true/false"),
        90: ("account_id", None, "missing id"),
        # row 250 repeats row 5's id: chunks of 64 put them in different chunks
        250: ("account_id", 6, "duplicate id"),
        260: ("account_id", 6, "duplicate id"),
    }
    df["account_id"] = df["account_id"].astype(object)
    df["onboarding_completed"] = df["onboarding_completed"].astype(object)
    for row, (col, value, _) in problems.items():
        df.at[row, col] = value
    # churned accounts are out of scope: counted as not scored, never rejected (row 120
    # also has a bad tier: out of scope first, as a folder of tables leaves them out)
    df["active"] = df["active"].astype(object)
    df.loc[[80, 120], "active"] = False
    df.loc[120, "tier"] = "enterprise"
    return df, {row + 1: (col, reason) for row, (col, value, reason) in problems.items()}


def test_every_row_is_scored_or_rejected_with_its_reason(tmp_path, churn_model, make_features):
    df, expected = _bad_rows(make_features)
    df.to_csv(tmp_path / "features.csv", index=False)
    out = tmp_path / "scores.csv"
    summary = export_scores(churn_model, tmp_path / "features.csv", out, chunksize=64)
    scores = pd.read_csv(out)
    rejects = pd.read_csv(tmp_path / "scores.rejects.csv")
    assert summary.not_scored == {"churned": 2}
    assert summary.read == len(df) == summary.scored + 2 + summary.rejected
    assert (summary.scored, summary.rejected) == (len(scores), len(rejects))
    assert not {81, 121} & set(rejects["row_number"]) and not {81, 121} & set(
        scores["account_id"])
    got = {r.row_number: (r.field, r.reason) for r in rejects.itertuples()}
    assert got == expected
    assert sum(summary.rejects_by_reason.values()) == summary.rejected
    assert summary.rejects_by_reason["tenure <= 0: tenure_months"] == 2
    # scored ids: every good row once; the first of the duplicated id is kept
    assert scores["account_id"].is_unique and 6 in set(scores["account_id"])
    assert set(scores["account_id"]) | set(rejects["account_id"].dropna().astype(int)) | {
        81, 121} >= set(pd.to_numeric(df["account_id"]).dropna().astype(int))


def test_chunk_size_does_not_change_the_result(tmp_path, churn_model, make_features):
    df, _ = _bad_rows(make_features)
    df.to_csv(tmp_path / "features.csv", index=False)
    for cs in (7, 1000):
        export_scores(churn_model, tmp_path / "features.csv", tmp_path / f"s{cs}.csv",
                      chunksize=cs)
    for name in ("s{}.csv", "s{}.rejects.csv"):
        assert (tmp_path / name.format(7)).read_bytes() == (tmp_path / name.format(1000)
                                                           ).read_bytes()


def test_same_input_same_bytes(tmp_path, churn_model, make_features):
    make_features(500).to_parquet(tmp_path / "f.parquet")
    for i in (1, 2):
        export_scores(churn_model, tmp_path / "f.parquet", tmp_path / f"run{i}.parquet")
    assert (tmp_path / "run1.parquet").read_bytes() == (tmp_path / "run2.parquet").read_bytes()


def test_output_columns_and_convention(churn_model, make_features):
    scores = score_accounts(churn_model, make_features(2000), as_of=AS_OF, horizon_months=24)
    assert list(scores.columns[:5]) == ["account_id", "as_of", "model_name", "model_id",
                                        "model_version"]
    assert (scores["horizon_months"] == 24).all()
    assert (scores["as_of"] == pd.Timestamp(AS_OF)).all()
    # higher probability = higher tier, never the other way round
    rank = scores["risk_tier"].map({"low": 0, "medium": 1, "high": 2})
    order = np.argsort(scores["p_churn_horizon"].to_numpy(), kind="stable")
    assert (np.diff(rank.to_numpy()[order]) >= 0).all()
    assert set(scores["risk_tier"]) == {"low", "medium", "high"}


def test_risk_tier_cutoffs():
    p = np.array([0.0, 0.149, 0.15, 0.399, 0.4, 1.0])
    assert risk_tier(p).tolist() == ["low", "low", "medium", "medium", "high", "high"]
    assert risk_tier(p, (0.35, 0.9)).tolist() == ["low"] * 3 + ["medium"] * 2 + ["high"]
    with pytest.raises(ValueError, match="risk_cutoffs"):
        risk_tier(p, (0.6, 0.2))


def test_model_without_a_score_for_a_row_is_a_reject(churn_model, make_features):
    class Gappy(type(churn_model)):
        def score(self, df, as_of=None, horizon_months=12, **kw):
            s = super().score(df, as_of, horizon_months, **kw)
            s.loc[s["account_id"] % 10 == 0, "p_churn_horizon"] = np.nan
            return s
    scores, rejects = score_accounts(Gappy(), make_features(100), return_rejects=True)
    assert len(scores) == 90 and len(rejects) == 10
    assert set(rejects["reason"]) == {"no score from model"}


def test_missing_feature_column_fails_the_run_naming_it(churn_model, make_features):
    with pytest.raises(SchemaMismatchError, match="missing column 'seats'"):
        score_accounts(churn_model, make_features(10).drop(columns="seats"))


def test_leads_not_open_are_not_scored_and_better_leads_score_higher(lead_model):
    leads = pd.DataFrame({"lead_id": [1, 2, 3, 4], "intent": ["high", "low", "medium", "high"],
                          "employees": [10, 20, 30, 40],
                          "status": ["open", "open", "open", "converted"]})
    scores, rejects = score_leads(lead_model, leads, as_of=AS_OF, return_rejects=True)
    assert scores["lead_id"].tolist() == [1, 2, 3]
    assert len(rejects) == 0  # the converted lead is not scored, and no reject
    assert scores.attrs["summary"]["not_scored"] == {"closed": 1}
    s = scores.set_index("lead_id")
    assert s.loc[1, "score"] > s.loc[3, "score"] > s.loc[2, "score"]


def test_scoring_needs_an_as_of(churn_model, make_features):
    churn_model.as_of_ = None
    with pytest.raises(ValueError, match="as_of not given"):
        score_accounts(churn_model, make_features(5))


def test_seen_ids_match_a_python_set():
    rng = np.random.default_rng(3)
    seen, ref = SeenIds(), set()
    for _ in range(40):
        ids = rng.integers(0, 5000, rng.integers(1, 300))
        assert seen.contains(ids).tolist() == [int(i) in ref for i in ids]
        seen.add(ids)
        ref.update(int(i) for i in ids)
    assert len(seen) == len(ref)


def test_ids_in_order_take_the_short_path_with_the_same_answers():
    """Chunks in id order (a file sorted by id) skip the hashing and most look-ups; mixed
    with chunks out of order, overlapping or not, the answers are a Python set's."""
    from tobmodel.export.rejects import _repeated
    rng = np.random.default_rng(4)
    seen, ref, start = SeenIds(), set(), 0
    for i in range(60):
        n = int(rng.integers(1, 300))
        if i % 3 == 0:    # in order, beyond every id so far or from the largest one on
            first = [start - 1 if i % 2 and start else start]
            ids = np.cumsum(np.r_[first, rng.integers(1, 4, n - 1)])
        elif i % 3 == 1:  # in order, overlapping earlier chunks
            ids = np.unique(rng.integers(max(start - 500, 0), start + 100, n))
        else:             # out of order, repeats within the chunk
            ids = rng.integers(0, start + 100, n)
        start = max(start, int(ids.max()) + 1)
        assert seen.contains(ids).tolist() == [int(v) in ref for v in ids]
        assert _repeated(ids).tolist() == pd.Series(ids).duplicated().tolist()
        seen.add(ids)
        ref.update(int(v) for v in ids)
    assert len(seen) == len(ref)


def test_rows_built_at_another_as_of_are_rejected(churn_model, make_features):
    feats = make_features(20)
    feats["as_of"] = ["2025-12-31"] * 18 + ["2025-12-24", "not a date"]
    scores, rejects = score_accounts(churn_model, feats, as_of=AS_OF, return_rejects=True)
    assert len(scores) == 18 and scores["account_id"].max() == 18
    assert rejects["account_id"].tolist() == ["19", "20"]
    assert set(rejects["reason"]) == {"features built at another as_of"}
    assert rejects["value"].tolist() == ["2025-12-24", "not a date"]
    # the same rows are fine when the run's as_of matches them
    s = score_accounts(churn_model, feats.iloc[18:19], as_of="2025-12-24")
    assert s["account_id"].tolist() == [19]


def test_a_model_short_of_the_protocol_is_refused():
    """No adapter guesses the gaps: a model that does not follow tobmodel.protocol is refused,
    naming what it lacks (here a lead model whose ``kind`` is its estimator)."""
    from conftest import StandInLeadModel

    class Bare:
        kind, model_id, versions = "hgb", "lead-abc", {"tobmodel": "9.9"}
        features_ = StandInLeadModel.FEATURES

        def score(self, leads, n_reasons=3):  # no as_of parameter
            return StandInLeadModel().score(leads)

    leads = pd.DataFrame({"lead_id": [1, 2], "intent": ["high", "odd"], "employees": [3, 4]})
    with pytest.raises(ExportError, match=r"Bare is not a tobmodel scoring model \(it lacks "
                                          r"name, id_column, version, as_of_, check_schema"):
        score_leads(Bare(), leads, as_of=AS_OF)


def test_horizon_out_of_bounds_fails_before_anything_is_written(churn_model, make_features,
                                                                 tmp_path):
    out = tmp_path / "scores.parquet"
    with pytest.raises(ValueError, match=r"horizon_months must be between 1 and 600, "
                                         r"got 1000000000"):
        export_scores(churn_model, make_features(20), out, horizon_months=1_000_000_000)
    assert list(tmp_path.iterdir()) == []


def test_the_run_scores_checked_rows_with_checked_true(churn_model, make_features):
    """The run passes the protocol's ``checked=True`` for the rows its checks passed, and
    refuses (one line, before any row is read) a model whose score() does not take it."""
    seen = []

    class Recording(type(churn_model)):
        def score(self, df, as_of=None, horizon_months=None, source="data", progress=False,
                  checked=False):
            seen.append((len(df), checked))
            return super().score(df, as_of, horizon_months, source, progress, checked)

    feats = make_features(50)
    feats.loc[feats.index[:2], "tier"] = "giant"
    scores = score_accounts(Recording(), feats, chunksize=20)
    assert seen == [(18, True), (20, True), (10, True)] and len(scores) == 48

    class Old(type(churn_model)):
        def score(self, df, as_of=None, horizon_months=None, source="data", progress=False):
            raise AssertionError("never called")
    with pytest.raises(ExportError, match=r"^Old\.score\(\) does not take checked="):
        score_accounts(Old(), feats)
