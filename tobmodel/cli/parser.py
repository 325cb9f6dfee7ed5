"""Argument parser of the ``tobmodel`` command (standard library only: ``--help`` is instant)."""
from __future__ import annotations

import argparse

from .._version import __version__
from ..registry import FIT_NAMES
from ..schema import BUSINESS_TYPES, STAGES

MODELS = tuple(FIT_NAMES)

DESCRIPTION = """\
Churn and lead scores for to-B growth teams: simulate a business, fit a renewal
(churn) or lead model, score every active customer or open lead, and export the
scores to CSV, Parquet, SQLite or PostgreSQL. Churn probabilities: higher = more
risk. Lead p_convert and score: higher = better lead."""

EPILOG = """\
the weekly job:
  tobmodel fit --data data/demo --model cox --output models/cox.json
  tobmodel score --model models/cox.json --input data/demo --output churn_scores.csv
  tobmodel report --history data/exports/tobmodel.sqlite --output report.html
  tobmodel demo            # all of it on a simulated SaaS business
your own CRM / help-desk / analytics exports:
  tobmodel validate --input exports/ --suggest mapping.yaml
  tobmodel fit --data exports/ --mapping mapping.yaml --output models/cox.json

Run `tobmodel <command> --help` for each command's options and an example."""

EXAMPLES = {
    "simulate": """\
example:
  tobmodel simulate --business-type saas --stage maturity --accounts 3000 \\
      --seed 2026 --as-of 2025-12-31 --output data/sim
  writes accounts, leads, contracts, usage and support (and truth_*) as Parquet
  files in data/sim; --format csv writes CSV; --stream (automatic above
  200,000 accounts) writes Parquet chunk by chunk in bounded memory.
  tobmodel simulate --accounts 3000 --output sqlite:///crm.db
  writes the same tables into a database instead (one transaction).
  tobmodel simulate --accounts 1000000 --events 100000000 --output data/events
  event-level usage for the scale path: accounts.parquet, events/ and tickets/
  Parquet parts (timestamp, user_id, account_id, event), streamed in bounded
  memory (see docs/scale.md).
  tobmodel simulate --format salesforce --accounts 300 --output exports
  writes Account.csv, Contract.csv, Lead.csv, zendesk/ and segment/ exports
  (with mapping.yaml for the custom fields) of a simulated SaaS business.""",
    "fit": """\
examples:
  tobmodel fit --data data/demo --model cox --output models/cox.json
  tobmodel fit --data sqlite:///crm.db --model weibull_aft --as-of 2025-12-31 \\
      --output models/weibull.json --features-out account_features.parquet
  tobmodel fit --data data/demo --model lead --output models/lead.json
  tobmodel fit --data exports/ --mapping mapping.yaml --mapping zendesk \\
      --mapping segment --output models/cox.json
  tobmodel fit --data data/hardware --model repurchase --output models/repurchase.json
  --data is a folder of <table>.csv/.parquet files or a database URL holding
  the tables accounts, contracts, usage, support (renewal) or leads (lead).
  repurchase: hardware order gaps (the lapse risk of each customer's latest order).""",
    "score": """\
examples:
  tobmodel score --model models/cox.json --input account_features.parquet \\
      --output churn_scores.csv --as-of 2025-12-31 --horizon 12
  tobmodel score --model models/cox.json --input data/demo \\
      --output sqlite:///data/exports/tobmodel.sqlite
  tobmodel score --model models/lead.json --input "sqlite:///crm.db#leads" \\
      --output lead_scores.parquet --as-of 2025-12-31
  tobmodel score --model models/cox.json --input exports/ --mapping mapping.yaml \\
      --mapping zendesk --mapping segment --output churn_scores.csv
  one row per account (lead) with as_of, model name, id and version, the
  probabilities, risk tier (grade) and reasons; rows that cannot be scored go
  to <output stem>.rejects.csv or the *_rejects table, with the reason.
  Databases keep every run in *_score_history; re-running an as_of replaces it.
  tobmodel score --engine duckdb --model models/cox.json \\
      --input "features/*.parquet" --output churn_scores.parquet
  tobmodel score --engine spark --spark-master spark://host:7077 \\
      --model models/cox.json --input s3a://bucket/features/ --output scores.parquet
  --engine duckdb streams Parquet folders, globs or CSV larger than memory;
  --engine spark scores on a Spark cluster (or spark-submit's session) and
  writes a Parquet folder (rejects beside it) or table:NAME.
  The summary warns when the model is old or the data drifted from its training
  data (PSI > 0.25); --max-model-age-weeks N and --fail-on-drift make that exit
  with status 3 (scores are still written).""",
    "report": """\
examples:
  tobmodel report --history sqlite:///data/exports/tobmodel.sqlite --output report.html
  tobmodel report --history data/exports/tobmodel.sqlite --model models/cox.json \\
      --features data/demo --segment tier --output report.html
  one self-contained HTML file (plots embedded): score distribution against the
  previous run, drift table (PSI < 0.1 stable, 0.1-0.25 watch, > 0.25 shift),
  top movers and risk by segment. A database history also gets the tables
  churn_drift and churn_movers (lead_* for lead scores).""",
    "evaluate": """\
examples:
  tobmodel evaluate --model models/cox.json --data data/demo --cutoff 2024-06-30
  tobmodel evaluate --model models/lead.json --data data/demo
  refits the model's configuration on the data known at the cutoff and scores
  what happened afterwards, beside a simple baseline (and the simulator's
  truth when the folder holds truth_*.parquet).""",
    "validate": """\
examples:
  tobmodel validate --input exports/ --suggest mapping.yaml
  tobmodel validate --input exports/ --mapping mapping.yaml --mapping zendesk \\
      --mapping segment
  reads every file the mappings name (found anywhere under --input by the
  usual export file names), reports every problem at once with the mapping
  line that fixes it, and which model features each missing column costs.
  Exit status 0 when the data is usable. Presets: salesforce, hubspot,
  zendesk, segment, mixpanel; --suggest writes a starter mapping.""",
    "demo": """\
example:
  tobmodel demo                      # ~3,000 accounts, seed 2026, < 1 minute
  tobmodel demo --accounts 1000 --data-dir /tmp/demo --exports-dir /tmp/exports
  simulates a SaaS business in the maturity stage, fits a Cox renewal model
  and a lead model, writes churn_scores.csv, lead_scores.csv and the SQLite
  database, and prints the ten customers most at risk with their reasons.""",
}


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _cutoffs(text: str) -> tuple[float, float]:
    try:
        medium, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MEDIUM,HIGH such as 0.15,0.40, got {text!r}"
                                         ) from None
    return medium, high


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


