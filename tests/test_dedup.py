"""End to end: `semel dedup` on planted copies in several languages, determinism, resume, bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import semel
from semel.cli import main
from tests.corpus import make_corpus, write_jsonl


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict], dict[str, str]]:
    docs, truth = make_corpus(n_bases=60, seed=3)
    path = str(tmp_path_factory.mktemp("corpus") / "corpus.jsonl")
    write_jsonl(path, docs)
    return path, docs, truth


def clusters_of(out: str) -> dict[str, dict]:
    return {r["id"]: r for r in pq.read_table(os.path.join(out, "clusters.parquet")).to_pylist()}


def test_planted_copies_found_in_every_language(corpus, tmp_path) -> None:
    path, docs, truth = corpus
    result = semel.dedup(path, str(tmp_path / "out"))
    rows = clusters_of(str(tmp_path / "out"))
    assert sorted(rows) == sorted(d["id"] for d in docs)  # every document exactly once
    assert result.clusters.num_rows == len(docs)
    for doc_id, base in truth.items():
        for other, other_base in truth.items():
            same_pred = rows[doc_id]["cluster"] == rows[other]["cluster"]
            assert same_pred == (base == other_base), (doc_id, other)
    # input order decides the kept copy by default; the kept document is in its own cluster
    order = {d["id"]: i for i, d in enumerate(docs)}
    for doc_id, r in rows.items():
        members = [i for i, b in truth.items() if b == truth[doc_id]]
        assert r["cluster"] == min(members, key=order.__getitem__)
        assert r["kept"] == (r["cluster"] == doc_id)
        assert r["reason"] in ({"unique", "original"} if r["kept"] else {"exact", "near"})
        assert 0.0 <= r["similarity"] <= 1.0
    text = {d["id"]: d["text"] for d in docs}
    reasons = set()
    for doc_id, r in rows.items():
        if r["kept"]:
            continue
        reasons.add(r["reason"])
        kept_text = text[r["cluster"]]
        if text[doc_id].upper().strip() == kept_text.upper().strip():
            assert r["reason"] == "exact" and r["similarity"] == 1.0, doc_id
        elif "BREAKING" not in text[doc_id] + kept_text:  # edited: similar but not equal
            assert r["reason"] == "near" and 0.3 <= r["similarity"] < 1.0, doc_id
    assert reasons == {"exact", "near"}
    kept_lines = open(tmp_path / "out" / "kept.jsonl", encoding="utf-8").read().splitlines()
    kept_ids = [json.loads(x)["id"] for x in kept_lines]
    assert kept_ids == [d["id"] for d in docs if rows[d["id"]]["kept"]]
    # passthrough fields untouched
    original = {d["id"]: d for d in docs}
    assert all(json.loads(x) == original[json.loads(x)["id"]] for x in kept_lines)
    stats = json.load(open(tmp_path / "out" / "stats.json"))
    assert stats["stats"]["documents"] == len(docs)


def test_keep_policies(corpus, tmp_path) -> None:
    path, docs, truth = corpus
    by_id = {d["id"]: d for d in docs}
    for keep, best in (("longest", lambda m: (-len(by_id[m]["text"].encode()), m)),
                       ("field:quality", lambda m: (-by_id[m]["quality"], m))):
        out = str(tmp_path / keep.replace(":", "_"))
        semel.dedup(path, out, keep=keep, write_kept=False)
        rows = clusters_of(out)
        for doc_id in truth:
            members = [i for i, b in truth.items() if b == truth[doc_id]]
            assert rows[doc_id]["cluster"] == min(members, key=best)


def test_same_result_for_any_workers_and_batch_size(corpus, tmp_path) -> None:
    path, _, _ = corpus
    tables = []
    for workers, batch in ((1, 7), (2, 50), (2, 100_000)):
        out = str(tmp_path / f"w{workers}b{batch}")
        semel.dedup(path, out, workers=workers, batch_size=batch)
        tables.append(pq.read_table(os.path.join(out, "clusters.parquet")))
    assert tables[0].equals(tables[1]) and tables[1].equals(tables[2])


@pytest.fixture(scope="module")
def clean_run(corpus, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An uninterrupted run, the reference for every resumed one."""
    path, _, _ = corpus
    clean = str(tmp_path_factory.mktemp("clean") / "out")
    semel.dedup(path, clean, batch_size=40)
    return clean


@pytest.mark.parametrize("kill_at", ["sketch:1", "sketch", "cluster", "keep"])
def test_resume_after_sigkill_is_byte_identical(corpus, clean_run, tmp_path, kill_at: str) -> None:
    path, _, _ = corpus
    clean = clean_run
    out = str(tmp_path / "killed")
    cmd = [sys.executable, "-m", "semel.cli", "dedup", path, "-o", out, "--batch-size", "40",
           "--workers", "1",
           "-q"]
    env = dict(os.environ, SEMEL_KILL_AT=kill_at)
    proc = subprocess.run(cmd, env=env, capture_output=True)
    assert proc.returncode == -9  # really killed
    assert not os.path.exists(os.path.join(out, "clusters.parquet")) or kill_at == "keep"
    proc = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(clean, "clusters.parquet"), "rb") as a, \
            open(os.path.join(out, "clusters.parquet"), "rb") as b:
        assert a.read() == b.read()
    assert open(os.path.join(clean, "kept.jsonl"), "rb").read() == open(os.path.join(out, "kept.jsonl"),
                                                                         "rb").read()


