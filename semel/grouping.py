"""Which document each document is removed for: a greedy pass in keep-priority order, never a chain.

Connected components of verified pairs chain: A~B and B~C put A and C together even when they share
nothing (on 20,000 man pages one component held 14,792 pages). So components only bound the search.
Inside each, documents are visited in keep-priority order; a document is removed for the first kept
document (in that order) that it verifies against directly, otherwise it is kept itself. Every removal
thus has a direct reason (`similarity` is the verified similarity to the kept document), and a document
is kept exactly when no higher-priority kept document is a copy of it: the rule an incremental run
against a saved index applies too.

Components are independent, so they are spread over workers; the result depends only on the
components, the priority order and the verification rule, never on the engine or the number of workers.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from semel.jit import kernel
from semel.lsh import COPY, Scratch, estimate_at_least, longest_document, verify
from semel.weights import Weights


@kernel(inline=True)
def pair_key(a: int, b: int) -> np.uint64:
    """The pair (a, b) in this order (a verdict need not be symmetric) as one integer; a, b < 2**32."""
    return (np.uint64(a) << np.uint64(32)) | np.uint64(b)


@kernel(inline=True)
def _find_key(keys: np.ndarray, key: np.uint64) -> int:
    """The position of `key` in the sorted `keys`, or -1."""
    i = np.searchsorted(keys, key)
    return i if i < keys.shape[0] and keys[i] == key else -1


class Verdicts:
    """Verdicts already reached on document pairs (the cluster stage verifies most of the pairs the keep
    stage asks about), looked up by `assign_components` instead of verifying again: same answers, less
    work. Keyed by the ordered pair, since a verdict need not be symmetric."""

    def __init__(self, left: np.ndarray, right: np.ndarray, codes: np.ndarray, sims: np.ndarray) -> None:
        keys = (np.asarray(left, np.uint64) << np.uint64(32)) | np.asarray(right, np.uint64)
        order = np.argsort(keys)
        self.keys = np.ascontiguousarray(keys[order])
        self.ok = np.ascontiguousarray(np.asarray(codes)[order] == COPY)
        self.sims = np.ascontiguousarray(np.asarray(sims, np.float64)[order])

    @classmethod
    def none(cls) -> Verdicts:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.keys, self.ok, self.sims


@kernel
def assign_components(comp_offsets: np.ndarray, members: np.ndarray, offsets: np.ndarray, seq: np.ndarray,
                      exact: np.ndarray, use_exact: bool, mini: np.ndarray, min_agree: int, rule: np.ndarray,
                      weights: tuple, scratch: tuple, known: tuple, kept_out: np.ndarray,
                      sim_out: np.ndarray) -> None:
    """For each component `members[comp_offsets[c]:comp_offsets[c+1]]` (document indices in keep-priority
    order): kept_out[p] = the document members[p] is removed for (itself when kept), sim_out[p] = their
    verified similarity (1.0 when kept or an exact copy). With `use_exact`, equal exact keys are copies
    without verification. `known` (`Verdicts.arrays()`) holds pairs verified already, whose verdicts are
    taken instead of verifying them again."""
    known_keys, known_ok, known_sims = known
    longest = 0
    for c in range(comp_offsets.shape[0] - 1):
        longest = max(longest, comp_offsets[c + 1] - comp_offsets[c])
    kept = np.empty(max(longest, 1), dtype=np.int64)
    for c in range(comp_offsets.shape[0] - 1):
        nk = 0
        for p in range(comp_offsets[c], comp_offsets[c + 1]):
            d = members[p]
            found = -1
            sim = 1.0
            for q in range(nk):
                k = kept[q]
                if use_exact and exact[d, 0] == exact[k, 0] and exact[d, 1] == exact[k, 1]:
                    found = k
                    sim = 1.0
                    break
                if min_agree > 0 and not estimate_at_least(mini, d, k, min_agree):
                    continue
                j = _find_key(known_keys, pair_key(k, d))
                if j >= 0:
                    ok, jaccard = known_ok[j], known_sims[j]
                else:
                    ok, jaccard = verify(offsets, seq, k, d, rule, weights, scratch)
                if ok:
                    found = k
                    sim = jaccard
                    break
            if found < 0:
                kept[nk] = d
                nk += 1
                kept_out[p] = d
                sim_out[p] = 1.0
            else:
                kept_out[p] = found
                sim_out[p] = sim


def priority_order(priority: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Document indices from most to least wanted: highest priority, then smallest id (string order),
    then smallest index. Both engines use this total order."""
    n = len(priority)
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[np.argsort(ids, kind="stable")] = np.arange(n)
    return np.lexsort((np.arange(n), id_rank, -np.asarray(priority, dtype=np.float64)))


