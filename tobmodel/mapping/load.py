"""Read a team's own exports through mappings into tobmodel's tables.

:func:`read_export` finds each source's files anywhere under the input
folder, converts every mapped column (ids, dates, numbers, units, labels),
joins the sources (Zendesk organization -> CRM account by ``external_id``,
analytics ``group_id`` -> CRM account), chains contracts into renewals
(:mod:`tobmodel.mapping.contracts`) and aggregates tickets to account-months;
events are aggregated on DuckDB (:mod:`tobmodel.mapping.events`). It collects
every problem instead of stopping at the first
(:class:`~tobmodel.mapping.parse.Problem`); with ``strict=True`` (fit, score)
errors raise :class:`~tobmodel.mapping.parse.DataProblems`.

Account ids stay the CRM's own text ids: ``crm_account_id`` on every table
row, and a stable 62-bit integer ``account_id`` (a hash of the text id, the
same in every run and every source) for the model tables.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .contracts import contract_outcomes, end_from_term, term_level
from .events import EventFile, account_months_of_files
from .parse import (Column, DataProblems, Problem, parse_bools, parse_dates, parse_ids,
                    parse_labels, parse_numbers, parse_timestamps, text)
from .spec import FEATURE_COST, FRACTION_FIELDS, TABLE_COST, Mapping, load_mappings

ACCOUNT_LABELS = ("industry", "region", "tier", "acquisition_channel")
_UNREADABLE = (UnicodeDecodeError, OSError, ValueError, pd.errors.ParserError,
               pd.errors.EmptyDataError)


@dataclass
class ExportData:
    """tobmodel tables read from an export, and what validate reports about them."""

    tables: dict
    as_of: pd.Timestamp
    problems: list
    files: dict = field(default_factory=dict)      # source -> files read
    rows: dict = field(default_factory=dict)       # source -> rows read
    absent: dict = field(default_factory=dict)     # feature -> why it is absent
    covariates: list = field(default_factory=list)
    passthrough: list = field(default_factory=list)
    lead_features: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @property
    def errors(self) -> list:
        return [p for p in self.problems if p.severity == "error"]


def account_key(ids) -> np.ndarray:
    """Stable integer key (0 <= key < 2**53) of text account ids: the same in every run.

    53 bits so that the key survives any float round trip (JSON, spreadsheets,
    ``pd.to_numeric``); two ids meeting on one key are refused (a chance of
    about n**2 / 2**54: 1 in 2 million for 100,000 accounts).

    >>> account_key(["0015g000000000001IAQ"]).tolist() == account_key(
    ...     ["0015g000000000001IAQ"]).tolist()
    True
    """
    arr = np.asarray(pd.Series(ids, dtype=object).fillna("").astype(str), dtype=object)
    return (pd.util.hash_array(arr, categorize=True) >> np.uint64(11)).astype(np.int64)


# -- finding and reading files ------------------------------------------------------------

def find_files(root, patterns) -> list[Path]:
    """Files under ``root`` whose name (or relative path) matches the first pattern that
    matches any (case-insensitive), sorted."""
    root = Path(root)
    every = [p for p in sorted(root.rglob("*")) if p.is_file()]
    for pat in patterns:
        pat = pat.lower()
        hits = [p for p in every if fnmatch.fnmatch(p.name.lower(), pat)
                or fnmatch.fnmatch(p.relative_to(root).as_posix().lower(), pat)
                or fnmatch.fnmatch(p.relative_to(root).as_posix().lower(), "*/" + pat)]
        if hits:
            return hits
    return []


@dataclass(frozen=True)
class SqlTable:
    """A source read from a database table (``sources.<name>.table``, ``--input URL``)."""

    url: str
    table: str
    suffix = ".sql"

    @property
    def name(self) -> str:
        from ..export.sources import redact
        return f"{redact(self.url)} table {self.table}"

    def engine(self):
        from ..export.sources import make_engine
        return make_engine(self.url)

    def chunks(self, columns, size):
        """The table's ``columns`` as text, ``size`` rows at a time."""
        return _sql_chunks(self, columns, size)


def is_url(root) -> bool:
    return isinstance(root, str) and "://" in root


def locate(root, spec) -> list:
    """The files (or the database table) of one source."""
    if is_url(root):
        table = spec.get("table")
        if not table:
            return []
        import sqlalchemy as sa
        eng = SqlTable(root, table).engine()
        try:
            with eng.connect() as c:
                return [SqlTable(root, table)] if sa.inspect(c).has_table(table) else []
        except sa.exc.SQLAlchemyError as e:
            from ..export.sources import connect_error
            raise connect_error(root, e) from None
        finally:
            eng.dispose()
    return find_files(root, spec.get("files", []))


