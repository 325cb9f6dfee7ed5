"""Simulate to-B businesses with known ground truth.

>>> from tobmodel.simulator import simulate
>>> sim = simulate("saas", "maturity", n_accounts=300, seed=1)
>>> sorted(sim.tables)
['accounts', 'contracts', 'leads', 'support', 'usage']
>>> bool(sim.truth["leads"]["p_convert"].between(0, 1).all())
True

Truth tables are rounded to :data:`TRUTH_DECIMALS` decimal places before they are
returned or written. They come from ``exp``/``log1p``/``expm1``, which numpy computes
with CPU-specific SIMD code (AVX2 vs AVX-512 differ in the last bit); rounding makes
the shipped Parquet bytes the same on any CPU (up to a ~1e-8 chance per value that
a last-bit difference falls on a rounding boundary: compare truth with a tolerance,
not bit for bit). Observable tables hold integers, dates, categories and cents.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import BUSINESS_TYPES, STAGES
from . import params
from .accounts import simulate_accounts
from .leads import expected_conversion, simulate_leads
from .lifecycle import iter_lifecycle, simulate_lifecycle
from .oracle import oracle_scores

__all__ = ["Simulation", "simulate", "simulate_to_parquet", "oracle_scores", "params"]

DEFAULT_AS_OF = "2025-12-31"
TRUTH_DECIMALS = 10  # truth probabilities and hazards; see the module docstring


def round_truth(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every float column rounded to :data:`TRUTH_DECIMALS` places (in place).

    Rounding (multiply, ``rint``, divide) is exact IEEE arithmetic, the same on any CPU.

    >>> round_truth(pd.DataFrame({"p": [0.026397160975032107]}))["p"].tolist()
    [0.026397161]
    """
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = np.round(df[c].to_numpy(), TRUTH_DECIMALS)
    return df


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
    >>> int((sim.leads["status"] == "converted").sum()) == len(sim.accounts)
    True
    """
    p = _prepare(business_type, stage, n_accounts, seed, as_of)
    contracts, usage, support, hazard, truth_acc = simulate_lifecycle(
        p["life_seed"], p["accounts"], p["latent"], business_type, stage, p["history_start"],
        p["as_of"], progress)
    hazard = round_truth(hazard)
    truth = {"leads": p["truth_leads"], "hazard": hazard,
             "accounts": _with_oracle(truth_acc, hazard, p["as_of"])}
    leads, accounts, config = p["leads"], p["accounts"], p["config"]
    for df in (leads, accounts, contracts, usage, support):
        df.attrs.update(config)
    return Simulation(accounts, leads, contracts, usage, support, truth, config)


class _BackgroundWrites:
    """Write whole tables to Parquet (snappy) in one thread; ``join`` re-raises its error."""

    def __init__(self, tables: dict, folder: Path):
        import threading
        self.tables, self.folder, self.error = tables, folder, None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..io.writers import atomic_path
        try:
            for name, df in self.tables.items():
                with atomic_path(self.folder / f"{name}.parquet") as tmp:
                    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp,
                                   compression="snappy")
        except BaseException as e:  # reported by join()
            self.error = e

    def start(self):
        if self.thread.ident is None:
            self.thread.start()

    def join(self, reraise: bool = True):
        if self.thread.ident is not None:
            self.thread.join()
        if reraise and self.error is not None:
            raise self.error


def _finish_chunk(as_of, chunk):
    chunk[3] = round_truth(chunk[3])
    chunk[4] = _with_oracle(chunk[4], chunk[3], as_of)
    return chunk


def _with_oracle(truth_acc, hazard, as_of):
    oracle = oracle_scores(hazard, pd.Timestamp(as_of), horizon_months=12)
    return round_truth(truth_acc.merge(oracle, on="account_id", how="left"))


def _prepare(business_type, stage, n_accounts, seed, as_of) -> dict:
    """Leads and accounts (everything before the lifetimes), and the seeds that follow."""
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
    n_leads = max(20, int(round(n_accounts * st["lead_scale"] / mean_p
                                / (1 + 0.5 * st["reengage"]))))
    leads, p_convert, fit = simulate_leads(np.random.default_rng(s_leads), business_type, stage,
                                           n_leads, history_start.astype("datetime64[D]"), as_of_d)
    accounts, latent = simulate_accounts(np.random.default_rng(s_acc), leads, fit,
                                         business_type, stage)
    config = dict(business_type=business_type, stage=stage, n_accounts=int(n_accounts),
                  seed=int(seed), as_of=str(as_of_d), n_leads_generated=n_leads)
    truth_leads = round_truth(pd.DataFrame({"lead_id": leads["lead_id"].to_numpy(),
                                            "p_convert": p_convert}))
    return dict(leads=leads, accounts=accounts, latent=latent, truth_leads=truth_leads,
                config=config, life_seed=s_life, history_start=history_start, as_of=as_of_d)


def simulate_to_parquet(folder, business_type: str = "saas", stage: str = "maturity",
                        n_accounts: int = 2000, seed: int = 2026, as_of: str = DEFAULT_AS_OF,
                        progress: bool | None = None, workers: int | None = None) -> Path:
    """Simulate like :func:`simulate` but stream the tables to Parquet files in ``folder``.

    Lifetimes are generated and written chunk by chunk, so memory stays bounded
    (leads and accounts are held whole). The rows are the same as
    :func:`simulate` gives for the same arguments, whatever ``workers`` is
    (forked processes generating chunks; default: the number of CPUs, at most 4).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> d = simulate_to_parquet(tempfile.mkdtemp(), "saas", n_accounts=100, seed=1)
    >>> len(pd.read_parquet(d / "accounts.parquet")) == len(simulate("saas", n_accounts=100,
    ...                                                                seed=1).accounts)
    True
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..io.writers import atomic_path
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    p = _prepare(business_type, stage, n_accounts, seed, as_of)
    # the whole tables are written by a thread (Parquet encoding releases the GIL)
    # started after the workers fork, so it overlaps the lifetimes
    whole = _BackgroundWrites({"leads": p["leads"], "accounts": p["accounts"],
                               "truth_leads": p["truth_leads"]}, folder)
    names = ("contracts", "usage", "support", "truth_hazard", "truth_accounts")
    writers, paths = {}, {}
    try:
        workers = min(4, os.cpu_count() or 1) if workers is None else int(workers)
        for chunk in iter_lifecycle(p["life_seed"], p["accounts"], p["latent"], business_type,
                                    stage, p["history_start"], p["as_of"], progress,
                                    workers=workers, finish=partial(_finish_chunk, p["as_of"]),
                                    started=whole.start):
            for name, df in zip(names, chunk):
                table = pa.Table.from_pandas(df, preserve_index=False)
                if name not in writers:
                    paths[name] = atomic_path(folder / f"{name}.parquet")
                    writers[name] = pq.ParquetWriter(paths[name].__enter__(), table.schema,
                                                     compression="snappy")
                writers[name].write_table(table)
        for name in names:
            writers[name].close()
            paths[name].__exit__(None, None, None)
        whole.start()  # no-op if already running
        whole.join()
    except BaseException as e:
        for name in writers:
            paths[name].__exit__(type(e), e, None)
        whole.join(reraise=False)
        raise
    (folder / "config.json").write_text(json.dumps(p["config"], sort_keys=True, indent=1) + "\n")
    return folder
