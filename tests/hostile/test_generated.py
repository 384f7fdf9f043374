"""Generated hostile input through every reader and every command.

Hypothesis writes JSONL bytes: valid records (unicode, big and odd ids, nested fields, empty texts) mixed
with corrupted ones (cut JSON, invalid UTF-8, other encodings, non-objects, wrong types, NaN, deep
nesting, blank and whitespace lines, a byte order mark, CRLF), stored plain, gzip, zstd or as Parquet, and
often cut at a random offset. Whatever comes in, the promises hold:

- a reader yields every non-blank record exactly once, skipped (and listed) or read, or raises InputError;
- a command exits 0 with every document accounted for exactly once (in clusters.parquet or the output,
  plus the listed skips), or exits 1 with one `semel: error:` line and no output at all;
- a truncated compressed stream or Parquet file is never read as a shorter input with exit 0;
- never a traceback.
"""
from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semel.errors import InputError
from semel.io import ErrorLog, InputSpec, read_batches
from tests.hostile.helpers import Stdin, cli, nonblank, one_error

settings.register_profile("hostile", max_examples=12, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
HOSTILE = settings.get_profile("hostile")
CONTAINERS = st.sampled_from(["plain", "gzip", "zstd"])
CUTS = st.none() | st.integers(0)  # where to truncate the stored file (modulo its size)

ids = st.one_of(st.text(max_size=6), st.integers(-(2 ** 70), 2 ** 70),
                st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["1", "a/b", "../x", ""]))
texts = st.one_of(st.text(max_size=40), st.sampled_from([
    "", "This sentence is repeated twice by the scraper. This sentence is repeated twice by the scraper.",
    "a\nb\n\nc", "日本語のテキスト。日本語のテキスト。", "\u2028\ufeff\x00"]))
nested = st.recursive(st.none() | st.booleans() | st.integers(-(2 ** 80), 2 ** 80) | st.text(max_size=5),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                  max_size=3), max_leaves=8)


@st.composite
def valid_record(draw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"text": draw(texts)}
    if draw(st.booleans()):
        rec["id"] = draw(ids)
    if draw(st.booleans()):
        rec["meta"] = draw(nested)
    keys = list(rec)
    return {k: rec[k] for k in draw(st.permutations(keys))}


def _dump(rec: dict[str, Any]) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def line(draw: Any) -> bytes:
    """One JSONL line (without its newline): mostly valid, sometimes broken in one of many ways."""
    rec = draw(valid_record())
    kind = draw(st.sampled_from(["valid"] * 6 + [
        "cut", "bad-utf8", "latin1", "utf16", "not-object", "no-text", "text-number", "id-list", "nan",
        "deep", "blank", "spaces", "crlf", "surrogate"]))
    raw = _dump(rec)
    if kind == "cut":
        return raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    if kind == "bad-utf8":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + b"\xff\xc3" + raw[at:]
    if kind == "latin1":
        return json.dumps({"text": "café"}, ensure_ascii=False).encode("latin-1")
    if kind == "utf16":
        return raw.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass")
    if kind == "not-object":
        return draw(st.sampled_from([b"[1, 2]", b"3", b'"text"', b"null", b"true"]))
    if kind == "no-text":
        return _dump({k: v for k, v in rec.items() if k != "text"})
    if kind == "text-number":
        return _dump({**rec, "text": 5})
    if kind == "id-list":
        return _dump({**rec, "id": [1, 2]})
    if kind == "nan":
        return raw[:-1] + b', "x": NaN}'
    if kind == "deep":
        return raw[:-1] + b', "x": ' + b"[" * 1100 + b"]" * 1100 + b"}"
    if kind == "blank":
        return b""
    if kind == "spaces":
        return b" \t "
    if kind == "crlf":
        return raw + b"\r"
    if kind == "surrogate":
        return b'{"text": "\\ud800 lone"}'
    return raw


@st.composite
def jsonl_bytes(draw: Any) -> bytes:
    lines = draw(st.lists(line(), max_size=10))
    data = b"\n".join(lines) + (b"\n" if draw(st.booleans()) else b"")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


