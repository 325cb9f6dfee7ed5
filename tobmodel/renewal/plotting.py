"""Plots for renewal analytics. Each takes ``ax=None`` (a new figure) and returns the Axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", n_accounts=200, seed=1)
>>> ax = plot_censoring(tobmodel.survival_view(sim), n=10)
>>> ax.get_title()
'Follow-up of 10 accounts: churn (x) or censored at the snapshot (o)'
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..evaluation import plot_calibration  # noqa: F401  (shared with leads)
from .descriptive import fit_kaplan_meier, view_as_of

SPECIAL = {"oracle": "0.35", "baseline": "0.7"}


def _axes(ax, figsize=(7, 4.5)):
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _label(ax, xlabel, ylabel, title, legend=True, percent=False):
    """Axis labels, title, optional legend (True or its keyword arguments) and % y-axis."""
    if percent:
        ax.yaxis.set_major_formatter("{x:.0%}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend:
        ax.legend(**({} if legend is True else legend))
    return ax


def plot_kaplan_meier(view, by=None, ax=None, ci: bool = True, at_risk: bool = True,
                      segments=None, alpha: float = 0.05):
    """Kaplan-Meier renewal curves per segment with confidence bands and at-risk counts."""
    from lifelines.plotting import add_at_risk_counts
    ax = _axes(ax)
    fitters = list(fit_kaplan_meier(view, by, alpha, segments).values())
    for kmf in fitters:
        kmf.plot_survival_function(ax=ax, ci_show=ci)
    ax.set_ylim(0, 1.02)
    title = "Renewal curve" + (f" by {by}" if by else "") + f" ({1 - alpha:.0%} CI)"
    _label(ax, "months since first contract", "share still customers", title)
    if at_risk:
        add_at_risk_counts(*fitters, ax=ax, rows_to_show=["At risk"])
    return ax


def plot_cohort_heatmap(table: pd.DataFrame, ax=None, annotate: bool = True):
    """Heatmap of a :func:`~tobmodel.renewal.descriptive.cohort_retention_table`."""
    ax = _axes(ax, (max(6, 0.5 * table.shape[1]), max(3, 0.4 * table.shape[0])))
    values = table.to_numpy(float)
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap="viridis", vmin=0,
                      vmax=np.nanmax(values) if values.size and np.nanmax(values) > 1 else 1)
    ax.figure.colorbar(image, ax=ax, label="share still customers")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    if annotate and values.size <= 400:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.0%}" if v <= 1 else f"{v:.0f}", ha="center", va="center",
                        fontsize=7, color="white" if v < 0.6 else "black")
    return _label(ax, "months since start", "start cohort", "Cohort retention", legend=False)


def plot_revenue_retention(rr: pd.DataFrame, ax=None):
    """Bars of gross and net revenue retention per period (from ``revenue_retention``)."""
    ax = _axes(ax)
    x = np.arange(len(rr))
    ax.bar(x - 0.2, rr["grr"], 0.4, label="gross (GRR)")
    ax.bar(x + 0.2, rr["nrr"], 0.4, label="net (NRR)")
    ax.axhline(1.0, color="0.3", lw=1, ls="--")
    ax.set_xticks(x, rr["period"].astype(str))
    return _label(ax, "customers at the end of period", "ARR a year later / ARR at start",
                  "Revenue retention", percent=True)


def _survivor_rows(survivors):
    if isinstance(survivors, pd.DataFrame):
        return [r[~np.isnan(r)] for r in survivors.to_numpy(float)]
    if np.ndim(survivors) == 1 and not isinstance(survivors[0], (list, tuple, np.ndarray)):
        return [np.asarray(survivors, float)]
    return [np.asarray(r, float) for r in survivors]


def plot_sbg_projection(model, survivors, n_periods: int | None = None, ax=None):
    """Observed survivors vs the sBG projection (shares when several cohorts are given)."""
    ax = _axes(ax)
    rows = _survivor_rows(survivors)
    n = n_periods or max(len(r) for r in rows) - 1 + 5
    t = np.arange(n + 1)
    single = len(rows) == 1
    scale = rows[0][0] if single else 1.0
    ax.plot(t, scale * model.survival(t), color="C0", label="sBG projection")
    for i, r in enumerate(rows):
        ax.plot(np.arange(len(r)), r if single else r / r[0], "o", ms=4, color="C1",
                alpha=1 if single else 0.5, label="observed" if i == 0 else None)
    ax.axvline(model.n_periods_, color="0.5", ls=":", label="end of fitted data")
    return _label(ax, "renewal period",
                  "customers still active" if single else "share of cohort still active",
                  f"sBG: alpha={model.alpha_:.3f}, beta={model.beta_:.3f}")


def plot_sbg_retention(model, n_periods: int = 12, survivors=None, ax=None):
    """The sBG retention-rate curve r_t, rising with tenure, and observed rates if given."""
    ax = _axes(ax)
    t = np.arange(1, n_periods + 1)
    ax.plot(t, model.retention_rate(t), "-", color="C0", label="sBG retention rate")
    if survivors is not None:
        for i, r in enumerate(_survivor_rows(survivors)):
            ax.plot(np.arange(1, len(r)), r[1:] / r[:-1], "o", ms=4, color="C1",
                    label="observed" if i == 0 else None)
    return _label(ax, "renewal period t", "share of period t-1 customers who renew",
                  "Retention rate by tenure", percent=True)


def plot_metric_comparison(table: pd.DataFrame, metric: str = "c_index", ax=None):
    """Bars of one metric per model (``evaluate_scores``), oracle and baseline in grey."""
    ax = _axes(ax)
    names = table["model"].astype(str).tolist()
    colors = [SPECIAL.get(n, f"C{i}") for i, n in enumerate(names)]
    ax.barh(names, table[metric], color=colors)
    if "baseline" in names:
        ax.axvline(table.loc[table["model"] == "baseline", metric].iloc[0], color="0.5", ls="--",
                   label="baseline")
    if metric in ("c_index", "auc"):
        ax.axvline(0.5, color="red", lw=1, ls=":", label="random (0.5)")
    ax.invert_yaxis()
    better = "lower" if metric in ("brier", "ibs", "calibration_error") else "higher"
    return _label(ax, f"{metric.replace('_', ' ')} ({better} is better)", "model",
                  f"Models vs oracle and baseline: {metric}",
                  # below the axes: inside, the legend would cover the longest bars
                  legend=dict(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2,
                              fontsize=8))


def plot_censoring(view, n: int = 20, ax=None, seed: int = 0):
    """Teaching plot: a line per account from start to end, x = churn, o = censored at as_of."""
    ax = _axes(ax)
    rows = view.sample(min(n, len(view)), random_state=seed).sort_values("start_date")
    y = np.arange(len(rows))
    start, end = pd.to_datetime(rows["start_date"]), pd.to_datetime(rows["end_date"])
    churned = rows["churned"].to_numpy() == 1
    ax.hlines(y, start, end, color="0.4", lw=1.5)
    ax.plot(end[churned], y[churned], "x", color="C3", ms=8, label="churned")
    ax.plot(end[~churned], y[~churned], "o", mfc="none", color="C0", ms=7,
            label="censored (still a customer)")
    ax.axvline(view_as_of(view), color="0.2", ls="--", label="snapshot (as_of)")
    ax.set_yticks(y, rows["account_id"].astype(str))
    return _label(ax, "date", "account", f"Follow-up of {len(rows)} accounts: churn (x) or "
                  "censored at the snapshot (o)", legend=dict(loc="lower left", fontsize=8))
