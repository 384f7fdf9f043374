#!/usr/bin/env python3
"""Run ONE peer tool's MinHash-LSH near-duplicate detection on a JSONL corpus and write its clusters.

Runs in the peer venv made by ``bench/setup_peers.sh`` (not in semel's venv)::

    /work/peers/venv/bin/python bench/peers_near.py --tool rensa --corpus corpus.jsonl --out clusters.parquet
    /work/peers/venv312/bin/python bench/peers_near.py --tool textdedup ...  # needs Python 3.12

Options: ``--threshold 0.7 --ngram 5 --perms 128 --workers 2 [--workdir DIR]``.

Output: Parquet with ``id`` and ``cluster`` (one row per document; documents that share a cluster label are
predicted duplicates: connected components of the LSH candidate pairs), and one JSON line on stdout with
``wall_s`` (end to end, reading the corpus included) and a per-phase ``breakdown``.

How each tool is used (the way its docs / examples do it, at matched settings):

* rensa: ``multiprocessing.Pool(workers)`` tokenises and builds ``RMinHash`` objects in batches
  (``RMinHash.from_token_sets``); the parent inserts them into ``RMinHashLSH`` and queries every document.
  rensa needs ``num_perm % num_bands == 0``: 16 bands x 8 rows (LSH threshold (1/16)^(1/8) = 0.707).
* datasketch: ``Pool(workers)`` builds ``MinHash`` -> ``LeanMinHash``; the parent builds
  ``MinHashLSH(threshold, num_perm)`` (its optimal banding for 0.7/128 is 14 bands x 9 rows) and queries.
* datatrove: the 4-stage MinhashDedupSignature / Buckets / Cluster(save_cluster_id) / Filter(load_cluster_ids)
  pipeline with ``LocalPipelineExecutor`` (workers processes), the corpus split into ``workers`` JSONL shards
  (datatrove parallelises over files), Italian word tokenizer, its default text normalisation, 14 buckets x 9
  hashes (the same banding datasketch picks for 0.7/128).
* textdedup: text-dedup 0.4.1's ``text_dedup.minhash.main(config)`` (its minhash entry point), TOML config:
  local JSON input, ``num_perm`` 128, ``threshold`` 0.7, ``ngram_size`` 5, ``num_proc`` workers,
  ``save_clusters``; bands/rows from its own optimiser (= datasketch's, 14 x 9).

Tokenisation for rensa and datasketch (which have none of their own): lowercase, split on non-word characters
(``\\W+``), word 5-grams joined by a space -- what text-dedup does by default. datatrove uses its own
normalisation + tokenizer. No tool verifies candidates with an exact Jaccard (none does by default).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

NON_WORD = re.compile(r"\W+", re.UNICODE)
_NGRAM = 5


def read_corpus(path: str) -> tuple[list[str], list[str]]:
    """Read a JSONL corpus of ``{"id", "text"}`` objects into parallel id/text lists."""
    ids: list[str] = []
    texts: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                ids.append(str(d["id"]))
                texts.append(d["text"])
    return ids, texts


def shingles(text: str, n: int = _NGRAM) -> list[str]:
    """Lower-cased word n-grams over ``\\W+``-split tokens (one shingle of all tokens if shorter than n)."""
    toks = [t for t in NON_WORD.split(text.lower()) if t]
    if len(toks) < n:
        return [" ".join(toks)] if toks else [""]
    return list({" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)})


class UnionFind:
    """Plain union-find with path halving over ``0..n-1``."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        p = self.parent
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def components(n: int, candidate_lists: Iterable[tuple[int, Iterable[int]]]) -> list[int]:
    """Connected components of candidate pairs; returns each document's root index."""
    uf = UnionFind(n)
    for i, cands in candidate_lists:
        for j in cands:
            if j != i:
                uf.union(i, int(j))
    return [uf.find(i) for i in range(n)]


def chunks(seq: Sequence[str], size: int) -> list[Sequence[str]]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


# ---------------------------------------------------------------- rensa
_PERMS = 128
_NG = _NGRAM


def _init_worker(perms: int, ngram: int) -> None:
    global _PERMS, _NG
    _PERMS, _NG = perms, ngram


def _rensa_batch(texts: Sequence[str]) -> list[Any]:
    from rensa import RMinHash

    return list(RMinHash.from_token_sets([shingles(t, _NG) for t in texts], _PERMS, 42))


