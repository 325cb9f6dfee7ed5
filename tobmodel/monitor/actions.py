"""What customer success did, logged so that its effect can be measured later.

A churn score tells customer success (客户成功) whom to call; whether the calls
*work* can only be measured against customers who were not called. The
honest way is a **hold-out**: before the week's outreach, a random share of
the call list is set aside and left alone; months later the churn of the
contacted and the held-out accounts is compared. Because the split is random
within each risk tier, both groups had the same risk when the list was made,
and the difference in churn is the effect of the outreach (with a confidence
interval, since both groups are samples).

* :func:`assign_outreach` splits a call list into ``contact`` and ``holdout``
  (seeded: the same list and seed give the same split, whatever the row order).
* :func:`log_actions` appends the assignment, and later what was done, to an
  actions log: a CSV file (temporary file + rename) or a database table
  ``cs_actions`` (one transaction; re-logging one as_of and action replaces it).
* :func:`read_actions` reads the log back.
* :func:`measure_action_effect` compares churn within ``horizon_months`` of the
  assignment between the groups, only for assignments whose follow-up window
  has passed.

Examples
--------
>>> import pandas as pd
>>> calls = pd.DataFrame({"account_id": range(1, 11), "p_churn_horizon": 0.5,
...                       "risk_tier": "high"})
>>> plan = assign_outreach(calls, as_of="2025-06-30", holdout_share=0.3, seed=1)
>>> plan["group"].value_counts().to_dict()
{'contact': 7, 'holdout': 3}
>>> outcomes = pd.DataFrame({"account_id": range(1, 11),
...                          "churn_date": [pd.NaT] * 7 + [pd.Timestamp("2025-09-01")] * 3})
>>> effect = measure_action_effect(plan, outcomes, as_of="2026-06-30", horizon_months=6)
>>> effect.table[["group", "accounts", "churned"]].to_dict("records")[:2]
[{'group': 'contact', 'accounts': 7, 'churned': 2}, {'group': 'holdout', 'accounts': 3, 'churned': 1}]
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ACTION_COLUMNS = ("account_id", "as_of", "action", "group", "p_churn_at_assignment",
                  "risk_tier", "seed")
GROUPS = ("contact", "holdout")
ACTIONS_TABLE = "cs_actions"

__all__ = ["assign_outreach", "log_actions", "read_actions", "measure_action_effect",
           "ActionEffect", "ACTION_COLUMNS"]


class ActionLogError(ValueError):
    """An actions log or call list that cannot be used (one line naming it)."""


def _day(value, what: str) -> pd.Timestamp:
    """The export's one date rule (ISO text or a date; 12/01/2025 is refused as ambiguous)."""
    from ..export.guards import parse_as_of
    from ..export.specs import ExportError
    try:
        return parse_as_of(value, what=what)
    except ExportError as e:
        raise ActionLogError(str(e)) from None


def assign_outreach(call_list: pd.DataFrame, *, as_of, holdout_share: float = 0.2,
                    seed: int = 0, action: str = "csm_outreach", id_column: str = "account_id",
                    probability: str = "p_churn_horizon",
                    stratum: str | None = "risk_tier") -> pd.DataFrame:
    """Split a call list into accounts to contact and a random hold-out to leave alone.

    Parameters
    ----------
    call_list : DataFrame
        One row per account (e.g. this week's high-risk accounts), with
        ``id_column`` and ``probability``.
    as_of : date-like
        The scoring date the list was made at; follow-up is counted from it.
    holdout_share : float
        Share of each stratum held out (0 < share < 1; 0.1-0.3 is usual).
    seed : int
        The split is drawn from this seed over the accounts sorted by id, so it
        does not depend on the row order.
    action : str
        What the contacted accounts get ("csm_outreach", "value_review", ...).
    stratum : str or None
        Column to split within (default the risk tier), so both groups carry the
        same mix of risk.

    Returns
    -------
    DataFrame
        :data:`ACTION_COLUMNS`, one row per account, sorted by id.
    """
    if not 0 < holdout_share < 1:
        raise ActionLogError(f"holdout_share must be between 0 and 1, got {holdout_share}")
    for col in (id_column, probability):
        if col not in call_list.columns:
            raise ActionLogError(f"call list: missing column {col!r}")
    ids = call_list[id_column]
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].head(3).tolist()
        raise ActionLogError(f"call list: duplicate {id_column} {dup}")
    day = _day(as_of, "as_of")
    df = call_list.sort_values(id_column, kind="stable").reset_index(drop=True)
    draw = np.random.default_rng(seed).random(len(df))
    strata = (df[stratum].astype(str) if stratum and stratum in df.columns
              else pd.Series("all", index=df.index))
    # within each stratum, the accounts with the smallest draws are held out
    rank = pd.Series(draw).groupby(strata.to_numpy()).rank(method="first").to_numpy()
    size = strata.map(strata.value_counts()).to_numpy()
    held = rank <= np.round(holdout_share * size)
    return pd.DataFrame({
        "account_id": df[id_column].to_numpy(), "as_of": day, "action": action,
        "group": np.where(held, "holdout", "contact"),
        "p_churn_at_assignment": df[probability].to_numpy(dtype=float),
        "risk_tier": strata.to_numpy() if stratum else None, "seed": int(seed)})


