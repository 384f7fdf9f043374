"""Readers and writers shared by every job: JSONL (.gz/.zst), Parquet, .txt files and folders, stdin/stdout.

The batch contract
------------------
`read_batches(spec)` yields `pyarrow.RecordBatch`es of at most `spec.batch_size` documents (and about
`spec.batch_bytes` of text; a single larger document gets a batch of its own). Every batch has:

- ``id``      string. The user's id field, renamed; ints/floats become their decimal string. A JSONL record
              without one gets ``"<file name>:<line>"`` (Parquet: ``"<file name>:<row>"``, 1-based).
              A .txt folder: the relative path with '/'; a single .txt: its file name; stdin text: ``"-"``.
- ``text``    large_string. The user's text field, renamed. ``""`` is a valid (empty) document.
- ``__row``   int64. The document's 0-based ordinal in the whole collection, in input order across all
              paths, contiguous (skipped bad records take no number). It defines "first" and determinism.
- ``__source`` string. The path the document came from (for a .txt folder, the file's own path).
- ``__line``  int64. 1-based line of a JSONL file / row of a Parquet file; null for text files.
- ``__raw``   large_binary, JSONL only: the original line bytes, including the final b"\\n".
- passthrough, Parquet only: the file's other columns as they are, in their original order.

Batches from different files are joined when their schemas match, so a batch may mix sources.

`open_writer(path)` writes such batches back. Columns that a job adds (any name not starting with "__")
are written as extra fields/columns; ``__*`` columns are never written. For JSONL from JSONL, a record
whose text is unchanged and that has no added fields is re-emitted byte for byte from ``__raw``; otherwise
its line is parsed, the text field replaced in place (key order kept) and added fields appended. A job
that knows which texts it changed may add a bool ``__changed`` column to skip the comparison.
All file outputs are atomic (temp file beside the target, renamed on success, removed on failure).
"""
from __future__ import annotations

from semel.io.atomic import atomic_path
from semel.io.errors_log import ErrorLog
from semel.io.formats import detect_format, input_size_bytes, output_format_for
from semel.io.reader import read_batches
from semel.io.spec import CHANGED, ID, LINE, RAW, ROW, SOURCE, TEXT, InputSpec
from semel.io.writer import Writer, open_writer

__all__ = [
    "CHANGED", "ID", "LINE", "RAW", "ROW", "SOURCE", "TEXT",
    "ErrorLog", "InputSpec", "Writer",
    "atomic_path", "detect_format", "input_size_bytes", "open_writer", "output_format_for", "read_batches",
]