def run_rensa(texts: list[str], a: argparse.Namespace, bd: dict[str, float]) -> list[int]:
    from rensa import RMinHashLSH

    t = time.perf_counter()
    with Pool(a.workers, initializer=_init_worker, initargs=(a.perms, a.ngram)) as pool:
        mhs = [m for batch in pool.imap(_rensa_batch, chunks(texts, 1000)) for m in batch]
    bd["signatures_s"] = time.perf_counter() - t
    t = time.perf_counter()
    bands = 16 if a.perms % 16 == 0 else 8
    lsh = RMinHashLSH(a.threshold, a.perms, bands)
    lsh.insert_many(mhs)
    cands = lsh.query_all(mhs)
    roots = components(len(texts), enumerate(cands))
    bd["lsh_cluster_s"] = time.perf_counter() - t
    return roots


# ---------------------------------------------------------------- datasketch
def _datasketch_batch(texts: Sequence[str]) -> list[Any]:
    from datasketch import LeanMinHash, MinHash

    out = []
    for text in texts:
        m = MinHash(num_perm=_PERMS, seed=1)
        m.update_batch([s.encode("utf-8") for s in shingles(text, _NG)])
        out.append(LeanMinHash(m))
    return out


def run_datasketch(texts: list[str], a: argparse.Namespace, bd: dict[str, float]) -> list[int]:
    from datasketch import MinHashLSH

    t = time.perf_counter()
    with Pool(a.workers, initializer=_init_worker, initargs=(a.perms, a.ngram)) as pool:
        mhs = [m for batch in pool.imap(_datasketch_batch, chunks(texts, 500)) for m in batch]
    bd["signatures_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lsh = MinHashLSH(threshold=a.threshold, num_perm=a.perms)
    with lsh.insertion_session() as session:
        for i, m in enumerate(mhs):
            session.insert(i, m, check_duplication=False)
    roots = components(len(texts), ((i, lsh.query(m)) for i, m in enumerate(mhs)))
    bd["lsh_cluster_s"] = time.perf_counter() - t
    bd["bands"], bd["rows"] = lsh.b, lsh.r
    return roots


# ---------------------------------------------------------------- datatrove
def run_datatrove(
    ids: list[str], texts: list[str], a: argparse.Namespace, bd: dict[str, float], work: Path
) -> list[int]:
    from datasketch.lsh import _optimal_param  # same banding as datasketch for a matched comparison
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter
    from datatrove.utils.typeshelper import Languages

    t = time.perf_counter()
    shards = work / "input"
    shards.mkdir(parents=True)
    n = max(1, a.workers)
    files = [open(shards / f"{k:05d}.jsonl", "w", encoding="utf-8") for k in range(n)]
    per = (len(ids) + n - 1) // n
    for i, (doc_id, text) in enumerate(zip(ids, texts, strict=True)):
        files[i // per].write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    for f in files:
        f.close()
    bd["shard_s"] = time.perf_counter() - t

    b, r = _optimal_param(a.threshold, a.perms, 0.5, 0.5)
    cfg = MinhashConfig(n_grams=a.ngram, num_buckets=b, hashes_per_bucket=r)
    bd["bands"], bd["rows"] = b, r
    mh, logs = work / "minhash", work / "logs"

    def reader() -> JsonlReader:
        return JsonlReader(str(shards), id_key="id", text_key="text")

    stages: list[tuple[str, list[Any], int]] = [
        (
            "signature",
            [reader(), MinhashDedupSignature(str(mh / "sigs"), config=cfg, language=Languages.italian)],
            n,
        ),
        ("buckets", [MinhashDedupBuckets(str(mh / "sigs"), str(mh / "buckets"), config=cfg)], b),
        (
            "cluster",
            [MinhashDedupCluster(str(mh / "buckets"), str(mh / "remove"), config=cfg, save_cluster_id=True)],
            1,
        ),
        (
            "filter",
            [
                reader(),
                MinhashDedupFilter(
                    str(mh / "remove"),
                    exclusion_writer=JsonlWriter(str(work / "removed"), compression=None),
                    load_cluster_ids=True,
                ),
                JsonlWriter(str(work / "kept"), compression=None),
            ],
            n,
        ),
    ]
    for name, pipeline, tasks in stages:
        t = time.perf_counter()
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=min(a.workers, tasks), logging_dir=str(logs / name)
        ).run()
        bd[f"{name}_s"] = time.perf_counter() - t

    t = time.perf_counter()
    label: dict[str, int] = {}
    for sub in ("kept", "removed"):
        for p in sorted((work / sub).glob("*.jsonl")):
            with open(p, encoding="utf-8") as f:
                for line in f:
                    d = json.loads(line)
                    label[d["id"]] = int(d.get("metadata", {}).get("minhash_cluster_id", -1))
    first: dict[int, int] = {}
    roots = []
    for i, doc_id in enumerate(ids):
        c = label.get(doc_id, -1)
        roots.append(i if c < 0 else first.setdefault(c, i))
    bd["collect_s"] = time.perf_counter() - t
    return roots


# ---------------------------------------------------------------- text-dedup
def run_textdedup(
    ids: list[str], texts: list[str], a: argparse.Namespace, bd: dict[str, float], work: Path
) -> list[int]:
    import pickle

    from text_dedup.config.base import load_config_from_toml
    from text_dedup.minhash import main as minhash_main

    t = time.perf_counter()
    data = work / "input.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for doc_id, text in zip(ids, texts, strict=True):
            f.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    out = work / "out"
    toml = work / "config.toml"
    toml.write_text(
        "[input]\n"
        'input_type = "local_files"\nfile_type = "json"\n'
        f'read_arguments = {{ path = "json", data_files = "{data}", split = "train", '
        f'cache_dir = "{work / "hf_cache"}" }}\n'
        "[algorithm]\n"
        'algorithm_name = "minhash"\ntext_column = "text"\n'
        f"num_perm = {a.perms}\nthreshold = {a.threshold}\nngram_size = {a.ngram}\nnum_proc = {a.workers}\n"
        "seed = 42\n"
        "[output]\n"
        f'output_dir = "{out}"\nsave_clusters = true\nclean_cache = true\n'
        "[debug]\nenable_profiling = false\n",
        encoding="utf-8",
    )
    config = load_config_from_toml(toml)
    bd["setup_s"] = time.perf_counter() - t
    t = time.perf_counter()
    minhash_main(config)
    bd["textdedup_main_s"] = time.perf_counter() - t
    bd["bands"], bd["rows"] = config.algorithm.bands, config.algorithm.rows  # type: ignore[union-attr]
    with open(out / "clusters.pickle", "rb") as f:
        parents: dict[int, int] = pickle.load(f)  # internal row index -> cluster (a row index)
    first: dict[int, int] = {}
    return [first.setdefault(int(parents[i]), i) if i in parents else i for i in range(len(ids))]


# ---------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tool", required=True, choices=["rensa", "datasketch", "datatrove", "textdedup"])
    ap.add_argument("--corpus", required=True, help="JSONL with id, text")
    ap.add_argument("--out", required=True, help="clusters Parquet to write (id, cluster)")
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--perms", type=int, default=128)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--workdir", default=None, help="scratch dir for tools that spill to disk (default: temp)"
    )
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    bd: dict[str, float] = {}
    ids, texts = read_corpus(a.corpus)
    bd["read_s"] = time.perf_counter() - t0
    work = Path(tempfile.mkdtemp(prefix=f"peer-{a.tool}-", dir=a.workdir))
    try:
        runners: dict[str, Callable[[], list[int]]] = {
            "rensa": lambda: run_rensa(texts, a, bd),
            "datasketch": lambda: run_datasketch(texts, a, bd),
            "datatrove": lambda: run_datatrove(ids, texts, a, bd, work),
            "textdedup": lambda: run_textdedup(ids, texts, a, bd, work),
        }
        roots = runners[a.tool]()
        t = time.perf_counter()
        table = pa.table({"id": ids, "cluster": [ids[r] for r in roots]})
        pq.write_table(table, a.out)
        bd["write_s"] = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - t0
    dup_docs = sum(1 for i, r in enumerate(roots) if r != i)
    print(
        json.dumps(
            {
                "tool": a.tool,
                "docs": len(ids),
                "removed": dup_docs,
                "wall_s": round(wall, 3),
                "breakdown": {k: round(v, 3) if isinstance(v, float) else v for k, v in bd.items()},
                "python": sys.version.split()[0],
                "pid": os.getpid(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
