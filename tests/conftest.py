"""Shared fixtures: one local Spark session for the whole test run (starting Spark costs seconds)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local[2] SparkSession built by semel's own get_spark; skipped where PySpark or Java is missing."""
    pytest.importorskip("pyspark")
    from semel.engines.spark_session import get_spark, java_version

    if (java_version() or 0) < 17:
        pytest.skip("Spark tests need Java 17+")
    session = get_spark("local[2]", {"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()
