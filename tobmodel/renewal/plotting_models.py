"""Plots of fitted renewal models. Each takes ``ax=None`` and returns the Axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> t = pd.DataFrame({"covariate": ["tier=SMB", "logins_trend"], "hazard_ratio": [2.0, 0.7],
...                   "lower_95": [1.5, 0.6], "upper_95": [2.6, 0.8]})
>>> plot_forest(t).get_xscale()
'log'
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _axes(ax, figsize=(7, 4)):
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_forest(table: pd.DataFrame, ax=None, value: str = "hazard_ratio", title: str = ""):
    """Forest plot: one row per covariate, point estimate and 95% interval on a log axis."""
    ax = _axes(ax, figsize=(7, 0.3 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    est = table[value].to_numpy(dtype=float)
    lo, hi = table["lower_95"].to_numpy(dtype=float), table["upper_95"].to_numpy(dtype=float)
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="black", ecolor="grey",
                capsize=2)
    ax.axvline(1.0, color="tab:red", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(table["covariate"].tolist())
    word = value.replace("_", " ")
    ax.set_xlabel(f"{word} (log scale; 1 = no effect)")
    ax.set_ylabel("covariate")
    ax.set_title(title or f"{word}s with 95% intervals")
    return ax


def plot_survival_curves(model, features: pd.DataFrame, account_ids=None, n: int = 5,
                         ax=None, months_ahead: float = 24):
    """Predicted survival of a few active accounts from their current tenure onwards.

    Solid where the model has seen churn at that tenure, dashed beyond the
    last observed churn (extrapolated).
    """
    ax = _axes(ax)
    act = features[features["active"]] if "active" in features else features
    if account_ids is None:
        picks = act.iloc[np.linspace(0, len(act) - 1, min(n, len(act))).astype(int)]
    else:
        picks = act[act["account_id"].isin(list(account_ids))]
    grid = np.linspace(0, months_ahead, 97)
    surv = model.conditional_survival(picks, grid)
    last = model._last_event(model._state(picks))
    for i, (acc, s) in enumerate(zip(picks["account_id"], picks["tenure_months"])):
        t = s + grid
        inside = t <= last[i]
        line, = ax.plot(grid[inside], surv[i, inside], label=f"account {acc} "
                        f"(tenure {s:.0f} mo)")
        if (~inside).any():
            ax.plot(grid[~inside], surv[i, ~inside], ls="--", color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months from as-of date")
    ax.set_ylabel("probability still a customer")
    ax.set_title(f"Predicted survival of example accounts ({model.name}); dashed: extrapolated")
    ax.legend(fontsize="small")
    return ax


def plot_score_distribution(scores: pd.DataFrame, features: pd.DataFrame, by: str = "tier",
                            column: str = "p_churn_horizon", ax=None):
    """Box plot of a churn score by a segment of the features (default: tier)."""
    ax = _axes(ax)
    df = scores[["account_id", column]].merge(features[["account_id", by]], on="account_id")
    df = df.dropna(subset=[column])
    groups = [(str(k), g[column].to_numpy()) for k, g in df.groupby(by, observed=True)]
    ax.boxplot([g for _, g in groups], showfliers=False)
    ax.set_xticks(np.arange(1, len(groups) + 1))
    ax.set_xticklabels([k for k, _ in groups])
    ax.set_xlabel(by)
    ax.set_ylabel(column.replace("_", " "))
    horizon = scores["horizon_months"].iloc[0] if "horizon_months" in scores and len(scores) \
        else ""
    ax.set_title(f"Churn score by {by}" + (f" (horizon {horizon} months)" if horizon != "" else ""))
    return ax
