"""Watching the weekly job: drift (PSI), staleness exit code, movers, the HTML report."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tobmodel.export import export_scores
from tobmodel.io.profile import (PSI_SHIFT, ProfileCounts, profile_entry, profile_psi, psi,
                                 psi_status, reference_profile)
from tobmodel.monitor.drift import drift_table, score_drift
from tobmodel.monitor.movers import find_movers, read_history
from tobmodel.monitor.report import build_report, write_report, write_report_tables
from tobmodel.monitor.staleness import EXIT_STALE, check_staleness

from conftest import StandInRenewalModel, account_features  # noqa: E402

WEEKS = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
RISERS = [3, 17, 29]  # planted: tenure shrinks and onboarding lapses week after week


def _frame(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"seats": rng.lognormal(3, 1, n), "usage": rng.normal(0, 1, n),
                         "tier": rng.choice(["KA", "mid", "SMB"], n, p=[.2, .5, .3]),
                         "onboarded": rng.random(n) < 0.7})


# ------------------------------------------------------------------------------ PSI

def test_psi_of_identical_distributions_is_about_zero():
    df = _frame()
    prof = reference_profile(df, ["seats", "usage", "tier", "onboarded"])
    values = profile_psi(prof, df)
    assert set(values) == {"seats", "usage", "tier", "onboarded"}
    assert max(values.values()) < 1e-6
    # a fresh sample of the same population is stable too
    assert max(profile_psi(prof, _frame(seed=1)).values()) < 0.1


def test_planted_shift_is_above_025_and_only_there():
    df = _frame()
    prof = reference_profile(df, ["seats", "usage", "tier", "onboarded"])
    later = _frame(seed=1)
    later["usage"] += 1.0                                         # numeric shift
    later.loc[later.index[:2000], "tier"] = "SMB"                 # category mix shift
    t = drift_table(prof, later)
    by = t.set_index("feature")
    assert by.loc["usage", "psi"] > PSI_SHIFT and by.loc["usage", "status"] == "shift"
    assert by.loc["tier", "psi"] > PSI_SHIFT and by.loc["tier", "status"] == "shift"
    assert by.loc["seats", "status"] == "stable" and by.loc["onboarded", "status"] == "stable"
    assert t["feature"].iloc[0] in ("usage", "tier")             # worst first
    assert "SMB" in by.loc["tier", "largest_change"]


def test_psi_formula_and_thresholds():
    e, a = np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.25, 0.25])
    want = (0.5 - 0.25) * np.log(2) + (0.25 - 0.5) * np.log(0.5)
    assert psi(e, a) == pytest.approx(want)
    assert psi(e * 400, a * 1000) == pytest.approx(want)          # counts or shares
    assert [psi_status(v) for v in (0.05, 0.1, 0.25, 0.26, float("nan"))] == [
        "stable", "watch", "watch", "shift", "n/a"]


def test_unseen_categories_and_missing_values_count_as_drift():
    df = _frame()
    prof = reference_profile(df, ["tier", "usage"])
    later = _frame(seed=1)
    later.loc[later.index[:1500], "tier"] = "enterprise"          # never seen in training
    later.loc[later.index[:1500], "usage"] = np.nan
    v = profile_psi(prof, later)
    assert v["tier"] > PSI_SHIFT and v["usage"] > PSI_SHIFT


def test_counts_by_chunk_equal_counts_of_the_whole():
    df = _frame()
    prof = reference_profile(df, ["seats", "tier"])
    later = _frame(seed=3)
    c = ProfileCounts(prof)
    for part in np.array_split(np.arange(len(later)), 7):
        c.add(later.iloc[part])
    whole = ProfileCounts(prof)
    whole.add(later)
    assert {k: v.tolist() for k, v in c.counts.items()} == \
        {k: v.tolist() for k, v in whole.counts.items()}


def test_score_drift_against_last_week():
    rng = np.random.default_rng(5)
    last = rng.beta(2, 8, 3000)
    assert score_drift(last, last)["psi"].item() < 1e-9
    assert score_drift(last, np.clip(last + 0.15, 0, 1))["status"].item() == "shift"


# ------------------------------------------------------------------------------ staleness

def test_staleness_by_age():
    assert check_staleness("2025-12-31", "2026-01-26", max_age_weeks=8).exit_code == 0
    s = check_staleness("2025-06-30", "2026-01-26", max_age_weeks=8)
    assert s.stale and s.exit_code == EXIT_STALE and "weeks old" in s.warnings[0]
    # without a limit: a warning above 26 weeks, never a failure
    s = check_staleness("2025-01-01", "2026-01-26")
    assert s.warnings and s.exit_code == 0
    with pytest.raises(ValueError, match="positive"):
        check_staleness("2025-01-01", "2026-01-26", max_age_weeks=-1)


def test_staleness_by_drift():
    t = pd.DataFrame({"feature": ["usage", "seats"], "psi": [0.4, 0.02],
                      "status": ["shift", "stable"]})
    assert check_staleness("2026-01-01", "2026-01-05", drift=t).exit_code == 0
    s = check_staleness("2026-01-01", "2026-01-05", drift=t, fail_on_drift=True)
    assert s.exit_code == EXIT_STALE and s.drifted == ["usage"]
    assert "usage 0.40" in s.warnings[0]


@pytest.fixture(scope="module")
def cox_files(tmp_path_factory):
    """A small Cox model file (with its training profile) and its active accounts' features."""
    import tobmodel
    from tobmodel.renewal import build_account_features, fit_renewal_model
    d = tmp_path_factory.mktemp("cox")
    f = build_account_features(tobmodel.simulate("saas", n_accounts=1500, seed=11))
    m = fit_renewal_model(f, covariates=["tier", "logins_trend", "onboarding_completed"])
    active = f[f["active"]].reset_index(drop=True)
    active.to_parquet(d / "features.parquet")
    shifted = active.copy()
    shifted["logins_trend"] = shifted["logins_trend"] - 2 * shifted["logins_trend"].std()
    shifted.to_parquet(d / "shifted.parquet")
    m.save(d / "cox.json")
    return d, m