def display(path, root) -> str:
    if isinstance(path, SqlTable):
        return path.name
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _header(path) -> list[str]:
    if isinstance(path, SqlTable):
        import sqlalchemy as sa
        eng = path.engine()
        try:
            with eng.connect() as c:
                return [col["name"] for col in sa.inspect(c).get_columns(path.table)]
        finally:
            eng.dispose()
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq
        return list(pq.read_schema(path).names)
    with open(path, encoding="utf-8-sig", newline="") as f:
        import csv
        return [h.strip() for h in next(csv.reader(f), [])]


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    """Only ``columns`` of one file, as text (ids keep leading zeros, nothing is guessed)."""
    if isinstance(path, SqlTable):
        return pd.concat(list(_sql_chunks(path, columns, 1_000_000)), ignore_index=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(path, columns=columns)
        return df.astype(object).where(df.notna(), None).astype("string").astype(object)
    return pd.read_csv(path, usecols=lambda c: c.strip() in columns, dtype=str,
                       keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                       skipinitialspace=False).rename(columns=str.strip)


class _Reader:
    """Reads one source's files: header check, the mapped columns, row positions."""

    def __init__(self, root, mapping: Mapping, problems: list):
        self.root, self.m, self.problems = root, mapping, problems
        self.files, self.rows = {}, {}

    def missing_file(self, source):
        spec = self.m.sources[source]
        self.problems.append(Problem(
            f"{self.root}", None, f"no {'table' if is_url(self.root) else 'file'} for {source} "
            f"({spec.get('table') if is_url(self.root) else ', '.join(spec.get('files', []))}) "
            f"from {self.m.origins.get(source, 'the mapping')}",
            fix=f"set sources.{source}.table" if is_url(self.root) else
            f"put the export under {self.root} or set sources.{source}.files",
            severity="error" if source in ("accounts", "contracts") else "notice"))

    def read(self, source, lines=False):
        """(frame of field -> raw text, file names per row, line numbers) or None."""
        spec = self.m.sources[source]
        paths = locate(self.root, spec)
        self.files[source] = [display(p, self.root) for p in paths]
        if not paths:
            self.missing_file(source)
            return None
        wanted = {f: self.m.column(source, f) for f in self.m.fields(source)}
        wanted = {f: c for f, c in wanted.items() if c is not None}
        passthrough = dict(spec.get("passthrough", {}) or {})
        frames = []
        for path in paths:
            name = display(path, self.root)
            try:
                head = _header(path)
            except _UNREADABLE as e:
                self.unreadable(name, e)
                return None
            have = {f: c for f, c in wanted.items() if c in head}
            lacking = [f for f in self.m.required(source) if f not in have]
            for f in lacking:
                self._missing_column(name, source, f, wanted.get(f), head, "error")
            for f, c in wanted.items():
                if f not in have and f not in self.m.required(source) and \
                        c != f or (f not in have and f in (spec.get("columns") or {})):
                    if f not in self.m.required(source):
                        self._missing_column(name, source, f, c, head, "notice")
            cols = list(dict.fromkeys([*have.values(),
                                       *[c for c in passthrough.values() if c in head]]))
            for out, c in passthrough.items():
                if c not in head:
                    self.problems.append(Problem(name, c, f"is missing (passthrough "
                                                 f"{out!r} left empty)", severity="notice"))
            custom = [h for h in head if h not in cols and h.lower().endswith("__c")]
            if custom:
                self.problems.append(Problem(
                    name, None, f"has custom fields no mapping uses: {', '.join(custom[:8])}"
                    + (" ..." if len(custom) > 8 else ""), severity="notice",
                    fix=f"map them in a file that extends the preset (sources.{source}.columns;"
                        " tobmodel validate --suggest FILE guesses them)"))
            if lacking:
                continue
            try:
                df = _read(path, cols)
            except _UNREADABLE as e:
                self.unreadable(name, e)
                return None
            frame = pd.DataFrame({f: df[c] for f, c in have.items()})
            for out, c in passthrough.items():
                frame["pt:" + out] = df[c] if c in df else None
            frame["_file"] = name
            frame["_line"] = np.arange(len(df)) + 2
            frames.append(frame)
        if len(frames) < len(paths):
            return None
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        self.rows[source] = len(out)
        return out

    def unreadable(self, name, e, utf8=False):
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        self.problems.append(Problem(
            name, None, f"cannot be read ({first})",
            fix="export it again as UTF-8 CSV with a header row (or Parquet)"
            if utf8 or isinstance(e, UnicodeDecodeError) else "check that the file is a "
            "complete CSV or Parquet export"))

    def _missing_column(self, name, source, f, col, head, severity):
        near = [h for h in head if h.strip().lower() == str(col).strip().lower()
                or h.strip().lower() == f.lower()]
        cost = FEATURE_COST.get((source, f))
        what = (f"is missing (field {f}" + (f"; the models lose {', '.join(cost)}" if cost
                                              else "") + ")")
        fix = (f"sources.{source}.columns: {{{f}: {near[0]!r}}}" if near else
               f"sources.{source}.columns: {{{f}: <column>}}" + (
                   "" if severity == "error" else f" or sources.{source}.absent: [{f}]"))
        self.problems.append(Problem(name, col, what, fix=fix, severity=severity))


def _col(df, source, f, problems, mapping):
    if f not in df:
        return None
    c = Column("", mapping.column(source, f), source, f, df[f], problems,
               df["_line"].to_numpy())
    files = df["_file"].unique()
    c.file = files[0] if len(files) == 1 else ", ".join(files)
    return c


# -- the sources ---------------------------------------------------------------------------

def read_export(root, mappings, as_of=None, strict: bool = False) -> ExportData:
    """Read every mapped source under ``root`` into tobmodel tables.

    Parameters
    ----------
    root : folder
        The exports (searched recursively for each source's file names).
    mappings : Mapping, or list of preset names / files / dicts
    as_of : date-like, optional
        Only what was known on this date is used (later rows are left out);
        default: the latest activity in the export (event, ticket, lead or
        account creation; the latest contract start if there is nothing else).
    strict : bool
        Raise :class:`DataProblems` if any error was found.

    Returns
    -------
    ExportData
        ``tables`` holds ``accounts``, ``contracts``, ``usage``, ``support``
        (and ``leads`` if mapped) in tobmodel's layout, plus ``crm_account_id``
        and passthrough columns on ``accounts``.
    """
    m = mappings if isinstance(mappings, Mapping) else load_mappings(mappings)
    root = str(root) if is_url(str(root)) else Path(root)
    if not is_url(root) and not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder (--input is the folder of exports "
                                "or a database URL)")
    problems: list = []
    rd = _Reader(root, m, problems)
    st = m.settings
    tz = st["timezone"]
    raw = {}
    for source in ("accounts", "contracts", "organizations", "tickets", "events", "usage",
                   "leads"):
        if source in m.sources and source != "events":
            raw[source] = rd.read(source)
    if "accounts" not in m.sources or "contracts" not in m.sources:
        need = [s for s in ("accounts", "contracts") if s not in m.sources]
        problems.append(Problem("<mapping>", None, f"maps no {' and no '.join(need)}",
                                fix="add --mapping salesforce (or hubspot, or your file)"))
    acc = _accounts(raw.get("accounts"), m, problems, tz)
    con = _contracts(raw.get("contracts"), m, problems, tz)
    cut = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1) if as_of is not None else None
    events = None
    if "events" in m.sources:
        events = _events(rd, m, problems, tz, acc, cut)
    tickets = _tickets(raw, m, problems, tz, acc)
    usage_src = _usage_table(raw.get("usage"), m, problems, tz)
    leads = _leads(raw.get("leads"), m, problems, tz)
    # the snapshot: the latest activity recorded (contracts may be signed ahead of time)
    activity = [d for d in (
        acc["created_date"].max() if acc is not None and "created_date" in acc else None,
        events.attrs.get("latest") if events is not None else None,
        tickets["created"].max() if tickets is not None and len(tickets) else None,
        leads["created_date"].max() if leads is not None and len(leads) else None)
        if d is not None and pd.notna(d)]
    if not activity and con is not None and len(con):
        activity = [con["start_date"].max()]
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else (
        max(activity).normalize() if activity else pd.Timestamp.today().normalize())
    data = ExportData({}, as_of, problems, rd.files, rd.rows, settings=dict(st))
    if acc is None or con is None or any(p.severity == "error" for p in problems):
        if strict:
            raise DataProblems(problems)
        return data
    _assemble(data, acc, con, events, tickets, usage_src, leads, m)
    if strict and data.errors:
        raise DataProblems(data.problems)
    return data


