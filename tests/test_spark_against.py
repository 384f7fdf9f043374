"""Incremental runs on Spark: --index, --against and --update-index give what the embedded engine gives,
and dedup(A) then dedup(B --against A) keeps what one run over A + B keeps (tests/test_index_incremental.py
checks the same on the embedded engine over random splits)."""
from __future__ import annotations

import json
import os
import random

import pyarrow.parquet as pq
import pytest

import semel
from tests.corpus import write_jsonl
from tests.test_index_incremental import SETTINGS, collection, lsh_complete, rows

pytestmark = pytest.mark.spark


def _collection_meeting_the_condition(start: int) -> list[dict]:
    """A collection where every verifying pair shares a band or exact key (the equality's condition)."""
    for seed in range(start, start + 50):
        docs = collection(seed, n_bases=6, copies=18)
        if lsh_complete([d["text"] for d in docs]):
            return docs
    raise AssertionError("no collection met the condition")


@pytest.mark.parametrize("seed,cuts", [(11, (0.3, 0.7)), (29, (0.1, 0.5))])
def test_split_runs_on_spark_keep_what_one_run_keeps(spark, tmp_path, seed: int,
                                                     cuts: tuple[float, float]) -> None:
    docs = _collection_meeting_the_condition(seed)
    i, j = (int(c * len(docs)) for c in cuts)
    parts = [docs[:i], docs[i:j], docs[j:]]
    paths = []
    for k, part in enumerate([docs, *parts]):
        paths.append(str(tmp_path / f"in{k}.jsonl"))
        write_jsonl(paths[-1], part)
    on_spark = {**SETTINGS, "engine": "spark", "spark": spark}
    whole = semel.dedup(paths[0], str(tmp_path / "whole"), **on_spark).clusters.to_pylist()
    results = {}
    for engine, settings in (("spark", on_spark), ("local", SETTINGS)):
        root = tmp_path / engine
        semel.dedup(paths[1], str(root / "a"), index=True, **settings)
        index = str(root / "a" / "index")
        semel.dedup(paths[2], str(root / "b"), against=index, update_index=True, **settings)
        semel.dedup(paths[3], str(root / "c"), against=index, **settings)
        results[engine] = {name: rows(str(root / name)) for name in "abc"}
        results[engine]["manifest"] = json.load(open(os.path.join(index, "manifest.json")))["documents"]
    # the engines agree on every run of the split, row for row, and on the index they grew
    assert results["spark"] == results["local"]
    split = {k: v for name in "abc" for k, v in results["spark"][name].items()}
    earlier = {d["id"]: n for n, part in enumerate(parts) for d in part}
    assert any(r["reason"] == "seen" for r in split.values())
    for row in whole:
        got = split[row["id"]]
        assert (got["kept"], got["cluster"]) == (row["kept"], row["cluster"]), (row, got)
        if not row["kept"]:
            from_before = earlier[row["cluster"]] < earlier[row["id"]]
            assert got["reason"] == ("seen" if from_before else row["reason"]), (row, got)
            assert got["similarity"] == row["similarity"]
    assert results["spark"]["manifest"] == sum(r["kept"] for r in whole if earlier[r["id"]] < 2)


def test_against_on_spark_removes_seen_documents_from_the_kept_output(spark, tmp_path) -> None:
    rng = random.Random(3)
    docs = _collection_meeting_the_condition(40)
    write_jsonl(str(tmp_path / "a.jsonl"), docs[:12])
    again = [dict(d, id=f"again-{d['id']}") for d in rng.sample(docs[:12], 3)]
    write_jsonl(str(tmp_path / "b.jsonl"), docs[12:] + again)
    on_spark = {**SETTINGS, "engine": "spark", "spark": spark}
    semel.dedup(str(tmp_path / "a.jsonl"), str(tmp_path / "a"), index=True, **on_spark)
    index = str(tmp_path / "a" / "index")
    result = semel.dedup(str(tmp_path / "b.jsonl"), str(tmp_path / "b"), against=index, **on_spark)
    b = rows(str(tmp_path / "b"))
    for d in again:
        assert b[d["id"]]["reason"] == "seen" and not b[d["id"]]["kept"]
    kept_ids = [json.loads(line)["id"] for line in open(tmp_path / "b" / "kept.jsonl")]
    assert kept_ids == [i for i, r in b.items() if r["kept"]]
    assert result.stats.seen == sum(r["reason"] == "seen" for r in b.values()) >= 3
    assert pq.read_table(str(tmp_path / "b" / "clusters.parquet")).num_rows == len(docs) - 12 + 3
