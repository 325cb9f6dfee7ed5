"""Customer-success actions: a seeded, stratified hold-out, a log, and the measured effect."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tobmodel.monitor.actions import (ActionLogError, assign_outreach, log_actions,
                                      measure_action_effect, read_actions)


def _calls(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.8, n)
    tier = np.where(p >= 0.4, "high", np.where(p >= 0.15, "medium", "low"))
    return pd.DataFrame({"account_id": np.arange(1, n + 1), "p_churn_horizon": p,
                         "risk_tier": tier})


def test_split_is_seeded_stratified_and_order_free():
    calls = _calls()
    a = assign_outreach(calls, as_of="2025-06-30", holdout_share=0.25, seed=7)
    b = assign_outreach(calls.sample(frac=1, random_state=1), as_of="2025-06-30",
                        holdout_share=0.25, seed=7)
    c = assign_outreach(calls, as_of="2025-06-30", holdout_share=0.25, seed=8)
    assert a.equals(b)
    assert not a["group"].equals(c["group"])
    share = (a["group"] == "holdout").groupby(a["risk_tier"]).mean()
    assert np.allclose(share, 0.25, atol=0.01)
    # both groups had the same risk when the list was made
    mean_p = a.groupby("group")["p_churn_at_assignment"].mean()
    assert abs(mean_p["contact"] - mean_p["holdout"]) < 0.03


def _outcomes(plan, effect, seed=3):
    """Churn within 6 months at each account's own risk; contacted accounts saved at `effect`."""
    rng = np.random.default_rng(seed)
    p = plan["p_churn_at_assignment"].to_numpy()
    p = np.where(plan["group"] == "contact", p * (1 - effect), p)
    churns = rng.random(len(p)) < p
    days = rng.integers(1, 180, len(p))
    date = plan["as_of"] + pd.to_timedelta(days, unit="D")
    return pd.DataFrame({"account_id": plan["account_id"],
                         "churn_date": date.where(churns, pd.NaT)})


def test_a_planted_effect_is_measured_and_no_effect_is_not_claimed():
    plan = assign_outreach(_calls(6000), as_of="2025-06-30", holdout_share=0.3, seed=2)
    saved = measure_action_effect(plan, _outcomes(plan, 0.3), as_of="2026-01-31")
    d = saved.difference.iloc[0]
    true_diff = -0.3 * plan.loc[plan["group"] == "contact", "p_churn_at_assignment"].mean()
    assert d["lower_95"] < true_diff < d["upper_95"]
    assert d["upper_95"] < 0 and "lowered churn" in str(saved)
    nothing = measure_action_effect(plan, _outcomes(plan, 0.0), as_of="2026-01-31")
    n = nothing.difference.iloc[0]
    assert n["lower_95"] < 0 < n["upper_95"] and "no effect" in str(nothing)


def test_only_finished_windows_count_and_earlier_churn_is_left_out():
    plan = pd.concat([
        assign_outreach(_calls(200), as_of="2025-06-30", seed=1),
        assign_outreach(_calls(100).assign(account_id=lambda d: d["account_id"] + 1000),
                        as_of="2025-12-31", seed=1)])
    outcomes = pd.DataFrame({"account_id": plan["account_id"], "churn_date": pd.NaT})
    outcomes.loc[outcomes["account_id"] == 1, "churn_date"] = pd.Timestamp("2025-01-01")
    eff = measure_action_effect(plan, outcomes, as_of="2026-03-31", horizon_months=6)
    assert eff.pending == 100            # the December list is still inside its window
    assert eff.table["accounts"].sum() == 199   # account 1 had churned before the call list
    assert "still inside their follow-up window" in str(eff)


@pytest.mark.parametrize("suffix", [".csv", ".sqlite"])
def test_log_appends_weeks_and_relogging_a_week_replaces_it(tmp_path, suffix):
    dest = tmp_path / f"actions{suffix}"
    week1 = assign_outreach(_calls(50), as_of="2025-06-30", seed=1)
    week2 = assign_outreach(_calls(40), as_of="2025-07-07", seed=1)
    log_actions(week1, dest)
    log_actions(week2, dest)
    log_actions(week1, dest)  # a re-run of week 1
    log = read_actions(dest)
    assert log.groupby("as_of").size().tolist() == [50, 40]
    assert set(log["group"]) == {"contact", "holdout"}


def test_bad_input_is_one_line():
    with pytest.raises(ActionLogError, match="holdout_share"):
        assign_outreach(_calls(10), as_of="2025-06-30", holdout_share=1.5)
    with pytest.raises(ActionLogError, match="missing column 'p_churn_horizon'"):
        assign_outreach(_calls(10).drop(columns="p_churn_horizon"), as_of="2025-06-30")
    dup = pd.concat([_calls(3), _calls(3)])
    with pytest.raises(ActionLogError, match="duplicate account_id"):
        assign_outreach(dup, as_of="2025-06-30")
    with pytest.raises(ActionLogError, match="no such actions log"):
        read_actions("/nonexistent/actions.csv")


def test_report_leaves_the_plotting_backend_alone(tmp_path):
    """Writing the weekly report inside a notebook must not switch its backend to Agg."""
    import subprocess
    import sys
    code = (
        "import matplotlib; matplotlib.use('svg'); import pandas as pd\n"
        "from tobmodel.monitor.report import build_report, render_html\n"
        "h = pd.DataFrame({'as_of': pd.to_datetime(['2026-01-05'] * 3 + ['2026-01-12'] * 3),"
        " 'account_id': [1, 2, 3] * 2, 'model_name': 'cox', 'model_id': 'cox-1',"
        " 'horizon_months': 12, 'risk_tier': 'low', 'reasons': '',"
        " 'p_churn_horizon': [0.1, 0.3, 0.2, 0.15, 0.3, 0.1]})\n"
        "html = render_html(build_report(h))\n"
        "assert 'data:image/png;base64' in html\n"
        "print(matplotlib.get_backend())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "svg"


def test_assignment_dates_follow_the_export_date_rule():
    with pytest.raises(ActionLogError, match="ambiguous"):
        assign_outreach(_calls(10), as_of="12/01/2025")
