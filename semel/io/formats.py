"""Format detection from paths, compressed streams, and input sizes for progress bars."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from collections.abc import Sequence
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


def detect_format(path: str, format: str | None = None) -> str:
    """'jsonl' | 'parquet' | 'txt' | 'txtdir': `format` when given (a folder read as text is 'txtdir'),
    else from the path; stdin '-' is JSONL unless `format` says otherwise (see `semel.io.stdin`)."""
    if path == "-":
        from semel.io import stdin

        return stdin.spooled(format)[1]
    if format is not None:
        return "txtdir" if format in ("txt", "txtdir") and os.path.isdir(path) else format
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


class _Decompressed(io.RawIOBase):
    """A gzip or zstd stream, decompressed: concatenated members/frames are read on, and a stream that
    ends inside a member or frame (a truncated download, a full disk) is an error naming the file, never a
    silently short read. Closing it closes the file."""

    def __init__(self, raw: IO[bytes], path: str, codec: str) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._codec = codec  # "gzip" | "zstd"
        self._obj = self._new()
        self._out = b""
        self._pos = 0
        self._in_member = False  # bytes fed since the last member ended
        self._seen_input = False
        self._done = False

    def _new(self) -> Any:
        if self._codec == "zstd":
            return zstandard.ZstdDecompressor().decompressobj()
        return zlib.decompressobj(wbits=31)

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while self._pos >= len(self._out) and not self._done:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                self._done = True
                if self._in_member or not self._seen_input:
                    raise InputError(f"truncated {self._codec} stream"
                                     + ("" if self._seen_input else " (empty file)"), self._path)
                return
            self._seen_input = True
            pieces = []
            data = chunk
            try:
                while data:
                    pieces.append(self._obj.decompress(data))
                    self._in_member = True
                    if not self._obj.eof:
                        break
                    data = self._obj.unused_data
                    self._obj = self._new()
                    self._in_member = False
            except (zlib.error, zstandard.ZstdError) as exc:
                raise InputError(f"corrupt {self._codec} stream ({exc})", self._path) from None
            self._out = b"".join(pieces)
            self._pos = 0

    def readinto(self, buffer: Any) -> int:
        self._fill()
        n = min(len(buffer), len(self._out) - self._pos)
        buffer[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return self.readall()
        self._fill()
        data = self._out[self._pos:self._pos + n]
        self._pos += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def decompressed(raw: IO[bytes], path: str, codec: str) -> IO[bytes]:
    """The decompressed stream of `raw` ("gzip" or "zstd"); errors and truncation name `path`."""
    return _Decompressed(raw, path, codec)  # type: ignore[return-value]


def open_input(path: str) -> Any:
    """A binary stream of the (decompressed) content; '-' is stdin (read once into a temporary file)."""
    comp: str | None
    if path == "-":
        from semel.io import stdin

        source, _, comp = stdin.spooled()
    else:
        source = path
        _, comp = split_compression(path)
    try:
        raw = open(source, "rb", buffering=0)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path) from None
    except PermissionError:
        raise InputError("permission denied", path) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path) from None
    if comp is None:
        return raw
    return _Decompressed(raw, path, comp)


DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError)


def read_chunk(stream: Any, size: int, path: str) -> bytes:
    """stream.read(size), with corrupt or truncated compressed input reported as an InputError."""
    try:
        return stream.read(size)
    except DECOMPRESS_ERRORS as exc:
        raise InputError(f"corrupt or truncated compressed file ({exc})", path) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path) from None


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


def _bytes_on_disk(path: str) -> int:
    """Bytes of a file, or of a folder's .txt files; 0 for stdin or what cannot be read."""
    try:
        if os.path.isdir(path):
            return sum(os.path.getsize(os.path.join(path, rel)) for rel in txt_files(path)
                       if os.path.exists(os.path.join(path, rel)))
        return os.path.getsize(path) if path != "-" and os.path.exists(path) else 0
    except OSError:
        return 0


def input_size_bytes(spec: Any) -> int:
    """Total bytes on disk of the inputs (compressed size for .gz/.zst; 0 for stdin), for progress bars."""
    return sum(_bytes_on_disk(path) for path in spec.paths)


FORMATS_OUT = ("jsonl", "parquet", "txt", "txtdir")

#: How much text a compressed byte holds, roughly (JSONL of prose: gzip ~3-4x, zstd ~4-5x; rounded up so
#: that work is not taken for smaller than it is; Parquet pages are compressed too).
COMPRESSION_RATIO = 8


def work_size_bytes(inputs: str | Sequence[str]) -> int | None:
    """About how many bytes of records the inputs hold (compressed files count `COMPRESSION_RATIO` times
    their size); None where that is unknown before reading (stdin, remote URLs; file:// is local)."""
    from semel.io.remote import is_url, local_name

    paths = [inputs] if isinstance(inputs, str) else list(inputs)
    if any(p == "-" or is_url(p) for p in paths):
        return None
    total = 0
    for path in (local_name(str(p)) for p in paths):
        packed = split_compression(path)[1] is not None or _format_by_extension(path) == "parquet"
        total += _bytes_on_disk(path) * (COMPRESSION_RATIO if packed else 1)
    return total


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
