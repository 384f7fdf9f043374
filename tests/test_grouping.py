"""The greedy assignment: every removal is a direct, verified copy of the kept document, never a chain."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.cluster import components
from semel.config import DedupConfig
from semel.grouping import Verdicts, assign, priority_order
from semel.lsh import Scratch, longest_document, verdict, verify
from semel.sketch import sketch_batch
from semel.weights import Weights

RULE = DedupConfig(inputs=["x"], output="y").rule()
NONE = Weights.none()


def drifting_copies(rng: np.random.Generator, steps: int, rate: float) -> list[str]:
    """A text and copies that drift from it step by step: each neighbour is a copy of the previous one,
    but the ends of the chain share little."""
    words = [f"w{x}" for x in rng.integers(0, 100_000, 120)]
    out = [" ".join(words)]
    for _ in range(steps):
        words = [f"n{x}" if rng.random() < rate else w for w, x in zip(words, rng.integers(0, 100_000, 120),
                                                                        strict=True)]
        out.append(" ".join(words))
    return out


def brute(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    sk = sketch_batch(pa.array(texts), 3, 64, 16, 4)
    n = len(texts)
    scratch = Scratch(longest_document(sk.seq_offsets)).arrays()
    ok = np.zeros((n, n), dtype=bool)
    for a in range(n):
        for b in range(a + 1, n):
            pair = verify(sk.seq_offsets, sk.seq, a, b, RULE, NONE.arrays(), scratch)
            ok[a, b] = ok[b, a] = pair[0]
    left, right = np.nonzero(np.triu(ok))
    return components(n, left, right), ok, sk.seq_offsets, sk.seq, sk.exact


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(2, 6), st.floats(0.08, 0.3))
def test_no_removal_without_a_direct_verified_reason(seed: int, chains: int, steps: int, rate: float) -> None:
    rng = np.random.default_rng(seed)
    texts = [t for _ in range(chains) for t in drifting_copies(rng, steps, rate)]
    order_in = rng.permutation(len(texts))
    texts = [texts[i] for i in order_in]
    labels, ok, offsets, seq, exact = brute(texts)
    n = len(texts)
    priority = rng.normal(size=n)
    ids = np.array([f"d{i}" for i in range(n)])
    order = priority_order(priority, ids)
    mini = np.zeros((n, 8), dtype=np.uint16)
    kept, sim = assign(labels, order, offsets, seq, exact, True, mini, 0, RULE, workers=2)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    is_kept = kept == np.arange(n)
    for d in range(n):
        k = kept[d]
        if k != d:
            assert is_kept[k]                      # removed for a kept document...
            assert ok[d, k] and rank[k] < rank[d]  # ...that it is a verified copy of, and that ranks higher
            assert 0 < sim[d] <= 1
        else:  # kept: no higher-ranked kept document is a copy of it
            assert not any(ok[d, j] and is_kept[j] and rank[j] < rank[d] for j in range(n))
    # the same answer with one worker and with the components listed in another order
    again, _ = assign(labels, order, offsets, seq, exact, True, mini, 0, RULE, workers=1)
    assert again.tolist() == kept.tolist()
    # and when verdicts reached earlier (the cluster stage's, on some of the pairs) are taken instead
    left, right = np.nonzero(rng.random((n, n)) < 0.5)
    scratch = Scratch(longest_document(offsets)).arrays()
    found = [verdict(offsets, seq, a, b, RULE, NONE.arrays(), scratch)
             for a, b in zip(left, right, strict=True)]
    known = Verdicts(left, right, np.array([c for c, _ in found], np.int8), np.array([s for _, s in found]))
    reused, reused_sim = assign(labels, order, offsets, seq, exact, True, mini, 0, RULE, workers=2,
                                known=known)
    assert reused.tolist() == kept.tolist() and reused_sim.tolist() == sim.tolist()


def test_a_chain_is_cut_where_the_ends_stop_being_copies() -> None:
    texts = drifting_copies(np.random.default_rng(7), 10, 0.1)
    labels, ok, offsets, seq, exact = brute(texts)
    assert len(set(labels.tolist())) == 1 and not ok[0, -1]  # one component, ends unrelated
    n = len(texts)
    order = priority_order(-np.arange(n, dtype=float), np.array([str(i) for i in range(n)]))
    kept, _ = assign(labels, order, offsets, seq, exact, True, np.zeros((n, 8), np.uint16), 0, RULE)
    assert kept[0] == 0 and kept[-1] != 0  # the far end is not removed for the first...
    assert all(ok[d, kept[d]] for d in range(n) if kept[d] != d)  # ...nor anything for a non-copy
    assert len(set(kept.tolist())) > 1
