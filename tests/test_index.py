"""The saved index: built from a finished run, it answers for every document what the run decided."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import semel
from semel.config import DedupConfig
from semel.errors import SemelError
from semel.index.build import build_index
from semel.index.format import SegmentData, fold32
from semel.index.query import FENCE, MAX_BUCKET, Index, candidates
from tests.corpus import make_corpus, write_jsonl


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict], list[dict]]:
    root = str(tmp_path_factory.mktemp("index"))
    docs, _ = make_corpus(50, seed=3)
    write_jsonl(os.path.join(root, "a.jsonl"), docs)
    cfg = DedupConfig(inputs=[os.path.join(root, "a.jsonl")], output=os.path.join(root, "out"),
                      keep_work=True, progress=False)
    result = semel.dedup(cfg)
    build_index(os.path.join(root, "out", "_work"), os.path.join(root, "out", "clusters.parquet"), cfg,
                os.path.join(root, "out", "index"))
    return root, docs, result.clusters.to_pylist()


def test_every_document_finds_what_the_run_kept_for_it(run: tuple[str, list[dict], list[dict]]) -> None:
    root, docs, clusters = run
    index = Index(os.path.join(root, "out", "index"))
    assert index.documents == sum(r["kept"] for r in clusters)
    for doc, row in zip(docs, clusters, strict=True):
        match = index.check(doc["text"])
        assert match is not None, row
        assert match.id == (row["id"] if row["kept"] else row["cluster"]), row
        if not row["kept"]:
            assert match.similarity == pytest.approx(row["similarity"], abs=1e-6)


def test_unrelated_text_is_new(run: tuple[str, list[dict], list[dict]]) -> None:
    index = Index(os.path.join(run[0], "out", "index"))
    assert index.check("a completely different text about gardening, tomatoes and the weather in spring "
                       "which nobody in this corpus ever wrote down") is None
    assert index.check("") is None


def test_cli_build_check_and_its_errors(run: tuple[str, list[dict], list[dict]], tmp_path: str) -> None:
    root, docs, clusters = run
    cli = [sys.executable, "-m", "semel.cli"]
    out = subprocess.run([*cli, "index", "build", os.path.join(root, "out"), "-o", str(tmp_path / "ix")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    manifest = json.load(open(tmp_path / "ix" / "manifest.json"))
    assert manifest["documents"] == sum(r["kept"] for r in clusters)
    probe = tmp_path / "probe.jsonl"
    write_jsonl(str(probe), [{"id": "p1", "text": docs[0]["text"]}, {"id": "p2", "text": "nothing like it"}])
    out = subprocess.run([*cli, "check", str(tmp_path / "ix"), str(probe)], capture_output=True, text=True)
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [(x["id"], x["duplicate"]) for x in lines] == [("p1", True), ("p2", False)]
    assert lines[0]["of"] == (clusters[0]["id"] if clusters[0]["kept"] else clusters[0]["cluster"])
    # a run whose work folder is gone, and a folder that is no index: one line each
    os.makedirs(tmp_path / "empty")
    out = subprocess.run([*cli, "index", "build", str(tmp_path / "empty")], capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.startswith("semel: error: ") and out.stderr.count("\n") == 1
    out = subprocess.run([*cli, "check", str(tmp_path / "empty"), str(probe)], capture_output=True,
                         text=True)
    assert out.returncode == 1 and "not a semel index" in out.stderr and out.stderr.count("\n") == 1


def test_against_refuses_other_settings(run: tuple[str, list[dict], list[dict]]) -> None:
    from semel.index.against import Against

    cfg = DedupConfig(inputs=["x"], output="y", threshold=0.5)
    with pytest.raises(SemelError, match="here but .* in the index"):
        Against(os.path.join(run[0], "out", "index"), cfg)


def test_band_lookup_finds_keys_across_fence_blocks() -> None:
    """Equal keys spanning a fence boundary, and keys below and above every fence, are all found."""
    rng = np.random.default_rng(0)
    n = 3 * FENCE + 17
    keys = rng.integers(0, 50, size=(2, n)).astype(np.uint64) << np.uint64(32)  # fold32 keeps them distinct
    seg = SegmentData.from_docs(np.array([str(i) for i in range(n)]), np.zeros(n),
                                np.zeros((n, 2), np.uint64), np.zeros((n, 8), np.uint16),
                                np.arange(n + 1, dtype=np.int64), np.zeros(n, np.uint32), keys)
    for probe in (0, 7, 49, 60):
        query = fold32(np.array([probe, 1000], np.uint64) << np.uint64(32))
        got = candidates(seg, query, np.uint64(1))
        want = np.flatnonzero(keys[0] == (np.uint64(probe) << np.uint64(32)))[:MAX_BUCKET]
        assert list(got) == list(want)


def test_segments_merge_in_order() -> None:
    def seg(ids: list[str], base: int) -> SegmentData:
        n = len(ids)
        bands = (np.arange(n, dtype=np.uint64) + np.uint64(base))[None, :].repeat(3, axis=0)
        exact = np.ones((n, 2), np.uint64) * np.arange(base, base + n, dtype=np.uint64)[:, None]
        return SegmentData.from_docs(np.array(ids), -np.arange(base, base + n, dtype=float), exact,
                                     np.zeros((n, 8), np.uint16), np.arange(n + 1, dtype=np.int64) * 2,
                                     np.arange(2 * n, dtype=np.uint32), bands)

    merged = SegmentData.merge(seg(["a", "b"], 0), seg(["c"], 2))
    assert [merged.id_of(i) for i in range(3)] == ["a", "b", "c"]
    assert list(merged.seq_offsets) == [0, 2, 4, 6]
    assert np.array_equal(merged.folded_bands(), fold32(np.arange(3, dtype=np.uint64)[None, :].repeat(3, 0)))
    assert list(merged.exact[:, 0]) == [0, 1, 2]
