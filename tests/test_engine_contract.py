"""The engine contract: every job gives the same outputs on the embedded engine and on Spark, for every
setting that reaches the kernels (in the spirit of scikit-learn's `check_estimator`).

One small corpus (planted exact, reformatted, framed, edited and truncated copies, windowed repeats for
repair, a document without the keep field) is written once; each case runs dedup on both engines and
compares clusters.parquet, the kept documents byte for byte and every count of stats.json. The Spark
session is the test run's shared local[2] one; tests/test_spark_cluster.py runs the defaults again over
Spark Connect and on a standalone cluster.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import semel
from tests.corpus import make_corpus

pytestmark = pytest.mark.spark

#: (name, settings) — each reaches the kernels differently; together they cover every branch the engines
#: must agree on.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {}),
    ("char-shingles", {"shingle": "char", "ngram": 5, "threshold": 0.5}),
    ("exact-standard", {"exact_level": "standard"}),
    ("exact-whitespace", {"exact_level": "whitespace"}),
    ("exact-none", {"exact_level": "none"}),
    ("keep-longest", {"keep": "longest"}),
    ("keep-field", {"keep": "field:quality"}),
    ("containment", {"containment": 0.8}),
    ("repair", {"repair": True}),
    ("no-exact", {"exact": False}),
    ("no-near", {"near": False}),
    ("threshold-0.6", {"threshold": 0.6}),
    ("plain-jaccard", {"df_weights": False, "threshold": 0.5}),
    ("no-shape-tests", {"max_gap": -1, "template_min": 0, "short": 0}),
]

SEED_WINDOWS = Path(__file__).parent / "data" / "seed_windows_it.txt"


def contract_docs() -> list[dict]:
    """The shared corpus: ~300 documents with every kind of copy the settings above treat differently."""
    docs, _ = make_corpus(n_bases=110, seed=17)
    rng = random.Random(17)
    seed = SEED_WINDOWS.read_text(encoding="utf-8").split("\n\n")
    extra = []
    for i, d in enumerate(docs[:60]):
        if i % 6 == 0:  # a truncated copy (containment) and a spacing variant (exact levels)
            words = d["text"].split(" ")
            extra.append({"id": f"{d['id']}-cut", "text": " ".join(words[: len(words) * 2 // 3]),
                          "lang": d["lang"], "quality": rng.random()})
            extra.append({"id": f"{d['id']}-ws", "text": d["text"].replace(" ", "  "), "lang": d["lang"],
                          "quality": rng.random()})
        if i % 5 == 0:  # windowed repeats for --repair: the same text with and without them
            windows = "\n\n".join(seed[i % 7:i % 7 + 4])
            d["text"] = f"{d['text']}\n\n{windows}\n\n{windows}"
        if i % 9 == 0:
            del d["quality"]  # ranked last under --keep field:quality
    docs.extend(extra)
    random.Random(3).shuffle(docs)
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("contract") / "corpus.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in contract_docs()),
                    encoding="utf-8")
    return str(path)


def comparable_stats(out: str) -> dict:
    """stats.json without what legitimately differs: stage timings, the engine's name and master, and the
    output folder's name."""
    with open(os.path.join(out, "stats.json"), encoding="utf-8") as f:
        data = json.load(f)
    data["stats"].pop("stages")
    data.pop("engine")
    data["settings"].pop("master", None)
    data["settings"].pop("output")
    return data


def assert_same_outputs(local: str, spark: str) -> None:
    a = pq.read_table(os.path.join(local, "clusters.parquet"))
    b = pq.read_table(os.path.join(spark, "clusters.parquet"))
    assert a.schema.equals(b.schema), (a.schema, b.schema)
    assert a.to_pydict() == b.to_pydict()
    ra = pq.read_table(os.path.join(local, "rejected.parquet"))  # the candidates turned away, and why
    rb = pq.read_table(os.path.join(spark, "rejected.parquet"))
    assert ra.schema.equals(rb.schema) and ra.to_pydict() == rb.to_pydict()
    assert sorted(os.listdir(local)) == sorted(os.listdir(spark))
    kept = [n for n in os.listdir(local) if n.startswith("kept")]
    assert kept
    for name in kept:
        assert Path(local, name).read_bytes() == Path(spark, name).read_bytes(), name
    assert comparable_stats(local) == comparable_stats(spark)


def run_both(corpus: str, root: Path, settings: dict[str, Any], spark: Any = None,
             master: str | None = None) -> tuple[str, str]:
    local, out = str(root / "local"), str(root / "spark")
    semel.dedup(corpus, local, progress=False, **settings)
    semel.dedup(corpus, out, engine="spark", spark=spark, master=master, progress=False, **settings)
    return local, out


@pytest.mark.parametrize("settings", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_dedup_same_outputs_on_both_engines(spark, corpus, tmp_path, settings) -> None:
    local, out = run_both(corpus, tmp_path, settings, spark=spark)
    stats = comparable_stats(local)["stats"]
    assert stats["documents"] > 250
    if settings.get("near", True) and settings.get("exact", True):
        assert stats["near_duplicates"] > 0 and stats["exact_duplicates"] > 0
    assert_same_outputs(local, out)


#: The other jobs, from the command line: (job, flags). Each output file must be byte-identical.
OTHER_JOBS = [
    ("repair", []),
    ("lines", ["--min-docs", "3"]),
    ("substrings", ["--min-tokens", "20"]),
    ("substrings", ["--min-tokens", "20", "--mode", "all", "--within"]),
]


@pytest.mark.parametrize("job,flags", OTHER_JOBS, ids=[f"{j}{''.join(f)}" for j, f in OTHER_JOBS])
def test_other_jobs_same_output_on_both_engines(spark, corpus, tmp_path, job: str, flags: list[str]) -> None:
    from semel.cli import main

    local, out = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert main([job, corpus, "-o", str(local), *flags, "-q"]) == 0
    assert main([job, corpus, "-o", str(out), *flags, "-q", "--engine", "spark"]) == 0
    assert local.read_bytes() != Path(corpus).read_bytes()  # the job changed something
    assert local.read_bytes() == out.read_bytes()
