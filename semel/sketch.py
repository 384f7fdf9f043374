"""The per-batch kernel of dedup: text in, everything later stages need out. Pure: no I/O, no state.

Both engines (local and Spark) call `sketch_batch` on Arrow batches, which is what makes their results
identical.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import xxhash

from semel.minhash import band_keys, signatures
from semel.text.normalize import normalize_text
from semel.text.tokens import shingles_and_tokens, string_buffers

MINI_BINS = 128  # 256 bytes a document; at the default threshold its estimate rarely misleads (4 sigma)


@dataclass
class Sketch:
    """What dedup keeps of a batch of n documents."""

    exact: np.ndarray        # uint64[n, 2]: 128-bit hash of the token stream
    bands: np.ndarray        # uint64[bands, n]: LSH band keys (band-major, so one band reads contiguously)
    seq_offsets: np.ndarray  # int64[n + 1]
    seq: np.ndarray          # uint32[...]: each document's tokens in text order (verification recomputes
                             # the shingles from them: semel.lsh.shingles_of)
    mini: np.ndarray         # uint16[n, MINI_BINS]: low bits of the first signature bins (estimate filter)
    lengths: np.ndarray      # int64[n]: size in UTF-8 bytes, for --keep longest


def sketch_batch(texts: pa.Array | pa.ChunkedArray, ngram: int, num_perm: int, bands: int, rows: int,
                 chars: bool = False, exact_level: str = "tokens") -> Sketch:
    """Shingle, hash, sign and band one batch of documents.

    `exact_level` picks what "exact copy" means: "tokens" (the same words in the same order, whatever
    the case, spacing or punctuation), or a text normalisation level of semel.text.normalize
    ("standard", "whitespace", or "none" for byte-identical), hashed with 128-bit xxh3.
    """
    offsets, hashes, exact, tok_offsets, tokens = shingles_and_tokens(texts, ngram, chars)
    if exact_level != "tokens":
        exact = exact_keys(texts, exact_level)
    sig = signatures(offsets, hashes, num_perm)
    keys = band_keys(sig, bands, rows)
    lengths = np.diff(string_buffers(texts)[0])  # from the offsets: no compute kernel for one lookup's text
    mini = np.ascontiguousarray(sig[:, :MINI_BINS].astype(np.uint16))
    return Sketch(exact, np.ascontiguousarray(keys.T), tok_offsets, tokens, mini, lengths)


def exact_keys(texts: pa.Array | pa.ChunkedArray, level: str) -> np.ndarray:
    """uint64[n, 2]: the 128-bit xxh3 hash of each text normalised at `level`."""
    out = np.empty((len(texts), 2), dtype=np.uint64)
    for i, text in enumerate(texts.to_pylist()):
        digest = xxhash.xxh3_128_intdigest(normalize_text(text or "", level).encode("utf-8"))
        out[i, 0] = digest >> 64
        out[i, 1] = digest & 0xFFFFFFFFFFFFFFFF
    return out
