"""Reading the inputs on Spark with semel's own readers (same ids, rows, errors and numbering as the
embedded engine), and listing them."""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from semel.config import DedupConfig
from semel.engines.dedup_steps import (
    keep_values,
)
from semel.engines.spark.arrays import (
    names,
)
from semel.engines.spark.fs import HadoopFiles, local_path
from semel.engines.spark.pieces import RANGE, ROW_GROUP, open_piece
from semel.engines.spark.session import is_local, master_of, parallelism
from semel.errors import InputError, SemelError
from semel.io import ID, LINE, TEXT, ErrorLog, InputSpec
from semel.io.batching import rebatch
from semel.io.formats import decompressed, detect_format, split_compression
from semel.io.jsonl import read_jsonl
from semel.io.parquet import read_parquet

PARSED_SCHEMA = ("piece int, file int, lrow long, line long, id string, text string, fieldval double, "
                 "err string, fatal boolean")



def open_bytes(data: bytes, display: str) -> Any:
    _, comp = split_compression(display)
    if comp is not None:  # truncated or corrupt streams are errors naming the file, as in the local engine
        return decompressed(io.BytesIO(data), display, comp)
    return io.BytesIO(data)


def file_tables(index: int, display: str, fmt: str, data: bytes, spec: InputSpec, errors: ErrorLog
                 ) -> Iterator[pa.Table]:
    """Canonical tables of one input file from its bytes, through semel's own readers (same ids, rows,
    errors as the embedded engine; rows numbered from 0 within the file)."""
    if fmt == "jsonl":
        yield from read_jsonl(display, spec, errors, 0, stream=open_bytes(data, display))
        return
    with tempfile.TemporaryDirectory(prefix="semel-") as tmp:
        local = os.path.join(tmp, os.path.basename(display))
        with open(local, "wb") as f:
            f.write(data)
        del data
        yield from read_parquet(local, spec, errors, 0, display=display)


def _document_batches(tables: Iterator[pa.Table], piece: int, index: int, spec: InputSpec,
                      field_cfg: DedupConfig | None, text_type: pa.DataType) -> Iterator[pa.RecordBatch]:
    """PARSED_SCHEMA batches of one piece's canonical tables (rows numbered from 0 within the piece)."""
    lrow = 0
    for b in rebatch(tables, spec.batch_size, spec.batch_bytes):
        n = b.num_rows
        fieldval = keep_values(b, field_cfg, np.zeros(n)) if field_cfg is not None else np.zeros(n)
        yield pa.RecordBatch.from_arrays([
            pa.array(np.full(n, piece, np.int32)), pa.array(np.full(n, index, np.int32)),
            pa.array(np.arange(lrow, lrow + n, dtype=np.int64)), b.column(LINE).cast(pa.int64()),
            b.column(ID).cast(pa.string()), b.column(TEXT).cast(text_type), pa.array(fieldval, pa.float64()),
            pa.nulls(n, pa.string()), pa.nulls(n, pa.bool_())], names=names(PARSED_SCHEMA))
        lrow += n


def _error_batch(piece: int, index: int, lines: list[int | None], reasons: list[str], fatal: bool,
                 text_type: pa.DataType) -> pa.RecordBatch:
    n = len(lines)
    return pa.RecordBatch.from_arrays([
        pa.array([piece] * n, pa.int32()), pa.array([index] * n, pa.int32()), pa.array([-1] * n, pa.int64()),
        pa.array(lines, pa.int64()), pa.nulls(n, pa.string()), pa.nulls(n, text_type),
        pa.nulls(n, pa.float64()),
        pa.array(reasons, pa.string()), pa.array([fatal] * n, pa.bool_())], names=names(PARSED_SCHEMA))


