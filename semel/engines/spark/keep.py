"""The keep stage on Spark: whole components through `semel.grouping.assign_components`, then the one
clusters.parquet file the embedded engine writes."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from semel import grouping
from semel.config import DedupConfig
from semel.engines.dedup_steps import (
    CLUSTERS_FILE,
)
from semel.engines.spark.against import mark_seen, stage_lookup
from semel.engines.spark.arrays import exact_of, minis_of, ragged
from semel.engines.spark.cluster import run_weights
from semel.engines.spark.fs import HadoopFiles, files_for, join
from semel.engines.spark.sketch import documents
from semel.engines.workdir import WorkDir
from semel.lsh import VERDICT_NAMES, Scratch, longest_document
from semel.rejected import REJECTED_FILE
from semel.weights import (
    Weights,
)


def assign_task(cfg: DedupConfig, weights: Weights) -> Callable[[Iterator[pa.RecordBatch]],
                                                                Iterator[pa.RecordBatch]]:
    """mapInArrow task: whole components, rows sorted by (label, keep-priority order) -> (row, kept_row,
    sim) by the embedded engine's own `semel.grouping.assign_components`."""
    rule = cfg.rule()

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        filled = [b for b in batches if b.num_rows]
        if not filled:  # a partition with no component (or only empty batches)
            return
        table = pa.Table.from_batches(filled)
        labels = table.column("label").to_numpy()
        rows = table.column("row").to_numpy()
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        comp_offsets = np.r_[starts, len(labels)].astype(np.int64)
        off, val = ragged(table.column("seq"))
        mini = minis_of(table.column("mini"))
        exact = exact_of(table)
        members = np.arange(table.num_rows, dtype=np.int64)
        min_agree = cfg.min_agree(mini.shape[1])
        kept = np.empty(table.num_rows, dtype=np.int64)
        sim = np.empty(table.num_rows, dtype=np.float64)
        grouping.assign_components(comp_offsets, members, off, val,
                                   exact, cfg.exact,
                                   np.ascontiguousarray(mini), min_agree, rule, weights.arrays(),
                                   Scratch(longest_document(off)).arrays(), grouping.Verdicts.none().arrays(),
                                   kept, sim)
        yield pa.RecordBatch.from_arrays([pa.array(rows), pa.array(rows[kept]), pa.array(np.round(sim, 6))],
                                         names=["row", "kept_row", "sim"])

    return task


