"""JSON Lines: a fast block reader (Arrow's multithreaded JSON parser) with an exact per-line fallback.

Each block of whole lines is parsed by `pyarrow.json` for just the id and text fields; any surprise
(bad JSON, wrong types, missing text, invalid UTF-8, blank-ish lines) sends that block through a per-line
orjson path that finds the exact line and reason. The original line bytes travel as `__raw`, so the
writer can re-emit untouched records byte for byte.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from semel.errors import InputError, SemelError, escape
from semel.io.errors_log import ErrorLog
from semel.io.formats import open_input, read_chunk
from semel.io.line_scan import scan_lines
from semel.io.spec import CHANGED, ID, LINE, RAW, ROW, SOURCE, TEXT, name_text, note_missing_ids

BLOCK = 16 << 20
BOM = b"\xef\xbb\xbf"
#: orjson's nesting limit: a record nested deeper is refused by the reader, since the writer could not
#: rewrite it (every record the reader accepts can be parsed again by orjson).
MAX_DEPTH = 1024
_JSON_KIND = {int: "a number", float: "a number", bool: "a boolean", list: "a list", dict: "an object",
              type(None): "null"}


def _kind(value: Any) -> str:
    return _JSON_KIND.get(type(value), type(value).__name__)


class _State:
    """Per-file parsing state carried from block to block."""

    def __init__(self, path: str, id_field: str, text_field: str, on_error: str, errors: ErrorLog | None):
        self.path = path
        self.basename = name_text(os.path.basename(path)) if path != "-" else "-"
        self.id_field = id_field
        self.text_field = text_field
        self.on_error = on_error
        self.errors = errors
        self.id_type: pa.DataType = pa.string()

    def bad(self, line: int, reason: str) -> None:
        if self.on_error == "fail":
            raise InputError(reason, self.path, line)
        if self.errors is not None:
            self.errors.add(self.path, line, reason)


def iter_lines_blocks(stream: Any, path: str, first: bytes = b"", at_start: bool = True) -> Iterator[bytes]:
    """Blocks of whole lines, each ending with b'\\n'; a line longer than BLOCK grows its block."""
    carry: list[bytes] = [first] if first else []
    carry_len = len(first)
    at_start = at_start and not first
    while True:
        chunk = read_chunk(stream, BLOCK, path)
        if not chunk:
            break
        if at_start:  # a UTF-8 byte order mark before the first record is not part of it
            at_start = False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM):]
            elif len(chunk) < len(BOM) and BOM.startswith(chunk):
                chunk += read_chunk(stream, len(BOM) - len(chunk), path)
                chunk = chunk[len(BOM):] if chunk.startswith(BOM) else chunk
            if not chunk:
                continue
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry.append(chunk)
            carry_len += len(chunk)
            continue
        block = b"".join([*carry, chunk[: cut + 1]]) if carry else chunk[: cut + 1]
        rest = chunk[cut + 1:]
        carry, carry_len = ([rest], len(rest)) if rest else ([], 0)
        yield block
    if carry_len:
        tail = b"".join(carry)
        yield tail if tail.endswith(b"\n") else tail + b"\n"


def _raw_array(block: bytes, ends: np.ndarray) -> pa.Array:
    """Zero-copy large_binary array over `block`, one element per line (newline included)."""
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(block)]
    return pa.Array.from_buffers(pa.large_binary(), len(ends), buffers)


def _fast(block: bytes, longest: int, nonblank: int, st: _State) -> tuple[pa.Array, pa.Array] | None:
    """(ids or None-filled, texts) via Arrow's JSON parser, or None when the block needs the exact path."""
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(block)], np.int64)),
                                                     pa.py_buffer(block)]).cast(pa.large_string())
    except pa.ArrowInvalid:
        return None
    for id_type in (st.id_type, pa.int64()) if st.id_type == pa.string() else (st.id_type, pa.string()):
        fields = [(st.text_field, pa.large_string())]
        if st.id_field != st.text_field:
            fields.insert(0, (st.id_field, id_type))
        try:
            table = pj.read_json(
                pa.BufferReader(block),
                read_options=pj.ReadOptions(use_threads=True, block_size=max(1 << 20, longest + 1024)),
                parse_options=pj.ParseOptions(explicit_schema=pa.schema(fields),
                                              unexpected_field_behavior="ignore"))
        except pa.ArrowInvalid as exc:
            if f"Column(/{st.id_field})" in str(exc):
                continue  # ids of the other type: try it
            return None
        if table.num_rows != nonblank:
            return None
        text = table.column(st.text_field).combine_chunks()
        if text.null_count:
            return None
        st.id_type = id_type
        if st.id_field == st.text_field:
            ids = pa.nulls(nonblank, pa.string())
        else:
            ids = table.column(st.id_field).combine_chunks()
            if ids.type != pa.string():
                ids = ids.cast(pa.string())
        return ids, text
    return None


