"""Small simulated datasets shipped inside the package, one per business type.

Each is a :class:`tobmodel.simulator.Simulation` read back from Parquet files
in this folder, built by ``python -m tobmodel.datasets.build`` (``make data``)
from :func:`tobmodel.simulate` with the arguments in :data:`DATASETS`. The same
command rebuilds them byte for byte.

Examples
--------
>>> from tobmodel.datasets import load_saas
>>> sim = load_saas()
>>> sim.config["business_type"], sim.config["stage"]
('saas', 'maturity')
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
TABLE_NAMES = ("accounts", "leads", "contracts", "usage", "support")
TRUTH_NAMES = ("leads", "hazard", "accounts")

# What is shipped: same seed and as_of for all four, maturity stage.
DATASETS = {
    bt: dict(business_type=bt, stage="maturity", n_accounts=800, seed=2026, as_of="2025-12-31")
    for bt in ("platform", "saas", "hardware", "tool")
}

_COLUMNS_DOC = """
    accounts  : account_id, business_type, tier, industry, region, acquisition_channel,
                first_contract_date, contract_term, seats, price_per_seat_month, arr,
                sales_overpromised, onboarding_completed
    leads     : lead_id, created_date, channel, company_size, employees, decision-chain
                roles engaged, intent, budget_confirmed, site_visits, trial_active_days,
                reengaged_from_loss_pool, funnel dates, status, outcome_date, account_id
    contracts : contract_id, account_id, period, start_date, end_date, arr, outcome,
                churn_reason
    usage     : account_id, month, active_seats, key_feature_adoption, logins
    support   : account_id, month, tickets_opened, tickets_unresolved, bot_sessions,
                bot_escalations
    truth     : leads (p_convert), hazard (true churn hazard per period), accounts
                (true churn date and cause, oracle scores at as_of)
    Full data dictionary: data/README.md."""


@lru_cache(maxsize=None)
def _load(business_type: str):
    from ..simulator import Simulation
    folder = HERE / business_type
    if not folder.exists():
        raise FileNotFoundError(f"{folder}: dataset not built; run `make data`")
    config = json.loads((folder / "config.json").read_text())
    tables = {n: pd.read_parquet(folder / f"{n}.parquet") for n in TABLE_NAMES}
    truth = {n: pd.read_parquet(folder / f"truth_{n}.parquet") for n in TRUTH_NAMES}
    for df in tables.values():
        df.attrs.update(config)
    return Simulation(**tables, truth=truth, config=config)


def load_business(business_type: str):
    """Load the shipped dataset of one business type (a fresh copy each call)."""
    if business_type not in DATASETS:
        raise ValueError(f"business_type must be one of {tuple(DATASETS)}, got {business_type!r}")
    sim = _load(business_type)
    from ..simulator import Simulation
    copy = {k: v.copy() for k, v in sim.tables.items()}
    for k, v in copy.items():
        v.attrs.update(sim.config)
    return Simulation(**copy, truth={k: v.copy() for k, v in sim.truth.items()},
                      config=dict(sim.config))


def _doc(bt: str, blurb: str) -> str:
    c = DATASETS[bt]
    return f"""Load the shipped {bt} dataset: {blurb}

    Source: simulated by ``tobmodel.simulate({bt!r}, {c['stage']!r},
    n_accounts={c['n_accounts']}, seed={c['seed']}, as_of={c['as_of']!r})``; rebuilt
    byte for byte by ``make data``.

    Size: about {c['n_accounts']} accounts with their leads, contract periods and
    monthly usage and support rows (a few hundred kB of Parquet).

    Columns:{_COLUMNS_DOC}

    Returns
    -------
    tobmodel.simulator.Simulation

    Examples
    --------
    >>> from tobmodel.datasets import load_{bt}
    >>> sim = load_{bt}()
    >>> list(sim.tables)
    ['accounts', 'leads', 'contracts', 'usage', 'support']
    """


def load_platform():
    return load_business("platform")


def load_saas():
    return load_business("saas")


def load_hardware():
    return load_business("hardware")


def load_tool():
    return load_business("tool")


load_platform.__doc__ = _doc("platform", "a marketplace whose merchants sign up free; churn is "
                             "going inactive (3 months without logins).")
load_saas.__doc__ = _doc("saas", "a subscription software vendor; KA and mid accounts mostly on "
                         "annual contracts, SMB mostly monthly.")
load_hardware.__doc__ = _doc("hardware", "a seller of equipment paid at purchase; repurchases "
                             "replace renewals (churn: 12 months without an order).")
load_tool.__doc__ = _doc("tool", "an online tool with a free trial, then paid; mostly small "
                         "customers on monthly terms.")

__all__ = ["DATASETS", "load_business", "load_platform", "load_saas", "load_hardware",
           "load_tool"]
