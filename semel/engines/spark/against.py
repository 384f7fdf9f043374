"""`--against`, `--update-index` and `--index` on Spark: the embedded engine's rules, scheduled.

- **Lookups** run map-side: each task opens the index itself (a path every executor can read, like the
  input pieces) and looks its documents up with the embedded engine's `Index.lookup`, so a document is
  `seen` on Spark exactly when it is in a local run. Only the matches (row, indexed id, similarity) leave the
  task; the index is never shuffled.
- **Weights** are the index's, frozen when it was built (semel.index.against), for the lookups and for the
  run's own pairs alike: the cluster stage counts nothing.
- **Keep**: seen documents are visited last in each component's greedy pass (none is kept in another's
  place) and then marked as `semel.index.against.mark_seen` marks them, in Spark SQL.
- **Index files** are one machine's files (what `semel serve` and `--against` open), so once the run's
  outputs are written the sketch rows are streamed to the driver's local disk in the embedded engine's
  work-folder layout and the embedded builder (`after_run`) writes or appends the segment.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from semel.config import DedupConfig
from semel.engines.spark.arrays import exact_of, minis_of, ragged
from semel.engines.spark.fs import local_path
from semel.engines.spark.sketch import documents
from semel.engines.workdir import DONE_FILE, WORK_MANIFEST, WorkDir
from semel.index.against import SEEN, after_run
from semel.sketch import Sketch

SEEN_SCHEMA = "row long, seen_id string, seen_sim double"
# under the work folder's own stage folders (what a finished run removes): the lookups' matches, and the
# run's sketch rows in the embedded engine's layout for the index builder
SEEN_DIR = ("keep", "against")
EXPORT_DIR = ("write", "export")
STAGED_DIR = ("write", "export-rows")


def sketch_of(batch: pa.RecordBatch | pa.Table) -> Sketch:
    """The embedded engine's Sketch of sketch rows (exact0/1, packed bands, seq and mini columns)."""
    n = batch.num_rows
    keys = ragged(batch.column("bands"))[1].view(np.uint64)  # packed uint32 pairs: one uint64 a band
    bands = np.ascontiguousarray(keys.reshape(n, -1).T) if n else np.zeros((0, 0), np.uint64)
    offsets, seq = ragged(batch.column("seq"))
    return Sketch(exact=exact_of(batch), bands=bands, seq_offsets=offsets, seq=seq,
                  mini=np.ascontiguousarray(minis_of(batch.column("mini"))), lengths=np.zeros(n, np.int64))


def lookup_task(index_path: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: sketch rows -> (row, indexed id, similarity) of those an indexed document copies."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from semel.index.query import Index

        index = Index(index_path)
        try:
            for b in batches:
                if not b.num_rows:
                    continue
                sk = sketch_of(b)
                rows = b.column("row").to_numpy()
                found = [(int(rows[i]), m.id, m.similarity) for i in range(b.num_rows)
                         if (m := index.lookup(sk, i)) is not None]
                if found:
                    at, ids, sims = zip(*found, strict=True)
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(at, pa.int64()), pa.array(ids, pa.string()), pa.array(sims, pa.float64())],
                        names=["row", "seen_id", "seen_sim"])
        finally:
            index.close()

    return task


def stage_lookup(spark: Any, cfg: DedupConfig, work: WorkDir, info: dict) -> Any:
    """Look every document of the run up in the --against index; the matches, (row, seen_id, seen_sim),
    written once to work/keep/against (the greedy pass and the marking both read them)."""
    assert cfg.against is not None
    path = local_path(cfg.against)
    docs = documents(spark, cfg, work, info).select("row", "exact0", "exact1", "bands", "seq", "mini")
    docs.mapInArrow(lookup_task(path), SEEN_SCHEMA).write.mode("overwrite").parquet(work.path(*SEEN_DIR))
    return spark.read.parquet(work.path(*SEEN_DIR))