def _orjson_can_parse(block: bytes, starts: np.ndarray, ends: np.ndarray, suspects: np.ndarray) -> bool:
    """False when a line of the block may be JSON that Arrow's parser accepts and orjson does not (NaN,
    Infinity, nesting deeper than MAX_DEPTH): such a block takes the exact path, which refuses those lines.
    `suspects`: the lines that may be (semel.io.line_scan)."""
    for i in suspects.tolist():
        try:
            orjson.loads(block[starts[i]:ends[i]])
        except orjson.JSONDecodeError:
            return False
    return True


def _number_text(raw: bytes, id_field: str, value: int | float) -> str:
    """A numeric id as written in the record (big integers and 1.50 kept exactly), not as a float."""
    try:
        obj = json.loads(raw, parse_int=str, parse_float=str)
    except (ValueError, RecursionError):
        return str(value)
    text = obj.get(id_field) if isinstance(obj, dict) else None
    return text if isinstance(text, str) else str(value)


def _exact(block: bytes, starts: np.ndarray, ends: np.ndarray, line0: int, st: _State
           ) -> tuple[list[str | None], list[str], list[int], list[bytes]]:
    """Parse line by line with orjson, reporting or skipping each bad record."""
    ids: list[str | None] = []
    texts: list[str] = []
    lines: list[int] = []
    raws: list[bytes] = []
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        raw = block[s:e]
        if not raw.strip():
            continue
        line = line0 + i
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                st.bad(line, "invalid UTF-8")
                continue
            st.bad(line, f"malformed JSON ({str(exc).split(':')[0]})")
            continue
        if not isinstance(obj, dict):
            st.bad(line, f"line is {_kind(obj)}, not a JSON object")
            continue
        if st.text_field not in obj:
            st.bad(line, f"missing text field '{st.text_field}'")
            continue
        text = obj[st.text_field]
        if not isinstance(text, str):
            st.bad(line, f"text field '{st.text_field}' is {_kind(text)}, not a string")
            continue
        ident = obj.get(st.id_field)
        if ident is not None and not isinstance(ident, str):
            if isinstance(ident, bool) or not isinstance(ident, int | float):
                st.bad(line, f"id field '{st.id_field}' is {_kind(ident)}, not a string or number")
                continue
            ident = _number_text(raw, st.id_field, ident)
        ids.append(ident)
        texts.append(text)
        lines.append(line)
        raws.append(raw)
    return ids, texts, lines, raws


def read_jsonl(path: str, spec: Any, errors: ErrorLog | None, row0: int, stream: Any = None,
               first: bytes = b"", line0: int = 1, at_start: bool = True) -> Iterator[pa.Table]:
    """Tables of canonical columns from one JSONL file (plain, .gz, .zst) or an already open stream: its
    first line numbered `line0`; `at_start=False` for a stream that starts inside a file (no byte order mark
    is looked for)."""
    st = _State(path, spec.id_field, spec.text_field, spec.on_error, errors)
    own = stream is None
    if own:
        stream = open_input(path)
    row = row0
    try:
        for block in iter_lines_blocks(stream, path, first, at_start):
            buf = np.frombuffer(block, dtype=np.uint8)
            ends, suspects = scan_lines(buf, MAX_DEPTH)
            starts = np.empty_like(ends)
            starts[0] = 0
            starts[1:] = ends[:-1]
            lengths = ends - starts
            blank = (lengths == 1) | ((lengths == 2) & (buf[starts] == 13))
            raw_all = _raw_array(block, ends)
            nonblank = int(len(ends) - blank.sum())
            # pyarrow 26's JSON reader crashes the process (SIGSEGV) on a block whose first line is `null`:
            # a block with a line that does not open with "{" takes the exact path, which reports such lines
            objects = nonblank > 0 and bool(np.all(buf[starts[~blank]] == 123))
            fast = _fast(block, int(lengths.max()), nonblank, st) if objects else None
            if fast is not None and not _orjson_can_parse(block, starts, ends, suspects):
                fast = None
            if fast is not None:
                ids, text = fast
                keep = ~blank
                line_nos = (np.arange(len(ends), dtype=np.int64) + line0)[keep]
                raw = raw_all if nonblank == len(ends) else raw_all.filter(pa.array(keep))
            else:
                id_list, texts, lines, raws = _exact(block, starts, ends, line0, st)
                ids = pa.array(id_list, pa.string())
                text = pa.array(texts, pa.large_string())
                line_nos = np.array(lines, dtype=np.int64)
                raw = pa.array(raws, pa.large_binary())
            line0 += len(ends)
            n = len(text)
            if n == 0:
                continue
            if ids.null_count:
                note_missing_ids(st.errors, ids.null_count, st.id_field)
                missing = np.flatnonzero(ids.is_null().to_numpy(zero_copy_only=False))
                fill = pa.array([f"{st.basename}:{line_nos[i]}" for i in missing.tolist()], pa.string())
                ids = pc.replace_with_mask(ids, ids.is_null(), fill)
            yield pa.table({
                ID: ids, TEXT: text,
                ROW: pa.array(np.arange(row, row + n, dtype=np.int64)),
                RAW: raw,
                SOURCE: pa.array([escape(path)], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32))),
                LINE: pa.array(line_nos),
            })
            row += n
    finally:
        if own:
            stream.close()


