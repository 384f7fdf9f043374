"""semel.jit: interpreted kernels give what compiled ones give, and small work compiles nothing."""
from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import semel
from semel import jit
from semel.errors import SemelError
from semel.index.query import pread_hits
from semel.io.formats import work_size_bytes
from semel.lsh import verdict_pairs
from semel.text.tokens import mix64
from tests.corpus import make_corpus, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def _boilerplate_corpus(seed: int) -> list[dict]:
    """Copies (tests.corpus) plus an outlet footer line and a passage shared by some documents."""
    docs, _ = make_corpus(n_bases=12, seed=seed)
    rng = random.Random(seed)
    passage = " ".join(f"shared{rng.randint(0, 9)}" for _ in range(60))
    for i, d in enumerate(docs):
        d["text"] += "\nRead more news every day on the Example Outlet website, all rights reserved."
        if i % 3 == 0:
            d["text"] += "\n\n" + passage
    return docs


def _stats(path: Path) -> dict:
    stats = json.loads(path.read_text(encoding="utf-8"))
    stats.get("stats", {}).pop("stages", None)
    stats.get("settings", {}).pop("output", None)
    for key in ("seconds", "peak_rss_mb", "output", "elapsed_s", "stages", "mb_per_s", "docs_per_s"):
        stats.pop(key, None)
    return stats


@pytest.mark.parametrize("seed,settings", [(0, {}), (1, {"shingle": "char", "ngram": 5, "threshold": 0.5}),
                                           (2, {"keep": "longest", "exact_level": "none"})])
def test_dedup_interpreted_equals_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int,
                                           settings: dict) -> None:
    path = tmp_path / "in.jsonl"
    write_jsonl(str(path), _boilerplate_corpus(seed))
    outs = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("SEMEL_JIT", mode)
        outs[mode] = tmp_path / mode
        semel.dedup(str(path), str(outs[mode]), **settings)
    a, b = (pq.read_table(outs[m] / "clusters.parquet") for m in ("never", "always"))
    assert a.equals(b)
    assert (outs["never"] / "kept.jsonl").read_bytes() == (outs["always"] / "kept.jsonl").read_bytes()
    assert _stats(outs["never"] / "stats.json") == _stats(outs["always"] / "stats.json")
    ids, kept_as = a.column("id").to_pylist(), a.column("cluster").to_pylist()
    removed = [i for i, c in zip(ids, kept_as, strict=True) if i != c]
    assert a.num_rows == len(_boilerplate_corpus(seed)) and removed  # the comparison means something


@pytest.mark.parametrize("job", ["lines", "substrings", "repair"])
def test_span_jobs_interpreted_equal_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              job: str) -> None:
    path = tmp_path / "in.jsonl"
    docs = _boilerplate_corpus(5)
    docs[0]["text"] += "\n\nThe same paragraph was written twice in a row here.\n\n" \
                       "The same paragraph was written twice in a row here."
    write_jsonl(str(path), docs)
    run = getattr(semel, job)
    extra = {"min_docs": 3} if job == "lines" else {}
    outputs = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("SEMEL_JIT", mode)
        out = tmp_path / f"{mode}.jsonl"
        run(str(path), str(out), **extra)
        outputs[mode] = out.read_bytes()
    assert outputs["never"] == outputs["always"]
    assert outputs["never"] != path.read_bytes()  # the job removed something: the comparison means something


def test_kernels_agree_on_wrapping_arithmetic() -> None:
    """Hashes multiply and add past 2**64 on purpose: numpy scalars must wrap as the compiled code does."""
    rng = np.random.default_rng(0)
    for x in rng.integers(0, 2**63, 50, dtype=np.uint64) * np.uint64(3):
        with jit.interpreted():
            slow = mix64(np.uint64(x))
        assert slow == mix64(np.uint64(x))


def test_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMEL_JIT", "auto")
    monkeypatch.setattr(jit, "cached", lambda k: False)
    assert jit.should_interpret(6_000, verdict_pairs)
    assert jit.should_interpret(jit.SMALL_WORK_BYTES["cold"], verdict_pairs)
    assert not jit.should_interpret(jit.SMALL_WORK_BYTES["cold"] + 1, verdict_pairs)
    assert not jit.should_interpret(None, verdict_pairs)  # stdin: size unknown
    monkeypatch.setattr(jit, "cached", lambda k: True)  # compiled already: only tiny work is interpreted
    assert jit.should_interpret(6_000, verdict_pairs)
    assert not jit.should_interpret(jit.SMALL_WORK_BYTES["warm"] + 1, verdict_pairs)
    monkeypatch.setenv("SEMEL_JIT", "never")
    assert jit.should_interpret(None)
    monkeypatch.setenv("SEMEL_JIT", "always")
    assert not jit.should_interpret(10)
    monkeypatch.setenv("SEMEL_JIT", "sometimes")
    with pytest.raises(SemelError, match="SEMEL_JIT"):
        jit.should_interpret(10)


