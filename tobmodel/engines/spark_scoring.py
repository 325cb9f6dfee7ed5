"""Score on Spark: the model's JSON document broadcast, applied per partition with mapInPandas.

Fitting stays on one machine; scoring goes where the rows are. Each
executor rebuilds the model from the broadcast document (plain JSON: loading
runs no code) and hands each Arrow batch to the same row checks and scoring
as the single-machine job (:mod:`tobmodel.export.runner`), so scores agree
with ``tobmodel score`` to the last few bits and every row is accounted for
the same way: ``read == scored + rejected``, with the same reasons.

Row order and duplicates: rows are numbered in the Spark DataFrame's order
(one Parquet file reads in file order) and shuffled by id, so all copies of
an id meet in one partition, sorted by row number: the first is kept, the
others are rejected as ``duplicate id``, as on one machine.

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
from pathlib import Path

import numpy as np
import pandas as pd

from ..export.inputs import load_scoring_model, resolve_as_of
from ..export.runner import ExportSummary, _Job
from ..export.specs import CHUNKSIZE, RISK_CUTOFFS, ExportError, spec_for_model

_SPARK_TYPES = {"int": "long", "float": "double", "str": "string", "date": "date",
                "bool": "boolean"}
_REJECT_ONLY = {"row_number": "int", "reject_id": "str", "reason": "str", "field": "str",
                "value": "str"}
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
    return {**spec.columns, **_REJECT_ONLY, "_kind": "str"}


def _ddl(columns: dict) -> str:
    return ", ".join(f"`{c}` {_SPARK_TYPES[k]}" for c, k in columns.items())


def _with_row_numbers(df):
    """Add ``_row``: 1-based row number in the DataFrame's partition order."""
    from pyspark.sql import functions as F
    df = df.withColumn("_mono", F.monotonically_increasing_id())
    low = (1 << 33) - 1
    counts = (df.groupBy((F.col("_mono") / F.lit(1 << 33)).cast("long").alias("pid"))
              .agg(F.count(F.lit(1)).alias("n")).collect())
    offsets, total = {}, 0
    for r in sorted(counts, key=lambda r: r["pid"]):
        offsets[int(r["pid"])], total = total, total + int(r["n"])
    pid = (F.col("_mono") / F.lit(1 << 33)).cast("long")
    offset = F.lit(0).cast("long")
    for p, o in offsets.items():
        offset = F.when(pid == p, F.lit(o).cast("long")).otherwise(offset)
    row = offset + F.col("_mono").bitwiseAND(F.lit(low)) + 1
    return df.withColumn("_row", row).drop("_mono"), total


