"""The weekly report: one self-contained HTML file, and the same tables in the database.

What a growth lead looks at on Monday, from the score history the weekly
job leaves behind (:mod:`.movers`):

1. **Summary** -- run date, model, accounts scored, model age.
2. **Score distribution** -- this run against the previous run (PSI).
3. **Drift** -- PSI of the score and (given this week's features) every
   feature against the training profile saved in the model file, and
   against last week's features when given; < 0.1 stable, 0.1-0.25 watch,
   > 0.25 shift (:mod:`.drift`).
4. **Top movers** -- the largest rises since the previous run and accounts
   rising several runs in a row.
5. **Risk by segment** -- mean probability and high-risk share per segment
   (given features with the segment column), else accounts per risk tier over
   the recent runs.

The HTML embeds its plots as base64 PNG and its style inline: no link, script
or image file outside it, so it can be mailed or archived as is. It is
written through a temporary file and a rename. When the history is a
database, the drift and movers tables go to ``churn_drift`` and
``churn_movers`` (``lead_*`` for lead scores) in one transaction, replacing
the rows of the same as_of and model name.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> h = pd.DataFrame({
...     "as_of": pd.to_datetime(["2026-01-05"] * 3 + ["2026-01-12"] * 3),
...     "account_id": [1, 2, 3] * 2, "model_name": "cox", "model_id": "cox-1",
...     "horizon_months": 12, "risk_tier": "low", "reasons": "",
...     "p_churn_horizon": [0.10, 0.30, 0.20, 0.15, 0.30, 0.10]})
>>> r = build_report(h)
>>> r.as_of, r.previous_as_of, r.movers["account_id"].tolist()
('2026-01-12', '2026-01-05', [1])
>>> out = write_report(r, pathlib.Path(tempfile.mkdtemp()) / "report.html")
>>> "Top movers" in out.read_text()
True
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..export.specs import SPECS, ExportError
from .drift import DRIFT_COLUMNS, drift_table, score_drift, worst_status
from .movers import GROUP, PROBABILITY, find_movers, read_history
from .staleness import check_staleness

__all__ = ["WeeklyReport", "build_report", "write_report", "write_report_tables",
           "report_from_args", "report_table_names"]

SECTIONS = ("Summary", "Score distribution", "Drift", "Top movers", "Risk by segment")


@dataclass
class WeeklyReport:
    """Everything in the report: the tables, and the HTML once rendered."""

    kind: str
    as_of: str
    previous_as_of: str | None
    model_name: str
    model_id: str
    source: str
    scores: pd.DataFrame            # this run's rows of the history
    previous: pd.DataFrame          # the previous run's rows (may be empty)
    drift: pd.DataFrame             # DRIFT_COLUMNS: score vs last week, vs training, features
    movers: pd.DataFrame
    segments: pd.DataFrame
    segment: str
    history: pd.DataFrame
    notes: list = field(default_factory=list)
    model_as_of: str | None = None
    written: list = field(default_factory=list)

    def describe(self) -> str:
        """A few lines for the terminal: what the report says and where it went."""
        lines = [f"weekly report, {self.kind} scores as of {self.as_of} (previous run "
                 f"{self.previous_as_of or 'none'}), model {self.model_id} ({self.model_name})",
                 f"  drift: {worst_status(self.drift)}; "
                 + ", ".join(f"{r.feature} vs {r.against} {r.psi:.3f} {r.status}"
                             for r in self.drift.head(3).itertuples()),
                 f"  movers: {len(self.movers):,}"]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  -> {w}" for w in self.written]
        return "\n".join(lines)


def _day(ts) -> str:
    return str(pd.Timestamp(ts).date())


def _read_frame(path, what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise ExportError(f"{p}: no such {what} file")
    try:
        if p.suffix.lower() == ".csv":
            return pd.read_csv(p)
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
    except (ValueError, OSError) as e:
        raise ExportError(f"{p}: cannot read {what} ({' '.join(str(e).split())})") from None
    raise ExportError(f"{p}: unknown {what} format {p.suffix!r} (expected .csv or .parquet)")


def _active(df: pd.DataFrame) -> pd.DataFrame:
    """The rows a weekly run scores: active accounts, open leads."""
    if "active" in df.columns:
        return df[df["active"].to_numpy(bool)]
    if "status" in df.columns:
        return df[df["status"].astype(str).to_numpy() == "open"]
    return df


def _feature_names(profile, model, df, ident) -> list:
    """The model's features: from its profile, its schema, or every column of ``df``."""
    if profile is not None:
        return [c for c in profile["features"] if c in df.columns]
    if model is not None:
        return [f for f in model.features_ if f["name"] in df.columns]
    return [c for c in df.columns if c not in (ident, "active", "churned", "status")]