def _accounts(df, m, problems, tz):
    if df is None:
        return None
    st = m.settings
    out = pd.DataFrame(index=df.index)
    ids = parse_ids(_col(df, "accounts", "account_id", problems, m))
    out["crm_account_id"] = ids
    dup = ids.duplicated(keep=False) & ids.notna()
    if dup.any():
        c = _col(df, "accounts", "account_id", problems, m)
        c.report("has duplicate ids", dup.to_numpy(), fix="each account once: remove the "
                 "repeated rows (or export without joins)")
    for f in ACCOUNT_LABELS:
        c = _col(df, "accounts", f, problems, m)
        if c is not None:
            out[f] = parse_labels(c, (m.sources["accounts"].get("values") or {}).get(f),
                                  st["pool_below"])
    for f in ("seats", "arr", "price_per_seat_month"):
        c = _col(df, "accounts", f, problems, m)
        if c is not None:
            out[f] = parse_numbers(c)
            c.report("has negative values:", (out[f] < 0).fillna(False).to_numpy())
    for f in ("sales_overpromised", "onboarding_completed"):
        c = _col(df, "accounts", f, problems, m)
        if c is not None:
            out[f] = parse_bools(c)
    c = _col(df, "accounts", "created_date", problems, m)
    if c is not None:
        out["created_date"] = parse_dates(c, _fmt(m, "accounts", "created_date"), tz)
    for k in df.columns:
        if k.startswith("pt:"):
            out[k[3:]] = text(df[k])
    return out.loc[ids.notna().to_numpy()].drop_duplicates("crm_account_id")


