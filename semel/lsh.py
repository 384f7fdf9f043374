"""Candidate pairs from LSH band keys, verified on exact shingle sets as they are found.

Documents that share a band key land in one bucket. A bucket of m documents would give m(m-1)/2 pairs;
above `max_bucket` members only each document and its next `window` neighbours (in key-then-index order)
are paired, so a huge bucket costs O(m) and, because the pairs are verified and joined transitively,
true duplicates in it still end up in one component.

A pair whose documents are already in the same component is skipped: verifying it could not change the
components, so skipping saves most of the verification work without changing the result.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from semel.cluster import find, union


@nb.njit(nogil=True, cache=True)
def intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """|a ∩ b| for two sorted arrays of distinct values."""
    i = j = n = 0
    la, lb = a.shape[0], b.shape[0]
    while i < la and j < lb:
        x, y = a[i], b[j]
        if x == y:
            n += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return n


@nb.njit(nogil=True, cache=True)
def similarity(offsets: np.ndarray, values: np.ndarray, a: int, b: int) -> tuple[float, float]:
    """(Jaccard, containment of the smaller set) of the shingle sets of documents a and b."""
    sa = values[offsets[a]:offsets[a + 1]]
    sb = values[offsets[b]:offsets[b + 1]]
    la, lb = sa.shape[0], sb.shape[0]
    if la == 0 or lb == 0:
        return 0.0, 0.0
    inter = intersection_size(sa, sb)
    return inter / (la + lb - inter), inter / min(la, lb)


@nb.njit(nogil=True, cache=True)
def is_duplicate(offsets: np.ndarray, values: np.ndarray, a: int, b: int, threshold: float,
                 containment: float, min_shingles: int) -> bool:
    """The verification rule: Jaccard >= threshold, or the smaller set (of at least `min_shingles`
    shingles) is contained in the larger at >= `containment` (a truncated copy, or one with a header)."""
    j, c = similarity(offsets, values, a, b)
    if j >= threshold:
        return True
    small = min(offsets[a + 1] - offsets[a], offsets[b + 1] - offsets[b])
    return containment <= 1.0 and small >= min_shingles and c >= containment


@nb.njit(nogil=True, cache=True)
def join_band(keys: np.ndarray, docs: np.ndarray, parent: np.ndarray, offsets: np.ndarray,
              values: np.ndarray, threshold: float, containment: float, min_shingles: int,
              max_bucket: int, window: int, stats: np.ndarray) -> None:
    """Verify the candidate pairs of one band and join the duplicates in `parent`.

    `keys[i]` is the band key of document `docs[i]`. stats: [candidates, verified, joined].
    """
    order = np.argsort(keys, kind="mergesort")
    n = order.shape[0]
    i = 0
    while i < n:
        j = i + 1
        k = keys[order[i]]
        while j < n and keys[order[j]] == k:
            j += 1
        m = j - i
        if m > 1:
            reach = m if m <= max_bucket else window + 1
            for p in range(i, j):
                a = docs[order[p]]
                for q in range(p + 1, min(j, p + reach)):
                    b = docs[order[q]]
                    stats[0] += 1
                    if find(parent, a) == find(parent, b):
                        continue
                    stats[1] += 1
                    if is_duplicate(offsets, values, a, b, threshold, containment, min_shingles):
                        union(parent, a, b)
                        stats[2] += 1
        i = j


@nb.njit(nogil=True, cache=True)
def _sort_unique_segments(offsets: np.ndarray, values: np.ndarray, out_off: np.ndarray) -> int:
    """Sort each segment of `values` in place and compact away repeats; returns the used length."""
    pos = 0
    for d in range(offsets.shape[0] - 1):
        seg = values[offsets[d]:offsets[d + 1]]
        seg.sort()
        for i in range(seg.shape[0]):
            if i == 0 or seg[i] != seg[i - 1]:
                values[pos] = seg[i]
                pos += 1
        out_off[d + 1] = pos
    return pos


def sorted_sets(offsets: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's shingle hashes as a sorted set of 32-bit values (collision odds ~ 2^-32 a pair)."""
    values = (hashes >> np.uint64(32)).astype(np.uint32)
    out_off = np.zeros(len(offsets), dtype=np.int64)
    used = _sort_unique_segments(offsets, values, out_off)
    return out_off, values[:used].copy()