def _parsed(piece: int, index: int, tables: Callable[[ErrorLog], Iterator[pa.Table]], cfg: DedupConfig,
            large: bool) -> Iterator[pa.RecordBatch]:
    """One piece's documents, then its skipped records; a fatal error (on_error=fail) as one error row."""
    spec = _spec(cfg)
    text_type = pa.large_string() if large else pa.string()
    errors = ErrorLog()
    try:
        yield from _document_batches(tables(errors), piece, index, spec, cfg if cfg.keep_field else None,
                                     text_type)
    except SemelError as exc:  # on_error=fail: the file's first bad record, for the driver
        yield _error_batch(piece, index, [getattr(exc, "line", None)], [str(exc)], True, text_type)
    if errors.entries:
        lines, reasons = [e[1] for e in errors.entries], [e[2] for e in errors.entries]
        yield _error_batch(piece, index, lines, reasons, False, text_type)


def _spec(cfg: DedupConfig) -> InputSpec:
    return InputSpec(paths=[], id_field=cfg.id_field, text_field=cfg.text_field, on_error=cfg.on_error,
                     batch_size=cfg.batch_size)


def parse_task(files: dict[str, tuple[int, str, str]], cfg: DedupConfig, large: bool
               ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: binaryFile rows (path, content) -> one row per document, plus error rows (inputs
    on a filesystem only Spark reads: each file is one piece)."""
    spec = _spec(cfg)

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            contents = batch.column("content")
            for i, path in enumerate(paths):
                index, display, fmt = files[path]
                data = contents[i].as_py()
                yield from _parsed(index, index, lambda errors, k=index, d=data, s=display, f=fmt:
                                   file_tables(k, s, f, d, spec, errors), cfg, large)

    return task


def piece_task(cfg: DedupConfig, large: bool
               ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: pieces (semel.engines.spark.pieces) -> one row per document, plus error rows."""
    spec = _spec(cfg)

    def tables(row: dict, errors: ErrorLog) -> Iterator[pa.Table]:
        if row["kind"] == ROW_GROUP:
            yield from read_parquet(row["path"], spec, errors, 0, [row["start"]], row["line0"],
                                    row["display"])
        elif detect_format(row["display"]) == "parquet":
            yield from read_parquet(row["path"], spec, errors, 0, display=row["display"])
        else:
            stream = open_piece(row)
            try:
                yield from read_jsonl(row["display"], spec, errors, 0, stream=stream, line0=row["line0"],
                                      at_start=row["kind"] != RANGE or row["start"] == 0)
            finally:
                stream.close()

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                yield from _parsed(row["piece"], row["file"], lambda errors, r=row: tables(r, errors), cfg,
                                   large)

    return task


def input_files(cfg: DedupConfig, fs: HadoopFiles) -> list[tuple[str, str, str]]:
    """(uri, path as the user wrote it, format) of every input file, in collection order."""
    out: list[tuple[str, str, str]] = []
    for given in cfg.inputs:
        if given == "-":
            raise SemelError("the Spark engine cannot read stdin; give files")
        try:
            found = fs.list_files(given)
        except Exception as exc:  # a malformed URI or an unknown scheme
            raise InputError(f"cannot list ({str(exc).splitlines()[0]})", given) from None
        if not found:
            raise InputError("no such file or folder", given)
        for uri in found:
            display = given if len(found) == 1 and fs.qualify(given) == uri else local_path(uri)
            fmt = detect_format(display) if not os.path.isdir(display) else "txtdir"
            if fmt not in ("jsonl", "parquet"):
                raise InputError("the Spark engine reads JSONL (.gz/.zst) and Parquet; use the local engine "
                                 "for .txt files", display)
            out.append((uri, display, fmt))
    return out


def shuffle_partitions(spark: Any, input_bytes: int) -> int:
    """Shuffle partitions: the session's setting on a cluster; in local mode sized to the data: one per
    core up to ~1 GB of input, then ~64 MB of input each (each partition costs a task in every shuffle)."""
    if not is_local(master_of(spark)):
        return int(spark.conf.get("spark.sql.shuffle.partitions"))
    parallel = parallelism(spark)
    return max(2, parallel, int(input_bytes // (64 << 20)) + 1)