def _fmt(m, source, f):
    return (m.sources[source].get("date_formats") or {}).get(f)


def _contracts(df, m, problems, tz):
    if df is None:
        return None
    spec = m.sources["contracts"]
    out = pd.DataFrame(index=df.index)
    out["crm_account_id"] = parse_ids(_col(df, "contracts", "account_id", problems, m))
    c = _col(df, "contracts", "contract_id", problems, m)
    out["crm_contract_id"] = parse_ids(c, required=False) if c is not None else None
    start = _col(df, "contracts", "start_date", problems, m)
    out["start_date"] = parse_dates(start, _fmt(m, "contracts", "start_date"), tz)
    start.report("has blank start dates", text(start.values).isna().to_numpy(),
                 examples=False, fix="contracts without a start are not contracts yet: "
                 "exclude their status in sources.contracts.statuses.excluded")
    end = _col(df, "contracts", "end_date", problems, m)
    term = _col(df, "contracts", "term_months", problems, m)
    term_v = parse_numbers(term) if term is not None else None
    if term is not None:
        term.report("has terms below 1 month:", (term_v < 1).fillna(False).to_numpy())
    end_v = parse_dates(end, _fmt(m, "contracts", "end_date"), tz) if end is not None else \
        pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if term_v is not None:
        end_v = end_v.fillna(pd.Series(end_from_term(out["start_date"], term_v).to_numpy(),
                                       index=df.index))
    out["end_date"] = end_v
    blank_end = end_v.isna().to_numpy() & out["start_date"].notna().to_numpy()
    if blank_end.any():
        probe = end or term or start
        probe.report("gives no end date (and no term) for", blank_end, examples=False,
                     fix="map sources.contracts.columns.end_date or term_months")
    if end is not None:
        bad = (end_v <= out["start_date"]).fillna(False).to_numpy()
        end.report("is on or before the start date:", bad)
    if term_v is None:
        from ..renewal.features import calendar_months
        ok = out["end_date"].notna() & out["start_date"].notna()
        term_v = pd.Series(np.nan, index=df.index)
        term_v[ok] = np.rint(calendar_months(out.loc[ok, "start_date"].to_numpy(),
                                             (out.loc[ok, "end_date"] + pd.Timedelta(days=1))
                                             .to_numpy()))
    out["term_months"] = term_v
    a = _col(df, "contracts", "arr", problems, m)
    out["arr"] = parse_numbers(a) if a is not None else np.nan
    r = _col(df, "contracts", "churn_reason", problems, m)
    out["churn_reason"] = parse_labels(r, (spec.get("values") or {}).get("churn_reason")) \
        if r is not None else None
    s = _col(df, "contracts", "status", problems, m)
    excluded = {str(x).casefold() for x in (spec.get("statuses") or {}).get("excluded", [])}
    if s is not None and excluded:
        keep = ~text(s.values).astype("string").str.casefold().isin(excluded).fillna(
            False).to_numpy(bool)
        out = out.loc[keep]
    return out.loc[out["crm_account_id"].notna() & out["start_date"].notna()
                   & out["end_date"].notna()]


