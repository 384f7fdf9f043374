"""The sketch stage on Spark: parsed documents -> `sketch_texts` per Arrow batch, written as Parquet."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import astuple
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semel.config import DedupConfig
from semel.engines.dedup_steps import (
    sketch_texts,
)
from semel.engines.spark import pieces
from semel.engines.spark.arrays import (
    mini_col,
    names,
    packed,
)
from semel.engines.spark.fs import files_for
from semel.engines.spark.read import PARSED_SCHEMA, parse_task, piece_task
from semel.engines.spark.session import parallelism
from semel.engines.workdir import WorkDir
from semel.errors import SemelError
from semel.startup import numpy_small_pages

SKETCH_SCHEMA = ("piece int, file int, lrow long, line long, id string, exact0 long, exact1 long, "
                 "bands binary, length long, nbytes long, priority double, seq binary, mini binary, "
                 "err string, fatal boolean")



def sketch_task(cfg: DedupConfig) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: parsed documents -> the sketch of each (`sketch_texts`, as the embedded engine)."""
    bands, _ = cfg.band_rows

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        numpy_small_pages()  # a worker process that runs semel's tasks only
        for batch in batches:
            errs = batch.column("err").is_valid()
            if pc.any(errs).as_py():
                bad = batch.filter(errs)
                n = bad.num_rows
                yield pa.RecordBatch.from_arrays([
                    bad.column("piece"), bad.column("file"), bad.column("lrow"), bad.column("line"),
                    pa.nulls(n, pa.string()),
                    pa.nulls(n, pa.int64()), pa.nulls(n, pa.int64()), pa.nulls(n, pa.binary()),
                    pa.nulls(n, pa.int64()), pa.nulls(n, pa.int64()), pa.nulls(n, pa.float64()),
                    pa.nulls(n, pa.binary()), pa.nulls(n, pa.binary()), bad.column("err"),
                    bad.column("fatal")], names=names(SKETCH_SCHEMA))
                batch = batch.filter(pc.invert(errs))
            n = batch.num_rows
            if n == 0:
                continue
            texts = batch.column("text")
            nbytes = pc.binary_length(texts).cast(pa.int64())
            sk = sketch_texts(texts, cfg)
            exact = np.ascontiguousarray(sk.exact).view(np.int64)
            # each document's band keys packed as bytes: the JVM moves one value, not an array of longs
            keys = np.ascontiguousarray(sk.bands.T).view(np.uint32).reshape(-1)
            band_col = packed(np.arange(n + 1, dtype=np.int64) * (2 * bands), keys)
            if cfg.keep == "first":
                priority = np.zeros(n)  # -row, set once rows are global
            elif cfg.keep == "longest":
                priority = sk.lengths.astype(np.float64)
            else:
                priority = batch.column("fieldval").to_numpy(zero_copy_only=False)
            yield pa.RecordBatch.from_arrays([
                batch.column("piece"), batch.column("file"), batch.column("lrow"), batch.column("line"),
                batch.column("id"),
                pa.array(exact[:, 0]), pa.array(exact[:, 1]), band_col, pa.array(sk.lengths.astype(np.int64)),
                nbytes, pa.array(priority, pa.float64()), packed(sk.seq_offsets, sk.seq), mini_col(sk.mini),
                pa.nulls(n, pa.string()), pa.nulls(n, pa.bool_())], names=names(SKETCH_SCHEMA))

    return task



