"""Readers: every format, ids, __row continuity, batching, passthrough, bad input in both error modes."""
from __future__ import annotations

import gzip
import io
import os
import sys

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.errors import InputError
from semel.io import (
    ID,
    ROW,
    TEXT,
    ErrorLog,
    InputSpec,
    detect_format,
    input_size_bytes,
    line_scan,
    read_batches,
)
from semel.io import jsonl as jsonl_mod


def write_jsonl(path, records, raw_lines=()) -> str:
    data = b"".join(orjson.dumps(r) + b"\n" for r in records) + b"".join(raw_lines)
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    elif str(path).endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def read_all(spec: InputSpec, errors: ErrorLog | None = None) -> pa.Table:
    batches = list(read_batches(spec, errors))
    if not batches:
        return pa.table({})
    return pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote_options="default")


RECORDS = [{"id": f"d{i}", "text": f"document number {i} é 日本", "meta": {"k": [i, None]}}
           for i in range(50)]


@pytest.mark.parametrize("name", ["c.jsonl", "c.jsonl.gz", "c.jsonl.zst", "c.ndjson"])
def test_jsonl_formats(tmp_path, name):
    path = write_jsonl(tmp_path / name, RECORDS)
    t = read_all(InputSpec([path]))
    assert t.column(ID).to_pylist() == [r["id"] for r in RECORDS]
    assert t.column(TEXT).to_pylist() == [r["text"] for r in RECORDS]
    assert t.column(ROW).to_pylist() == list(range(50))
    assert [orjson.loads(r) for r in t.column("__raw").to_pylist()] == RECORDS
    assert t.column("__line").to_pylist() == list(range(1, 51))
    assert set(t.column("__source").to_pylist()) == {path}


def test_custom_fields_int_ids_missing_ids_blank_lines(tmp_path):
    path = str(tmp_path / "c.jsonl")
    with open(path, "wb") as f:
        f.write(b'{"doc": 7, "body": "a"}\n\n   \n{"body": ""}\n{"doc": 9, "body": "c"}\r\n'
                b'{"doc": null, "body": "d"}')
    t = read_all(InputSpec([path], id_field="doc", text_field="body"))
    assert t.column(ID).to_pylist() == ["7", "c.jsonl:4", "9", "c.jsonl:6"]
    assert t.column(TEXT).to_pylist() == ["a", "", "c", "d"]
    assert t.column(ROW).to_pylist() == [0, 1, 2, 3]
    assert t.column("__line").to_pylist() == [1, 4, 5, 6]


def test_fast_path_int_ids(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": i, "text": "x"} for i in range(10)])
    t = read_all(InputSpec([path]))
    assert t.column(ID).to_pylist() == [str(i) for i in range(10)]


def test_rows_continue_across_files_and_formats(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", RECORDS[:7])
    b = str(tmp_path / "b.parquet")
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["x", "y"]}), b)
    c = write_jsonl(tmp_path / "c.jsonl.gz", RECORDS[7:12])
    t = read_all(InputSpec([a, b, c], batch_size=3))
    assert t.column(ROW).to_pylist() == list(range(14))
    assert t.column(ID).to_pylist() == [r["id"] for r in RECORDS[:7]] + ["p1", "p2"] + \
        [r["id"] for r in RECORDS[7:12]]


def test_batch_size_respected(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", RECORDS)
    sizes = [b.num_rows for b in read_batches(InputSpec([path], batch_size=7))]
    assert sizes == [7] * 7 + [1]


def test_batch_bytes_cap_and_small_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl_mod, "BLOCK", 64)  # lines longer than a block must still work
    recs = [{"id": str(i), "text": "y" * 300} for i in range(20)]
    path = write_jsonl(tmp_path / "c.jsonl", recs)
    batches = list(read_batches(InputSpec([path], batch_size=100, batch_bytes=1000)))
    assert all(b.num_rows <= 3 for b in batches)
    assert sum(b.num_rows for b in batches) == 20
    assert pa.Table.from_batches(batches).column(ID).to_pylist() == [str(i) for i in range(20)]


def test_huge_document(tmp_path):
    big = "z" * (50 << 20)
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "s"}, {"id": "big", "text": big},
                                              {"id": "c", "text": "t"}])
    batches = list(read_batches(InputSpec([path])))
    t = pa.Table.from_batches(batches)
    assert t.column(ID).to_pylist() == ["a", "big", "c"]
    assert len(t.column(TEXT)[1].as_py()) == len(big)