def _tickets(raw, m, problems, tz, acc):
    df = raw.get("tickets")
    if df is None:
        return None
    spec = m.sources["tickets"]
    out = pd.DataFrame(index=df.index)
    created = _col(df, "tickets", "created_at", problems, m)
    out["created"] = parse_timestamps(created, _fmt(m, "tickets", "created_at"), tz)
    solved = _col(df, "tickets", "solved_at", problems, m)
    out["solved"] = parse_timestamps(solved, _fmt(m, "tickets", "solved_at"), tz) \
        if solved is not None else pd.NaT
    st = _col(df, "tickets", "status", problems, m)
    statuses = spec.get("statuses") or {}
    if st is not None:
        low = text(st.values).astype("string").str.casefold()
        known = {str(x).casefold() for k in ("open", "closed", "excluded")
                 for x in statuses.get(k, [])}
        if known:
            st.report("has statuses not in the mapping:", (low.notna() & ~low.isin(known))
                      .fillna(False).to_numpy(bool), severity="notice",
                      fix="list them under sources.tickets.statuses (open/closed/excluded);"
                          " they count as open")
        out["open"] = ~low.isin({str(x).casefold() for x in statuses.get("closed", [])}
                                ).fillna(False).to_numpy(bool)
        keep = ~low.isin({str(x).casefold() for x in statuses.get("excluded", [])}).fillna(
            False).to_numpy(bool)
    else:
        out["open"] = out["solved"].isna() if solved is not None else False
        keep = np.ones(len(df), bool)
    a = _col(df, "tickets", "account_id", problems, m)
    if a is not None:
        out["crm_account_id"] = parse_ids(a, required=False)
    elif spec.get("join"):
        org_df = raw.get(spec["join"])
        o = _col(df, "tickets", "organization_id", problems, m)
        if org_df is None or o is None:
            return None
        orgs = pd.DataFrame({
            "org": parse_ids(_col(org_df, "organizations", "organization_id", problems, m)),
            "acc": parse_ids(_col(org_df, "organizations", "account_id", problems, m),
                             required=False)})
        no_ext = orgs["acc"].isna().to_numpy()
        if no_ext.any():
            problems.append(Problem(org_df["_file"].iloc[0], m.column("organizations",
                                    "account_id"), "is blank for "
                                    f"{int(no_ext.sum()):,} organizations: their tickets are "
                                    "left out", fix="set the organization's external_id to "
                                    "its CRM account Id", severity="notice"))
        lookup = orgs.dropna().drop_duplicates("org").set_index("org")["acc"]
        org_ids = parse_ids(o, required=False)
        out["crm_account_id"] = org_ids.map(lookup)
        orphan = org_ids.isna().to_numpy()
        if orphan.any():
            o.report("is blank (tickets without an account: left out)", orphan,
                     severity="notice", examples=False)
    else:
        problems.append(Problem(df["_file"].iloc[0], None, "tickets name no account",
                                fix="map sources.tickets.columns.account_id or join"))
        return None
    out = out.loc[keep & out["created"].notna().to_numpy() & out["crm_account_id"].notna()
                  .to_numpy()]
    if acc is not None:
        unknown = ~out["crm_account_id"].isin(acc["crm_account_id"]).to_numpy()
        if unknown.any():
            problems.append(Problem(df["_file"].iloc[0], None,
                                    f"{int(unknown.sum()):,} tickets belong to accounts not "
                                    "in the accounts export: left out", severity="notice"))
        out = out.loc[~unknown]
    return out