def _scoring_rows(value, kind: str, as_of, what: str) -> pd.DataFrame:
    """A frame as given, a features file, or a folder of tables turned into features at as_of."""
    if isinstance(value, pd.DataFrame):
        return _active(value)
    if Path(value).is_dir():
        from ..export import read_leads, read_renewal_features
        read = read_renewal_features if kind == "churn" else read_leads
        return _active(read(str(value), None if as_of is None else _day(as_of)))
    return _active(_read_frame(value, what))


def build_report(history, *, kind: str = "churn", model=None, features=None, training=None,
                 previous_features=None, model_name: str | None = None, as_of=None,
                 segment: str | None = None, top: int = 20, weeks_rising: int = 3
                 ) -> WeeklyReport:
    """Assemble the weekly report's tables from the score history.

    Parameters
    ----------
    history : DataFrame, path, URL or list of paths
        A history frame (:func:`.movers.read_history`) or where to read it.
    model : path or loaded model, optional
        Its training profile (``reference_profile_``) gives drift against the
        training data.
    features : DataFrame or path, optional
        This week's features (active accounts): feature drift and risk by segment.
    training : DataFrame or path, optional
        The training features, profiled here when the model carries no profile.
    previous_features : DataFrame or path, optional
        Last week's features: feature drift against last week.
    segment : str, optional
        Column of ``features`` for risk by segment (default ``tier`` if there).
    top, weeks_rising : int
        Movers: the ``top`` largest rises, and accounts rising ``weeks_rising``
        runs in a row.
    """
    spec = SPECS[kind]
    ident, prob = spec.id_column, PROBABILITY[kind]
    if as_of is not None:
        from ..export.guards import parse_as_of
        as_of = parse_as_of(as_of, None, "as_of")  # ISO only: 12/01/2025 is ambiguous
    h = history if isinstance(history, pd.DataFrame) else read_history(
        history, kind=kind, model_name=model_name, as_of=as_of,
        weeks=max(8, weeks_rising + 1))
    if isinstance(history, pd.DataFrame):
        if as_of is not None:
            h = h[h["as_of"] <= pd.Timestamp(as_of)]
        if model_name is not None:
            h = h[h["model_name"] == model_name]
    if len(h) == 0:
        raise ExportError(f"{h.attrs.get('source', 'history')}: no runs to report on")
    weeks = np.sort(h["as_of"].unique())
    now = h[h["as_of"] == weeks[-1]]
    prev = h[h["as_of"] == weeks[-2]] if len(weeks) > 1 else h.iloc[:0]
    notes = []
    if kind == "churn" and len(prev) and "horizon_months" in h and \
            prev["horizon_months"].iloc[0] != now["horizon_months"].iloc[0]:
        notes.append(f"previous run used horizon {prev['horizon_months'].iloc[0]} months, this "
                     f"run {now['horizon_months'].iloc[0]}: scores not compared")
        prev = h.iloc[:0]
    tables = []
    if len(prev):
        tables.append(score_drift(prev[prob], now[prob], label=f"score ({prob})"))
    else:
        notes.append("no previous run of this model in the history: nothing to compare "
                     "this week with")
    loaded = None
    if model is not None:
        from ..export.inputs import load_scoring_model
        loaded = load_scoring_model(model)
    profile = getattr(loaded, "reference_profile_", None) if loaded is not None else None
    if profile is None and training is not None:
        from ..io.profile import reference_profile
        train = _scoring_rows(training, kind, getattr(loaded, "as_of_", None),
                              "training features")
        profile = reference_profile(train, _feature_names(None, loaded, train, ident))
    feats = None
    if features is not None:
        feats = _scoring_rows(features, kind, weeks[-1], "features")
    if profile is not None:
        score = profile.get("score") or {}
        same = score.get("column") == prob and (
            kind != "churn" or score.get("horizon_months") == now["horizon_months"].iloc[0])
        scores = now[prob].to_numpy(float) if same else None
        if score and not same:
            notes.append("training scores are of another horizon or column: score not "
                         "compared with training")
        t = drift_table(profile if (same or feats is not None) else {"features": {}},
                        feats, scores, against="training")
        tables.append(t)
    elif model is not None:
        notes.append("the model file carries no training profile: pass --training (the "
                     "training features or tables) to compare with the training data")
    if previous_features is None and len(weeks) > 1 and isinstance(features, (str, Path)) \
            and Path(features).is_dir():
        previous_features = features  # the same tables, as they were at the previous run
    if previous_features is not None and feats is not None:
        from ..io.profile import reference_profile
        pf = _scoring_rows(previous_features, kind, weeks[-2] if len(weeks) > 1 else None,
                           "previous features")
        names = _feature_names(profile, loaded, pf, ident)
        names = [n for n in names if (n["name"] if isinstance(n, dict) else n) in feats.columns]
        tables.append(drift_table(reference_profile(pf, names), feats, against="last week"))
    drift = (pd.concat(tables, ignore_index=True) if tables
             else pd.DataFrame(columns=list(DRIFT_COLUMNS)))
    movers = find_movers(h, kind=kind, top=top, min_weeks=weeks_rising)
    seg_name, segments = _segments(now, feats, segment, spec, prob)
    model_as_of = None
    if loaded is not None:
        fitted = getattr(loaded, "as_of_", None)
        model_as_of = None if fitted is None else _day(fitted)
        notes += check_staleness(model_as_of, weeks[-1]).warnings
        if loaded.model_id not in set(now["model_id"]):
            notes.append(f"model file {loaded.model_id} did not produce this run "
                         f"({', '.join(sorted(set(now['model_id'])))})")
    return WeeklyReport(
        kind=kind, as_of=_day(weeks[-1]),
        previous_as_of=_day(weeks[-2]) if len(weeks) > 1 else None,
        model_name=str(now["model_name"].iloc[0]),
        model_id=", ".join(sorted(set(now["model_id"].astype(str)))),
        source=h.attrs.get("source", "<DataFrame>"), scores=now, previous=prev, drift=drift,
        movers=movers, segments=segments, segment=seg_name, history=h, notes=notes,
        model_as_of=model_as_of)