def group_members(labels: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(component offsets, members) of the components with more than one document, members of each in
    `order` (the priority order), components by their label."""
    n = len(labels)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    sizes = np.bincount(labels, minlength=n)
    multi = np.flatnonzero(sizes[labels] > 1)
    members = multi[np.lexsort((rank[multi], labels[multi]))]
    lab = labels[members]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]]) if len(members) else np.zeros(0, np.int64)
    return np.r_[starts, len(members)].astype(np.int64), members.astype(np.int64)


def assign(labels: np.ndarray, order: np.ndarray, offsets: np.ndarray, seq: np.ndarray, exact: np.ndarray,
           use_exact: bool, mini: np.ndarray, min_agree: int, rule: np.ndarray,
           weights: Weights | None = None, workers: int = 1, known: Verdicts | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """(kept document index, verified similarity to it) for every document: `assign_components` over
    the components of `labels`, visited in `order`, spread over `workers` threads, taking the `known`
    verdicts where they answer."""
    n = len(labels)
    kept = np.arange(n, dtype=np.int64)
    sim = np.ones(n, dtype=np.float64)
    comp_offsets, members = group_members(labels, order)
    ncomp = len(comp_offsets) - 1
    if ncomp <= 0:
        return kept, sim
    k_out = np.empty(len(members), dtype=np.int64)
    s_out = np.empty(len(members), dtype=np.float64)
    longest = longest_document(offsets)
    w = (weights or Weights.none()).arrays(len(offsets) - 1)  # shared by the workers: masses remembered once
    verdicts = (known or Verdicts.none()).arrays()
    # contiguous runs of components with about equal member counts, one per worker
    cuts = np.searchsorted(comp_offsets, np.linspace(0, len(members), max(1, workers) + 1)[1:-1])
    bounds = np.unique(np.r_[0, cuts, ncomp])

    def run(span: tuple[int, int]) -> None:
        lo, hi = span
        sub = comp_offsets[lo:hi + 1]
        a, b = int(sub[0]), int(sub[-1])
        ko = np.empty(b - a, dtype=np.int64)
        so = np.empty(b - a, dtype=np.float64)
        assign_components(sub - a, members[a:b], offsets, seq, exact, use_exact, mini, min_agree, rule,
                          w, Scratch(longest).arrays(), verdicts, ko, so)
        k_out[a:b] = ko
        s_out[a:b] = so

    spans = [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True) if hi > lo]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(run, spans))
    kept[members] = k_out
    sim[members] = s_out
    return kept, sim


def clusters_table(id_column: pa.Array | pa.ChunkedArray, ids: np.ndarray, kept_idx: np.ndarray,
                   sim: np.ndarray, exact: np.ndarray) -> pa.Table:
    """The clusters.parquet table: per document its cluster (the kept document's id), whether it is
    kept, why (unique, original, exact, near), the verified similarity to the kept document and the
    cluster's size."""
    n = len(kept_idx)
    is_kept = kept_idx == np.arange(n)
    same_exact = np.all(exact == exact[kept_idx], axis=1) if n else np.zeros(0, bool)
    size = np.bincount(kept_idx, minlength=n)[kept_idx] if n else np.zeros(0, np.int64)
    reason = np.where(is_kept, np.where(size > 1, "original", "unique"),
                      np.where(same_exact, "exact", "near"))
    sim = np.where(~is_kept & same_exact, 1.0, sim)
    return pa.table({
        "id": id_column,
        "cluster": pa.array(ids[kept_idx] if n else [], pa.string()),
        "kept": pa.array(is_kept),
        "reason": pa.array(reason, pa.string()),
        "similarity": pa.array(np.round(sim, 6)),
        "cluster_size": pa.array(size.astype(np.int64)),
    })
