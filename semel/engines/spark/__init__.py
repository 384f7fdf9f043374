"""The Spark engine: semel's jobs scheduled on Apache Spark, with the embedded engine's kernels.

One module per concern: `session` (the SparkSession), `fs` (Hadoop filesystem operations), `read` (inputs
through semel's own readers), `arrays` (Arrow columns <-> kernel arrays), the dedup stages `sketch`,
`cluster`, `keep`, `write` run by `dedup`, and the other jobs `repair` and `spans` (lines, substrings).
The work directory, stage runner and everything that decides an output are shared with the embedded
engine (semel.engines.workdir, semel.engines.dedup_steps). See docs/spark.md.
"""
from semel.engines.spark.dedup import run_dedup
from semel.engines.spark.repair import run_repair
from semel.engines.spark.session import get_spark

__all__ = ["get_spark", "run_dedup", "run_repair"]