def _store(folder: str, data: bytes, container: str) -> str:
    if container == "gzip":
        path, blob = os.path.join(folder, "in.jsonl.gz"), gzip.compress(data, mtime=0)
    elif container == "zstd":
        blob = zstandard.ZstdCompressor(write_checksum=True).compress(data)
        path = os.path.join(folder, "in.jsonl.zst")
    else:
        path, blob = os.path.join(folder, "in.jsonl"), data
    with open(path, "wb") as f:
        f.write(blob)
    return path


def _cut(path: str, at: int) -> bool:
    """Truncate the file at byte `at` (modulo its length); True when something was cut."""
    size = os.path.getsize(path)
    at = at % (size + 1)
    if at == size:
        return False
    with open(path, "r+b") as f:
        f.truncate(at)
    return True


def _read_all(spec: InputSpec) -> tuple[int, int]:
    errors = ErrorLog()
    n = sum(b.num_rows for b in read_batches(spec, errors))
    return n, errors.count


# ------------------------------------------------------------------------------------------- readers

@settings(HOSTILE, max_examples=60)
@given(data=jsonl_bytes(), container=CONTAINERS, cut=CUTS, batch=st.integers(1, 5))
def test_jsonl_reader_accounts_for_every_record(data: bytes, container: str, cut: int | None,
                                                batch: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _store(folder, data, container)
        truncated = cut is not None and _cut(path, cut)
        for on_error in ("fail", "skip"):
            try:
                n, skipped = _read_all(InputSpec([path], on_error=on_error, batch_size=batch))  # type: ignore[arg-type]
            except InputError as exc:
                assert "\n" not in str(exc)
                continue
            assert not (truncated and container != "plain"), "a truncated stream read as a shorter input"
            if not truncated:
                assert n + skipped == nonblank(data)
                assert on_error == "skip" or skipped == 0


@settings(HOSTILE, max_examples=40)
@given(data=jsonl_bytes(), fmt=st.sampled_from([None, "jsonl", "txt"]))
def test_stdin_reader_accounts_for_every_record(monkeypatch: pytest.MonkeyPatch, data: bytes,
                                                fmt: str | None) -> None:
    monkeypatch.setattr(sys, "stdin", Stdin(data))
    try:
        n, skipped = _read_all(InputSpec(["-"], on_error="skip", format=fmt))
    except InputError as exc:
        assert fmt == "txt" and "not UTF-8" in str(exc)  # JSONL records are skipped, never fatal
        return
    assert n + skipped == (1 if fmt == "txt" else nonblank(data))


def _parquet_file(folder: str, recs: list[dict[str, Any]], cut: int | None) -> tuple[str, bool]:
    """The records as FOLDER/in.parquet, cut at `cut` bytes when given; (path, whether it was cut)."""
    table = pa.table({"id": [str(r.get("id")) for r in recs], "text": [r["text"] for r in recs]},
                     schema=pa.schema([("id", pa.string()), ("text", pa.string())]))
    path = os.path.join(folder, "in.parquet")
    pq.write_table(table, path)
    return path, cut is not None and _cut(path, cut)


@settings(HOSTILE, max_examples=25)
@given(recs=st.lists(valid_record(), max_size=8), cut=CUTS)
def test_parquet_reader_whole_or_error(recs: list[dict[str, Any]], cut: int | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path, truncated = _parquet_file(folder, recs, cut)
        try:
            n, _ = _read_all(InputSpec([path]))
        except InputError:
            return
        assert not truncated and n == len(recs)


@settings(HOSTILE, max_examples=25)
@given(files=st.lists(st.binary(max_size=30) | st.text(max_size=30).map(lambda t: t.encode("utf-8")),
                      max_size=5))
def test_txt_readers_one_document_per_file_or_error(files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        docs = os.path.join(folder, "docs")
        os.mkdir(docs)
        for i, data in enumerate(files):
            with open(os.path.join(docs, f"{i}.txt"), "wb") as f:
                f.write(data)
        for on_error in ("fail", "skip"):
            try:
                n, skipped = _read_all(InputSpec([docs], on_error=on_error))  # type: ignore[arg-type]
            except InputError:
                assert on_error == "fail"
                continue
            assert n + skipped == len(files)


# ------------------------------------------------------------------------------------------ commands

def _records_out(path: str) -> int:
    if not os.path.exists(path):
        return -1
    with open(path, "rb") as f:
        return sum(1 for ln in f if ln.strip())


def _skips(path: str) -> int:
    return _records_out(path) if os.path.exists(path) else 0


def _check_failure(rc: int, err: str, out_paths: list[str]) -> None:
    assert rc == 1, err
    one_error(err)
    for p in out_paths:
        assert not os.path.exists(p), f"{p} left by a failed run"


@pytest.mark.parametrize("command", ["repair", "lines", "substrings"])
@HOSTILE
@given(data=jsonl_bytes(), container=CONTAINERS, cut=CUTS, on_error=st.sampled_from(["fail", "skip"]))
def test_span_commands_account_for_every_document(capsys: pytest.CaptureFixture[str], command: str,
                                                  data: bytes, container: str, cut: int | None,
                                                  on_error: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _store(folder, data, container)
        truncated = cut is not None and _cut(path, cut)
        out = os.path.join(folder, "out", "o.jsonl")
        extra = ["--min-docs", "2"] if command == "lines" else []
        rc, _, err = cli(capsys, command, path, "-o", out, "--on-error", on_error, *extra)
        side = [out, out + ".errors.jsonl", out + ".stats.json", out + ".lines.parquet"]
        if rc != 0:
            _check_failure(rc, err, side)
            return
        assert "Traceback" not in err
        assert not (truncated and container != "plain"), "a truncated stream read as a shorter input"
        if not truncated:
            assert _records_out(out) + _skips(out + ".errors.jsonl") == nonblank(data)


@settings(HOSTILE, max_examples=10)
@given(recs=st.lists(valid_record(), max_size=6), cut=CUTS,
       command=st.sampled_from(["repair", "lines", "substrings", "dedup"]))
def test_commands_on_parquet_whole_or_error(capsys: pytest.CaptureFixture[str], recs: list[dict[str, Any]],
                                            cut: int | None, command: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path, truncated = _parquet_file(folder, recs, cut)
        out = os.path.join(folder, "out" if command == "dedup" else "o.parquet")
        extra = ["--min-docs", "2"] if command == "lines" else (["-q"] if command == "dedup" else [])
        rc, _, err = cli(capsys, command, path, "-o", out, *extra)
        if rc != 0:
            _check_failure(rc, err, [out])
            return
        assert not truncated, "a truncated Parquet file read as a shorter input"
        result = os.path.join(out, "clusters.parquet") if command == "dedup" else out
        assert pq.read_table(result).num_rows == len(recs)


@HOSTILE
@given(data=jsonl_bytes(), container=st.sampled_from(["plain", "zstd"]), cut=CUTS,
       on_error=st.sampled_from(["fail", "skip"]))
def test_dedup_accounts_for_every_document(capsys: pytest.CaptureFixture[str], data: bytes, container: str,
                                          cut: int | None, on_error: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _store(folder, data, container)
        truncated = cut is not None and _cut(path, cut)
        out = os.path.join(folder, "out")
        rc, _, err = cli(capsys, "dedup", path, "-o", out, "--on-error", on_error, "-q")
        if rc != 0:
            _check_failure(rc, err, [out])
            return
        assert not (truncated and container != "plain"), "a truncated stream read as a shorter input"
        rows = pq.read_table(os.path.join(out, "clusters.parquet")).to_pylist()
        kept_name = "kept.jsonl.zst" if container == "zstd" else "kept.jsonl"
        with open(os.path.join(out, kept_name), "rb") as f:
            kept = f.read()
        if container == "zstd":
            kept = zstandard.ZstdDecompressor().decompressobj().decompress(kept) if kept else b""
        assert sum(r["kept"] for r in rows) == sum(1 for ln in kept.split(b"\n") if ln.strip())
        if not truncated:
            assert len(rows) + _skips(os.path.join(out, "errors.jsonl")) == nonblank(data)
            source = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
            wanted = set(source.split(b"\n"))
            assert all(ln in wanted for ln in kept.split(b"\n") if ln), "a kept line not as written"
