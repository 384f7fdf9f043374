"""`semel repair` end to end through semel.cli.main."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import semel
from semel.cli import main

SEED = Path(__file__).parent / "data" / "seed_windows_it.txt"


def seed_paragraphs() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return list(dict.fromkeys(ln.strip() for ln in text.splitlines() if ln.strip()))


def test_text_file_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repair", str(SEED)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip("\n").split("\n\n") == seed_paragraphs()


def test_stdin_unchanged_is_byte_identical(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    text = "  No repeats here.\r\n\n\nJust  odd   spacing\t\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["repair", "-"]) == 0
    assert capsys.readouterr().out == text


def test_explain_text_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repair", str(SEED), "--explain"]) == 0
    err = capsys.readouterr().err
    assert "15 span(s) removed" in err and "first at [0:373]" in err


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def test_collection_passthrough_and_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    plain = "A document without a single repeated sentence in it."
    write_jsonl(src, [{"doc": "a", "body": SEED.read_text(encoding="utf-8"), "lang": "it"},
                      {"doc": "b", "body": plain, "lang": "en"}])
    out = tmp_path / "out.jsonl"
    rc = main(["repair", str(src), "-o", str(out), "--id-field", "doc", "--text-field", "body",
               "--explain", "--no-progress"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "a: 15 span(s) removed" in captured.out
    assert "2 documents read" in captured.err and "repaired   1" in captured.err
    recs = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines()]
    assert [r["doc"] for r in recs] == ["a", "b"] and [r["lang"] for r in recs] == ["it", "en"]
    assert recs[0]["body"].rstrip("\n").split("\n\n") == seed_paragraphs()
    assert recs[1]["body"] == plain and recs[1]["repair_removed"] == []
    assert recs[0]["repair_removed_chars"] > 0
    span = recs[0]["repair_removed"][0]
    assert set(span) == {"start", "end", "kept_start", "kept_end", "kind"}
    assert recs[0]["repair_stats"]["dup_line_frac"] == pytest.approx(0.5)


def test_drop_above(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": "seed", "text": SEED.read_text(encoding="utf-8")},
                      {"id": "ok", "text": "Nothing repeated in this short document at all."}])
    out = tmp_path / "out.parquet"
    assert main(["repair", str(src), "-o", str(out), "--drop-above", "--no-progress"]) == 0
    assert pq.read_table(out).column("id").to_pylist() == ["ok"]
    dropped = [json.loads(ln) for ln in (tmp_path / "out.parquet.dropped.jsonl").read_text().splitlines()]
    assert dropped[0]["id"] == "seed" and dropped[0]["reason"] == "gopher:dup_line_frac"
    assert "dropped    1" in capsys.readouterr().err


def test_bad_input_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": \n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["repair", str(src), "-o", str(out), "--no-progress"]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{src}:2:" in err
    assert not out.exists()


def test_skip_bad_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": \n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["repair", str(src), "-o", str(out), "--on-error", "skip", "--no-progress"]) == 0
    assert "skipped    1" in capsys.readouterr().err
    assert len(out.read_text().splitlines()) == 1
    assert (tmp_path / "out.jsonl.errors.jsonl").exists()


def test_not_utf8_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "latin1.txt"
    src.write_bytes("prima riga\nperché\n".encode("latin-1"))
    assert main(["repair", str(src)]) == 1
    assert f"{src}:2: not UTF-8" in capsys.readouterr().err


def test_python_api() -> None:
    text = SEED.read_text(encoding="utf-8")
    assert semel.repair(text).rstrip("\n").split("\n\n") == seed_paragraphs()
    assert len(semel.repair_document(text).removed) == 15


def test_no_stats(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": "seed", "text": SEED.read_text(encoding="utf-8")},
                      {"id": "ok", "text": "Nothing repeated in this short document at all."}])
    out = tmp_path / "out.jsonl"
    assert main(["repair", str(src), "-o", str(out), "--no-stats", "--no-progress"]) == 0
    recs = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == ["seed", "ok"]
    assert all("repair_stats" not in r and "repair_removed" in r for r in recs)
    assert recs[0]["text"].rstrip("\n").split("\n\n") == seed_paragraphs()
    # --drop-above still measures what it needs
    assert main(["repair", str(src), "-o", str(out), "--no-stats", "--drop-above", "--no-progress"]) == 0
    assert [json.loads(ln)["id"] for ln in out.read_text(encoding="utf-8").splitlines()] == ["ok"]
