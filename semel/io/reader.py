"""`read_batches`: one ordered stream of canonical batches from any mix of inputs."""
from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from semel.errors import InputError
from semel.io import stdin
from semel.io.batching import rebatch
from semel.io.errors_log import ErrorLog
from semel.io.formats import detect_format, open_input, read_chunk
from semel.io.jsonl import read_jsonl
from semel.io.parquet import read_parquet
from semel.io.spec import InputSpec
from semel.io.text_files import read_txt, read_txtdir, text_document


def _stdin_tables(spec: InputSpec, errors: ErrorLog | None, row0: int) -> Iterator[pa.Table]:
    """stdin, read once into a temporary file (see `semel.io.stdin`), in the format asked for."""
    _, fmt, _ = stdin.spooled(spec.format)
    if fmt == "jsonl":
        yield from read_jsonl("-", spec, errors, row0)
    elif fmt == "parquet":
        yield from read_parquet("-", spec, errors, row0)
    else:
        with open_input("-") as stream:
            data = read_chunk(stream, -1, "-")
        yield from text_document(data, "-", "-", spec, errors, row0)


def _tables(spec: InputSpec, errors: ErrorLog | None) -> Iterator[pa.Table]:
    row = 0
    for path in spec.paths:
        if path == "-":
            gen = _stdin_tables(spec, errors, row)
        else:
            fmt = detect_format(path, spec.format)
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
    if errors is None:
        errors = ErrorLog()
    yield from rebatch(_tables(spec, errors), spec.batch_size, spec.batch_bytes)