def _is_database(dest) -> bool:
    from ..export.sources import SQLITE_SUFFIXES, is_url
    return is_url(dest) or Path(str(dest)).suffix.lower() in SQLITE_SUFFIXES


def _engine(dest):
    """An engine for a URL or SQLite file, through the export layer's (driver, one-line error)."""
    from ..export.sources import is_url, make_engine, sqlite_url
    return make_engine(dest if is_url(dest) else sqlite_url(dest))


def _check_log(actions: pd.DataFrame, where: str) -> pd.DataFrame:
    missing = [c for c in ACTION_COLUMNS if c not in actions.columns]
    if missing:
        raise ActionLogError(f"{where}: missing column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(map(repr, missing))}")
    bad = ~actions["group"].isin(GROUPS)
    if bad.any():
        raise ActionLogError(f"{where}: column 'group' must be contact or holdout, got "
                             f"{actions.loc[bad, 'group'].astype(str).unique()[:3].tolist()}")
    out = actions[list(ACTION_COLUMNS)].copy()
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.normalize()
    return out


def log_actions(actions: pd.DataFrame, destination) -> str:
    """Append ``actions`` to the log at ``destination``; rows of the same (as_of, action) are replaced.

    ``destination`` is a ``.csv`` file (rewritten through a temporary file and a
    rename) or a SQLite file / SQLAlchemy URL (table ``cs_actions``, one
    transaction). Returns where the log is.
    """
    new = _check_log(actions, "actions")
    keys = new[["as_of", "action"]].drop_duplicates()
    if _is_database(destination):
        import sqlalchemy as sa
        from ..export.sources import redact
        engine = _engine(destination)
        try:
            with engine.begin() as con:
                if sa.inspect(con).has_table(ACTIONS_TABLE):
                    table = sa.Table(ACTIONS_TABLE, sa.MetaData(), autoload_with=con)
                    for as_of, action in keys.itertuples(index=False):
                        con.execute(table.delete().where(
                            (table.c.as_of == as_of.to_pydatetime()) & (table.c.action == action)))
                new.to_sql(ACTIONS_TABLE, con, if_exists="append", index=False)
        except sa.exc.SQLAlchemyError as e:
            cause = getattr(e, "orig", None) or e
            raise ActionLogError(f"{redact(str(destination))}: cannot write {ACTIONS_TABLE} "
                                 f"({type(cause).__name__})") from None
        finally:
            engine.dispose()
        return f"{destination}#{ACTIONS_TABLE}"
    from ..io.writers import write_csv
    path = Path(destination)
    if path.exists():
        old = read_actions(path)
        stale = old.merge(keys, on=["as_of", "action"], how="left", indicator=True)
        old = old.loc[(stale["_merge"] == "left_only").to_numpy()]
        new = pd.concat([old, new], ignore_index=True)
    write_csv(new.sort_values(["as_of", "action", "account_id"], kind="stable"), path)
    return str(path)


def read_actions(source) -> pd.DataFrame:
    """The actions log written by :func:`log_actions`."""
    if _is_database(source):
        import sqlalchemy as sa
        engine = _engine(source)
        try:
            with engine.connect() as con:
                if not sa.inspect(con).has_table(ACTIONS_TABLE):
                    raise ActionLogError(f"{source}: no {ACTIONS_TABLE} table (nothing logged)")
                df = pd.read_sql_table(ACTIONS_TABLE, con)
        finally:
            engine.dispose()
    else:
        path = Path(source)
        if not path.exists():
            raise ActionLogError(f"{path}: no such actions log")
        df = pd.read_csv(path)
    return _check_log(df, str(source))


