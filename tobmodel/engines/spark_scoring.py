"""Score on Spark: the model's JSON document broadcast, applied per partition with mapInPandas.

Fitting stays on one machine; scoring goes where the rows are. Each
executor rebuilds the model from the broadcast document (plain JSON: loading
runs no code) and hands each Arrow batch to the same row checks and scoring
as the single-machine job (:mod:`tobmodel.export.runner`), so scores agree
with ``tobmodel score`` to the last few bits and every row is accounted for
the same way: ``read == scored + rejected``, with the same reasons.

Row order and duplicates: rows are numbered in the Spark DataFrame's order
(one Parquet file reads in file order); the first row of an id is kept and
later copies are rejected as ``duplicate id``, as on one machine. With an
integer id column the rows are not shuffled: one aggregate of the ids alone
finds the duplicated ones and the row of their first copy, which the workers
get by broadcast. Other id types (text, floats: the row checks parse them)
are shuffled by id so that all copies meet in one partition, sorted by row.

Guards, as on one machine: the rows are counted before anything is written,
so a run that scores nothing, or fewer than ``min_scored_fraction`` of the
rows the output holds from the previous run, fails and leaves that output in
place; Parquet folders are written beside the target and swapped in at the
end. The training-drift profile is counted per partition and added up.

Examples
--------
The command line (``--spark-master`` or the session ``spark-submit`` gives):

    tobmodel score --engine spark --model models/cox.json \\
        --input account_features.parquet --output scores.parquet
"""
from __future__ import annotations

import json
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..export.inputs import load_scoring_model, resolve_as_of
from ..export.guards import MIN_SCORED_FRACTION, check_scored
from ..export.runner import ExportSummary, _Job, _TrainingDrift
from ..export.specs import CHUNKSIZE, RISK_CUTOFFS, ExportError, spec_for_model, typed_frame

_SPARK_TYPES = {"int": "long", "float": "double", "str": "string", "date": "date",
                "bool": "boolean"}
_KIND = "row_kind"  # what a result row is: score, reject, not_scored, profile
_PACKED = "reasons"  # a text column of every spec: a reject's fields ride in it as JSON
_REJECT_JSON = "row_number long, id string, reason string, field string, value string"
_MODELS: dict = {}  # per Python worker: model id -> loaded model


def model_document_text(model) -> str:
    """The model file's JSON text: read from a path, or serialised from a loaded model."""
    if isinstance(model, (str, Path)):
        return Path(model).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:  # save(): the protocol's one way to a file
        path = Path(tmp) / "model.json"
        model.save(path)
        return path.read_text(encoding="utf-8")


def model_from_text(text: str):
    """Rebuild a scoring model from its JSON text (cached per worker process)."""
    from ..registry import model_from_document
    doc = json.loads(text)
    key = doc.get("model_id")
    if key not in _MODELS:
        _MODELS[key] = load_scoring_model(model_from_document(doc, source="broadcast model"))
    return _MODELS[key]


def _union_columns(spec) -> dict:
    """The scoring pass's rows: the score columns and the kind of row.

    Score rows are the output rows as they are; a reject keeps ``as_of``, the
    model's name and id in their columns and its row number, id, reason, field
    and value as JSON in ``reasons`` (the other columns null); a ``not_scored``
    row holds ``{"reason", "rows"}`` there and a ``profile`` row a partition's
    training-profile counts. One pass can then be written once, split by kind.
    """
    return {**spec.columns, _KIND: "str"}


def _ddl(columns: dict) -> str:
    return ", ".join(f"`{c}` {_SPARK_TYPES[k]}" for c, k in columns.items())


_LOW = (1 << 33) - 1  # monotonically_increasing_id: partition index << 33 | row in partition