def test_resume_without_the_cluster_stages_verdicts_gives_the_same_clusters(corpus, clean_run,
                                                                             tmp_path) -> None:
    """A work folder whose cluster stage was finished by a semel that did not keep its verdicts for the
    keep stage (semel.grouping.Verdicts): the keep stage verifies every pair itself, with the same
    answers."""
    path, _, _ = corpus
    out = str(tmp_path / "o")
    cmd = [sys.executable, "-m", "semel.cli", "dedup", path, "-o", out, "--batch-size", "40", "-q"]
    proc = subprocess.run(cmd, env=dict(os.environ, SEMEL_KILL_AT="cluster"), capture_output=True)  # done
    assert proc.returncode == -9
    verdicts = [f for f in os.listdir(os.path.join(out, "_work", "cluster")) if f.startswith("verified_")]
    assert len(verdicts) == 4
    for name in verdicts:
        os.remove(os.path.join(out, "_work", "cluster", name))
    proc = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert pq.read_table(os.path.join(out, "clusters.parquet")).equals(
        pq.read_table(os.path.join(clean_run, "clusters.parquet")))


def test_resume_refuses_other_settings(corpus, tmp_path) -> None:
    path, _, _ = corpus
    out = str(tmp_path / "o")
    semel.dedup(path, out, keep_work=True)
    with pytest.raises(semel.errors.SemelError, match="other settings"):
        semel.dedup(path, out, threshold=0.5, resume=True)


def test_bad_input_one_line_error(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine text here"}\n{"id": "b", "text": \n', encoding="utf-8")
    assert main(["dedup", str(bad), "-o", str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.jsonl:2" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "out" / "clusters.parquet")
    assert main(["dedup", str(bad), "-o", str(tmp_path / "out2"), "-q", "--on-error", "skip"]) == 0
    rows = clusters_of(str(tmp_path / "out2"))
    assert list(rows) == ["a"]
    skipped = [json.loads(x) for x in open(tmp_path / "out2" / "errors.jsonl")]
    assert len(skipped) == 1 and skipped[0]["line"] == 2


def test_empty_and_tiny_documents(tmp_path) -> None:
    docs = [{"id": "e1", "text": ""}, {"id": "e2", "text": ""}, {"id": "p", "text": "..."},
            {"id": "w1", "text": "hello"}, {"id": "w2", "text": "Hello!"}, {"id": "w3", "text": "goodbye"}]
    path = str(tmp_path / "tiny.jsonl")
    write_jsonl(path, docs)
    semel.dedup(path, str(tmp_path / "out"))
    rows = clusters_of(str(tmp_path / "out"))
    assert rows["e2"]["cluster"] == "e1" and rows["p"]["cluster"] == "e1"  # no words at all: one group
    assert rows["w2"]["cluster"] == "w1" and rows["w3"]["cluster"] == "w3"


def test_cli_summary_and_params(corpus, tmp_path, capsys) -> None:
    path, docs, _ = corpus
    assert main(["dedup", path, "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"{len(docs):,} documents" in err and "near copies" in err
    assert main(["params", "--threshold", "0.5", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    assert p["bands"] * p["rows"] <= 256 and len(p["s_curve"]) == 21


def test_exact_levels_and_character_shingles(tmp_path) -> None:
    docs = [{"id": "a", "text": "Il sindaco ha detto: «basta»."},
            {"id": "b", "text": "IL SINDACO HA DETTO BASTA"},
            {"id": "c", "text": "Il sindaco ha detto: «basta»."}]
    path = str(tmp_path / "c.jsonl")
    write_jsonl(path, docs)
    for level, same_b in (("tokens", True), ("none", False)):
        out = str(tmp_path / level)
        semel.dedup(path, out, exact_level=level, near=False)
        rows = clusters_of(out)
        assert rows["c"]["reason"] == "exact"
        assert (rows["b"]["cluster"] == "a") == same_b
    # character shingles: a one-letter typo in a short text is still a near copy
    docs = [{"id": "x", "text": "supercalifragilisticexpialidocious weather today"},
            {"id": "y", "text": "supercalifragilisticexpialidocius weather today"}]
    write_jsonl(path, docs)
    semel.dedup(path, str(tmp_path / "chars"), shingle="char")
    assert clusters_of(str(tmp_path / "chars"))["y"]["cluster"] == "x"
    semel.dedup(path, str(tmp_path / "words"))
    assert clusters_of(str(tmp_path / "words"))["y"]["cluster"] == "y"
