"""Plots for lead quality, lifelines style: ``ax=None`` in, the Axes out.

Model plots take the outcomes ``y`` and either one probability array or a dict
``{"model": p, "oracle": p_true, ...}`` to draw several on the same axes;
:func:`plot_calibration` (shared with renewal) takes computed tables:
``plot_calibration({"model": calibration_table(y, p)})``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p = rng.uniform(size=500); y = (rng.uniform(size=500) < p).astype(int)
>>> ax = plot_gains(y, {"model": p})
>>> ax.get_xlabel()
'share of leads called (best score first)'
"""
from __future__ import annotations

import numpy as np

from ..evaluation import plot_calibration
from .capacity import CapacityPlan
from .evaluate import conversion_by_grade, gains_table

__all__ = ["plot_calibration", "plot_gains", "plot_lift", "plot_conversion_by_grade",
           "plot_funnel", "plot_step_times", "plot_capacity"]


def _ax(ax):
    """``ax``, or the axes of a new figure: never draw over whatever figure is open."""
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots()
    return ax


def _named(p) -> dict:
    return dict(p) if isinstance(p, dict) else {"model": p}


def plot_gains(y, p, ax=None):
    """Cumulative gains: share of all conversions found by calling the top x% of leads."""
    ax = _ax(ax)
    for name, pp in _named(p).items():
        t = gains_table(y, pp, n_bins=100)
        ax.plot(np.r_[0, t["cum_lead_share"]], np.r_[0, t["cum_conversion_share"]], label=name)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="random order")
    ax.set(title="Cumulative gains", xlabel="share of leads called (best score first)",
           ylabel="share of conversions found", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend()
    return ax


def plot_lift(y, p, n_bins: int = 10, ax=None):
    """Lift per score group (1 = best 10%): group conversion rate over the average."""
    ax = _ax(ax)
    named = _named(p)
    width = 0.8 / len(named)
    for k, (name, pp) in enumerate(named.items()):
        t = gains_table(y, pp, n_bins=n_bins)
        ax.bar(t["group"] + (k - (len(named) - 1) / 2) * width, t["lift"], width=width,
               label=name)
    ax.axhline(1.0, ls="--", color="grey", label="average lead")
    ax.set(title="Lift by score group", xlabel=f"score group (1 = best {100 // n_bins}%)",
           ylabel="lift (conversion rate / average)", xticks=np.arange(1, n_bins + 1))
    ax.legend()
    return ax


def plot_conversion_by_grade(scored, y, ax=None):
    """Observed conversion rate per grade, with lead counts on the bars."""
    ax = _ax(ax)
    t = conversion_by_grade(scored, y)
    bars = ax.bar(t["grade"].astype(str), t["conversion_rate"].fillna(0), color="tab:blue")
    ax.plot(t["grade"].astype(str), t["mean_p_convert"], "o", color="tab:orange",
            label="predicted (mean p_convert)")
    for bar, n in zip(bars, t["leads"]):
        ax.annotate(f"{n:,} leads", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set(title="Conversion by grade", xlabel="grade", ylabel="conversion rate")
    ax.legend()
    return ax


def _groups(table, value_cols):
    return [c for c in table.columns if c not in value_cols]


def plot_funnel(funnel, ax=None):
    """Share of leads reaching each step (``funnel_table`` output), one line per group."""
    ax = _ax(ax)
    groups = _groups(funnel, {"step", "step_name", "leads", "conversion_from_previous",
                              "conversion_from_first", "open_left_out"})
    if not groups:
        bars = ax.bar(funnel["step_name"], funnel["leads"], color="tab:blue")
        for bar, r in zip(bars, funnel["conversion_from_previous"]):
            ax.annotate(f"{r:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=9)
        ax.set(ylabel="leads reaching the step (label: conversion from previous step)")
    else:
        for key, g in funnel.groupby(groups, observed=True):
            label = " / ".join(map(str, key if isinstance(key, tuple) else (key,)))
            ax.plot(g["step"], g["conversion_from_first"], marker="o", label=label)
        first = funnel.drop_duplicates("step")
        ax.set(xticks=first["step"], xticklabels=first["step_name"],
               ylabel="share of leads reaching the step")
        ax.legend(title=", ".join(groups), fontsize=8)
    ax.set(title="Lead funnel", xlabel="funnel step")
    return ax


def plot_step_times(times, ax=None):
    """Median days between steps (``step_times`` output), bars with quartile range."""
    ax = _ax(ax)
    groups = _groups(times, {"step", "transition", "leads", "median_days", "q1_days",
                             "q3_days"})
    keys = [(None, times)] if not groups else list(times.groupby(groups, observed=True))
    width = 0.8 / len(keys)
    steps = times.drop_duplicates("step").sort_values("step")
    pos = {s: i for i, s in enumerate(steps["step"])}
    for k, (key, g) in enumerate(keys):
        y = np.array([pos[s] for s in g["step"]]) + (k - (len(keys) - 1) / 2) * width
        err = np.vstack([g["median_days"] - g["q1_days"], g["q3_days"] - g["median_days"]])
        label = None if key is None else " / ".join(
            map(str, key if isinstance(key, tuple) else (key,)))
        ax.barh(y, g["median_days"], height=width, xerr=err, capsize=2, label=label)
    ax.set(yticks=np.arange(len(steps)), yticklabels=steps["transition"],
           title="Time between funnel steps", xlabel="days (median, bars: quartiles)",
           ylabel="step")
    ax.invert_yaxis()
    if groups:
        ax.legend(title=", ".join(groups), fontsize=8)
    return ax


def plot_capacity(plan: CapacityPlan, ax=None):
    """Expected conversions a week against calls a week, calling best-scored leads first."""
    ax = _ax(ax)
    c, s = plan.curve, plan.summary
    ax.plot(c["leads_per_week"], c["expected_conversions_per_week"], label="best score first")
    ax.plot(c["leads_per_week"], c["expected_if_random"], ls="--", color="grey",
            label="random order")
    ax.axvline(s["leads_per_week"], color="tab:red", ls=":",
               label=f"capacity {s['leads_per_week']:,.0f}: "
                     f"{s['expected_conversions_per_week']:,.1f} conversions")
    ax.set(title="Capacity plan", xlabel="leads called per week",
           ylabel="expected conversions per week")
    ax.legend()
    return ax
