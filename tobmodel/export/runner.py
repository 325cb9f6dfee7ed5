"""The weekly score job: read rows in chunks, check, score, write; account for every row.

Examples
--------
The run: load the model once (:func:`.inputs.load_scoring_model`), resolve
the as-of date once (:func:`.inputs.resolve_as_of`), turn tables into what
the model scores (:func:`.inputs.scoring_source`), then per chunk: check the
rows (:func:`.rejects.check_rows`), score the valid ones (with the
protocol's ``checked=True``: the model skips the per-row checks the row
checks did), write. A chunk is scored in a thread of its own while the next
one is read and checked; chunks are taken in order, so the rows, counts and
bytes are those of one chunk after another. Only the protocol of
:mod:`tobmodel.protocol` is used.

Score a frame in memory with any model that follows the protocol (here a
tiny stand-in lead model):

>>> import pandas as pd
>>> from tobmodel.protocol import ModelBase
>>> class Constant(ModelBase):
...     kind, name, id_column = "lead", "const", "lead_id"
...     model_id_, as_of_ = "const-0", None
...     features_ = [{"name": "intent", "dtype": "category", "categories": ["low", "high"]}]
...     def score(self, df, *, as_of=None, horizon_months=None, source="data",
...               progress=False, checked=False):
...         p = (df["intent"] == "high").to_numpy() * 0.5 + 0.25
...         return pd.DataFrame({"lead_id": df["lead_id"], "p_convert": p, "score": p * 100,
...                              "grade": "B", "reasons": "intent"})
>>> leads = pd.DataFrame({"lead_id": [1, 2, 3], "intent": ["high", "low", "maybe"]})
>>> scores, rejects = score_leads(Constant(), leads, as_of="2025-12-31", return_rejects=True)
>>> scores["p_convert"].tolist(), rejects["reason"].tolist()
([0.75, 0.25], ['unknown category'])
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..protocol import SCORE_COLUMNS
from .destinations import MemoryDestination, open_destination
from .guards import MIN_SCORED_FRACTION, check_horizon, check_scored
from .inputs import load_scoring_model, resolve_as_of, scoring_source
from .progress import show_progress, stage
from .rejects import SeenIds, check_rows
from .sources import open_source
from .specs import (CHUNKSIZE, RISK_CUTOFFS, RISK_TIERS, ExportError, risk_levels,
                    spec_for_model, typed_frame)


@dataclass
class ExportSummary:
    """What a score run did: counts, where rows went, and why rows were rejected.

    ``read == scored + not scored + rejected`` always holds: churned accounts and
    closed leads are counted in ``not_scored`` (``{"churned": n}`` / ``{"closed": n}``),
    never as rejects, whether a folder of tables left them out or a features file
    holds them.
    """

    kind: str
    as_of: str
    model_name: str
    model_id: str
    model_version: str
    source: str
    read: int = 0
    scored: int = 0
    rejected: int = 0
    rejects_by_reason: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)  # risk tiers (churn) or grades (lead)
    destinations: list = field(default_factory=list)
    rejects_destinations: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    not_scored: dict = field(default_factory=dict)  # out of scope, counted: churned / closed
    seconds: float = 0.0
    model_as_of: str | None = None  # date the model's training data was known up to
    drift: list = field(default_factory=list)  # PSI vs the training profile (feature, psi, status)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        what = "churn scores" if self.kind == "churn" else "lead scores"
        rate = self.read / self.seconds if self.seconds > 0 else float("nan")
        lines = [f"{what} as of {self.as_of}, model {self.model_id} ({self.model_name}, "
                 f"tobmodel {self.model_version})",
                 f"  read     {self.read:>10,} rows from {self.source} "
                 f"({self.seconds:.1f} s, {rate:,.0f} rows/s)",
                 f"  scored   {self.scored:>10,} -> {'; '.join(self.destinations)}"]
        if self.not_scored:
            lines.append(f"  not scored {sum(self.not_scored.values()):>8,} ("
                         + ", ".join(f"{k} {v:,}" for k, v in self.not_scored.items())
                         + "): out of scope, not rejects")
        lines.append(f"  rejected {self.rejected:>10,} -> {'; '.join(self.rejects_destinations)}")
        for reason, n in sorted(self.rejects_by_reason.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {n:>10,}  {reason}")
        label = "risk tiers" if self.kind == "churn" else "grades"
        if self.groups:
            lines.append(f"  {label}: " + ", ".join(f"{k} {v:,}" for k, v in self.groups.items()))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _check_columns(chunk, names, id_column, source):
    from ..persist import SchemaMismatchError
    missing = [c for c in [id_column, *names] if c not in chunk.columns]
    if missing:
        cols = ", ".join(repr(m) for m in missing)
        raise SchemaMismatchError(
            f"{source}: data does not match the model's features: missing column"
            f"{'s' if len(missing) > 1 else ''} {cols} (has: {', '.join(map(str, chunk.columns[:8]))}"
            f"{', ...' if len(chunk.columns) > 8 else ''})")


class _Job:
    """One run: the model, where rows come from and go, and the running counts.

    ``categories``: the score frames keep text Categoricals (the reasons, the risk tiers)
    as they are, for destinations that take them (:func:`export_scores` sets it; its
    destinations turn them into text where they need it); otherwise text is objects.
    """

    categories = False

    def __init__(self, model, spec, run, summary, horizon_months, risk_cutoffs):
        self.model, self.spec, self.run, self.summary = model, spec, run, summary
        self.horizon_months, self.risk_cutoffs = horizon_months, risk_cutoffs
        self.features = list(model.features_)
        self.seen = SeenIds()
        self.reasons, self.groups, self.not_scored = Counter(), Counter(), Counter()
        self.profile = _TrainingDrift(model, spec, horizon_months)

    def process(self, chunk: pd.DataFrame, row_offset: int):
        """``(scores, rejects)`` of ``chunk``, typed (:meth:`check`, score, :meth:`finish`)."""
        rc, valid = self.check(chunk)
        return self.finish(rc, valid, self._score(valid), row_offset)

    def check(self, chunk: pd.DataFrame):
        """``(row check, valid rows)``: the rows' checks, in chunk order (ids seen so far)."""
        spec = self.spec
        rc = check_rows(chunk, spec.id_column, self.features, self.seen, scope=spec.kind,
                        as_of=self.run["as_of_ts"])
        ok = rc.ok
        return rc, _default_index(rc.frame if ok.all() else rc.frame.loc[ok])

    def finish(self, rc, valid: pd.DataFrame, scores: pd.DataFrame, row_offset: int):
        """The typed ``(scores, rejects)`` of a checked chunk and its :meth:`_score`, counted
        (``row_offset``: rows of the source before the chunk, for the rejects' numbers)."""
        spec, m = self.spec, self.model
        p = scores[spec.probability].to_numpy(dtype=float)
        finite = np.isfinite(p)
        if not finite.all():
            no_score = np.zeros(len(rc.reason), bool)
            no_score[np.flatnonzero(rc.ok)] = ~finite  # the rows scored
            rc.reject(no_score, "no score from model", spec.probability)
            scores = scores.loc[finite]
        self.profile.add(valid, p)
        self.not_scored.update(pd.Series(rc.not_scored[rc.skipped], dtype=object)
                               .value_counts().to_dict())
        rej = rc.rejected
        rejects = pd.DataFrame({
            "row_number": row_offset + 1 + np.flatnonzero(rej),
            spec.id_column: rc.id_text[rej],
            "as_of": self.run["as_of_ts"], "model_name": m.name, "model_id": m.model_id,
            "reason": rc.reason[rej], "field": rc.field[rej], "value": rc.value[rej]})
        reason, fld = pd.Series(rc.reason[rej], dtype=object), pd.Series(rc.field[rej],
                                                                          dtype=object)
        self.reasons.update(reason.where(fld.isna(), reason + ": " + fld).value_counts().to_dict())
        group = scores[spec.group_column]
        for label, n in group.value_counts(dropna=False).items():  # the labels as text,
            self.groups[str(label)] += int(n)  # missing ones too; labels of one text summed
        return (typed_frame(scores, spec.columns, self.categories),
                typed_frame(rejects, spec.rejects_columns))

    def _score(self, valid: pd.DataFrame) -> pd.DataFrame:
        spec, m, run = self.spec, self.model, self.run
        columns = list(SCORE_COLUMNS[m.kind])
        if len(valid):
            # check_rows checked every row against the schema: the model need not again
            s = m.score(valid, as_of=run["as_of_ts"], horizon_months=self.horizon_months,
                        source=run["source"], progress=False, checked=True)
            if list(s.columns[:len(columns)]) != columns:
                raise RuntimeError(f"model {m.model_id} returned columns {list(s.columns)}, not "
                                   f"the protocol's {columns} (a bug in the model's score())")
            if len(s) != len(valid) or not np.array_equal(
                    s[spec.id_column].to_numpy(), valid[spec.id_column].to_numpy()):
                raise RuntimeError(f"model {m.model_id} returned rows that do not match its "
                                   "input (a bug in the model's score())")
            s = _default_index(s)
        else:
            s = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
            s[spec.id_column] = s[spec.id_column].astype(np.int64)
        out = s.copy(deep=False)  # the columns added below are this frame's alone
        for c in getattr(self, "keep", ()):
            out[c] = valid[c].astype(object).to_numpy() if c in valid else None
        out["as_of"] = run["as_of_ts"]
        for c, v in (("model_name", m.name), ("model_id", m.model_id),
                     ("model_version", run["model_version"])):  # one text, a code per row
            out[c] = pd.Categorical.from_codes(np.zeros(len(out), np.int8), [str(v)])
        if spec.group_column == "risk_tier":  # churn scores are cut into risk tiers
            out["risk_tier"] = pd.Categorical.from_codes(
                risk_levels(out[spec.probability], self.risk_cutoffs), RISK_TIERS)
        return out


