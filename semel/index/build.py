"""Building an index from a finished dedup run, and appending a run's newly kept documents to one.

Both read the run's work folder (the sketch parts: exact keys, band keys, token sequences, sketch bins,
ids and keep priorities; the cluster stage's weights) and the run's clusters.parquet (which documents were
kept), and write the kept documents, in keep-priority order, as one segment (semel.index.format).
Building streams the parts through memory maps: the peak is the per-document arrays of the kept documents
plus one band, not the token sequences of the collection.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from semel.config import DedupConfig
from semel.errors import SemelError, escape
from semel.grouping import priority_order
from semel.index.format import (
    WEIGHTS,
    Manifest,
    WriterLock,
    next_segment_name,
    read_manifest,
    settings_change,
    similarity_settings,
    write_manifest,
    write_segment,
)
from semel.io import npy
from semel.io.atomic import commit, remove_path


class RunParts:
    """The sketch parts of a finished run's work folder, read through memory maps."""

    def __init__(self, work: str) -> None:
        root = os.path.join(work, "sketch")
        if not os.path.exists(os.path.join(root, "_DONE.json")):
            raise SemelError(f"{escape(work)} holds no finished dedup run (keep it with --keep-work, or "
                             "build the index during the run with --index)")
        self.work = work
        self.parts = sorted(os.path.join(root, p) for p in os.listdir(root)
                            if p.startswith("part-") and not p.endswith(".tmp"))
        self.meta = pa.concat_tables([pq.read_table(os.path.join(p, "meta.parquet"), columns=["id", "row",
                                                                                               "priority"])
                                      for p in self.parts]) if self.parts else None

    def load(self, name: str) -> list[np.ndarray]:
        return [npy.load(os.path.join(p, name + ".npy"), mmap_mode="r") for p in self.parts]

    def rows(self, name: str, docs: np.ndarray) -> np.ndarray:
        """A per-document array (exact, mini) for `docs` (global indices), gathered part by part."""
        arrays = self.load(name)
        starts = np.cumsum([0] + [len(a) for a in arrays])
        out = np.empty((len(docs), *arrays[0].shape[1:]), arrays[0].dtype)
        part = np.searchsorted(starts, docs, side="right") - 1
        for k, a in enumerate(arrays):
            sel = np.flatnonzero(part == k)
            if len(sel):
                out[sel] = a[docs[sel] - starts[k]]
        return out

    def band(self, b: int, docs: np.ndarray) -> np.ndarray:
        """uint64[len(docs)]: the keys of `docs` in band b."""
        arrays = [a[b] for a in self.load("bands")]
        starts = np.cumsum([0] + [len(a) for a in arrays])
        part = np.searchsorted(starts, docs, side="right") - 1
        out = np.empty(len(docs), np.uint64)
        for k, a in enumerate(arrays):
            sel = np.flatnonzero(part == k)
            if len(sel):
                out[sel] = a[docs[sel] - starts[k]]
        return out

    def bands_count(self) -> int:
        return int(self.load("bands")[0].shape[0]) if self.parts else 0

    def sequences(self, docs: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], None]]:
        """(offsets of `docs`' token sequences in that order, a function filling an array with them)."""
        offs = self.load("seq_offsets")
        starts = np.cumsum([0] + [len(o) - 1 for o in offs])
        part = np.searchsorted(starts, docs, side="right") - 1
        local = docs - starts[part]
        lo = np.empty(len(docs), np.int64)
        hi = np.empty(len(docs), np.int64)
        for k, o in enumerate(offs):
            sel = np.flatnonzero(part == k)
            lo[sel] = o[local[sel]] - o[0]
            hi[sel] = o[local[sel] + 1] - o[0]
        offsets = np.zeros(len(docs) + 1, np.int64)
        np.cumsum(hi - lo, out=offsets[1:])

        def fill(out: np.ndarray) -> None:
            seqs = self.load("seq")
            for i in range(len(docs)):
                out[offsets[i]:offsets[i + 1]] = seqs[part[i]][lo[i]:hi[i]]

        return offsets, fill


