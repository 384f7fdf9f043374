"""Every function semel ships to Spark's Python workers must reach numba kernels through their modules.

cloudpickle copies a numba dispatcher that a task's closure holds as a global *by value*: each worker then
rebuilds it without its on-disk cache and compiles it again (12-15 s per worker process for
`assign_components`, measured, for every task that starts a new worker). Imported by module
(`grouping.assign_components`), the worker imports the module and loads the cached machine code."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from semel.config import DedupConfig
from semel.engines import spark_spans
from semel.engines.spark import against, cluster, keep, pieces, read, repair, sketch, spans_job, write
from semel.io import InputSpec
from semel.weights import Weights


def _tasks() -> list[tuple[str, Callable[[], Any]]]:
    cfg = DedupConfig(inputs=["x"], output="y")
    spec = InputSpec(paths=[], id_field="id", text_field="text", on_error="fail", batch_size=100)
    return [
        ("sketch", lambda: sketch.sketch_task(cfg)),
        ("pieces", lambda: read.piece_task(cfg, False)),
        ("binaryFile", lambda: read.parse_task({}, cfg, False)),
        ("line count", pieces.count_task),
        ("shingle counts", lambda: cluster.count_task(3)),
        ("band blobs", lambda: cluster.band_blobs_task(4)),
        ("band pairs", lambda: cluster.pairs_task(100, 10)),
        ("estimate", lambda: cluster.estimate_task(cfg)),
        ("verify", lambda: cluster.verify_task(cfg, Weights.none())),
        ("index lookups", lambda: against.lookup_task("index")),
        ("assign", lambda: keep.assign_task(cfg, Weights.none())),
        ("kept lines", write._kept_lines_task),
        ("kept rows", lambda: write._kept_rows_task(pa.schema([("text", pa.string())]))),
        ("repair lines", lambda: write._repair_lines_task(cfg)),
        ("repair column", lambda: write._repair_column_task("text")),
        ("repair job", lambda: repair._repair_task({}, "parts", {})),
        ("line hashes", lambda: spark_spans._hash_task("text", "line", True, 10)),
        ("line removal", lambda: spark_spans._remove_task("text", "line", True, 10, "remove", None)),
        ("windows", lambda: spark_spans._windows_task("text", 20)),
        ("substrings", lambda: spark_spans._substrings_task("text", 20, "remove", False, "sentences")),
        ("spans write", lambda: spans_job._write_task("lines", {}, "r", "w", spec, "jsonl", {})),
    ]


@pytest.mark.parametrize("name,factory", _tasks(), ids=[n for n, _ in _tasks()])
def test_task_pickles_without_a_numba_dispatcher(name: str, factory: Callable[[], Any]) -> None:
    from pyspark import cloudpickle

    data = cloudpickle.dumps(factory())
    assert b"numba" not in data, f"the {name} task carries a numba kernel by value"
