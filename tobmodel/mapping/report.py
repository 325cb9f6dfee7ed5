"""What ``tobmodel validate`` prints, and the starter mapping of ``--suggest``.

Examples
--------
>>> import tempfile
>>> from tobmodel.simulator.crm_exports import write_crm_exports
>>> d = write_crm_exports(tempfile.mkdtemp(), n_accounts=80, seed=2, events=False)
>>> found = detect_presets(d)
>>> found
['salesforce', 'zendesk']
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .load import find_files, _header
from .spec import FEATURE_COST, PRESETS, SOURCE_FIELDS, load_mappings


def detect_presets(root) -> list[str]:
    """Presets whose main files are under ``root`` (CRM first, then help desk, analytics)."""
    found = []
    for name in PRESETS:
        m = load_mappings([name])
        main = [s for s in ("accounts", "tickets", "events") if s in m.sources]
        if main and all(find_files(root, m.sources[s].get("files", [])) for s in main[:1]):
            found.append(name)
    if "salesforce" in found and "hubspot" in found:
        found.remove("hubspot")
    return found


def format_report(data, mapping_names) -> str:
    """The validate report: sources and rows, every problem, features used and absent."""
    out = [f"tobmodel validate: exports as of {data.as_of.date()} "
           f"(mappings: {', '.join(map(str, mapping_names))})"]
    for src, files in data.files.items():
        rows = data.rows.get(src)
        shown = ", ".join(Path(f).name for f in files[:3]) + (" ..." if len(files) > 3 else "")
        out.append(f"  {src:<14} {shown or '(no file)':<40} "
                   + (f"{rows:>12,} rows" if rows is not None else ""))
    errors = [p for p in data.problems if p.severity == "error"]
    notices = [p for p in data.problems if p.severity != "error"]
    if data.problems:
        out.append(f"problems: {len(errors)} error{'s' * (len(errors) != 1)}, "
                   f"{len(notices)} notice{'s' * (len(notices) != 1)}")
        out += [f"  error:  {p.line()}" for p in errors]
        out += [f"  notice: {p.line()}" for p in notices]
    if data.tables:
        acc, con = data.tables["accounts"], data.tables["contracts"]
        outcome = con["outcome"].value_counts()
        out.append(f"customers: {len(acc):,} accounts with contracts; {len(con):,} contracts "
                   f"({', '.join(f'{k} {v:,}' for k, v in outcome.items())}); "
                   f"currency: {data.settings.get('currency') or 'not stated'}")
        out.append(f"features the models will use ({len(data.covariates)}): "
                   + ", ".join(data.covariates))
        if data.absent:
            out.append("features absent: " + "; ".join(f"{k} ({v})"
                                                       for k, v in data.absent.items()))
        if data.passthrough:
            out.append("passed through to the call list: " + ", ".join(data.passthrough))
    out.append("usable: yes" if not errors else
               f"usable: no ({len(errors)} error{'s' * (len(errors) != 1)} above)")
    return "\n".join(out)


def _norm(name) -> str:
    n = str(name).lower()
    n = n[:-3] if n.endswith("__c") else n
    return "".join(ch for ch in n if ch.isalnum())


def _names(f) -> set:
    base = _norm(f)
    return {base, base.replace("completed", "complete"), base + "s",
            base.removesuffix("s"), base.replace("permonth", "")}


def suggest_mapping(root, mappings=None) -> str:
    """A starter mapping (YAML text) from the files and values found under ``root``.

    Starts from ``mappings`` (default: the presets detected by file name) and,
    per source, maps each field to the column of that name if the file has
    it, lists the rest under ``absent`` and shows the file's other columns and
    the values seen in category columns, as comments to edit.
    """
    refs = list(mappings or detect_presets(root))
    if not refs:
        raise FileNotFoundError(f"{root}: no export found by the usual file names "
                                f"(presets: {', '.join(PRESETS)}); pass --mapping")
    m = load_mappings(refs)
    doc = {"format": "tobmodel-mapping/1",
           "description": f"starter mapping for the exports in {root} (from "
                          f"{', '.join(map(str, refs))}); edit, then run tobmodel validate",
           "settings": dict(m.settings), "sources": {}}
    notes = []
    for src, spec in m.sources.items():
        files = find_files(root, spec.get("files", []))
        if not files:
            notes.append(f"# {src}: no file found for {spec.get('files')}; left out")
            continue
        head = _header(files[0])
        cols, absent = {}, []
        for f in (x.lstrip("*") for x in SOURCE_FIELDS[src]):
            c = m.column(src, f)
            match = [h for h in head if c is not None and h.lower() == str(c).lower()]
            guess = [h for h in head if _norm(h) in _names(f)]
            if match:
                cols[f] = match[0]
            elif guess:  # a custom field named like the tobmodel field (Tier__c -> tier)
                cols[f] = guess[0]
                notes.append(f"# {src}.{f}: guessed column {guess[0]!r}: check it")
            elif ("*" + f) not in SOURCE_FIELDS[src]:
                absent.append(f)
        used = set(cols.values()) | set((spec.get("passthrough") or {}).values())
        rest = [h for h in head if h not in used]
        out = {k: v for k, v in spec.items() if k not in ("columns", "absent")}
        out["files"] = [files[0].name] + [f for f in spec.get("files", []) if f != files[0].name]
        out["columns"] = cols
        if absent:
            out["absent"] = absent
        doc["sources"][src] = out
        if src == "events" and "event" in cols:
            import pandas as pd
            seen = pd.read_csv(files[0], usecols=[cols["event"]], nrows=200_000, dtype=str
                               ) if files[0].suffix.lower() == ".csv" else pd.read_parquet(
                files[0], columns=[cols["event"]]).head(200_000)
            top = seen[cols["event"]].value_counts().index[:15]
            notes.append("# events seen: " + ", ".join(map(str, top)) + " -- name your key "
                         "feature's events in sources.events.key_events")
        if rest:
            costs = [f"{f} ({', '.join(FEATURE_COST[(src, f)])})" for f in absent
                     if (src, f) in FEATURE_COST]
            notes.append(f"# {src} ({files[0].name}): unmapped columns {', '.join(rest)}"
                         + (f"; absent fields cost: {'; '.join(costs)}" if costs else ""))
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=92)
    return "\n".join(notes) + ("\n" if notes else "") + text
