"""Every renewal model plot takes ax=None and returns a titled, labelled Axes."""
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import tobmodel  # noqa: E402
from tobmodel.renewal import (build_account_features, fit_renewal_model,  # noqa: E402
                              plot_baseline_hazard, plot_discrete_hazard, plot_ph_check,
                              plot_reasons, plot_score_distribution, plot_survival_curves)
from tobmodel.renewal import discrete as Q  # noqa: E402
from tobmodel.renewal import evaluate as EV  # noqa: E402
from tobmodel.renewal import plotting as P  # noqa: E402

COVS = ["tier", "sales_overpromised", "onboarding_completed", "logins_trend"]


@pytest.fixture(scope="module")
def book():
    sim = tobmodel.simulate("saas", n_accounts=600, seed=81)
    f = build_account_features(sim)
    return sim, f, fit_renewal_model(f, covariates=COVS)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    return ax


def test_cox_plots(book):
    _, f, cox = book
    _labelled(cox.plot_hazard_ratios())
    ax = _labelled(plot_baseline_hazard(cox))
    assert len(ax.get_lines()) >= 2 * len(cox.stratum_keys_)     # observed + tail per stratum
    ax = _labelled(plot_ph_check(cox.ph_check_report()))
    assert len(ax.patches) == len(cox.covariates_)
    ax = _labelled(plot_survival_curves(cox, f, n=3))
    assert all(0 <= y <= 1 for line in ax.get_lines() for y in line.get_ydata())
    _labelled(plot_score_distribution(cox.score(f), f, by="tier"))
    acc = f.loc[f["active"], "account_id"].iloc[0]
    ax = _labelled(plot_reasons(cox, f, acc))
    assert len(ax.patches) == len(cox.covariates_)
    with pytest.raises(ValueError, match="not in the features"):
        plot_reasons(cox, f, -1)


def test_parametric_and_discrete_plots(book):
    sim, f, _ = book
    aft = fit_renewal_model(f, "weibull_aft", covariates=COVS)
    ax = _labelled(aft.plot_time_ratios())
    assert ax.get_xscale() == "log"
    view = tobmodel.survival_view(sim)
    pp = Q.person_period(view, sim.accounts[["account_id", "tier", "contract_term"]], "term")
    dth = Q.DiscreteTimeHazard().fit(pp)
    _labelled(plot_discrete_hazard(dth, pp))
    _, given = plt.subplots()
    assert plot_discrete_hazard(dth, pp, ax=given) is given          # draws on the Axes given


def test_evaluation_plots(book):
    sim, _, _ = book
    split = EV.time_split(sim, "2024-09-30")
    f = build_account_features(sim, as_of=split.cutoff)
    curves = EV.model_churn_curves(fit_renewal_model(f, covariates=COVS), f)
    table = EV.evaluate_against_truth(sim, split.cutoff, {"cox": curves}, split=split)
    cal = EV.calibration_table(split.test, curves[12.0], 12, 5, split.horizon_time(12))
    _labelled(P.plot_calibration(cal))
    ax = _labelled(P.plot_metric_comparison(table, "brier"))
    assert [t.get_text() for t in ax.get_yticklabels()] == table["model"].tolist()


def test_metric_comparison_legend_covers_no_bar():
    table = pd.DataFrame({"model": ["baseline", "cox", "oracle"],
                          "c_index": [0.58, 0.72, 0.81]})
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    ax = _labelled(P.plot_metric_comparison(table, "c_index", ax=ax))
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax.patches]
    assert len(bars) == 3
    assert not any(legend_box.overlaps(b) for b in bars)
