"""The write stage on Spark: the kept documents in the input's format (JSONL lines byte for byte, Parquet
rows), merged into one local file or left as part files on a cluster filesystem."""
from __future__ import annotations

import gzip
import io
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from semel.config import DedupConfig
from semel.engines.dedup_steps import (
    kept_output_path,
    repaired_texts,
)
from semel.engines.spark import pieces
from semel.engines.spark.fs import HadoopFiles, files_for, local_path
from semel.engines.spark.pieces import Piece, open_piece, read_all
from semel.engines.spark.read import (
    open_bytes,
)
from semel.engines.workdir import WorkDir
from semel.errors import SemelError
from semel.io import TEXT, ErrorLog, InputSpec, atomic_path
from semel.io.formats import split_compression
from semel.io.jsonl import encode_jsonl, read_jsonl


def _split_lines_task(files: dict[str, tuple[int, str, str]]
                      ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: a JSONL file's bytes -> (file, line number, the line as is, without its newline)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            for i, path in enumerate(paths):
                index, display, _ = files[path]
                lines = _lines(open_bytes(batch.column("content")[i].as_py(), display).read())
                n = len(lines)
                for s in range(0, n, 65536):
                    chunk = lines[s:s + 65536]
                    yield pa.RecordBatch.from_arrays([
                        pa.array(np.full(len(chunk), index, np.int32)),
                        pa.array(np.arange(s + 1, s + 1 + len(chunk), dtype=np.int64)),
                        pa.array([c.decode("utf-8", "surrogateescape") for c in chunk], pa.string())],
                        names=["file", "line", "value"])

    return task


def _lines(data: bytes) -> list[bytes]:
    """A JSONL file's (or piece's) lines as they are, without their newline; no empty last line."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _kept_lines_task() -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: (piece, its kept line numbers) -> those lines as they are, in order."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                wanted = np.asarray(row["lines"], np.int64) - row["line0"]
                stream = open_piece(row)
                try:
                    lines = _lines(read_all(stream, row["display"]))
                finally:
                    stream.close()
                yield pa.record_batch([pa.array([lines[i].decode("utf-8", "surrogateescape")
                                                 for i in wanted.tolist()], pa.string())], names=["value"])

    return task


def _kept_rows_task(schema: pa.Schema) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: (Parquet piece, its kept row numbers) -> those rows as they are, in order, read from
    the piece's row group by the task itself (no text in any shuffle)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                wanted = pa.array(np.asarray(row["lines"], np.int64) - row["line0"])
                pf = pq.ParquetFile(row["path"])
                rows = pf.read_row_group(row["start"]) if row["kind"] == pieces.ROW_GROUP else pf.read()
                yield from rows.take(wanted).select(schema.names).cast(schema).to_batches()

    return task


def _repair_lines_task(cfg: DedupConfig) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: kept JSONL lines -> the same records with their text repaired, encoded by the
    embedded engine's reader and writer (so the bytes equal its kept output)."""
    spec = InputSpec(paths=[], id_field=cfg.id_field, text_field=cfg.text_field, on_error="skip",
                     batch_size=cfg.batch_size)

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            values = batch.column("value").to_pylist()
            data = "".join(v + "\n" for v in values).encode("utf-8", "surrogateescape")
            out: list[bytes] = []
            for t in read_jsonl("kept", spec, ErrorLog(), 0, stream=io.BytesIO(data)):
                for b in t.to_batches():
                    b = b.set_column(b.schema.get_field_index(TEXT), TEXT, repaired_texts(b.column(TEXT)))
                    out.extend(encode_jsonl(b, cfg.text_field, cfg.id_field).split(b"\n")[:-1])
            values = [o.decode("utf-8", "surrogateescape") for o in out]
            yield pa.record_batch([pa.array(values, pa.string())], names=["value"])

    return task


def _repair_column_task(text_field: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: kept Parquet rows with their text column repaired."""
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            i = b.schema.get_field_index(text_field)
            yield b.set_column(i, b.schema.field(i), repaired_texts(b.column(i)))

    return task


def stage_write(spark: Any, cfg: DedupConfig, work: WorkDir, files: list[tuple[str, str, str]]
                ) -> str | None:
    from pyspark.sql import functions as F

    fs = files_for(spark)

    out_path = kept_output_path(cfg)
    if out_path is None:
        return None
    kept = spark.read.parquet(work.path("keep", "clusters")).where("kept").select("piece", "file", "line")
    tmp = work.path("write", "kept")
    fmt = files[0][2]
    planned = [Piece(*p) for p in (work.done("sketch") or {}).get("pieces", [])]
    if fmt == "jsonl" and planned:  # each piece's task re-reads its own lines: no text in any shuffle
        lines_of = kept.groupBy("piece").agg(F.sort_array(F.collect_list("line")).alias("lines"))
        kept_lines = (lines_of.join(F.broadcast(pieces.table(spark, planned)), "piece")
                      .orderBy("piece").mapInArrow(_kept_lines_task(), "value string"))
        if cfg.repair:
            kept_lines = kept_lines.mapInArrow(_repair_lines_task(cfg), "value string")
        kept_lines.write.mode("overwrite").text(tmp)
        suffix = ".txt"
    elif fmt == "jsonl":
        table = {uri: (i, display, f) for i, (uri, display, f) in enumerate(files)}
        lines = (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content")
                 .mapInArrow(_split_lines_task(table), "file int, line long, value string"))
        kept_lines = lines.join(kept, ["file", "line"]).orderBy("file", "line").select("value")
        if cfg.repair:  # the kept records parsed, repaired and written again by the embedded writer
            kept_lines = kept_lines.mapInArrow(_repair_lines_task(cfg), "value string")
        kept_lines.write.mode("overwrite").text(tmp)
        suffix = ".txt"
    elif fmt == "parquet" and planned:  # each row group's task reads its own kept rows
        from pyspark.sql.pandas.types import to_arrow_schema

        schema = spark.read.parquet(*[u for u, _, _ in files]).schema
        rows_of = kept.groupBy("piece").agg(F.sort_array(F.collect_list("line")).alias("lines"))
        rows = (rows_of.join(F.broadcast(pieces.table(spark, planned)), "piece")
                .orderBy("piece").mapInArrow(_kept_rows_task(to_arrow_schema(schema)), schema))
        if cfg.repair:
            rows = rows.mapInArrow(_repair_column_task(cfg.text_field), rows.schema)
        rows.write.mode("overwrite").parquet(tmp)
        suffix = ".parquet"
    elif fmt == "parquet":
        src = (spark.read.parquet(*[u for u, _, _ in files])
               .select("*", F.col("_metadata.file_path").alias("__path"),
                       F.col("_metadata.row_index").alias("__index")))
        paths = spark.createDataFrame([(i, u) for i, (u, _, _) in enumerate(files)], "file int, __uri string")
        keep_rows = (kept.join(F.broadcast(paths), "file")
                     .select(F.col("__uri"), (F.col("line") - 1).alias("__index"), "file"))
        same_file = F.expr("parse_url(__path, 'PATH')") == F.expr("parse_url(__uri, 'PATH')")
        joined = src.join(keep_rows, same_file & (src["__index"] == keep_rows["__index"]))
        cols = [c for c in src.columns if c not in ("__path", "__index")]
        rows = joined.orderBy("file", src["__index"]).select(*[src[c] for c in cols])
        if cfg.repair:
            rows = rows.mapInArrow(_repair_column_task(cfg.text_field), rows.schema)
        rows.write.mode("overwrite").parquet(tmp)
        suffix = ".parquet"
    else:
        raise SemelError("the Spark engine writes kept documents for JSONL and Parquet inputs; use "
                         "--no-kept and select from clusters.parquet")
    parts = fs.parts(tmp, suffix)
    if fs.is_local(cfg.output):
        merge_local([local_path(p) for p in parts], out_path, suffix)
    else:  # on a cluster filesystem the kept documents stay a folder of part files
        fs.rename(tmp, out_path)
    work.mark_done("write", {"path": out_path})
    return out_path


def merge_local(parts: list[str], out_path: str, suffix: str) -> None:
    """Concatenate Spark's part files into the one file the embedded engine writes (same name, same codec)."""
    if suffix == ".parquet":
        with atomic_path(out_path) as tmp:
            writer: pq.ParquetWriter | None = None
            for p in parts:
                pf = pq.ParquetFile(p)
                for b in pf.iter_batches():
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, b.schema, compression="zstd")
                    writer.write_batch(b)
            if writer is None:
                pq.write_table(pa.table({}), tmp)
            else:
                writer.close()
        return
    _, comp = split_compression(out_path)
    with atomic_path(out_path) as tmp, open(tmp, "wb") as raw:
        if comp == "gzip":
            sink: Any = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)
        elif comp == "zstd":
            import zstandard

            sink = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        else:
            sink = raw
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, sink, 16 << 20)
        if sink is not raw:
            sink.close()



def read_clusters(spark: Any, path: str, fs: HadoopFiles) -> pa.Table:
    if fs.is_local(path):
        return pq.read_table(local_path(fs.qualify(path)))
    df = spark.read.parquet(path)
    if hasattr(df, "toArrow"):
        return df.toArrow()
    return pa.Table.from_pandas(df.toPandas(), preserve_index=False)