def mark_seen(clusters: Any, seen: Any) -> Any:
    """`semel.index.against.mark_seen` on a clusters DataFrame (row, cluster, kept, reason, similarity,
    cluster_size, ...): seen documents removed with reason `seen` and the indexed id as their cluster,
    cluster sizes counting the indexed document, original/unique recounted."""
    from pyspark.sql import functions as F

    is_seen = F.col("seen_id").isNotNull()
    c = (clusters.join(seen, "row", "left")
         .withColumn("cluster", F.when(is_seen, F.col("seen_id")).otherwise(F.col("cluster")))
         .withColumn("kept", F.col("kept") & ~is_seen)
         .withColumn("similarity", F.when(is_seen, F.col("seen_sim")).otherwise(F.col("similarity")))
         .withColumn("was_seen", is_seen.cast("long")))
    sizes = c.groupBy("cluster").agg((F.count(F.lit(1)) + F.max("was_seen")).alias("size"))
    c = c.join(sizes, "cluster")
    reason = (F.when(F.col("kept"), F.when(F.col("size") > 1, F.lit("original")).otherwise(F.lit("unique")))
              .when(is_seen, F.lit(SEEN)).otherwise(F.col("reason")))
    return (c.withColumn("reason", reason).withColumn("cluster_size", F.col("size"))
            .drop("seen_id", "seen_sim", "was_seen", "size"))


def export_run(spark: Any, cfg: DedupConfig, work: WorkDir, info: dict) -> str:
    """The run's sketch rows written to the driver's disk in the embedded engine's work layout
    (sketch/part-NNNNN/*.npy + meta.parquet, the weights, the resume fingerprint), in row order, one Spark
    partition at a time; returns that folder (what semel.index.build reads)."""
    from semel.engines.spark.cluster import run_weights

    root = local_path(work.path(*EXPORT_DIR))
    staged = work.path(*STAGED_DIR)
    columns = ("row", "id", "priority", "exact0", "exact1", "bands", "seq", "mini")
    (documents(spark, cfg, work, info).select(*columns).repartitionByRange("row").sortWithinPartitions("row")
     .write.mode("overwrite").parquet(staged))
    sketch_dir = os.path.join(root, "sketch")
    os.makedirs(sketch_dir, exist_ok=True)
    files = sorted(f for f in os.listdir(local_path(staged)) if f.endswith(".parquet"))
    k = 0
    for f in files:
        table = pq.read_table(os.path.join(local_path(staged), f))
        if not table.num_rows:
            continue
        sk = sketch_of(table)
        part = os.path.join(sketch_dir, f"part-{k:05d}")
        os.makedirs(part, exist_ok=True)
        for name in ("exact", "bands", "seq_offsets", "seq", "mini"):
            np.save(os.path.join(part, name + ".npy"), getattr(sk, name), allow_pickle=False)
        pq.write_table(table.select(["id", "row", "priority"]), os.path.join(part, "meta.parquet"))
        k += 1
    with open(os.path.join(sketch_dir, DONE_FILE), "w", encoding="utf-8") as out:
        json.dump({"parts": k}, out)
    weights = run_weights(spark, cfg, work)
    os.makedirs(os.path.join(root, "cluster"), exist_ok=True)
    np.save(os.path.join(root, "cluster", "weight_keys.npy"), weights.keys, allow_pickle=False)
    np.save(os.path.join(root, "cluster", "weight_values.npy"), weights.values, allow_pickle=False)
    manifest = os.path.join(local_path(work.root), WORK_MANIFEST)  # the run's identity (append once)
    if os.path.exists(manifest):
        with open(manifest, "rb") as src, open(os.path.join(root, WORK_MANIFEST), "wb") as dst:
            dst.write(src.read())
    return root


def index_after_run(spark: Any, cfg: DedupConfig, work: WorkDir, info: dict) -> None:
    """--index / --update-index once the run's outputs are written."""
    if cfg.index or (cfg.update_index and cfg.against):
        after_run(cfg, export_run(spark, cfg, work, info))
