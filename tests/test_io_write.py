"""Writers: round trips for every format, untouched passthrough, changed text, added columns, atomicity."""
from __future__ import annotations

import gzip
import os
import sys

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import zstandard

from semel.errors import SemelError
from semel.io import TEXT, InputSpec, atomic_path, open_writer, output_format_for, read_batches

# odd spacing, escapes, key order, nested values and unicode: all must survive byte for byte
LINES = [
    b'{"meta": {"b": 1, "a": [1, 2.50, null]}, "text": "caf\\u00e9 \\/ x", "id": 3}\n',
    b'{"id":"two","text":"\xe6\x97\xa5\xe6\x9c\xac","z":true}\n',
    b'{"text": "", "id": "empty", "extra": {"deep": {"deeper": "\xc3\xbc"}}}\n',
]


def make_jsonl(path, lines=LINES) -> str:
    data = b"".join(lines)
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    elif str(path).endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def plain_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def copy(src: str, dst: str, spec_kw: dict | None = None, **kw) -> None:
    spec = InputSpec([src], **(spec_kw or {}))
    with open_writer(dst, **kw) as w:
        for b in read_batches(spec):
            w.write(b)


@pytest.mark.parametrize("ext_in", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
@pytest.mark.parametrize("ext_out", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_jsonl_untouched_round_trip_is_byte_identical(tmp_path, ext_in, ext_out):
    src = make_jsonl(tmp_path / f"in{ext_in}")
    dst = str(tmp_path / f"out{ext_out}")
    copy(src, dst)
    assert plain_bytes(dst) == b"".join(LINES)


def test_jsonl_changed_text_keeps_key_order_and_other_fields(tmp_path):
    src = make_jsonl(tmp_path / "in.jsonl")
    dst = str(tmp_path / "out.jsonl")
    with open_writer(dst) as w:
        for b in read_batches(InputSpec([src])):
            upper = pc.utf8_upper(b.column(TEXT))
            w.write(b.set_column(b.schema.get_field_index(TEXT), TEXT, upper))
    out = plain_bytes(dst).splitlines(keepends=True)
    assert out[0] == b'{"meta":{"b":1,"a":[1,2.5,null]},"text":"CAF\xc3\x89 / X","id":3}\n'
    assert out[1] == b'{"id":"two","text":"\xe6\x97\xa5\xe6\x9c\xac","z":true}\n'  # unchanged: raw bytes
    assert out[2] == LINES[2]


def test_jsonl_added_column_and_changed_flag(tmp_path):
    src = make_jsonl(tmp_path / "in.jsonl")
    dst = str(tmp_path / "out.jsonl")
    with open_writer(dst) as w:
        for b in read_batches(InputSpec([src])):
            b = b.append_column("score", pa.array([0.5, 1.0, None]))
            w.write(b)
    objs = [orjson.loads(x) for x in plain_bytes(dst).splitlines()]
    assert [list(o) for o in objs] == [["meta", "text", "id", "score"], ["id", "text", "z", "score"],
                                       ["text", "id", "extra", "score"]]
    assert objs[2]["extra"] == {"deep": {"deeper": "ü"}} and objs[0]["score"] == 0.5
    # __changed says which texts were rewritten; the rest are copied without looking
    dst2 = str(tmp_path / "out2.jsonl")
    with open_writer(dst2) as w:
        for b in read_batches(InputSpec([src])):
            b = b.set_column(1, TEXT, pa.array(["X", "Y", "Z"], pa.large_string()))
            w.write(b.append_column("__changed", pa.array([False, True, False])))
    out = plain_bytes(dst2).splitlines(keepends=True)
    assert out[0] == LINES[0] and out[2] == LINES[2]
    assert orjson.loads(out[1]) == {"id": "two", "text": "Y", "z": True}


def test_jsonl_custom_fields_and_filtered_rows(tmp_path):
    lines = [orjson.dumps({"body": f"t{i}", "key": i}) + b"\n" for i in range(10)]
    src = make_jsonl(tmp_path / "in.jsonl", lines)
    dst = str(tmp_path / "out.jsonl")
    with open_writer(dst, text_field="body", id_field="key") as w:
        for b in read_batches(InputSpec([src], text_field="body", id_field="key", batch_size=4)):
            w.write(b.filter(pc.equal(pc.bit_wise_and(b.column("__row"), 1), 0)))
    assert plain_bytes(dst) == b"".join(lines[0::2])


def test_parquet_round_trip_keeps_columns(tmp_path):
    src = str(tmp_path / "in.parquet")
    table = pa.table({"url": ["u1", "u2"], "body": ["a", "b"], "n": [1, 2], "key": ["k1", "k2"],
                      "nested": pa.array([{"x": 1}, {"x": 2}])})
    pq.write_table(table, src)
    dst = str(tmp_path / "out.parquet")
    copy(src, dst, dict(text_field="body", id_field="key"), text_field="body", id_field="key")
    out = pq.read_table(dst)
    assert out.column_names == table.column_names
    assert out.cast(table.schema).equals(table)


def test_jsonl_to_parquet_and_back(tmp_path):
    src = make_jsonl(tmp_path / "in.jsonl", [orjson.dumps({"id": i, "text": f"t{i}", "lang": "it"}) + b"\n"
                                             for i in range(5)])
    mid = str(tmp_path / "mid.parquet")
    copy(src, mid)
    t = pq.read_table(mid)
    assert t.column_names == ["id", "text", "lang"]
    assert t.column("text").to_pylist() == [f"t{i}" for i in range(5)]
    assert t.column("id").to_pylist() == list(range(5))  # the original values, not the string ids
    back = str(tmp_path / "back.jsonl")
    copy(mid, back)
    assert [orjson.loads(x) for x in plain_bytes(back).splitlines()] == \
        [{"id": str(i), "text": f"t{i}", "lang": "it"} for i in range(5)]


def test_txt_folder_round_trip(tmp_path):
    src = tmp_path / "docs"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n", encoding="utf-8")
    (src / "sub" / "b.txt").write_text("", encoding="utf-8")
    dst = str(tmp_path / "out")
    assert output_format_for("txtdir", dst) == "txtdir"
    copy(str(src), dst, format="txtdir")
    assert sorted(os.listdir(dst)) == ["a.txt", "sub"]
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8") == "alpha\n"
    assert (tmp_path / "out" / "sub" / "b.txt").read_text(encoding="utf-8") == ""
    # writing again replaces the folder as a whole
    copy(str(src / "sub"), dst, format="txtdir")
    assert os.listdir(dst) == ["b.txt"]


def test_txtdir_rejects_escaping_ids(tmp_path):
    src = make_jsonl(tmp_path / "in.jsonl", [b'{"id": "../evil", "text": "x"}\n'])
    with pytest.raises(SemelError, match="cannot be used as a file path"):
        copy(src, str(tmp_path / "out"), format="txtdir")
    assert not os.path.exists(tmp_path / "out") and not os.path.exists(tmp_path / "evil.txt")


def test_single_txt_and_stdout(tmp_path, capsysbinary):
    src = make_jsonl(tmp_path / "in.jsonl")
    dst = str(tmp_path / "out.txt")
    copy(src, dst)
    # texts as written, a blank line between documents, nothing added at the end
    assert (tmp_path / "out.txt").read_bytes() == "café / x\n\n日本\n\n".encode()
    with open_writer("-") as w:
        for b in read_batches(InputSpec([src], batch_size=1)):
            w.write(b)
    assert capsysbinary.readouterr().out == "café / x\n\n日本\n\n".encode()
    assert output_format_for("jsonl", "-") == "jsonl"
    with open_writer("-", format="jsonl") as w:
        for b in read_batches(InputSpec([src])):
            w.write(b)
    assert capsysbinary.readouterr().out == b"".join(LINES)
    assert sys.stdout is not None


@pytest.mark.parametrize("name,fmt", [("o.jsonl", None), ("o.jsonl.gz", None), ("o.jsonl.zst", None),
                                      ("o.parquet", None), ("o.txt", None), ("o", "txtdir")])
def test_failure_mid_write_leaves_nothing(tmp_path, name, fmt):
    src = make_jsonl(tmp_path / "in.jsonl", [orjson.dumps({"id": f"d{i}", "text": "x" * 100}) + b"\n"
                                             for i in range(100)])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(RuntimeError, match="boom"), open_writer(str(out_dir / name), format=fmt) as w:
        for i, b in enumerate(read_batches(InputSpec([src], batch_size=10))):
            w.write(b)
            if i == 3:
                raise RuntimeError("boom")
    assert os.listdir(out_dir) == []


def test_failure_keeps_previous_output(tmp_path):
    dst = tmp_path / "o.jsonl"
    dst.write_bytes(b"old\n")
    src = make_jsonl(tmp_path / "in.jsonl")
    with pytest.raises(RuntimeError), open_writer(str(dst)) as w:
        for b in read_batches(InputSpec([src])):
            w.write(b)
        raise RuntimeError("boom")
    assert dst.read_bytes() == b"old\n"
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "o.jsonl"]


def test_atomic_path(tmp_path):
    target = tmp_path / "side.parquet"
    with atomic_path(str(target)) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)
        pq.write_table(pa.table({"a": [1]}), tmp)
        assert not target.exists()
    assert pq.read_table(target).column("a").to_pylist() == [1]
    with pytest.raises(ValueError), atomic_path(str(tmp_path / "x.bin")) as tmp:
        open(tmp, "wb").write(b"partial")
        raise ValueError
    assert sorted(os.listdir(tmp_path)) == ["side.parquet"]


def test_empty_output_files(tmp_path):
    with open_writer(str(tmp_path / "e.jsonl")):
        pass
    assert (tmp_path / "e.jsonl").read_bytes() == b""
    with open_writer(str(tmp_path / "e.parquet")):
        pass
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


def test_output_format_for(tmp_path):
    assert output_format_for("jsonl", "a.parquet") == "parquet"
    assert output_format_for("parquet", "a.jsonl.zst") == "jsonl"
    assert output_format_for("txt", "a.txt") == "txt"
    with pytest.raises(SemelError, match="cannot tell the output format"):
        output_format_for("jsonl", str(tmp_path / "noext"))
