"""The funnel around the leads: conversion at each step, time between steps, the loss pool.

Four steps, named per business type (``shared/DOMAIN.md``)::

    step  column                     platform        saas         hardware               tool
    1     created_date               sign-up         lead         lead                   sign-up
    2     qualified_date             verified        qualified    qualified              trial
    3     engaged_date               first listing   demo/visit   offline trial/visit    active trial
    4     status == 'converted'      active merchant signed       purchase               paid

A lead counts as reaching a step when it has the step's date or reached a later
step (a CRM may skip recording a demo for a lead that signed), so the counts
never rise along the funnel. Open leads (outcome unknown at the as-of date) are
left out by default, so every counted lead has run its course; the number left
out is in ``open_left_out``.

Examples
--------
>>> import tobmodel
>>> sim = tobmodel.simulate("saas", "maturity", n_accounts=300, seed=1)
>>> f = funnel_table(sim.leads)
>>> f["step_name"].tolist()
['lead', 'qualified', 'demo/visit', 'signed']
>>> bool(f["leads"].is_monotonic_decreasing)
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .features import LeadDataError

__all__ = ["FUNNEL_STEPS", "funnel_table", "step_times", "loss_pool_summary"]

FUNNEL_STEPS = {
    "platform": ("sign-up", "verified", "first listing", "active merchant"),
    "saas": ("lead", "qualified", "demo/visit", "signed"),
    "hardware": ("lead", "qualified", "offline trial/visit", "purchase"),
    "tool": ("sign-up", "trial", "active trial", "paid"),
}
GENERIC_STEPS = ("lead", "qualified", "engaged", "converted")
_NEEDS = ("created_date", "qualified_date", "engaged_date", "status")


def _check(leads, needs, source):
    missing = [c for c in needs if c not in leads.columns]
    if missing:
        raise LeadDataError(f"{source}: missing column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(map(repr, missing))} needed for the funnel")


def _by(by) -> list:
    return [] if by is None else [by] if isinstance(by, str) else list(by)


def _step_names(frame: pd.DataFrame, leads: pd.DataFrame, by: list) -> pd.Series:
    """Step name for each row of a long table, from its group's business type."""
    types = leads["business_type"].astype("object").unique() if "business_type" in leads else []
    if "business_type" in by:
        bt = frame["business_type"].astype("object")
    else:
        bt = pd.Series(types[0] if len(types) == 1 else None, index=frame.index, dtype=object)
    names = {t: FUNNEL_STEPS.get(t, GENERIC_STEPS) for t in FUNNEL_STEPS} | {None: GENERIC_STEPS}
    lookup = pd.DataFrame([(t, s + 1, n[s]) for t, n in names.items() for s in range(4)],
                          columns=["_bt", "step", "step_name"])
    key = pd.DataFrame({"_bt": bt.where(bt.isin(FUNNEL_STEPS), None), "step": frame["step"]})
    return key.merge(lookup, on=["_bt", "step"], how="left")["step_name"].to_numpy()


def _closed(leads, include_open, source):
    _check(leads, _NEEDS, source)
    is_open = (leads["status"].astype("object") == "open").to_numpy()
    return (leads if include_open else leads.loc[~is_open]), is_open


def funnel_table(leads: pd.DataFrame, by=None, include_open: bool = False,
                 source: str = "leads") -> pd.DataFrame:
    """Leads reaching each funnel step, and conversion from step to step.

    Parameters
    ----------
    leads : DataFrame
    by : str or list of str, optional
        Group columns, e.g. ``"channel"`` or ``["business_type", "channel"]``.
    include_open : bool
        Count open leads too (steps reached so far).

    Returns
    -------
    DataFrame
        Long format: ``*by, step (1-4), step_name, leads, conversion_from_previous,
        conversion_from_first, open_left_out``.
    """
    by = _by(by)
    df, is_open = _closed(leads, include_open, source)
    won = (df["status"].astype("object") == "converted").to_numpy()
    engaged = df["engaged_date"].notna().to_numpy() | won  # a later step implies the earlier
    reached = pd.DataFrame({
        1: np.ones(len(df), np.int64), 2: df["qualified_date"].notna().to_numpy() | engaged,
        3: engaged, 4: won}, index=df.index)
    if by:
        counts = reached.astype(np.int64).groupby([df[b] for b in by], observed=True).sum()
        opens = pd.Series(is_open, index=leads.index).groupby(
            [leads[b] for b in by], observed=True).sum() if not include_open else None
    else:
        counts = reached.astype(np.int64).sum().to_frame().T
        opens = None
    long = counts.reset_index().melt(id_vars=by or ["index"], var_name="step",
                                     value_name="leads")
    if not by:
        long = long.drop(columns="index")
    long["step"] = long["step"].astype(np.int64)
    long = long.sort_values([*by, "step"], kind="stable").reset_index(drop=True)
    first = long.groupby(by, observed=True)["leads"].transform("first") if by else \
        pd.Series(long["leads"].iloc[0], index=long.index)
    prev = long.groupby(by, observed=True)["leads"].shift(1) if by else long["leads"].shift(1)
    long["conversion_from_previous"] = (long["leads"] / prev).where(long["step"] > 1, 1.0)
    long["conversion_from_first"] = long["leads"] / first
    long.insert(len(by) + 1, "step_name", _step_names(long, leads, by))
    if include_open:
        long["open_left_out"] = 0
    elif by:
        long["open_left_out"] = long.set_index(by).index.map(opens).to_numpy()
    else:
        long["open_left_out"] = int(is_open.sum())
    return long