def _segments(now, feats, segment, spec, prob):
    ident, group = spec.id_column, GROUP[spec.kind]
    if feats is not None:
        seg = segment or ("tier" if "tier" in feats.columns else None)
        if seg is not None:
            if seg not in feats.columns:
                raise ExportError(f"features: no column {seg!r} for --segment (has: "
                                  f"{', '.join(map(str, feats.columns[:10]))})")
            j = now[[ident, prob, *([group] if group in now else [])]].merge(
                feats[[ident, seg]].drop_duplicates(ident), on=ident, how="left")
            j[seg] = j[seg].astype(object).where(j[seg].notna(), "(not in features)")
            g = j.groupby(seg, sort=True)
            out = pd.DataFrame({"accounts": g.size(), "mean_p": g[prob].mean()})
            if group in j and spec.kind == "churn":
                out["high_share"] = g[group].apply(lambda s: float((s == "high").mean()))
            return seg, out.reset_index()
    elif segment is not None:
        raise ExportError(f"--segment {segment} needs --features (the history holds no "
                          "segments)")
    if group not in now:
        return group, pd.DataFrame({group: [], "accounts": []})
    return group, now.groupby(group, sort=True).agg(accounts=(ident, "size"),
                                                    mean_p=(prob, "mean")).reset_index()


