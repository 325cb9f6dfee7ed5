"""Movers: accounts whose churn risk rose the most since last week, or week after week.

The score history is what every weekly run leaves behind: the
``churn_score_history`` table of a SQLite or PostgreSQL destination (every
run keyed by as_of, model and account), or score files (``.csv`` /
``.parquet``, one per week, each row carrying its ``as_of``) read together.
Runs are compared for one model name and one horizon, so a change of
``--horizon`` never looks like a change of risk; a refit between two weeks is
flagged in the ``refit`` column.

Examples
--------
>>> import pandas as pd
>>> h = pd.DataFrame({
...     "as_of": pd.to_datetime(["2026-01-05"] * 3 + ["2026-01-12"] * 3 + ["2026-01-19"] * 3),
...     "account_id": [1, 2, 3] * 3, "model_name": "cox", "model_id": "cox-1",
...     "horizon_months": 12,
...     "p_churn_horizon": [0.10, 0.30, 0.20, 0.15, 0.30, 0.10, 0.22, 0.25, 0.12]})
>>> m = find_movers(h, top=2, min_weeks=2)
>>> m[["account_id", "p_previous", "p_now", "weeks_rising"]].values.tolist()
[[1.0, 0.15, 0.22, 2.0], [3.0, 0.1, 0.12, 1.0]]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..export.specs import SPECS, ExportError

PROBABILITY = {"churn": "p_churn_horizon", "lead": "p_convert"}
GROUP = {"churn": "risk_tier", "lead": "grade"}
DEFAULT_WEEKS = 8  # runs read from the history: enough for "rising N weeks in a row"

MOVER_COLUMNS = ("as_of", "previous_as_of", "model_name", "model_id", "refit", "p_previous",
                 "p_now", "rise", "weeks_rising", "group", "reasons", "why")

__all__ = ["read_history", "find_movers", "MOVER_COLUMNS"]


def _is_database(source) -> bool:
    from ..export.sources import SQLITE_SUFFIXES, is_url
    return is_url(source) or Path(str(source)).suffix.lower() in SQLITE_SUFFIXES


def read_history(source, *, kind: str = "churn", model_name: str | None = None,
                 weeks: int = DEFAULT_WEEKS, as_of=None) -> pd.DataFrame:
    """The last ``weeks`` runs of one model from a score history.

    Parameters
    ----------
    source : str, path or list of paths
        A database URL or ``.sqlite`` file (table ``churn_score_history`` /
        ``lead_score_history``), or one or more ``.csv`` / ``.parquet`` score
        files written by ``tobmodel score``.
    kind : {'churn', 'lead'}
    model_name : str, optional
        Which model's runs (default: the model of the latest run; refused if
        several models ran at that as_of).
    weeks : int
        Number of most recent runs (distinct as_of) to read.
    as_of : date-like, optional
        Read runs up to this date (default: up to the latest).

    Returns
    -------
    DataFrame sorted by as_of and id, ``as_of`` as datetime64. ``attrs["source"]``
    says where it came from.
    """
    spec = SPECS[kind]
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    cols = ["as_of", spec.id_column, "model_name", "model_id", PROBABILITY[kind],
            *(["horizon_months", "risk_tier"] if kind == "churn" else ["grade"]), "reasons"]
    until = None if as_of is None else pd.Timestamp(as_of).normalize()
    if isinstance(source, (list, tuple)) or not _is_database(source):
        df, where = _read_files(source if isinstance(source, (list, tuple)) else [source], cols)
        if until is not None:
            df = df[df["as_of"] <= until]
        name = _pick_model(df, model_name, where)
        df = df[df["model_name"] == name]
        keep = np.sort(df["as_of"].unique())[-weeks:]
        df = df[df["as_of"].isin(keep)]
    else:
        df, where = _read_table(source, spec, cols, model_name, weeks, until)
    _check_one_run_per_date(df, where)
    out = df.sort_values(["as_of", spec.id_column], kind="stable").reset_index(drop=True)
    out.attrs["source"] = where
    return out


def _read_files(paths, cols):
    frames = []
    for p in map(Path, paths):
        if not p.is_file():
            raise ExportError(f"{p}: no such score file (give a .csv/.parquet written by "
                              "tobmodel score, or a database)")
        suffix = p.suffix.lower()
        try:
            if suffix == ".csv":
                f = pd.read_csv(p, usecols=lambda c: c in cols)
            elif suffix in (".parquet", ".pq"):
                f = pd.read_parquet(p)
                f = f[[c for c in cols if c in f.columns]]
            else:
                raise ExportError(f"{p}: unknown history format {suffix!r} (expected .csv, "
                                  ".parquet, .sqlite or a database URL)")
        except (ValueError, OSError) as e:
            if isinstance(e, ExportError):
                raise
            raise ExportError(f"{p}: cannot read score history ({' '.join(str(e).split())})"
                              ) from None
        missing = [c for c in cols[:5] if c not in f.columns]
        if missing:
            raise ExportError(f"{p}: not a score file (missing column "
                              f"{', '.join(map(repr, missing))})")
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    df["as_of"] = pd.to_datetime(df["as_of"]).dt.normalize()
    return df, ", ".join(map(str, paths))


def _pick_model(df, model_name, where):
    if len(df) == 0:
        raise ExportError(f"{where}: the score history is empty")
    if model_name is not None:
        if not (df["model_name"] == model_name).any():
            raise ExportError(f"{where}: no runs of model {model_name!r} (has: "
                              f"{', '.join(sorted(df['model_name'].astype(str).unique()))})")
        return model_name
    latest = df[df["as_of"] == df["as_of"].max()]
    names = sorted(latest["model_name"].astype(str).unique())
    if len(names) > 1:
        raise ExportError(f"{where}: several models ran as of {latest['as_of'].iloc[0].date()} "
                          f"({', '.join(names)}); choose one with --model-name")
    return names[0]


def _read_table(url, spec, cols, model_name, weeks, until):
    from sqlalchemy import func, inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from ..export.history import score_tables
    from ..export.sources import connect_error, make_engine, redact, sqlite_url
    url = str(url) if "://" in str(url) else sqlite_url(url)
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[-1]).is_file():
        raise ExportError(f"{redact(url)}: no such database file")
    h = score_tables(spec)["history"]
    engine = make_engine(url)
    where = f"{redact(url)} ({spec.history_table})"
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(spec.history_table):
                raise ExportError(f"{where}: no score history table (has tobmodel score "
                                  "written to this database?)")
            cond = [] if until is None else [h.c.as_of <= until.date()]
            if model_name is None:
                last = conn.execute(select(func.max(h.c.as_of)).where(*cond)).scalar()
                if last is None:
                    raise ExportError(f"{where}: the score history is empty")
                names = sorted(conn.execute(select(h.c.model_name).distinct()
                                            .where(h.c.as_of == last)).scalars())
                if len(names) > 1:
                    raise ExportError(f"{where}: several models ran as of {str(last)[:10]} "
                                      f"({', '.join(names)}); choose one with --model-name")
                model_name = names[0]
            runs = conn.execute(select(h.c.as_of).distinct()
                                .where(h.c.model_name == model_name, *cond)
                                .order_by(h.c.as_of.desc()).limit(weeks)).scalars().all()
            if not runs:
                raise ExportError(f"{where}: no runs of model {model_name!r}")
            q = select(*[h.c[c] for c in cols]).where(h.c.model_name == model_name,
                                                       h.c.as_of.in_(runs))
            df = pd.read_sql(q, conn)
            r = score_tables(spec)["runs"]
            latest = pd.read_sql(select(r.c.as_of, r.c.model_id, r.c.finished_at).where(
                r.c.kind == spec.kind, r.c.model_name == model_name, r.c.as_of.in_(runs)), conn)
    except SQLAlchemyError as e:
        raise connect_error(url, e) from None
    finally:
        engine.dispose()
    df["as_of"] = pd.to_datetime(df["as_of"]).dt.normalize()
    if len(latest):  # a re-run after a refit at the same as_of: the last one to finish counts
        latest["as_of"] = pd.to_datetime(latest["as_of"]).dt.normalize()
        latest["finished_at"] = pd.to_datetime(latest["finished_at"])
        keep = latest.sort_values(["as_of", "finished_at"]).drop_duplicates("as_of", keep="last")
        df = df.merge(keep[["as_of", "model_id"]], on=["as_of", "model_id"])
    return df, where


def _run_codes(as_of) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct dates, each row's index into them): hashing, then a sort of a few."""
    code, uniques = pd.factorize(np.asarray(as_of))
    order = np.argsort(uniques)
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return np.asarray(uniques)[order], rank[code]


