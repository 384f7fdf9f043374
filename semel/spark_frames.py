"""`semel.dedup(spark_df)`: a Spark DataFrame deduplicated by the Spark engine, clusters as a DataFrame.

The frame's text and id columns are written to Parquet by Spark (one file per partition, in partition
order, so the engine numbers documents in the frame's order), the engine runs on those files
(semel.api.run_engine), and the clusters come back as a DataFrame. Rows are matched back to the
frame by `monotonically_increasing_id()`, which gives the same values when the same frame is computed
again (same plan, same partitioning): `kept(df)` must get the frame dedup() was given. The temporary
folder (in `work_dir=` when given) must be a local path the driver and every executor see: any folder
for `local[*]`, a shared mount (NFS) on a cluster.
"""
from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from semel.errors import SemelError

POS = "semel_pos"


def dedup_frame(df: Any, text: str, id: str | None, settings: dict[str, Any], master: str | None,
                conf: Any) -> Any:
    """Run dedup on a Spark DataFrame; a DedupResult whose clusters are a Spark DataFrame."""
    from pyspark.sql import functions as F

    from semel.api import run_engine
    from semel.config import DedupConfig
    from semel.result import DedupResult

    if text not in df.columns:
        raise SemelError(f"no text column {text!r} in the DataFrame (columns: {', '.join(df.columns[:10])})")
    if id is None and "id" in df.columns and text != "id":
        id = "id"
    if id is not None and id not in df.columns:
        raise SemelError(f"no id column {id!r} in the DataFrame; pass id=NAME or id=None")
    keep = str(settings.get("keep", "first"))
    extra = [keep.split(":", 1)[1]] if keep.startswith("field:") else []
    position = F.monotonically_increasing_id()
    columns = [(F.col(id).cast("string") if id is not None else position.cast("string")).alias("id"),
               F.col(text).alias("text"), *[F.col(c) for c in extra if c in df.columns], position.alias(POS)]
    root = tempfile.mkdtemp(prefix="semel-spark-", dir=settings.pop("work_dir", None))
    try:
        data = os.path.join(root, "data")
        df.select(*columns).write.parquet(data)
        files = sorted(glob.glob(os.path.join(data, "part-*.parquet")))
        if not files:
            raise SemelError("the DataFrame has no rows")
        cfg = DedupConfig(inputs=files, output=os.path.join(root, "out"), **{**settings, "write_kept": False})
        clusters, stats = run_engine(cfg, "spark", master, conf, df.sparkSession)
        positions = np.concatenate([pq.read_table(f, columns=[POS]).column(POS).to_numpy() for f in files])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    frame = df.sparkSession.createDataFrame(clusters)
    return DedupResult(clusters=frame, stats=stats, output=None, kind="spark",
                       row_keys=positions[clusters.column("kept").to_numpy(zero_copy_only=False)])


def kept_rows(df: Any, kept_positions: np.ndarray) -> Any:
    """The rows of `df` that dedup kept, in the frame's order."""
    from pyspark.sql import functions as F

    keys = df.sparkSession.createDataFrame(pa.table({POS: pa.array(kept_positions, pa.int64())}))
    numbered = df.withColumn(POS, F.monotonically_increasing_id())
    return numbered.join(keys, POS, "left_semi").orderBy(POS).drop(POS)
