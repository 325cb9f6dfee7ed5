"""``make demo`` (``python -m tobmodel demo``) in a temporary folder: files, database, truth."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

N_ACCOUNTS = 800


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    cmd = [sys.executable, "-m", "tobmodel", "demo", "--accounts", str(N_ACCOUNTS),
           "--data-dir", str(d / "data"), "--exports-dir", str(d / "exports")]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=d)
    assert r.returncode == 0, r.stderr
    return d, r.stdout, cmd


def test_demo_writes_tables_scores_and_database(demo_run):
    d, out, _ = demo_run
    for t in ("accounts", "leads", "contracts", "usage", "support"):
        assert (d / "data" / f"{t}.parquet").exists()
    truth = pd.read_parquet(d / "data" / "truth_accounts.parquet")
    leads = pd.read_parquet(d / "data" / "leads.parquet")
    churn = pd.read_csv(d / "exports" / "churn_scores.csv")
    lead = pd.read_csv(d / "exports" / "lead_scores.csv")
    # every customer alive at as_of is scored once; every open lead is scored once
    alive = truth.loc[truth["p_churn_12m"].notna(), "account_id"]  # oracle: alive at as_of
    assert sorted(churn["account_id"]) == sorted(alive)
    assert sorted(lead["lead_id"]) == sorted(leads.loc[leads["status"] == "open", "lead_id"])
    engine = sa.create_engine(f"sqlite:///{d / 'exports' / 'tobmodel.sqlite'}")
    with engine.connect() as c:
        counts = {t: c.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() for t in
                  ("churn_scores", "churn_score_history", "lead_scores", "score_runs")}
    engine.dispose()
    assert counts == {"churn_scores": len(churn), "churn_score_history": len(churn),
                      "lead_scores": len(lead), "score_runs": 2}
    assert (d / "exports" / "models" / "cox.json").exists()


def test_demo_summary_and_top_ten(demo_run):
    d, out, _ = demo_run
    assert "accounts" in out and "leads" in out and "lead conversion" in out and "churned" in out
    churn = pd.read_csv(d / "exports" / "churn_scores.csv")
    lines = out.split("ten customers most at risk")[1].strip().splitlines()[2:12]
    shown = [int(line.split()[0]) for line in lines]
    expected = churn.sort_values(["p_churn_horizon", "next_renewal_date", "account_id"],
                                 ascending=[False, True, True])["account_id"].head(10)
    assert shown == expected.tolist()
    assert all(len(line.split("%")[-1].strip()) > 0 for line in lines)  # reasons given


def test_demo_scores_rank_customers_like_the_truth(demo_run):
    d, _, _ = demo_run
    truth = pd.read_parquet(d / "data" / "truth_accounts.parquet")
    churn = pd.read_csv(d / "exports" / "churn_scores.csv").merge(
        truth[["account_id", "p_churn_12m"]], on="account_id", validate="1:1")
    rho = churn["p_churn_horizon"].rank().corr(churn["p_churn_12m"].rank())
    assert rho > 0.4, rho
    # higher risk tier = higher true churn probability
    by_tier = churn.groupby("risk_tier")["p_churn_12m"].mean()
    assert by_tier["high"] > by_tier["medium"] > by_tier["low"]
    assert np.isclose(churn["p_churn_horizon"].mean(), churn["p_churn_12m"].mean(), atol=0.08)


@pytest.mark.slow
def test_demo_is_reproducible(demo_run, tmp_path):
    d, _, cmd = demo_run
    cmd = cmd[:cmd.index("--data-dir")] + ["--data-dir", str(tmp_path / "data"),
                                           "--exports-dir", str(tmp_path / "exports")]
    assert subprocess.run(cmd, capture_output=True, cwd=tmp_path).returncode == 0
    for name in ("churn_scores.csv", "lead_scores.csv", "models/cox.json", "models/lead.json"):
        assert (tmp_path / "exports" / name).read_bytes() == (d / "exports" / name).read_bytes()