def _check_one_run_per_date(df: pd.DataFrame, where: str, codes=None) -> None:
    """Refuse a history where one as_of holds runs of several model ids."""
    weeks, week_code = codes if codes is not None else _run_codes(df["as_of"].to_numpy())
    model_code, models = pd.factorize(df["model_id"].to_numpy())
    pairs = np.zeros((len(weeks), len(models)), bool)
    pairs[week_code, model_code] = True
    several = pairs.sum(axis=1) > 1
    if several.any():
        i = int(np.flatnonzero(several)[0])
        both = sorted(map(str, models[pairs[i]]))
        raise ExportError(f"{where}: as_of {pd.Timestamp(weeks[i]).date()} has runs of "
                          f"several model ids ({', '.join(both)}); keep one run per date")


def find_movers(history: pd.DataFrame, *, kind: str = "churn", top: int = 20,
                min_weeks: int = 3) -> pd.DataFrame:
    """Accounts whose risk rose the most since the previous run, or ``min_weeks`` runs in a row.

    Parameters
    ----------
    history : DataFrame
        From :func:`read_history` (one model; columns ``as_of``, the id,
        ``model_id``, the probability and, for churn, ``horizon_months``).
    top : int
        How many of the largest rises since the previous run.
    min_weeks : int
        Also list every account whose risk rose in each of the last
        ``min_weeks`` runs (however small the rise).

    Returns
    -------
    DataFrame indexed 0..n-1, the id first, then :data:`MOVER_COLUMNS`; sorted by
    ``rise`` (largest first). ``why`` says which rule listed the account.
    Empty when the history holds fewer than two runs.
    """
    spec = SPECS[kind]
    ident, prob = spec.id_column, PROBABILITY[kind]
    h = history
    if len(h) and len(pd.unique(h["model_name"])) > 1:
        raise ValueError("find_movers: the history holds several models; read one "
                         "(read_history(model_name=...))")
    if kind == "churn" and "horizon_months" in h and len(h):
        hm = h["horizon_months"].to_numpy()
        latest_h = hm[np.argmax(h["as_of"].to_numpy())]
        if (hm != latest_h).any():  # compare runs of the latest run's horizon only
            h = h[hm == latest_h]
    weeks, week_code = _run_codes(h["as_of"].to_numpy())
    _check_one_run_per_date(h, "history", (weeks, week_code))
    empty = pd.DataFrame({ident: pd.Series(dtype="int64"),
                          **{c: pd.Series(dtype=object) for c in MOVER_COLUMNS}})
    if len(weeks) < 2:
        return empty
    id_code, ids_all = pd.factorize(h[ident].to_numpy())  # hashing: no sort of every row
    P = np.full((len(ids_all), len(weeks)), np.nan)      # accounts x runs (no pivot_table)
    P[id_code, week_code] = h[prob].to_numpy(dtype=float)
    now, prev = P[:, -1], P[:, -2]
    rise = now - prev
    up = np.diff(P, axis=1) > 0                     # NaN (not scored that week) is not a rise
    rev = ~up[:, ::-1]
    weeks_rising = np.where(rev.any(axis=1), rev.argmax(axis=1), up.shape[1])
    ok = np.isfinite(rise) & (rise > 0)
    order = np.argsort(-np.where(ok, rise, -np.inf), kind="stable")
    largest = np.zeros(len(P), bool)
    largest[order[:top]] = True
    largest &= ok
    streak = ok & (weeks_rising >= min_weeks)
    pick = largest | streak
    ids = ids_all[pick]
    in_last, in_prev = week_code == len(weeks) - 1, week_code == len(weeks) - 2
    last = h[in_last].set_index(ident)
    prev_rows = h[in_prev].drop_duplicates(ident).set_index(ident)
    group_col = GROUP[kind]
    why = np.where(largest[pick] & streak[pick], f"top {top} rise; rising {min_weeks}+ runs",
                   np.where(largest[pick], f"top {top} rise", f"rising {min_weeks}+ runs"))
    out = pd.DataFrame({
        ident: ids,
        "as_of": weeks[-1], "previous_as_of": weeks[-2],
        "model_name": last["model_name"].reindex(ids).to_numpy(),
        "model_id": last["model_id"].reindex(ids).to_numpy(),
        "refit": (last["model_id"].reindex(ids).to_numpy()
                  != prev_rows["model_id"].reindex(ids).to_numpy()),
        "p_previous": prev[pick], "p_now": now[pick], "rise": rise[pick],
        "weeks_rising": weeks_rising[pick].astype("int64"),
        "group": (last[group_col].reindex(ids).to_numpy() if group_col in last
                  else np.full(len(ids), None)),
        "reasons": (last["reasons"].reindex(ids).to_numpy() if "reasons" in last
                    else np.full(len(ids), None)),
        "why": why})
    return out.sort_values(["rise", ident], ascending=[False, True], kind="stable") \
        .reset_index(drop=True)
