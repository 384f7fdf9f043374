"""Looking documents up in a saved index: which kept document, if any, a new one is a copy of.

A lookup applies the rule semel.grouping applies inside a run: the new document is a copy of the first
indexed document, in keep-priority order (earlier segments first, then position), that it verifies
against directly (equal exact keys, or the sketch-bin estimate and semel.lsh.verify with the index's
frozen weights). The indexed documents tried are those sharing an LSH band key or the exact key with
it (at most MAX_BUCKET per band key: a key a template gives thousands of documents would otherwise make
one lookup verify thousands of pairs).

What a saved segment keeps in RAM is small (per document: exact key 16 bytes, exact lookup 12, token
offset 8; and the band fences, 1/FENCE of the band tables). The band keys are memory-mapped and searched in
place (per band one fence block); the documents of the matching keys, the candidates' sketch bins and, for
those that pass the estimate, their tokens are read with pread, only the bytes a lookup needs (the band
documents by one kernel calling the C library's pread, without the interpreter). Mapping the band
documents too made lookups ~0.15 ms faster but put another 340 bytes a document into the server's resident
memory (1.19 GB at 1.29M documents); the token sequences are never mapped.
"""
from __future__ import annotations

import mmap
import os
import threading
from dataclasses import dataclass

import numba as nb
import numpy as np
import pyarrow as pa

from semel.index.format import (
    FENCE,
    WEIGHTS,
    Manifest,
    SegmentData,
    config_from,
    fold32,
    read_manifest,
    read_only,
)
from semel.index.wal import WAL_FILE, replay
from semel.jit import kernel
from semel.lsh import Scratch, estimate_at_least, verify, verify_pairs
from semel.sketch import Sketch, sketch_batch
from semel.weights import Weights

MAX_BUCKET = 256


@dataclass
class Match:
    """What a lookup found: the kept document's id, the verified similarity, exact or near."""

    id: str
    similarity: float
    reason: str  # "exact" or "near"


@kernel
def _first_at_least(keys: np.ndarray, lo: int, hi: int, key: np.uint32) -> int:
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel
def fence_ranges(fence: np.ndarray, query: np.ndarray, n: int, block: int) -> np.ndarray:
    """int64[bands, 2]: per band, the positions [lo, hi) of the sorted keys that can hold query[b]
    (fence[b, i] = keys[b, i * block]): the blocks from the one before the first fence >= key to the
    last fence <= key."""
    out = np.zeros((fence.shape[0], 2), np.int64)
    for b in range(fence.shape[0]):
        key = query[b]
        left = _first_at_least(fence[b], 0, fence.shape[1], key)
        right = fence.shape[1] if key == 0xFFFFFFFF else _first_at_least(fence[b], left, fence.shape[1],
                                                                         np.uint32(key + 1))
        out[b, 0] = max(left - 1, 0) * block
        out[b, 1] = min(n, right * block)
    return out


@kernel
def passes_estimate(mini: np.ndarray, q_mini: np.ndarray, min_agree: int) -> np.ndarray:
    """Which candidates (rows of `mini`) agree with the query on at least `min_agree` sketch bins."""
    both = np.empty((2, q_mini.shape[0]), np.uint16)
    both[1] = q_mini
    out = np.ones(mini.shape[0], np.bool_)
    if min_agree <= 0:
        return out
    for c in range(mini.shape[0]):
        both[0] = mini[c]
        out[c] = estimate_at_least(both, 0, 1, min_agree)
    return out


def first_copy(offsets: np.ndarray, seq: np.ndarray, q_tokens: np.ndarray, rule: np.ndarray, weights: tuple,
               scratch: tuple) -> tuple[int, float]:
    """(the first of the candidates, whose tokens are seq[offsets[c]:offsets[c + 1]] in priority order,
    that the query verifies against, or -1; the similarity): semel.lsh.verify_pairs with the indexed
    document as the kept side, as semel.grouping.assign_components calls verify, and with the argument
    types the engines use (one compiled kernel)."""
    k = len(offsets) - 1
    all_offsets = np.concatenate([[0], offsets + len(q_tokens)]).astype(np.int64)
    all_seq = np.concatenate([q_tokens, seq]).astype(np.uint32)
    left = np.arange(1, k + 1, dtype=np.int64)
    right = np.zeros(k, np.int64)
    ok = np.zeros(k, np.bool_)
    verify_pairs(left, right, all_offsets, all_seq, rule, weights, scratch, ok)
    hits = np.flatnonzero(ok)
    if not len(hits):
        return -1, 0.0
    c = int(hits[0])
    return c, float(verify(all_offsets, all_seq, c + 1, 0, rule, weights, scratch)[1])


@kernel
def band_hits(keys: np.ndarray, ranges: np.ndarray, query: np.ndarray, max_bucket: int) -> np.ndarray:
    """int64[k, 3]: (band, first, end) positions of query[b] among band b's sorted keys (`keys`:
    uint32[bands, n], searched only at positions ranges[b]), for the bands where it occurs."""
    out = np.empty((query.shape[0], 3), np.int64)
    k = 0
    for b in range(query.shape[0]):
        row = keys[b]
        i = _first_at_least(row, ranges[b, 0], ranges[b, 1], query[b])
        j = i
        while j < ranges[b, 1] and row[j] == query[b] and j - i < max_bucket:
            j += 1
        if j > i:
            out[k, 0] = b
            out[k, 1] = i
            out[k, 2] = j
            k += 1
    return out[:k]


