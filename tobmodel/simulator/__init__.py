"""Simulate to-B businesses with known ground truth.

>>> from tobmodel.simulator import simulate
>>> sim = simulate("saas", "maturity", n_accounts=300, seed=1)
>>> sorted(sim.tables)
['accounts', 'contracts', 'leads', 'support', 'usage']
>>> bool(sim.truth["leads"]["p_convert"].between(0, 1).all())
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import BUSINESS_TYPES, STAGES
from . import params
from .accounts import simulate_accounts
from .leads import expected_conversion, simulate_leads
from .lifecycle import simulate_lifecycle
from .oracle import oracle_scores

__all__ = ["Simulation", "simulate", "oracle_scores", "params"]

DEFAULT_AS_OF = "2025-12-31"


@dataclass
class Simulation:
    """Tables of one simulated business plus the truth that generated them.

    Attributes
    ----------
    accounts, leads, contracts, usage, support : pandas.DataFrame
        The observed tables, as of ``as_of`` (see ``data/README.md``).
    truth : dict of DataFrame
        ``leads`` (true conversion probability), ``hazard`` (true churn
        hazard per account and contract period, beyond as_of too) and
        ``accounts`` (true churn date and cause, oracle scores at as_of).
    config : dict
        The arguments that produced it.
    """

    accounts: pd.DataFrame
    leads: pd.DataFrame
    contracts: pd.DataFrame
    usage: pd.DataFrame
    support: pd.DataFrame
    truth: dict = field(repr=False)
    config: dict = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {k: getattr(self, k) for k in ("accounts", "leads", "contracts", "usage",
                                              "support")}

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.config["as_of"])

    def to_parquet(self, folder, truth: bool = True) -> Path:
        """Write every table (and ``truth_*``) as Parquet files into ``folder``."""
        from ..io.writers import write_parquet
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables.items():
            write_parquet(df, folder / f"{name}.parquet")
        if truth:
            for name, df in self.truth.items():
                write_parquet(df, folder / f"truth_{name}.parquet")
        return folder

    def __repr__(self) -> str:
        c = self.config
        return (f"Simulation({c['business_type']!r}, {c['stage']!r}, accounts={len(self.accounts)},"
                f" leads={len(self.leads)}, as_of={c['as_of']})")


def simulate(business_type: str = "saas", stage: str = "maturity", n_accounts: int = 2000,
             seed: int = 2026, as_of: str = DEFAULT_AS_OF, progress: bool | None = None
             ) -> Simulation:
    """Simulate one to-B business: leads, accounts, contracts, usage and support.

    Parameters
    ----------
    business_type : {'platform', 'saas', 'hardware', 'tool'}
    stage : {'development', 'validation', 'growth', 'maturity', 'decline'}
    n_accounts : int
        Scale: the expected number of customer accounts won by ``as_of`` for a
        business at the reference conversion rate. The realised count varies
        with the stage (validation converts worse, maturity better) and by
        chance; a development-stage business has only pilot customers
        (a few percent of ``n_accounts``).
    seed : int
        Same seed, same tables, byte for byte.
    as_of : str
        Snapshot date. Leads created up to it; contracts, usage and support
        observed up to it. The truth runs 24 months further.
    progress : bool, optional
        Progress bar; default: only on a terminal.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> sim = simulate("tool", "growth", n_accounts=200, seed=7)
    >>> (sim.leads["status"] == "converted").sum() == len(sim.accounts)
    True
    """
    if business_type not in BUSINESS_TYPES:
        raise ValueError(f"business_type must be one of {BUSINESS_TYPES}, got {business_type!r}")
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    if int(n_accounts) < 1:
        raise ValueError(f"n_accounts must be at least 1, got {n_accounts}")
    as_of_d = np.datetime64(pd.Timestamp(as_of).date(), "D")
    ss = np.random.SeedSequence([int(seed), BUSINESS_TYPES.index(business_type),
                                 STAGES.index(stage)])
    s_size, s_leads, s_acc, s_life = ss.spawn(4)
    st = params.STAGE[stage]
    history_start = (as_of_d.astype("datetime64[M]") - st["history_months"] + 1)
    ref_stage = "maturity" if stage == "development" else stage
    mean_p = expected_conversion(business_type, ref_stage, np.random.default_rng(s_size))
    n_leads = max(20, int(round(n_accounts * st["lead_scale"] / mean_p / (1 + 0.5 * st["reengage"]))))
    leads, p_convert, fit = simulate_leads(np.random.default_rng(s_leads), business_type, stage,
                                           n_leads, history_start.astype("datetime64[D]"), as_of_d)
    accounts, latent = simulate_accounts(np.random.default_rng(s_acc), leads, fit,
                                         business_type, stage)
    contracts, usage, support, hazard, truth_acc = simulate_lifecycle(
        s_life, accounts, latent, business_type, stage, history_start, as_of_d, progress)
    oracle = oracle_scores(hazard, pd.Timestamp(as_of_d), horizon_months=12)
    truth_acc = truth_acc.merge(oracle, on="account_id", how="left")
    truth = {"leads": pd.DataFrame({"lead_id": leads["lead_id"].to_numpy(),
                                    "p_convert": p_convert}),
             "hazard": hazard, "accounts": truth_acc}
    config = dict(business_type=business_type, stage=stage, n_accounts=int(n_accounts),
                  seed=int(seed), as_of=str(as_of_d), n_leads_generated=n_leads)
    for df in (leads, accounts, contracts, usage, support):
        df.attrs.update(config)
    return Simulation(accounts, leads, contracts, usage, support, truth, config)