def test_model_file_carries_the_training_profile(cox_files):
    from tobmodel.renewal import load_renewal_model
    d, m = cox_files
    prof = load_renewal_model(d / "cox.json").reference_profile_
    assert prof == m.reference_profile_
    assert {"tier", "logins_trend", "onboarding_completed", "tenure_months"} <= \
        set(prof["features"])
    assert "next_renewal_date" not in prof["features"]            # dates move every week
    assert prof["score"]["column"] == "p_churn_horizon" and prof["score"]["horizon_months"] == 12
    n_active = len(pd.read_parquet(d / "features.parquet"))
    assert prof["n_rows"] == n_active                              # active accounts only


def test_export_summary_carries_drift(cox_files, tmp_path):
    d, m = cox_files
    same = export_scores(d / "cox.json", d / "features.parquet", tmp_path / "a.csv")
    assert same.drift and max(r["psi"] for r in same.drift) < 1e-6
    assert {r["feature"] for r in same.drift} >= {"logins_trend", "score"}
    moved = export_scores(d / "cox.json", d / "shifted.parquet", tmp_path / "b.csv")
    worst = moved.drift[0]
    assert worst["feature"] in ("logins_trend", "score") and worst["status"] == "shift"


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tobmodel", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_score_exit_code_3_when_stale_or_drifted(cox_files, tmp_path):
    d, m = cox_files
    base = ["score", "--model", d / "cox.json", "--output", tmp_path / "s.csv"]
    ok = _cli(*base, "--input", d / "features.parquet", "--fail-on-drift",
              "--max-model-age-weeks", "4", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    drifted = _cli(*base, "--input", d / "shifted.parquet", cwd=tmp_path)
    assert drifted.returncode == 0 and "drift against the training data" in drifted.stdout
    assert "tobmodel: warning: drift" in drifted.stderr
    failed = _cli(*base, "--input", d / "shifted.parquet", "--fail-on-drift", cwd=tmp_path)
    assert failed.returncode == EXIT_STALE, failed.stderr
    assert (tmp_path / "s.csv").exists()                          # the scores were written


def test_score_exit_code_3_when_the_model_is_too_old(tmp_path, make_features, monkeypatch):
    """The stand-in fitted as of 2025-12-31 scoring 2026-06-29 is 25.7 weeks old."""
    from tobmodel.cli import main
    from tobmodel.export import runner
    make_features(50).to_csv(tmp_path / "f.csv", index=False)
    load = runner.load_scoring_model
    monkeypatch.setattr(runner, "load_scoring_model", lambda m: load(StandInRenewalModel()))
    args = ["score", "--model", "standin.json", "--input", str(tmp_path / "f.csv"),
            "--output", str(tmp_path / "s.csv"), "--as-of", "2026-06-29"]
    assert main(args + ["--max-model-age-weeks", "30"]) == 0
    assert main(args + ["--max-model-age-weeks", "20"]) == EXIT_STALE
    assert (tmp_path / "s.csv").exists()


# ------------------------------------------------------------------------------ movers

def _weekly_history(target, n=60):
    """Four weekly runs of the stand-in into ``target``; RISERS get riskier every week."""
    base = account_features(n, seed=4)
    base["tier"] = "mid"
    base["onboarding_completed"] = True
    base["tenure_months"] = 40.0
    model = StandInRenewalModel()
    for w, day in enumerate(WEEKS):
        f = base.copy()
        f["tenure_months"] = f["tenure_months"] + w * 0.25   # everyone a little safer
        f.loc[f["account_id"].isin(RISERS), "tenure_months"] = 40.0 - 8.0 * w
        if w == 3:
            f.loc[f["account_id"] == 41, "tier"] = "SMB"       # one sudden jump, last week only
        export_scores(model, f, target, as_of=day)
    return target


def test_movers_found_for_planted_rising_accounts(tmp_path):
    db = _weekly_history(tmp_path / "h.sqlite")
    h = read_history(db)
    assert sorted(h["as_of"].dt.strftime("%Y-%m-%d").unique()) == WEEKS
    m = find_movers(h, top=2, min_weeks=3)
    assert m["account_id"].iloc[0] == 41                        # the largest single rise
    assert set(m["account_id"]) == {41, *RISERS}
    streak = m.set_index("account_id")["weeks_rising"]
    assert all(streak[a] == 3 for a in RISERS) and streak[41] == 1
    assert (m["rise"] > 0).all() and (m["p_now"] > m["p_previous"]).all()
    assert (m["previous_as_of"] == pd.Timestamp(WEEKS[2])).all()
    # only two weeks read: nobody can be rising three weeks in a row
    two = find_movers(read_history(db, weeks=2), top=1, min_weeks=3)
    assert two["account_id"].tolist() == [41]


def test_history_from_score_files(tmp_path):
    model = StandInRenewalModel()
    files = []
    for w, day in enumerate(WEEKS[:2]):
        f = account_features(30, seed=4)
        f.loc[f["account_id"] == 7, "tenure_months"] = 40.0 - 30 * w
        path = tmp_path / f"scores_{day}.parquet"
        export_scores(model, f, path, as_of=day)
        files.append(path)
    m = find_movers(read_history(files), top=1)
    assert m["account_id"].tolist() == [7]


def test_history_errors_are_one_line(tmp_path):
    from tobmodel.export.specs import ExportError
    with pytest.raises(ExportError, match="no such database file"):
        read_history(tmp_path / "missing.sqlite")
    with pytest.raises(ExportError, match="not a score file"):
        pd.DataFrame({"x": [1]}).to_csv(tmp_path / "x.csv", index=False)
        read_history(tmp_path / "x.csv")


# ------------------------------------------------------------------------------ report

SECTIONS = ("Summary", "Score distribution", "Drift", "Top movers", "Risk by segment")


def _check_self_contained(text):
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"""src\s*=\s*["'](?!data:)""", text)   # images are data: URIs
    assert "<link" not in text and "<script" not in text
    for s in SECTIONS:
        assert f">{s}</h2>" in text


