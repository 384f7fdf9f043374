"""stdin, read once.

A job may read its input more than once (dedup reads it to sketch and again to write the kept documents),
and Parquet needs to seek, so stdin is first copied to a temporary file (removed when the process ends)
and every reader of '-' opens that copy. The format is what the caller says (`--format`); otherwise it
is JSONL (gzip or zstd compressed JSONL is recognised by its magic bytes, Parquet by its own), never
guessed from the content: a first line that is not JSON is an error, not a text document.
"""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

from semel.errors import InputError

_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_spool: tuple[object, str, str, str | None] | None = None  # (stdin object, path, format, compression)
_chosen: tuple[object, str | None] | None = None  # (stdin object, the format --format asked for)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def spooled(format: str | None = None) -> tuple[str, str, str | None]:
    """(temporary file holding stdin, its format, its compression); stdin is read on the first call.

    `format` ("jsonl" | "parquet" | "txt") overrides the default (JSONL, or Parquet by its magic bytes).
    """
    global _spool
    source = getattr(sys.stdin, "buffer", None)
    if source is None:
        raise InputError("stdin is closed", "-")
    if _spool is None or _spool[0] is not source:
        if _spool is not None:
            _remove(_spool[1])
        fd, path = tempfile.mkstemp(prefix="semel-stdin-")
        atexit.register(_remove, path)
        try:
            with os.fdopen(fd, "wb") as f:
                shutil.copyfileobj(source, f, 1 << 20)  # type: ignore[misc]
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError as exc:
            _remove(path)
            raise InputError(f"cannot keep a copy of stdin ({exc.strerror or exc})", "-") from None
        compression = next((c for magic, c in _MAGIC.items() if head.startswith(magic)), None)
        sniffed = "parquet" if head == b"PAR1" else "jsonl"
        _spool = (source, path, sniffed, compression)
    _, path, sniffed, compression = _spool
    chosen = _chosen[1] if _chosen is not None and _chosen[0] is source else None
    fmt = format or chosen or sniffed
    if fmt not in ("jsonl", "parquet", "txt"):
        raise InputError(f"stdin cannot be read as {fmt}; use --format jsonl, parquet or txt", "-")
    return path, fmt, (compression if fmt != "parquet" else None)


def choose_format(format: str | None) -> None:
    """Read stdin now, as `format` for every later reader that does not name one (the --format flag)."""
    global _chosen
    _chosen = (getattr(sys.stdin, "buffer", None), format)
    spooled(format)
