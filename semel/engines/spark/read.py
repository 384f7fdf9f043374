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
from semel.engines.spark.session import is_local, master_of, parallelism
from semel.errors import InputError, SemelError
from semel.io import ID, LINE, TEXT, ErrorLog, InputSpec
from semel.io.batching import rebatch
from semel.io.formats import decompressed, detect_format, split_compression
from semel.io.jsonl import read_jsonl
from semel.io.parquet import read_parquet

PARSED_SCHEMA = ("file int, lrow long, line long, id string, text string, fieldval double, "
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
        inner = ErrorLog()
        try:
            yield from read_parquet(local, spec, inner, 0)
        except InputError as exc:
            raise InputError(str(exc).split(": ", 1)[1] if exc.line is None else
                             str(exc).split(": ", 1)[1], display, exc.line) from None
        finally:
            for _, line, reason in inner.entries:
                errors.add(display, line, reason)


def parse_task(files: dict[str, tuple[int, str, str]], cfg: DedupConfig, large: bool
                ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: binaryFile rows (path, content) -> one row per document, plus error rows."""
    spec = InputSpec(paths=[], id_field=cfg.id_field, text_field=cfg.text_field, on_error=cfg.on_error,
                     batch_size=cfg.batch_size)
    field_cfg = cfg if cfg.keep_field else None
    text_type = pa.large_string() if large else pa.string()

    def error_batch(index: int, lines: list[int | None], reasons: list[str], fatal: bool) -> pa.RecordBatch:
        n = len(lines)
        return pa.RecordBatch.from_arrays([
            pa.array([index] * n, pa.int32()), pa.array([-1] * n, pa.int64()), pa.array(lines, pa.int64()),
            pa.nulls(n, pa.string()), pa.nulls(n, text_type), pa.nulls(n, pa.float64()),
            pa.array(reasons, pa.string()), pa.array([fatal] * n, pa.bool_())], names=names(PARSED_SCHEMA))

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            contents = batch.column("content")
            for i, path in enumerate(paths):
                index, display, fmt = files[path]
                errors = ErrorLog()
                lrow = 0
                try:
                    tables = file_tables(index, display, fmt, contents[i].as_py(), spec, errors)
                    for b in rebatch(tables, spec.batch_size, spec.batch_bytes):
                        n = b.num_rows
                        fieldval = (keep_values(b, field_cfg, np.zeros(n)) if field_cfg is not None
                                    else np.zeros(n))
                        yield pa.RecordBatch.from_arrays([
                            pa.array(np.full(n, index, np.int32)),
                            pa.array(np.arange(lrow, lrow + n, dtype=np.int64)),
                            b.column(LINE).cast(pa.int64()),
                            b.column(ID).cast(pa.string()),
                            b.column(TEXT).cast(text_type),
                            pa.array(fieldval, pa.float64()),
                            pa.nulls(n, pa.string()), pa.nulls(n, pa.bool_())], names=names(PARSED_SCHEMA))
                        lrow += n
                except SemelError as exc:  # on_error=fail: the file's first bad record, for the driver
                    yield error_batch(index, [getattr(exc, "line", None)], [str(exc)], True)
                if errors.entries:
                    yield error_batch(index, [e[1] for e in errors.entries], [e[2] for e in errors.entries],
                                      False)

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
