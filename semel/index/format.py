"""The on-disk layout of a saved index, and writing one segment of it.

    INDEX/manifest.json     format version, the settings documents were compared under, the segments
                            in order, the documents they hold, and how far the write-ahead log was folded in
    INDEX/weights/          the collection's shingle weights (semel.weights), frozen when the index was built
    INDEX/wal.log           documents added by `semel serve` since the last fold (semel.index.wal)
    INDEX/seg-NNNNN/        one batch of kept documents, in keep-priority order (position = rank):
        docs.arrow          id (string) and priority (float64), Arrow IPC, memory-mapped
        exact.npy           uint64[n, 2]   exact keys
        mini.npy            uint16[n, 128] sketch bins (the estimate filter)
        seq_offsets.npy     int64[n + 1]   token offsets
        seq.npy             uint32[...]    tokens in text order (verification recomputes shingles)
        band_keys.npy       uint32[bands, n] each band's keys (folded to 32 bits), sorted
        band_docs.npy       uint32[bands, n] the document of each key
        band_fence.npy      uint32[bands, ceil(n / FENCE)] every FENCE-th sorted key
        exact_keys.npy      uint64[n]      exact keys' high words, sorted; exact_docs.npy their documents

A lookup (semel.index.query) keeps in RAM only the per-document exact keys, exact lookup and token
offsets (36 bytes a document) and the fences; it memory-maps the band keys (4 bytes a band: 340 at the
default 85 bands) and reads band documents, sketch bins and tokens with pread, so resident memory stays
near 376 bytes a document whatever the token sequences weigh. On disk a document takes 16
(exact) + 256 (mini) + 8 x bands (680) + 12 (exact lookup) + 8 (offset) + 4 x tokens + its id: about
1.3 KB plus 4 bytes a word (2.3 KB for news articles). Folding band keys to 32 bits only adds candidates
(each one is checked against the sketch bins and verified exactly), never loses one.

A segment is written to a temporary folder and renamed; the manifest is replaced atomically after it,
so a reader sees the old index or the new one, never a half-written segment.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from semel.config import DedupConfig
from semel.errors import SemelError, escape
from semel.io.atomic import atomic_path, remove_path

FORMAT = "semel-index"
VERSION = 1
MANIFEST = "manifest.json"
FENCE = 1024
WEIGHTS = "weights"


def similarity_settings(cfg: DedupConfig) -> dict:
    """The settings that decide whether two documents are copies: an index answers only runs (and
    lookups) made with the same ones."""
    bands, rows = cfg.band_rows
    return {"threshold": cfg.threshold, "ngram": cfg.ngram, "shingle": cfg.shingle,
            "exact_level": cfg.exact_level, "num_perm": cfg.num_perm, "bands": bands, "rows": rows,
            "containment": cfg.containment, "min_containment_shingles": cfg.min_containment_shingles,
            "max_gap": cfg.max_gap, "max_trailing": cfg.max_trailing, "template_min": cfg.template_min,
            "short": cfg.short, "df_weights": cfg.df_weights, "keep": cfg.keep, "exact": cfg.exact,
            "near": cfg.near}


def config_from(settings: dict) -> DedupConfig:
    """A DedupConfig carrying an index's settings (for sketching and verifying lookups)."""
    s = dict(settings)
    bands, rows = s.pop("bands"), s.pop("rows")
    return DedupConfig(inputs=["-"], output="-", bands=bands, rows=rows, **s)


def settings_change(index_settings: dict, cfg: DedupConfig) -> str | None:
    """Which setting of `cfg` differs from the index's, in words (None when they agree)."""
    mine = similarity_settings(cfg)
    for key, value in index_settings.items():
        if mine.get(key) != value:
            return f"{key} is {mine.get(key)!r} here but {value!r} in the index"
    return None


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view (numba compiles a kernel once per array flavour; saved segments are read-only)."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def fold32(keys: np.ndarray) -> np.ndarray:
    """64-bit band keys folded to 32 bits (high xor low word)."""
    keys = np.asarray(keys, np.uint64)
    return ((keys >> np.uint64(32)) ^ (keys & np.uint64(0xFFFFFFFF))).astype(np.uint32)


@dataclass
class Manifest:
    settings: dict
    segments: list[dict]          # {"name", "documents", "longest"}
    next_row: int = 0             # the input row the next added document counts as (keep=first)
    wal_through: int = 0          # write-ahead log records up to this number are in segments
    weights_documents: int = 0
    weights_frequent: int = 0

    @property
    def documents(self) -> int:
        return sum(int(s["documents"]) for s in self.segments)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "settings": self.settings, "segments": self.segments,
                "next_row": self.next_row, "wal_through": self.wal_through,
                "weights": {"documents": self.weights_documents, "frequent": self.weights_frequent},
                "documents": self.documents}


