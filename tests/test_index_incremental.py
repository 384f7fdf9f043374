"""Incremental runs: dedup(A) then dedup(B --against A) keeps what dedup(A + B) keeps.

The equality holds (semel.index.against) for keep=first with the same weights on both sides (here
`df_weights=False`: a whole run's weights come from A + B, the index's from A alone) when every pair
that verifies shares an LSH band or exact key; the test checks that condition by brute force and only
compares collections that meet it (with these edit rates nearly all do)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import semel
from semel.config import DedupConfig
from semel.index.build import append_run, run_settings
from semel.lsh import Scratch, estimate_at_least, longest_document, verify
from semel.sketch import sketch_batch
from semel.weights import Weights
from tests.corpus import edit, make_text, write_jsonl

SETTINGS = {"df_weights": False, "progress": False, "workers": 2}


def collection(seed: int, n_bases: int, copies: int) -> list[dict]:
    """Bases and copies of them (exact, lightly to heavily edited, truncated), in a random order."""
    rng = random.Random(seed)
    bases = [make_text(rng, rng.choice(("en", "it")), rng.randint(25, 120)) for _ in range(n_bases)]
    texts = list(bases)
    for _ in range(copies):
        base = rng.choice(texts)  # a copy of a copy too: chains
        kind = rng.random()
        if kind < 0.2:
            texts.append(base)
        elif kind < 0.3:
            words = base.split(" ")
            texts.append(" ".join(words[:max(3, int(len(words) * rng.uniform(0.5, 0.9)))]))
        else:
            texts.append(edit(base, rng.uniform(0.02, 0.35), rng))
    rng.shuffle(texts)
    return [{"id": f"d{i:03d}", "text": t} for i, t in enumerate(texts)]


def lsh_complete(texts: list[str]) -> bool:
    """Does every pair that passes the sketch-bin estimate and verification share a band or exact key?"""
    cfg = DedupConfig(inputs=["x"], output="y", **SETTINGS)
    bands, rows = cfg.band_rows
    sk = sketch_batch(pa.array(texts, pa.large_string()), cfg.ngram, cfg.num_perm, bands, rows)
    scratch = Scratch(longest_document(sk.seq_offsets)).arrays()
    min_agree = cfg.min_agree(sk.mini.shape[1])
    for a in range(len(texts)):
        for b in range(a + 1, len(texts)):
            if np.any(sk.bands[:, a] == sk.bands[:, b]) or np.array_equal(sk.exact[a], sk.exact[b]):
                continue
            if min_agree and not estimate_at_least(sk.mini, a, b, min_agree):
                continue
            if verify(sk.seq_offsets, sk.seq, a, b, cfg.rule(), Weights.none().arrays(), scratch)[0]:
                return False
    return True


def rows(out: str) -> dict[str, dict]:
    return {r["id"]: r for r in pq.read_table(os.path.join(out, "clusters.parquet")).to_pylist()}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), cuts=st.tuples(st.floats(0.05, 0.95), st.floats(0.05, 0.95)))
def test_split_runs_keep_what_one_run_keeps(tmp_path_factory, seed: int, cuts: tuple[float, float]) -> None:
    docs = collection(seed, n_bases=6, copies=18)
    assume(lsh_complete([d["text"] for d in docs]))
    i, j = sorted(int(c * len(docs)) for c in cuts)
    parts = [docs[:i], docs[i:j], docs[j:]]
    note(f"split at {i}, {j} of {len(docs)}")
    root = str(tmp_path_factory.mktemp("incr"))
    paths = []
    for k, part in enumerate([docs, *parts]):
        paths.append(os.path.join(root, f"in{k}.jsonl"))
        write_jsonl(paths[-1], part)
    whole = semel.dedup(paths[0], os.path.join(root, "whole"), **SETTINGS).clusters.to_pylist()
    semel.dedup(paths[1], os.path.join(root, "a"), index=True, **SETTINGS)
    index = os.path.join(root, "a", "index")
    semel.dedup(paths[2], os.path.join(root, "b"), against=index, update_index=True, **SETTINGS)
    semel.dedup(paths[3], os.path.join(root, "c"), against=index, **SETTINGS)
    split = {k: v for name in "abc" for k, v in rows(os.path.join(root, name)).items()}
    earlier = {d["id"]: n for n, part in enumerate(parts) for d in part}
    for row in whole:
        got = split[row["id"]]
        assert got["kept"] == row["kept"], (row, got)
        assert got["cluster"] == row["cluster"], (row, got)
        if not row["kept"]:
            from_before = earlier[row["cluster"]] < earlier[row["id"]]
            assert got["reason"] == ("seen" if from_before else row["reason"]), (row, got)
            assert got["similarity"] == row["similarity"]
    assert json.load(open(os.path.join(index, "manifest.json")))["documents"] == \
        sum(r["kept"] for r in whole if earlier[r["id"]] < 2)


def test_cli_against_and_update_index(tmp_path) -> None:
    docs = collection(7, n_bases=8, copies=12)
    write_jsonl(str(tmp_path / "a.jsonl"), docs[:10])
    write_jsonl(str(tmp_path / "b.jsonl"), docs[10:] + [{"id": "again", "text": docs[0]["text"]}])
    index = str(tmp_path / "a" / "index")

    def semel_cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "semel.cli", *args], capture_output=True, text=True)

    out = semel_cli("dedup", str(tmp_path / "a.jsonl"), "-o", str(tmp_path / "a"), "--index", "-q")
    assert out.returncode == 0, out.stderr
    before = json.load(open(os.path.join(index, "manifest.json")))["documents"]
    out = semel_cli("dedup", str(tmp_path / "b.jsonl"), "-o", str(tmp_path / "b"), "--against", index,
                    "--update-index", "--keep-work", "-q")
    assert out.returncode == 0, out.stderr
    b = rows(str(tmp_path / "b"))
    assert b["again"]["reason"] == "seen" and b["again"]["cluster"] == "d000" and not b["again"]["kept"]
    after = json.load(open(os.path.join(index, "manifest.json")))
    assert after["documents"] == before + sum(r["kept"] for r in b.values()) > before
    assert len(after["segments"]) == 2
    # the same run appending again (a --resume after its append): nothing added twice
    cfg = run_settings(str(tmp_path / "b"))
    append_run(index, str(tmp_path / "b" / "_work"), str(tmp_path / "b" / "clusters.parquet"), cfg)
    assert json.load(open(os.path.join(index, "manifest.json")))["documents"] == after["documents"]
    out = semel_cli("dedup", str(tmp_path / "b.jsonl"), "-o", str(tmp_path / "c"), "--against", index,
                    "--threshold", "0.5")
    assert out.returncode == 1 and out.stderr.startswith("semel: error: --against") and \
        out.stderr.count("\n") == 1
