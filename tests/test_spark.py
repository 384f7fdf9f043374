"""The Spark engine against the embedded one: same clusters, same kept documents, any partitioning."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import semel
from semel.cli import main
from tests.corpus import make_corpus

pytestmark = pytest.mark.spark


def table(out: str) -> pa.Table:
    return pq.read_table(os.path.join(out, "clusters.parquet"))


def same_clusters(a: str, b: str) -> None:
    ta, tb = table(a), table(b)
    assert ta.column_names == tb.column_names == ["id", "cluster", "kept", "reason", "similarity",
                                                  "cluster_size"]
    assert ta.to_pydict() == tb.to_pydict()


def stats_of(out: str) -> dict:
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)


# Each engine runs once per corpus (module-scoped), and the tests below check those runs: a Spark run on
# a few hundred documents costs seconds, mostly fixed overhead, so sharing runs keeps this file fast.

@pytest.fixture(scope="module")
def gz_runs(spark, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """JSONL.gz, default keep policy, 3 shuffle partitions; the Spark run stops after `cluster` and is
    resumed (so it proves resume and parity at once)."""
    root = tmp_path_factory.mktemp("gz")
    docs, _ = make_corpus(n_bases=900, seed=5)  # ~2,100 documents, 300 planted clusters
    corpus = str(root / "corpus.jsonl.gz")
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    local, out = str(root / "local"), str(root / "spark")
    semel.dedup(corpus, local, progress=False)
    conf = {"spark.sql.shuffle.partitions": "3"}
    mp = pytest.MonkeyPatch()
    mp.setenv("SEMEL_KILL_AT", "cluster")
    mp.setenv("SEMEL_KILL_HOW", "interrupt")  # in-process: the shared session must survive
    try:
        with pytest.raises(KeyboardInterrupt):
            semel.dedup(corpus, out, engine="spark", spark=spark, conf=conf, progress=False)
    finally:
        mp.undo()  # never leak SEMEL_KILL_AT into other tests
    stopped = os.path.exists(os.path.join(out, "_work", "cluster", "_DONE.json"))
    result = semel.dedup(corpus, out, engine="spark", spark=spark, conf=conf, resume=True, progress=False)
    return {"local": local, "spark": out, "result": result, "stopped": stopped}


@pytest.fixture(scope="module")
def parquet_runs(spark, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Parquet in several row groups (pieces), with a bad record (skipped), keep=field:quality, one shuffle
    partition."""
    root = tmp_path_factory.mktemp("pq")
    docs, _ = make_corpus(n_bases=60, seed=2)
    docs[7]["text"] = None  # a bad record: skipped and listed, like the embedded engine
    corpus = str(root / "c.parquet")
    pq.write_table(pa.Table.from_pylist(docs), corpus, row_group_size=len(docs) // 3)
    settings = {"keep": "field:quality", "on_error": "skip", "progress": False}
    semel.dedup(corpus, str(root / "local"), **settings)
    semel.dedup(corpus, str(root / "spark"), engine="spark", spark=spark,
                conf={"spark.sql.shuffle.partitions": "1"}, **settings)
    return {"local": str(root / "local"), "spark": str(root / "spark")}


def test_same_clusters_and_kept_lines_as_local_with_several_partitions(gz_runs) -> None:
    local, out = gz_runs["local"], gz_runs["spark"]
    same_clusters(local, out)
    assert gz_runs["result"].clusters.num_rows == table(local).num_rows
    with gzip.open(os.path.join(local, "kept.jsonl.gz")) as f:
        with gzip.open(os.path.join(out, "kept.jsonl.gz")) as g:
            assert f.read() == g.read()
    stats, local_stats = stats_of(out), stats_of(local)
    assert stats["engine"] == "spark" and set(stats) == set(local_stats)
    for key in ("documents", "exact_duplicates", "near_duplicates", "clusters", "kept", "candidates"):
        assert stats["stats"][key] == local_stats["stats"][key], key
    assert local_stats["stats"]["near_duplicates"] > 0 and local_stats["stats"]["exact_duplicates"] > 0
    assert not os.path.exists(os.path.join(out, "_work"))


def test_resume_after_a_stop_between_stages(gz_runs) -> None:
    assert gz_runs["stopped"]
    resumed = {s.name: s.resumed for s in gz_runs["result"].stats.stages}
    assert resumed["sketch"] and resumed["cluster"] and not resumed["keep"] and not resumed["write"]


def test_parquet_keep_policy_and_skipped_records_with_one_partition(parquet_runs) -> None:
    local, out = parquet_runs["local"], parquet_runs["spark"]
    same_clusters(local, out)
    kept_local = pq.read_table(os.path.join(local, "kept.parquet"))
    kept_spark = pq.read_table(os.path.join(out, "kept.parquet"))
    assert pq.ParquetFile(os.path.join(local, "..", "c.parquet")).metadata.num_row_groups >= 3
    assert kept_local.column_names == kept_spark.column_names
    assert kept_local.to_pylist() == kept_spark.to_pylist()  # every column, every row, in order
    with open(os.path.join(local, "errors.jsonl")) as f, open(os.path.join(out, "errors.jsonl")) as g:
        assert f.read() == g.read()
    assert stats_of(out)["stats"]["skipped_records"] == 1


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

    from semel.engines.spark.arrays import bucket_pairs

    offsets = np.array([0, 3, 8], dtype=np.int64)
    members = np.array([1, 4, 9, 0, 2, 3, 5, 7], dtype=np.int64)
    left, right = bucket_pairs(offsets, members, 3, 2)
    pairs = set(zip(left.tolist(), right.tolist(), strict=True))
    assert pairs == {(1, 4), (1, 9), (4, 9), (0, 2), (0, 3), (2, 3), (2, 5), (3, 5), (3, 7), (5, 7)}


def test_batch_verification_matches_join_band_on_each_pair() -> None:
    """verify_pairs (estimate filter + lsh.verify_pairs on a whole batch) decides each pair as join_band
    does on a two-document bucket."""
    import numpy as np

    from semel.cluster import roots
    from semel.config import DedupConfig
    from semel.engines.spark.arrays import mini_col, packed, verify_pairs
    from semel.lsh import Scratch, join_band, longest_document, min_agreement
    from semel.sketch import sketch_batch
    from semel.weights import Weights

    none = Weights.none()
    docs, _ = make_corpus(n_bases=12, seed=3)
    cfg = DedupConfig(inputs=["-"], output="-")
    bands, rows = cfg.band_rows
    sk = sketch_batch(pa.array([d["text"] for d in docs]), cfg.ngram, cfg.num_perm, bands, rows)
    n = len(docs)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    left = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs])
    seq = packed(sk.seq_offsets, sk.seq)
    mini = mini_col(sk.mini)
    codes, _ = verify_pairs(cfg, seq.take(pa.array(left)), seq.take(pa.array(right)),
                            mini.take(pa.array(left)), mini.take(pa.array(right)))
    got = codes == 0  # semel.lsh.COPY
    min_agree = min_agreement(cfg.threshold, sk.mini.shape[1])
    expected = []
    for a, b in pairs:
        parent = np.arange(n, dtype=np.int64)
        join_band(np.zeros(2, np.uint64), np.array([a, b], np.int64), parent, sk.seq_offsets, sk.seq,
                  sk.mini, min_agree, cfg.rule(), none.arrays(), cfg.max_bucket, cfg.bucket_window,
                  Scratch(longest_document(sk.seq_offsets)).arrays(), np.zeros(8, np.int64))
        expected.append(bool(roots(parent)[b] == a))
    assert got.tolist() == expected and any(expected) and not all(expected)