# ------------------------------------------------------------------------------ rendering

_STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;
max-width:980px;color:#222}h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;
padding-bottom:.2em;margin-top:1.6em}table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.stable{color:#2e7d4f}.watch{color:#b07800}
.shift{color:#b3261e;font-weight:bold}.note{color:#555}img{max-width:100%}"""


def _ax(size=(6.4, 3.6)):
    """Axes on a figure of its own, outside pyplot: the caller's backend and figures stay."""
    from matplotlib.figure import Figure
    return Figure(figsize=size).subplots()


def _png(ax) -> str:
    fig = ax.figure
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return ('<img alt="plot" src="data:image/png;base64,'
            + base64.b64encode(buf.getvalue()).decode("ascii") + '">')


def _table(df: pd.DataFrame, max_rows: int = 50) -> str:
    if df is None or len(df) == 0:
        return '<p class="note">(none)</p>'
    d = df.head(max_rows).copy()
    for c in d.columns:
        if d[c].dtype.kind == "M":
            d[c] = d[c].dt.strftime("%Y-%m-%d")
    text = d.to_html(index=False, escape=True, na_rep="", float_format=lambda x: f"{x:.3f}",
                     border=0)
    for s in ("stable", "watch", "shift"):
        text = text.replace(f"<td>{s}</td>", f'<td class="{s}">{s}</td>')
    more = f'<p class="note">first {max_rows} of {len(df):,} rows</p>' if len(df) > max_rows \
        else ""
    return text + more


def render_html(r: WeeklyReport) -> str:
    """The report as one HTML document (plots embedded as base64 PNG)."""
    from . import plotting
    e = html.escape
    spec = SPECS[r.kind]
    prob = PROBABILITY[r.kind]
    what = "churn scores" if r.kind == "churn" else "lead scores"
    higher = "more risk" if r.kind == "churn" else "better lead"
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           f"<title>Weekly report: {e(what)} as of {e(r.as_of)}</title>",
           f"<style>{_STYLE}</style></head><body>",
           f"<h1>Weekly report: {e(what)} as of {e(r.as_of)}</h1>"]
    # 1 summary
    n_now, n_prev = len(r.scores), len(r.previous)
    p = r.scores[prob].to_numpy(float)
    facts = [("run (as_of)", r.as_of), ("previous run", r.previous_as_of or "none"),
             ("model", f"{r.model_id} ({r.model_name})"),
             ("model fitted as of", r.model_as_of or "not given (pass --model)"),
             (f"{'accounts' if r.kind == 'churn' else 'leads'} scored", f"{n_now:,}"
              + (f" (previous run {n_prev:,})" if r.previous_as_of else "")),
             (f"mean {prob} (higher = {higher})", f"{np.nanmean(p):.3f}" if len(p) else ""),
             ("drift", worst_status(r.drift)), ("history", r.source)]
    out.append('<h2 id="summary">Summary</h2><table>' + "".join(
        f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in facts) + "</table>")
    out += [f'<p class="note">{e(n)}</p>' for n in r.notes]
    # 2 score distribution
    out.append('<h2 id="score-distribution">Score distribution</h2>')
    prev = r.previous[prob].to_numpy(float) if n_prev else None
    out.append(_png(plotting.plot_score_distribution(
        p, prev, label=prob, higher=higher, current_label=f"run {r.as_of}",
        previous_label=f"run {r.previous_as_of}", ax=_ax())))
    # 3 drift
    out.append('<h2 id="drift">Drift</h2><p class="note">Population stability index: below '
               "0.10 stable, 0.10 to 0.25 watch, above 0.25 shift (check the data; consider a "
               "refit).</p>")
    if len(r.drift):
        out.append(_png(plotting.plot_drift(
            r.drift, ax=_ax((6.4, max(2.0, 0.3 * min(len(r.drift), 20) + 1.0))))))
    out.append(_table(r.drift))
    # 4 movers
    out.append(f'<h2 id="movers">Top movers</h2><p class="note">{e(spec.id_column)}s whose '
               f"{e(prob)} rose the most since the previous run, and those rising in each of "
               "the last runs.</p>")
    if len(r.movers):
        out.append(_png(plotting.plot_movers(r.movers, id_column=spec.id_column,
                                             xlabel=f"{prob} (higher = {higher})",
                                             ax=_ax((6.4, max(2.0, 0.3 * min(len(r.movers), 15)
                                                              + 1.0))))))
    out.append(_table(r.movers))
    # 5 segments
    out.append(f'<h2 id="segments">Risk by segment</h2><p class="note">by {e(r.segment)}</p>')
    if len(r.segments) and "mean_p" in r.segments:
        out.append(_png(plotting.plot_risk_by_segment(r.segments, segment=r.segment,
                                                          ax=_ax())))
    out.append(_table(r.segments))
    out.append("</body></html>\n")
    return "\n".join(out)


def write_report(r: WeeklyReport, path) -> Path:
    """Render ``r`` and write it to ``path`` atomically (temporary file + rename)."""
    from ..io.writers import atomic_path
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path}: is a directory; give a file name for the report")
    text = render_html(r)
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")  # mode: umask, or the replaced file's
    except OSError as e:
        raise ExportError(f"{path}: cannot write the report ({e.strerror or e})") from None
    r.written.append(str(path))
    return path


