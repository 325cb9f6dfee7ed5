"""The ``tobmodel`` command line: help, lazy imports, and simulate -> fit -> score -> evaluate."""
from __future__ import annotations

import json

import subprocess
import sys

import pandas as pd
import pytest

from tobmodel.cli import main

AS_OF = "2025-12-31"
HEAVY = ("pandas", "numpy", "sklearn", "lifelines", "scipy", "sqlalchemy", "pyarrow")


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A small simulated SaaS business, a fitted Cox model and its features file."""
    d = tmp_path_factory.mktemp("cli")
    assert main(["simulate", "--accounts", "400", "--seed", "3", "--output", str(d / "data")]) == 0
    assert main(["fit", "--data", str(d / "data"), "--model", "cox", "--as-of", AS_OF,
                 "--covariates", "tier,onboarding_completed,logins_trend",
                 "--output", str(d / "models" / "cox.json"),
                 "--features-out", str(d / "features.parquet")]) == 0
    return d


def test_importing_the_cli_loads_no_heavy_library():
    code = ("import sys, tobmodel.cli, tobmodel.__main__; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("command", ["simulate", "fit", "score", "evaluate", "demo"])
def test_every_command_has_help_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "example" in out and f"tobmodel {command}" in out


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("simulate", "fit", "score", "evaluate", "demo"):
        assert command in out


def test_python_m_tobmodel_is_the_command(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tobmodel", "--version"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stdout.startswith("tobmodel ")


def test_simulate_writes_every_table(workspace):
    names = {p.stem for p in (workspace / "data").glob("*.parquet")}
    assert {"accounts", "leads", "contracts", "usage", "support", "truth_hazard"} <= names


def test_simulate_csv_tables_are_read_back_by_fit(tmp_path, capsys):
    rc, out, _ = run(capsys, "simulate", "--business-type", "tool", "--stage", "growth",
                     "--accounts", "200", "--seed", "5", "--format", "csv", "--no-truth",
                     "--output", tmp_path / "csv")
    assert rc == 0 and "accounts" in out
    assert not list((tmp_path / "csv").glob("truth_*"))
    rc, out, err = run(capsys, "fit", "--data", tmp_path / "csv", "--model", "weibull_aft",
                       "--covariates", "tier,logins_trend", "--penalizer", "0.1",
                       "--output", tmp_path / "w.json")
    assert rc == 0, err
    assert "weibull_aft-" in out and (tmp_path / "w.json").exists()
    # CSV files carry no as-of date: it is inferred (never after the true one) and said so
    inferred = pd.Timestamp(out.split("as of ")[1].split()[0])
    assert "inferred" in out
    assert pd.Timestamp(AS_OF) - pd.Timedelta(days=7) <= inferred <= pd.Timestamp(AS_OF)


def test_score_writes_one_row_per_active_account(workspace, tmp_path, capsys):
    feats = pd.read_parquet(workspace / "features.parquet")
    out_csv = tmp_path / "churn_scores.csv"
    rc, out, err = run(capsys, "score", "--model", workspace / "models" / "cox.json",
                       "--input", workspace / "features.parquet", "--output", out_csv,
                       "--as-of", AS_OF, "--horizon", "6")
    assert rc == 0, err
    scores = pd.read_csv(out_csv)
    rejects = pd.read_csv(tmp_path / "churn_scores.rejects.csv")
    for col in ("account_id", "as_of", "model_name", "model_id", "model_version",
                "p_churn_next_renewal", "p_churn_horizon", "expected_remaining_months",
                "risk_tier", "reasons"):
        assert col in scores.columns
    assert sorted(scores["account_id"]) == sorted(feats.loc[feats["active"], "account_id"])
    # churned accounts in a features file are counted as not scored, never as rejects
    churned = int((~feats["active"]).sum())
    assert churned > 0 and len(rejects) == 0
    assert len(scores) + churned == len(feats)
    assert (scores["horizon_months"] == 6).all() and (scores["model_name"] == "cox").all()
    assert f"scored {len(scores):,}, not scored (churned {churned:,}); rejected 0 (written " in out


def test_score_from_a_folder_of_tables_matches_the_features_file(workspace, tmp_path, capsys):
    model = workspace / "models" / "cox.json"
    assert run(capsys, "score", "--model", model, "--input", workspace / "data",
               "--output", tmp_path / "a.csv")[0] == 0
    assert run(capsys, "score", "--model", model, "--input", workspace / "features.parquet",
               "--output", tmp_path / "b.csv")[0] == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_score_to_sqlite_keeps_history_across_runs(workspace, tmp_path, capsys):
    import sqlalchemy as sa
    db = tmp_path / "scores.sqlite"
    model = workspace / "models" / "cox.json"
    for _ in range(2):  # the same as_of twice: replaced, not duplicated
        assert run(capsys, "score", "--model", model, "--input", workspace / "features.parquet",
                   "--output", db)[0] == 0
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        n_hist = c.exec_driver_sql("SELECT COUNT(*) FROM churn_score_history").scalar()
        n_latest = c.exec_driver_sql("SELECT COUNT(*) FROM churn_scores").scalar()
        n_runs = c.exec_driver_sql("SELECT COUNT(*) FROM score_runs").scalar()
    engine.dispose()
    feats = pd.read_parquet(workspace / "features.parquet")
    assert n_hist == n_latest == int(feats["active"].sum()) and n_runs == 1


def test_score_reads_a_table_named_in_the_url(workspace, tmp_path, capsys):
    from tobmodel.export import write_tables
    feats = pd.read_parquet(workspace / "features.parquet")
    write_tables({"crm_accounts": feats}, tmp_path / "crm.sqlite")
    rc, out, err = run(capsys, "score", "--model", workspace / "models" / "cox.json",
                       "--input", f"sqlite:///{tmp_path / 'crm.sqlite'}#crm_accounts",
                       "--output", tmp_path / "s.csv")
    assert rc == 0, err
    assert len(pd.read_csv(tmp_path / "s.csv")) == int(feats["active"].sum())
    assert "table crm_accounts" in out


def test_lead_model_fit_and_score(workspace, tmp_path, capsys):
    rc, out, err = run(capsys, "fit", "--data", workspace / "data", "--model", "lead-logistic",
                       "--output", tmp_path / "lead.json")
    assert rc == 0, err
    rc, out, err = run(capsys, "score", "--model", tmp_path / "lead.json", "--input",
                       workspace / "data" / "leads.parquet", "--output",
                       tmp_path / "lead_scores.parquet", "--as-of", AS_OF)
    assert rc == 0, err
    leads = pd.read_parquet(workspace / "data" / "leads.parquet")
    scores = pd.read_parquet(tmp_path / "lead_scores.parquet")
    rejects = pd.read_csv(tmp_path / "lead_scores.rejects.csv")
    assert sorted(scores["lead_id"]) == sorted(leads.loc[leads["status"] == "open", "lead_id"])
    assert len(rejects) == 0  # closed leads: not scored, counted in the summary
    assert f"not scored (closed {int((leads['status'] != 'open').sum()):,}); rejected 0" in out
    # higher score = better lead, and grade A holds the best leads
    assert scores.groupby("grade")["p_convert"].mean().is_monotonic_decreasing
    rc, out, err = run(capsys, "evaluate", "--model", tmp_path / "lead.json",
                       "--data", workspace / "data", "--cutoff", "2025-06-30")
    assert rc == 0, err
    assert "roc_auc" in out and "channel only" in out and "oracle" in out
    assert "lead_logistic" in out  # the saved model's estimator was refitted


def test_simulate_streams_the_same_tables(workspace, tmp_path, capsys):
    rc, out, err = run(capsys, "simulate", "--accounts", "400", "--seed", "3", "--stream",
                       "--output", tmp_path / "streamed")
    assert rc == 0, err
    for table in ("accounts", "leads", "contracts", "usage", "support"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "streamed" / f"{table}.parquet"),
                                      pd.read_parquet(workspace / "data" / f"{table}.parquet"),
                                      check_dtype=False, check_categorical=False)


def test_evaluate_renewal_on_a_time_split(workspace, capsys):
    rc, out, err = run(capsys, "evaluate", "--model", workspace / "models" / "cox.json",
                       "--data", workspace / "data", "--cutoff", "2024-06-30")
    assert rc == 0, err
    assert "2024-06-30" in out
    for name in ("baseline", "cox", "oracle", "c_index"):
        assert name in out


def test_evaluate_api_grades_whole_churn_curves(workspace):
    from tobmodel.export import evaluate_model
    from tobmodel.registry import load_model
    table = evaluate_model(load_model(workspace / "models" / "cox.json"), workspace / "data",
                           cutoff="2024-06-30").set_index("model")
    assert table["ibs"].notna().all()  # the integrated Brier score needs curves, not one point
    assert table.loc["cox", "c_index"] > table.loc["baseline", "c_index"]
    assert table.loc["oracle", "ibs"] <= table.loc["cox", "ibs"] + 0.01


def test_fit_refuses_covariates_for_a_lead_model(workspace, tmp_path, capsys):
    rc, _, err = run(capsys, "fit", "--data", workspace / "data", "--model", "lead",
                     "--covariates", "tier", "--output", tmp_path / "x.json")
    assert rc == 1 and err.startswith("tobmodel: error:") and err.count("\n") == 1


def test_fit_threads_give_the_same_lead_model(workspace, tmp_path, capsys):
    rc, _, err = run(capsys, "fit", "--data", workspace / "data", "--model", "cox",
                     "--threads", "2", "--output", tmp_path / "x.json")
    assert rc == 1 and "--threads applies to the boosted lead model" in err
    assert not (tmp_path / "x.json").exists()
    docs = []
    for threads in ("1", "2"):
        rc, _, err = run(capsys, "fit", "--data", workspace / "data", "--model", "lead",
                         "--threads", threads, "--output", tmp_path / f"lead{threads}.json")
        assert rc == 0, err
        docs.append(json.loads((tmp_path / f"lead{threads}.json").read_text()))
    assert docs[0] == docs[1]  # threads change how fast, not what is fitted


@pytest.mark.postgres
def test_score_to_postgresql_with_a_plain_url(workspace, pg_url, capsys):
    import sqlalchemy as sa
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")  # the driver is implied
    rc, out, err = run(capsys, "score", "--model", workspace / "models" / "cox.json",
                       "--input", workspace / "features.parquet", "--output", plain)
    assert rc == 0, err
    engine = sa.create_engine(pg_url)
    with engine.connect() as c:
        n = c.exec_driver_sql("SELECT COUNT(*) FROM churn_score_history").scalar()
        tiers = c.exec_driver_sql("SELECT DISTINCT risk_tier FROM churn_scores").scalars().all()
    engine.dispose()
    feats = pd.read_parquet(workspace / "features.parquet")
    assert n == int(feats["active"].sum()) and set(tiers) <= {"low", "medium", "high"}
    assert "postgresql" in out
