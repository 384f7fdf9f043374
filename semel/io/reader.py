"""`read_batches`: one ordered stream of canonical batches from any mix of inputs."""
from __future__ import annotations

import sys
from collections.abc import Iterator

import orjson
import pyarrow as pa

from semel.errors import InputError
from semel.io.batching import rebatch
from semel.io.errors_log import ErrorLog
from semel.io.formats import detect_format, read_chunk
from semel.io.jsonl import read_jsonl
from semel.io.parquet import read_parquet
from semel.io.spec import InputSpec
from semel.io.text_files import read_txt, read_txtdir, text_document


def _looks_like_jsonl(head: bytes) -> bool:
    """True when the first non-blank line of `head` parses as a JSON object."""
    for line in head.split(b"\n"):
        if line.strip():
            try:
                return isinstance(orjson.loads(line), dict)
            except orjson.JSONDecodeError:
                return False
    return False


def _stdin_tables(spec: InputSpec, errors: ErrorLog | None, row0: int) -> Iterator[pa.Table]:
    stream = sys.stdin.buffer
    fmt = spec.format
    if fmt in ("parquet", "txtdir"):
        raise InputError(f"stdin cannot be read as {fmt}", "-")
    head = b""
    if fmt is None:
        # read up to the end of the first non-blank line (or 8 MB) to decide
        while len(head) < (8 << 20):
            chunk = read_chunk(stream, 1 << 16, "-")
            if not chunk:
                break
            head += chunk
            if head.strip() and b"\n" in head.lstrip():
                break
        fmt = "jsonl" if _looks_like_jsonl(head) else "txt"
    if fmt == "jsonl":
        yield from read_jsonl("-", spec, errors, row0, stream=stream, first=head)
    else:
        yield from text_document(head + stream.read(), "-", "-", spec, errors, row0)


def _tables(spec: InputSpec, errors: ErrorLog | None) -> Iterator[pa.Table]:
    row = 0
    for path in spec.paths:
        if path == "-":
            gen = _stdin_tables(spec, errors, row)
        else:
            fmt = spec.format or detect_format(path)
            if fmt == "jsonl":
                gen = read_jsonl(path, spec, errors, row)
            elif fmt == "parquet":
                gen = read_parquet(path, spec, errors, row)
            elif fmt == "txt":
                gen = read_txt(path, spec, errors, row)
            else:
                gen = read_txtdir(path, spec, errors, row)
        for table in gen:
            row += table.num_rows
            yield table


def read_batches(spec: InputSpec, errors: ErrorLog | None = None) -> Iterator[pa.RecordBatch]:
    """Stream the collection as canonical RecordBatches (see `semel.io` for the contract).

    Bad records raise `InputError` (file and line) with on_error="fail", or are skipped and logged in
    `errors` with "skip". Memory stays bounded by the batch size and the read block, not the input size.
    """
    if not spec.paths:
        raise InputError("no input given")
    if errors is None and spec.on_error == "skip":
        errors = ErrorLog()
    yield from rebatch(_tables(spec, errors), spec.batch_size, spec.batch_bytes)
