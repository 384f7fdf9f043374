"""Plain text: a single .txt (one document), a folder of .txt files (one document each), stdin text."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from semel.errors import InputError, SemelError, escape
from semel.io.errors_log import ErrorLog
from semel.io.formats import txt_files
from semel.io.spec import ID, LINE, ROW, SOURCE, TEXT, name_text


def _decode(data: bytes, path: str, spec: Any, errors: ErrorLog | None) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (bad byte at offset {exc.start})"
        if spec.on_error == "fail":
            raise InputError(reason, path) from None
        if errors is not None:
            errors.add(path, None, reason)
        return None


def _table(ids: list[str], texts: list[str], sources: list[str], row0: int) -> pa.Table:
    n = len(ids)
    return pa.table({
        ID: pa.array(ids, pa.string()),
        TEXT: pa.array(texts, pa.large_string()),
        ROW: pa.array(np.arange(row0, row0 + n, dtype=np.int64)),
        SOURCE: pa.array(sources, pa.string()),
        LINE: pa.nulls(n, pa.int64()),
    })


def text_document(data: bytes, path: str, doc_id: str, spec: Any, errors: ErrorLog | None,
                  row0: int) -> Iterator[pa.Table]:
    """One document from the bytes of a file or of stdin."""
    text = _decode(data, path, spec, errors)
    if text is not None:
        yield _table([doc_id], [text], [escape(path)], row0)


def read_txt(path: str, spec: Any, errors: ErrorLog | None, row0: int) -> Iterator[pa.Table]:
    """A single .txt file is one document whose id is the file name."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a folder; use format 'txtdir'", path) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path) from None
    yield from text_document(data, path, name_text(os.path.basename(path)), spec, errors, row0)


def read_txtdir(folder: str, spec: Any, errors: ErrorLog | None, row0: int) -> Iterator[pa.Table]:
    """Every .txt under `folder` (sorted relative paths) is a document whose id is its relative path."""
    if not os.path.isdir(folder):
        raise InputError("no such folder", folder)
    ids: list[str] = []
    texts: list[str] = []
    sources: list[str] = []
    size = 0
    row = row0
    for rel in txt_files(folder):
        full = os.path.join(folder, rel)
        try:
            with open(full, "rb") as f:
                data = f.read()
        except OSError as exc:  # a broken link, a file removed meanwhile, no permission
            reason = exc.strerror or str(exc)
            if spec.on_error == "fail":
                raise InputError(reason, full) from None
            if errors is not None:
                errors.add(full, None, reason)
            continue
        text = _decode(data, full, spec, errors)
        if text is None:
            continue
        ids.append(name_text(rel))
        texts.append(text)
        sources.append(escape(full))
        size += len(data)
        if len(ids) >= spec.batch_size or size >= spec.batch_bytes:
            yield _table(ids, texts, sources, row)
            row += len(ids)
            ids, texts, sources, size = [], [], [], 0
    if ids:
        yield _table(ids, texts, sources, row)


def encode_texts(batch: pa.RecordBatch, state: list[bool]) -> bytes:
    """Texts as written, one blank line between documents (a newline first where a text lacks its own), so
    one document comes back byte for byte. `state` is [anything written yet, last byte was a newline],
    updated in place across batches."""
    parts: list[str] = []
    written, newline = state
    for text in batch.column(TEXT).to_pylist():
        if written:
            parts.append("\n" if newline else "\n\n")
            newline = True
        parts.append(text)
        if text:
            newline = text.endswith("\n")
        written = True
    state[:] = [written, newline]
    return "".join(parts).encode("utf-8")


def safe_relpath(doc_id: str) -> str:
    """An id usable as a relative path inside the output folder (no absolute paths, no '..')."""
    parts = doc_id.replace("\\", "/").split("/")
    if not doc_id or doc_id.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise SemelError(f"id '{doc_id}' cannot be used as a file path inside the output folder")
    rel = "/".join(parts)
    return rel if rel.lower().endswith(".txt") else rel + ".txt"
