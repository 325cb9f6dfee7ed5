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


def plot_baseline_hazard(model, ax=None, months: float | None = None):
    """Cox baseline cumulative hazard per stratum: lifelines' flat step beyond the last
    churn seen (dotted) and the Weibull tail that continues it (dashed)."""
    ax = _axes(ax)
    keys = [" / ".join(map(str, k)) or "all accounts" for k in model.stratum_keys_]
    for i, (t, h) in enumerate(zip(model.baseline_times_, model.baseline_cumhaz_)):
        last = model.last_event_time_[i]
        end = float(months if months is not None else 1.5 * max(t.max(), last))
        line, = ax.step(t, h, where="post", label=f"{keys[i]} (observed)")
        grid = np.linspace(last, end, 60)
        h_last = float(np.interp(last, t, h))
        ax.plot([last, end], [h_last, h_last], ls=":", color=line.get_color())
        if np.isfinite(model.tail_scale_[i]):
            sc, sh = model.tail_scale_[i], model.tail_shape_[i]
            ax.plot(grid, h_last + (grid / sc) ** sh - (last / sc) ** sh, ls="--",
                    color=line.get_color(), label=f"{keys[i]} (Weibull tail)")
        ax.axvline(last, color=line.get_color(), lw=0.8, alpha=0.5)
    ax.set_xlabel("months since first contract")
    ax.set_ylabel("baseline cumulative hazard")
    ax.set_title("Baseline hazard: observed, flat beyond the last churn (dotted), "
                 "extrapolated (dashed)", fontsize="medium")
    ax.legend(fontsize="small")
    return ax


def plot_ph_check(report, ax=None, alpha: float = 0.01):
    """Bars of -log10(p) of the proportional-hazards test per covariate (``ph_check_report``);
    bars past the line break the assumption."""
    ax = _axes(ax)
    t = report.table if hasattr(report, "table") else report
    score = -np.log10(np.clip(t["p"].to_numpy(dtype=float), 1e-300, 1.0))
    colors = np.where(t["breaks_ph"].to_numpy(bool), "tab:red", "tab:grey")
    ax.barh(t["covariate"].tolist(), score, color=colors)
    ax.axvline(-np.log10(alpha), color="black", ls="--", lw=1, label=f"p = {alpha:g}")
    ax.invert_yaxis()
    ax.set_xlabel("-log10(p) of the proportional-hazards test (right = breaks it)")
    ax.set_ylabel("covariate")
    ax.set_title("Proportional-hazards check (red: effect changes with tenure)")
    ax.legend(fontsize="small")
    return ax


def plot_reasons(model, features: pd.DataFrame, account_id, ax=None):
    """One account's push on churn risk from each covariate (log-hazard scale; right = riskier),
    labelled in words."""
    from .reasons import phrases
    ax = _axes(ax)
    row = features[features["account_id"] == account_id]
    if row.empty:
        raise ValueError(f"account_id {account_id!r} is not in the features")
    names, contrib = model.contributions(row.iloc[:1])
    c = contrib[0].astype(float)
    order = np.argsort(-np.abs(c))
    labels = [phrases(row.iloc[:1], names[j], np.array([0]))[0] for j in order]
    ax.barh(labels, c[order], color=np.where(c[order] > 0, "tab:red", "tab:green"))
    ax.axvline(0, color="black", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("push on churn risk vs the average customer (log hazard; right = riskier)")
    ax.set_ylabel("reason")
    ax.set_title(f"Why account {account_id} scores as it does ({model.name})")
    return ax


def plot_discrete_hazard(model, person_period: pd.DataFrame, ax=None, max_period: int = 10):
    """Observed vs predicted churn rate at each renewal (``DiscreteTimeHazard`` on
    ``person_period`` rows): hazard per renewal number."""
    ax = _axes(ax)
    pp = person_period[person_period["period"] <= max_period]
    g = pd.DataFrame({"period": pp["period"].to_numpy(), "observed": pp["churned"].to_numpy(),
                      "predicted": model.predict_hazard(pp)}).groupby("period")
    obs, pred, n = g["observed"].mean(), g["predicted"].mean(), g.size()
    ax.bar(obs.index, obs.to_numpy(), color="0.75", label="observed churn rate")
    ax.plot(pred.index, pred.to_numpy(), "o-", color="tab:red", label="model (mean)")
    for k, v in n.items():
        ax.annotate(f"n={v}", (k, 0), textcoords="offset points", xytext=(0, 2), ha="center",
                    fontsize=7)
    ax.set_xlabel("renewal number")
    ax.set_ylabel("share not renewing")
    ax.set_title("Churn at each renewal: observed vs discrete-time hazard model")
    ax.legend(fontsize="small")
    return ax
