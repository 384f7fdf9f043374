"""Arrow columns <-> the kernels' numpy arrays, and the small kernels only the Spark engine needs (pairs of
a bucket, pairs laid out for one `verify_pairs` call, components of an edge list in one task)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from semel.cluster import components
from semel.config import DedupConfig
from semel.jit import kernel
from semel.lsh import Scratch, longest_document, verdict_pairs
from semel.weights import (
    Weights,
)

MINI_DTYPE = np.uint16




def ragged(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets, uint32 values) of a binary column holding one packed uint32 array per row."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if n == 0:
        return np.zeros(1, np.int64), np.zeros(0, np.uint32)
    width = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    off = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset: arr.offset + n + 1].astype(np.int64)
    data = arr.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[off[0]: off[-1]] if data is not None else np.zeros(0, np.uint8)
    return (off - off[0]) // 4, np.ascontiguousarray(raw).view(np.uint32)


def packed(offsets: np.ndarray, values: np.ndarray) -> pa.Array:
    """A binary column of one packed uint32 array per row (the inverse of `ragged`)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    start = int(offsets[0])
    byte_off = ((offsets - start) * 4).astype(np.int32)
    data = np.ascontiguousarray(values[start: int(offsets[-1])], dtype=np.uint32)
    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1,
                                 [None, pa.py_buffer(byte_off), pa.py_buffer(data.tobytes())])


@kernel
def bucket_pairs(offsets: np.ndarray, members: np.ndarray, max_bucket: int, window: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs of buckets, exactly as `join_band` forms them: `members[offsets[k]:offsets[k+1]]`
    (document numbers sorted ascending) are all paired when there are at most `max_bucket`, else each with
    its next `window`. Pairs come out (smaller, larger)."""
    total = 0
    for k in range(offsets.shape[0] - 1):
        m = offsets[k + 1] - offsets[k]
        reach = m if m <= max_bucket else window + 1
        for p in range(m):
            total += max(0, min(m, p + reach) - p - 1)
    left = np.empty(total, dtype=np.int64)
    right = np.empty(total, dtype=np.int64)
    t = 0
    for k in range(offsets.shape[0] - 1):
        s, e = offsets[k], offsets[k + 1]
        m = e - s
        reach = m if m <= max_bucket else window + 1
        for p in range(s, e):
            for q in range(p + 1, min(e, p + reach)):
                left[t] = members[p]
                right[t] = members[q]
                t += 1
    return left, right


@kernel
def interleave(a_off: np.ndarray, a_val: np.ndarray, b_off: np.ndarray, b_val: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Ragged arrays of pairs laid out as documents 2i (a side) and 2i+1 (b side)."""
    k = a_off.shape[0] - 1
    off = np.zeros(2 * k + 1, dtype=np.int64)
    val = np.empty(a_val.shape[0] + b_val.shape[0], dtype=np.uint32)
    t = 0
    for i in range(k):
        for j in range(a_off[i], a_off[i + 1]):
            val[t] = a_val[j]
            t += 1
        off[2 * i + 1] = t
        for j in range(b_off[i], b_off[i + 1]):
            val[t] = b_val[j]
            t += 1
        off[2 * i + 2] = t
    return off, val


def _call(kernel: Any, values: dict[str, Any], scratch: Scratch) -> None:
    """Call a kernel of semel.lsh with arguments by parameter name (scratch buffers included), so this
    engine follows the embedded engine's kernels as they change instead of copying their signatures."""
    import inspect

    named = {**vars(scratch), **values}
    params = inspect.signature(getattr(kernel, "py_func", kernel)).parameters
    kernel(*[named[p] for p in params])


def minis_of(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """uint16[n, bins]: the sketch bins of a `mini_col` column."""
    return ragged(col)[1].view(MINI_DTYPE).reshape(len(col), -1)


def exact_of(batch: pa.RecordBatch | pa.Table) -> np.ndarray:
    """uint64[n, 2]: the exact keys of sketch rows (columns exact0, exact1)."""
    exact = np.stack([batch.column("exact0").to_numpy(), batch.column("exact1").to_numpy()], axis=1)
    return np.ascontiguousarray(exact).view(np.uint64)


def _minis(a: pa.Array, b: pa.Array) -> np.ndarray:
    """The two sides' sketch bins interleaved as rows 2i and 2i+1."""
    ma = minis_of(a)
    mb = minis_of(b)
    out = np.empty((2 * len(a), ma.shape[1]), dtype=MINI_DTYPE)
    out[0::2] = ma
    out[1::2] = mb
    return out


def estimate_passes(cfg: DedupConfig, a_mini: pa.Array, b_mini: pa.Array) -> np.ndarray:
    """Which pairs pass the sketch-bin estimate filter of `band_candidates` (at least `min_agreement`
    bins agree): all of them with containment on, or without bins to compare."""
    k = len(a_mini)
    if cfg.containment is not None or k == 0:
        return np.ones(k, dtype=bool)
    mini = _minis(a_mini, b_mini)
    min_agree = cfg.min_agree(mini.shape[1])
    if min_agree <= 0:
        return np.ones(k, dtype=bool)
    return (mini[0::2] == mini[1::2]).sum(axis=1) >= min_agree


def verify_pairs(cfg: DedupConfig, a_seq: pa.Array, b_seq: pa.Array, a_mini: pa.Array | None = None,
                 b_mini: pa.Array | None = None, weights: Weights | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(verdict code, similarity) of each pair (a < b), by the embedded engine's own rule: the sketch-bin
    estimate filter (`estimate_passes`; code -1 for the pairs it turns away, never verified; skipped
    without bins: pairs that already passed it), then `semel.lsh.verdict_pairs` on the whole batch of
    pairs in one call."""
    k = len(a_seq)
    codes = np.full(k, -1, dtype=np.int8)
    sims = np.zeros(k, dtype=np.float64)
    if k == 0:
        return codes, sims
    off, val = interleave(*ragged(a_seq), *ragged(b_seq))
    left = np.arange(0, 2 * k, 2, dtype=np.int64)
    right = left + 1
    if a_mini is not None and b_mini is not None:
        passed = estimate_passes(cfg, a_mini, b_mini)
        left, right = left[passed], right[passed]
    verdicts = np.zeros(len(left), dtype=np.int8)
    similarities = np.zeros(len(left), dtype=np.float64)
    w = weights or Weights.none()
    scratch = Scratch(longest_document(off)).arrays()
    verdict_pairs(left, right, off, val, cfg.rule(), w.arrays(), scratch, verdicts, similarities)
    codes[left // 2] = verdicts
    sims[left // 2] = similarities
    return codes, sims


def components_one_task(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, label = smallest node of its component) for every node of the edges (a[i], b[i]), by the
    embedded engine's union-find on nodes renumbered 0..m-1 (memory ~ the edges, not the documents)."""
    if len(a) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    labels = components(len(nodes), inverse[: len(a)], inverse[len(a):])
    return nodes, nodes[labels]  # nodes ascend, so the smallest index is the smallest node



def mini_col(mini: np.ndarray) -> pa.Array:
    """The sketch bins of each document as one binary value (viewed as uint32 words by `ragged`)."""
    m = np.ascontiguousarray(mini.astype(MINI_DTYPE))
    words = m.view(np.uint32).reshape(-1) if m.size else np.zeros(0, np.uint32)
    width = m.shape[1] * m.itemsize // 4 if m.ndim == 2 else 0
    return packed(np.arange(m.shape[0] + 1, dtype=np.int64) * width, words)


def names(schema: str) -> list[str]:
    return [part.strip().split(" ")[0] for part in schema.split(", ")]
