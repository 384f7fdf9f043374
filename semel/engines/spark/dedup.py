"""The Spark engine: the dedup pipeline of the embedded engine, scheduled on Apache Spark.

It only schedules. The same pure kernels run inside `mapInArrow` tasks (`sketch_batch`; `verify_pairs` on a
batch of pairs; `assign_components` on whole components), band keys are shuffled with DataFrame group-bys,
and connected components are found by union-find in one task (up to ONE_TASK_EDGES edges) or by
large-star / small-star rounds. Nothing proportional to the edges or signatures reaches the driver.
Stages and their outputs under the work dir:

    sketch   each file parsed by semel's own readers, then shingled, signed, banded   sketch/ (parquet)
    cluster  exact groups; band buckets -> candidate pairs -> verified edges;         cluster/{pairs,edges,
             connected components                                                     labels}/ (parquet)
    keep     greedy pass per component: each document kept or verified against its     OUT/clusters.parquet
             kept document (semel.grouping)
    write    the kept documents in the input's format                                 OUT/kept.<ext>

Results equal the embedded engine's for any number of partitions: every document is numbered by its
place in the input (file order, then record order), and every decision is a function of those numbers,
never of which task saw what first. See docs/spark.md.
"""
from __future__ import annotations

import os
import time
from typing import Any

import pyarrow as pa

from semel.config import DedupConfig
from semel.engines.dedup_steps import (
    CLUSTERS_FILE,
    ERRORS_FILE,
    STATS_FILE,
    DedupStats,
    count_outcomes,
    note_duplicate_ids,
    note_keep_field,
    stats_document,
)
from semel.engines.spark.against import index_after_run
from semel.engines.spark.cluster import (
    stage_cluster,
)
from semel.engines.spark.fs import HadoopFiles, files_for, join, local_path
from semel.engines.spark.keep import stage_keep
from semel.engines.spark.read import (
    input_files,
    shuffle_partitions,
)
from semel.engines.spark.session import get_spark, is_local, master_of
from semel.engines.spark.sketch import stage_sketch
from semel.engines.spark.write import read_clusters, stage_write
from semel.engines.workdir import Files, LocalFiles, StageRunner, WorkDir, write_json
from semel.io import ErrorLog
from semel.io.outputs import Outputs
from semel.io.outputs import current as current_run
from semel.rejected import REJECTED_FILE
from semel.stages import StageStats, peak_rss_mb

#: Session settings a run may change (and puts back afterwards).
RUN_CONF = ("spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled")
#: Below this much input (local mode), shuffles use one partition per core and adaptive execution is off.
SMALL_INPUT = 1 << 30


def run_dedup(cfg: DedupConfig, master: str | None = None, conf: dict | list | None = None, spark: Any = None
              ) -> tuple[pa.Table, DedupStats]:
    """Run (or resume) dedup on Spark; returns the clusters table and statistics, as the embedded engine."""
    if cfg.against:  # the index and the run's settings must agree: say so before any work
        from semel.index.against import Against

        Against(cfg.against, cfg).close()
    t_start = time.perf_counter()
    spark = get_spark(master, conf, spark)
    startup = time.perf_counter() - t_start
    fs = files_for(spark)
    files = input_files(cfg, fs)
    input_size = sum(os.path.getsize(local_path(u)) for u, _, _ in files if fs.is_local(u))
    old = {key: spark.conf.get(key) for key in RUN_CONF}
    user_conf = conf if isinstance(conf, dict) else dict(c.split("=", 1) for c in (conf or []) if "=" in c)
    if is_local(master_of(spark)):
        if "spark.sql.shuffle.partitions" not in user_conf:
            spark.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions(spark, input_size)))
        if "spark.sql.adaptive.enabled" not in user_conf and input_size < SMALL_INPUT:
            # small data on one machine: adaptive execution runs every exchange as a job of its own and
            # costs more in driver round trips than it saves; the fixed few partitions are right anyway
            spark.conf.set("spark.sql.adaptive.enabled", "false")
    local_out = local_path(fs.qualify(cfg.output)) if fs.is_local(cfg.output) else None
    with Outputs(local_out or "-", folder=True, inputs=[local_path(u) for u, _, _ in files if fs.is_local(u)]
                 ) as outputs:  # local outputs: the previous run's leftovers go, as in the local engine
        clusters, stats = _run_stages(spark, cfg, fs, files, old, startup)
        if local_out is not None:
            outputs.produced(CLUSTERS_FILE)
            outputs.produced(REJECTED_FILE)
            outputs.produced(STATS_FILE)
    return clusters, stats


def _run_stages(spark: Any, cfg: DedupConfig, fs: HadoopFiles, files: list[tuple[str, str, str]], old: dict,
                startup: float) -> tuple[pa.Table, DedupStats]:
    local_out = fs.is_local(cfg.output)
    # a local work folder and outputs are written with plain file operations (no Hadoop .crc files)
    out_files: Files = LocalFiles() if local_out else fs
    root = cfg.work_dir or join(cfg.output, "_work")
    work = WorkDir(cfg, "spark", LocalFiles() if fs.is_local(root) else fs,
                   inputs=[fs.identity(uri) for uri, _, _ in files])
    stats = DedupStats()
    stats.bands, stats.rows = cfg.band_rows
    runner = StageRunner(work, cfg.resume)
    runner.stages.append(StageStats("spark-start", round(startup, 3), peak_rss_mb()))
    try:
        sketch_info = runner.run("sketch", lambda: stage_sketch(spark, cfg, work, files))
        errors = ErrorLog()
        for path, line, reason in sketch_info["errors"]:
            errors.add(path, line, reason)
        if errors.count and local_out:
            out = local_path(fs.qualify(cfg.output))
            os.makedirs(out, exist_ok=True)
            errors.write(os.path.join(out, ERRORS_FILE))
        cluster_info = runner.run("cluster", lambda: stage_cluster(spark, cfg, work, sketch_info))
        runner.run("keep", lambda: stage_keep(spark, cfg, work, sketch_info))
        runner.run("write", lambda: stage_write(spark, cfg, work, files))
        index_after_run(spark, cfg, work, sketch_info)
    finally:
        for key, value in old.items():
            spark.conf.set(key, value)
    clusters = read_clusters(spark, join(cfg.output, CLUSTERS_FILE), fs)
    stats.stages = runner.stages
    count_outcomes(stats, clusters)
    stats.skipped_records = len(sketch_info["errors"])
    stats.input_bytes = int(sketch_info["bytes"])
    stats.candidates = int(cluster_info.get("candidates", 0))
    stats.verified = int(cluster_info.get("verified", 0))
    run = current_run()
    warnings: list = []
    if run is not None:
        note_duplicate_ids(clusters, run)
        if cfg.keep_field is not None:
            note_keep_field(cfg, int(sketch_info.get("no_keep_field", 0)), run)
        warnings = run.warnings()
    write_json(out_files, join(cfg.output, STATS_FILE),
               stats_document(cfg, "spark", stats, warnings, master=master_of(spark)))
    if not cfg.keep_work:
        work.remove()
    return clusters, stats