def _default_index(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the index 0..n-1: as it is if it has it (no copy), else reset."""
    index = df.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return df
    return df.reset_index(drop=True)


def export_scores(model, source, output=None, *, table: str | None = None, as_of=None,
                  horizon_months: int = 12, chunksize: int = CHUNKSIZE,
                  risk_cutoffs=RISK_CUTOFFS, progress: bool | None = None,
                  min_scored_fraction: float | None = MIN_SCORED_FRACTION,
                  keep_columns=()) -> ExportSummary:
    """Score every row of ``source`` with ``model`` and write scores and rejects to ``output``.

    Parameters
    ----------
    model : path or loaded model
        A renewal model (churn scores) or a lead model (lead scores); a path is
        read once (:func:`tobmodel.registry.load_model`).
    source : DataFrame, path (.csv, .parquet, .sqlite), SQLAlchemy URL, folder of tables,
            dict of tables or Simulation
        Churn: the per-account features (``tobmodel.renewal.build_account_features``)
        of active accounts; a folder / dict of tables is turned into them, built
        at the run's as-of. Leads: open leads (a folder's ``leads`` table).
        Churned accounts and closed leads are counted as not scored; other
        rows that cannot be scored are rejected with a reason.
    output : path, URL, destination, or a list of them
        ``.csv`` / ``.parquet`` (rejects in ``<stem>.rejects.csv``), ``.sqlite``
        or ``postgresql+psycopg://...`` (tables ``churn_scores``,
        ``churn_score_history``, ``churn_score_rejects``, ``score_runs``).
        Default: the SQLite database under ``data/exports/``.
    table : str, optional
        Input table in a database (default ``account_features`` / ``leads``).
    as_of : date-like, optional
        Scoring date; default the date the model was fitted as of (``model.as_of_``).
    horizon_months : int
        Horizon of ``p_churn_horizon`` (churn only).
    chunksize : int
        Rows per chunk (default 100,000): memory is bounded by it, not by the input.
    risk_cutoffs : (float, float)
        ``p_churn_horizon`` at which risk is ``medium`` and ``high``.
    progress : bool, optional
        Stage messages and a tqdm bar with ETA on stderr; default: only on a
        terminal and not under CI (``CI=true``).
    min_scored_fraction : float, optional
        Fail (writing nothing) when fewer rows are scored than this fraction of
        the previous run in any destination (default 0.5; 0 or None: off). A
        run that scores no row always fails (:mod:`.guards`).

    keep_columns : list of str, optional
        Source columns copied as text onto every score row, in files and tables
        alike (e.g. the CRM's own id ``crm_account_id`` and the account name).

    Returns
    -------
    ExportSummary
        ``read``, ``scored``, ``not_scored`` (churned / closed, by reason),
        ``rejected`` (``read == scored + not scored + rejected``),
        ``rejects_by_reason`` and where everything went.

    Examples
    --------
    See the module docstring; ``tobmodel score --help`` for the command line.
    """
    from ..paths import DEFAULT_DATABASE_URL
    started = time.perf_counter()  # the summary's time is the wall time of the whole run
    with stage("loading the model", progress if isinstance(model, (str, Path)) else False):
        model = load_scoring_model(model)
    spec = spec_for_model(model)
    keep_columns = [c for c in keep_columns if c not in spec.columns]
    if keep_columns:  # extra text columns after tobmodel's own
        from dataclasses import replace
        spec = replace(spec, columns={**spec.columns, **{c: "str" for c in keep_columns}})
    as_of_ts = resolve_as_of(model, as_of)
    if spec.kind == "churn":
        horizon_months = check_horizon(horizon_months)
    source = scoring_source(model, source, as_of_ts, progress)
    not_scored = dict(getattr(source, "attrs", {}).get("not_scored", {})) if isinstance(
        source, pd.DataFrame) else {}
    outputs = output if isinstance(output, (list, tuple)) else [
        DEFAULT_DATABASE_URL if output is None else output]
    dests = [open_destination(o, spec) for o in outputs]
    src = open_source(source, table or spec.default_input_table, spec.id_column, chunksize)
    run = {"as_of": as_of_ts.date(), "as_of_ts": as_of_ts, "model_id": model.model_id,
           "model_name": model.name, "model_version": str(model.version),
           "horizon_months": horizon_months if spec.kind == "churn" else None,
           "source": src.name}
    summary = ExportSummary(spec.kind, str(as_of_ts.date()), model.name, model.model_id,
                            run["model_version"], src.name,
                            destinations=[d.describe() for d in dests],
                            rejects_destinations=[d.describe_rejects() for d in dests])
    summary.not_scored = not_scored
    summary.read = sum(not_scored.values())  # left out before the stream, counted as read
    job = _Job(model, spec, run, summary, horizon_months, risk_cutoffs)
    job.keep = keep_columns
    job.categories = True  # the destinations take text Categoricals (files: to the writer)
    job.profile.background = True  # drift counted in a thread; rows() / close() wait for it
    begun = []
    try:
        for d in dests:
            d.begin(run)
            begun.append(d)
        _stream(job, src, dests, progress)
        run.update(read=summary.read, scored=summary.scored, rejected=summary.rejected)
        if not all(isinstance(d, MemoryDestination) for d in dests):
            check_scored(summary.read, summary.scored,
                         {d.describe(): getattr(d, "previous_scored", None) for d in dests},
                         min_scored_fraction, dict(job.reasons))
        for d in dests:  # files sorted and synced: a failure here commits nothing
            if hasattr(d, "prepare"):
                d.prepare()
        # databases first: a refused commit must not leave a half-updated set of files
        for d in sorted(dests, key=lambda d: not hasattr(d, "url")):
            d.commit(run)
    except BaseException:
        for d in begun:
            d.abort()
        raise
    finally:
        src.close()
        job.profile.close()
    summary.seconds = time.perf_counter() - started
    summary.rejects_by_reason = dict(job.reasons)
    for k, v in job.not_scored.items():
        summary.not_scored[k] = summary.not_scored.get(k, 0) + int(v)
    order = ("high", "medium", "low") if spec.kind == "churn" else sorted(job.groups)
    summary.groups = {k: job.groups[k] for k in order if job.groups[k]}
    fitted = model.as_of_
    summary.model_as_of = None if fitted is None else str(pd.Timestamp(fitted).date())
    summary.drift = job.profile.rows()
    for d in dests:
        if getattr(d, "latest_updated", None) is False:
            summary.notes.append(f"{d.describe()}: {spec.latest_table} kept newer scores than "
                                 f"as_of {summary.as_of}; this run is in {spec.history_table}")
    return summary


class _TrainingDrift:
    """This run's rows counted in the bins of the model's training profile (if it has one).

    With ``background`` (set by :func:`export_scores`) each chunk is counted in a thread
    while the next one is scored (NumPy releases the GIL), in order, one chunk in flight;
    the counts are sums, the same either way, and :attr:`counts` waits for the chunk in
    flight. Otherwise (the default: Spark's partitions) counted at once.
    """

    background = False

    def __init__(self, model, spec, horizon_months):
        from ..io.profile import ProfileCounts
        profile = model.reference_profile_  # None when the model keeps no training profile
        self._counts = ProfileCounts(profile) if profile else None
        score = (profile or {}).get("score") or {}
        self.same_score = (score.get("column") == spec.probability and
                           score.get("horizon_months") in (None, horizon_months))
        self._pool = self._pending = None

    @property
    def counts(self):
        """The :class:`~tobmodel.io.profile.ProfileCounts` so far (None without a profile),
        every chunk added counted."""
        self._wait()
        return self._counts

    def add(self, valid: pd.DataFrame, p: np.ndarray) -> None:
        if self._counts is None:
            return
        scores = p[np.isfinite(p)] if self.same_score else None
        self._wait()
        if not self.background:
            self._counts.add(valid, scores)
            return
        if self._pool is None:
            self._pool = _InOrder("tobmodel-drift")
        self._pending = self._pool.submit(self._counts.add, valid, scores)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the chunk in flight and stop the thread (a run's end, or its failure:
        nothing raised here; :meth:`rows` raises the last chunk's error, if any)."""
        if self._pending is not None:
            self._pending.exception()
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def rows(self) -> list[dict]:
        """(feature, psi, status) of every profiled feature and the score, worst first."""
        self.close()
        self._wait()
        if self.counts is None or self.counts.rows == 0:
            return []
        from ..io.profile import psi_status
        values = dict(self.counts.psi())
        if self.same_score and self.counts.score_counts is not None:
            values["score"] = self.counts.score_psi()
        rows = [{"feature": k, "psi": v, "status": psi_status(v)} for k, v in values.items()]
        return sorted(rows, key=lambda r: -r["psi"] if np.isfinite(r["psi"]) else 0.0)


def _stream(job, src, dests, progress) -> None:
    spec, summary = job.spec, job.summary
    disable = not show_progress(progress)
    first = True
    streamed = 0  # rows of this source: the rejects' row numbers
    total = src.total if disable else src.count_rows()  # CSV: counted for the ETA
    def emit(rc, valid, scoring, offset):
        scores, rejects = job.finish(rc, valid, scoring.result(), offset)
        for d in dests:
            d.write(scores)
            d.write_rejects(rejects)
        summary.read += len(rc.reason)
        summary.scored += len(scores)
        summary.rejected += len(rejects)
        bar.update(len(rc.reason))

    # a chunk is scored in a thread while the next one is read and checked (NumPy releases
    # the GIL); taken in order, one chunk in flight, so the rows and counts are the same
    scorer = _InOrder("tobmodel-score")
    if disable:  # an unattended run: no bar (nor tqdm's import, multiprocessing's with it)
        bar = _NoBar()
    else:
        from tqdm import tqdm  # plain text bar on stderr (no notebook widget warning)
        bar = tqdm(total=total, unit="rows", desc=f"{spec.kind} scores", file=sys.stderr)
    with bar:
        try:
            pending = None
            for chunk in src.chunks:
                if first:
                    _check_columns(chunk, [*(f["name"] for f in job.features),
                                           *getattr(job, "keep", ())], spec.id_column,
                                   src.name)
                    first = False
                rc, valid = job.check(chunk)
                scoring = scorer.submit(job._score, valid)
                if pending is not None:
                    emit(*pending)
                pending = rc, valid, scoring, streamed
                streamed += len(chunk)
            if pending is not None:
                emit(*pending)
        finally:
            scorer.close()
    skipped = sum(summary.not_scored.values()) + sum(job.not_scored.values())
    if summary.read != summary.scored + skipped + summary.rejected:  # pragma: no cover
        raise RuntimeError(f"row accounting broke: read {summary.read} != scored "
                           f"{summary.scored} + not scored {skipped} + rejected "
                           f"{summary.rejected}")


class _NoBar:
    """The progress bar of a run that shows none."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int) -> None:
        pass


class _InOrder:
    """Calls run one at a time, in order, by a daemon thread of their own: a call that
    hangs (a stalled model) holds up neither Ctrl-C nor the interpreter's exit, where a
    ``ThreadPoolExecutor`` joins its threads. :meth:`close` lets the thread end after the
    call in hand, without waiting for it."""

    def __init__(self, name: str):
        import queue
        import threading
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, fn, *args):
        """A ``concurrent.futures.Future`` of ``fn(*args)``, called after the earlier ones."""
        from concurrent.futures import Future
        future: Future = Future()
        self._calls.put((future, fn, args))
        return future

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            future, fn, args = call
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as e:  # noqa: BLE001 - handed to whoever waits
                    future.set_exception(e)

    def close(self) -> None:
        self._calls.put(None)


def _score_in_memory(model, source, kind, **kw):
    return_rejects = kw.pop("return_rejects", False)
    model = load_scoring_model(model)  # here, so that export_scores does not read it again
    spec = spec_for_model(model)
    if spec.kind != kind:
        raise ExportError(f"model {model.model_id} is a {model.kind!r} model; use "
                          f"score_{'accounts' if spec.kind == 'churn' else 'leads'}()")
    dest = MemoryDestination(spec)
    summary = export_scores(model, source, dest, **kw)
    dest.scores.attrs["summary"] = summary.to_dict()
    return (dest.scores, dest.rejects) if return_rejects else dest.scores


def score_accounts(model, source, *, table=None, as_of=None, horizon_months: int = 12,
                   chunksize: int = CHUNKSIZE, risk_cutoffs=RISK_CUTOFFS,
                   return_rejects: bool = False, progress: bool | None = False):
    """Churn scores of active accounts as a DataFrame (the notebook API).

    Same checks and columns as :func:`export_scores`; returns the scores, or
    ``(scores, rejects)`` with ``return_rejects=True``. Higher ``p_churn_*`` =
    more risk.
    """
    return _score_in_memory(model, source, "churn", table=table, as_of=as_of,
                            horizon_months=horizon_months, chunksize=chunksize,
                            risk_cutoffs=risk_cutoffs, return_rejects=return_rejects,
                            progress=progress)


def score_leads(model, source, *, table=None, as_of=None, chunksize: int = CHUNKSIZE,
                return_rejects: bool = False, progress: bool | None = False):
    """Lead scores of open leads as a DataFrame (higher ``p_convert`` = better lead)."""
    return _score_in_memory(model, source, "lead", table=table, as_of=as_of,
                            chunksize=chunksize, return_rejects=return_rejects,
                            progress=progress)
