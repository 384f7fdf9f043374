"""The Python API on in-memory data: lists, Arrow, pandas, polars and `datasets` give the answers the
path-based jobs give on the same documents written to a file, as the caller's own type, in order."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import datasets
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import semel
from semel.errors import SemelError
from tests.corpus import make_corpus, write_jsonl

SEED = os.path.join(os.path.dirname(__file__), "..", "examples", "seed.txt")
KINDS = ("list", "arrow", "batch", "pandas", "polars", "datasets")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], str, pa.Table]:
    """Planted copies, their JSONL file and the clusters the path-based run gives."""
    docs, _ = make_corpus(n_bases=30, seed=5, langs=("en", "it", "zh"))
    root = tmp_path_factory.mktemp("api")
    path = str(root / "corpus.jsonl")
    write_jsonl(path, docs)
    clusters = semel.dedup(path, str(root / "out"), progress=False).clusters
    return docs, path, clusters


def as_kind(docs: list[dict], kind: str, text: str = "text") -> object:
    frame = pd.DataFrame([{"doc": d["id"], text: d["text"], "quality": d.get("quality", 0.0)} for d in docs])
    if kind == "list":
        return [d["text"] for d in docs]
    if kind == "pandas":
        return frame
    if kind == "polars":
        return pl.from_pandas(frame)
    if kind == "datasets":
        return datasets.Dataset.from_pandas(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table if kind == "arrow" else table.combine_chunks().to_batches()[0]


def rows_of(data: object, text: str = "text") -> list[str]:
    """The texts of any kind of data, in order."""
    if isinstance(data, list):
        return data
    if isinstance(data, pa.Table | pa.RecordBatch):
        return data.column(text).to_pylist()
    if isinstance(data, datasets.Dataset):
        return data[text]
    return list(data[text])


@pytest.mark.parametrize("kind", KINDS)
def test_dedup_in_memory_equals_the_file_run(corpus, kind, tmp_path, monkeypatch) -> None:
    docs, _, expected = corpus
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = as_kind(docs, kind, text="body")
    result = semel.dedup(data, text="body", id=None if kind == "list" else "doc", progress=False)
    assert os.listdir(tmp_path) == []  # the temporary work folder is gone
    assert result.output is None and "output:" not in result.summary()
    got = result.clusters
    assert got.schema.names == expected.schema.names
    for name in ("kept", "reason", "similarity", "cluster_size"):
        assert got.column(name).to_pylist() == expected.column(name).to_pylist(), name
    if kind == "list":  # no ids: documents are numbered from 0
        assert got.column("id").to_pylist() == [str(i) for i in range(len(docs))]
        ids = [d["id"] for d in docs]
        clusters = [ids[int(c)] for c in got.column("cluster").to_pylist()]
        assert clusters == expected.column("cluster").to_pylist()
    else:
        assert got.column("id").to_pylist() == expected.column("id").to_pylist()
        assert got.column("cluster").to_pylist() == expected.column("cluster").to_pylist()
    kept = result.kept(data)
    assert type(kept) is type(data)
    mask = expected.column("kept").to_pylist()
    assert rows_of(kept, "body") == [d["text"] for d, k in zip(docs, mask, strict=True) if k]
    assert 0 < len(rows_of(kept, "body")) < len(docs)


def test_dedup_settings_and_keep_field_reach_the_run(corpus) -> None:
    docs, path, _ = corpus
    frame = as_kind(docs, "pandas")
    for settings in ({"keep": "field:quality"}, {"keep": "longest", "threshold": 0.5}):
        expected = semel.dedup(path, tempfile.mkdtemp(), progress=False, **settings).clusters
        got = semel.dedup(frame, id="doc", progress=False, **settings).clusters
        assert got.to_pylist() == expected.to_pylist(), settings


def test_kept_refuses_other_data_and_paths_still_need_an_output(corpus) -> None:
    docs, path, _ = corpus
    result = semel.dedup([d["text"] for d in docs], progress=False)
    with pytest.raises(SemelError, match="rows but the result is for"):
        result.kept(["one", "two"])
    with pytest.raises(TypeError, match="needs an output folder"):
        semel.dedup(path)
    with pytest.raises(TypeError, match="not dict"):
        semel.dedup({"text": "a"})
    with pytest.raises(TypeError, match="given file names and no output"):
        semel.dedup([path, path])
    assert semel.dedup([], progress=False).clusters.num_rows == 0


def test_bad_columns_are_one_line_errors() -> None:
    frame = pd.DataFrame({"body": ["a text", None], "n": [1, 2]})
    with pytest.raises(SemelError, match="no text column 'text'"):
        semel.dedup(frame)
    with pytest.raises(SemelError, match="missing values .* row 1"):
        semel.dedup(frame, text="body")
    with pytest.raises(SemelError, match="has type int64, not string"):
        semel.dedup(frame, text="n")
    with pytest.raises(SemelError, match="no id column 'doc'"):
        semel.dedup(frame.fillna("x"), text="body", id="doc")


@pytest.mark.parametrize("kind", KINDS)
def test_repair_column_equals_the_file_run(kind, tmp_path) -> None:
    seed = open(SEED, encoding="utf-8").read()
    docs = [{"id": str(i), "text": t} for i, t in enumerate([seed, "Just one line.", seed[:2000]])]
    path, out = str(tmp_path / "in.jsonl"), str(tmp_path / "out.parquet")
    write_jsonl(path, docs)
    semel.repair_file(path, out, progress=False)
    expected = pq.read_table(out)
    data = as_kind(docs, kind)
    result = semel.repair(data, progress=False)
    assert result.text.to_pylist() == expected.column("text").to_pylist()
    assert result.fields.to_pylist() == expected.drop_columns(["id", "text"]).to_pylist()
    assert "2 documents" not in result.summary() and "repaired   2" in result.summary()
    applied = result.apply(data)
    assert type(applied) is type(data)
    assert rows_of(applied) == expected.column("text").to_pylist()
    if kind != "list":
        assert "repair_removed_chars" in (applied.column_names if kind in ("datasets", "arrow", "batch")
                                          else list(applied.columns))
    assert semel.repair(seed) == expected.column("text")[0].as_py()  # a string is still a string


def test_repair_drop_above_drops_rows_in_memory() -> None:
    seed = open(SEED, encoding="utf-8").read()
    frame = pd.DataFrame({"text": ["A plain sentence that says nothing twice.", seed], "k": [1, 2]})
    result = semel.repair(frame, drop_above=True, progress=False)
    assert result.mask.tolist() == [True, False]
    assert result.kept(frame)["k"].tolist() == [1]
    assert result.apply(frame)["k"].tolist() == [1]


def test_lines_and_substrings_columns_equal_the_file_runs(tmp_path) -> None:
    footer = "Subscribe to our newsletter for the latest stories from the valley."
    passage = " ".join(f"word{i}" for i in range(80))
    docs = [{"id": f"d{i}", "text": f"Story number {i} starts here with its own words.\n{footer}\n"
             + (passage if i % 2 else f"Nothing shared {i}.")} for i in range(8)]
    path = str(tmp_path / "in.jsonl")
    write_jsonl(path, docs)
    frame = pl.DataFrame(docs)
    for job, settings in ((semel.lines, {"min_docs": 3}), (semel.substrings, {"min_tokens": 20})):
        out = str(tmp_path / f"{job.__name__}.parquet")
        job(path, out, progress=False, **settings)
        expected = pq.read_table(out)
        result = job(frame, progress=False, **settings)
        assert result.text.to_pylist() == expected.column("text").to_pylist()
        assert result.fields.to_pylist() == expected.drop_columns(["id", "text"]).to_pylist()
        assert result.text.to_pylist() != [d["text"] for d in docs]  # something was removed
        applied = result.apply(frame)
        assert isinstance(applied, pl.DataFrame) and applied["text"].to_list() == result.text.to_pylist()
    lines = semel.lines(frame, min_docs=3, progress=False)
    assert footer in lines.extra["lines"].column("text").to_pylist()


def test_works_without_the_optional_libraries() -> None:
    """pandas, polars and datasets stay optional: with none of them importable (pyarrow too then does
    without pandas) the API still takes lists and Arrow and gives lists and Arrow."""
    code = ("import sys\n"
            "class Absent:\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] in ('pandas', 'polars', 'datasets', 'pyspark'):\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, Absent())\n"
            "import pyarrow as pa, semel\n"
            "r = semel.dedup(['a b c d e f', 'a b c d e f', 'g h i j'], progress=False)\n"
            "assert r.kept(['x', 'y', 'z']) == ['x', 'z']\n"
            "t = pa.table({'text': ['one two three four', 'one two three four']})\n"
            "assert semel.dedup(t, progress=False).kept(t).num_rows == 1\n"
            "assert semel.repair(['a b', 'c d'], progress=False).apply(['a b', 'c d']) == ['a b', 'c d']\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.spark
def test_spark_dataframe_goes_to_the_spark_engine(corpus, spark) -> None:
    docs, _, expected = corpus
    frame = spark.createDataFrame(as_kind(docs, "pandas"))  # partitions in the rows' order
    result = semel.dedup(frame, id="doc", progress=False)
    clusters = result.clusters
    assert type(clusters).__name__ == "DataFrame"
    rows = sorted(clusters.collect(), key=lambda r: r["id"])
    want = sorted(expected.to_pylist(), key=lambda r: r["id"])
    assert [r.asDict() for r in rows] == want
    kept = result.kept(frame)
    assert type(kept).__name__ == "DataFrame"
    kept_ids = {r["id"] for r in want if r["kept"]}
    assert sorted(r["doc"] for r in kept.collect()) == sorted(kept_ids)


def test_the_hugging_face_example_runs(tmp_path) -> None:
    script = os.path.join(os.path.dirname(SEED), "dedup_hf_dataset.py")
    out = subprocess.run([sys.executable, script, "--demo", str(tmp_path / "ds"), str(tmp_path / "kept")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    kept = datasets.load_from_disk(str(tmp_path / "kept"))
    clusters = pq.read_table(str(tmp_path / "kept" / "clusters.parquet"))
    assert len(kept) == sum(clusters.column("kept").to_pylist()) < clusters.num_rows == 12