def _then(first: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
          second: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]
          ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """One mapInArrow task running `second` on what `first` yields."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return second(first(batches))

    return task


def stage_sketch(spark: Any, cfg: DedupConfig, work: WorkDir, files: list[tuple[str, str, str]]
                 ) -> dict:
    from pyspark.sql import functions as F

    fs = files_for(spark)

    large = spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false").lower() == "true"
    parallel = parallelism(spark)
    paths = pieces.local_inputs(fs, files)
    out = work.path("sketch")
    if paths is not None:  # many tasks per file, each reading and sketching its own piece: the text never
        # leaves the Python worker that read it (no shuffle, no trip through the JVM)
        size = pieces.piece_bytes(spark, sum(os.path.getsize(p) for p in paths), parallel)
        planned = pieces.plan(files, paths, size)
        pieces.number_lines(spark, planned)
        sketched = pieces.frame(spark, planned).mapInArrow(_then(piece_task(cfg, large), sketch_task(cfg)),
                                                           SKETCH_SCHEMA)
        n_pieces = len(planned)
    else:  # a filesystem only Spark reads: one whole file per task
        table = {uri: (i, display, fmt) for i, (uri, display, fmt) in enumerate(files)}
        raw = (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content"))
        parsed = raw.repartition(max(1, len(files)), "path").mapInArrow(
            parse_task(table, cfg, large), PARSED_SCHEMA)
        if len(files) < 2 * parallel:  # few big files: spread the documents before the costly part
            parsed = parsed.repartition(2 * parallel, F.col("lrow"))
        sketched = parsed.mapInArrow(sketch_task(cfg), SKETCH_SCHEMA)
        planned, n_pieces = [], len(files)
    sketched.write.mode("overwrite").parquet(out)
    sk = spark.read.parquet(out)
    # one job for everything the driver needs: the error rows, and per piece its documents and bytes
    zero = F.lit(0).cast("long")
    summary = (sk.where(F.col("err").isNotNull()).select(F.lit(-1).alias("piece"), "file", "line", "err",
                                                         "fatal", zero.alias("n"), zero.alias("nbytes"),
                                                         zero.alias("nofield"))
               .unionByName(sk.where(F.col("err").isNull()).groupBy("piece", "file").agg(
                   F.count(F.lit(1)).alias("n"), F.sum("nbytes").alias("nbytes"),
                   F.sum((F.col("priority") == float("-inf")).cast("long")).alias("nofield"))
                   .select("piece", "file", F.lit(None).cast("long").alias("line"), F.lit(None).cast("string")
                           .alias("err"), F.lit(None).cast("boolean").alias("fatal"), "n", "nbytes",
                           "nofield"))
               .collect())
    errs = sorted((r for r in summary if r["err"] is not None),
                  key=lambda r: (r["file"], -1 if r["line"] is None else r["line"]))
    fatal = [e for e in errs if e["fatal"]]
    if fatal:
        fs.delete(out)
        raise SemelError(fatal[0]["err"])
    counts = {r["piece"]: r["n"] for r in summary if r["err"] is None}
    nbytes = sum(int(r["nbytes"] or 0) for r in summary if r["err"] is None)
    info = {"counts": [int(counts.get(i, 0)) for i in range(n_pieces)], "bytes": int(nbytes),
            "pieces": [astuple(p) for p in planned],
            "errors": [[files[e["file"]][1], e["line"], e["err"]] for e in errs],
            "no_keep_field": sum(int(r["nofield"] or 0) for r in summary if r["err"] is None)}
    work.mark_done("sketch", info)
    return info


def documents(spark: Any, cfg: DedupConfig, work: WorkDir, info: dict) -> Any:
    """The sketch with global row numbers (piece base + row in piece), as the embedded reader numbers them."""
    from pyspark.sql import functions as F

    bases = np.concatenate([[0], np.cumsum(info["counts"])[:-1]]).astype(int).tolist()
    base_df = spark.createDataFrame([(i, int(b)) for i, b in enumerate(bases)], "piece int, base long")
    sk = spark.read.parquet(work.path("sketch")).where(F.col("err").isNull())
    docs = sk.join(F.broadcast(base_df), "piece").withColumn("row", F.col("base") + F.col("lrow"))
    if cfg.keep == "first":
        docs = docs.withColumn("priority", -F.col("row").cast("double"))
    return docs
