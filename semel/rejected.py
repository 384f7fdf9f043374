"""The candidate pairs verification turned away, and which test did it: OUT/rejected.parquet.

A kept document's most useful explanation is often a negative one: "this page was a candidate copy of
that one, and the template test said no". Both engines record every candidate pair that reached exact
verification and failed it (pairs the sketch estimate turned away are not recorded: there are far more of
them, and the estimate says nothing about shape or templates). Documents are referred to by their row in
clusters.parquet (input order), which keeps the file small: a few bytes per rejected pair.
"""
from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from semel.lsh import COPY, VERDICT_NAMES, VERDICTS

REJECTED_FILE = "rejected.parquet"
SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64()), pa.field("test", pa.string(), nullable=False),
                    ("similarity", pa.float32())])  # the types and nullability Spark writes too


def rejected_table(left: np.ndarray, right: np.ndarray, codes: np.ndarray, sims: np.ndarray,
                   labels: np.ndarray) -> pa.Table:
    """The rejected pairs among verified candidates (codes from semel.lsh.verdict) whose documents ended
    in different components (`labels`: the embedded engine never verifies a pair already joined, Spark
    verifies every candidate), smaller row first, sorted: the same table from both engines."""
    left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
    keep = (np.asarray(codes) != COPY) & (labels[left] != labels[right])
    a = np.minimum(left, right)[keep]
    b = np.maximum(left, right)[keep]
    order = np.lexsort((b, a))
    test = np.array(VERDICT_NAMES, dtype=object)[np.asarray(codes)[keep][order].astype(np.int64)]
    return pa.Table.from_arrays([pa.array(a[order]), pa.array(b[order]), pa.array(test, pa.string()),
                                 pa.array(np.asarray(sims, dtype=np.float32)[keep][order])], schema=SCHEMA)


def counts_by_test(table: pa.Table) -> dict[str, int]:
    """How many pairs each test turned away (for stats.json and the report)."""
    if table.num_rows == 0:
        return {}
    values = pc.value_counts(table.column("test").combine_chunks())
    return {str(v["values"]): int(v["counts"]) for v in values.to_pylist()}


def rejected_for(output: str, row: int) -> list[dict]:
    """The rejected pairs of the document at `row`: other row, test (in words), similarity."""
    path = os.path.join(output, REJECTED_FILE)
    if not os.path.exists(path):
        return []
    t = pq.read_table(path, filters=[[("a", "==", row)], [("b", "==", row)]])
    out = []
    for a, b, test, sim in zip(*(t.column(c).to_pylist() for c in ("a", "b", "test", "similarity")),
                               strict=True):
        out.append({"row": b if a == row else a, "test": test,
                    "why": VERDICTS[VERDICT_NAMES.index(test)], "similarity": round(float(sim), 6)})
    out.sort(key=lambda r: (-r["similarity"], r["row"]))
    return out