def report_table_names(kind: str) -> dict:
    """``{"drift": "churn_drift", "movers": "churn_movers"}`` (``lead_*`` for leads)."""
    return {"drift": f"{kind}_drift", "movers": f"{kind}_movers"}


def write_report_tables(r: WeeklyReport, url) -> str:
    """Write the drift and movers tables to the database, in one transaction.

    Rows of the same as_of and model name are replaced; other runs stay.
    Returns a description of where they went.
    """
    from sqlalchemy import Date, Text, bindparam, inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from ..export.sources import connect_error, is_url, make_engine, redact, sqlite_url
    url = str(url) if is_url(url) else sqlite_url(url)
    names = report_table_names(r.kind)
    key = {"as_of": pd.Timestamp(r.as_of).date(), "model_name": r.model_name}
    drift = r.drift.assign(**key)[["as_of", "model_name", *DRIFT_COLUMNS]]
    movers = r.movers.copy()
    for c in ("as_of", "previous_as_of"):
        movers[c] = pd.to_datetime(movers[c]).dt.date
    frames = {names["drift"]: drift, names["movers"]: movers}
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            q = conn.dialect.identifier_preparer.quote
            insp = inspect(conn)
            for name, df in frames.items():
                if insp.has_table(name):
                    conn.execute(text(f"DELETE FROM {q(name)} WHERE {q('as_of')} = :d AND "
                                      f"{q('model_name')} = :m").bindparams(
                        bindparam("d", type_=Date()), bindparam("m", type_=Text())),
                        {"d": key["as_of"], "m": r.model_name})
                df.to_sql(name, conn, if_exists="append", index=False,
                          dtype={c: Date() for c in ("as_of", "previous_as_of") if c in df})
    except SQLAlchemyError as e:
        raise connect_error(url, e) from None
    finally:
        engine.dispose()
    where = f"{redact(url)} ({', '.join(frames)})"
    r.written.append(where)
    return where


def report_from_args(args) -> WeeklyReport:
    """``tobmodel report``: build, write the HTML and (database history) the tables."""
    from .movers import _is_database
    history = args.history if len(args.history) > 1 else args.history[0]
    as_of = args.as_of  # ISO by now: the command line read it with --date-format
    r = build_report(history, kind=args.kind, model=args.model, features=args.features,
                     training=args.training, previous_features=args.previous_features,
                     model_name=args.model_name, as_of=as_of,
                     segment=args.segment, top=args.top, weeks_rising=args.weeks_rising)
    write_report(r, args.output)
    if not args.no_tables and not isinstance(history, list) and _is_database(history):
        write_report_tables(r, history)
    return r
