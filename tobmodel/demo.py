"""``make demo``: the weekly churn and lead score job, end to end, on a simulated business.

Simulates a SaaS business in the maturity stage, writes its tables as Parquet,
fits a Cox renewal model and a (logistic) lead model from those files, scores
every active customer and open lead, writes ``churn_scores.csv``,
``lead_scores.csv`` and the SQLite database, and prints the ten customers
most at risk with their reasons.

Examples
--------
>>> import io, tempfile
>>> d = tempfile.mkdtemp()
>>> result = run_demo(n_accounts=300, data_dir=f"{d}/data", exports_dir=f"{d}/exports",
...                   out=io.StringIO())  # doctest: +SKIP
>>> result["churn"].scored > 0  # doctest: +SKIP
True
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

BUSINESS, STAGE, AS_OF = "saas", "maturity", "2025-12-31"
LEAD_MODEL = "lead-logistic"  # a transparent, fast lead model for the demo
TOP_COLUMNS = ["account_id", "tier", "arr", "next_renewal_date", "p_churn_next_renewal",
               "p_churn_horizon", "risk_tier", "reasons"]


def run_demo(n_accounts: int = 3000, seed: int = 2026, data_dir=None, exports_dir=None,
             database_url: str | None = None, out=None) -> dict:
    """Run the demo job; print its summary to ``out`` and return what it did.

    Parameters
    ----------
    n_accounts, seed : int
        Scale and seed of the simulated business (same seed, same scores).
    data_dir : path, optional
        Folder for the simulated tables (default ``data/demo``).
    exports_dir : path, optional
        Folder for scores and models (default ``data/exports``).
    database_url : str, optional
        Database for the score tables (default ``tobmodel.sqlite`` in
        ``exports_dir``; :data:`tobmodel.paths.DEFAULT_DATABASE_URL` when both
        are defaults).

    Returns
    -------
    dict
        ``business`` (summary counts), ``churn`` and ``lead``
        (:class:`~tobmodel.export.ExportSummary`), ``top`` (the ten customers
        most at risk), ``paths``.
    """
    from . import paths, simulate
    from .export import export_scores
    from .export.jobs import fit_model

    out = out or sys.stdout
    started = time.perf_counter()
    data_dir = Path(data_dir) if data_dir else paths.DATA_DIR / "demo"
    exports_dir = Path(exports_dir) if exports_dir else paths.EXPORTS_DIR
    if database_url is None:
        database_url = (paths.DEFAULT_DATABASE_URL if exports_dir == paths.EXPORTS_DIR
                        else f"sqlite:///{exports_dir / 'tobmodel.sqlite'}")

    def say(text=""):
        print(text, file=out, flush=True)

    sim = simulate(BUSINESS, STAGE, n_accounts=n_accounts, seed=seed, as_of=AS_OF)
    sim.to_parquet(data_dir)
    business = business_summary(sim.tables)
    say(f"Simulated a {BUSINESS} business in the {STAGE} stage (seed {seed}) as of {AS_OF}:")
    say(f"  {format_summary(business)}")
    say(f"  tables -> {data_dir}")

    models = exports_dir / "models"
    cox, features = fit_model(data_dir, "cox", as_of=AS_OF, output=models / "cox.json")
    lead, leads = fit_model(data_dir, LEAD_MODEL, as_of=AS_OF, output=models / "lead.json")
    say(f"Fitted {cox.model_id} on {len(features):,} accounts and {lead.model_id} on "
        f"{int(leads['status'].isin(['converted', 'lost']).sum()):,} closed leads "
        f"-> {models}")

    churn_csv, lead_csv = exports_dir / "churn_scores.csv", exports_dir / "lead_scores.csv"
    active = features.loc[features["active"]].reset_index(drop=True)
    open_leads = leads.loc[leads["status"] == "open"].reset_index(drop=True)
    churn = export_scores(models / "cox.json", active, [churn_csv, database_url], as_of=AS_OF)
    leads_run = export_scores(models / "lead.json", open_leads, [lead_csv, database_url],
                              as_of=AS_OF)
    for s in (churn, leads_run):
        s.source = str(data_dir)
        say(str(s))

    top = top_at_risk(churn_csv, features)
    say("")
    say("The ten customers most at risk of churning within 12 months:")
    say(format_top(top))
    say(f"\nDone in {time.perf_counter() - started:.0f} s. Scores: {churn_csv}, {lead_csv}; "
        f"database: {database_url}")
    return {"business": business, "churn": churn, "lead": leads_run, "top": top,
            "paths": {"data": data_dir, "churn_csv": churn_csv, "lead_csv": lead_csv,
                      "database": database_url, "models": models}}


def business_summary(tables) -> dict:
    """Accounts, leads, lead conversion (closed leads) and churned share of accounts."""
    from .survival import survival_view
    leads = tables["leads"]
    closed = leads["status"].isin(["converted", "lost"])
    view = survival_view(tables)
    return {"accounts": len(tables["accounts"]), "leads": len(leads),
            "open_leads": int((leads["status"] == "open").sum()),
            "conversion": float((leads.loc[closed, "status"] == "converted").mean())
            if closed.any() else float("nan"),
            "churned": float(view["churned"].mean()) if len(view) else float("nan")}


def format_summary(s: dict) -> str:
    return (f"{s['accounts']:,} accounts, {s['leads']:,} leads ({s['open_leads']:,} open), "
            f"lead conversion {s['conversion']:.1%}, churned by as-of {s['churned']:.1%}")


def top_at_risk(scores_csv, features, n: int = 10):
    """The ``n`` accounts with the highest ``p_churn_horizon`` (ties: sooner renewal first)."""
    import pandas as pd
    scores = pd.read_csv(scores_csv, parse_dates=["next_renewal_date"])
    scores = scores.merge(features[["account_id", "tier", "arr"]], on="account_id", how="left")
    top = scores.sort_values(["p_churn_horizon", "next_renewal_date", "account_id"],
                             ascending=[False, True, True]).head(n)
    return top[TOP_COLUMNS].reset_index(drop=True)


def format_top(top) -> str:
    lines = [f"  {'account':>8} {'tier':<4} {'ARR':>9} {'renews':<10} {'p next':>6} "
             f"{'p 12m':>6}  reasons"]
    for r in top.itertuples(index=False):
        renews = r.next_renewal_date.date().isoformat() if r.next_renewal_date == \
            r.next_renewal_date else "-"
        lines.append(f"  {r.account_id:>8} {str(r.tier):<4} {r.arr:>9,.0f} {renews:<10} "
                     f"{r.p_churn_next_renewal:>6.1%} {r.p_churn_horizon:>6.1%}  {r.reasons}")
    return "\n".join(lines)
