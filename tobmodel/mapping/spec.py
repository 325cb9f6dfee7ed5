"""Mapping files: where each tobmodel input comes from in a team's own exports.

A mapping is a small YAML document. Shipped presets (``salesforce``,
``hubspot``, ``zendesk``, ``segment``, ``mixpanel``) describe the standard
exports of those tools; a team's own file can ``extends:`` one of them and
change only what differs (a custom field, a picklist value). Several mappings
combine (``--mapping salesforce --mapping zendesk --mapping segment``): each
adds its sources; a later mapping replaces a source of the same name.

Format (every key is checked; an unknown key is an error naming the file)::

    format: tobmodel-mapping/1
    extends: salesforce            # optional: a preset name or a file
    settings:
      business_type: saas          # saas or tool (contract renewals)
      timezone: UTC                # zone timestamps are read in (e.g. Asia/Shanghai)
      currency: USD                # stated once; every money column is in it
      renewal_gap_days: 31         # a contract starting within this many days of the
                                   # previous end renews it; none = churn
      pool_below: 5                # category levels with fewer accounts -> "other"
    sources:
      accounts:                    # one of SOURCE_FIELDS
        files: [Account.csv]       # globs, searched anywhere under --input
        table: crm.account         # or: a table, when --input is a database URL
        columns:                   # tobmodel field: column in the export
          account_id: Id
          industry: Industry
          tier: Tier__c
        values:                    # per field: export value -> tobmodel level;
          tier: {Enterprise: KA, "*": other}   # "*" is the catch-all
        date_formats: {}           # per field: strptime format, e.g. "%m/%d/%Y"
        units: {}                  # per field: fraction | percent
        passthrough: {account_name: Name, owner: OwnerId}  # copied to the scores
        absent: [seats]            # fields the export does not have (no warning)

A field left out of ``columns`` and not listed in ``absent`` is looked for
under its own name. What each field feeds in the models is in
:data:`FEATURE_COST`.

Examples
--------
>>> m = load_mappings(["salesforce"])
>>> m.sources["contracts"]["columns"]["start_date"]
'StartDate'
>>> load_mappings([{"format": "tobmodel-mapping/1", "sourcez": {}}])
Traceback (most recent call last):
...
tobmodel.mapping.spec.MappingError: <mapping>: unknown key 'sourcez' (allowed: format, extends, description, settings, sources)
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..schema import EXPORT_SOURCES, FEATURE_COST, TABLE_COST  # noqa: F401 (re-exported)

FORMAT = "tobmodel-mapping/1"
PRESETS = ("salesforce", "hubspot", "zendesk", "segment", "mixpanel")

#: tobmodel inputs a mapping can fill, and their fields (required ones marked *)
SOURCE_FIELDS = {src: tuple(("*" if req else "") + name for name, (req, _) in fields.items())
                 for src, (_, fields) in EXPORT_SOURCES.items()}
SOURCE_KEYS = ("files", "table", "columns", "values", "date_formats", "units", "passthrough", "absent",
               "statuses", "login_events", "key_events", "join")
SETTINGS = {"business_type": ("saas", "tool"), "timezone": str, "currency": str,
            "renewal_gap_days": int, "pool_below": int, "unresolved_after_days": int}
DEFAULT_SETTINGS = {"business_type": "saas", "timezone": "UTC", "currency": "",
                    "renewal_gap_days": 31, "pool_below": 5, "unresolved_after_days": 7}
UNITS = ("fraction", "percent")
# fields whose unit is checked: a share between 0 and 1
FRACTION_FIELDS = {("usage", "key_feature_adoption")}

class MappingError(ValueError):
    """A mapping file is not valid (one line naming the file and the key)."""


@dataclass
class Mapping:
    """Mappings combined: settings, and the sources by tobmodel input name."""

    settings: dict = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    sources: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)  # source name -> mapping file it came from

    def fields(self, source: str) -> list[str]:
        return [f.lstrip("*") for f in SOURCE_FIELDS[source]]

    def required(self, source: str) -> list[str]:
        return [f[1:] for f in SOURCE_FIELDS[source] if f.startswith("*")]

    def column(self, source: str, name: str):
        """The export column for a field (None if declared absent)."""
        spec = self.sources[source]
        if name in spec.get("absent", ()):
            return None
        return spec.get("columns", {}).get(name, name)


def _read_document(ref) -> tuple[dict, str]:
    import yaml
    if isinstance(ref, dict):
        return copy.deepcopy(ref), "<mapping>"
    ref = str(ref)
    if ref in PRESETS:
        text = resources.files(__package__).joinpath("presets").joinpath(f"{ref}.yaml").read_text(
            encoding="utf-8")
        name = f"preset {ref}"
    else:
        path = Path(ref)
        if not path.is_file():
            raise MappingError(f"{ref}: no such mapping file and not a preset (presets: "
                               f"{', '.join(PRESETS)})")
        text, name = path.read_text(encoding="utf-8-sig"), str(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise MappingError(f"{name}:{where} not valid YAML "
                           f"({getattr(e, 'problem', None) or e})") from None
    if not isinstance(doc, dict):
        raise MappingError(f"{name}: a mapping is a YAML dictionary with 'format' and "
                           "'sources'")
    return doc, name


def _check_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise MappingError(f"{where}: expected a dictionary, got {type(obj).__name__}")
    for k in obj:
        if k not in allowed:
            raise MappingError(f"{where}: unknown key {k!r} (allowed: {', '.join(allowed)})")


def _check_document(doc, name):
    _check_keys(doc, ("format", "extends", "description", "settings", "sources"), name)
    if doc.get("format", FORMAT) != FORMAT:
        raise MappingError(f"{name}: format {doc['format']!r} is not {FORMAT!r}")
    settings = doc.get("settings", {}) or {}
    _check_keys(settings, tuple(SETTINGS), f"{name}: settings")
    for k, v in settings.items():
        rule = SETTINGS[k]
        if isinstance(rule, tuple) and v not in rule:
            raise MappingError(f"{name}: settings.{k} is {v!r}; expected one of "
                               f"{', '.join(rule)}")
        if rule is int and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise MappingError(f"{name}: settings.{k} must be a whole number >= 0, got {v!r}")
        if rule is str and not isinstance(v, str):
            raise MappingError(f"{name}: settings.{k} must be text, got {v!r}")
    if "timezone" in settings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(settings["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(f"{name}: settings.timezone {settings['timezone']!r} is not a "
                               "time zone (e.g. UTC, Asia/Shanghai, America/New_York)") from None
    sources = doc.get("sources", {}) or {}
    _check_keys(sources, tuple(SOURCE_FIELDS), f"{name}: sources")
    for src, spec in sources.items():
        _check_source(spec or {}, src, f"{name}: sources.{src}")


def _check_source(spec, src, where):
    _check_keys(spec, SOURCE_KEYS, where)
    fields = [f.lstrip("*") for f in SOURCE_FIELDS[src]]
    if "table" in spec and not isinstance(spec["table"], str):
        raise MappingError(f"{where}.table: expected a table name")
    files = spec.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise MappingError(f"{where}.files: expected a list of file names or globs")
    for key in ("columns", "values", "date_formats", "units"):
        part = spec.get(key, {}) or {}
        _check_keys(part, fields, f"{where}.{key}")
    for k, v in (spec.get("columns") or {}).items():
        if not isinstance(v, str):
            raise MappingError(f"{where}.columns.{k}: expected a column name, got {v!r}")
    for k, v in (spec.get("values") or {}).items():
        if not isinstance(v, dict):
            raise MappingError(f"{where}.values.{k}: expected export value: level pairs")
    for k, v in (spec.get("units") or {}).items():
        if v not in UNITS:
            raise MappingError(f"{where}.units.{k}: {v!r} is not one of {', '.join(UNITS)}")
    for k, v in (spec.get("date_formats") or {}).items():
        if not isinstance(v, str) or ("%" not in v and v not in ("unix", "unix_ms")):
            raise MappingError(f"{where}.date_formats.{k}: {v!r} is not a strptime format "
                               "such as '%m/%d/%Y' (or unix, unix_ms)")
    absent = spec.get("absent", []) or []
    for a in absent:
        if a not in fields:
            raise MappingError(f"{where}.absent: unknown field {a!r} (fields: "
                               f"{', '.join(fields)})")
        if "*" + a in SOURCE_FIELDS[src]:
            raise MappingError(f"{where}.absent: {a!r} is required and cannot be absent")
    pt = spec.get("passthrough", {}) or {}
    if not isinstance(pt, dict):
        raise MappingError(f"{where}.passthrough: expected output name: column pairs")
    statuses = spec.get("statuses", {}) or {}
    _check_keys(statuses, ("open", "closed", "excluded"), f"{where}.statuses")
    for key in ("login_events", "key_events"):
        if not isinstance(spec.get(key, []) or [], list):
            raise MappingError(f"{where}.{key}: expected a list of event names")


def _merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else copy.deepcopy(v)
    return out


def _resolve(ref, depth=0) -> tuple[dict, str]:
    doc, name = _read_document(ref)
    _check_document(doc, name)
    if "extends" in doc:
        if depth > 5:
            raise MappingError(f"{name}: 'extends' nests more than 5 deep")
        parent_ref = doc["extends"]
        if not isinstance(parent_ref, str):
            raise MappingError(f"{name}: extends must name a preset or a file")
        if parent_ref not in PRESETS and not isinstance(ref, dict):
            parent_ref = str((Path(ref).parent / parent_ref)) if not Path(
                parent_ref).is_absolute() else parent_ref
        parent, _ = _resolve(parent_ref, depth + 1)
        doc = _merge(parent, {k: v for k, v in doc.items() if k != "extends"})
    return doc, name


def load_mappings(refs) -> Mapping:
    """Combine mappings given as preset names, file paths or dicts (later ones win).

    Raises
    ------
    MappingError
        One line naming the file and the offending key.
    """
    if isinstance(refs, (str, Path, dict)):
        refs = [refs]
    if not refs:
        raise MappingError("no mapping given (use --mapping with a preset: "
                           f"{', '.join(PRESETS)}, or a mapping file)")
    out = Mapping()
    for ref in refs:
        doc, name = _resolve(ref)
        out.settings.update(doc.get("settings", {}) or {})
        for src, spec in (doc.get("sources", {}) or {}).items():
            out.sources[src] = spec or {}
            out.origins[src] = name
    return out
