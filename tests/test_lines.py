"""`semel lines`: boilerplate lines counted across documents and removed (kernels, job, CLI, properties)."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.cli import main
from semel.jobs.lines import DEFAULT_MIN_CHARS, lines_file, threshold
from semel.spans.lines import (
    HashCounter,
    first_copies,
    keep_some_text,
    line_units,
    lookup,
    remove_units,
    whole_sentences,
)

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


def apply(texts: list[str], min_docs: int, min_chars: int = 0, unit: str = "line", mode: str = "all"
          ) -> list[str]:
    """The kernels end to end on an in-memory list (what the job does, without I/O)."""
    arr = pa.array(texts, pa.large_string())
    units = line_units(arr, unit)
    counter = HashCounter()
    counter.add(units.per_doc_unique(min_chars))
    frequent, _, _ = counter.frequent(min_docs)
    remove, index = lookup(units, frequent, min_chars)
    if mode == "first":
        remove = first_copies(units, remove, index, np.zeros(frequent.size, bool))
    remove = whole_sentences(units, remove)
    remove, _ = keep_some_text(units, remove, min_chars, len(texts))
    return remove_units(arr, units, remove).texts.to_pylist()


def test_hard_wrapped_sentences_are_never_cut() -> None:
    """A line found in many documents that is half of a hard-wrapped sentence stays (its other half would
    be left dangling); when the whole sentence is frequent, it goes whole."""
    half = "This flag argument must be specified if any of the other arguments in this group"
    texts = []
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]  # digits would fold to one line
    for i, name in enumerate(names):
        ending = "are specified." if i % 2 else f"are given together with the {name} flag."
        texts.append(f"--{name}=VALUE\n\nWhat the {name} option does.\n\n{half}\n{ending}\n\n"
                     f"Footer line shared by every page of this manual.\n")
    out = apply(texts, min_docs=3, min_chars=10)
    for before, after in zip(texts, out, strict=True):
        assert "Footer line shared" not in after  # a whole frequent line still goes
        lines = before.splitlines()
        ending = lines[lines.index(half) + 1]
        if ending == "are specified.":  # the sentence is frequent as a whole (3 documents): it goes whole
            assert half not in after and "are specified." not in after
        else:  # its first half alone is frequent: the sentence stays whole
            assert f"{half}\n{ending}" in after
    # quotes and brackets after the full stop still close the sentence; lower case after it starts none
    texts = [f"Shared boilerplate sentence that ends here (really).\nbody text {name} unique\n"
             for name in names[:4]]
    assert all("boilerplate" not in t for t in apply(texts, min_docs=3, min_chars=10))
    # a short menu line before a long line was not wrapped there: it goes
    texts = [f"Home - News - Sport - Weather\nlower-case text of article {name} that runs the full width.\n"
             for name in names[:4]]
    assert all("Home - News" not in t for t in apply(texts, min_docs=3, min_chars=10))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2)), min_size=1,
                max_size=30))
def test_whole_sentences_property(rows: list[tuple[bool, bool, bool, int]]) -> None:
    """Removals only shrink; no chain of run-on lines is left partly removed; lines outside such a chain
    keep their removal."""
    from semel.spans.lines import Units

    n = len(rows)
    doc = np.cumsum([0] + [r[3] == 0 for r in rows[1:]]).astype(np.int64)
    opens_lower = np.array([r[0] for r in rows])
    ends_open = np.array([r[1] for r in rows])
    remove = np.array([r[2] for r in rows])
    z = np.zeros(n, np.int64)
    units = Units(doc, z, z, z.astype(np.uint64), z, z, np.zeros(n, bool))
    units.opens_lower, units.ends_open = opens_lower, ends_open  # widths all 0: every such line wrapped
    out = whole_sentences(units, remove)
    assert not (out & ~remove).any()
    runs_on = [doc[i] == doc[i + 1] and ends_open[i] and opens_lower[i + 1] for i in range(n - 1)]
    chains, current = [], [0]
    for i in range(1, n):
        if runs_on[i - 1]:
            current.append(i)
        else:
            chains.append(current)
            current = [i]
    chains.append(current)
    for chain in chains:
        assert len({bool(out[i]) for i in chain}) == 1
        if len({bool(remove[i]) for i in chain}) == 1:
            assert all(out[i] == remove[i] for i in chain)


def test_planted_footers_removed(tmp_path: Path) -> None:
    recs, planted = corpus()
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, recs)
    summary = lines_file(str(src), str(out), progress=False, mode="all")
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


def test_first_mode_keeps_the_first_copy(tmp_path: Path) -> None:
    """The default: each frequent line stays in the first document that has it (dolma, datatrove)."""
    recs, planted = corpus()
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, recs)
    summary = lines_file(str(src), str(out), progress=False)
    got = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines()]
    assert summary.mode == "first" and summary.frequent_units == 5
    seen: set[str] = set()
    for rec, new, has in zip(recs, got, planted, strict=True):
        lines = rec["text"].split("\n")
        if not has:
            assert new["text"] == rec["text"]
            continue
        menu, footer = lines[0], lines[-1].rsplit(" ", 1)[0]  # footers differ by year only
        for line, key in ((menu, menu), (lines[-1], footer)):
            assert (line in new["text"]) == (key not in seen), (rec["id"], line)
            seen.add(key)
    # nothing is lost from the collection (lines compared as the job compares them: digits folded)
    everything = re.sub(r"\d", "0", "\n".join(r["text"] for r in got))
    assert all(re.sub(r"\d", "0", line) in everything for rec in recs for line in rec["text"].split("\n"))


HEADINGS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT VARIABLES", "SEE ALSO",
            "-4, --ipv4", "-6, --ipv6", "-h, --help", "#include <frob.h>", "exit(EXIT_SUCCESS);",
            "Required properties:", "main(int argc, char *argv[])", '    pinctrl-names = "default";',
            "    interrupt-controller;", "#include <linux/frobnicator-device.h>", "} else if (ret) {"]


def test_headings_and_short_lines_stay(tmp_path: Path) -> None:
    """Man-page headings, option lines, labels and code recur in every page without being boilerplate."""
    names = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    pages = [f"{n.upper()}(1)\n\n" + "\n".join(f"{h}\n       What {n} does in {h.lower()}, said once."
                                                for h in HEADINGS) for n in names]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, [{"id": i, "text": t} for i, t in enumerate(pages)])
    for mode in ("first", "all"):
        summary = lines_file(str(src), str(out), progress=False, mode=mode)
        assert summary.changed == 0 and summary.frequent_units == 0
        got = [json.loads(ln)["text"] for ln in out.read_text(encoding="utf-8").splitlines()]
        assert got == pages


DOCS = Path(__file__).parent / "data" / "docs"


@pytest.mark.parametrize("mode", ["first", "all"])
def test_identical_files_are_never_emptied(tmp_path: Path, mode: str) -> None:
    """Copies of one Debian copyright file: every line is frequent, yet each copy keeps its text."""
    text = (DOCS / "copyright").read_text(encoding="utf-8")
    other = "Files: *\nCopyright: 2020 Somebody Else <se@example.com>\nLicense: MIT\n"
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, [{"id": i, "text": text} for i in range(6)] + [{"id": "other", "text": other}])
    summary = lines_file(str(src), str(out), progress=False, mode=mode)
    got = [json.loads(ln)["text"] for ln in out.read_text(encoding="utf-8").splitlines()]
    assert got == [text] * 6 + [other]
    assert summary.documents_kept_whole == (6 if mode == "all" else 5) and summary.changed == 0


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
                                      "  ", "unique {}", "x\r", "COOKIE NOTICE", "Cookie policy: we use "
                                      "cookies to improve your experience"]), max_size=8)


@settings(max_examples=80, deadline=None)
@given(st.lists(line_text, min_size=1, max_size=8), st.integers(2, 4), st.sampled_from(["first", "all"]),
       st.sampled_from([0, DEFAULT_MIN_CHARS]))
def test_properties(docs: list[list[str]], min_docs: int, mode: str, min_chars: int) -> None:
    texts = ["\n".join(line.format("k" + "abcdefghij"[i]) for line in doc) for i, doc in enumerate(docs)]
    out = apply(texts, min_docs, min_chars, mode=mode)
    countable = line_units(pa.array(texts, pa.large_string())).countable(min_chars)
    units = line_units(pa.array(texts, pa.large_string()))
    for d, (before, after) in enumerate(zip(texts, out, strict=True)):
        after.encode("utf-8")
        kept = after.splitlines()
        for line in before.splitlines():
            if "unique" in line:  # text that occurs in one document only is never removed
                assert line in kept
        assert set(kept) <= set(before.splitlines())
        if countable[units.doc == d].any():  # never emptied: a line that could go is still there
            left = line_units(pa.array([after], pa.large_string())).countable(min_chars)
            assert left.any()
    if mode == "first":  # no line is lost from the collection
        assert {ln.strip() for t in texts for ln in t.splitlines()} - {""} == {
            ln.strip() for t in out for ln in t.splitlines()} - {""}


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
    df = spark.createDataFrame([(r["id"], r["text"], i) for i, r in enumerate(recs)],  # type: ignore[attr-defined]
                               "id string, text string, pos long")
    got, frequent = lines_spark(df.repartition(3), order_col="pos")
    assert frequent.count() == 5
    for row in got.collect():
        assert row["text"] == local[row["id"]]["text"]
        assert row["lines_removed"] == local[row["id"]]["lines_removed"]
    lines_file(str(src), str(out), progress=False, mode="all")
    local = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    got, _ = lines_spark(df.repartition(2), mode="all")
    assert {r["id"]: r["text"] for r in got.collect()} == {i: r["text"] for i, r in local.items()}
