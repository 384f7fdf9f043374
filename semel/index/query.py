"""Looking documents up in a saved index: which kept document, if any, a new one is a copy of.

A lookup applies the rule semel.grouping applies inside a run: the new document is a copy of the first
indexed document, in keep-priority order (earlier segments first, then position), that it verifies
against directly (equal exact keys, or the sketch-bin estimate and semel.lsh.verify with the index's
frozen weights). The indexed documents tried are those sharing an LSH band key or the exact key with
it (at most MAX_BUCKET per band key: a key a template gives thousands of documents would otherwise make
one lookup verify thousands of pairs).

Cost: per segment and band, a binary search of the in-RAM fence and of one page of keys; then the
sketch-bin test per candidate and an O(|a| + |b|) verification for the few that pass.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numba as nb
import numpy as np
import pyarrow as pa

from semel.index.format import FENCE, WEIGHTS, Manifest, SegmentData, config_from, fold32, read_manifest
from semel.lsh import Scratch, estimate_at_least, verify
from semel.sketch import Sketch, sketch_batch
from semel.weights import Weights

MAX_BUCKET = 256


@dataclass
class Match:
    """What a lookup found: the kept document's id, the verified similarity, exact or near."""

    id: str
    similarity: float
    reason: str  # "exact" or "near"


@nb.njit(nogil=True, cache=True)
def _first_at_least(keys: np.ndarray, lo: int, hi: int, key: np.uint32) -> int:
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(nogil=True, cache=True)
def _range_of(keys: np.ndarray, fence: np.ndarray, key: np.uint32) -> tuple[int, int]:
    """Where `key` may start in sorted `keys`, searched through its fence (every FENCE-th key)."""
    n = keys.shape[0]
    left = _first_at_least(fence, 0, fence.shape[0], key)
    lo = max(left - 1, 0) * FENCE
    return _first_at_least(keys, lo, n, key), n


@nb.njit(nogil=True, cache=True)
def candidates(band_keys: np.ndarray, band_docs: np.ndarray, band_fence: np.ndarray, query: np.ndarray,
               exact_keys: np.ndarray, exact_docs: np.ndarray, exact_high: np.uint64,
               max_bucket: int) -> np.ndarray:
    """The documents of one segment sharing a band key (`query`: uint32[bands]) or the exact key's high
    word with the query, sorted (= keep-priority order), each once."""
    out = np.empty(0, np.int64)
    found = []
    for b in range(band_keys.shape[0]):
        keys = band_keys[b]
        start, n = _range_of(keys, band_fence[b], query[b])
        i = start
        while i < n and keys[i] == query[b] and i - start < max_bucket:
            found.append(np.int64(band_docs[b, i]))
            i += 1
    i = _first_at_least_u64(exact_keys, exact_high)
    while i < exact_keys.shape[0] and exact_keys[i] == exact_high:
        found.append(np.int64(exact_docs[i]))
        i += 1
    if len(found) == 0:
        return out
    out = np.unique(np.array(found))
    return out


@nb.njit(nogil=True, cache=True)
def _first_at_least_u64(keys: np.ndarray, key: np.uint64) -> int:
    lo = 0
    hi = keys.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(nogil=True, cache=True)
def first_copy(cands: np.ndarray, seg_offsets: np.ndarray, seg_seq: np.ndarray, seg_exact: np.ndarray,
               seg_mini: np.ndarray, q_tokens: np.ndarray, q_exact: np.ndarray, q_mini: np.ndarray,
               use_exact: bool, min_agree: int, rule: np.ndarray, weights: tuple, scratch: tuple
               ) -> tuple[int, float, bool]:
    """(position of the first candidate the query is a copy of or -1, similarity, by exact key): the
    same tests, in the same order, as semel.grouping.assign_components (the indexed document as the kept
    side `a`; `scratch`: semel.lsh.Scratch.arrays())."""
    mini = np.empty((2, q_mini.shape[0]), np.uint16)
    mini[1] = q_mini
    offsets = np.zeros(3, np.int64)
    nq = q_tokens.shape[0]
    for c in cands:
        if use_exact and seg_exact[c, 0] == q_exact[0] and seg_exact[c, 1] == q_exact[1]:
            return c, 1.0, True
        if min_agree > 0:
            mini[0] = seg_mini[c]
            if not estimate_at_least(mini, 0, 1, min_agree):
                continue
        s, t = seg_offsets[c], seg_offsets[c + 1]
        buf = np.empty(t - s + nq, np.uint32)
        buf[:t - s] = seg_seq[s:t]
        buf[t - s:] = q_tokens
        offsets[1] = t - s
        offsets[2] = t - s + nq
        ok, sim = verify(offsets, buf, 0, 1, rule, weights, scratch)
        if ok:
            return c, sim, False
    return -1, 0.0, False