def test_report_html_is_self_contained_with_the_sections(tmp_path):
    db = _weekly_history(tmp_path / "h.sqlite")
    r = build_report(db, top=2)
    out = write_report(r, tmp_path / "report.html")
    text = out.read_text()
    _check_self_contained(text)
    assert text.count('src="data:image/png;base64,') >= 3
    for a in (41, *RISERS):
        assert f"<td>{a}</td>" in text
    assert r.as_of == WEEKS[-1] and r.previous_as_of == WEEKS[-2]
    assert not list(tmp_path.glob(".report.html.*.tmp"))


def test_report_command_writes_html_and_tables(tmp_path, cox_files):
    d, _ = cox_files
    db = _weekly_history(tmp_path / "h.sqlite")
    f = account_features(60, seed=4)
    f.to_csv(tmp_path / "features.csv", index=False)
    r = _cli("report", "--history", f"sqlite:///{db}", "--output", tmp_path / "r.html",
             "--features", tmp_path / "features.csv", "--segment", "tier", "--top", "2",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "r.html").read_text()
    _check_self_contained(text)
    assert "by tier" in text
    import sqlalchemy as sa
    eng = sa.create_engine(f"sqlite:///{db}")
    movers = pd.read_sql("select * from churn_movers", eng)
    drift = pd.read_sql("select * from churn_drift", eng)
    assert set(movers["account_id"]) == {41, *RISERS}
    assert (drift["as_of"].astype(str).str[:10] == WEEKS[-1]).all()
    # again: the same run's rows are replaced, not doubled
    assert _cli("report", "--history", db, "--output", tmp_path / "r.html", "--top", "2",
                cwd=tmp_path).returncode == 0
    assert len(pd.read_sql("select * from churn_movers", eng)) == len(movers)
    eng.dispose()