def _events(rd, m, problems, tz, acc, cut=None):
    """Analytics events -> account-months (logins, active users, key-feature users).

    The files are found and their columns checked here; DuckDB reads and counts
    them (:func:`tobmodel.mapping.events.account_months_of_files`) in bounded memory.
    """
    spec = m.sources["events"]
    paths = locate(rd.root, spec)
    rd.files["events"] = [display(p, rd.root) for p in paths]
    if not paths:
        rd.missing_file("events")
        return None
    wanted = {f: m.column("events", f) for f in m.fields("events")}
    wanted = {f: c for f, c in wanted.items() if c is not None}
    if acc is None:  # nothing to attach events to (the accounts problem is reported)
        return None
    files = []
    for path in paths:
        name = display(path, rd.root)
        try:
            head = _header(path)
        except _UNREADABLE as e:
            rd.unreadable(name, e)
            continue
        have = {f: c for f, c in wanted.items() if c in head}
        for f in m.required("events"):
            if f not in have:
                rd._missing_column(name, "events", f, wanted.get(f), head, "error")
        for f in ("user_id", "event"):
            if f in wanted and f not in have:
                rd._missing_column(name, "events", f, wanted[f], head, "notice")
        if all(f in have for f in m.required("events")):
            files.append(EventFile(name, path, have, head))
    crm = acc["crm_account_id"].to_numpy(dtype=object)
    logins, keys = spec.get("login_events") or [], spec.get("key_events") or []
    usage, n_rows, n_unknown = account_months_of_files(
        files, pd.DataFrame({"crm_account_id": crm, "account_id": account_key(crm)}), tz=tz,
        fmt=_fmt(m, "events", "timestamp"), login_events=logins, key_events=keys, cut=cut,
        problems=problems, unreadable=rd.unreadable)
    rd.rows["events"] = n_rows
    if n_unknown:
        problems.append(Problem(", ".join(rd.files["events"]), wanted.get("account_id"),
                                f"names accounts not in the accounts export on "
                                f"{n_unknown:,} events: left out", severity="notice"))
    if usage is None:
        return None
    if logins and n_rows and not usage["logins"].sum():
        problems.append(Problem(paths[0].name, wanted.get("event"), "has none of the login "
                                "events " + ", ".join(sorted(logins)),
                                fix="name your sign-in event in sources.events.login_events",
                                severity="notice"))
    usage.attrs["key_events"] = bool(keys)
    usage.attrs["users"] = "user_id" in wanted
    return usage


def _sql_chunks(path, columns, size):
    """A database table's columns as text, in chunks (the row order of the table)."""
    eng = path.engine()
    q = "SELECT " + ", ".join('"' + c.replace('"', '""') + '"' for c in columns) + \
        ' FROM "' + path.table.replace('"', '""') + '"'
    try:
        with eng.connect() as c:
            for chunk in pd.read_sql_query(q, c, chunksize=size):
                yield chunk.astype(object).where(chunk.notna(), None).astype(
                    "string").astype(object)
    finally:
        eng.dispose()


def _usage_table(df, m, problems, tz):
    """A monthly usage table from the warehouse (instead of, or beside, raw events)."""
    if df is None:
        return None
    units = m.sources["usage"].get("units") or {}
    out = pd.DataFrame({"crm_account_id": parse_ids(_col(df, "usage", "account_id",
                                                         problems, m))})
    out["month"] = parse_dates(_col(df, "usage", "month", problems, m),
                               _fmt(m, "usage", "month"), tz).to_numpy().astype(
        "datetime64[M]").astype("datetime64[ns]")
    for f in ("active_seats", "logins", "key_feature_adoption"):
        c = _col(df, "usage", f, problems, m)
        if c is not None:
            out[f] = parse_numbers(c, units.get(f), ("usage", f) in FRACTION_FIELDS)
    return out


LEAD_LABELS = ("channel", "industry", "region", "company_size")


def _leads(df, m, problems, tz):
    """CRM leads -> tobmodel's leads: status converted / lost / open, outcome date."""
    if df is None:
        return None
    spec, st = m.sources["leads"], m.settings
    out = pd.DataFrame({"crm_lead_id": parse_ids(_col(df, "leads", "lead_id", problems, m))})
    out["created_date"] = parse_dates(_col(df, "leads", "created_date", problems, m),
                                      _fmt(m, "leads", "created_date"), tz)
    for f in LEAD_LABELS:
        c = _col(df, "leads", f, problems, m)
        if c is not None:
            out[f] = parse_labels(c, (spec.get("values") or {}).get(f), st["pool_below"])
    c = _col(df, "leads", "employees", problems, m)
    if c is not None:
        out["employees"] = parse_numbers(c)
    conv = _col(df, "leads", "is_converted", problems, m)
    converted = parse_bools(conv) if conv is not None else np.zeros(len(df), bool)
    s = _col(df, "leads", "status", problems, m)
    closed_words = {str(x).casefold() for x in (spec.get("statuses") or {}).get("closed", [])}
    status_text = text(s.values).astype("string").str.casefold() if s is not None else None
    closed = (status_text.isin(closed_words).fillna(False).to_numpy(bool)
              if status_text is not None else np.zeros(len(df), bool))
    d = _col(df, "leads", "converted_date", problems, m)
    conv_date = parse_dates(d, _fmt(m, "leads", "converted_date"), tz) if d is not None else \
        pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if conv is None:  # HubSpot: a lead is converted once it has a customer date
        converted = conv_date.notna().to_numpy()
    out["status"] = np.select([converted, closed], ["converted", "lost"], "open")
    out["outcome_date"] = conv_date.where(converted)
    a = _col(df, "leads", "converted_account_id", problems, m)
    out["crm_account_id"] = parse_ids(a, required=False) if a is not None else None
    for k in df.columns:
        if k.startswith("pt:"):
            out[k[3:]] = text(df[k])
    out = out.loc[out["crm_lead_id"].notna().to_numpy() & out["created_date"].notna()
                  .to_numpy()].drop_duplicates("crm_lead_id")
    out.insert(0, "lead_id", account_key(out["crm_lead_id"]))
    return out.reset_index(drop=True)