def _partition_scorer(text_bc, spec, run, horizon_months, risk_cutoffs, input_columns):
    union = _union_columns(spec)

    def score_partition(batches):
        from ..export.specs import typed_frame
        model = model_from_text(text_bc.value)
        job = _Job(model, spec, run, None, horizon_months, risk_cutoffs)
        for batch in batches:
            rows = batch["_row"].to_numpy(np.int64)
            chunk = batch[input_columns].reset_index(drop=True)
            before = dict(job.not_scored)
            scores, rejects = job.process(chunk, 0)
            # churned accounts / closed leads: one marker row each, counted as not scored
            skipped = {k: v - before.get(k, 0) for k, v in job.not_scored.items()
                       if v > before.get(k, 0)}
            scores = scores.assign(_kind="score")
            if len(rejects):
                rejects = rejects.assign(
                    row_number=rows[rejects["row_number"].to_numpy(np.int64) - 1],
                    reject_id=rejects[spec.id_column], _kind="reject")
                rejects = rejects.drop(columns=[spec.id_column])
            else:
                rejects = rejects.drop(columns=[spec.id_column]).assign(
                    reject_id=pd.Series(dtype=object), _kind=pd.Series(dtype=object))
            out = pd.concat([scores, rejects, pd.DataFrame({
                "reason": np.repeat(np.array(list(skipped), dtype=object),
                                    list(skipped.values())).astype(object),
                "_kind": "not_scored"})], ignore_index=True)
            for c, k in union.items():
                if c not in out:
                    out[c] = None
                elif k == "date" and out[c].dtype.kind != "M":  # Arrow casts to date32
                    out[c] = pd.to_datetime(out[c])
                elif k in ("int", "bool") and out[c].isna().any():
                    out[c] = out[c].astype(object).where(out[c].notna(), None)
            yield out[list(union)]

    return score_partition


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
                   partitions: int | None = None, batch_rows: int = CHUNKSIZE
                   ) -> ExportSummary:
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
        Partitions of the shuffle by id (default: the session's default
        parallelism).
    batch_rows : int
        Rows per Arrow batch handed to the model (default 100,000, the
        single-machine chunk: the row checks have a cost per batch).

    Returns
    -------
    ExportSummary
        The same counts and reasons as the single-machine run on the same rows
        (the training-drift profile and the scored-fraction guard of
        :func:`tobmodel.export.export_scores` are not computed on Spark).
    """
    from pyspark import StorageLevel
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
    numbered, total = _with_row_numbers(df)
    n_parts = partitions or spark.sparkContext.defaultParallelism
    shuffled = numbered.repartition(n_parts, F.col(spec.id_column)).sortWithinPartitions("_row")
    scorer = _partition_scorer(spark.sparkContext.broadcast(text), spec, run, horizon_months,
                               risk_cutoffs, input_columns)
    union = _union_columns(spec)
    batch_key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    batch_before = spark.conf.get(batch_key, None)
    spark.conf.set(batch_key, str(batch_rows))  # the single-machine chunk size
    result = shuffled.mapInPandas(scorer, _ddl(union)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        scores = result.filter(F.col("_kind") == "score").select(*spec.columns)
        rejects = (result.filter(F.col("_kind") == "reject")
                   .select("row_number", F.col("reject_id").alias(spec.id_column),
                           *[c for c in spec.rejects_columns if c not in ("row_number",
                                                                          spec.id_column)]))
        dest, rej_dest = _write(scores, rejects, output)
        counts = result.groupBy("_kind", "reason", "field",
                                "risk_tier" if spec.kind == "churn" else "grade").count()
        counts = counts.toPandas()
    finally:
        result.unpersist()
        if batch_before is None:
            spark.conf.unset(batch_key)
        else:
            spark.conf.set(batch_key, batch_before)
    summary = ExportSummary(spec.kind, str(as_of_ts.date()), m.name, m.model_id,
                            run["model_version"], _source_name(source), destinations=[dest],
                            rejects_destinations=[rej_dest])
    group = "risk_tier" if spec.kind == "churn" else "grade"
    sc = counts.loc[counts["_kind"] == "score"]
    rj = counts.loc[counts["_kind"] == "reject"]
    summary.read, summary.scored, summary.rejected = total, int(sc["count"].sum()), int(
        rj["count"].sum())
    ns = counts.loc[counts["_kind"] == "not_scored"]
    summary.not_scored = {str(k): int(v) for k, v in
                          ns.groupby("reason")["count"].sum().items()}
    label = rj["reason"].where(rj["field"].isna(), rj["reason"] + ": " + rj["field"])
    summary.rejects_by_reason = {str(k): int(v) for k, v in
                                 rj["count"].groupby(label.to_numpy()).sum().items()}
    g = sc.groupby(group)["count"].sum()
    order = ("high", "medium", "low") if spec.kind == "churn" else sorted(g.index)
    summary.groups = {k: int(g[k]) for k in order if k in g.index and g[k]}
    summary.seconds = time.perf_counter() - started
    skipped = sum(summary.not_scored.values())
    if summary.read != summary.scored + skipped + summary.rejected:  # pragma: no cover
        raise RuntimeError(f"row accounting broke on Spark: read {summary.read} != scored "
                           f"{summary.scored} + not scored {skipped} + rejected "
                           f"{summary.rejected}")
    return summary


def _write(scores, rejects, output: str):
    if str(output).startswith("table:"):
        name = str(output)[len("table:"):]
        scores.write.mode("overwrite").saveAsTable(name)
        rejects.write.mode("overwrite").saveAsTable(f"{name}_rejects")
        return f"table {name}", f"table {name}_rejects"
    scores.write.mode("overwrite").parquet(str(output))
    rej = _rejects_path(str(output))
    rejects.write.mode("overwrite").parquet(rej)
    return f"{output} (Parquet)", f"{rej} (Parquet)"
