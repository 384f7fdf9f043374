"""`repair_file` on Spark: one task per input file runs the embedded job's own code."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from semel.engines.spark.fs import files_for
from semel.engines.spark.read import (
    input_files,
)
from semel.engines.spark.session import get_spark, parallelism
from semel.engines.spark.write import merge_local
from semel.errors import SemelError


def _repair_task(files: dict[str, tuple[int, str, str]], parts_dir: str, settings: dict
                 ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: an input file's bytes -> that file repaired by `repair_file` itself (so every
    document gets the same columns, drops and errors as in the embedded job), written as part files."""
    from semel.jobs.repair import repair_file

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            for i, path in enumerate(paths):
                index, display, _ = files[path]
                with tempfile.TemporaryDirectory(prefix="semel-") as tmp:
                    local = os.path.join(tmp, os.path.basename(display))
                    with open(local, "wb") as f:
                        f.write(batch.column("content")[i].as_py())
                    out = os.path.join(parts_dir, f"part-{index:06d}{settings['suffix']}")
                    try:
                        summary = repair_file(local, out, progress=False, **settings["kwargs"]).to_dict()
                        err = None
                    except SemelError as exc:
                        summary, err = {}, str(exc).replace(local, display)
                for side in ("dropped", "errors"):  # side files name the input as the user wrote it
                    side_path = f"{out}.{side}.jsonl"
                    if os.path.exists(side_path):
                        with open(side_path) as f:
                            text = f.read().replace(json.dumps(local)[1:-1], json.dumps(display)[1:-1])
                        with open(side_path, "w") as f:
                            f.write(text)
                yield pa.RecordBatch.from_arrays(
                    [pa.array([index], pa.int32()), pa.array([json.dumps(summary, default=str)]),
                     pa.array([err], pa.string())], names=["file", "summary", "err"])

    return task


def run_repair(inputs: list[str], output: str, *, master: str | None = None, conf: dict | list | None = None,
               spark: Any = None, output_format: str | None = None, **kwargs: Any) -> Any:
    """`repair_file` on Spark: each input file is repaired by one task with the embedded job's own code,
    and the parts are joined in input order into `output` (a local path), with the same side files."""
    from collections import Counter
    from types import SimpleNamespace

    from semel.io.formats import output_format_for
    from semel.jobs.repair import RepairSummary

    if output == "-" or kwargs.get("explain") is not None:
        raise SemelError("repair on Spark writes to a file (-o) and has no --explain")
    kwargs.pop("explain", None)
    kwargs.pop("progress", None)
    start = time.perf_counter()
    spark = get_spark(master, conf, spark)
    fs = files_for(spark)
    if not fs.is_local(output):
        raise SemelError("repair on Spark writes a local output path; run it per shard on a cluster")
    files = input_files(SimpleNamespace(inputs=list(inputs)), fs)  # type: ignore[arg-type]
    fmt = output_format or output_format_for(files[0][2], output)
    if fmt not in ("jsonl", "parquet"):
        raise SemelError("repair on Spark writes JSONL or Parquet")
    suffix = ".parquet" if fmt == "parquet" else ".jsonl"
    out_dir = os.path.dirname(os.path.abspath(output))
    os.makedirs(out_dir, exist_ok=True)
    parts_dir = tempfile.mkdtemp(prefix=".semel-repair-", dir=out_dir)
    try:
        table = {uri: (i, display, f) for i, (uri, display, f) in enumerate(files)}
        settings = {"suffix": suffix, "kwargs": dict(kwargs, output_format=fmt)}
        rows = (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content")
                .repartition(max(1, min(len(files), parallelism(spark) * 4)), "path")
                .mapInArrow(_repair_task(table, parts_dir, settings), "file int, summary string, err string")
                .collect())
        rows = sorted(rows, key=lambda r: r["file"])
        failed = [r["err"] for r in rows if r["err"]]
        if failed:
            raise SemelError(failed[0])
        parts = [os.path.join(parts_dir, f"part-{i:06d}{suffix}") for i in range(len(files))]
        merge_local(parts, output, ".parquet" if fmt == "parquet" else ".txt")
        summary = RepairSummary(output=output)
        for r in rows:
            d = json.loads(r["summary"])
            for key in ("documents", "repaired", "dropped", "chars_removed", "bytes_in", "bytes_removed",
                        "skipped"):
                setattr(summary, key, getattr(summary, key) + int(d.get(key, 0)))
            summary.drop_reasons += Counter(d.get("drop_reasons", {}))
        for side, attr in (("dropped", "dropped_path"), ("errors", "errors_path")):
            pieces = [f"{p}.{side}.jsonl" for p in parts if os.path.exists(f"{p}.{side}.jsonl")]
            if pieces:
                path = output.rstrip("/") + f".{side}.jsonl"
                merge_local(pieces, path, ".txt")
                setattr(summary, attr, path)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    return summary