# ---------------------------------------------------------------------------------------------- writing

def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _changed_mask(batch: pa.RecordBatch, text_field: str) -> np.ndarray:
    """Which rows' text differs from the text inside their `__raw` line (vectorised when possible)."""
    n = batch.num_rows
    if CHANGED in batch.schema.names:
        return batch.column(CHANGED).fill_null(True).to_numpy(zero_copy_only=False).astype(bool)
    raw = batch.column(RAW)
    text = batch.column(TEXT)
    offsets = np.frombuffer(raw.buffers()[1], dtype=np.int64)[raw.offset: raw.offset + n + 1]
    data = raw.buffers()[2]
    if data is not None and n:
        block = data[int(offsets[0]): int(offsets[-1])]
        longest = int(np.max(np.diff(offsets)))
        try:
            table = pj.read_json(
                pa.BufferReader(block),
                read_options=pj.ReadOptions(use_threads=True, block_size=max(1 << 20, longest + 1024)),
                parse_options=pj.ParseOptions(explicit_schema=pa.schema([(text_field, pa.large_string())]),
                                              unexpected_field_behavior="ignore"))
            if table.num_rows == n:
                same = pc.equal(table.column(text_field).combine_chunks(), text.cast(pa.large_string()))
                return ~same.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        except pa.ArrowInvalid:
            pass
    out = np.zeros(n, dtype=bool)
    for i, (r, t) in enumerate(zip(raw.to_pylist(), text.to_pylist(), strict=True)):
        try:
            out[i] = orjson.loads(r).get(text_field) != t
        except (orjson.JSONDecodeError, AttributeError):
            out[i] = True
    return out


_LONG_INT = re.compile(rb"[:,\[]\s*-?\d{19}")


def load_record(line: bytes) -> dict:
    """A JSONL record as a dict, integers too large for 64 bits kept exactly (as orjson.Fragment, written
    back as they were), which orjson alone would turn into floats."""
    if not _LONG_INT.search(line):
        return orjson.loads(line)
    return json.loads(line, parse_int=lambda s: orjson.Fragment(s) if len(s.lstrip("-")) > 18 else int(s))


def _where(batch: pa.RecordBatch, i: int) -> tuple[str | None, int | None]:
    """(file, line) of row i when the batch carries them."""
    names = batch.schema.names
    if SOURCE not in names or LINE not in names:
        return None, None
    return batch.column(SOURCE)[i].as_py(), batch.column(LINE)[i].as_py()


def encode_jsonl(batch: pa.RecordBatch, text_field: str, id_field: str) -> bytes:
    """The JSONL bytes of a canonical batch: untouched records byte for byte, others re-serialised."""
    names = batch.schema.names
    extra = [c for c in names if not c.startswith("__") and c not in (ID, TEXT)]
    n = batch.num_rows
    if n == 0:
        return b""
    if RAW in names:
        raw = batch.column(RAW)
        if not extra:
            changed = _changed_mask(batch, text_field)
            if not changed.any():
                offsets = np.frombuffer(raw.buffers()[1], dtype=np.int64)[raw.offset: raw.offset + n + 1]
                return raw.buffers()[2][int(offsets[0]): int(offsets[-1])].to_pybytes()
        else:
            changed = np.ones(n, dtype=bool)
        raws = raw.to_pylist()
        texts = batch.column(TEXT).to_pylist()
        extras = {c: batch.column(c).to_pylist() for c in extra}
        out: list[bytes] = []
        for i in range(n):
            line = raws[i]
            if not changed[i]:
                out.append(line if line.endswith(b"\n") else line + b"\n")
                continue
            try:
                obj = load_record(line)
            except (orjson.JSONDecodeError, ValueError, RecursionError) as exc:
                path, line_no = _where(batch, i)
                if path is None:
                    raise SemelError(f"cannot rewrite a record whose line is not JSON ({exc})") from None
                raise InputError(f"cannot rewrite this record ({exc})", path, line_no) from None
            obj[text_field] = texts[i]
            for c, values in extras.items():
                obj[c] = values[i]
            out.append(orjson.dumps(obj, default=_jsonable) + b"\n")
        return b"".join(out)
    cols = [c for c in names if not c.startswith("__")]
    rename = {ID: id_field, TEXT: text_field}
    data = {rename.get(c, c): batch.column(c).to_pylist() for c in cols}
    keys = list(data)
    values = [data[k] for k in keys]
    dumps = orjson.dumps
    return b"".join(dumps(dict(zip(keys, row, strict=True)), default=_jsonable) + b"\n"
                    for row in zip(*values, strict=True))