@dataclass
class ActionEffect:
    """Churn of contacted vs held-out accounts after an action.

    ``table``: per action and group, accounts, churned within the horizon, the
    churn rate and the mean predicted risk at assignment; ``difference``: per
    action, contact minus holdout churn rate with a 95% interval;
    ``pending``: accounts whose follow-up window has not ended yet.
    """

    table: pd.DataFrame
    difference: pd.DataFrame
    pending: int
    horizon_months: int

    def __str__(self) -> str:
        lines = []
        for r in self.difference.itertuples(index=False):
            verdict = ("lowered churn" if r.upper_95 < 0 else "raised churn" if r.lower_95 > 0
                       else "no effect that this sample can tell from chance")
            lines.append(f"{r.action}: churn within {self.horizon_months} months "
                         f"{r.contact_rate:.1%} contacted vs {r.holdout_rate:.1%} held out "
                         f"({r.difference:+.1%}, 95% interval {r.lower_95:+.1%} to "
                         f"{r.upper_95:+.1%}): {verdict}")
        if self.pending:
            lines.append(f"{self.pending:,} accounts are still inside their follow-up window")
        return "\n".join(lines)


def measure_action_effect(actions: pd.DataFrame, outcomes: pd.DataFrame, *, as_of,
                          horizon_months: int = 6, id_column: str = "account_id") -> ActionEffect:
    """Compare churn within ``horizon_months`` of each assignment, contacted vs held out.

    Parameters
    ----------
    actions : DataFrame
        The log (:func:`read_actions` or :func:`assign_outreach`).
    outcomes : DataFrame
        ``account_id`` and ``churn_date`` (NaT while a customer), e.g. the
        survival view's ``end_date`` where ``churned == 1``.
    as_of : date-like
        What the outcomes are known up to. Assignments whose window
        ``(assigned, assigned + horizon]`` is not over by then are left out
        (counted in ``pending``).
    """
    log = _check_log(actions, "actions")
    known = _day(as_of, "as_of")
    if "churn_date" not in outcomes.columns or id_column not in outcomes.columns:
        raise ActionLogError(f"outcomes: need columns {id_column!r} and 'churn_date'")
    churn = outcomes.set_index(id_column)["churn_date"]
    if churn.index.duplicated().any():
        raise ActionLogError(f"outcomes: duplicate {id_column} "
                             f"{churn.index[churn.index.duplicated()][:3].tolist()}")
    end = log["as_of"] + pd.DateOffset(months=horizon_months)
    done = (end <= known).to_numpy()
    log = log.loc[done].copy()
    when = pd.to_datetime(log["account_id"].map(churn))
    log["churned"] = ((when > log["as_of"]) & (when <= end[done])).to_numpy()
    gone_before = (when <= log["as_of"]).fillna(False).to_numpy()
    log = log.loc[~gone_before]
    table = (log.groupby(["action", "group"], observed=True)
             .agg(accounts=("account_id", "size"), churned=("churned", "sum"),
                  churn_rate=("churned", "mean"),
                  mean_predicted=("p_churn_at_assignment", "mean"))
             .reset_index())
    table["churned"] = table["churned"].astype(int)
    rows = []
    for action, g in table.groupby("action"):
        g = g.set_index("group")
        if not set(GROUPS) <= set(g.index):
            continue
        p1, n1 = g.loc["contact", "churn_rate"], g.loc["contact", "accounts"]
        p0, n0 = g.loc["holdout", "churn_rate"], g.loc["holdout", "accounts"]
        se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        d = p1 - p0
        rows.append({"action": action, "contact_rate": p1, "holdout_rate": p0,
                     "difference": d, "lower_95": d - 1.96 * se, "upper_95": d + 1.96 * se,
                     "contacted": int(n1), "held_out": int(n0)})
    diff = pd.DataFrame(rows, columns=["action", "contact_rate", "holdout_rate", "difference",
                                       "lower_95", "upper_95", "contacted", "held_out"])
    return ActionEffect(table, diff, int((~done).sum()), horizon_months)