def test_repair_on_spark_writes_what_the_local_repair_writes(spark, tmp_path) -> None:
    from semel.jobs.repair import repair_file

    docs, _ = make_corpus(n_bases=20, seed=9, langs=("en", "it"))
    seed = (Path(__file__).parent / "data" / "seed_windows_it.txt").read_text(encoding="utf-8").split("\n\n")
    for i, d in enumerate(docs):
        if i % 3 == 0:  # some of the seed's windows (paragraphs said again in the next block) to remove
            d["text"] = f"{d['text']}\n\n" + "\n\n".join(seed[i % 5:i % 5 + 4])
    docs.append({"id": "bad", "text": None})
    paths = []
    for k in range(2):  # two files: two tasks, joined in input order
        path = tmp_path / f"in{k}.jsonl"
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs[k::2]))
        paths.append(str(path))
    local = repair_file(paths, str(tmp_path / "local.jsonl"), on_error="skip", progress=False)
    code = main(["repair", *paths, "-o", str(tmp_path / "spark.jsonl"), "--engine", "spark", "--on-error",
                 "skip", "--no-progress"])
    assert code == 0
    assert (tmp_path / "local.jsonl").read_bytes() == (tmp_path / "spark.jsonl").read_bytes()
    assert local.repaired > 0 and local.skipped == 1
    assert ((tmp_path / "local.jsonl.errors.jsonl").read_text()
            == (tmp_path / "spark.jsonl.errors.jsonl").read_text())


def test_a_jsonl_file_read_as_many_pieces_gives_what_one_reader_gives(spark, tmp_path) -> None:
    """Byte-range pieces (spark.semel.pieceBytes) cut lines anywhere: blank and CRLF lines, bad records,
    generated ids (their line numbers), a record longer than a piece and no final newline must all come
    out as the embedded engine reads the file whole."""
    docs, _ = make_corpus(n_bases=60, seed=9)
    lines = [json.dumps(d, ensure_ascii=False) for d in docs]
    lines[5] = '{"id": "broken", "text": '  # malformed: skipped and listed with its line number
    lines[9] = json.dumps({"text": docs[9]["text"]})  # no id: "corpus.jsonl:10"
    lines[12] += "\r"  # CRLF
    lines.insert(20, "")  # a blank line shifts every later line number
    lines[30] = json.dumps({"id": "long", "text": docs[30]["text"] * 40})  # longer than a piece
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(("\n".join(lines)).encode("utf-8"))  # no final newline
    assert path.stat().st_size > 40 * 1024
    local, out = str(tmp_path / "local"), str(tmp_path / "spark")
    semel.dedup(str(path), local, on_error="skip", progress=False)
    old = spark.conf.get("spark.semel.pieceBytes", None)
    try:
        semel.dedup(str(path), out, engine="spark", spark=spark, on_error="skip", keep_work=True,
                    conf={"spark.semel.pieceBytes": "1024"}, progress=False)
    finally:
        if old is None:
            spark.conf.unset("spark.semel.pieceBytes")
        else:
            spark.conf.set("spark.semel.pieceBytes", old)
    with open(os.path.join(out, "_work", "sketch", "_DONE.json")) as f:
        assert len(json.load(f)["pieces"]) > 40
    same_clusters(local, out)
    for name in ("kept.jsonl", "errors.jsonl"):
        assert Path(local, name).read_bytes() == Path(out, name).read_bytes(), name
    assert "corpus.jsonl:10" in table(out).column("id").to_pylist()
