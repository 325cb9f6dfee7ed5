"""Model options of ``tobmodel fit`` that apply to one model only (refused elsewhere)."""
from __future__ import annotations


def thread_options(args) -> dict:
    """``--threads`` as the lead model's ``n_jobs`` (LightGBM's threads); refused elsewhere."""
    if getattr(args, "threads", None) is None:
        return {}
    from ..export.jobs import model_kind
    if model_kind(args.model) != "lead" or args.model == "lead-logistic":
        raise ValueError("--threads applies to the boosted lead model (lead, lead-hgb)")
    return {"n_jobs": args.threads}


def hazard_option(args) -> dict:
    """``--hazard`` as the dynamic model's constructor option (refused for other models)."""
    hazard = getattr(args, "hazard", None)
    if hazard is None:
        return {}
    if args.model != "dynamic":
        raise ValueError(f"--hazard applies to --model dynamic, not {args.model}")
    return {"hazard": hazard}
