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
def _mark_shared(sa: np.ndarray, sb: np.ndarray, in_a: np.ndarray, in_b: np.ndarray) -> None:
    """in_a[i] = sa[i] is in sb, in_b[j] = sb[j] is in sa (both sets sorted)."""
    in_a[:sa.shape[0]] = False
    in_b[:sb.shape[0]] = False
    i = j = 0
    while i < sa.shape[0] and j < sb.shape[0]:
        if sa[i] == sb[j]:
            in_a[i] = True
            in_b[j] = True
            i += 1
            j += 1
        elif sa[i] < sb[j]:
            i += 1
        else:
            j += 1


@nb.njit(nogil=True, cache=True)
def _gaps(ranks: np.ndarray, shared: np.ndarray) -> tuple[int, int, int]:
    """(leading, longest interior, trailing) runs of positions whose shingle the other document lacks."""
    lead = -1
    run = 0
    interior = 0
    for p in range(ranks.shape[0]):
        if shared[ranks[p]]:
            if lead < 0:
                lead = run
            elif run > interior:
                interior = run
            run = 0
        else:
            run += 1
    if lead < 0:
        return run, 0, run
    return lead, interior, run


@nb.njit(nogil=True, cache=True)
def copy_shape_ok(set_offsets: np.ndarray, values: np.ndarray, seq_offsets: np.ndarray, ranks: np.ndarray,
                  a: int, b: int, max_gap: int, max_trailing: float, scratch_a: np.ndarray,
                  scratch_b: np.ndarray) -> bool:
    """Is the overlap of a and b shaped like a copy rather than shared passages?

    A copy, however edited, covers one document (the copy) everywhere but for short runs (edits, a short
    header or footer); the other (the source) may also have a dropped sentence inside and a cut-off tail,
    but little in front. Two different articles that share a paragraph or two instead leave long runs
    uncovered on both sides, or put new text in front of the shared part.
    """
    sa = values[set_offsets[a]:set_offsets[a + 1]]
    sb = values[set_offsets[b]:set_offsets[b + 1]]
    _mark_shared(sa, sb, scratch_a, scratch_b)
    ra = ranks[seq_offsets[a]:seq_offsets[a + 1]]
    rb = ranks[seq_offsets[b]:seq_offsets[b + 1]]
    la, ia, ta = _gaps(ra, scratch_a)
    lb, ib, tb = _gaps(rb, scratch_b)
    if min(max(la, ia, ta), max(lb, ib, tb)) > max_gap:
        return False
    if ra.shape[0] >= rb.shape[0]:
        lead, trail, n = la, ta, ra.shape[0]
    else:
        lead, trail, n = lb, tb, rb.shape[0]
    return lead <= max(max_gap, 0.1 * n) and trail <= max(max_gap, max_trailing * n)


@nb.njit(nogil=True, cache=True)
def is_duplicate(set_offsets: np.ndarray, values: np.ndarray, seq_offsets: np.ndarray, ranks: np.ndarray,
                 a: int, b: int, rule: np.ndarray, scratch_a: np.ndarray, scratch_b: np.ndarray) -> bool:
    """The verification rule, `rule` = [threshold, containment, min_shingles, max_gap, max_trailing]:
    Jaccard >= threshold (or, with containment <= 1, the smaller set of at least min_shingles shingles
    contained in the larger at >= containment), and, with max_gap >= 0, an overlap shaped like a copy."""
    j, c = similarity(set_offsets, values, a, b)
    ok = j >= rule[0]
    if not ok and rule[1] <= 1.0:
        small = min(set_offsets[a + 1] - set_offsets[a], set_offsets[b + 1] - set_offsets[b])
        ok = small >= rule[2] and c >= rule[1]
    if ok and rule[3] >= 0 and j < 1.0:
        ok = copy_shape_ok(set_offsets, values, seq_offsets, ranks, a, b, int(rule[3]), rule[4],
                           scratch_a, scratch_b)
    return ok


@nb.njit(nogil=True, cache=True)
def join_band(keys: np.ndarray, docs: np.ndarray, parent: np.ndarray, set_offsets: np.ndarray,
              values: np.ndarray, seq_offsets: np.ndarray, ranks: np.ndarray, rule: np.ndarray,
              max_bucket: int, window: int, stats: np.ndarray) -> None:
    """Verify the candidate pairs of one band and join the duplicates in `parent`.

    `keys[i]` is the band key of document `docs[i]`; `rule` as in `is_duplicate`.
    stats: [candidates, verified, joined].
    """
    longest = 1
    for d in range(set_offsets.shape[0] - 1):
        longest = max(longest, set_offsets[d + 1] - set_offsets[d])
    scratch_a = np.empty(longest, dtype=np.bool_)
    scratch_b = np.empty(longest, dtype=np.bool_)
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
                    if is_duplicate(set_offsets, values, seq_offsets, ranks, a, b, rule, scratch_a,
                                    scratch_b):
                        union(parent, a, b)
                        stats[2] += 1
        i = j


@nb.njit(nogil=True, cache=True)
def _sort_unique_segments(offsets: np.ndarray, keys: np.ndarray, values: np.ndarray, ranks: np.ndarray,
                          out_off: np.ndarray) -> int:
    """Per document: its distinct keys sorted into `values` (compacted), and for every position the
    index of its key within the document's sorted set in `ranks`. Returns the used length of values."""
    pos = 0
    for d in range(offsets.shape[0] - 1):
        start = offsets[d]
        seg = keys[start:offsets[d + 1]]
        order = np.argsort(seg)
        base = pos
        for i in range(order.shape[0]):
            v = seg[order[i]]
            if i == 0 or v != values[pos - 1]:
                values[pos] = v
                pos += 1
            ranks[start + order[i]] = pos - 1 - base
        out_off[d + 1] = pos
    return pos


def sorted_sets(offsets: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each document's shingles as a sorted set of 32-bit values (collision odds ~ 2^-32 a pair), and
    `ranks`: for each shingle position (in text order, aligned with `offsets`), the index of its value
    within its document's set, which lets verification see *where* two documents overlap."""
    keys = (hashes >> np.uint64(32)).astype(np.uint32)
    values = np.empty_like(keys)
    ranks = np.empty(len(keys), dtype=np.uint32)
    out_off = np.zeros(len(offsets), dtype=np.int64)
    used = _sort_unique_segments(offsets, keys, values, ranks, out_off)
    return out_off, values[:used].copy(), ranks