def read_manifest(root: str) -> Manifest:
    path = os.path.join(root, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise SemelError(f"{escape(root)} is not a semel index (no {MANIFEST}; build one with "
                         "`semel index build OUT` or `semel dedup ... --index`)") from None
    except ValueError:
        raise SemelError(f"{escape(path)} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SemelError(f"{escape(root)} is not a semel index")
    if data.get("version") != VERSION:
        raise SemelError(f"{escape(root)} is a version {data.get('version')} index; this semel reads "
                         f"version {VERSION}")
    w = data.get("weights") or {}
    return Manifest(settings=data["settings"], segments=list(data["segments"]),
                    next_row=int(data.get("next_row", 0)), wal_through=int(data.get("wal_through", 0)),
                    weights_documents=int(w.get("documents", 0)), weights_frequent=int(w.get("frequent", 0)))


def write_manifest(root: str, manifest: Manifest) -> None:
    with atomic_path(os.path.join(root, MANIFEST)) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest.to_dict(), f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
    _fsync_dir(root)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


LOCK_FILE = "write.lock"


class WriterLock:
    """The one writer of an index (semel serve while it runs, dedup --update-index while it appends): an
    exclusive flock on INDEX/write.lock, released when the process ends however it ends."""

    def __init__(self, root: str, who: str) -> None:
        import fcntl

        self.fd = os.open(os.path.join(root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise SemelError(f"{escape(root)} is being written by another process (semel serve, or dedup "
                             f"--update-index); {who} needs it to itself") from None

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def next_segment_name(manifest: Manifest) -> str:
    used = [int(s["name"].split("-")[1]) for s in manifest.segments]
    return f"seg-{(max(used) + 1) if used else 0:05d}"


class SegmentData:
    """One segment's arrays (module docstring), in memory: built from documents, merged, or saved."""

    FILES = ("exact", "mini", "seq_offsets", "seq", "band_keys", "band_docs", "band_fence", "exact_keys",
             "exact_docs")

    def __init__(self, ids: pa.Array, priority: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
        self.ids = ids
        self.priority = priority
        for name in self.FILES:  # read-only like the memory maps: one compiled kernel for both
            setattr(self, name, read_only(arrays[name]))
        self.documents = len(priority)
        lengths = np.diff(self.seq_offsets)
        self.longest = int(lengths.max()) if self.documents else 0

    def id_of(self, position: int) -> str:
        return self.ids[position].as_py()

    def close(self) -> None:
        """Nothing to release in memory (a saved segment closes its files)."""

    # what a lookup reads (semel.index.query.Segment reads the same from disk)
    def hit_docs(self, hits: np.ndarray) -> np.ndarray:
        """The documents at band-table positions `hits` (semel.index.query.band_hits)."""
        from semel.index.query import gather_hits

        return gather_hits(self.band_docs, hits)

    def mini_rows(self, docs: np.ndarray) -> np.ndarray:
        """The sketch bins of `docs`."""
        return self.mini[docs]

    def tokens(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, tokens) of `docs`, in that order."""
        lengths = self.seq_offsets[docs + 1] - self.seq_offsets[docs]
        offsets = np.zeros(len(docs) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        seq = np.concatenate([self.seq[self.seq_offsets[d]:self.seq_offsets[d + 1]] for d in docs]) \
            if len(docs) else np.zeros(0, np.uint32)
        return offsets, seq

    @classmethod
    def from_docs(cls, ids: pa.Array, priority: np.ndarray, exact: np.ndarray, mini: np.ndarray,
                  seq_offsets: np.ndarray, seq: np.ndarray, bands: np.ndarray) -> SegmentData:
        """n documents given in keep-priority order; `bands`: band keys, uint64[bands, n] (or already
        folded, uint32). O(n log n)."""
        n = len(priority)
        keys = fold32(bands) if bands.dtype != np.uint32 else np.asarray(bands)
        order = np.argsort(keys, axis=1, kind="stable").astype(np.uint32)
        sorted_keys = np.take_along_axis(keys, order.astype(np.int64), axis=1)
        high = np.asarray(exact, np.uint64).reshape(n, 2)[:, 0]
        by_exact = np.argsort(high, kind="stable")
        offsets = np.asarray(seq_offsets, np.int64)
        arrays = {"exact": np.ascontiguousarray(np.asarray(exact, np.uint64).reshape(n, 2)),
                  "mini": np.ascontiguousarray(mini),
                  "seq_offsets": offsets - offsets[0] if len(offsets) else np.zeros(1, np.int64),
                  "seq": np.ascontiguousarray(seq, np.uint32),
                  "band_keys": np.ascontiguousarray(sorted_keys), "band_docs": np.ascontiguousarray(order),
                  "band_fence": np.ascontiguousarray(sorted_keys[:, ::FENCE]),
                  "exact_keys": np.ascontiguousarray(high[by_exact]),
                  "exact_docs": by_exact.astype(np.uint32)}
        return cls(pa.array(ids, pa.string()), np.asarray(priority, np.float64), arrays)

    def folded_bands(self) -> np.ndarray:
        """uint32[bands, n]: each document's folded band keys, in document order."""
        out = np.empty_like(self.band_keys)
        np.put_along_axis(out, self.band_docs.astype(np.int64), self.band_keys, axis=1)
        return out

    @classmethod
    def merge(cls, first: SegmentData, then: SegmentData) -> SegmentData:
        """One segment holding `first`'s documents, then `then`'s."""
        seq_offsets = np.concatenate([first.seq_offsets[:-1], then.seq_offsets + first.seq_offsets[-1]])
        return cls.from_docs(pa.concat_arrays([first.ids, then.ids]),
                             np.concatenate([first.priority, then.priority]),
                             np.concatenate([first.exact, then.exact]),
                             np.concatenate([first.mini, then.mini]),
                             seq_offsets, np.concatenate([first.seq, then.seq]),
                             np.concatenate([first.folded_bands(), then.folded_bands()], axis=1))

    def save(self, root: str, name: str) -> dict:
        """Write as segment `name` of the index at `root`; return its manifest entry."""
        folded = self.folded_bands()

        def fill(out: np.ndarray) -> None:
            out[:] = self.seq

        return write_segment(root, name, self.ids, self.priority, self.exact, self.mini, self.seq_offsets,
                             fill, folded.shape[0], lambda b: folded[b])


def write_segment(root: str, name: str, ids: pa.Array, priority: np.ndarray, exact: np.ndarray,
                  mini: np.ndarray, seq_offsets: np.ndarray, fill_seq: Callable[[np.ndarray], None],
                  bands: int, band: Callable[[int], np.ndarray]) -> dict:
    """Write segment `name` of n documents (in keep-priority order) into a temporary folder, fsync it and
    rename it into place; return its manifest entry. The token sequences are written by `fill_seq` into a
    memory-mapped file and the band tables one band at a time (`band(b)`: the documents' keys in band b),
    so the peak is the per-document arrays plus one band, not the segment."""
    final = os.path.join(root, name)
    tmp = final + ".tmp"
    remove_path(tmp)
    os.makedirs(tmp)
    n = len(priority)
    table = pa.table({"id": pa.array(ids, pa.string()),
                      "priority": pa.array(np.asarray(priority), pa.float64())})
    with pa.OSFile(os.path.join(tmp, "docs.arrow"), "wb") as sink, \
            pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)

    def path(file: str) -> str:
        return os.path.join(tmp, file + ".npy")

    exact = np.asarray(exact, np.uint64).reshape(n, 2)
    offsets = np.asarray(seq_offsets, np.int64)
    np.save(path("exact"), exact, allow_pickle=False)
    np.save(path("mini"), np.ascontiguousarray(mini), allow_pickle=False)
    np.save(path("seq_offsets"), offsets - offsets[0], allow_pickle=False)
    seq = np.lib.format.open_memmap(path("seq"), "w+", np.uint32, (int(offsets[-1] - offsets[0]),))
    fill_seq(seq)
    seq.flush()
    del seq
    keys = np.lib.format.open_memmap(path("band_keys"), "w+", np.uint32, (bands, n))
    docs = np.lib.format.open_memmap(path("band_docs"), "w+", np.uint32, (bands, n))
    fence = np.empty((bands, -(-n // FENCE)), np.uint32)
    for b in range(bands):
        k = fold32(band(b))
        order = np.argsort(k, kind="stable")
        keys[b] = k[order]
        docs[b] = order
        fence[b] = keys[b, ::FENCE]
    keys.flush()
    docs.flush()
    del keys, docs
    np.save(path("band_fence"), fence, allow_pickle=False)
    high = exact[:, 0]
    by_exact = np.argsort(high, kind="stable")
    np.save(path("exact_keys"), high[by_exact], allow_pickle=False)
    np.save(path("exact_docs"), by_exact.astype(np.uint32), allow_pickle=False)
    for entry in os.listdir(tmp):
        with open(os.path.join(tmp, entry), "rb") as f:
            os.fsync(f.fileno())
    _fsync_dir(tmp)
    os.rename(tmp, final)
    _fsync_dir(root)
    longest = int(np.max(np.diff(offsets))) if n else 0
    return {"name": name, "documents": n, "longest": longest}
