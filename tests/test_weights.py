"""Shingle document frequencies: the count-min pass never misses a frequent shingle, counts are exact,
and shared boilerplate weighs less than what makes a document itself."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.config import DedupConfig
from semel.lsh import Scratch, shingles_of, verify
from semel.sketch import sketch_batch
from semel.weights import Weights, collection_weights, df_floor, exact_counts, scratch_for


def sketch(texts: list[str]):  # noqa: ANN201 - a Sketch
    return sketch_batch(pa.array(texts), 3, 64, 16, 4)


def brute_df(offsets: np.ndarray, seq: np.ndarray, docs: np.ndarray) -> Counter:
    df: Counter = Counter()
    buf = np.zeros(max(1, int(np.max(np.diff(offsets)))), np.uint32)
    for d in docs:
        k = shingles_of(seq[offsets[d]:offsets[d + 1]], 3, buf)
        df.update(set(buf[:k].tolist()))
    return df


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=0, max_size=40), min_size=1, max_size=60),
       st.integers(8, 14))
def test_counts_are_exact_for_every_shingle_the_sketch_lets_through(docs: list[list[int]], bits: int) -> None:
    sk = sketch([" ".join(f"w{x}" for x in d) for d in docs])
    all_docs = np.arange(len(docs), dtype=np.int64)
    truth = brute_df(sk.seq_offsets, sk.seq, all_docs)
    buffers = scratch_for(sk.seq_offsets)
    no_sketch = np.zeros((2, 0), np.uint8)
    values, counts = exact_counts(sk.seq_offsets, sk.seq, all_docs, 3, no_sketch, 0, *buffers)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == dict(truth)
    # with a (tiny, collision-heavy) count-min sketch in front: still every shingle at the floor, exactly
    from semel.weights import _sketch_counts

    floor = 3
    cms = np.zeros((2, 1 << bits), np.uint8)
    _sketch_counts(sk.seq_offsets, sk.seq, all_docs, 3, cms, *buffers)
    values, counts = exact_counts(sk.seq_offsets, sk.seq, all_docs, 3, cms, floor, *buffers)
    got = dict(zip(values.tolist(), counts.tolist(), strict=True))
    assert {v: c for v, c in got.items() if c >= floor} == {v: c for v, c in truth.items() if c >= floor}


def test_boilerplate_weighs_less_than_what_makes_a_document() -> None:
    rng = np.random.default_rng(4)
    licence = " ".join(f"lic{x}" for x in range(150))  # shared by every document
    texts = [licence + " " + " ".join(f"w{x}" for x in rng.integers(0, 10**6, 60)) for _ in range(400)]
    sk = sketch(texts)
    docs = np.arange(len(texts), dtype=np.int64)
    w = collection_weights(sk.seq_offsets, sk.seq, docs, sk.exact[:, 0], 3)
    assert w.frequent > 100 and w.documents == 400 and df_floor(400) == 3
    rule = DedupConfig(inputs=["x"], output="y", max_gap=-1, template_min=0).rule()
    scratch = Scratch(int(np.max(np.diff(sk.seq_offsets)))).arrays()
    none = Weights.none()
    plain_ok, plain = verify(sk.seq_offsets, sk.seq, 0, 1, rule, none.arrays(), scratch)
    weighted_ok, weighted = verify(sk.seq_offsets, sk.seq, 0, 1, rule, w.arrays(), scratch)
    assert plain_ok and plain > 0.5      # by plain Jaccard the licence makes them copies...
    assert not weighted_ok and weighted < 0.05  # ...weighted, they share nothing of their own


def test_the_same_table_on_any_number_of_threads() -> None:
    rng = np.random.default_rng(9)
    common = [f"c{x}" for x in range(40)]
    texts = [" ".join(common[: rng.integers(5, 40)] + [f"w{x}" for x in rng.integers(0, 500, 30)])
             for _ in range(300)]
    sk = sketch(texts)
    docs = np.arange(len(texts), dtype=np.int64)
    one = collection_weights(sk.seq_offsets, sk.seq, docs, sk.exact[:, 0], 3, workers=1)
    for workers in (2, 3, 7):
        many = collection_weights(sk.seq_offsets, sk.seq, docs, sk.exact[:, 0], 3, workers=workers)
        assert many.frequent == one.frequent > 0
        assert np.array_equal(many.keys, one.keys) and np.array_equal(many.values, one.values)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=0, max_size=30), min_size=2, max_size=25))
def test_remembered_document_masses_give_identical_similarities(docs: list[list[int]]) -> None:
    # a small vocabulary makes many shingles frequent, so most weigh less than 1
    sk = sketch([" ".join(f"w{x}" for x in d) for d in docs])
    n = len(docs)
    w = collection_weights(sk.seq_offsets, sk.seq, np.arange(n, dtype=np.int64),
                           sk.exact[:, 0], 3, 1)
    rule = DedupConfig(inputs=["x"], output="y").rule()
    scratch = Scratch(max(1, int(np.max(np.diff(sk.seq_offsets))))).arrays()
    remembered = w.arrays(n)
    for a in range(n):
        for b in range(n):
            if a == b:
                continue
            fresh = verify(sk.seq_offsets, sk.seq, a, b, rule, w.arrays(), scratch)
            assert verify(sk.seq_offsets, sk.seq, a, b, rule, remembered, scratch) == fresh
    nonempty = np.diff(sk.seq_offsets) > 0
    if w.keys.shape[0] > 1 and nonempty.sum() >= 2:  # each document that met another was weighed, once
        assert np.all(remembered[3][nonempty] >= 0)
