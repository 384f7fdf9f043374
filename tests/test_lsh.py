"""Candidate verification: exact set overlap, the copy-shape test, and linear-cost buckets."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.cluster import new_forest, roots
from semel.config import DedupConfig
from semel.lsh import Scratch, band_order, join_band, overlap, verify
from semel.text.tokens import shingles_and_tokens
from semel.weights import Weights


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=120), st.lists(st.integers(0, 40), max_size=120))
def test_overlap_counts_match_python_sets(a: list[int], b: list[int]) -> None:
    sa, sb = np.array(a, dtype=np.uint32), np.array(b, dtype=np.uint32)
    scratch = Scratch(max(len(a), len(b), 1))
    for _ in range(2):  # the tables are reused without clearing: a second pair must not see the first
        na, nb, both, _, wa, wb, wboth = overlap(sa, sb, *scratch.tables(), Weights.none().arrays())
        assert (wa, wb, wboth) == (na, nb, both)
        assert (na, nb, both) == (len(set(a)), len(set(b)), len(set(a) & set(b)))
        assert [bool(x) for x in scratch.shared_b[:len(b)]] == [x in set(a) for x in b]


def sequences(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    _, _, _, offsets, tokens = shingles_and_tokens(pa.array(texts), 3)
    return offsets, tokens


def words(rng: np.random.Generator, n: int) -> list[str]:
    return [f"w{x}" for x in rng.integers(0, 50_000, n)]


def check(texts: list[str], **settings: object) -> tuple[bool, float]:
    offsets, seq = sequences(texts)
    rule = DedupConfig(inputs=["x"], output="y", **settings).rule()  # type: ignore[arg-type]
    w = Weights.none()
    scratch = Scratch(int(np.max(np.diff(offsets)))).arrays()
    return verify(offsets, seq, 0, 1, rule, w.arrays(), scratch)


def test_edited_truncated_and_framed_copies_pass() -> None:
    rng = np.random.default_rng(1)
    base = words(rng, 300)
    edited = [w if rng.random() > 0.08 else "x" for w in base]
    assert check([" ".join(base), " ".join(edited)])[0]
    assert check([" ".join(base), " ".join(edited[:220])])[0]  # truncated to ~73%
    framed = ["BREAKING", "NEWS"] + base + ["All", "rights", "reserved"]
    assert check([" ".join(base), " ".join(framed)])[0]


def test_articles_sharing_a_passage_are_not_copies() -> None:
    rng = np.random.default_rng(2)
    shared = words(rng, 150)
    a = words(rng, 60) + shared + words(rng, 60)
    b = words(rng, 70) + shared + words(rng, 50)
    ok, jaccard = check([" ".join(a), " ".join(b)])
    assert jaccard > 0.3 and not ok  # similar enough by Jaccard, but shaped like shared passages
    assert check([" ".join(a), " ".join(b)], max_gap=-1)[0]  # the test can be switched off


def test_huge_bucket_is_linear_and_joins_everyone() -> None:
    n = 3000
    text = " ".join(f"w{i}" for i in range(50))
    offsets, seq = sequences([text] * n)
    docs = np.arange(n, dtype=np.int64)
    keys, docs = band_order(np.zeros(n, dtype=np.uint64), docs)
    parent = new_forest(n)
    stats = np.zeros(5, dtype=np.int64)
    mini = np.zeros((n, 8), dtype=np.uint16)
    rule = DedupConfig(inputs=["x"], output="y").rule()
    w = Weights.none()
    join_band(keys, docs, parent, offsets, seq, mini, 0, rule, w.arrays(), 64, 8, Scratch(50).arrays(),
              stats)
    assert len(set(roots(parent).tolist())) == 1
    assert stats[0] <= n * 8  # window pairs, not n^2 / 2


def _ioctl_page(name: str, other: str) -> str:
    """A reference page built on one template: the ioctl's name recurs (and the page may name another)."""
    body = words(np.random.default_rng(7), 150)  # the template's own text, the same on every page
    parts = [f"{name} ioctl", " ".join(body[:30]), f"int ioctl fd {name} pid", " ".join(body[30:60]),
             f"the {name} call fails when", " ".join(body[60:90]), f"see {other} {name} returns",
             " ".join(body[90:120]), f"on success {name} returns zero", " ".join(body[120:])]
    return " . ".join(parts)


def test_instances_of_one_template_are_not_copies_even_when_naming_each_other() -> None:
    a = _ioctl_page("dmx remove pid", "dmx add pid")  # the remove page names the add page, not back
    b = _ioctl_page("dmx add pid", "also")
    ok, jaccard = check([a, b])
    assert jaccard > 0.5 and not ok  # similar by Jaccard, but one substitution throughout
    assert check([b, a])[0] is False
    assert check([a, b], template_min=0)[0]  # it is the template test that tells them apart


def test_a_word_inserted_throughout_or_a_redaction_mark_is_still_a_copy() -> None:
    rng = np.random.default_rng(4)
    base = words(rng, 300)
    track = [w if i % 25 else f"beta {w}" for i, w in enumerate(base)]  # "gcloud beta compute ..."
    assert check([" ".join(base), " ".join(track)])[0]
    redacted = [w if rng.random() > 0.06 else "xxxx" for w in base]  # one mark for many different words
    assert check([" ".join(base), " ".join(redacted)])[0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=300), st.integers(0, 2**32 - 1))
def test_band_order_is_a_stable_sort_by_key(small_keys: list[int], seed: int) -> None:
    """Few distinct keys, so runs of equal keys (the part put back in document order) are common."""
    rng = np.random.default_rng(seed)
    keys = np.array(small_keys, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    docs = np.sort(rng.choice(10 * len(keys) + 1, len(keys), replace=False)).astype(np.int64)
    expected = np.argsort(keys, kind="stable")
    got_keys, got_docs = band_order(keys, docs)
    assert got_keys.tolist() == keys[expected].tolist()
    assert got_docs.tolist() == docs[expected].tolist()
