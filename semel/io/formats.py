"""Format detection from paths, compressed streams, and input sizes for progress bars."""
from __future__ import annotations

import gzip
import hashlib
import os
import sys
import zlib
from typing import IO, Any

import zstandard

from semel.errors import InputError, SemelError

_JSONL_EXT = (".jsonl", ".ndjson", ".json")
_PARQUET_EXT = (".parquet", ".pq")
_COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}


def split_compression(path: str) -> tuple[str, str | None]:
    """('data.jsonl', 'gzip') for 'data.jsonl.gz'; the compression is None for plain files."""
    base, ext = os.path.splitext(path)
    comp = _COMPRESSIONS.get(ext.lower())
    return (base, comp) if comp else (path, None)


def _format_by_extension(path: str) -> str | None:
    """'jsonl' | 'parquet' | 'txt' from the extension under any compression suffix; None otherwise."""
    base, _ = split_compression(path)
    ext = os.path.splitext(base)[1].lower()
    if ext in _JSONL_EXT:
        return "jsonl"
    if ext in _PARQUET_EXT:
        return "parquet"
    return "txt" if ext == ".txt" else None


def detect_format(path: str) -> str:
    """'jsonl' | 'parquet' | 'txt' | 'txtdir' from the path; stdin '-' reads as 'jsonl' until sniffed."""
    if path == "-":
        return "jsonl"
    if os.path.isdir(path):
        return "txtdir"
    fmt = _format_by_extension(path)
    if fmt is not None:
        return fmt
    if not os.path.exists(path):
        raise InputError("no such file or folder", path)
    raise InputError("cannot tell the format from the name; use .jsonl, .parquet, .txt or a folder "
                     "(or pass the format explicitly)", path)


def output_format_for(input_format: str, out_path: str) -> str:
    """The output format: from the output's extension; else like the input ('-' gets JSONL or text)."""
    if out_path == "-":
        return "jsonl" if input_format in ("jsonl", "parquet") else "txt"
    fmt = _format_by_extension(out_path)
    if fmt is not None:
        return fmt
    if os.path.splitext(split_compression(out_path)[0])[1] == "" and (
            input_format == "txtdir" or os.path.isdir(out_path)):
        return "txtdir"
    raise SemelError(f"cannot tell the output format from '{out_path}'; "
                     "use .jsonl (.gz/.zst), .parquet, .txt or a folder")


class _ZstdReader:
    """A zstandard stream that also reads concatenated frames, closing the file with it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)

    def read(self, n: int = -1) -> bytes:
        return self._reader.read(n)

    def close(self) -> None:
        self._reader.close()
        self._raw.close()


def open_input(path: str) -> Any:
    """A binary stream of the (decompressed) content; '-' is stdin."""
    if path == "-":
        return sys.stdin.buffer
    _, comp = split_compression(path)
    try:
        if comp == "gzip":
            return gzip.open(path, "rb")
        if comp == "zstd":
            return _ZstdReader(open(path, "rb"))
        return open(path, "rb", buffering=0)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path) from None
    except PermissionError:
        raise InputError("permission denied", path) from None


DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError)


def read_chunk(stream: Any, size: int, path: str) -> bytes:
    """stream.read(size), with corrupt or truncated compressed input reported as an InputError."""
    try:
        return stream.read(size)
    except DECOMPRESS_ERRORS as exc:
        raise InputError(f"corrupt or truncated compressed file ({exc})", path) from None


def txt_files(folder: str) -> list[str]:
    """Relative paths (with '/') of the .txt files under `folder`, recursively, sorted. Hidden files and
    folders (names starting with '.', such as semel's own temporary outputs) are not documents."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.lower().endswith(".txt") and not name.startswith("."):
                rel = os.path.relpath(os.path.join(root, name), folder)
                found.append(rel.replace(os.sep, "/"))
    found.sort()
    return found


def input_size_bytes(spec: Any) -> int:
    """Total bytes on disk of the inputs (compressed size for .gz/.zst; 0 for stdin), for progress bars."""
    total = 0
    for path in spec.paths:
        if path == "-":
            continue
        try:
            if os.path.isdir(path):
                total += sum(os.path.getsize(os.path.join(path, rel)) for rel in txt_files(path)
                             if os.path.exists(os.path.join(path, rel)))
            elif os.path.exists(path):
                total += os.path.getsize(path)
        except OSError:
            pass
    return total

FORMATS_OUT = ("jsonl", "parquet", "txt", "txtdir")


def input_identity(path: str) -> list[Any]:
    """What tells a changed input from the same one, for resuming: [absolute path, size, modification
    time, hash of the first and last 64 KiB]; for a folder, the names, sizes and times of its .txt files."""
    if path == "-":
        return ["-"]
    absolute = os.path.abspath(path)
    h = hashlib.sha256()
    try:
        if os.path.isdir(path):
            for rel in txt_files(path):
                try:
                    st = os.stat(os.path.join(path, rel))
                except OSError:
                    continue
                h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
            return [absolute, "folder", h.hexdigest()[:16]]
        st = os.stat(path)
        with open(path, "rb") as f:
            h.update(f.read(1 << 16))
            if st.st_size > 1 << 16:
                f.seek(max(1 << 16, st.st_size - (1 << 16)))
                h.update(f.read(1 << 16))
    except OSError:
        return [absolute, None]
    return [absolute, st.st_size, st.st_mtime_ns, h.hexdigest()[:16]]
