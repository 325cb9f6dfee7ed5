"""``tobmodel validate`` and the ``--mapping`` paths of fit, score and evaluate."""
from __future__ import annotations

import sys
from pathlib import Path

from .options import hazard_option, thread_options


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_validate(args) -> int:
    """Report every problem of an export; exit 0 when usable, 1 when not."""
    from ..mapping import read_export
    from ..mapping.report import detect_presets, format_report, suggest_mapping
    from ..io.writers import atomic_path
    if args.suggest:
        text = suggest_mapping(args.input, args.mapping)
        target = Path(args.suggest)
        if target.exists() and target.resolve() in {Path(m).resolve() for m in
                                                     args.mapping or [] if Path(m).exists()}:
            raise ValueError(f"{target}: is one of the --mapping files; --suggest writes a "
                             "new file")
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        _say(f"starter mapping -> {target} (edit it, then run: tobmodel validate --input "
             f"{args.input} --mapping {target})")
        mappings = [str(target)]
    else:
        mappings = args.mapping or detect_presets(args.input)
        if not mappings:
            raise ValueError(f"{args.input}: no export found by the usual file names; pass "
                             "--mapping (presets: salesforce, hubspot, zendesk, segment, "
                             "mixpanel) or --suggest FILE")
        if not args.mapping:
            _say(f"no --mapping given: using the presets detected by file name: "
                 f"{', '.join(mappings)}")
    data = read_export(args.input, mappings, as_of=args.as_of)
    _say(format_report(data, mappings))
    if not data.errors:
        flags = " ".join(f"--mapping {m}" for m in mappings)
        _say(f"next: tobmodel fit --data {args.input} {flags} --output models/cox.json")
    return 1 if data.errors else 0


def run_fit_mapped(args) -> None:
    from ..mapping.jobs import fit_mapped
    from .outputs import _check_writable, _frame_writer, _write_frame
    options = {}
    if args.covariates:
        options["covariates"] = [c.strip() for c in args.covariates.split(",") if c.strip()]
    if args.penalizer is not None:
        options["penalizer"] = args.penalizer
    options.update(thread_options(args))
    options.update(hazard_option(args))
    _check_writable(args.output)
    if args.features_out:
        _check_writable(args.features_out)
        _frame_writer(args.features_out)
    model, feats = fit_mapped(args.data, args.mapping, args.model, as_of=args.as_of,
                              output=args.output, **options)
    if args.features_out:
        _write_frame(feats, args.features_out)
    if model.kind == "lead":
        closed = int((feats["status"] != "open").sum())
        _say(f"fitted {model.name} (lead) on {closed:,} closed leads from {args.data}: model "
             f"id {model.model_id}; features: {', '.join(model.feature_names_)}")
        _say(f"model -> {args.output}")
        return
    _say(f"fitted {model.name} ({model.kind}) on {len(feats):,} accounts "
         f"({int(feats['churned'].sum()):,} churned) from {args.data}: model id "
         f"{model.model_id}")
    from ..renewal.design import TIMING
    covs = [c for c in model.feature_names_ if c not in TIMING]
    _say(f"as of {feats['as_of'].max().date()}; covariates: {', '.join(covs)}")
    _say(f"model -> {args.output}")


def run_score_mapped(args) -> None:
    from ..mapping.jobs import score_mapped
    from ..paths import DEFAULT_DATABASE_URL
    run = score_mapped(args.model, args.input, args.mapping,
                       args.output or [DEFAULT_DATABASE_URL], as_of=args.as_of,
                       horizon_months=args.horizon, chunksize=args.chunksize,
                       risk_cutoffs=args.risk_cutoffs, progress=args.progress,
                       call_list=args.call_list)
    s = run.summary
    _say(str(s))
    not_scored = ", ".join(f"{k} {v:,}" for k, v in run.not_scored.items())
    what = "open leads" if "closed" in run.not_scored else "active accounts"
    _say(f"scored {s.scored:,} {what}; not scored ({not_scored}); rejected "
         f"{s.rejected:,} (written to {'; '.join(s.rejects_destinations)})")
    _say(f"call list ({'best leads' if what == 'open leads' else 'highest risk'} first) -> "
         f"{run.call_list_path}")
    top = run.call_list.head(10)
    if len(top):
        cols = [c for c in ("rank", "crm_account_id", "crm_lead_id", "account_name", "company",
                            "owner", "risk_tier", "p_churn_horizon", "next_renewal_date",
                            "grade", "p_convert") if c in top]
        import pandas as pd
        with pd.option_context("display.width", 140, "display.max_colwidth", 30):
            _say(top[cols].to_string(index=False))
    sys.stdout.flush()


def run_simulate_exports(args) -> None:
    from ..simulator.crm_exports import write_crm_exports
    if args.business_type != "saas":
        raise ValueError(f"--format {args.format} simulates a SaaS business (contracts "
                         f"renew); got --business-type {args.business_type}")
    out = write_crm_exports(args.output, n_accounts=args.accounts, seed=args.seed,
                            crm=args.format, as_of=args.as_of)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    _say(f"simulated saas as {args.format} + zendesk + segment exports as of {args.as_of}: "
         f"{', '.join(names)} -> {out}")
