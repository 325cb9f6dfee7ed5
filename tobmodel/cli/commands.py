"""What each ``tobmodel`` subcommand does; heavy libraries are imported inside each one."""
from __future__ import annotations

import sys
from pathlib import Path

from .outputs import _check_writable, _frame_writer, _write_frame  # noqa: F401

STREAM_ABOVE = 200_000  # accounts: simulate to Parquet chunk by chunk above this


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_simulate(args) -> None:
    import pandas as pd

    from ..simulator import simulate, simulate_to_parquet
    database = "://" in str(args.output)
    if database and (args.stream or args.accounts > STREAM_ABOVE):
        raise ValueError(f"{args.output}: --stream (automatic above {STREAM_ABOVE:,} accounts) "
                         "writes Parquet files; give a folder")
    out = Path(args.output)
    if not database and out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")
    if args.format in ("salesforce", "hubspot"):
        from .mapped import run_simulate_exports
        return run_simulate_exports(args)
    stream = args.stream or args.accounts > STREAM_ABOVE
    if stream:
        if args.format != "parquet":
            raise ValueError(f"--stream writes Parquet only; {args.accounts:,} accounts is too "
                             "many for CSV in memory (use --format parquet)")
        simulate_to_parquet(out, args.business_type, args.stage, args.accounts, args.seed,
                            args.as_of)
        if args.no_truth:
            for f in out.glob("truth_*.parquet"):
                f.unlink()
        accounts = pd.read_parquet(out / "accounts.parquet", columns=["account_id"])
        leads = pd.read_parquet(out / "leads.parquet", columns=["status"])
        _say(f"simulated {args.business_type}/{args.stage}: {len(accounts):,} accounts, "
             f"{len(leads):,} leads -> {out}")
        return
    from ..demo import business_summary, format_summary
    sim = simulate(args.business_type, args.stage, args.accounts, args.seed, args.as_of)
    tables = dict(sim.tables)
    if not args.no_truth:
        tables.update({f"truth_{k}": v for k, v in sim.truth.items()})
    if database:
        from ..export import write_tables
        where = write_tables(tables, args.output)
    else:
        _write_tables(tables, out, args.format)
        where = f"({args.format}) -> {out}"
    _say(f"simulated {args.business_type}/{args.stage} as of {args.as_of}: "
         f"{format_summary(business_summary(sim.tables))}")
    _say(f"tables {where if not database else '-> ' + where}")


def _write_tables(tables: dict, folder: Path, fmt: str) -> None:
    from ..io.writers import write_csv, write_parquet
    write = write_parquet if fmt == "parquet" else write_csv
    for name, df in tables.items():
        write(df, folder / f"{name}.{fmt}")


def run_fit(args) -> None:
    from ..export.jobs import fit_model, model_kind
    if getattr(args, "mapping", None):
        from .mapped import run_fit_mapped
        return run_fit_mapped(args)
    options = {}
    if args.covariates:
        options["covariates"] = [c.strip() for c in args.covariates.split(",") if c.strip()]
    if args.penalizer is not None:
        options["penalizer"] = args.penalizer
    if options and model_kind(args.model) != "renewal":
        raise ValueError(f"--{'-'.join(next(iter(options)).split('_'))} applies to renewal "
                         "models (cox, weibull_aft, loglogistic_aft)")
    if options and args.model == "dynamic":
        raise ValueError("--covariates / --penalizer apply to cox, weibull_aft and "
                         "loglogistic_aft; the dynamic model uses its person-month covariates")
    _check_writable(args.output)
    if args.features_out:
        _check_writable(args.features_out)
        _frame_writer(args.features_out)  # refuse an unknown format before the fit
    model, data = fit_model(args.data, args.model, as_of=args.as_of, output=args.output,
                            **options)
    if args.features_out:
        _write_frame(data, args.features_out)
    _say(f"fitted {model.name} ({model.kind}) on {len(data):,} rows from {args.data}: "
         f"model id {model.model_id}")
    if "as_of" in data.columns and len(data):
        how = (" (inferred: the latest dated row; pass --as-of to set it)"
               if data.attrs.get("as_of_inferred") else "")
        _say(f"as of {data['as_of'].max().date()}{how}")
    _say(f"model -> {args.output}" + (f"; features -> {args.features_out}"
                                      if args.features_out else ""))


def run_score(args) -> int:
    from ..export import export_scores
    if getattr(args, "mapping", None):
        from .mapped import run_score_mapped
        return run_score_mapped(args)
    from ..paths import DEFAULT_DATABASE_URL
    summary = export_scores(args.model, args.input, args.output or [DEFAULT_DATABASE_URL],
                            table=args.table, as_of=args.as_of, horizon_months=args.horizon,
                            chunksize=args.chunksize, risk_cutoffs=args.risk_cutoffs,
                            progress=args.progress,
                            min_scored_fraction=args.min_scored_fraction)
    if summary.source == "<DataFrame>":
        summary.source = str(args.input)
    from ..monitor.staleness import summary_staleness
    stale = summary_staleness(summary, max_age_weeks=args.max_model_age_weeks,
                              fail_on_drift=args.fail_on_drift)
    _say(str(summary))
    skipped = (" not scored (" + ", ".join(f"{k} {v:,}" for k, v in
                                           summary.not_scored.items()) + ");"
               if summary.not_scored else "")
    _say(f"scored {summary.scored:,},{skipped} rejected {summary.rejected:,} (written to "
         f"{'; '.join(summary.rejects_destinations)})")
    for w in stale.warnings:
        print(f"tobmodel: warning: {w}", file=sys.stderr)
    return stale.exit_code


def run_report(args) -> None:
    from ..monitor.report import report_from_args
    report = report_from_args(args)
    _say(report.describe())


def run_evaluate(args) -> None:
    import pandas as pd

    from ..export.jobs import evaluate_model
    if getattr(args, "mapping", None):
        from ..mapping.jobs import evaluate_mapped
        table = evaluate_mapped(args.model, args.data, args.mapping, args.cutoff, args.horizon)
    else:
        table = evaluate_model(args.model, args.data, args.cutoff, args.horizon)
    with pd.option_context("display.width", 120, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        _say(f"evaluation on a time split at {table.attrs.get('cutoff')} "
             f"(fit on the data known then, test on what happened after)")
        _say(table.to_string(index="model" not in table.columns))
    if table.attrs.get("sentence"):
        _say(table.attrs["sentence"])


def run_validate(args):
    from .mapped import run_validate as validate
    return validate(args)


def run_demo(args) -> None:
    from ..demo import run_demo as demo
    demo(n_accounts=args.accounts, seed=args.seed, data_dir=args.data_dir,
         exports_dir=args.exports_dir, database_url=args.database, out=sys.stdout)