class Segment(SegmentData):
    """A saved segment, memory-mapped (the fences are read into RAM: FENCE times smaller than the keys)."""

    def __init__(self, root: str, entry: dict) -> None:
        path = os.path.join(root, entry["name"])
        arrays = {name: np.load(os.path.join(path, name + ".npy"), mmap_mode="r") for name in self.FILES}
        arrays["band_fence"] = np.array(arrays["band_fence"])
        docs = pa.ipc.open_file(pa.memory_map(os.path.join(path, "docs.arrow"))).read_all()
        self.name = entry["name"]
        super().__init__(docs.column("id"), docs.column("priority"), arrays)
        self.longest = int(entry["longest"])


class Index:
    """A saved index opened for lookups (thread-safe: each thread gets its own verification buffers).

    `extra` segments (an in-memory tail, semel.index.live) are searched after the saved ones."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.manifest: Manifest = read_manifest(root)
        self.cfg = config_from(self.manifest.settings)
        self.segments = [Segment(root, s) for s in self.manifest.segments if int(s["documents"])]
        wdir = os.path.join(root, WEIGHTS)
        self.weights = Weights(np.load(os.path.join(wdir, "keys.npy")),
                               np.load(os.path.join(wdir, "values.npy")))
        self.rule = self.cfg.rule()
        self.bands, self.rows = self.cfg.band_rows
        self._local = threading.local()

    @property
    def documents(self) -> int:
        return sum(s.documents for s in self.segments)

    def sketch(self, texts: list[str] | pa.Array) -> Sketch:
        """Sketch texts exactly as the run that built the index did."""
        arr = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(texts, pa.large_string())
        c = self.cfg
        return sketch_batch(arr, c.ngram, c.num_perm, self.bands, self.rows, chars=c.shingle == "char",
                            exact_level=c.exact_level)

    def scratch(self, longest: int) -> tuple[np.ndarray, ...]:
        """This thread's verification buffers, big enough for documents of `longest` tokens."""
        have = getattr(self._local, "scratch", None)
        if have is None or have[0] < longest:
            size = max(longest, 1024, *(s.longest for s in self.segments))
            have = (size, Scratch(size).arrays())
            self._local.scratch = have
        return have[1]

    def lookup(self, sk: Sketch, i: int, extra: list[SegmentData] | None = None) -> Match | None:
        """Document i of sketch `sk` against the index: the match, or None when it is new."""
        tokens = sk.seq[sk.seq_offsets[i]:sk.seq_offsets[i + 1]]
        query = fold32(sk.bands[:, i])
        exact = np.ascontiguousarray(sk.exact[i])
        mini = np.ascontiguousarray(sk.mini[i])
        cfg = self.cfg
        min_agree = cfg.min_agree(mini.shape[0])
        scratch = self.scratch(len(tokens))
        for seg in [*self.segments, *(extra or [])]:
            if not seg.documents:
                continue
            nb_ = seg.band_keys.shape[0] if cfg.near else 0  # --no-near: exact keys only
            cands = candidates(seg.band_keys[:nb_], seg.band_docs[:nb_], seg.band_fence[:nb_], query,
                               seg.exact_keys, seg.exact_docs, exact[0], MAX_BUCKET)
            if not len(cands):
                continue
            pos, sim, by_exact = first_copy(cands, seg.seq_offsets, seg.seq, seg.exact, seg.mini, tokens,
                                            exact, mini, cfg.exact, min_agree, self.rule,
                                            self.weights.arrays(), scratch)
            if pos >= 0:
                return Match(seg.id_of(int(pos)), round(float(sim), 6), "exact" if by_exact else "near")
        return None

    def check(self, text: str, extra: list[SegmentData] | None = None) -> Match | None:
        """One text against the index."""
        return self.lookup(self.sketch([text]), 0, extra)
