"""Plots of the weekly report: score distribution, drift, movers, risk by segment.

Each function takes the table it draws (from :mod:`.drift`, :mod:`.movers`,
:mod:`.report`), draws on ``ax`` (a new figure when ``ax`` is None) and
returns the Axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ax = plot_score_distribution(rng.beta(2, 8, 500), rng.beta(2, 7, 500))
>>> ax.get_xlabel()
'p_churn_horizon (higher = more risk)'
"""
from __future__ import annotations

import numpy as np

from ..io.profile import PSI_SHIFT, PSI_WATCH

STATUS_COLORS = {"stable": "#4c9a6a", "watch": "#e0a030", "shift": "#c8453c", "n/a": "#999999"}

__all__ = ["plot_score_distribution", "plot_drift", "plot_movers", "plot_risk_by_segment",
           "STATUS_COLORS"]


def _axes(ax, size=(6.4, 3.6)):
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_score_distribution(current, previous=None, *, label="p_churn_horizon",
                            higher="more risk", current_label="this run",
                            previous_label="previous run", bins: int = 40, ax=None):
    """Histogram (share of accounts) of this run's scores over the previous run's."""
    ax = _axes(ax)
    cur = np.asarray(current, float)
    cur = cur[np.isfinite(cur)]
    edges = np.linspace(0.0, 1.0, bins + 1)
    if previous is not None:
        prev = np.asarray(previous, float)
        prev = prev[np.isfinite(prev)]
        if len(prev):
            ax.hist(prev, edges, weights=np.full(len(prev), 1 / len(prev)), histtype="step",
                    color="#777777", linewidth=1.5, label=f"{previous_label} (n={len(prev):,})")
    if len(cur):
        ax.hist(cur, edges, weights=np.full(len(cur), 1 / len(cur)), alpha=0.6,
                color="#3b6fb6", label=f"{current_label} (n={len(cur):,})")
    ax.set_xlabel(f"{label} (higher = {higher})")
    ax.set_ylabel("share of accounts" if label.startswith("p_churn") else "share of leads")
    ax.legend(frameon=False)
    return ax


def plot_drift(table, *, ax=None, top: int = 20):
    """PSI of each feature (bar colour = status) with the 0.1 and 0.25 thresholds."""
    t = table.head(top).iloc[::-1]
    ax = _axes(ax, (6.4, max(2.0, 0.3 * len(t) + 1.0)))
    labels = [f"{f} ({a})" if t["against"].nunique() > 1 else str(f)
              for f, a in zip(t["feature"], t["against"])]
    values = np.nan_to_num(t["psi"].to_numpy(float))
    ax.barh(labels, values, color=[STATUS_COLORS.get(s, "#999999") for s in t["status"]])
    for x, name in ((PSI_WATCH, "watch"), (PSI_SHIFT, "shift")):
        ax.axvline(x, color=STATUS_COLORS[name], linestyle="--", linewidth=1)
    ax.set_xlabel("population stability index (PSI)")
    return ax


def plot_movers(movers, *, id_column="account_id", ax=None, top: int = 15,
                xlabel="churn probability (higher = more risk)"):
    """Each mover's probability last run (grey) and now (red), largest rise on top."""
    m = movers.head(top).iloc[::-1]
    ax = _axes(ax, (6.4, max(2.0, 0.3 * len(m) + 1.0)))
    y = np.arange(len(m))
    ax.hlines(y, m["p_previous"].to_numpy(float), m["p_now"].to_numpy(float), color="#bbbbbb")
    ax.scatter(m["p_previous"], y, color="#777777", label="previous run", zorder=3)
    ax.scatter(m["p_now"], y, color="#c8453c", label="this run", zorder=3)
    ax.set_yticks(y, [str(i) for i in m[id_column]])
    ax.set_ylabel(id_column)
    ax.set_xlabel(xlabel)
    if len(m):
        ax.legend(frameon=False, loc="lower right")
    return ax


def plot_risk_by_segment(table, *, segment: str, ax=None):
    """Mean probability per segment (bars) with the share in the high tier (dots)."""
    ax = _axes(ax)
    x = np.arange(len(table))
    ax.bar(x, table["mean_p"].to_numpy(float), color="#3b6fb6", label="mean probability")
    if "high_share" in table:
        ax.scatter(x, table["high_share"].to_numpy(float), color="#c8453c", zorder=3,
                   label="share high risk")
    ax.set_xticks(x, [str(s) for s in table[segment]], rotation=30, ha="right")
    ax.set_xlabel(segment)
    ax.set_ylabel("churn probability / share")
    ax.legend(frameon=False)
    return ax