@kernel
def gather_hits(docs: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """The documents at the `band_hits` positions of an in-memory band-document table."""
    out = np.empty(int((hits[:, 2] - hits[:, 1]).sum()), np.int64)
    k = 0
    for h in range(hits.shape[0]):
        for j in range(hits[h, 1], hits[h, 2]):
            out[k] = docs[hits[h, 0], j]
            k += 1
    return out


# the C library's pread, bound by name when a kernel is loaded (a ctypes pointer would stop numba caching it)
_pread = nb.types.ExternalFunction("pread", nb.types.intp(nb.types.intc, nb.types.uintp, nb.types.uintp,
                                                           nb.types.int64))


@kernel(compiled_only=True)
def pread_hits(fd: int, offset: int, n: int, hits: np.ndarray, out: np.ndarray) -> int:
    """Read the documents at the `band_hits` positions of a saved uint32[bands, n] band-document table
    (file `fd`, data at `offset`) into `out`, one pread a band without the interpreter (a Python pread a
    band cost ~0.15 ms a lookup); -1 on a short read."""
    k = 0
    for h in range(hits.shape[0]):
        b, i, j = hits[h, 0], hits[h, 1], hits[h, 2]
        size = (j - i) * 4
        if _pread(fd, out[k:].ctypes.data, size, offset + (b * n + i) * 4) != size:
            return -1
        k += j - i
    return k


def candidates(seg: SegmentData, query: np.ndarray, exact_high: np.uint64) -> np.ndarray:
    """The documents of `seg` sharing a band key (`query`: uint32[bands]) or the exact key's high word
    with the query, sorted (= keep-priority order), each once."""
    found = []
    if len(query):
        query = read_only(query)
        ranges = fence_ranges(seg.band_fence[:len(query)], query, seg.documents, FENCE)
        hits = band_hits(seg.band_keys, ranges, query, MAX_BUCKET)
        if len(hits):
            found.append(seg.hit_docs(hits))
    e = int(np.searchsorted(seg.exact_keys, exact_high))
    f = int(np.searchsorted(seg.exact_keys, exact_high, side="right"))
    if f > e:
        found.append(seg.exact_docs[e:f])
    if not found:
        return np.zeros(0, np.int64)
    return np.unique(np.concatenate(found).astype(np.int64))


def _random_access(array: np.ndarray) -> np.ndarray:
    """Tell the kernel a memory map is read at random (no read-ahead of neighbouring pages)."""
    raw = getattr(array, "_mmap", None)
    if raw is not None and hasattr(mmap, "MADV_RANDOM"):
        raw.madvise(mmap.MADV_RANDOM)
    return array


class Segment(SegmentData):
    """A saved segment: the small per-document arrays and the fences in RAM, the rest read on demand."""

    IN_RAM = ("exact", "seq_offsets", "band_fence", "exact_keys", "exact_docs")
    ON_DISK = ("mini", "seq", "band_docs")  # read with pread

    def __init__(self, root: str, entry: dict) -> None:
        path = os.path.join(root, entry["name"])
        arrays: dict[str, np.ndarray] = {name: np.load(os.path.join(path, name + ".npy"))
                                         for name in self.IN_RAM}
        self.files: dict[str, tuple[int, int, np.dtype, tuple]] = {}
        for name in self.ON_DISK:
            header = np.load(os.path.join(path, name + ".npy"), mmap_mode="r")  # the header only
            fd = os.open(os.path.join(path, name + ".npy"), os.O_RDONLY)
            self.files[name] = (fd, int(header.offset), header.dtype, header.shape)
            arrays[name] = np.zeros((0,) * header.ndim, header.dtype)  # never read: see the methods below
            del header
        arrays["band_keys"] = _random_access(np.load(os.path.join(path, "band_keys.npy"), mmap_mode="r"))
        docs = pa.ipc.open_file(pa.memory_map(os.path.join(path, "docs.arrow"))).read_all()
        self.name = entry["name"]
        super().__init__(docs.column("id"), docs.column("priority"), arrays)
        self.longest = int(entry["longest"])
        self.documents = int(entry["documents"])

    def _read(self, name: str, start: int, count: int) -> np.ndarray:
        """`count` items of the flat array `name` from item `start`."""
        fd, offset, dtype, _ = self.files[name]
        data = os.pread(fd, count * dtype.itemsize, offset + start * dtype.itemsize)
        return np.frombuffer(data, dtype)

    def hit_docs(self, hits: np.ndarray) -> np.ndarray:
        fd, offset, _, shape = self.files["band_docs"]
        out = np.empty(int((hits[:, 2] - hits[:, 1]).sum()), np.uint32)
        if pread_hits(fd, offset, shape[1], hits, out) < 0:
            raise OSError(f"short read of {self.name}/band_docs.npy (the index changed or is truncated)")
        return out

    def mini_rows(self, docs: np.ndarray) -> np.ndarray:
        width = self.files["mini"][3][1]
        return np.stack([self._read("mini", int(d) * width, width) for d in docs]) if len(docs) else \
            np.zeros((0, width), np.uint16)

    def tokens(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offsets = np.zeros(len(docs) + 1, np.int64)
        parts = []
        for i, d in enumerate(docs):
            s, t = int(self.seq_offsets[d]), int(self.seq_offsets[d + 1])
            parts.append(self._read("seq", s, t - s))
            offsets[i + 1] = offsets[i] + t - s
        return offsets, (np.concatenate(parts) if parts else np.zeros(0, np.uint32))

    def close(self) -> None:
        for fd, *_ in self.files.values():
            os.close(fd)
        self.files = {}


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
        self.logged = self.log_tail()
        if self.logged is not None:  # added by semel serve and not folded yet: searched all the same
            self.segments.append(self.logged)

    def log_tail(self) -> SegmentData | None:
        """The documents the write-ahead log holds beyond the manifest's `wal_through`, as an in-memory
        segment in the order they were added (None when there are none)."""
        m = self.manifest
        records = [doc for seq, doc, _ in replay(os.path.join(self.root, WAL_FILE)) if seq > m.wal_through]
        if not records:
            return None
        sk = self.sketch([str(doc["text"]) for doc in records])
        rows = m.next_row + np.arange(len(records), dtype=np.float64)
        return SegmentData.from_docs(pa.array([str(doc["id"]) for doc in records], pa.string()), -rows,
                                     sk.exact, sk.mini, sk.seq_offsets, sk.seq, sk.bands)

    @property
    def documents(self) -> int:
        return sum(s.documents for s in self.segments)

    def read_into_cache(self) -> int:
        """Read every file of the saved segments once (`semel serve --warm`), so that lookups find them in
        the operating system's page cache instead of waiting for the disk; returns the bytes read. Nothing
        is kept by the process."""
        total = 0
        for seg in self.segments:
            if not isinstance(seg, Segment):  # the write-ahead log's documents, in memory
                continue
            folder = os.path.join(self.root, seg.name)
            for name in sorted(os.listdir(folder)):
                with open(os.path.join(folder, name), "rb", buffering=0) as f:
                    while chunk := f.read(16 << 20):
                        total += len(chunk)
        return total

    def close(self) -> None:
        for seg in self.segments:
            seg.close()

    def warm(self) -> None:
        """Compile (or load from numba's cache) every lookup kernel now, not in the first request."""
        fence = read_only(np.zeros((1, 1), np.uint32))
        fence_ranges(fence, read_only(np.zeros(1, np.uint32)), 1, FENCE)
        hits = band_hits(fence, np.zeros((1, 2), np.int64), read_only(np.zeros(1, np.uint32)), 1)
        gather_hits(fence, hits)
        pread_hits(-1, 0, 1, hits[:0], np.zeros(0, np.uint32))
        passes_estimate(read_only(np.zeros((0, 2), np.uint16)), read_only(np.zeros(2, np.uint16)), 1)
        one = np.ones(1, np.uint32)  # a pair that verifies: both kernels compiled
        first_copy(np.array([0, 1], np.int64), one, one, self.rule, self.weights.arrays(), self.scratch(1))
        self.check("warm")

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
        tokens = np.asarray(sk.seq[sk.seq_offsets[i]:sk.seq_offsets[i + 1]])
        query = fold32(sk.bands[:, i])
        exact = np.asarray(sk.exact[i])
        q_mini = read_only(np.ascontiguousarray(sk.mini[i]))
        cfg = self.cfg
        min_agree = cfg.min_agree(q_mini.shape[0])
        scratch = self.scratch(len(tokens))
        for seg in [*self.segments, *(extra or [])]:
            if not seg.documents:
                continue
            cands = candidates(seg, query if cfg.near else query[:0], exact[0])
            if not len(cands):
                continue
            exact_at = len(cands)  # the first candidate with the same exact key (with --exact)
            if cfg.exact:
                same = np.flatnonzero((seg.exact[cands, 0] == exact[0]) & (seg.exact[cands, 1] == exact[1]))
                exact_at = int(same[0]) if len(same) else exact_at
            before = cands[:exact_at]  # candidates ranked above it are tried first, as in a whole run
            tried = before[passes_estimate(read_only(np.ascontiguousarray(seg.mini_rows(before))), q_mini,
                                           min_agree)] if len(before) else before
            if len(tried):
                offsets, seq = seg.tokens(tried)
                pos, sim = first_copy(offsets, seq, tokens, self.rule, self.weights.arrays(), scratch)
                if pos >= 0:
                    return Match(seg.id_of(int(tried[pos])), round(float(sim), 6), "near")
            if exact_at < len(cands):
                return Match(seg.id_of(int(cands[exact_at])), 1.0, "exact")
        return None

    def check(self, text: str, extra: list[SegmentData] | None = None) -> Match | None:
        """One text against the index."""
        return self.lookup(self.sketch([text]), 0, extra)