def step_times(leads: pd.DataFrame, by=None, source: str = "leads") -> pd.DataFrame:
    """Days between funnel steps (median and quartiles) for leads that made each step.

    Returns
    -------
    DataFrame
        Long format: ``*by, step (2-4, 5 = first to last), transition,
        leads, median_days, q1_days, q3_days``.
    """
    by = _by(by)
    df, _ = _closed(leads, False, source)
    _check(df, ("outcome_date",), source)
    won = (df["status"].astype("object") == "converted").to_numpy()
    outcome = df["outcome_date"].where(won)
    spans = {2: df["qualified_date"] - df["created_date"],
             3: df["engaged_date"] - df["qualified_date"],
             4: outcome - df["engaged_date"], 5: outcome - df["created_date"]}
    parts = []
    for step, span in spans.items():
        d = pd.DataFrame({b: df[b] for b in by} | {"days": span.dt.days.to_numpy()})
        d = d.dropna(subset=["days"])
        g = d.groupby(by, observed=True)["days"] if by else d.assign(_all=0).groupby("_all")["days"]
        t = g.agg(leads="size", median_days="median",
                  q1_days=lambda x: x.quantile(0.25), q3_days=lambda x: x.quantile(0.75))
        t = t.reset_index().drop(columns=["_all"], errors="ignore")
        t["step"] = step
        parts.append(t)
    out = pd.concat(parts, ignore_index=True).sort_values([*by, "step"], kind="stable")
    out = out.reset_index(drop=True)
    names = pd.Series(_step_names(out.assign(step=out["step"].clip(upper=4)), leads, by))
    start = pd.Series(_step_names(out.assign(step=np.where(out["step"] == 5, 1,
                                                           out["step"] - 1)), leads, by))
    out.insert(len(by) + 1, "transition", (start + " -> " + names).to_numpy())
    return out


def loss_pool_summary(leads: pd.DataFrame, by=None, source: str = "leads") -> pd.DataFrame:
    """The loss pool: lost leads, how many come back, how returning leads convert.

    One row per lead origin (``first-time`` / ``re-engaged``; within ``by``
    groups): ``leads, open, closed, converted, conversion_rate`` (of closed
    leads), ``lost``, ``came_back`` (lost leads that registered again),
    ``came_back_share`` and ``median_days_to_return`` (from loss to the new lead).
    """
    by = _by(by)
    _check(leads, ("lead_id", "status", "created_date", "outcome_date",
                   "reengaged_from_loss_pool", "previous_lead_id"), source)
    status = leads["status"].astype("object").to_numpy()
    prev = pd.to_numeric(leads["previous_lead_id"], errors="coerce")
    back = leads.loc[prev.notna().to_numpy(), ["created_date"]].assign(
        lead_id=prev.dropna().to_numpy().astype(np.int64)).drop_duplicates("lead_id")
    back = back.set_index("lead_id")["created_date"]
    ret_date = leads["lead_id"].map(back)
    df = pd.DataFrame({b: leads[b] for b in by} | {
        "origin": np.where(leads["reengaged_from_loss_pool"].to_numpy(dtype=bool),
                           "re-engaged", "first-time"),
        "open": status == "open", "closed": status != "open", "converted": status == "converted",
        "lost": status == "lost", "came_back": ret_date.notna().to_numpy(),
        "days_to_return": (ret_date - leads["outcome_date"]).dt.days.to_numpy()})
    g = df.groupby([*by, "origin"], observed=True)
    t = g[["open", "closed", "converted", "lost", "came_back"]].sum()
    t.insert(0, "leads", g.size())
    t["conversion_rate"] = t["converted"] / t["closed"].where(t["closed"] > 0)
    t["came_back_share"] = t["came_back"] / t["lost"].where(t["lost"] > 0)
    t["median_days_to_return"] = g["days_to_return"].median()
    return t.reset_index()