# -- assembling tobmodel's tables ----------------------------------------------------------

def _assemble(data, acc, con, events, tickets, usage_src, leads, m):
    st, as_of, problems = m.settings, data.as_of, data.problems
    gap = st["renewal_gap_days"]
    known = acc["crm_account_id"]
    orphan = ~con["crm_account_id"].isin(known)
    if orphan.any():
        problems.append(Problem(", ".join(data.files.get("contracts", [])) or "contracts",
                                m.column("contracts", "account_id"),
                                f"names accounts not in the accounts export on "
                                f"{int(orphan.sum()):,} contracts: left out",
                                severity="notice"))
    con = con.loc[~orphan & (con["start_date"] <= as_of)].copy()
    con["account_id"] = account_key(con["crm_account_id"])
    con = con.sort_values(["account_id", "start_date", "end_date"], kind="stable")
    con["outcome"] = contract_outcomes(con, as_of, gap).to_numpy()
    con["period"] = con.groupby("account_id").cumcount() + 1
    con["contract_id"] = np.arange(1, len(con) + 1)
    con["arr"] = con["arr"].fillna(0.0)
    acc = acc.copy()
    acc["account_id"] = account_key(acc["crm_account_id"])
    clash = acc["account_id"].duplicated(keep=False).to_numpy()
    if clash.any():  # pragma: no cover - about n**2 / 2**54
        raise ValueError(f"accounts {', '.join(acc.loc[clash, 'crm_account_id'][:2])} meet on "
                         "one internal key; please report this")
    first = con.groupby("account_id")["start_date"].min()
    latest = con.drop_duplicates("account_id", keep="last").set_index("account_id")
    no_contract = ~acc["account_id"].isin(first.index)
    if no_contract.any():
        problems.append(Problem(", ".join(data.files.get("accounts", [])), None,
                                f"{int(no_contract.sum()):,} accounts have no contract "
                                f"starting by {as_of.date()}: not customers, not scored",
                                severity="notice"))
    acc = acc.loc[~no_contract].reset_index(drop=True)
    ids = acc["account_id"]
    acc["business_type"] = st["business_type"]
    acc["first_contract_date"] = first.reindex(ids).to_numpy()
    term = pd.Series(term_level(latest["term_months"].reindex(ids).to_numpy()))
    rare = term.map(term.value_counts()) < st["pool_below"]
    acc["contract_term"] = term.where(~rare, "other").to_numpy()
    absent = {}
    for f in ACCOUNT_LABELS:
        if f not in acc:
            acc[f] = "unknown"
            absent[f] = f"no {f} column mapped"
    if "seats" not in acc:
        acc["seats"] = 1
        for feat in FEATURE_COST[("accounts", "seats")]:
            absent[feat] = "no seats column mapped"
    acc["seats"] = acc["seats"].fillna(1).clip(lower=1).round().astype(np.int64)
    contract_arr = latest["arr"].reindex(ids).to_numpy()
    if "arr" not in acc:
        acc["arr"] = contract_arr
    acc["arr"] = acc["arr"].fillna(0.0).astype(float)
    if "price_per_seat_month" not in acc:
        acc["price_per_seat_month"] = 0.0
        if not (acc["arr"] > 0).any():
            absent["price_vs_tier_median"] = "no price, seats or ARR mapped"
    for f in ("sales_overpromised", "onboarding_completed"):
        if f not in acc:
            acc[f] = False
            absent[f] = f"no {f} column mapped"
    usage = _usage(events, usage_src, ids, absent, data)
    support = _support(tickets, ids, st["unresolved_after_days"], absent, as_of)
    lead = ["account_id", "crm_account_id", "business_type", *ACCOUNT_LABELS,
            "first_contract_date", "contract_term", "seats", "price_per_seat_month", "arr",
            "sales_overpromised", "onboarding_completed"]
    data.passthrough = [c for c in acc.columns if c not in lead and c != "created_date"]
    acc = acc[lead + data.passthrough]
    contracts = con[["contract_id", "account_id", "period", "start_date", "end_date", "arr",
                     "outcome", "churn_reason", "crm_account_id", "crm_contract_id",
                     "term_months"]].reset_index(drop=True)
    data.tables = {"accounts": acc, "contracts": contracts, "usage": usage,
                   "support": support}
    if leads is not None:
        leads = leads.loc[(leads["created_date"] <= as_of).to_numpy()].reset_index(drop=True)
        later = (leads["outcome_date"] > as_of).fillna(False).to_numpy()  # not known yet
        leads.loc[later, "status"] = "open"
        leads.loc[later, "outcome_date"] = pd.NaT
        data.tables["leads"] = leads
        data.lead_features = [f for f in (*LEAD_LABELS, "employees") if f in leads]
    for t in data.tables.values():
        t.attrs["as_of"] = str(as_of.date())
    # a covariate that does not vary teaches the model nothing (and breaks the fit)
    from ..renewal.features import BOOLEAN, CATEGORICAL, NUMERIC
    data.covariates = []
    for f in (*CATEGORICAL, *BOOLEAN, *NUMERIC):
        if f in absent:
            continue
        data.covariates.append(f)
    data.absent = absent


