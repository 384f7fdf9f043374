"""The Spark engine against the embedded one: same clusters, same kept documents, any partitioning."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import semel
from semel.cli import main
from tests.corpus import make_corpus, write_jsonl

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    docs, _ = make_corpus(n_bases=300, seed=5)
    path = str(tmp_path_factory.mktemp("spark") / "corpus.jsonl")
    write_jsonl(path, docs)
    return path


@pytest.fixture(scope="module")
def local_out(corpus: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = str(tmp_path_factory.mktemp("local"))
    semel.dedup(corpus, out, progress=False)
    return out


def table(out: str) -> pa.Table:
    return pq.read_table(os.path.join(out, "clusters.parquet"))


def same_clusters(a: str, b: str) -> None:
    ta, tb = table(a), table(b)
    assert ta.column_names == tb.column_names == ["id", "cluster", "kept", "reason", "similarity",
                                                  "cluster_size"]
    assert ta.to_pydict() == tb.to_pydict()


@pytest.mark.parametrize("partitions", ["1", "5"])
def test_same_clusters_and_kept_documents_as_local(spark, corpus, local_out, tmp_path, partitions) -> None:
    out = str(tmp_path / "spark")
    result = semel.dedup(corpus, out, engine="spark", spark=spark,
                         conf={"spark.sql.shuffle.partitions": partitions}, progress=False)
    same_clusters(local_out, out)
    assert result.clusters.num_rows == table(local_out).num_rows
    with open(os.path.join(local_out, "kept.jsonl"), "rb") as f:
        with open(os.path.join(out, "kept.jsonl"), "rb") as g:
            assert f.read() == g.read()
    stats = json.load(open(os.path.join(out, "stats.json")))
    local_stats = json.load(open(os.path.join(local_out, "stats.json")))
    assert stats["engine"] == "spark" and set(stats) == set(local_stats)
    for key in ("documents", "exact_duplicates", "near_duplicates", "clusters", "kept", "candidates"):
        assert stats["stats"][key] == local_stats["stats"][key], key
    assert not os.path.exists(os.path.join(out, "_work"))


@pytest.mark.parametrize("keep", ["field:quality"])
def test_keep_policy_and_gzip(spark, tmp_path, keep) -> None:
    docs, _ = make_corpus(n_bases=90, seed=11)
    path = str(tmp_path / "c.jsonl.gz")
    import gzip

    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    semel.dedup(path, str(tmp_path / "local"), keep=keep, progress=False)
    semel.dedup(path, str(tmp_path / "spark"), keep=keep, engine="spark", spark=spark, progress=False)
    same_clusters(str(tmp_path / "local"), str(tmp_path / "spark"))
    with gzip.open(tmp_path / "local" / "kept.jsonl.gz") as f:
        with gzip.open(tmp_path / "spark" / "kept.jsonl.gz") as g:
            assert f.read() == g.read()


def test_parquet_input_and_skipped_records(spark, tmp_path) -> None:
    docs, _ = make_corpus(n_bases=60, seed=2)
    docs[7]["text"] = None  # a bad record: skipped and listed, like the embedded engine
    path = str(tmp_path / "c.parquet")
    pq.write_table(pa.Table.from_pylist(docs), path)
    semel.dedup(path, str(tmp_path / "local"), on_error="skip", progress=False)
    semel.dedup(path, str(tmp_path / "spark"), on_error="skip", engine="spark", spark=spark, progress=False)
    same_clusters(str(tmp_path / "local"), str(tmp_path / "spark"))
    kept_local = pq.read_table(tmp_path / "local" / "kept.parquet")
    kept_spark = pq.read_table(tmp_path / "spark" / "kept.parquet")
    assert kept_local.column("id").to_pylist() == kept_spark.column("id").to_pylist()
    assert kept_local.column("text").to_pylist() == kept_spark.column("text").to_pylist()
    local_errors = (tmp_path / "local" / "errors.jsonl").read_text()
    assert local_errors == (tmp_path / "spark" / "errors.jsonl").read_text()


def test_resume_after_a_stop_between_stages(spark, corpus, local_out, tmp_path, monkeypatch) -> None:
    out = str(tmp_path / "spark")
    monkeypatch.setenv("SEMEL_KILL_AT", "cluster")
    with pytest.raises(KeyboardInterrupt):
        semel.dedup(corpus, out, engine="spark", spark=spark, progress=False)
    assert os.path.exists(os.path.join(out, "_work", "cluster._DONE.json"))
    monkeypatch.delenv("SEMEL_KILL_AT")
    result = semel.dedup(corpus, out, engine="spark", spark=spark, resume=True, progress=False)
    resumed = {s.name: s.resumed for s in result.stats.stages}
    assert resumed["sketch"] and resumed["cluster"] and not resumed["keep"]
    same_clusters(local_out, out)


def test_bad_input_is_one_line_naming_file_and_line(spark, tmp_path, capsys) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "fine text here"}\n{"id": "b", "text": \n')
    code = main(["dedup", str(path), "-o", str(tmp_path / "out"), "--engine", "spark", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1
    assert err.startswith(f"semel: error: {path}:2: malformed JSON")
    assert not os.path.exists(tmp_path / "out" / "clusters.parquet")


def test_missing_java_is_a_clear_one_line_error(tmp_path) -> None:
    env = dict(os.environ, PATH="/nonexistent", JAVA_HOME="/nonexistent")
    env.pop("SEMEL_SPARK_MASTER", None)
    proc = subprocess.run([sys.executable, "-m", "semel.cli", "dedup", os.devnull + ".jsonl", "-o",
                           str(tmp_path / "o"), "--engine", "spark"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "needs Java 17 or newer" in proc.stderr


def test_bucket_pairs_match_join_band_rule() -> None:
    import numpy as np

    from semel.engines.spark import bucket_pairs

    offsets = np.array([0, 3, 8], dtype=np.int64)
    members = np.array([1, 4, 9, 0, 2, 3, 5, 7], dtype=np.int64)
    left, right = bucket_pairs(offsets, members, 3, 2)
    pairs = set(zip(left.tolist(), right.tolist(), strict=True))
    assert pairs == {(1, 4), (1, 9), (4, 9), (0, 2), (0, 3), (2, 3), (2, 5), (3, 5), (3, 7), (5, 7)}
