"""`semel explain` on planted copies: the rule, the cluster and the kept document it names are the truth,
the Jaccard it shows is the run's, and the shared n-grams are real words of both documents."""
from __future__ import annotations

import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import semel
from semel.cli import main
from semel.jobs.repair import repair_file
from semel.report.explain import explain
from semel.report.runinfo import write_run_stats
from semel.report.tokens import shingles_with_text, token_spans
from semel.text.tokens import shingle_hashes
from tests.corpus import make_corpus, write_jsonl


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, list[dict], dict[str, str]]:
    docs, truth = make_corpus(n_bases=30, seed=5)
    root = tmp_path_factory.mktemp("explain")
    path = str(root / "corpus.jsonl")
    write_jsonl(path, docs)
    out = str(root / "out")
    semel.dedup(path, out)
    return path, out, docs, truth


def expected_kept(doc_id: str, docs: list[dict], truth: dict[str, str]) -> str:
    """keep=first: the group's first document in input order."""
    order = {d["id"]: i for i, d in enumerate(docs)}
    return min((i for i, b in truth.items() if b == truth[doc_id]), key=order.__getitem__)


def words(text: str) -> list[str]:
    return [text[a:b].casefold() for a, b in token_spans(text)]


def test_planted_copies_name_rule_cluster_and_kept_document(run) -> None:
    _, out, docs, truth = run
    text = {d["id"]: d["text"] for d in docs}
    rows = {r["id"]: r for r in pq.read_table(os.path.join(out, "clusters.parquet")).to_pylist()}
    seen = set()
    for doc_id, base in truth.items():
        if doc_id == base and base + "-v0" not in truth:
            ex = explain(out, doc_id)
            assert (ex.kept, ex.reason, ex.kept_id) == (True, "unique", doc_id)
            seen.add("unique")
            continue
        kept = expected_kept(doc_id, docs, truth)
        ex = explain(out, doc_id)
        assert ex.kept_id == kept and ex.cluster == kept and ex.cluster_size == 5
        if doc_id == kept:
            assert (ex.kept, ex.reason) == (True, "original")
            assert {m["id"] for m in ex.members} == {i for i, b in truth.items() if b == base} - {doc_id}
            seen.add("original")
            continue
        assert not ex.kept
        same_words = words(text[doc_id]) == words(text[kept])
        assert ex.reason == ("exact" if same_words else "near"), doc_id
        seen.add(ex.reason)
        assert ex.similarity == pytest.approx(rows[doc_id]["similarity"], abs=1e-6)
        a, b = words(text[doc_id]), words(text[kept])
        sa, sb = ({tuple(w[i:i + 3]) for i in range(len(w) - 2)} for w in (a, b))
        assert ex.exact_jaccard == pytest.approx(len(sa & sb) / len(sa | sb), abs=1e-3)
        assert ex.minhash_jaccard is not None and abs(ex.minhash_jaccard - ex.exact_jaccard) < 0.15
        assert ex.num_perm == 256 and ex.shingles is not None and ex.shingles["shared"] > 0
        assert ex.shared_shingles
        if " " in text[doc_id]:  # word n-grams: each shared one is three words of both texts in a row
            for gram in ex.shared_shingles:
                g = words(gram)
                assert len(g) == 3
                for t in (text[doc_id], text[kept]):
                    w = words(t)
                    assert any(w[i:i + 3] == g for i in range(len(w) - 2)), (gram, doc_id)
    assert seen == {"unique", "original", "exact", "near"}