def kept_in_order(parts: RunParts, kept: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """The kept documents' global indices in keep-priority order (semel.grouping.priority_order)."""
    assert parts.meta is not None
    ids = parts.meta.column("id").to_numpy(zero_copy_only=False).astype(str)
    order = priority_order(parts.meta.column("priority").to_numpy(), ids)
    mask = np.asarray(kept, bool).copy()
    if exclude is not None:
        mask &= ~exclude
    return order[mask[order]]


def _segment_from_run(root: str, name: str, parts: RunParts, docs: np.ndarray, row_base: int,
                      keep_first: bool) -> dict:
    assert parts.meta is not None
    ids = (parts.meta.column("id").take(pa.array(docs)).combine_chunks() if len(docs)
           else pa.array([], pa.string()))
    priority = parts.meta.column("priority").to_numpy()[docs].astype(np.float64)
    if keep_first:  # rows of this run follow every earlier one
        priority = -(parts.meta.column("row").to_numpy()[docs].astype(np.float64) + row_base)
    offsets, fill = parts.sequences(docs)
    return write_segment(root, name, ids, priority, parts.rows("exact", docs), parts.rows("mini", docs),
                         offsets, fill, parts.bands_count(), lambda b: parts.band(b, docs))


def build_index(work: str, clusters_path: str, cfg: DedupConfig, root: str) -> Manifest:
    """Write a new index at `root` from a finished run (its work folder and clusters.parquet)."""
    parts = RunParts(work)
    kept = pq.read_table(clusters_path, columns=["kept"]).column("kept").to_numpy()
    if parts.meta is not None and len(kept) != parts.meta.num_rows:
        raise SemelError(f"{escape(clusters_path)} does not belong to the run in {escape(work)}")
    tmp = root.rstrip(os.sep) + ".tmp"
    remove_path(tmp)
    os.makedirs(tmp)
    manifest = Manifest(settings=similarity_settings(cfg), segments=[])
    if parts.meta is not None:
        docs = kept_in_order(parts, kept)
        manifest.segments.append(_segment_from_run(tmp, "seg-00000", parts, docs, 0, cfg.keep == "first"))
        manifest.next_row = parts.meta.num_rows
    _save_weights(work, tmp, manifest)
    write_manifest(tmp, manifest)
    commit(tmp, root)
    return manifest


def _save_weights(work: str, root: str, manifest: Manifest) -> None:
    wdir = os.path.join(root, WEIGHTS)
    os.makedirs(wdir, exist_ok=True)
    for name in ("keys", "values"):
        src = os.path.join(work, "cluster", f"weight_{name}.npy")
        array = npy.load(src) if os.path.exists(src) else (np.zeros(1, np.uint64) if name == "keys"
                                                          else np.ones(1, np.float64))
        np.save(os.path.join(wdir, name + ".npy"), array, allow_pickle=False)
    keys = npy.load(os.path.join(wdir, "keys.npy"))
    manifest.weights_frequent = int(np.count_nonzero(keys))


def append_run(root: str, work: str, clusters_path: str, cfg: DedupConfig) -> Manifest:
    """Append the documents a run against this index kept (reason not `seen`) as a new segment: O(size
    of the run), earlier segments untouched. The weights stay frozen (rebuild to refresh them). A run
    appends once: the same run again (a --resume after the append, a rerun of the same batch with the
    same settings) finds its fingerprint in the manifest and adds nothing."""
    lock = WriterLock(root, "--update-index")
    try:
        manifest = read_manifest(root)
        change = settings_change(manifest.settings, cfg)
        if change:
            raise SemelError(f"cannot update {escape(root)}: {change}")
        parts = RunParts(work)
        run = _run_id(work)
        if parts.meta is None or any(s.get("run") == run for s in manifest.segments):
            return manifest
        kept = pq.read_table(clusters_path, columns=["kept"]).column("kept").to_numpy()
        docs = kept_in_order(parts, kept)
        entry = _segment_from_run(root, next_segment_name(manifest), parts, docs, manifest.next_row,
                                  cfg.keep == "first")
        manifest.segments.append({**entry, "run": run})
        manifest.next_row += parts.meta.num_rows
        write_manifest(root, manifest)
        return manifest
    finally:
        lock.release()


def _run_id(work: str) -> str:
    """A run's identity: its work folder's resume fingerprint (settings, version, inputs), hashed."""
    import hashlib
    import json

    try:
        with open(os.path.join(work, "manifest.json"), encoding="utf-8") as f:
            fingerprint = json.load(f).get("fingerprint")
    except (OSError, ValueError):
        fingerprint = None
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def run_settings(output: str) -> DedupConfig:
    """The settings a finished dedup run recorded in OUT/stats.json."""
    import dataclasses
    import json

    path = os.path.join(output, "stats.json")
    try:
        with open(path, encoding="utf-8") as f:
            settings = json.load(f)["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SemelError(f"{escape(path)} is missing or not a dedup run's statistics") from None
    names = {f.name for f in dataclasses.fields(DedupConfig)} - {"extra", "progress"}
    return DedupConfig(**{k: v for k, v in settings.items() if k in names})
