"""Shingle document frequencies, and the weight verification gives each shingle.

A shingle that many documents of the collection contain (a licence paragraph, a man-page section
heading, a site's footer, the fixed text of a template) is weak evidence that two documents are
copies. Verification therefore compares documents by a Jaccard similarity in which each shingle weighs

    w(df) = 1                                   for df < floor
    w(df) = (log(N / df) / log(N / floor))^4    above it (1 at the floor, 0 when every document has it)

(the fourth power: against the square it kept the news benchmark's F1 within 0.001 and removed fewer
template instances from real documentation, e.g. 20 fewer gcloud commands losing every page), with N the
number of distinct documents and floor = clamp(0.1% of N, 3, 100): below the floor a shingle
counts fully, so a story copied a few dozen times keeps its full weight, while a template shared by
hundreds of pages barely counts. The floor stops growing at 100 so that at a billion documents a template
used by a few thousand pages is still discounted.

Only shingles at or above the floor need a count, and only roughly: where the floor is above 10, a
sample of the documents chosen by their exact key (a tenth once the floor reaches 100; `sample_rate`)
is counted and the counts scaled, as a 10% sample is close to exact. The sampled counts are found in
two passes with bounded memory: a count-min sketch over every sampled document's distinct shingles (it
never undercounts), then exact counts for the shingles the sketch puts at or above the (sampled) floor.
The Spark engine counts the same sample exactly with a group-by and keeps the same shingles, so both
engines build the same table.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from semel.jit import kernel
from semel.lsh import USED, Scratch, _insert, _mask_for, _next_tag, longest_document, shingles_of, slot
from semel.text.tokens import mix64

FLOOR_SHARE, FLOOR_MIN, FLOOR_MAX = 0.001, 3, 100
SAMPLE_HITS = 10
BITMAP_WORDS = 1 << 15  # 2^21 bits, 256 KiB: stays in cache, a few % false hits at 100k frequent shingles
SAMPLE_MASK = (1 << 20) - 1


def df_floor(documents: int) -> int:
    """The document frequency from which a shingle's weight falls below 1."""
    return int(min(max(FLOOR_MIN, math.ceil(FLOOR_SHARE * documents)), FLOOR_MAX))