def test_cli_text_json_and_unknown_id(run, capsys) -> None:
    _, out, docs, truth = run
    doc_id = next(i for i in truth if i.endswith("-v3") and explain(out, i).reason == "near")
    assert main(["explain", out, doc_id]) == 0
    text = capsys.readouterr().out
    assert "near copy" in text and "exact Jaccard" in text and "MinHash" in text and "shared n-grams" in text
    assert main(["explain", out, doc_id, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reason"] == "near" and data["kept_id"] == expected_kept(doc_id, docs, truth)
    assert main(["explain", out, "no-such-id"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-id" in err


def test_moved_inputs_are_reported_and_input_flag_finds_them(run, tmp_path, capsys) -> None:
    path, out, _, truth = run
    out2 = str(tmp_path / "out")
    shutil.copytree(out, out2)
    with open(os.path.join(out2, "stats.json")) as f:
        stats = json.load(f)
    stats["settings"]["inputs"] = [str(tmp_path / "gone.jsonl")]
    with open(os.path.join(out2, "stats.json"), "w") as f:
        json.dump(stats, f)
    doc_id = next(i for i in truth if i.endswith("-v3") and explain(out, i).reason == "near")
    ex = explain(out2, doc_id)
    assert ex.reason == "near" and ex.exact_jaccard is None and "not readable" in ex.notes[0]
    assert explain(out2, doc_id, inputs=[path]).exact_jaccard is not None


def test_repair_run_lists_removed_spans(tmp_path, capsys) -> None:
    line = "This sentence was scraped twice by the crawler today."
    docs = [{"id": "a", "text": f"Intro line here.\n\n{line}\n\n{line}\n\nEnd."},
            {"id": "b", "text": "Nothing twice."}]
    src, dst = str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl")
    write_jsonl(src, docs)
    summary = repair_file(src, dst, progress=False)
    write_run_stats(dst, "repair", {"inputs": [src], "output": dst}, summary)
    ex = explain(dst, "a")
    assert ex.reason == "repaired" and len(ex.removed_spans) == 1
    sp = ex.removed_spans[0]
    assert docs[0]["text"][sp["start"]:sp["end"]].strip() == line == sp["text"].strip()
    assert explain(dst, "b").reason == "unchanged"
    assert main(["explain", dst, "a"]) == 0
    assert "removed spans (1)" in capsys.readouterr().out


@pytest.mark.parametrize("text", [
    "Hello, wörld! The STRASSE café ok", "straße Straße  e\u0301cole naïve", "我你他们的是在 ok 中大",
    "x", "", "  ,, !! ", "tab\tsep\nnew line — dash’s end",
])
def test_token_spans_agree_with_the_tokenizer(text: str) -> None:
    for n in (1, 2, 3):
        hashes, spans = shingles_with_text(text, n)
        _, expected, _ = shingle_hashes(pa.array([text], pa.large_string()), n)
        assert list(hashes) == list(expected)
        assert spans is not None and len(spans) == len(hashes)
        # re-hashing the words a span covers gives the same shingle
        for (a, b), h in zip(spans, hashes, strict=True):
            _, again, _ = shingle_hashes(pa.array([text[a:b]], pa.large_string()), n)
            assert again[0] == h


def test_lines_and_substrings_runs_list_removed_spans(tmp_path, capsys) -> None:
    footer = "Subscribe to our newsletter for the latest stories every morning"
    passage = ("the committee met on tuesday to discuss the new budget for the city library and agreed "
               "to extend opening hours during the winter months")
    names = ["apple", "river", "stone", "cloud", "maple", "tiger"]  # digits are folded: words differ
    docs = [{"id": f"d{i}", "text": f"A story about the {w} today.\n{footer}\n"
                                    + (f"Quote: {passage}.\n" if i % 2 else "")} for i, w in enumerate(names)]
    docs.append({"id": "plain", "text": "Nothing shared here at all."})
    src = str(tmp_path / "in.jsonl")
    write_jsonl(src, docs)
    text = {d["id"]: d["text"] for d in docs}
    lines_out, sub_out = str(tmp_path / "lines.jsonl"), str(tmp_path / "sub.jsonl")
    semel.lines(src, lines_out, min_docs=3, progress=False)
    semel.substrings(src, sub_out, min_tokens=10, progress=False)

    ex = explain(lines_out, "d2")
    assert (ex.job, ex.kept, ex.reason) == ("lines", True, "lines") and len(ex.removed_spans) == 1
    sp = ex.removed_spans[0]
    assert text["d2"][sp["start"]:sp["end"]] == sp["text"] and sp["text"].strip() == footer
    assert sp["documents"] == 6 and sp["kind"] == "line"
    assert explain(lines_out, "plain").reason == "unchanged"
    assert main(["explain", lines_out, "d2"]) == 0
    out = capsys.readouterr().out
    assert "removed spans (1)" in out and f"[{sp['start']}:{sp['end']}]" in out and "in 6 documents" in out

    recorded = {json.loads(line)["id"]: json.loads(line)["substrings_removed"] for line in open(sub_out)}
    ex = explain(sub_out, "d3")
    assert ex.reason == "substrings" and ex.removed_spans
    assert [(s["start"], s["end"]) for s in ex.removed_spans] == [(s["start"], s["end"])
                                                                  for s in recorded["d3"]]
    assert any(passage[:40] in s["text"] for s in ex.removed_spans)
    assert all(text["d3"][s["start"]:s["end"]] == s["text"] for s in ex.removed_spans)
    assert explain(sub_out, "plain").reason == "unchanged"
    assert main(["explain", sub_out, "d3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed_spans"][0]["start"] == recorded["d3"][0]["start"]
    assert main(["explain", sub_out, "nope"]) == 1


def test_character_shingle_runs_are_explained_with_character_ngrams(tmp_path) -> None:
    from semel.report.tokens import shingles_with_text

    hashes, spans = shingles_with_text("Ab-c dß", 3, chars=True)
    assert len(hashes) == 4 and spans == [(0, 4), (1, 6), (3, 7), (5, 7)]  # a b c d s s
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "supercalifragilisticexpialidocious weather"}) + "\n"
                    + json.dumps({"id": "y", "text": "supercalifragilisticexpialidocius weather"}) + "\n",
                    encoding="utf-8")
    semel.dedup(str(path), str(tmp_path / "out"), shingle="char")
    ex = explain(str(tmp_path / "out"), "y")
    recorded = pq.read_table(str(tmp_path / "out" / "clusters.parquet")).to_pylist()[1]
    assert recorded["id"] == "y" and ex.kept_id == "x" and ex.exact_jaccard is not None
    assert abs(ex.exact_jaccard - recorded["similarity"]) < 1e-3  # the run's own character shingles
    assert any(len(s.replace(" ", "")) == 5 for s in ex.shared_shingles)


def test_kept_template_instances_name_each_other_as_rejected_by_the_template_test(tmp_path) -> None:
    from tests.test_lsh import _ioctl_page

    docs = [{"id": "remove", "text": _ioctl_page("dmx remove pid", "dmx add pid")},
            {"id": "add", "text": _ioctl_page("dmx add pid", "also")},
            {"id": "other", "text": " ".join(f"x{i}" for i in range(200))}]
    path = str(tmp_path / "pages.jsonl")
    write_jsonl(path, docs)
    out = str(tmp_path / "out")
    semel.dedup(path, out)
    rejected = pq.read_table(os.path.join(out, "rejected.parquet")).to_pylist()
    assert [(r["a"], r["b"], r["test"]) for r in rejected] == [(0, 1, "template")]
    ex = explain(out, "add")
    assert ex.kept
    assert [(r["id"], r["test"], r["fate"]) for r in ex.rejected] == [("remove", "template", "kept")]
    assert 0.3 < ex.rejected[0]["similarity"] < 1
    assert explain(out, "other").rejected == []
