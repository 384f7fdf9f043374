"""Shared fixtures: one local Spark session for the whole test run (starting Spark costs seconds).

The tests run semel's kernels compiled (``SEMEL_JIT=always``), as real work does: left on ``auto``, the small
inputs of most tests would run them interpreted (semel.jit) and numba typing errors would go unseen.
tests/test_jit.py covers the interpreted mode and compares both.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("SEMEL_JIT", "always")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local[2] SparkSession built by semel's own get_spark. Where PySpark or Java is missing the Spark
    tests fail with what to install (a skip would hide them); deselect them with -m 'not spark'."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("the Spark tests need PySpark: pip install -e '.[spark]' (or deselect: -m 'not spark')")
    from semel.engines.spark.session import get_spark, java_version

    if (java_version() or 0) < 17:
        pytest.fail("the Spark tests need Java 17+ (Debian: openjdk-17-jre-headless), or -m 'not spark'")
    # small pieces: every Spark test reads its inputs as many line-aligned byte ranges per file
    session = get_spark("local[2]", {"spark.sql.shuffle.partitions": "4", "spark.semel.pieceBytes": "65536"})
    yield session
    session.stop()
