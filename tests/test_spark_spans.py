"""`substrings` and `lines` on Spark across the whole collection, whatever the partitioning."""
from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_substrings import apply, planted


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "c", "dd", "北"]), max_size=14), min_size=1, max_size=5),
       st.integers(1, 4))
def test_window_hashes_are_the_distinct_k_token_windows_of_each_document(docs, k) -> None:
    """The rolling window hash equals hashing each window's token hashes; windows never cross documents."""
    from semel.engines.spark_spans import window_hashes
    from semel.spans.suffix import token_spans

    texts = pa.array([" ".join(d) for d in docs], pa.large_string())
    doc, hashes = window_hashes(texts, k)
    tok = token_spans(texts)
    expected = set()
    for d in range(len(docs)):
        h = tok.hash[tok.offsets[d]:tok.offsets[d + 1]].tolist()
        expected |= {(d, tuple(h[i:i + k])) for i in range(len(h) - k + 1)}
    by_window: dict[tuple, set] = {}
    for d, w in expected:
        by_window.setdefault(w, set()).add(d)
    got: dict[int, set] = {}
    for d, h in zip(doc.tolist(), hashes.tolist(), strict=True):
        got.setdefault(h, set()).add(d)
    assert len(doc) == len(expected)  # each window once per document
    assert sorted(map(sorted, got.values())) == sorted(map(sorted, by_window.values()))


@pytest.mark.spark
@pytest.mark.parametrize("mode,within", [("first", False), ("all", False), ("first", True)])
def test_substrings_across_many_partitions_match_one_local_shard(spark, mode: str, within: bool) -> None:
    """Copies of a passage sit in different partitions (8 partitions, documents dealt round-robin); Spark
    co-locates the documents that share a window and must cut what one local shard over everything cuts."""
    from semel.engines.spark_spans import substrings_spark

    texts, which = planted(n=40, seed=4)
    texts.append(texts[0] + " " + texts[0])  # repeats itself (only --within cuts that)
    expected, spans = apply(texts, 20, mode, within=within)
    assert sum(t != e for t, e in zip(texts, expected, strict=True)) >= 10
    rows = [(i, str(i), t) for i, t in enumerate(texts)]
    df = spark.createDataFrame(rows, "pos long, id string, text string").repartition(8)
    out = substrings_spark(df, min_tokens=20, mode=mode, within=within, order_col="pos",
                           partitions=3).collect()
    got = sorted(out, key=lambda r: r["pos"])
    assert [r["text"] for r in got] == expected
    assert [[s.asDict() for s in r["substrings_removed"]] for r in got] == spans


@pytest.mark.spark
def test_unusable_settings_fail_before_any_spark_job(spark) -> None:
    """The settings the local job refuses are refused on Spark too, at the call, not inside a task."""
    from semel.engines.spark_spans import substrings_spark

    df = spark.createDataFrame([("a", "some text")], "id string, text string")
    for bad, message in (({"mode": "most"}, "mode must be"), ({"min_tokens": 0}, "min_tokens must"),
                         ({"align": "paragraphs"}, "align must be")):
        with pytest.raises(ValueError, match=message):
            substrings_spark(df, **bad)
