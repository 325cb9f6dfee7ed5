"""Oracle churn scores from the simulator's true hazards: the best any model can do."""
from __future__ import annotations

import numpy as np
import pandas as pd


def oracle_scores(truth_hazard: pd.DataFrame, as_of, horizon_months: int = 12) -> pd.DataFrame:
    """True churn probabilities of accounts still active at ``as_of``.

    Parameters
    ----------
    truth_hazard : DataFrame
        ``Simulation.truth["hazard"]``: one row per account and contract period,
        sorted by account and period, with ``period_end``, ``hazard`` and
        ``after_churn`` (periods after the realised churn, kept so that the
        probability over a horizon does not depend on what happened).
    as_of : date-like
    horizon_months : int

    Returns
    -------
    DataFrame with ``account_id``, ``p_churn_next_renewal`` (the hazard of the
    period running at as_of), ``p_churn_{horizon_months}m`` (churn at a period
    end within ``horizon_months``) and ``next_renewal_date``.
    Accounts whose true churn happened on or before ``as_of`` are left out.

    Examples
    --------
    >>> from tobmodel.simulator import simulate
    >>> sim = simulate("saas", n_accounts=200, seed=3)
    >>> o = oracle_scores(sim.truth["hazard"], sim.as_of)
    >>> bool((o["p_churn_12m"] >= o["p_churn_next_renewal"] - 1e-12).all())
    True
    """
    as_of = np.datetime64(pd.Timestamp(as_of), "ns")
    horizon = (as_of.astype("datetime64[M]") + horizon_months).astype("datetime64[ns]") + (
        as_of - as_of.astype("datetime64[M]").astype("datetime64[ns]"))
    ids = truth_hazard["account_id"].to_numpy()
    end = truth_hazard["period_end"].to_numpy()
    h = truth_hazard["hazard"].to_numpy()
    after = (truth_hazard["after_churn"].to_numpy() if "after_churn" in truth_hazard
             else np.zeros(len(ids), bool))
    future = end > as_of
    f_ids, f_end, f_h, f_after = ids[future], end[future], h[future], after[future]
    # alive at as_of: the period running at as_of comes before the true churn
    first = np.r_[True, f_ids[1:] != f_ids[:-1]] if len(f_ids) else np.zeros(0, bool)
    alive = np.repeat(~f_after[first], np.diff(np.r_[np.flatnonzero(first), len(f_ids)]))
    f_ids, f_end, f_h = f_ids[alive], f_end[alive], f_h[alive]
    if len(f_ids) == 0:
        return pd.DataFrame({"account_id": pd.Series(dtype="int64"),
                             "p_churn_next_renewal": pd.Series(dtype=float),
                             f"p_churn_{horizon_months}m": pd.Series(dtype=float),
                             "next_renewal_date": pd.Series(dtype="datetime64[ns]")})
    first = np.r_[True, f_ids[1:] != f_ids[:-1]]
    starts = np.flatnonzero(first)
    within = f_end <= horizon
    log_surv = np.where(within, np.log1p(-np.minimum(f_h, 1 - 1e-15)), 0.0)
    p_h = -np.expm1(np.add.reduceat(log_surv, starts))
    return pd.DataFrame({
        "account_id": f_ids[starts],
        "p_churn_next_renewal": f_h[starts],
        f"p_churn_{horizon_months}m": p_h,
        "next_renewal_date": f_end[starts],
    })