def _usage(events, usage_src, ids, absent, data):
    cols = ["account_id", "month", "active_seats", "key_feature_adoption", "logins"]
    frames, missing = [], []  # per source: feature -> why that source cannot give it
    if events is not None:
        frames.append(events[cols])
        gaps = {}
        if not events.attrs.get("key_events"):
            gaps["key_feature_adoption_3m"] = "no key_events named for the events source"
        if not events.attrs.get("users"):
            gaps["active_seat_share_3m"] = "events have no user_id"
        missing.append(gaps)
    if usage_src is not None:
        u = usage_src.copy()
        u["account_id"] = account_key(u.pop("crm_account_id"))
        gaps = {}
        for c in cols:
            if c not in u:
                u[c] = 0
                for feat in FEATURE_COST.get(("usage", c), []):
                    gaps[feat] = f"usage has no {c} column"
        frames.append(u[cols])
        missing.append(gaps)
    # events and a usage table combine: a feature is absent only if no source gives it
    for feat in (missing[0] if missing else ()):
        if all(feat in g for g in missing):
            absent[feat] = "; ".join(g[feat] for g in missing)
    if not frames:
        for feat in TABLE_COST["events"]:
            absent[feat] = "no usage source (events or usage) mapped"
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("account_id", "active_seats",
                                                                  "logins") else
                                          "datetime64[ns]" if c == "month" else float)
                             for c in cols})
    u = pd.concat(frames, ignore_index=True)
    u = u.loc[u["account_id"].isin(ids.to_numpy())]
    u = u.groupby(["account_id", "month"], as_index=False).agg(
        active_seats=("active_seats", "max"), key_feature_adoption=("key_feature_adoption",
                                                                    "max"),
        logins=("logins", "sum"))
    u["active_seats"] = u["active_seats"].astype(np.int64)
    u["logins"] = u["logins"].astype(np.int64)
    return u.reset_index(drop=True)


def _support(tickets, ids, after_days, absent, as_of):
    cols = ["account_id", "month", "tickets_opened", "tickets_unresolved", "bot_sessions",
            "bot_escalations"]
    absent["bot_escalations_6m"] = "help-desk exports have no chat-bot sessions"
    if tickets is None or not len(tickets):
        absent["unresolved_share_6m"] = "no tickets source mapped"
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "month" else "int64")
                             for c in cols})
    cut = as_of + pd.Timedelta(days=1)
    t = tickets.loc[(tickets["created"] < cut).to_numpy()]  # only what was known at as_of
    late = pd.Timedelta(days=after_days)
    solved = t["solved"].where(t["solved"] < cut)  # solved after as_of: open at as_of
    solved_late = (solved - t["created"] > late).fillna(False).to_numpy(bool)
    old = (t["created"] + late < cut).to_numpy()
    still_open = solved.isna().to_numpy() & old & (
        t["open"].to_numpy(bool) | t["solved"].notna().to_numpy())
    df = pd.DataFrame({
        "account_id": account_key(t["crm_account_id"]),
        "month": t["created"].to_numpy().astype("datetime64[M]").astype("datetime64[ns]"),
        "tickets_opened": 1, "tickets_unresolved": (solved_late | still_open).astype(np.int64)})
    s = df.groupby(["account_id", "month"], as_index=False).sum()
    s = s.loc[s["account_id"].isin(ids.to_numpy())].reset_index(drop=True)
    s["bot_sessions"] = 0
    s["bot_escalations"] = 0
    return s[cols]