def test_parquet_passthrough_and_renames(tmp_path):
    path = str(tmp_path / "p.parquet")
    pq.write_table(pa.table({"url": ["u1", "u2", "u3"], "body": ["a", "b", "c"], "n": [1, 2, 3],
                             "key": [10, 11, 12]}), path, row_group_size=2)
    t = read_all(InputSpec([path], id_field="key", text_field="body"))
    assert t.column_names[:4] == ["url", TEXT, "n", ID]
    assert t.column(ID).to_pylist() == ["10", "11", "12"]
    assert t.column("n").to_pylist() == [1, 2, 3]
    assert t.column(ROW).to_pylist() == [0, 1, 2]


def test_parquet_without_id_and_null_text(tmp_path):
    path = str(tmp_path / "p.parquet")
    pq.write_table(pa.table({"text": ["a", None, "c"]}), path)
    with pytest.raises(InputError) as exc:
        read_all(InputSpec([path]))
    assert str(exc.value) == f"{path}:2: text is null (row 2)"
    log = ErrorLog()
    t = read_all(InputSpec([path], on_error="skip"), log)
    assert t.column(ID).to_pylist() == ["p.parquet:1", "p.parquet:3"]
    assert log.count == 1


def test_parquet_missing_text_column(tmp_path):
    path = str(tmp_path / "p.parquet")
    pq.write_table(pa.table({"body": ["a"]}), path)
    with pytest.raises(InputError, match="missing text column 'text'"):
        read_all(InputSpec([path]))


def test_txt_folder_and_single_file(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("bee\n", encoding="utf-8")
    (folder / "a.txt").write_text("", encoding="utf-8")
    (folder / "sub" / "c.txt").write_text("sea ü", encoding="utf-8")
    (folder / "ignore.md").write_text("no", encoding="utf-8")
    t = read_all(InputSpec([str(folder)], batch_size=2))
    assert t.column(ID).to_pylist() == ["a.txt", "b.txt", "sub/c.txt"]
    assert t.column(TEXT).to_pylist() == ["", "bee\n", "sea ü"]
    assert detect_format(str(folder)) == "txtdir"
    single = read_all(InputSpec([str(folder / "b.txt")]))
    assert single.column(ID).to_pylist() == ["b.txt"]
    assert input_size_bytes(InputSpec([str(folder)])) == 4 + 0 + len("sea ü".encode())


def test_txt_bad_encoding(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"ok")
    (folder / "b.txt").write_bytes(b"caf\xe9")
    with pytest.raises(InputError) as exc:
        read_all(InputSpec([str(folder)]))
    assert str(exc.value) == f"{folder / 'b.txt'}: not UTF-8 text (bad byte at offset 3)"
    log = ErrorLog()
    t = read_all(InputSpec([str(folder)], on_error="skip"), log)
    assert t.column(ID).to_pylist() == ["a.txt"]
    assert log.entries == [(str(folder / "b.txt"), None, "not UTF-8 text (bad byte at offset 3)")]


BAD_LINES = [
    (b'{"id": "x", "text": "a"\n', "malformed JSON"),
    (b'{"id": "x", "text": "caf\xe9"}\n', "invalid UTF-8"),
    (b'{"id": "x", "body": "a"}\n', "missing text field 'text'"),
    (b'{"id": "x", "text": 5}\n', "text field 'text' is a number, not a string"),
    (b'{"id": "x", "text": null}\n', "text field 'text' is null, not a string"),
    (b'{"id": "x", "text": ["a"]}\n', "text field 'text' is a list, not a string"),
    (b'["x", "a"]\n', "line is a list, not a JSON object"),
    (b'{"id": ["x"], "text": "a"}\n', "id field 'id' is a list, not a string or number"),
]


@pytest.mark.parametrize("line,reason", BAD_LINES)
def test_bad_jsonl_line_fail(tmp_path, line, reason):
    path = write_jsonl(tmp_path / "c.jsonl", RECORDS[:3], [b"\n", line] + [orjson.dumps(RECORDS[3]) + b"\n"])
    with pytest.raises(InputError) as exc:
        read_all(InputSpec([path]))
    assert str(exc.value).startswith(f"{path}:5: {reason}")
    assert "\n" not in str(exc.value)
    assert exc.value.line == 5 and exc.value.path == path


@pytest.mark.parametrize("line,reason", BAD_LINES)
def test_bad_jsonl_line_skip(tmp_path, line, reason):
    path = write_jsonl(tmp_path / "c.jsonl", RECORDS[:3], [line] + [orjson.dumps(RECORDS[3]) + b"\n"])
    log = ErrorLog()
    t = read_all(InputSpec([path], on_error="skip"), log)
    assert t.column(ID).to_pylist() == ["d0", "d1", "d2", "d3"]
    assert t.column(ROW).to_pylist() == [0, 1, 2, 3]
    assert log.count == 1
    p, ln, r = log.entries[0]
    assert (p, ln) == (path, 4) and r.startswith(reason)
    side = tmp_path / "errors.jsonl"
    log.write(str(side))
    logged = [orjson.loads(x) for x in side.read_bytes().splitlines()]
    assert logged == [{"path": path, "line": 4, "reason": r}]


def test_error_log_empty_writes_nothing(tmp_path):
    ErrorLog().write(str(tmp_path / "e.jsonl"))
    assert os.listdir(tmp_path) == []


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "a"}\n' * 1000)[:-20])
    with pytest.raises(InputError, match="c.jsonl.gz: truncated gzip stream"):
        read_all(InputSpec([str(path)]))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_all(InputSpec([str(tmp_path / "nope.jsonl")]))


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_stdin_jsonl(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(b'\n{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n'))
    t = read_all(InputSpec(["-"]))
    assert t.column(ID).to_pylist() == ["a", "b"]
    assert t.column("__line").to_pylist() == [2, 3]


