"""Byte-range pieces of a JSONL file (semel.engines.spark.pieces): every line read once, by one range,
numbered as a whole-file reader numbers it. No Spark needed: the ranges are plain file reading."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from semel.engines.spark.pieces import RANGE, LineRange, count_lines, plan, read_all


def _ranges(path: Path, size: int) -> list[tuple[int, int]]:
    return [(p.start, p.stop) for p in plan([("file:" + str(path), str(path), "jsonl")], [str(path)], size)
            if p.kind == RANGE]


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r\n", b"{}", b"\xc3\xa9"]), max_size=60),
       size=st.integers(1, 12))
def test_ranges_tile_the_file_at_line_starts(tmp_path_factory, data: list[bytes], size: int) -> None:
    path = tmp_path_factory.mktemp("p") / "x.jsonl"
    content = b"".join(data)
    path.write_bytes(content)
    parts = []
    for start, stop in _ranges(path, size):
        with open(path, "rb") as f:
            got = read_all(LineRange(f, start, stop), "x")  # type: ignore[arg-type]
        lines = got.count(b"\n") + (1 if got and not got.endswith(b"\n") else 0)
        assert count_lines(str(path), start, stop) == lines
        parts.append(got)
    assert b"".join(parts) == content  # nothing lost, nothing read twice
    # each range's text starts a line of the file: the ranges cut only between lines
    at = 0
    for got in parts:
        assert at == 0 or content[at - 1:at] == b"\n" or not got
        at += len(got)


def test_a_line_longer_than_the_range_belongs_to_the_range_it_starts_in(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"short\n" + b"x" * 100 + b"\nlast")
    got = []
    for start, stop in _ranges(path, 6):  # "short\n" is 6 bytes: the long line starts a range
        with open(path, "rb") as f:
            got.append(read_all(LineRange(f, start, stop), "x"))  # type: ignore[arg-type]
    assert [g for g in got if g] == [b"short\n", b"x" * 100 + b"\n", b"last"]