@dataclass
class Weights:
    """An open-addressing table from shingle value to weight (keys carry USED; 0 = empty slot), for the
    shingles at or above the floor; every other shingle weighs 1 (semel.lsh.weight_of reads it). An
    empty table means plain Jaccard."""

    keys: np.ndarray  # uint64[2^k]
    values: np.ndarray  # float64[2^k]
    documents: int = 0
    frequent: int = 0
    bits: np.ndarray = field(init=False)  # uint64 words: one bit per hash bucket of the table's shingles

    def __post_init__(self) -> None:
        self.bits = np.zeros(BITMAP_WORDS if self.keys.shape[0] > 1 else 1, np.uint64)
        _set_bits(self.keys, self.bits)

    def arrays(self, documents: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What the kernels take (semel.lsh.weight_of), with room to remember the total weight of
        `documents` documents (numbered as the kernels' offsets; semel.lsh.overlap): pass the collection's
        size when the same documents meet in many pairs."""
        return self.keys, self.values, self.bits, np.full(documents, -1.0)

    @classmethod
    def none(cls) -> Weights:
        return cls(np.zeros(1, np.uint64), np.ones(1, np.float64))

    @classmethod
    def from_counts(cls, values: np.ndarray, counts: np.ndarray, documents: int, rate: float = 1.0
                    ) -> Weights:
        """The table for shingles `values` seen in `counts` documents of a `rate` sample of `documents`
        (only those estimated at or above the floor are kept)."""
        floor = df_floor(documents)
        estimate = np.asarray(counts, np.float64) / rate
        keep = estimate >= floor
        values, counts = np.asarray(values, np.uint32)[keep], estimate[keep]
        if len(values) == 0:
            return cls(np.zeros(1, np.uint64), np.ones(1, np.float64), documents, 0)
        w = (np.log(documents / counts) / math.log(documents / floor)) ** 4 if documents > floor else \
            np.zeros(len(counts))
        size = 1 << int(2 * len(values)).bit_length()
        keys = np.zeros(size, np.uint64)
        table = np.ones(size, np.float64)
        _fill(keys, table, values, np.clip(w, 0.0, 1.0))
        return cls(keys, table, documents, int(len(values)))


@kernel
def _set_bits(keys: np.ndarray, bits: np.ndarray) -> None:
    nbits = bits.shape[0] * 64
    for key in keys:
        if key != 0:
            bit = np.int64(key ^ USED) & (nbits - 1)
            bits[bit >> 6] |= np.uint64(1) << np.uint64(bit & 63)


@kernel
def _fill(keys: np.ndarray, table: np.ndarray, values: np.ndarray, w: np.ndarray) -> None:
    for i in range(values.shape[0]):
        j = slot(keys, USED | np.uint64(values[i]))
        keys[j] = USED | np.uint64(values[i])
        table[j] = w[i]


@kernel
def _doc_distinct(tokens: np.ndarray, ngram: int, sh: np.ndarray, seen: np.ndarray, other: np.ndarray,
                  counter: np.ndarray) -> int:
    """Move one document's distinct shingle values to the front of `sh`; return how many."""
    k = shingles_of(tokens, ngram, sh)
    tag = _next_tag(seen, other, counter)
    mask = _mask_for(k, seen)
    m = 0
    for i in range(k):
        _, new = _insert(seen, mask, tag, sh[i])
        if new:
            sh[m] = sh[i]
            m += 1
    return m


@kernel
def _sketch_counts(offsets: np.ndarray, seq: np.ndarray, docs: np.ndarray, ngram: int, cms: np.ndarray,
                   sh: np.ndarray, seen: np.ndarray, other: np.ndarray, counter: np.ndarray) -> None:
    """Count-min sketch (2 rows of saturating 8-bit counters: the floor is at most 100) of the documents
    each shingle value occurs in."""
    mask = np.uint64(cms.shape[1] - 1)
    for d in docs:
        m = _doc_distinct(seq[offsets[d]:offsets[d + 1]], ngram, sh, seen, other, counter)
        for i in range(m):
            h = mix64(np.uint64(sh[i]))
            i0 = np.int64(h & mask)
            i1 = np.int64((h >> np.uint64(32)) & mask)
            if cms[0, i0] < 255:
                cms[0, i0] += 1
            if cms[1, i1] < 255:
                cms[1, i1] += 1


@kernel
def _grow(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    new_keys = np.zeros(keys.shape[0] * 2, np.uint64)
    new_counts = np.zeros(keys.shape[0] * 2, np.int64)
    for i in range(keys.shape[0]):
        if keys[i] != 0:
            j = slot(new_keys, keys[i])
            new_keys[j] = keys[i]
            new_counts[j] = counts[i]
    return new_keys, new_counts


@kernel
def exact_counts(offsets: np.ndarray, seq: np.ndarray, docs: np.ndarray, ngram: int, cms: np.ndarray,
                 floor: int, sh: np.ndarray, seen: np.ndarray, other: np.ndarray, counter: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(values, document counts) of every shingle value of `docs` whose count-min estimate is >= floor
    (all of them when `cms` has no columns)."""
    keys = np.zeros(1024, np.uint64)
    counts = np.zeros(1024, np.int64)
    used = 0
    use_cms = cms.shape[1] > 0
    mask64 = np.uint64(cms.shape[1] - 1) if use_cms else np.uint64(0)
    for d in docs:
        m = _doc_distinct(seq[offsets[d]:offsets[d + 1]], ngram, sh, seen, other, counter)
        for i in range(m):
            v = sh[i]
            h = mix64(np.uint64(v))
            if use_cms:
                estimate = min(cms[0, np.int64(h & mask64)], cms[1, np.int64((h >> np.uint64(32)) & mask64)])
                if estimate < floor:
                    continue
            if 2 * (used + 1) > keys.shape[0]:
                keys, counts = _grow(keys, counts)
            j = slot(keys, USED | np.uint64(v))
            if keys[j] == 0:
                keys[j] = USED | np.uint64(v)
                used += 1
            counts[j] += 1
    values = np.empty(used, np.uint32)
    out = np.empty(used, np.int64)
    t = 0
    for j in range(keys.shape[0]):
        if keys[j] != 0:
            values[t] = np.uint32(keys[j] ^ USED)
            out[t] = counts[j]
            t += 1
    return values, out


def scratch_for(offsets: np.ndarray) -> tuple[np.ndarray, ...]:
    """The counting kernels' buffers (a shingle buffer, two stamped tables, the generation counter): a
    verification Scratch sized for the longest document."""
    s = Scratch(longest_document(offsets))
    return s.sh_a, s.a_table, s.b_table, s.counter


def sketch_width(shingles: int, floor: int) -> int:
    """Count-min columns: about 4 x shingles / floor, so that chance collisions rarely lift a rare
    shingle to the floor (each one only costs an exact count), within 64 KiB..16 MiB a row."""
    return 1 << int(min(24, max(16, math.ceil(math.log2(max(1, 4 * shingles // floor))))))


def sample_rate(documents: int) -> float:
    """The share of documents whose shingles are counted: enough that a shingle at the floor is seen
    about SAMPLE_HITS times (every document up to a floor of 10, i.e. about 10,000 documents; a tenth
    from 100,000 on, where the floor stops at 100)."""
    return min(1.0, SAMPLE_HITS / df_floor(documents))


def sample_cutoff(rate: float) -> int:
    """A document is in the sample when the low SAMPLE_MASK bits of its exact key's high word are below
    this: chosen by content, so every engine and every run picks the same ones, whatever the order or
    partitioning (`in_sample`; the Spark engine applies the same test to its exact0 column)."""
    return int(rate * (SAMPLE_MASK + 1))


def in_sample(exact_high: np.ndarray, rate: float) -> np.ndarray:
    """Which documents are counted (`sample_cutoff`)."""
    bits = np.asarray(exact_high).astype(np.uint64) & np.uint64(SAMPLE_MASK)
    return bits < np.uint64(sample_cutoff(rate))


def sample_floor(documents: int) -> int:
    """The fewest sampled documents a shingle needs for its estimate to reach the floor."""
    return max(1, math.floor(df_floor(documents) * sample_rate(documents)))


def collection_weights(offsets: np.ndarray, seq: np.ndarray, docs: np.ndarray, exact_high: np.ndarray,
                       ngram: int, workers: int = 1) -> Weights:
    """The weights of a whole collection held in memory (`docs`: the distinct documents; `exact_high`:
    the high word of every document's exact key, which picks the sample), counted on `workers` threads
    (each a slice of the sample; sketches and counts are added up, so the result is the same)."""
    n = len(docs)
    if n <= df_floor(n):
        return Weights.none()
    rate = sample_rate(n)
    sample = docs[in_sample(exact_high[docs], rate)]
    floor = sample_floor(n)
    width = sketch_width(int(np.sum(np.diff(offsets)[sample])), floor)
    slices = [s for s in np.array_split(sample, max(1, workers)) if len(s)]
    buffers = [scratch_for(offsets) for _ in slices]

    def sketch(k: int) -> np.ndarray:
        cms = np.zeros((2, width), np.uint8)
        _sketch_counts(offsets, seq, slices[k], ngram, cms, *buffers[k])
        return cms

    with ThreadPoolExecutor(max_workers=len(slices) or 1) as pool:
        sketches = list(pool.map(sketch, range(len(slices))))
        total = np.minimum(np.sum(sketches, axis=0, dtype=np.uint16), 255).astype(np.uint8)
        parts = list(pool.map(lambda k: exact_counts(offsets, seq, slices[k], ngram, total, floor,
                                                     *buffers[k]), range(len(slices))))
    values = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.uint32)
    counts = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    values, inverse = np.unique(values, return_inverse=True)
    return Weights.from_counts(values, np.bincount(inverse, weights=counts).astype(np.int64), n, rate)