def test_work_size(tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    plain.write_bytes(b"x" * 1000)
    packed = tmp_path / "b.jsonl.gz"
    packed.write_bytes(b"x" * 100)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.txt").write_bytes(b"y" * 50)
    (folder / "skip.bin").write_bytes(b"z" * 5000)
    assert work_size_bytes(str(plain)) == 1000
    assert work_size_bytes([str(plain), str(packed), str(folder)]) == 1000 + 100 * 8 + 50
    assert work_size_bytes([str(plain), "-"]) is None
    assert work_size_bytes("s3://bucket/x.jsonl") is None


def test_kernels_pickle_by_name() -> None:
    assert pickle.loads(pickle.dumps(verdict_pairs)) is verdict_pairs


def test_compiled_only_kernel_stays_compiled(tmp_path: Path) -> None:
    """pread_hits calls the C library's pread, which only compiled code can: it never runs interpreted."""
    table = np.arange(40, dtype=np.uint32).reshape(4, 10)
    path = tmp_path / "bands.bin"
    path.write_bytes(b"HEAD" + table.tobytes())
    hits = np.array([[1, 2, 5], [3, 0, 2]], np.int64)
    out = np.zeros(8, np.uint32)
    fd = os.open(path, os.O_RDONLY)
    try:
        with jit.interpreted():
            n = pread_hits(fd, 4, 10, hits, out)
    finally:
        os.close(fd)
    assert n == 5 and out[:5].tolist() == [12, 13, 14, 30, 31]


def test_bad_semel_jit_is_a_one_line_error(tmp_path: Path) -> None:
    env = dict(os.environ, SEMEL_JIT="sometimes")
    for job in (["dedup", "examples/news.jsonl", "-o", str(tmp_path / "d")],
                ["lines", "examples/news.jsonl", "-o", str(tmp_path / "l.jsonl")]):
        proc = subprocess.run([sys.executable, "-m", "semel", *job], cwd=ROOT, env=env, capture_output=True,
                              text=True)
        assert proc.returncode == 1
        assert proc.stderr.splitlines() == ["semel: error: SEMEL_JIT='sometimes': use auto, always or never"]


def test_first_run_compiles_nothing_for_small_work(tmp_path: Path) -> None:
    """A fresh install (empty kernel cache) deduplicating the bundled example compiles no kernel, and finds
    what a compiled run finds."""
    cache = tmp_path / "numba-cache"
    env = {k: v for k, v in os.environ.items() if k != "SEMEL_JIT"}
    semel_cmd = [sys.executable, "-m", "semel", "dedup", "examples/news.jsonl", "-q"]
    fresh = dict(env, NUMBA_CACHE_DIR=str(cache))
    subprocess.run([*semel_cmd, "-o", str(tmp_path / "auto")], cwd=ROOT, env=fresh, check=True)
    assert not (cache.exists() and any(cache.rglob("*.nb*")))
    compiled = dict(env, SEMEL_JIT="always")
    subprocess.run([*semel_cmd, "-o", str(tmp_path / "compiled")], cwd=ROOT, env=compiled, check=True)
    a, b = (pq.read_table(tmp_path / d / "clusters.parquet") for d in ("auto", "compiled"))
    assert a.equals(b) and a.num_rows == 12


@jit.kernel(inline=True)
def _double(x: int) -> int:
    return 2 * x


@jit.kernel
def _call_double(x: int) -> int:
    return _double(x) + 1


def test_inline_kernels_are_inlined() -> None:
    """numba inlines an inline kernel into its compiled callers (it reads `targetoptions` off the global:
    a `Kernel` that hid it made every such helper a call, and verification 12% slower)."""
    assert _call_double(20) == 41
    assert _double.dispatcher.signatures == []  # inlined: never compiled on its own
    with jit.interpreted():
        assert _call_double(20) == 41


def test_index_and_against_interpreted_equal_compiled(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A small incremental run (--index, then --against it) looks documents up in the saved index with the
    index kernels: interpreted they find what compiled ones find (every document of the second run)."""
    path = tmp_path / "in.jsonl"
    write_jsonl(str(path), _boilerplate_corpus(3))
    tables = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("SEMEL_JIT", mode)
        semel.dedup(str(path), str(tmp_path / f"{mode}-1"), index=True)
        semel.dedup(str(path), str(tmp_path / f"{mode}-2"), against=str(tmp_path / f"{mode}-1" / "index"))
        tables[mode] = pq.read_table(tmp_path / f"{mode}-2" / "clusters.parquet")
    assert tables["never"].equals(tables["always"])
    assert set(tables["never"].column("reason").to_pylist()) == {"seen"}