def test_report_drift_against_the_training_profile(cox_files, tmp_path):
    d, m = cox_files
    out = tmp_path / "h.sqlite"
    export_scores(d / "cox.json", d / "shifted.parquet", out)
    r = build_report(out, model=d / "cox.json", features=d / "shifted.parquet")
    t = r.drift.set_index("feature")
    assert t.loc["logins_trend", "status"] == "shift" and t.loc["tier", "status"] == "stable"
    assert (t["against"] == "training").all()
    assert "score (p_churn_horizon)" in t.index


def test_report_errors_are_one_line(tmp_path):
    r = _cli("report", "--history", tmp_path / "none.sqlite", "--output", tmp_path / "r.html",
             cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("tobmodel: error: ")
    assert r.stderr.count("\n") == 1 and not (tmp_path / "r.html").exists()


def test_report_on_postgresql(pg_url, tmp_path):
    _weekly_history(pg_url)
    r = build_report(pg_url, top=2)
    assert set(r.movers["account_id"]) == {41, *RISERS}
    _check_self_contained(write_report(r, tmp_path / "r.html").read_text())
    write_report_tables(r, pg_url)
    write_report_tables(r, pg_url)                             # replaces, never doubles
    import sqlalchemy as sa
    eng = sa.create_engine(pg_url)
    try:
        movers = pd.read_sql("select * from churn_movers", eng)
        drift = pd.read_sql("select * from churn_drift", eng)
    finally:
        eng.dispose()
    assert sorted(movers["account_id"]) == sorted([41, *RISERS])
    assert len(drift) == len(r.drift) and str(drift["as_of"].iloc[0]) == WEEKS[-1]


def test_damaged_profile_in_a_model_file_is_a_one_line_error(cox_files, tmp_path):
    import json

    from tobmodel.persist import ModelFileError
    from tobmodel.renewal import load_renewal_model
    d, _ = cox_files
    doc = json.loads((d / "cox.json").read_text())
    doc["reference_profile"]["features"]["tier"]["shares"] = [0.5]      # too few shares
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="bad.json.*reference_profile: tier"):
        load_renewal_model(tmp_path / "bad.json")
    doc["reference_profile"]["features"]["tier"]["shares"] = [float("nan")] * 5
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="finite"):
        load_renewal_model(tmp_path / "bad.json")


