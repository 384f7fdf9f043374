"""Input pieces on Spark: many tasks per input file, each reading its own part from the filesystem.

A piece is what one task reads: a line-aligned byte range of a plain JSONL file (`piece_bytes`, 64 MiB by
default), one row group of a Parquet file, or a whole compressed JSONL file (a gzip or zstd stream cannot be
entered in the middle, so it is one task). A range owns the lines that *start* inside it: the task skips
the line the range opens in (its predecessor's), and finishes the line it ends in. Line numbers are global
from the start: a cheap first job counts the lines each range owns, so documents, errors and generated ids
carry the same numbers as the embedded engine's, and no file is ever one row of a DataFrame (no 2 GiB limit,
no whole-file buffer).

Tasks open the files themselves, so pieces need a filesystem every executor can read: local files (local
mode, or a folder mounted on every worker). Inputs on other filesystems (hdfs://, s3a://, ...) are read by
Spark's binaryFile source instead, one whole file per task (semel.engines.spark.read.parse_task).
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from semel.io.formats import decompressed, read_chunk, split_compression

#: Default size of a JSONL byte range (Spark conf `spark.semel.pieceBytes` overrides it).
PIECE_BYTES = 64 << 20
PIECE_CONF = "spark.semel.pieceBytes"
PIECE_SCHEMA = ("piece int, file int, path string, display string, kind string, start long, stop long, "
                "line0 long")
RANGE, WHOLE, ROW_GROUP = "range", "whole", "rowgroup"


@dataclass
class Piece:
    piece: int
    file: int
    path: str  # a local path every executor can open
    display: str  # the path as the user wrote it (messages)
    kind: str  # RANGE, WHOLE or ROW_GROUP
    start: int  # byte offset (RANGE) or row group index (ROW_GROUP)
    stop: int
    line0: int  # number of the first line (row, for Parquet) the piece owns; 0 until counted


def piece_bytes(spark: Any, total: int, parallel: int) -> int:
    """The byte range size: the session's `spark.semel.pieceBytes`, else 64 MiB, smaller for small inputs
    so that every core gets about two tasks."""
    given = spark.conf.get(PIECE_CONF, None)
    if given:
        return max(1, int(given))
    return int(max(1 << 20, min(PIECE_BYTES, math.ceil(total / max(1, 2 * parallel)))))


def plan(files: list[tuple[str, str, str]], paths: list[str], size: int) -> list[Piece]:
    """The pieces of local input files (`paths`: their local paths) in collection order; line numbers of
    byte ranges are filled in later (`number_lines`)."""
    out: list[Piece] = []
    for index, ((_, display, fmt), path) in enumerate(zip(files, paths, strict=True)):
        if fmt == "parquet":
            meta = _parquet_metadata(path)
            if meta is None or meta.num_row_groups == 0:
                out.append(Piece(len(out), index, path, display, WHOLE, 0, 0, 1))
                continue
            line0 = 1
            for g in range(meta.num_row_groups):
                out.append(Piece(len(out), index, path, display, ROW_GROUP, g, g + 1, line0))
                line0 += meta.row_group(g).num_rows
        elif split_compression(display)[1] is not None:
            out.append(Piece(len(out), index, path, display, WHOLE, 0, 0, 1))
        else:
            n = os.path.getsize(path)
            starts = list(range(0, n, size)) or [0]
            for s in starts:
                out.append(Piece(len(out), index, path, display, RANGE, s, min(n, s + size), 0))
    return out


def _parquet_metadata(path: str) -> pq.FileMetaData | None:
    """None for a broken Parquet file: it is one WHOLE piece, so the reader reports it as the embedded
    engine does."""
    try:
        return pq.ParquetFile(path).metadata
    except Exception:  # noqa: BLE001 - any failure: the reader names it
        return None


def table(spark: Any, pieces: list[Piece]) -> Any:
    """The pieces as a small DataFrame (PIECE_SCHEMA)."""
    return spark.createDataFrame([astuple(p) for p in pieces], PIECE_SCHEMA)


def frame(spark: Any, pieces: list[Piece]) -> Any:
    """A DataFrame of the pieces, one per partition (in order), for mapInArrow tasks."""
    from pyspark.sql import functions as F

    n = len(pieces)
    return (spark.range(0, n, 1, n).select(F.col("id").cast("int").alias("piece"))
            .join(F.broadcast(table(spark, pieces)), "piece").orderBy("piece"))


class LineRange:
    """The bytes of the lines that start in [start, stop) of a plain file, read in chunks (a file-like
    object with `read`)."""

    def __init__(self, f: IO[bytes], start: int, stop: int) -> None:
        self.f = f
        self.stop = stop
        self.done = False
        self.last = 10  # the byte before the first owned line is a newline (or the file's start)
        if start > 0:
            f.seek(start - 1)
            pos = start - 1
            while True:  # skip the line the range opens in: it belongs to the range before
                chunk = f.read(1 << 16)
                if not chunk:
                    self.done = True
                    break
                i = chunk.find(b"\n")
                if i >= 0:
                    pos += i + 1
                    f.seek(pos)
                    break
                pos += len(chunk)
            self.pos = pos
            self.done = self.done or pos >= stop
        else:
            self.pos = 0

    def read(self, n: int = -1) -> bytes:
        if self.done:
            return b""
        n = n if n and n > 0 else 1 << 24
        if self.pos < self.stop:
            data = self.f.read(min(n, self.stop - self.pos))
            if not data:
                self.done = True
                return b""
            self.pos += len(data)
            self.last = data[-1]
            return data
        if self.last == 10:  # the range ended at a line's end: the next line is the next range's
            self.done = True
            return b""
        data = self.f.read(n)  # finish the line the range ends in
        i = data.find(b"\n")
        if i >= 0 or not data:
            self.done = True
            return data[:i + 1] if i >= 0 else data
        self.last = data[-1]
        return data

    def close(self) -> None:
        self.f.close()


def read_all(stream: IO[bytes], display: str) -> bytes:
    """Everything a piece's stream gives (in chunks: a stream may return less than asked); errors name
    `display`."""
    return b"".join(iter(lambda: read_chunk(stream, 1 << 24, display), b""))


def count_lines(path: str, start: int, stop: int) -> int:
    """Lines starting in [start, stop): what `LineRange` gives, counted without reading them twice."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    lo = max(0, start - 1)
    hi = stop - 1
    count = 1 if start == 0 else 0
    with open(path, "rb") as f:
        f.seek(lo)
        left = hi - lo
        while left > 0:
            chunk = f.read(min(left, 16 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count


def count_task() -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: pieces -> (piece, lines it owns) for byte ranges."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = batch.to_pylist()
            yield pa.RecordBatch.from_arrays(
                [pa.array([r["piece"] for r in rows], pa.int32()),
                 pa.array([count_lines(r["path"], r["start"], r["stop"]) for r in rows], pa.int64())],
                names=["piece", "lines"])

    return task


def number_lines(spark: Any, pieces: list[Piece]) -> None:
    """Fill in `line0` of the byte ranges: one job counts the lines each range owns."""
    ranges = [p for p in pieces if p.kind == RANGE]
    if not ranges:
        return
    counted = {r["piece"]: int(r["lines"]) for r in
               frame(spark, ranges).mapInArrow(count_task(), "piece int, lines long").collect()}
    line0: dict[int, int] = {}
    for p in ranges:  # the same objects as in `pieces`
        p.line0 = line0.get(p.file, 1)
        line0[p.file] = p.line0 + counted[p.piece]


def open_piece(row: dict) -> IO[bytes]:
    """The (decompressed) bytes of a JSONL piece: its line range, or the whole compressed stream."""
    f = open(row["path"], "rb")  # noqa: SIM115 - the caller closes it through the returned stream
    if row["kind"] == RANGE:
        return LineRange(f, row["start"], row["stop"])  # type: ignore[return-value]
    _, comp = split_compression(row["display"])
    return decompressed(f, row["display"], comp) if comp is not None else f


def local_inputs(fs: Any, files: list[tuple[str, str, str]]) -> list[str] | None:
    """Local paths of the inputs when every executor can open them (local files), else None."""
    from semel.engines.spark.fs import local_path

    if not all(fs.is_local(uri) for uri, _, _ in files):
        return None
    return [local_path(uri) for uri, _, _ in files]