DATE_FORMAT_HELP = ("strptime format of --as-of when it is not ISO YYYY-MM-DD, e.g. %%m/%%d/%%Y "
                    "(forms like 12/01/2025 are refused without it)")


def _sub(subs, name, help_text):
    return subs.add_parser(name, help=help_text, description=help_text + ".",
                           epilog=EXAMPLES[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)


def _mapping(p, what="--data / --input") -> None:
    p.add_argument("--mapping", action="append", metavar="NAME|FILE",
                   help=f"read {what} as exports through this mapping: a preset (salesforce, "
                        "hubspot, zendesk, segment, mixpanel) or a YAML file; repeat to "
                        "combine sources")


def build_parser() -> argparse.ArgumentParser:
    """The ``tobmodel`` argument parser with its subcommands."""
    p = argparse.ArgumentParser(prog="tobmodel", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"tobmodel {__version__}")
    subs = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = _sub(subs, "simulate", "Simulate a to-B business and write its tables")
    s.add_argument("--business-type", choices=BUSINESS_TYPES, default="saas")
    s.add_argument("--stage", choices=STAGES, default="maturity")
    s.add_argument("--accounts", type=_positive_int, default=3000, help="scale (default 3000)")
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--as-of", default="2025-12-31", help="snapshot date (default 2025-12-31)")
    s.add_argument("--output", required=True,
                   help="folder for the tables, or a database URL (sqlite:///crm.db)")
    s.add_argument("--format", choices=("parquet", "csv", "salesforce", "hubspot"),
                   default="parquet",
                   help="parquet or csv tables; salesforce / hubspot: a SaaS business as "
                        "CRM + Zendesk + Segment exports (to try `tobmodel validate`)")
    s.add_argument("--stream", action="store_true",
                   help="write Parquet chunk by chunk (bounded memory; automatic above "
                        "200,000 accounts)")
    s.add_argument("--no-truth", action="store_true", help="leave out the truth_* tables")
    s.add_argument("--events", type=_positive_int,
                   help="write event-level usage instead: this many tracked events over "
                        "--accounts accounts (Parquet parts, bounded memory)")
    s.add_argument("--events-per-file", type=_positive_int, default=5_000_000,
                   help="events per Parquet part with --events (memory is bounded by it)")

    f = _sub(subs, "fit", "Fit a renewal (churn) or lead model and save it as JSON")
    f.add_argument("--data", required=True, help="folder of tables or database URL")
    f.add_argument("--model", choices=MODELS, default="cox")
    f.add_argument("--output", required=True, help="model file to write (.json)")
    f.add_argument("--as-of", help="use data up to this date (default: the data's as-of)")
    f.add_argument("--date-format", help=DATE_FORMAT_HELP)
    f.add_argument("--covariates", help="comma-separated covariates (renewal; default: all)")
    f.add_argument("--penalizer", type=float,
                   help="ridge penalty of a renewal model (e.g. 0.1 for small or separated data)")
    f.add_argument("--threads", type=_positive_int,
                   help="LightGBM threads of a lead-hgb fit (default 1, safe beside other "
                        "jobs; 2 or more on cores of the job's own: the same model, faster)")
    f.add_argument("--hazard", choices=("logistic", "boosting"),
                   help="the dynamic model's monthly hazard: logistic (default) or boosting "
                   "(LightGBM trees, saved as plain arrays)")
    f.add_argument("--features-out", help="also write the per-account features (.parquet, "
                   ".csv) for `tobmodel score --input`")
    _mapping(f, "--data")

    c = _sub(subs, "score", "Score active accounts or open leads and export the scores")
    c.add_argument("--model", required=True, help="saved model file (.json)")
    c.add_argument("--input", required=True,
                   help="features/leads .csv or .parquet, a folder of tables, a .sqlite file "
                        "or a database URL (name the table with #table or --table)")
    c.add_argument("--table", help="table to read from a database (default account_features "
                   "or leads)")
    c.add_argument("--output", action="append",
                   help=".csv, .parquet, .sqlite or a database URL; repeat for several "
                        "(default: the SQLite database under data/exports/)")
    c.add_argument("--as-of", help="scoring date (default: the model's as-of)")
    c.add_argument("--date-format", help=DATE_FORMAT_HELP)
    c.add_argument("--min-scored-fraction", type=_fraction, default=0.5,
                   help="fail, keeping last week's outputs, when fewer rows are scored than "
                        "this fraction of the previous run (default 0.5; 0: off); a run that "
                        "scores nothing always fails")
    c.add_argument("--horizon", type=_positive_int, default=12,
                   help="months for p_churn_horizon (default 12)")
    c.add_argument("--chunksize", type=_positive_int, default=100_000,
                   help="rows per chunk (memory is bounded by it; default 100000)")
    c.add_argument("--risk-cutoffs", type=_cutoffs, default=(0.15, 0.40),
                   help="p_churn_horizon for medium,high risk (default 0.15,0.40)")
    c.add_argument("--engine", choices=("local", "duckdb", "spark"), default="local",
                   help="local: read in chunks here (default); duckdb: stream files, folders "
                        "or globs larger than memory; spark: score on a Spark cluster")
    c.add_argument("--memory-limit", default="2GB",
                   help="DuckDB memory cap with --engine duckdb (default 2GB)")
    c.add_argument("--spark-master", help="Spark master URL with --engine spark (default: "
                   "the running session, e.g. under spark-submit, else local[2])")
    c.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="Spark setting for a new session; repeat for several")
    bar = c.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="progress bar (default: only on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    _mapping(c, "--input")
    c.add_argument("--call-list", help="with --mapping: where the call list goes (default "
                   "<output stem>.call_list.csv)")
    c.add_argument("--max-model-age-weeks", type=float,
                   help="exit with status 3 when the model was fitted more than this many "
                        "weeks before --as-of (default: warn above 26, never fail)")
    c.add_argument("--fail-on-drift", action="store_true",
                   help="exit with status 3 when a feature or the score drifted from the "
                        "training data (PSI > 0.25)")

    e = _sub(subs, "evaluate", "Evaluate a model's configuration on a time split")
    e.add_argument("--model", required=True, help="saved model file (.json)")
    e.add_argument("--data", required=True, help="folder of tables or database URL")
    e.add_argument("--cutoff", help="fit on data up to this date, test after it")
    e.add_argument("--horizon", type=_positive_int, default=12)
    _mapping(e, "--data")

    v = _sub(subs, "validate", "Check a folder of CRM, help-desk and analytics exports")
    v.add_argument("--input", required=True, help="folder of exports")
    _mapping(v, "--input")
    v.add_argument("--as-of", help="check the data known on this date (default: the latest)")
    v.add_argument("--suggest", metavar="FILE",
                   help="write a starter mapping from the columns and values seen (presets "
                        "detected by file name unless --mapping is given)")

    r = _sub(subs, "report", "Weekly report: drift, movers and risk by segment, as one HTML "
             "file")
    r.add_argument("--history", required=True, action="append",
                   help="score history: a database URL or .sqlite file, or .csv/.parquet "
                        "score files (repeat for several weeks)")
    r.add_argument("--output", required=True, help="HTML file to write")
    r.add_argument("--model", help="model file (.json): drift against its training profile")
    r.add_argument("--features", help="this week's features (.csv/.parquet, or the folder of "
                   "tables) for feature drift and risk by segment")
    r.add_argument("--previous-features", help="last week's features: feature drift against "
                   "last week")
    r.add_argument("--training", help="training features (.csv/.parquet or folder) when the "
                   "model file has no training profile")
    r.add_argument("--kind", choices=("churn", "lead"), default="churn")
    r.add_argument("--model-name", help="which model's runs (default: the latest run's)")
    r.add_argument("--as-of", help="report on the run of this date (default: the latest)")
    r.add_argument("--date-format", help=DATE_FORMAT_HELP)
    r.add_argument("--segment", help="column of --features for risk by segment (default: tier "
                   "if present, else risk tier)")
    r.add_argument("--top", type=_positive_int, default=20, help="largest rises (default 20)")
    r.add_argument("--weeks-rising", type=_positive_int, default=3,
                   help="also list accounts rising this many runs in a row (default 3)")
    r.add_argument("--no-tables", action="store_true",
                   help="do not write the drift and movers tables to the database")

    d = _sub(subs, "demo", "Run the whole weekly job on a simulated SaaS business")
    d.add_argument("--accounts", type=_positive_int, default=3000)
    d.add_argument("--seed", type=int, default=2026)
    d.add_argument("--data-dir", help="where the tables go (default data/demo)")
    d.add_argument("--exports-dir", help="where the scores go (default data/exports)")
    d.add_argument("--database", help="database URL (default: tobmodel.sqlite in the exports "
                   "folder)")
    return p