def test_report_follows_the_umask_and_keeps_a_replaced_files_mode(tmp_path):
    import os
    db = _weekly_history(tmp_path / "h.sqlite", n=20)
    r = build_report(db, top=2)
    old = os.umask(0o022)
    try:
        out = write_report(r, tmp_path / "r.html")
        assert out.stat().st_mode & 0o777 == 0o644
        os.chmod(out, 0o640)
        write_report(r, out)
        assert out.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_a_rerun_after_a_refit_counts_once(tmp_path):
    """Same as_of scored again by a refitted model: the run that finished last is read."""
    db = _weekly_history(tmp_path / "h.sqlite")
    f = account_features(60, seed=4)
    f["tier"], f["onboarding_completed"], f["tenure_months"] = "mid", True, 40.75
    f.loc[f["account_id"] == 5, "tier"] = "SMB"
    export_scores(StandInRenewalModel(model_id="standin-000000000002"), f, db,
                  as_of=WEEKS[-1])
    h = read_history(db)
    assert set(h.loc[h["as_of"] == WEEKS[-1], "model_id"]) == {"standin-000000000002"}
    m = find_movers(h, top=1)
    assert m["account_id"].tolist()[0] == 5 and m["refit"].all()
    from tobmodel.export.specs import ExportError
    both = pd.concat([h, h.assign(model_id="other")])
    with pytest.raises(ExportError, match="several model ids"):
        find_movers(both)


def test_report_as_of_is_iso_only(tmp_path):
    from tobmodel.export.specs import ExportError
    db = _weekly_history(tmp_path / "h.sqlite", n=20)
    with pytest.raises(ExportError, match="ambiguous"):
        build_report(db, as_of="01/12/2026")
    assert build_report(db, as_of="2026-01-12").as_of == "2026-01-12"


def test_lead_model_file_carries_the_training_profile(tmp_path):
    """Lead models keep their training leads' profile and p_convert; the export checks them."""
    import tobmodel
    from tobmodel.leads import fit_lead_model
    sim = tobmodel.simulate("saas", n_accounts=600, seed=3)
    m = fit_lead_model(sim.leads, kind="logistic", calibration=None)
    prof = m.reference_profile_
    assert prof["score"]["column"] == "p_convert" and set(prof["features"]) <= \
        set(m.feature_names_)
    m.save(tmp_path / "lead.json")
    loaded = tobmodel.load_model(tmp_path / "lead.json")
    assert loaded.reference_profile_ == prof
    closed = sim.leads[sim.leads["status"] != "open"]
    same = drift_table(prof, closed)
    assert (same["psi"] < 1e-6).all()
    summary = export_scores(tmp_path / "lead.json", sim.leads[sim.leads["status"] == "open"],
                            tmp_path / "s.csv")
    assert summary.drift and {r["feature"] for r in summary.drift} >= {"score"}


@pytest.mark.parametrize("values", [
    pd.Series([True, False, None, True]),
    pd.Series([1.0, np.nan, 0.1, 1.0]),
    pd.Series(["a", None, "b", np.nan, "a"]),
    pd.Series(pd.Categorical(["x", "y", None, "x"])),
    pd.Series([1, "1", None, 2.5], dtype=object),
    pd.Series([pd.NA, "z"], dtype="string"),
    pd.Series(pd.to_datetime(["2024-01-01", None])),
    pd.Series([True, False, None], dtype="boolean"),
    pd.Series(np.array([False, True, True])),
    pd.Series(pd.Categorical([2, None, 10])),
    pd.Series(pd.Categorical(["y", None, "y"], categories=["x", "y", "unused"])),
    pd.Series([3, 1, 3], index=[7, 5, 6]),
])
def test_category_text_is_each_value_as_text(values):
    """The text of each distinct value present, once, equals the values' own text."""
    from tobmodel.io.profile import _present_text
    own = [None if pd.isna(v) else str(v) for v in values.astype(object)]
    got = _present_text(values)
    assert sorted(set(got)) == sorted({t for t in own if t is not None})
    assert len(got) == values.dropna().nunique()  # one text per distinct value present
    # a categorical profile lists each present value's text once, sorted
    entry = profile_entry(values, kind="categorical")
    assert entry["categories"] == sorted({t for t in own if t is not None})