def stage_keep(spark: Any, cfg: DedupConfig, work: WorkDir, info: dict) -> None:
    from pyspark.sql import functions as F

    fs = files_for(spark)

    docs = documents(spark, cfg, work, info).select("row", "id", "priority", "exact0", "exact1", "seq",
                                                    "mini", "piece", "file", "line")
    labels = spark.read.parquet(work.path("cluster", "labels"))
    lab = (docs.join(labels.withColumnRenamed("node", "row"), "row", "left")
           .withColumn("label", F.coalesce("label", "row")))
    weights = run_weights(spark, cfg, work)
    # documents the index already holds: looked up map-side, kept by none
    seen = stage_lookup(spark, cfg, work, info) if cfg.against else None
    # inside each component, the greedy pass of semel.grouping in keep-priority order (highest priority,
    # then smallest id, then first row; documents found in the index last): every removed document is
    # verified against its kept one
    sizes = lab.groupBy("label").agg(F.count(F.lit(1)).alias("n")).where("n > 1").select("label")
    multi = lab.join(sizes, "label").withColumn("negp", -F.col("priority"))
    if seen is None:
        multi = multi.withColumn("seen", F.lit(0))
    else:
        multi = (multi.join(seen.select("row", F.lit(1).alias("seen")), "row", "left")
                 .withColumn("seen", F.coalesce("seen", F.lit(0))))
    assigned = (multi.select("label", "row", "id", "negp", "seen", "exact0", "exact1", "seq", "mini")
                .repartition("label")
                .sortWithinPartitions("label", "seen", F.asc_nulls_last("negp"), "id", "row")
                .mapInArrow(assign_task(cfg, weights), "row long, kept_row long, sim double"))
    # written once: three branches below read it, and Spark would run the greedy pass for each
    assigned.write.mode("overwrite").parquet(work.path("keep", "assigned"))
    assigned = spark.read.parquet(work.path("keep", "assigned"))
    c = (lab.join(assigned, "row", "left")
         .withColumn("kept_row", F.coalesce("kept_row", "row"))
         .withColumn("sim", F.coalesce("sim", F.lit(1.0))))
    keepers = c.select(F.col("row").alias("kept_row"), F.col("id").alias("cluster"),
                       F.col("exact0").alias("k0"), F.col("exact1").alias("k1"))
    size = c.groupBy("kept_row").agg(F.count(F.lit(1)).alias("cluster_size"))
    clusters = (c.join(keepers, "kept_row").join(size, "kept_row")
                .withColumn("kept", F.col("row") == F.col("kept_row"))
                .withColumn("same_exact", (F.col("exact0") == F.col("k0")) & (F.col("exact1") == F.col("k1")))
                .withColumn("similarity", F.when(F.col("kept") | F.col("same_exact"), F.lit(1.0))
                            .otherwise(F.col("sim")))
                .withColumn("reason", F.when(F.col("kept"), F.when(F.col("cluster_size") > 1, "original")
                                             .otherwise("unique"))
                            .when(F.col("same_exact"), "exact").otherwise("near")))
    if seen is not None:
        clusters = mark_seen(clusters, seen)
    table_dir = work.path("keep", "clusters")
    clusters.select("row", "id", "cluster", "kept", "reason", "similarity", "cluster_size", "piece", "file",
                    "line") \
        .write.mode("overwrite").parquet(table_dir)
    # one parquet FILE like the embedded engine's: one task writes it, in input order (5 small columns)
    single = work.path("keep", "single")
    (spark.read.parquet(table_dir).repartition(1).sortWithinPartitions("row")
     .select("id", "cluster", "kept", "reason", "similarity", F.col("cluster_size").cast("long"))
     .write.mode("overwrite").option("compression", "zstd").parquet(single))
    parts = fs.parts(single, ".parquet")
    fs.move(parts[0], join(cfg.output, CLUSTERS_FILE))
    _write_rejected(spark, work, labels, fs, join(cfg.output, REJECTED_FILE))
    work.mark_done("keep", {})


def _write_rejected(spark: Any, work: WorkDir, labels: Any, fs: HadoopFiles, path: str) -> None:
    """OUT/rejected.parquet as the embedded engine writes it (semel.rejected.rejected_table): verified
    candidates that failed a test and ended in different components, one file sorted by (a, b)."""
    from pyspark.sql import functions as F

    single = work.path("keep", "rejected")
    test = F.element_at(F.array(*map(F.lit, VERDICT_NAMES)), F.col("code") + 1)  # semel.lsh's verdict codes
    columns = [F.col("a"), F.col("b"), test.alias("test"), F.col("sim").cast("float").alias("similarity")]
    edges_dir = work.path("cluster", "edges")
    edges = (spark.read.parquet(edges_dir).where("code > 0") if fs.exists(edges_dir)  # none without a stage
             else spark.createDataFrame([], "a long, b long, code byte, sim double"))
    la = labels.select(F.col("node").alias("a"), F.col("label").alias("la"))
    lb = labels.select(F.col("node").alias("b"), F.col("label").alias("lb"))
    rejected = (edges.join(la, "a", "left").join(lb, "b", "left")
                .where(F.coalesce("la", "a") != F.coalesce("lb", "b")))
    (rejected.select(*columns).repartition(1).sortWithinPartitions("a", "b")
     .write.mode("overwrite").option("compression", "zstd").parquet(single))
    fs.move(fs.parts(single, ".parquet")[0], path)