def _partition_offsets(df):
    """Rows before each input partition (``_mono`` >> 33) and the total: one count job."""
    from pyspark.sql import functions as F
    counts = (df.groupBy(F.shiftright(F.col("_mono"), 33).alias("pid"))
              .agg(F.count(F.lit(1)).alias("n")).collect())
    pids = np.array(sorted(int(r["pid"]) for r in counts), np.int64)
    n = {int(r["pid"]): int(r["n"]) for r in counts}
    sizes = np.array([n[p] for p in pids], np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return (pids, offsets), int(sizes.sum())


def _partition_summaries(rows, id_column: str):
    """Per input partition, in one pass over ``_mono`` and the id column: its index, rows,
    smallest and largest id and whether its ids are distinct (missing ids left out)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def summarize(batches):
        pid, n, ids = None, 0, []
        for b in batches:
            if b.num_rows:
                pid = int(b.column("_mono")[0].as_py()) >> 33
                n += b.num_rows
                ids.append(pc.drop_null(b.column(id_column)).to_numpy().astype(np.int64))
        if pid is None:
            return
        v = np.sort(np.concatenate(ids))
        distinct = bool(len(v) < 2 or (v[1:] != v[:-1]).all())
        lo, hi = (int(v[0]), int(v[-1])) if len(v) else (0, -1)
        yield pa.RecordBatch.from_pydict({"pid": [pid], "n": [n], "lo": [lo], "hi": [hi],
                                          "distinct": [distinct]})

    got = (rows.select("_mono", id_column)
           .mapInArrow(summarize, "pid long, n long, lo long, hi long, distinct boolean")
           .collect())
    return sorted((r["pid"], r["n"], r["lo"], r["hi"], r["distinct"]) for r in got)


def _offsets_and_duplicates(rows, id_column: str):
    """Partition offsets, the row total and the duplicated ids (:func:`_duplicate_ids`).

    When every partition's ids are distinct and the partitions' id ranges do not
    overlap (a file or table written in id order), no id is on two rows and the
    aggregate of all ids is skipped.
    """
    parts = _partition_summaries(rows, id_column)
    pids = np.array([p[0] for p in parts], np.int64)
    sizes = np.array([p[1] for p in parts], np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    ranges = sorted((lo, hi) for _, _, lo, hi, _ in parts if hi >= lo)
    apart = all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))
    if apart and all(p[4] for p in parts):
        dups = (np.array([], np.int64), np.array([], np.int64))
    else:
        dups = _duplicate_ids(rows, id_column)
    return (pids, offsets), int(sizes.sum()), dups


def _row_numbers(mono: np.ndarray, offsets) -> np.ndarray:
    """1-based row numbers in the DataFrame's order from ``_mono`` and the partition offsets."""
    pids, starts = offsets
    return starts[np.searchsorted(pids, mono >> 33)] + (mono & _LOW) + 1


def _with_row_numbers(df):
    """Add ``_row``: 1-based row number in the DataFrame's partition order (on the JVM)."""
    from pyspark.sql import functions as F
    df = df.withColumn("_mono", F.monotonically_increasing_id())
    (pids, starts), total = _partition_offsets(df)
    pid = F.shiftright(F.col("_mono"), 33)
    offset = F.lit(0).cast("long")
    for p, o in zip(pids.tolist(), starts.tolist()):
        offset = F.when(pid == p, F.lit(o).cast("long")).otherwise(offset)
    row = offset + F.col("_mono").bitwiseAND(F.lit(_LOW)) + 1
    return df.withColumn("_row", row).drop("_mono"), total


def _integral_id(df, id_column: str) -> bool:
    from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType
    return isinstance(df.schema[id_column].dataType, (ByteType, ShortType, IntegerType,
                                                       LongType))


def _duplicate_ids(df, id_column: str):
    """(ids, ``_mono`` of their first row) of the ids on more than one row, sorted by id.

    An aggregate over the id column alone: only the ids travel, not the rows.
    """
    from pyspark.sql import functions as F
    dup = (df.where(F.col(id_column).isNotNull()).groupBy(id_column)
           .agg(F.count(F.lit(1)).alias("n"), F.min("_mono").alias("first"))
           .where(F.col("n") > 1).select(id_column, "first").toPandas())
    order = np.argsort(dup[id_column].to_numpy(np.int64), kind="stable")
    return (dup[id_column].to_numpy(np.int64)[order], dup["first"].to_numpy(np.int64)[order])


def _later_copies(ids: pd.Series, mono: np.ndarray, dups) -> np.ndarray:
    """Rows whose id is on an earlier row of the DataFrame (the job's ``duplicate id``)."""
    dup_ids, first = dups
    out = np.zeros(len(ids), bool)
    if not len(dup_ids):
        return out
    ok = ids.notna().to_numpy()
    v = np.where(ok, ids.fillna(0).to_numpy(), 0).astype(np.int64)
    pos = np.minimum(np.searchsorted(dup_ids, v), len(dup_ids) - 1)
    hit = ok & (dup_ids[pos] == v)
    out[hit] = mono[hit] != first[pos[hit]]
    return out


def _profile_text(profile) -> str | None:
    """A partition's training-profile counts as JSON (None when the model has no profile)."""
    c = profile.counts
    if c is None:
        return None
    return json.dumps({"rows": c.rows, "counts": {k: v.tolist() for k, v in c.counts.items()},
                       "score": None if c.score_counts is None else c.score_counts.tolist()})


def _merge_profiles(profile, texts) -> None:
    """Add the partitions' counts (:func:`_profile_text`) into the driver's ``profile``."""
    c = profile.counts
    if c is None:
        return
    for t in texts:
        d = json.loads(t)
        c.rows += d["rows"]
        for k, v in d["counts"].items():
            c.counts[k] += np.asarray(v, np.int64)
        if d["score"] is not None and c.score_counts is not None:
            c.score_counts += np.asarray(d["score"], np.int64)


def _partition_scorer(text_bc, spec, run, horizon_months, risk_cutoffs, input_columns,
                      offsets_bc=None, dups_bc=None):
    """The mapInPandas function: row checks and scores per Arrow batch, then one row with
    the partition's training-profile counts. With ``offsets_bc`` rows carry ``_mono``
    (row numbers computed here) and ``dups_bc`` names the later copies of duplicate ids;
    without, rows carry ``_row`` and arrive shuffled by id, sorted by row."""
    union = _union_columns(spec)
    id_column = spec.id_column

    def frame(scores, rejects, rows):
        scores = scores.assign(**{_KIND: "score"})
        if not len(rejects):
            return _typed_union(scores, union)
        packed = pd.DataFrame({
            "row_number": rows[rejects["row_number"].to_numpy(np.int64) - 1],
            "id": rejects[id_column].to_numpy(object), "reason": rejects["reason"].to_numpy(object),
            "field": rejects["field"].to_numpy(object), "value": rejects["value"].to_numpy(object)})
        rejects = pd.DataFrame({  # as_of, model name and id in their columns, the rest packed
            "as_of": rejects["as_of"].to_numpy(), "model_name": rejects["model_name"].to_numpy(),
            "model_id": rejects["model_id"].to_numpy(), _PACKED: _json_lines(packed),
            _KIND: "reject"})
        return _typed_union(pd.concat([scores, rejects], ignore_index=True), union)

    def duplicates(batch, rows, later):
        """The job's rejects for later copies of an id (they never reach the row checks)."""
        ids = batch[id_column].to_numpy()[later]
        text = pd.Series(ids).astype("Int64").astype(str).to_numpy(dtype=object)
        return typed_frame(pd.DataFrame({
            "row_number": np.flatnonzero(later) + 1, id_column: text,
            "as_of": run["as_of_ts"], "model_name": run["model_name"],
            "model_id": run["model_id"], "reason": "duplicate id", "field": id_column,
            "value": text}), spec.rejects_columns)

    def score_partition(batches):
        model = model_from_text(text_bc.value)
        job = _Job(model, spec, run, None, horizon_months, risk_cutoffs)
        offsets = None if offsets_bc is None else offsets_bc.value
        dups = None if dups_bc is None else dups_bc.value
        for batch in batches:
            if offsets is None:
                rows = batch["_row"].to_numpy(np.int64)
            else:
                mono = batch["_mono"].to_numpy(np.int64)
                rows = _row_numbers(mono, offsets)
            chunk = batch[input_columns]
            later = None if dups is None else _later_copies(chunk[id_column], mono, dups)
            if later is not None and later.any():
                dup_rejects = duplicates(chunk, rows, later)
                chunk, kept_rows = chunk.loc[~later], rows[~later]
                yield frame(_empty_scores(spec), dup_rejects, rows)
            else:
                kept_rows = rows
            before = dict(job.not_scored)
            scores, rejects = job.process(chunk.reset_index(drop=True), 0)
            yield frame(scores, rejects, kept_rows)
            # churned accounts / closed leads: one marker row each, counted as not scored
            skipped = {k: v - before.get(k, 0) for k, v in job.not_scored.items()
                       if v > before.get(k, 0)}
            if skipped:  # one row per reason and batch, with its count
                yield _typed_union(pd.DataFrame({
                    _PACKED: [json.dumps({"reason": k, "rows": int(v)})
                              for k, v in skipped.items()], _KIND: "not_scored"}), union)
        text = _profile_text(job.profile)
        if text is not None:  # one row: this partition's counts in the training bins
            yield _typed_union(pd.DataFrame({_KIND: ["profile"], _PACKED: [text]}), union)

    return score_partition


def _json_lines(df: pd.DataFrame) -> np.ndarray:
    """Each row of ``df`` as one JSON object (pandas' writer: no Python loop over rows)."""
    if not len(df):
        return np.array([], dtype=object)
    return np.array(df.to_json(orient="records", lines=True).rstrip("\n").split("\n"),
                    dtype=object)


def _typed_union(out: pd.DataFrame, union: dict) -> pd.DataFrame:
    """``out`` with every column of ``union`` (None where absent), as Arrow reads them."""
    for c, k in union.items():
        if c not in out:
            out[c] = None
        elif k == "date" and out[c].dtype.kind != "M":  # Arrow casts to date32
            out[c] = pd.to_datetime(out[c])
        elif k in ("int", "bool") and out[c].isna().any():
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out[list(union)]


def _empty_scores(spec) -> pd.DataFrame:
    return typed_frame(pd.DataFrame({c: pd.Series(dtype=object) for c in spec.columns}),
                       spec.columns)


def _read(spark, source):
    if hasattr(source, "rdd"):
        return source
    if isinstance(source, pd.DataFrame):
        return spark.createDataFrame(source)
    path = Path(source)
    if not path.exists():
        raise ExportError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".csv":
        return spark.read.option("header", True).option("inferSchema", True).csv(str(path))
    nanos = _nanosecond_columns(path)
    if not nanos:
        return spark.read.parquet(str(path))
    # pandas writes nanosecond timestamps, which Spark refuses: read them as longs, convert
    from pyspark.sql import functions as F
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    df = spark.read.parquet(str(path))
    for c in nanos:
        df = df.withColumn(c, F.timestamp_micros(F.floor(F.col(c) / 1000)))
    return df


def _nanosecond_columns(path: Path) -> list[str]:
    """Columns stored as nanosecond timestamps in a local Parquet file or folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise ExportError(f"{path}: no .parquet files in the folder")
    try:
        schema = pq.read_schema(files[0])
    except (pa.ArrowInvalid, OSError) as e:
        raise ExportError(f"{files[0]}: not a readable Parquet file ({e})") from None
    return [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]


def _source_name(source) -> str:
    if isinstance(source, pd.DataFrame):
        return "<DataFrame>"
    return "<Spark DataFrame>" if hasattr(source, "rdd") else str(source)


def _rejects_path(output: str) -> str:
    p = Path(output)
    return str(p.with_name(f"{p.stem}.rejects{p.suffix or '.parquet'}"))


def score_on_spark(model, source, output, *, spark=None, as_of=None,
                   horizon_months: int = 12, risk_cutoffs=RISK_CUTOFFS,
                   partitions: int | None = None, batch_rows: int = CHUNKSIZE,
                   min_scored_fraction: float | None = MIN_SCORED_FRACTION) -> ExportSummary:
    """Score ``source`` on Spark and write scores and rejects as Parquet (or tables).

    Parameters
    ----------
    model : path or loaded model
        Any tobmodel model file; its JSON is broadcast to the executors.
    source : path (Parquet file or folder, ``.csv``), pandas or Spark DataFrame
        Features of active accounts (churn) or open leads, as for
        :func:`tobmodel.export.export_scores`.
    output : str
        A Parquet folder (``scores.parquet``; rejects beside it in
        ``scores.rejects.parquet``) or ``table:NAME`` for a catalog table
        (rejects in ``NAME_rejects``). Replaced if it exists.
    spark : SparkSession, optional
        Default: the active session, else a new ``local[2]`` one.
    as_of, horizon_months, risk_cutoffs
        As in :func:`tobmodel.export.export_scores`.
    partitions : int, optional
        At least this many partitions score in parallel (default: the
        session's default parallelism); an input read in fewer is spread out.
    batch_rows : int
        Rows per Arrow batch handed to the model (default 100,000, the
        single-machine chunk: the row checks have a cost per batch).
    min_scored_fraction : float, optional
        As in :func:`tobmodel.export.export_scores`: fail, replacing nothing,
        when fewer rows are scored than this fraction of what the output
        holds from the previous run (default 0.5; 0 or None: off); a run that
        scores no row always fails.

    Returns
    -------
    ExportSummary
        The same counts, reasons and training-drift figures (``drift``) as the
        single-machine run on the same rows.
    """
    from pyspark.sql import functions as F

    from .connect import spark_session
    started = time.perf_counter()
    spark = spark or spark_session()
    text = model_document_text(model)
    m = model_from_text(text)
    spec = spec_for_model(m)
    as_of_ts = resolve_as_of(m, as_of)
    if spec.kind == "churn":
        from ..export.guards import check_horizon
        horizon_months = check_horizon(horizon_months)
    df = _read(spark, source)
    input_columns = list(df.columns)
    needed = [spec.id_column, *(f["name"] for f in m.features_)]
    missing = [c for c in needed if c not in input_columns]
    if missing:
        raise ExportError(f"{source if isinstance(source, (str, Path)) else 'input'}: data does "
                          f"not match the model's features: missing column"
                          f"{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    run = {"as_of": as_of_ts.date(), "as_of_ts": as_of_ts, "model_id": m.model_id,
           "model_name": m.name, "model_version": str(getattr(m, "version", "")),
           "horizon_months": horizon_months, "source": _source_name(source)}
    sc = spark.sparkContext
    n_parts = partitions or sc.defaultParallelism
    union = _union_columns(spec)
    group = spec.group_column
    summary = ExportSummary(spec.kind, str(as_of_ts.date()), m.name, m.model_id,
                            run["model_version"], _source_name(source))
    target = _Target(spark, output)
    previous = target.previous_rows()  # before anything is replaced
    with _session_conf(spark, {
            # the single-machine chunk per Arrow batch
            "spark.sql.execution.arrow.maxRecordsPerBatch": str(batch_rows),
            # files read in at least n_parts splits (row groups permitting): no shuffle
            "spark.sql.files.minPartitionNum": str(n_parts),
            # the scoring pass written once, split by kind: no sort by kind before the write
            "spark.sql.optimizer.plannedWrite.enabled": "false",
            "spark.sql.maxConcurrentOutputFiles": "4"}):
        if _integral_id(df, spec.id_column):
            # no shuffle of the rows: duplicates from an aggregate of the ids, row numbers
            # from partition offsets (both small, broadcast)
            rows = df.withColumn("_mono", F.monotonically_increasing_id())
            offsets, total, dups = _offsets_and_duplicates(rows, spec.id_column)
            if len(offsets[0]) < n_parts:  # too few non-empty partitions for every core
                rows = rows.repartition(n_parts, F.col("_mono"))
            scorer = _partition_scorer(sc.broadcast(text), spec, run, horizon_months,
                                       risk_cutoffs, input_columns, sc.broadcast(offsets),
                                       sc.broadcast(dups))
        else:  # ids as text or floats: parsed by the row checks, so copies meet by a shuffle
            numbered, total = _with_row_numbers(df)
            rows = (numbered.repartition(n_parts, F.col(spec.id_column))
                    .sortWithinPartitions("_row"))
            scorer = _partition_scorer(sc.broadcast(text), spec, run, horizon_months,
                                       risk_cutoffs, input_columns)
        result = rows.mapInPandas(scorer, _ddl(union))
        # one scoring pass: a folder's is written once (staged), a table's is cached
        with target.staged(result) as passed:
            profiles = _count(summary, passed, spec, total)
            check_scored(summary.read, summary.scored, {target.describe(): previous},
                         min_scored_fraction, summary.rejects_by_reason)
            summary.destinations, summary.rejects_destinations = target.write(
                passed.filter(F.col(_KIND) == "score").select(*spec.columns),
                _rejects(passed, spec))
    drift = _TrainingDrift(m, spec, horizon_months)
    _merge_profiles(drift, profiles)
    summary.drift = drift.rows()
    fitted = m.as_of_
    summary.model_as_of = None if fitted is None else str(pd.Timestamp(fitted).date())
    summary.seconds = time.perf_counter() - started
    return summary


@contextmanager
def _session_conf(spark, conf: dict):
    """Set session settings for the run; the previous values come back afterwards."""
    before = {k: spark.conf.get(k, None) for k in conf}
    try:
        for k, v in conf.items():
            spark.conf.set(k, v)
        yield
    finally:
        for k, v in before.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def _rejects(passed, spec):
    """The reject rows of the scoring pass in the rejects layout (their JSON unpacked)."""
    from pyspark.sql import functions as F
    r = F.from_json(F.col(_PACKED), _REJECT_JSON)
    cols = {"row_number": r["row_number"], spec.id_column: r["id"], "as_of": F.col("as_of"),
            "model_name": F.col("model_name"), "model_id": F.col("model_id"),
            "reason": r["reason"], "field": r["field"], "value": r["value"]}
    return (passed.filter(F.col(_KIND) == "reject")
            .select(*[cols[c].alias(c) for c in spec.rejects_columns]))


def _count(summary: ExportSummary, passed, spec, total: int) -> list[str]:
    """Fill the summary's counts from the scoring pass; return the partitions' profiles.

    Three small jobs: score rows by group (only that column is read), reject rows
    by reason and field, and the few ``not_scored`` and ``profile`` rows.
    """
    from pyspark.sql import functions as F
    group = spec.group_column
    g = {r[group]: int(r["count"]) for r in passed.filter(F.col(_KIND) == "score")
         .groupBy(group).count().collect()}
    rj = _rejects(passed, spec).groupBy("reason", "field").count().toPandas()
    small = (passed.filter(F.col(_KIND).isin("not_scored", "profile"))
             .select(_KIND, _PACKED).toPandas())
    not_scored = [json.loads(t) for t in small.loc[small[_KIND] == "not_scored", _PACKED]]
    summary.read, summary.scored, summary.rejected = total, sum(g.values()), int(
        rj["count"].sum())
    summary.not_scored = {}
    for d in not_scored:
        summary.not_scored[d["reason"]] = summary.not_scored.get(d["reason"], 0) + d["rows"]
    label = rj["reason"].where(rj["field"].isna(), rj["reason"] + ": " + rj["field"])
    summary.rejects_by_reason = {str(k): int(v) for k, v in
                                 rj["count"].groupby(label.to_numpy()).sum().items()}
    order = ("high", "medium", "low") if summary.kind == "churn" else sorted(g)
    summary.groups = {k: g[k] for k in order if g.get(k)}
    skipped = sum(summary.not_scored.values())
    if summary.read != summary.scored + skipped + summary.rejected:  # pragma: no cover
        raise RuntimeError(f"row accounting broke on Spark: read {summary.read} != scored "
                           f"{summary.scored} + not scored {skipped} + rejected "
                           f"{summary.rejected}")
    return small.loc[small[_KIND] == "profile", _PACKED].tolist()


class _Target:
    """Where a Spark run writes: a Parquet folder (rejects beside it) or ``table:NAME``.

    Folders: the scoring pass is written once beside the target, split by row
    kind (:meth:`staged`); the counts are read from it, and only when the
    guards pass are its scores and the unpacked rejects swapped in (a failed
    run keeps last week's output). A table: the pass is cached, and each table
    replaced by the catalog's own overwrite.
    """

    def __init__(self, spark, output: str):
        self.spark, self.output = spark, str(output)
        self.table = self.output[len("table:"):] if self.output.startswith("table:") else None
        self.rejects = (f"{self.table}_rejects" if self.table else _rejects_path(self.output))
        self.tag = f".tmp-{uuid.uuid4().hex[:8]}"
        self.passed = self.output + self.tag + "-pass"  # the scoring pass, split by kind

    def describe(self) -> str:
        return f"table {self.table}" if self.table else f"{self.output} (Parquet)"

    def previous_rows(self) -> int | None:
        """Rows the last run wrote here (None if nothing is there or it cannot be read)."""
        try:
            if self.table:
                if not self.spark.catalog.tableExists(self.table):
                    return None
                return self.spark.table(self.table).count()
            if not self._fs(self.output).exists(self._path(self.output)):
                return None
            return self.spark.read.parquet(self.output).count()
        except Exception:  # noqa: BLE001 - an unreadable old output only turns the check off
            return None

    @contextmanager
    def staged(self, result):
        """The scoring pass, computed once: the frame the counts and outputs are read from."""
        if self.table:
            from pyspark import StorageLevel
            result = result.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                yield result
            finally:
                result.unpersist()
            return
        try:
            (result.write.mode("overwrite").partitionBy(_KIND).option("compression", "zstd")
             .parquet(self.passed))
            yield self.spark.read.parquet(self.passed)
        finally:
            self._delete(self.passed)

    def write(self, scores, rejects):
        """Replace the output with ``scores`` and ``rejects`` (rows of the staged pass)."""
        if self.table:
            scores.write.mode("overwrite").saveAsTable(self.table)
            rejects.write.mode("overwrite").saveAsTable(self.rejects)
            return [self.describe()], [f"table {self.rejects}"]
        new_scores, new_rejects = self.output + self.tag, self.rejects + self.tag
        written = f"{self.passed}/{_KIND}=score"
        try:  # rejects first: they are read from the pass the scores are moved out of
            rejects.write.mode("overwrite").option("compression", "zstd").parquet(new_rejects)
            if self._fs(written).exists(self._path(written)):  # already written: moved
                self._move(written, new_scores)
                self._fs(new_scores).create(self._path(f"{new_scores}/_SUCCESS")).close()
            else:
                scores.write.mode("overwrite").option("compression", "zstd").parquet(new_scores)
        except BaseException:
            for tmp in (new_scores, new_rejects):
                self._delete(tmp)
            raise
        for tmp, final in ((new_scores, self.output), (new_rejects, self.rejects)):
            self._delete(final)
            self._move(tmp, final)
        return [self.describe()], [f"{self.rejects} (Parquet)"]

    def _move(self, source: str, target: str) -> None:
        if not self._fs(source).rename(self._path(source), self._path(target)):
            raise ExportError(f"{target}: cannot move the new output into place "
                              f"(it is in {source})")

    def _path(self, path: str):
        return self.spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)

    def _fs(self, path: str):
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        return self._path(path).getFileSystem(conf)

    def _delete(self, path: str) -> None:
        fs = self._fs(path)
        if fs.exists(self._path(path)):
            fs.delete(self._path(path), True)
