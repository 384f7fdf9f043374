"""The cluster stage on Spark: exact groups, band buckets -> candidate pairs -> verified edges, document
frequencies for the df weights, and connected components."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from semel import weights as weights_kernels
from semel.config import DedupConfig
from semel.engines.spark import arrays
from semel.engines.spark.arrays import (
    components_one_task,
    ragged,
    verify_pairs,
)
from semel.engines.spark.sketch import documents
from semel.engines.workdir import WorkDir
from semel.errors import SemelError
from semel.lsh import COPY
from semel.weights import (
    SAMPLE_MASK,
    Weights,
    df_floor,
    sample_cutoff,
    sample_floor,
    sample_rate,
    scratch_for,
)

#: Components of at most this many edges are found in one task by union-find (16 bytes an edge); above it,
#: by large-star / small-star rounds over the cluster. `--conf spark.semel.oneTaskEdges=N` changes it.
ONE_TASK_EDGES = 50_000_000


def components_of(spark: Any, edges: Any, n_edges: int | None = None) -> Any:
    """(node, label = smallest node of its component) of the edges (a, b): in one task by union-find up
    to `spark.semel.oneTaskEdges` edges (one job), else by large-star / small-star rounds."""
    if n_edges is None:
        edges = edges.localCheckpoint(eager=True)  # counted, then read again by the components job
        n_edges = edges.count()
    limit = int(spark.conf.get("spark.semel.oneTaskEdges", str(ONE_TASK_EDGES)))
    return _one_task_components(edges) if n_edges <= limit else _star_components(spark, edges)


def _one_task_components(edges: Any) -> Any:
    """(node, label) by union-find in one task: one job, whatever the diameter of the components."""
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        parts = [(b.column("a").to_numpy(), b.column("b").to_numpy()) for b in batches if b.num_rows]
        a = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        b = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
        del parts
        nodes, labels = components_one_task(a.astype(np.int64), b.astype(np.int64))
        for s in range(0, len(nodes), 1 << 20):
            yield pa.RecordBatch.from_arrays([pa.array(nodes[s:s + (1 << 20)]),
                                              pa.array(labels[s:s + (1 << 20)])], names=["node", "label"])

    return edges.select("a", "b").repartition(1).mapInArrow(task, "node long, label long")


def _star_components(spark: Any, edges: Any) -> Any:
    """(node, label = smallest node of its component) by large-star / small-star on DataFrames
    (Kiveris et al. 2014). Each round is materialised once (localCheckpoint: cached blocks, lineage cut)
    and one more job checks convergence: two jobs a round."""
    from pyspark.sql import functions as F

    e = edges.select(F.greatest("a", "b").alias("a"), F.least("a", "b").alias("b")).where("a != b").distinct()
    e = e.localCheckpoint(eager=True)
    for _ in range(200):
        # large star: every neighbour larger than u joins the smallest of u's neighbourhood
        both = e.select(F.col("a").alias("u"), F.col("b").alias("v")).union(
            e.select(F.col("b").alias("u"), F.col("a").alias("v")))
        m = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
        large = (both.join(m, "u").where(F.col("v") > F.col("u"))
                 .select(F.col("v").alias("a"), F.col("m").alias("b")).where("a != b"))
        # small star: u and its smaller neighbours join the smallest of them
        d = large.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v")).distinct()
        ms = d.groupBy("u").agg(F.min("v").alias("m"))
        small = (d.join(ms, "u").where(F.col("v") != F.col("m"))
                 .select(F.col("v").alias("a"), F.col("m").alias("b"))
                 .union(ms.select(F.col("u").alias("a"), F.col("m").alias("b"))).distinct())
        e = small.localCheckpoint(eager=True)
        # done when the edges form stars: no root points anywhere and no node points at two roots
        roots_ = e.select(F.col("b").alias("a")).distinct()
        inner = e.select("a").join(roots_, "a", "left_semi")
        multi = e.groupBy("a").count().where("count > 1").select("a")
        if inner.union(multi).limit(1).count() == 0:
            return e.select(F.col("a").alias("node"), F.col("b").alias("label"))
    raise SemelError("connected components did not converge in 200 rounds")


def _collection_weights(spark: Any, cfg: DedupConfig, reps: Any, path: str) -> int:
    """Write the shingles at or above the df floor with their document counts (among the distinct
    documents `reps`, by a group-by) to `path`; return how many documents were counted. The embedded
    engine gets the same counts for the same shingles (semel.weights)."""
    from pyspark.sql import functions as F

    ngram = cfg.ngram
    n = reps.count()
    rate, floor = sample_rate(n), sample_floor(n)
    # the embedded engine's sample (semel.weights.in_sample): the low bits of the exact key's high word
    reps = reps.where((F.col("exact0").bitwiseAND(SAMPLE_MASK)) < sample_cutoff(rate))

    (reps.select("seq").mapInArrow(count_task(ngram), "v long, c long").groupBy("v")
     .agg(F.sum("c").alias("c")).where(F.col("c") >= floor).write.mode("overwrite").parquet(path))
    return n


def count_task(ngram: int) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: shingle sequences -> (shingle, documents of the batch holding it)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            off, val = ragged(b.column("seq"))
            docs = np.arange(len(off) - 1, dtype=np.int64)
            values, counts = weights_kernels.exact_counts(off, val, docs, ngram, np.zeros((2, 0), np.uint8),
                                                          0, *scratch_for(off))
            yield pa.RecordBatch.from_arrays([pa.array(values.astype(np.int64)), pa.array(counts)],
                                             names=["v", "c"])

    return task


def band_blobs_task(partitions: int) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: documents (row, bands) -> one packed (band, key, row) int64 array per bucket
    partition (the key's low bits pick it). The shuffle then moves a few large binary values instead of
    a row per band and document, which the JVM would convert one by one (6 s a task at 50k documents)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            n = b.num_rows
            if n == 0:
                continue
            keys = ragged(b.column("bands"))[1].view(np.int64)  # packed by semel.engines.spark.sketch
            width = len(keys) // n
            rows = np.repeat(b.column("row").to_numpy().astype(np.int64), width)
            bands = np.tile(np.arange(width, dtype=np.int64), n)
            part = keys.view(np.uint64) % np.uint64(partitions)
            order = np.argsort(part, kind="stable")
            packed = np.stack([bands[order], keys[order], rows[order]], axis=1)
            cuts = np.searchsorted(part[order], np.arange(partitions + 1, dtype=np.uint64))
            ids = [p for p in range(partitions) if cuts[p + 1] > cuts[p]]
            yield pa.RecordBatch.from_arrays(
                [pa.array(ids, pa.int32()),
                 pa.array([packed[cuts[p]:cuts[p + 1]].tobytes() for p in ids], pa.binary())],
                names=["part", "blob"])

    return task


def pairs_task(max_bucket: int, window: int
               ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: the packed (band, key, row) arrays of whole bucket partitions (`band_blobs_task`)
    -> candidate pairs (a, b) with how many buckets proposed each (n), by the embedded engine's rule
    (`bucket_pairs` over each bucket's rows in ascending order)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        blobs = [np.frombuffer(v, np.int64).reshape(-1, 3) for b in batches
                 for v in b.column("blob").to_pylist()]
        if not blobs:
            return
        triples = np.concatenate(blobs)
        del blobs
        order = np.lexsort((triples[:, 2], triples[:, 1], triples[:, 0]))
        band, key, rows = (np.ascontiguousarray(triples[order, i]) for i in range(3))
        del triples, order
        cut = np.flatnonzero((band[1:] != band[:-1]) | (key[1:] != key[:-1])) + 1
        offsets = np.concatenate([[0], cut, [len(rows)]]).astype(np.int64)
        left, right = arrays.bucket_pairs(offsets, rows, max_bucket, window)
        if len(left) == 0:
            return
        order = np.lexsort((right, left))
        left, right = left[order], right[order]
        first = np.flatnonzero(np.r_[True, (left[1:] != left[:-1]) | (right[1:] != right[:-1])])
        n = np.diff(np.r_[first, len(left)])
        yield pa.RecordBatch.from_arrays([pa.array(left[first]), pa.array(right[first]), pa.array(n)],
                                         names=["a", "b", "n"])

    return task


def estimate_task(cfg: DedupConfig) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: candidate pairs with both sides' sketch bins -> (a, b, n, passed the estimate)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            passed = arrays.estimate_passes(cfg, b.column("ma"), b.column("mb"))
            yield pa.RecordBatch.from_arrays([b.column("a"), b.column("b"), b.column("n"), pa.array(passed)],
                                             names=["a", "b", "n", "passed"])

    return task


def verify_task(cfg: DedupConfig, weights: Weights
                ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: candidate pairs that passed the estimate, with both sides' sequences -> (a, b, n,
    verdict code, similarity)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            codes, sims = verify_pairs(cfg, b.column("sa"), b.column("sb"), weights=weights)
            yield pa.RecordBatch.from_arrays([b.column("a"), b.column("b"), b.column("n"), pa.array(codes),
                                              pa.array(sims)], names=["a", "b", "n", "code", "sim"])

    return task


def load_weights(spark: Any, path: str, documents: int) -> Weights:
    """The Weights table from what `_collection_weights` wrote (none when nothing was counted)."""
    if documents <= df_floor(documents):
        return Weights.none()
    table = spark.read.parquet(path).toArrow()
    values = table.column("v").to_numpy().astype(np.uint32)
    return Weights.from_counts(values, table.column("c").to_numpy().astype(np.int64), documents,
                               sample_rate(documents))


def run_weights(spark: Any, cfg: DedupConfig, work: WorkDir) -> Weights:
    """The weights the run compares with: the --against index's (frozen with it), else those the cluster
    stage counted (none without df weights)."""
    if cfg.against:
        from semel.engines.spark.fs import local_path
        from semel.index.against import index_weights

        return index_weights(local_path(cfg.against))
    weight_docs = int((work.done("cluster") or {}).get("weight_docs", 0))
    if not weight_docs:
        return Weights.none()
    return load_weights(spark, work.path("cluster", "weights"), weight_docs)


def stage_cluster(spark: Any, cfg: DedupConfig, work: WorkDir, info: dict) -> dict:
    from pyspark.sql import functions as F

    docs = documents(spark, cfg, work, info)
    # every edge in one table: exact copies (row -> first of its exact group; n = 0) and every candidate
    # pair with how many bands proposed it (n) and whether it verified (ok)
    parts = []
    if cfg.exact:
        first = docs.groupBy("exact0", "exact1").agg(F.min("row").alias("first"))
        tagged = docs.select("row", "exact0", "exact1", "bands", "seq").join(first, ["exact0", "exact1"])
        parts.append(tagged.where(F.col("row") != F.col("first"))
                     .select(F.col("row").alias("a"), F.col("first").alias("b"), F.lit(0).cast("long")
                             .alias("n"), F.lit(COPY).cast("byte").alias("code"), F.lit(1.0).alias("sim")))
        reps = tagged.where(F.col("row") == F.col("first"))
    else:
        reps = docs
    weights = Weights.none()
    weight_docs = 0
    if cfg.near:
        reps = reps.where(F.length("seq") > 0)
        if cfg.against:
            weights = run_weights(spark, cfg, work)
        elif cfg.df_weights:
            weight_docs = _collection_weights(spark, cfg, reps, work.path("cluster", "weights"))
            weights = load_weights(spark, work.path("cluster", "weights"), weight_docs)
        n_parts = int(spark.conf.get("spark.sql.shuffle.partitions"))
        blobs = (reps.select("row", "bands").mapInArrow(band_blobs_task(n_parts), "part int, blob binary")
                 .repartitionByRange(n_parts, "part"))
        pairs = (blobs.mapInArrow(pairs_task(cfg.max_bucket, cfg.bucket_window), "a long, b long, n long")
                 .groupBy("a", "b").agg(F.sum("n").alias("n")))
        # the sketch bins (256 bytes a document) first: the estimate turns away about half the pairs
        # (57% at 50k news documents), whose token sequences (~1.2 KB a side) then never travel
        minis = docs.select("row", "mini")
        estimated_dir = work.path("cluster", "estimated")
        (pairs.join(minis.select(F.col("row").alias("a"), F.col("mini").alias("ma")), "a")
         .join(minis.select(F.col("row").alias("b"), F.col("mini").alias("mb")), "b")
         .select("a", "b", "n", "ma", "mb")
         .mapInArrow(estimate_task(cfg), "a long, b long, n long, passed boolean")
         .write.mode("overwrite").parquet(estimated_dir))
        estimated = spark.read.parquet(estimated_dir)
        parts.append(estimated.where(~F.col("passed"))
                     .select("a", "b", "n", F.lit(-1).cast("byte").alias("code"), F.lit(0.0).alias("sim")))
        seqs = docs.select("row", "seq")
        joined = (estimated.where("passed").select("a", "b", "n")
                  .join(seqs.select(F.col("row").alias("a"), F.col("seq").alias("sa")), "a")
                  .join(seqs.select(F.col("row").alias("b"), F.col("seq").alias("sb")), "b"))
        parts.append(joined.select("a", "b", "n", "sa", "sb")
                     .mapInArrow(verify_task(cfg, weights), "a long, b long, n long, code byte, sim double"))
    labels_dir = work.path("cluster", "labels")
    candidates = verified = 0
    if parts:
        edges_dir = work.path("cluster", "edges")
        table = parts[0]
        for part in parts[1:]:
            table = table.unionByName(part)
        table.write.mode("overwrite").parquet(edges_dir)
        all_edges = spark.read.parquet(edges_dir)
        agg = all_edges.agg(F.sum("n"), F.count(F.when(F.col("n") == 0, 1)),
                            F.count(F.when(F.col("code") == COPY, 1))).collect()[0]
        candidates, exact_links, n_edges = int(agg[0] or 0), int(agg[1] or 0), int(agg[2] or 0)
        edges = all_edges.where(F.col("code") == COPY).select("a", "b")
        labels = components_of(spark, edges, n_edges)
        labels.write.mode("overwrite").parquet(labels_dir)
        # verified: the near links that joined two exact groups, as the embedded engine counts them
        # (groups = documents - exact links; components = documents - nodes + labels)
        nodes, comps = spark.read.parquet(labels_dir).agg(F.count(F.lit(1)), F.countDistinct("label")).first()
        verified = int(nodes) - int(comps) - exact_links
    else:
        spark.createDataFrame([], "node long, label long").write.mode("overwrite").parquet(labels_dir)
    done = {"candidates": candidates, "verified": verified, "weight_docs": weight_docs,
            "frequent_shingles": weights.frequent}
    work.mark_done("cluster", done)
    return done
