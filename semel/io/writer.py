"""`open_writer`: atomic writers for JSONL (.gz/.zst), Parquet, a .txt file or stdout, a folder of .txt."""
from __future__ import annotations

import gzip
import os
import sys
from contextlib import AbstractContextManager
from types import TracebackType
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from semel.errors import SemelError, escape
from semel.io.atomic import atomic_path
from semel.io.formats import FORMATS_OUT, output_format_for, split_compression
from semel.io.jsonl import encode_jsonl
from semel.io.parquet import to_output_table
from semel.io.spec import ID, SOURCE, TEXT
from semel.io.text_files import encode_texts, safe_relpath


class Writer:
    """Writes canonical batches; nothing appears at `path` until `close()` succeeds."""

    def __init__(self, path: str, format: str, text_field: str = "text", id_field: str = "id") -> None:
        self.path = path
        self.format = format
        self.text_field = text_field
        self.id_field = id_field
        self.rows = 0
        self._closed = False
        self._atomic: AbstractContextManager[str] | None = None
        self._file: Any = None
        self._raw: IO[bytes] | None = None
        self._pq: pq.ParquetWriter | None = None
        self._pq_schema: pa.Schema | None = None
        self._txt_state = [False, False]
        self._txt_names: dict[str, str] = {}
        if path == "-":
            self._temp = "-"
            if format not in ("jsonl", "txt"):
                raise SemelError(f"cannot write {format} to stdout; give an output path")
            self._file = sys.stdout.buffer
        else:
            self._atomic = atomic_path(path)
            self._temp = self._atomic.__enter__()
            try:
                self._open()
            except BaseException:
                self._atomic.__exit__(*sys.exc_info())
                raise

    def _open(self) -> None:
        if self.format == "jsonl":
            _, comp = split_compression(self.path)
            self._raw = open(self._temp, "wb")
            if comp == "gzip":
                self._file = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6, mtime=0)
            elif comp == "zstd":
                self._file = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)
            else:
                self._file = self._raw
        elif self.format == "txt":
            self._file = open(self._temp, "wb")
        elif self.format == "txtdir":
            os.makedirs(self._temp)
        elif self.format != "parquet":
            raise SemelError(f"unknown output format '{self.format}'")

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append the batch's documents (the canonical columns plus any the job added)."""
        if self._closed:
            raise ValueError("write to a closed Writer")
        if isinstance(batch, pa.Table):
            for b in batch.to_batches():
                self.write(b)
            return
        if self.format == "jsonl":
            self._file.write(encode_jsonl(batch, self.text_field, self.id_field))
        elif self.format == "txt":
            data = encode_texts(batch, self._txt_state)
            if data:
                self._file.write(data)
        elif self.format == "txtdir":
            ids, texts = batch.column(ID).to_pylist(), batch.column(TEXT).to_pylist()
            sources = (batch.column(SOURCE).to_pylist() if SOURCE in batch.schema.names
                       else [None] * batch.num_rows)
            for doc_id, text, source in zip(ids, texts, sources, strict=True):
                rel = safe_relpath(doc_id)
                target = os.path.join(self._temp, rel)
                if os.path.lexists(target):  # the same id twice (or ids equal but for case, on some disks)
                    first = self._txt_names.get(rel) or doc_id
                    both = f"{first} and {source or doc_id}"
                    raise SemelError(
                        f"two documents would be written to the same file {escape(rel)} ({escape(both)}); "
                        "a folder of .txt needs unique ids: give one folder at a time, or write JSONL or "
                        "Parquet")
                self._txt_names[rel] = source or doc_id
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
        else:
            table = to_output_table(batch, self.text_field, self.id_field)
            if self._pq is None:
                self._pq_schema = table.schema
                self._pq = pq.ParquetWriter(self._temp, table.schema, compression="zstd")
            elif not table.schema.equals(self._pq_schema):
                try:
                    table = table.select(self._pq_schema.names).cast(self._pq_schema)
                except (KeyError, pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
                    raise SemelError(f"columns change type or name between batches ({exc}); "
                                     "write JSONL instead") from None
            self._pq.write_table(table)
        self.rows += batch.num_rows

    def write_lines(self, data: bytes | memoryview, count: int) -> None:
        """Append `count` JSONL records given as their bytes (whole lines, each ending with a newline),
        e.g. copied unchanged from an input: nothing is parsed or re-encoded."""
        if self._closed:
            raise ValueError("write to a closed Writer")
        if self.format != "jsonl":
            raise SemelError(f"cannot copy JSON lines into a {self.format} output")
        self._file.write(data)
        self.rows += count

    def close(self) -> None:
        """Finish and move the output into place (atomically, except for stdout)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.path == "-":
                self._file.flush()
                return
            if self.format == "parquet":
                if self._pq is None:  # no batches: still write a valid (empty) file
                    pq.write_table(pa.table({self.id_field: pa.array([], pa.string()),
                                             self.text_field: pa.array([], pa.large_string())}), self._temp)
                else:
                    self._pq.close()
            elif self._file is not None:
                self._file.close()
                if self._raw is not None and self._raw is not self._file:
                    self._raw.close()
        except BaseException:
            self._abort(*sys.exc_info())
            raise
        assert self._atomic is not None
        self._atomic.__exit__(None, None, None)

    def abort(self) -> None:
        """Drop everything written so far: no output, no temp file."""
        try:
            raise SemelError("write aborted")
        except SemelError:
            self._abort(*sys.exc_info())

    def _abort(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._closed = True
        for f in (self._pq, self._file, self._raw):
            if f is not None and f is not sys.stdout.buffer:
                try:
                    f.close()
                except Exception:  # noqa: BLE001 - best effort while failing
                    pass
        if self._atomic is not None:
            try:
                self._atomic.__exit__(exc_type, exc, tb)
            except BaseException as raised:
                if raised is not exc:
                    raise
            self._atomic = None

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        elif not self._closed or self._atomic is not None:
            self._abort(exc_type, exc, tb)


def open_writer(path: str, format: str | None = None, text_field: str = "text",
                id_field: str = "id") -> Writer:
    """A Writer for `path`; the format comes from its extension unless given ('-' is stdout text)."""
    if format is None:
        format = "txt" if path == "-" else output_format_for("", path)
    if format not in FORMATS_OUT:
        raise SemelError(f"unknown output format '{format}'")
    return Writer(path, format, text_field=text_field, id_field=id_field)
