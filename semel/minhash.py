"""MinHash signatures by one-permutation hashing, LSH band keys, and the choice of bands x rows.

Classic MinHash hashes every shingle once per permutation (128 permutations = 128 hashes per shingle).
One-permutation hashing (Li, Owen & Zhang 2012) hashes each shingle once: the top bits pick one of
`num_perm` bins, the low 32 bits compete for that bin's minimum. Empty bins (short documents) are filled
by optimal densification (Shrivastava 2017), which borrows the value of a pseudo-randomly probed
non-empty bin with a probe sequence shared by all documents, so two documents agree on a densified bin
with probability equal to their Jaccard similarity. Cost: O(shingles + num_perm) per document instead of
O(shingles x num_perm), which is what lets semel afford many bands.
"""
from __future__ import annotations

import math

import numpy as np

from semel.jit import kernel
from semel.text.tokens import mix64

EMPTY = np.uint32(0xFFFFFFFF)


@kernel
def _signatures(offsets: np.ndarray, hashes: np.ndarray, num_perm: int, shift: int,
                out: np.ndarray) -> None:
    ndocs = offsets.shape[0] - 1
    filled = np.zeros(num_perm, dtype=np.bool_)
    for d in range(ndocs):
        sig = out[d]
        sig[:] = 0xFFFFFFFF
        filled[:] = False
        start, end = offsets[d], offsets[d + 1]
        if start == end:
            continue  # no shingles: left EMPTY, never becomes a candidate
        for i in range(start, end):
            h = hashes[i]
            b = np.int64(h >> np.uint64(shift)) if shift < 64 else np.int64(0)
            v = np.uint32(h & np.uint64(0xFFFFFFFF))
            if v < sig[b]:
                sig[b] = v
            filled[b] = True
        for b in range(num_perm):
            if filled[b]:
                continue
            attempt = np.uint64(1)
            while True:  # probe sequence depends only on (bin, attempt): shared by all documents
                j = np.int64(mix64(np.uint64(b) * np.uint64(0x9E3779B97F4A7C15) + attempt)
                             & np.uint64(num_perm - 1))  # num_perm is a power of two: the remainder
                if filled[j]:
                    sig[b] = sig[j]
                    break
                attempt += np.uint64(1)


def signatures(offsets: np.ndarray, hashes: np.ndarray, num_perm: int = 256) -> np.ndarray:
    """uint32[n, num_perm] one-permutation MinHash signatures of the sets hashes[offsets[d]:offsets[d+1]].

    `num_perm` must be a power of two. A document without shingles gets a row of EMPTY.
    """
    if num_perm < 1 or num_perm & (num_perm - 1):
        raise ValueError(f"num_perm must be a power of two, got {num_perm}")
    shift = 64 - int(math.log2(num_perm))
    out = np.empty((len(offsets) - 1, num_perm), dtype=np.uint32)
    _signatures(offsets, hashes, num_perm, shift, out)
    return out


@kernel
def _band_keys(sig: np.ndarray, bands: int, rows: int, out: np.ndarray) -> None:
    for d in range(sig.shape[0]):
        for b in range(bands):
            h = np.uint64(b + 1) * np.uint64(0x9E3779B97F4A7C15)
            for r in range(rows):
                h = mix64(h ^ np.uint64(sig[d, b * rows + r]))
            out[d, b] = h


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64[n, bands]: documents sharing any column's key become candidates. Stable across platforms."""
    if bands * rows > sig.shape[1]:
        raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm = {sig.shape[1]}")
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    _band_keys(np.ascontiguousarray(sig), bands, rows, out)
    return out


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of agreeing bins, row by row: an unbiased estimate of the Jaccard similarity."""
    return np.mean(a == b, axis=-1)
