"""What each ``tobmodel`` subcommand does; heavy libraries are imported inside each one."""
from __future__ import annotations

import sys
from pathlib import Path

from .options import hazard_option, thread_options
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
    if getattr(args, "events", None):
        if database:
            raise ValueError(f"{args.output}: --events writes Parquet parts; give a folder")
        _simulate_events(args, out)
        return
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


def _simulate_events(args, out: Path) -> None:
    import time

    from ..simulator.events import simulate_events_to_parquet
    if args.format != "parquet":
        raise ValueError("--events writes Parquet parts only (drop --format csv)")
    t0 = time.perf_counter()
    res = simulate_events_to_parquet(out, args.accounts, args.events, seed=args.seed,
                                     as_of=args.as_of, events_per_file=args.events_per_file)
    _say(f"simulated event-level usage as of {args.as_of}: {res['n_accounts']:,} accounts, "
         f"{res['n_events']:,} events, {res['n_tickets']:,} tickets in "
         f"{time.perf_counter() - t0:.1f} s -> {out} (accounts.parquet, events/, tickets/)")


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
    options.update(thread_options(args))
    options.update(hazard_option(args))
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


def _spark_conf(items) -> dict:
    conf = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--spark-conf expects KEY=VALUE, got {item!r}")
        conf[key.strip()] = value.strip()
    return conf


def run_score_spark(args) -> int:
    """``tobmodel score --engine spark``: one Parquet folder (or table:NAME) of scores.

    The exit code follows the model's age and the drift against its training
    profile, as with ``--engine local``."""
    from ..engines.connect import spark_session
    from ..engines.spark_scoring import score_on_spark
    outputs = args.output or []
    if len(outputs) != 1:
        raise ValueError("--engine spark writes one --output: a Parquet folder such as "
                         "scores.parquet, or table:NAME")
    try:
        from pyspark.errors import PySparkException
    except ImportError:
        raise ValueError("--engine spark needs pyspark: pip install 'tobmodel[spark]'") from None
    conf = _spark_conf(args.spark_conf)
    try:
        spark = spark_session(args.spark_master, conf=conf)
        summary = score_on_spark(args.model, args.input, outputs[0], spark=spark,
                                 as_of=args.as_of, horizon_months=args.horizon,
                                 risk_cutoffs=args.risk_cutoffs,
                                 min_scored_fraction=args.min_scored_fraction)
    except PySparkException as e:  # one line, not a JVM stack trace
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{args.input}: Spark could not score it ({first})") from None
    from ..monitor.staleness import summary_staleness
    stale = summary_staleness(summary, max_age_weeks=args.max_model_age_weeks,
                              fail_on_drift=args.fail_on_drift)
    _say(str(summary))
    _say(f"scored {summary.scored:,}, rejected {summary.rejected:,} (written to "
         f"{'; '.join(summary.rejects_destinations)})")
    for w in stale.warnings:
        print(f"tobmodel: warning: {w}", file=sys.stderr)
    return stale.exit_code


def run_score(args) -> int:
    import time
    started = time.perf_counter()
    from ..export import export_scores
    if getattr(args, "mapping", None):
        from .mapped import run_score_mapped
        return run_score_mapped(args)
    from ..paths import DEFAULT_DATABASE_URL
    engine = getattr(args, "engine", "local")
    if engine == "spark":
        return run_score_spark(args)
    source = args.input
    if engine == "duckdb":
        from ..engines.connect import duckdb_source
        source = duckdb_source(args.input, args.chunksize, args.memory_limit)
    summary = export_scores(args.model, source, args.output or [DEFAULT_DATABASE_URL],
                            table=args.table, as_of=args.as_of, horizon_months=args.horizon,
                            chunksize=args.chunksize, risk_cutoffs=args.risk_cutoffs,
                            progress=args.progress,
                            min_scored_fraction=args.min_scored_fraction)
    if summary.source == "<DataFrame>":
        summary.source = str(args.input)
    summary.seconds = time.perf_counter() - started  # wall time, features built included
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
