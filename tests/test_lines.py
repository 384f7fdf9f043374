"""`semel lines`: boilerplate lines counted across documents and removed (kernels, job, CLI, properties)."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.cli import main
from semel.jobs.lines import lines_file, threshold
from semel.spans.lines import HashCounter, line_units, remove_units

FOOTERS = ["© RIPRODUZIONE RISERVATA", "Leggi anche: le notizie di oggi dalla provincia",
           "Cookie policy: this site uses cookies to improve your experience",
           "版权所有 未经许可不得转载 违者必究"]
WORDS = {"it": "casa strada polizia sindaco città notte giorno uomo donna treno scuola lavoro".split(),
         "en": "house street police mayor city night day man woman train school work".split(),
         "zh": list("我你他们的是在有不了人这中大为上个国说到时要就出会可也年生")}


def body(rng: random.Random, lang: str, i: int) -> str:
    if lang == "zh":
        return "\n".join("".join(rng.choice(WORDS["zh"]) for _ in range(20)) + f"{i}号。" for _ in range(3))
    return "\n".join(" ".join(rng.choice(WORDS[lang]) for _ in range(12)) + f" n{i}x{k}." for k in range(3))


def corpus(n: int = 60, seed: int = 1) -> tuple[list[dict], list[bool]]:
    rng = random.Random(seed)
    recs, planted = [], []
    for i in range(n):
        lang = ("it", "en", "zh")[i % 3]
        text = body(rng, lang, i)
        has = i % 2 == 0
        if has:
            footer = FOOTERS[(i // 2) % 4] + f" {2000 + i}"
            text = "Menu principale - Home - Cronaca - Sport\n" + text + "\n" + footer
        recs.append({"id": f"d{i}", "text": text, "lang": lang})
        planted.append(has)
    return recs, planted


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def apply(texts: list[str], min_docs: int, min_chars: int = 0, unit: str = "line") -> list[str]:
    """The kernels end to end on an in-memory list (what the job does, without I/O)."""
    arr = pa.array(texts, pa.large_string())
    units = line_units(arr, unit)
    counter = HashCounter()
    counter.add(units.per_doc_unique(min_chars))
    frequent, _, _ = counter.frequent(min_docs)
    remove = np.isin(units.hash, frequent) & units.countable(min_chars)
    return remove_units(arr, units, remove).texts.to_pylist()


def test_planted_footers_removed(tmp_path: Path) -> None:
    recs, planted = corpus()
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, recs)
    summary = lines_file(str(src), str(out), progress=False)
    got = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in got] == [r["id"] for r in recs] and all(r["lang"] for r in got)
    for rec, new, has in zip(recs, got, planted, strict=True):
        if has:
            assert new["text"] == rec["text"].split("\n", 1)[1].rsplit("\n", 1)[0] + "\n"
            assert new["lines_removed"] == 2
            for sp in new["lines_removed_spans"]:
                removed = rec["text"][sp["start"]:sp["end"]]
                assert "Menu" in removed or any(f.split()[0] in removed for f in FOOTERS)
        else:
            assert new["text"] == rec["text"] and new["lines_removed"] == 0
        assert new["original_length"] == len(rec["text"])
        assert new["original_nlines"] == rec["text"].count("\n") + 1
        assert new["chars_removed"] == len(rec["text"]) - len(new["text"])
    table = pq.read_table(tmp_path / "out.jsonl.lines.parquet").to_pylist()
    assert len(table) == 5 and table[0]["documents"] == 30  # the menu, then 4 footers (digits folded)
    assert summary.changed == 30 and summary.min_docs == 5
    stats = json.loads((tmp_path / "out.jsonl.stats.json").read_text())
    assert stats["job"] == "lines" and [s["name"] for s in stats["stats"]["stages"]] == ["count", "remove"]


def test_keep_digits_and_min_share(tmp_path: Path) -> None:
    recs, _ = corpus()
    src = tmp_path / "in.jsonl"
    write_jsonl(src, recs)
    s = lines_file(str(src), str(tmp_path / "a.jsonl"), fold_digits=False, progress=False)
    assert s.frequent_units == 1  # only the menu: the footers differ by year
    s = lines_file(str(src), str(tmp_path / "b.jsonl"), min_share=0.4, progress=False)
    assert s.min_docs == 24 and s.frequent_units == 1


def test_paragraph_unit_and_min_chars() -> None:
    para = "Questo paragrafo si ripete.\nSu due righe."
    texts = [f"Testo {w} unico.\n\n{para}\n\nOk\n" for w in "abcd"]
    out = apply(texts, min_docs=3, min_chars=5, unit="paragraph")
    assert out == [f"Testo {w} unico.\n\nOk\n" for w in "abcd"]  # "Ok" is shorter than min_chars
    assert apply(texts, min_docs=5, unit="paragraph") == texts


def test_spill_gives_same_counts() -> None:
    rng = np.random.default_rng(3)
    batches = [np.unique(rng.integers(0, 5000, 800).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
               for _ in range(12)]
    small, big = HashCounter(budget_bytes=8192), HashCounter()
    for b in batches:
        small.add(b)
        big.add(b)
    assert small.runs > 0
    h1, c1, d1 = small.frequent(3)
    h2, c2, d2 = big.frequent(3)
    assert d1 == d2 and np.array_equal(h1, h2) and np.array_equal(c1, c2)
    assert small.spill_root is None  # spill files removed


def test_threshold_validation() -> None:
    assert threshold(10_000, None, 0.001) == 10 and threshold(10, None, 0.001) == 2
    with pytest.raises(ValueError):
        threshold(10, 1, None)
    with pytest.raises(ValueError):
        threshold(10, 3, 0.1)


line_text = st.lists(st.sampled_from(["alpha beta", "gamma", "© 2021 delta", "中文 行", "é ü ß", "",
                                      "  ", "unique {}", "x\r"]), max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(line_text, min_size=1, max_size=8), st.integers(2, 4))
def test_properties(docs: list[list[str]], min_docs: int) -> None:
    texts = ["\n".join(line.format("k" + "abcdefghij"[i]) for line in doc) for i, doc in enumerate(docs)]
    out = apply(texts, min_docs)
    for before, after in zip(texts, out, strict=True):
        after.encode("utf-8")
        kept = after.splitlines()
        for line in before.splitlines():
            if "unique" in line:  # text that occurs in one document only is never removed
                assert line in kept
        assert set(kept) <= set(before.splitlines())
    assert apply(out, min_docs) == out  # idempotent


def test_cli_outputs_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recs, _ = corpus(30)
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(pa.Table.from_pylist(recs), src)
    assert main(["lines", str(src), "-o", str(out), "--min-docs", "3", "--no-progress", "--explain"]) == 0
    captured = capsys.readouterr()
    assert "span(s) removed" in captured.out and "semel lines: 30 documents" in captured.err
    t = pq.read_table(out)
    names = set(t.column_names)
    assert {"lines_removed", "chars_removed", "original_nlines", "original_length", "lang"} <= names


def test_bad_input_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "bad.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": \n', encoding="utf-8")
    assert main(["lines", str(src), "-o", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{src}:2:" in err and not out.exists()
    assert main(["lines", str(src), "-o", str(out), "--no-progress", "--on-error", "skip"]) == 0
    assert "skipped    1" in capsys.readouterr().err and (tmp_path / "out.jsonl.errors.jsonl").exists()


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": 1, "text": "x"}])
    assert main(["lines", "-", "-o", str(tmp_path / "o.jsonl")]) == 1
    assert "stdin" in capsys.readouterr().err
    assert main(["lines", str(src), "-o", str(tmp_path / "o.jsonl"), "--min-docs", "1"]) == 1
    assert "at least 2" in capsys.readouterr().err
    assert main(["lines", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o.jsonl")]) == 1
    with pytest.raises(SystemExit):
        main(["lines", str(src), "--min-docs", "3", "--min-share", "0.1"])


@pytest.mark.spark
def test_spark_matches_local(spark: object, tmp_path: Path) -> None:
    from semel.engines.spark_spans import lines_spark

    recs, _ = corpus()
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, recs)
    lines_file(str(src), str(out), progress=False)
    local = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    df = spark.createDataFrame([(r["id"], r["text"]) for r in recs], "id string, text string")  # type: ignore[attr-defined]
    got, frequent = lines_spark(df.repartition(3))
    assert frequent.count() == 5
    for row in got.collect():
        assert row["text"] == local[row["id"]]["text"]
        assert row["lines_removed"] == local[row["id"]]["lines_removed"]
