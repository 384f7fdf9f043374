"""`semel report`: a self-contained page whose sections follow the job, with a capped id index, and
charts that are valid SVG."""
from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow.parquet as pq
import pytest

import semel
from semel.cli import main
from semel.jobs.repair import repair_file
from semel.report import write_report
from semel.report.diff import highlight_spans, word_diff
from semel.report.plots import s_curve, similarity_histogram, size_bins
from semel.report.runinfo import load_run, write_run_stats
from tests.corpus import make_corpus, write_jsonl


@pytest.fixture(scope="module")
def dedup_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    docs, _ = make_corpus(n_bases=30, seed=7)
    root = tmp_path_factory.mktemp("report")
    path = str(root / "corpus.jsonl")
    write_jsonl(path, docs)
    out = str(root / "out")
    semel.dedup(path, out)
    return path, out


def index_of(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="index-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1))


def assert_self_contained(page: str) -> None:
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_dedup_report_sections_and_index(dedup_run) -> None:
    _, out = dedup_run
    path = write_report(out)
    assert path == os.path.join(out, "report.html")
    page = open(path, encoding="utf-8").read()
    assert_self_contained(page)
    for section in ("summary", "plots", "find", "clusters", "borderline", "stages", "settings"):
        assert f'id="{section}"' in page
    assert 'id="examples"' not in page  # no spans in a dedup run
    assert page.count("<svg") >= 4 and "<del>" in page and "<ins>" in page
    t = pq.read_table(os.path.join(out, "clusters.parquet")).to_pylist()
    idx = index_of(page)
    removed = [r for r in t if not r["kept"]]
    assert idx["complete"] and idx["ids"] == [r["id"] for r in removed]
    for i, r in enumerate(removed):
        assert idx["kept_ids"][idx["cluster"][i]] == r["cluster"]
        assert idx["reason"][i] == r["reason"][0]
    assert "bytes removed" in page


def test_index_is_capped(dedup_run, tmp_path) -> None:
    _, out = dedup_run
    target = str(tmp_path / "r.html")
    assert main(["report", out, "-o", target, "--index-limit", "5"]) == 0
    idx = index_of(open(target, encoding="utf-8").read())
    assert len(idx["ids"]) == 5 and not idx["complete"] and idx["removed_total"] > 5


def test_missing_inputs_give_a_note_not_an_error(dedup_run, tmp_path) -> None:
    path, out = dedup_run
    stats = json.load(open(os.path.join(out, "stats.json")))
    stats["settings"]["inputs"] = [str(tmp_path / "moved.jsonl")]
    moved = tmp_path / "out"
    moved.mkdir()
    os.symlink(os.path.join(out, "clusters.parquet"), moved / "clusters.parquet")
    json.dump(stats, open(moved / "stats.json", "w"))
    page = open(write_report(str(moved)), encoding="utf-8").read()
    assert "cannot be read" in page and "<del>" not in page
    page = open(write_report(str(moved), str(tmp_path / "x.html"), inputs=[path]), encoding="utf-8").read()
    assert "<del>" in page


def test_repair_report_highlights_removed_text(tmp_path) -> None:
    line = "This sentence was scraped twice by the crawler <today>."
    docs = [{"id": f"d{i}", "text": f"Intro {i}.\n\n{line}\n\n{line}\n\nEnd."} for i in range(3)]
    docs.append({"id": "clean", "text": "Nothing repeated here."})
    src, dst = str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl")
    write_jsonl(src, docs)
    summary = repair_file(src, dst, progress=False)
    stats_path = write_run_stats(dst, "repair", {"inputs": [src], "output": dst}, summary)
    assert stats_path == dst + ".stats.json"
    run = load_run(dst)
    assert run.job == "repair" and run.stats["stages"][0]["name"] == "repair"
    page = open(write_report(dst), encoding="utf-8").read()
    assert_self_contained(page)
    assert 'id="examples"' in page and 'id="clusters"' not in page and 'id="plots"' not in page
    assert page.count("<mark title=") == 3 and "&lt;today&gt;" in page and "<today>" not in page


def test_unknown_job_renders_its_numbers_only(tmp_path) -> None:
    write_run_stats(str(tmp_path), "shuffle", {"inputs": []}, {"documents": 10, "lines_moved": 4,
                                                               "seconds": 1.5})
    page = open(write_report(str(tmp_path)), encoding="utf-8").read()
    assert "lines moved" in page and 'id="stages"' in page and 'id="find"' not in page


def test_load_run_accepts_folder_file_and_stats_path(tmp_path) -> None:
    write_run_stats(str(tmp_path / "o.jsonl"), "repair", {}, {"documents": 1})
    for p in (tmp_path / "o.jsonl", tmp_path / "o.jsonl.stats.json"):
        assert load_run(str(p)).output == str(tmp_path / "o.jsonl")
    with pytest.raises(semel.errors.SemelError, match="no run statistics"):
        load_run(str(tmp_path))
    assert main(["report", str(tmp_path / "nothing")]) == 1


@pytest.mark.parametrize("svg", [
    s_curve(20, 5, 0.5), similarity_histogram(np.array([0.3, 0.5, 0.99]), 0.3),
    similarity_histogram(np.array([]), 0.3),
])
def test_plots_are_valid_svg(svg: str) -> None:
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert root.iter("{http://www.w3.org/2000/svg}path") or root.iter("{http://www.w3.org/2000/svg}rect")


def test_size_bins() -> None:
    assert size_bins(np.array([2, 2, 3, 10])) == ([str(i) for i in range(2, 11)], [2, 1, 0, 0, 0, 0, 0, 0, 1])
    labels, counts = size_bins(np.array([2, 11, 40, 41, 500]))
    assert sum(counts) == 5 and labels[-1].endswith(str(640)) and "11–20" in labels


def test_word_diff_and_spans_escape_and_mark() -> None:
    d = word_diff("the cat sat on <the> mat", "the dog sat on <the> mat")
    assert "<del>cat </del>" in d.left and "<ins>dog </ins>" in d.right and "&lt;the&gt;" in d.left
    assert d.changed_left == d.changed_right == 1
    html = highlight_spans("abc <x> def", [{"start": 4, "end": 7, "kind": "line"}])
    assert html == 'abc <mark title="line">&lt;x&gt;</mark> def'


FOOTER = "Read also: the <best> stories of the week, every week"
PASSAGE = ("the committee met on tuesday to discuss the new budget for the city library and agreed "
           "to extend opening hours during the winter months for all students")


def span_corpus(tmp_path) -> tuple[str, list[dict]]:
    """Documents sharing a footer line (lines) and a long passage (substrings), plus unique text."""
    docs = []
    for i in range(8):
        body = f"Story {chr(97 + i)}: " + " ".join(f"word{chr(97 + i)}x{chr(97 + j)}" for j in range(12))
        text = f"{body}\n{FOOTER}\n" if i % 2 == 0 else f"{FOOTER}\n{body}\nQuote: {PASSAGE}.\nEnd {i}."
        docs.append({"id": f"doc{i}", "text": text})
    docs.append({"id": "plain", "text": "Nothing shared here at all."})
    path = str(tmp_path / "corpus.jsonl")
    write_jsonl(path, docs)
    return path, docs


def marks(page: str) -> list[str]:
    return re.findall(r'<mark title="[^"]*">(.*?)</mark>', page, re.S)


def recorded_spans(out: str, column: str) -> dict[str, list[dict]]:
    with open(out, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return {r["id"]: r[column] for r in rows if r[column]}


def test_lines_report_table_and_spans_in_place(tmp_path) -> None:
    import html as _html

    src, docs = span_corpus(tmp_path)
    out = str(tmp_path / "lines.jsonl")
    semel.lines(src, out, min_docs=3, progress=False, mode="all")  # the footer goes from all 8 documents
    page = open(write_report(out), encoding="utf-8").read()
    assert_self_contained(page)
    for section in ("summary", "lines", "examples", "find", "stages", "settings"):
        assert f'id="{section}"' in page
    assert 'id="clusters"' not in page
    assert "documents changed" in page and "lines removed" in page and "characters removed" in page
    table = page[page.index('id="lines"'):page.index("</section>", page.index('id="lines"'))]
    assert _html.escape(FOOTER) in table and '<td class="num">8</td>' in table  # in all 8 documents
    spans = recorded_spans(out, "lines_removed_spans")
    text = {d["id"]: d["text"] for d in docs}
    assert set(spans) == {f"doc{i}" for i in range(8)}
    expected = [_html.escape(text[i][s["start"]:s["end"]]) for i in sorted(spans, key=lambda i: i)
                for s in spans[i]]
    assert sorted(marks(page)) == sorted(expected)
    assert all(FOOTER in _html.unescape(m) or PASSAGE in _html.unescape(m) for m in marks(page))
    assert set(index_of(page)["ids"]) == set(spans) and set(index_of(page)["reason"]) == {"l"}


def test_substrings_report_spans_and_length_chart(tmp_path) -> None:
    import html as _html

    src, docs = span_corpus(tmp_path)
    out = str(tmp_path / "sub.jsonl")
    semel.substrings(src, out, min_tokens=10, progress=False)
    page = open(write_report(out), encoding="utf-8").read()
    assert_self_contained(page)
    for section in ("summary", "plots", "examples", "find"):
        assert f'id="{section}"' in page
    assert 'id="lines"' not in page and "spans removed" in page
    spans = recorded_spans(out, "substrings_removed")
    text = {d["id"]: d["text"] for d in docs}
    first = text["doc1"].index(PASSAGE)  # the first copy of the passage is kept, later ones cut
    assert all(s["end"] <= first for s in spans["doc1"]) and len(spans["doc3"]) == 2
    expected = [_html.escape(text[i][s["start"]:s["end"]]) for i in spans for s in spans[i]]
    assert sorted(marks(page)) == sorted(expected)
    assert any(PASSAGE[:40] in _html.unescape(m) for m in marks(page))
    svg = re.findall(r"<svg.*?</svg>", page, re.S)
    chart = next(s for s in svg if "Lengths of removed spans" in s)
    ET.fromstring(chart)
    n = sum(len(v) for v in spans.values())
    bars = [int(c.replace(",", "")) for c in re.findall(r"<title>[^<]*: ([\d,]+)</title></rect>", chart)]
    assert sum(bars) == n


def test_length_bins() -> None:
    from semel.report.plots import length_bins

    labels, counts = length_bins(np.array([1, 15, 16, 40, 200]))
    assert labels[:3] == ["1–15", "16–31", "32–63"] and counts[:3] == [2, 1, 1] and sum(counts) == 5
    assert length_bins(np.array([], np.int64)) == ([], [])


def test_warnings_name_big_clusters_and_low_similarity_removals() -> None:
    from semel.report.data import dedup_warnings

    assert dedup_warnings(np.array([2, 3, 5]), np.array([0.9, 0.8]), 1000, 0.3) == []
    notes = dedup_warnings(np.array([2, 300]), np.array([0.31, 0.45, 0.9]), 1000, 0.3)
    assert len(notes) == 2
    assert "300 documents, 30.0%" in notes[0]
    assert "2 of 3 near copies" in notes[1]
    # a strict threshold: nothing below it can have been removed, so no warning about similarity
    assert dedup_warnings(np.array([2]), np.array([0.9]), 1000, 0.6) == []
