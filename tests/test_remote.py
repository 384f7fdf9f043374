"""Inputs and outputs as fsspec URLs, against a real S3 API server (moto's, started here on 127.0.0.1):
the same results as local files, outputs uploaded only when a run succeeds, resume after a kill."""
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

BUCKET = "corpora"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """A moto S3 server on a free port of 127.0.0.1, with the environment that points clients at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}",
           "SEMEL_STAGE_DIR": str(tmp_path_factory.mktemp("stage"))}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir(BUCKET)
    docs, _ = make_corpus(n_bases=24, seed=11, langs=("en", "it"))
    local = str(tmp_path_factory.mktemp("local") / "corpus.jsonl")
    write_jsonl(local, docs)
    fs.put_file(local, f"{BUCKET}/in/corpus.jsonl")
    half = len(docs) // 2
    for i, part in enumerate((docs[:half], docs[half:])):
        path = str(tmp_path_factory.mktemp("parts") / f"part-{i}.jsonl")
        write_jsonl(path, part)
        fs.put_file(path, f"{BUCKET}/parts/part-{i}.jsonl")
    yield fs, local, env
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    s3fs.S3FileSystem.clear_instance_cache()


def s3_table(fs, key: str):
    with fs.open(f"{BUCKET}/{key}", "rb") as f:
        return pq.read_table(f)


def test_dedup_s3_to_s3_equals_the_local_run(s3, tmp_path) -> None:
    fs, local, env = s3
    expected = semel.dedup(local, str(tmp_path / "out"), progress=False).clusters
    assert main(["dedup", f"s3://{BUCKET}/in/corpus.jsonl", "-o", f"s3://{BUCKET}/out1", "-q"]) == 0
    assert s3_table(fs, "out1/clusters.parquet").to_pylist() == expected.to_pylist()
    local_names = sorted(n for n in os.listdir(tmp_path / "out") if not n.startswith("."))
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{BUCKET}/out1")) == local_names
    assert "kept.jsonl" in local_names and "clusters.parquet" in local_names
    with fs.open(f"{BUCKET}/out1/kept.jsonl", "rb") as f, open(tmp_path / "out" / "kept.jsonl", "rb") as g:
        assert f.read() == g.read()
    assert os.listdir(env["SEMEL_STAGE_DIR"]) == []  # the staging folder went with the run
    # a glob of parts is one collection, in name order; the Python API takes URLs too
    result = semel.dedup(f"s3://{BUCKET}/parts/part-*.jsonl", f"s3://{BUCKET}/out2", progress=False)
    assert result.output == f"s3://{BUCKET}/out2"
    got = s3_table(fs, "out2/clusters.parquet")
    assert got.column("kept").to_pylist() == expected.column("kept").to_pylist()


def test_column_jobs_write_their_side_files_to_s3(s3, tmp_path) -> None:
    fs, local, _ = s3
    assert main(["lines", f"s3://{BUCKET}/in/corpus.jsonl", "-o", f"s3://{BUCKET}/lines/out.jsonl",
                 "--min-docs", "3", "-q"]) == 0
    assert main(["lines", local, "-o", str(tmp_path / "out.jsonl"), "--min-docs", "3", "-q"]) == 0
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{BUCKET}/lines"))
    assert names == ["out.jsonl", "out.jsonl.lines.parquet", "out.jsonl.stats.json"]
    with fs.open(f"{BUCKET}/lines/out.jsonl", "rb") as f:
        assert f.read() == (tmp_path / "out.jsonl").read_bytes()
    summary = semel.repair(f"s3://{BUCKET}/in/corpus.jsonl", f"s3://{BUCKET}/rep/out.parquet", progress=False)
    assert summary.documents == s3_table(fs, "rep/out.parquet").num_rows > 0


def test_missing_remote_input_is_one_line_and_writes_nothing(s3, capsys) -> None:
    fs, _, _ = s3
    assert main(["dedup", f"s3://{BUCKET}/in/nothing.jsonl", "-o", f"s3://{BUCKET}/out3", "-q"]) == 1
    err = capsys.readouterr().err
    assert err == f"semel: error: s3://{BUCKET}/in/nothing.jsonl: no such file or folder\n"
    assert not fs.exists(f"{BUCKET}/out3")


def test_resume_after_a_kill_continues_from_the_staged_work(s3, tmp_path) -> None:
    fs, local, env = s3
    expected = semel.dedup(local, str(tmp_path / "out"), progress=False).clusters
    argv = [sys.executable, "-m", "semel.cli", "dedup", f"s3://{BUCKET}/in/corpus.jsonl", "-o",
            f"s3://{BUCKET}/out4", "--json"]
    killed = subprocess.run(argv, env={**os.environ, **env, "SEMEL_KILL_AT": "cluster"}, capture_output=True)
    assert killed.returncode == -9
    assert not fs.exists(f"{BUCKET}/out4")  # nothing uploaded by a run that did not finish
    assert os.listdir(env["SEMEL_STAGE_DIR"]) != []  # its staged input and finished stages stay
    done = subprocess.run(argv + ["--resume"], env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stages = {st["name"]: st["resumed"] for st in json.loads(done.stdout)["stages"]}
    assert stages["sketch"] and stages["cluster"] and not stages["keep"]
    assert s3_table(fs, "out4/clusters.parquet").to_pylist() == expected.to_pylist()
    assert os.listdir(env["SEMEL_STAGE_DIR"]) == []


def test_stores_without_atomic_objects_get_a_temporary_name_then_a_move(tmp_path, monkeypatch) -> None:
    """fsspec's memory:// store is not an object store: uploads go to a hidden name and are moved."""
    import fsspec

    from semel.io import remote

    monkeypatch.setenv("SEMEL_STAGE_DIR", str(tmp_path / "stage"))
    fs = fsspec.filesystem("memory")
    docs, _ = make_corpus(n_bases=6, seed=2, langs=("en",))
    write_jsonl(str(tmp_path / "c.jsonl"), docs)
    fs.put_file(str(tmp_path / "c.jsonl"), "/semel-test/c.jsonl")
    moved = []
    monkeypatch.setattr(type(fs), "mv", lambda self, a, b, **kw: (moved.append((a, b)),
                                                                 self.copy(a, b), self.rm(a)))
    result = semel.dedup("memory://semel-test/c.jsonl", "memory://semel-test/out", progress=False)
    assert result.clusters.num_rows == len(docs)
    assert sorted(b.rsplit("/", 1)[1] for _, b in moved) == sorted(
        p.rsplit("/", 1)[1] for p in fs.ls("/semel-test/out", detail=False))
    assert all(a.rsplit("/", 1)[1].startswith(".") for a, _ in moved)
    assert remote.is_url("s3://b/k") and not remote.is_url("file:///tmp/x") and not remote.is_url("x.jsonl")
    fs.rm("/semel-test", recursive=True)
