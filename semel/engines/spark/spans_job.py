"""`semel lines` and `semel substrings` on Spark, from files to one output file like the embedded jobs'.

1. parse: every input through semel's readers (semel.engines.spark.read), documents numbered as the
   embedded engine numbers them (file order, then record order);
2. decide, across the whole collection: `lines_spark` (unit hashes counted by a group-by) or
   `substrings_spark` (documents sharing a k-token window co-located, suffix array per partition); the
   new texts and the provenance columns are written per input file under a work folder;
3. write: one task per input file reads it again and writes its records with the decided texts and
   columns through the embedded writer (other fields passed through byte for byte), and the parts are
   joined in input order into OUTPUT (a local path, as for `repair --engine spark`).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from semel.config import DedupConfig
from semel.engines.spark.fs import files_for, local_path
from semel.engines.spark.read import PARSED_SCHEMA, file_tables, input_files, parse_task
from semel.engines.spark.session import get_spark, parallelism
from semel.engines.spark.write import merge_local
from semel.errors import SemelError
from semel.io import CHANGED, TEXT, ErrorLog, InputSpec, open_writer
from semel.io.formats import output_format_for

SPAN = pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64())]))
#: The columns each job adds, in the embedded job's order (CHANGED last, as the writer expects).
COLUMNS = {
    "substrings": ("substrings_removed", "substrings_removed_chars"),
    "lines": ("lines_removed", "chars_removed", "original_nlines", "original_length", "lines_removed_spans"),
}


def run_spans_job(job: str, inputs: list[str], output: str, *, id_field: str = "id", text_field: str = "text",
                  on_error: str = "fail", batch_size: int = 8192, master: str | None = None,
                  conf: dict | list | None = None, spark: Any = None, **settings: Any) -> dict[str, Any]:
    """Run `lines` or `substrings` (`job`) on Spark; returns the summary counts (documents, changed, ...)."""
    if output == "-":
        raise SemelError(f"{job} on Spark writes to a file (-o)")
    start = time.perf_counter()
    spark = get_spark(master, conf, spark)
    fs = files_for(spark)
    if not fs.is_local(output):
        raise SemelError(f"{job} on Spark writes a local output path")
    cfg = DedupConfig(inputs=list(inputs), output=output, id_field=id_field, text_field=text_field,
                      on_error=on_error, batch_size=batch_size)
    files = input_files(cfg, fs)
    fmt = output_format_for(files[0][2], output)
    if fmt not in ("jsonl", "parquet"):
        raise SemelError(f"{job} on Spark writes JSONL or Parquet")
    out_dir = os.path.dirname(os.path.abspath(output))
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".semel-{job}-", dir=out_dir)
    try:
        docs, errors = _parse(spark, cfg, files, work)
        decided = _decide(job, docs, settings)
        results = os.path.join(work, "results")
        (decided.repartition("file").sortWithinPartitions("file", "lrow")
         .write.partitionBy("file").mode("overwrite").parquet(results))
        table = {uri: (i, display, f) for i, (uri, display, f) in enumerate(files)}
        spec = InputSpec(paths=[], id_field=id_field, text_field=text_field, on_error=on_error,
                         batch_size=batch_size)
        parallel = max(1, min(len(files), parallelism(spark) * 4))
        rows = (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content")
                .repartition(parallel, "path")
                .mapInArrow(_write_task(job, table, results, work, spec, fmt, settings),
                            "file int, summary string").collect())
        suffix = ".parquet" if fmt == "parquet" else ".txt"
        parts = [os.path.join(work, f"part-{i:06d}") for i in range(len(files))]
        merge_local(parts, output, suffix)
        summary: dict[str, Any] = {}
        for r in rows:
            for key, value in json.loads(r["summary"]).items():
                summary[key] = summary.get(key, 0) + value
        summary["skipped"] = errors.count
        if errors.count:
            summary["errors_path"] = output.rstrip("/") + ".errors.jsonl"
            errors.write(summary["errors_path"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    return summary


def _parse(spark: Any, cfg: DedupConfig, files: list[tuple[str, str, str]], work: str
           ) -> tuple[Any, ErrorLog]:
    """Documents (file, lrow, pos, text) numbered in input order, and the records skipped."""
    from pyspark.sql import functions as F

    table = {uri: (i, display, fmt) for i, (uri, display, fmt) in enumerate(files)}
    parsed_dir = os.path.join(work, "parsed")
    (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content")
     .repartition(max(1, len(files)), "path").mapInArrow(parse_task(table, cfg, False), PARSED_SCHEMA)
     .write.parquet(parsed_dir))
    parsed = spark.read.parquet(parsed_dir)
    ok = parsed.where(F.col("err").isNull())
    bad = parsed.where(F.col("err").isNotNull())
    summary = (bad.select("file", "line", "err", "fatal", F.lit(0).alias("n"))
               .unionByName(ok.groupBy("file").agg(F.count(F.lit(1)).alias("n"))
                            .select("file", F.lit(None).cast("long").alias("line"),
                                    F.lit(None).cast("string").alias("err"),
                                    F.lit(None).cast("boolean").alias("fatal"), "n"))
               .collect())
    errs = sorted((r for r in summary if r["err"] is not None),
                  key=lambda r: (r["file"], -1 if r["line"] is None else r["line"]))
    fatal = [e for e in errs if e["fatal"]]
    if fatal:
        raise SemelError(fatal[0]["err"])
    errors = ErrorLog()
    for e in errs:
        errors.add(files[e["file"]][1], e["line"], e["err"])
    counts = {r["file"]: r["n"] for r in summary if r["err"] is None}
    bases = np.concatenate([[0], np.cumsum([counts.get(i, 0) for i in range(len(files))])[:-1]]).astype(int)
    base_df = spark.createDataFrame([(i, int(b)) for i, b in enumerate(bases)], "file int, base long")
    docs = (parsed.where(F.col("err").isNull()).join(F.broadcast(base_df), "file")
            .select("file", "lrow", (F.col("base") + F.col("lrow")).alias("pos"), "text"))
    return docs, errors


def _decide(job: str, docs: Any, settings: dict[str, Any]) -> Any:
    """(file, lrow, text, the job's columns) for every document, decided across the whole collection."""
    from semel.engines.spark_spans import lines_spark, substrings_spark

    if job == "substrings":
        out = substrings_spark(docs, order_col="pos", **settings)
    else:
        out, _ = lines_spark(docs, order_col="pos", **settings)
    return out.select("file", "lrow", "text", *COLUMNS[job])


def _write_task(job: str, files: dict[str, tuple[int, str, str]], results: str, work: str, spec: InputSpec,
                fmt: str, settings: dict[str, Any]
                ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: an input file's bytes -> its records with the decided texts and columns, written
    by the embedded writer to part-<file index> under `work`."""
    mark = settings.get("mode") == "mark"

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for i, path in enumerate(batch.column("path").to_pylist()):
                index, display, f = files[path]
                folder = os.path.join(local_path(results), f"file={index}")
                decided = (pq.read_table(folder).sort_by("lrow") if os.path.isdir(folder)
                           else pa.table({"lrow": pa.array([], pa.int64())}))
                counts = {"documents": 0, "changed": 0, "chars_removed": 0}
                part = os.path.join(work, f"part-{index:06d}")
                with open_writer(part, format=fmt, text_field=spec.text_field, id_field=spec.id_field) as out:
                    lo = 0
                    for t in file_tables(index, display, f, batch.column("content")[i].as_py(), spec,
                                         ErrorLog()):
                        for b in t.to_batches():
                            rows = decided.slice(lo, b.num_rows)
                            lo += b.num_rows
                            b = _with_columns(job, b, rows, mark)
                            counts["documents"] += b.num_rows
                            counts["changed"] += int(pc.sum(b.column(CHANGED)).as_py() or 0)
                            chars = rows.column("substrings_removed_chars" if job == "substrings"
                                                else "chars_removed")
                            counts["chars_removed"] += int(pc.sum(chars).as_py() or 0)
                            out.write(b)
                yield pa.RecordBatch.from_arrays(
                    [pa.array([index], pa.int32()), pa.array([json.dumps(counts)])],
                    names=["file", "summary"])

    return task


def _with_columns(job: str, batch: pa.RecordBatch, rows: pa.Table, mark: bool) -> pa.RecordBatch:
    """A canonical batch with the decided text and the job's columns, as the embedded job writes it."""
    if not mark:
        idx = batch.schema.get_field_index(TEXT)
        texts = rows.column("text").combine_chunks().cast(batch.schema.field(TEXT).type)
        batch = batch.set_column(idx, TEXT, texts)
    for name in COLUMNS[job]:
        col = rows.column(name).combine_chunks()
        batch = batch.append_column(name, col.cast(SPAN) if name.endswith(("_removed", "_spans")) and
                                    pa.types.is_list(col.type) else col.cast(pa.int64()))
    if job == "substrings":
        changed = (pc.greater(rows.column("substrings_removed_chars"), 0).combine_chunks() if not mark
                   else pa.array(np.zeros(batch.num_rows, bool)))
    else:
        changed = pc.greater(rows.column("lines_removed"), 0).combine_chunks()
    return batch.append_column(CHANGED, changed)