def test_stdin_is_jsonl_unless_told(monkeypatch):
    """stdin is never guessed to be text: a first line that is not JSON is an error naming stdin."""
    monkeypatch.setattr(sys, "stdin", _Stdin(b"just some text\n{not json}\n"))
    with pytest.raises(InputError, match="^-:1: malformed JSON"):
        read_all(InputSpec(["-"]))
    monkeypatch.setattr(sys, "stdin", _Stdin(b"just some text\n{not json}\n"))
    t = read_all(InputSpec(["-"], format="txt"))
    assert t.column(ID).to_pylist() == ["-"]
    assert t.column(TEXT).to_pylist() == ["just some text\n{not json}\n"]


def test_stdin_forced_txt(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(b'{"id": "a", "text": "x"}\n'))
    t = read_all(InputSpec(["-"], format="txt"))
    assert t.column(TEXT).to_pylist() == ['{"id": "a", "text": "x"}\n']


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_null_first_line_is_a_bad_record_not_a_crash(tmp_path, on_error):
    """pyarrow 26's JSON reader segfaults on a block starting with the line `null`; semel must report it."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'null\n{"id": "a", "text": "kept"}\n')
    spec = InputSpec([str(path)], on_error=on_error)
    errors = ErrorLog()
    if on_error == "fail":
        with pytest.raises(InputError, match=r"in\.jsonl:1: "):
            list(read_batches(spec, errors))
    else:
        assert sum(b.num_rows for b in read_batches(spec, errors)) == 1 and errors.count == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"N", b"aN", b"NaN", b"Infinity", b"Infinit", b"I", b"[", b"{", b"}",
                                 b"\n", b"\"text\": ", b"x" * 9, "é".encode()]), max_size=200),
       st.integers(1, 6))
def test_line_scan_kernel_agrees_with_its_numpy_form(pieces: list[bytes], max_depth: int) -> None:
    """The compiled scan (eight bytes at a time) and the interpreted one (NumPy and bytes methods) find
    the same line ends and the same suspect lines, wherever the words fall against 8-byte boundaries."""
    block = b"".join(pieces) + b"\n"
    buf = np.frombuffer(block, dtype=np.uint8)
    ends, suspects = line_scan.scan_lines.dispatcher(buf, max_depth)
    want_ends, want_suspects = line_scan._scan_with_numpy(buf, max_depth)
    assert ends.tolist() == want_ends.tolist()
    assert suspects.tolist() == want_suspects.tolist()
    lines = block.split(b"\n")[:-1]
    assert suspects.tolist() == [i for i, line in enumerate(lines) if b"NaN" in line or b"Infinity" in line
                                 or line.count(b"[") + line.count(b"{") >= max_depth]
