"""A dedup run against a saved index (`semel dedup NEW --against INDEX [--update-index]`).

The run treats the indexed documents as kept documents that come before all of its own (an earlier
batch of the same collection): each new document is first looked up in the index (semel.index.query),
and one that copies an indexed document is removed with reason `seen`, its cluster the indexed
document's id. The others are deduplicated among themselves as usual, except that a `seen` document is
never kept in place of another (it is visited last in the greedy pass and its own outcome replaced).

Weights are the index's, frozen when it was built, for the lookups and for the run's own pairs alike:
the run compares documents as the index's collection would, and `--update-index` needs no recount.

When is this the same as deduplicating everything at once? With keep=first, dedup(A) then
dedup(B --against A) keeps exactly what dedup(A + B) keeps when both use the same weights (`--no-df-weights`,
or weights frozen in the index) and every pair that verifies also shares an LSH band key (or exact key)
with no bucket above --max-bucket: the lookup tries only band-sharing documents, while a whole run also
compares documents that only a chain of verified pairs put in one component. tests/test_index_incremental.py
checks this on random splits.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semel.config import DedupConfig
from semel.errors import SemelError, escape
from semel.index.build import RunParts
from semel.index.format import settings_change
from semel.index.query import Index
from semel.io import npy
from semel.sketch import Sketch
from semel.weights import Weights

SEEN = "seen"


class Against:
    """The index a run is deduplicated against."""

    def __init__(self, path: str, cfg: DedupConfig) -> None:
        self.path = path
        self.index = Index(path)
        change = settings_change(self.index.manifest.settings, cfg)
        if change:
            self.close()
            raise SemelError(f"--against {escape(path)}: {change}; give the settings the index was built "
                             "with")

    def close(self) -> None:
        self.index.close()

    @property
    def weights(self) -> Weights:
        return self.index.weights

    def lookup_run(self, work: str, workers: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(matched id or None, similarity, by exact key) of every document of the run in `work`, the
        sketch parts looked up on `workers` threads (the kernels release the GIL)."""
        from concurrent.futures import ThreadPoolExecutor

        def part_matches(part: str) -> list:
            sk = _part_sketch(part)
            return [self.index.lookup(sk, i) for i in range(len(sk.exact))]

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            matches = [m for part in pool.map(part_matches, RunParts(work).parts) for m in part]
        return (np.array([None if m is None else m.id for m in matches], dtype=object),
                np.array([0.0 if m is None else m.similarity for m in matches], np.float64),
                np.array([m is not None and m.reason == "exact" for m in matches], bool))


def _part_sketch(part: str) -> Sketch:
    def load(name: str) -> np.ndarray:
        return npy.load(f"{part}/{name}.npy", mmap_mode="r")

    n = len(load("exact"))
    return Sketch(exact=load("exact"), bands=load("bands"), seq_offsets=load("seq_offsets"), seq=load("seq"),
                  mini=load("mini"), lengths=np.zeros(n, np.int64))


class Seen:
    """A run's documents found in the index: what the keep stage needs (semel.engines.local)."""

    def __init__(self, cfg: DedupConfig, work: str) -> None:
        assert cfg.against is not None
        against = Against(cfg.against, cfg)
        try:
            self.matched, self.sims, _ = against.lookup_run(work, cfg.workers)
        finally:
            against.close()
        self.mask = np.array([m is not None for m in self.matched], bool)

    def order(self, order: np.ndarray) -> np.ndarray:
        """The priority order with the seen documents last."""
        return seen_last(order, self.mask)

    def mark(self, table: pa.Table) -> pa.Table:
        """clusters.parquet with the seen documents marked."""
        return mark_seen(table, self.matched, self.sims)


def index_weights(path: str) -> Weights:
    """The frozen weights of the index at `path` (a run against it compares with them)."""
    import os

    from semel.index.format import WEIGHTS

    return Weights(npy.load(os.path.join(path, WEIGHTS, "keys.npy")),
                   npy.load(os.path.join(path, WEIGHTS, "values.npy")))


def seen_last(order: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The priority order with the `seen` documents moved to the end (so none is kept in another's place)."""
    return np.concatenate([order[~seen[order]], order[seen[order]]])


def mark_seen(table: pa.Table, matched: np.ndarray, sims: np.ndarray) -> pa.Table:
    """clusters.parquet with the documents found in the index as `seen` (cluster = the indexed id), and
    cluster sizes and original/unique recounted (an indexed document counts in its cluster)."""
    seen = np.array([m is not None for m in matched], bool)
    if not seen.any():
        return table
    cluster = np.where(seen, matched, table.column("cluster").to_numpy(zero_copy_only=False)).astype(object)
    kept = table.column("kept").to_numpy(zero_copy_only=False) & ~seen
    reason = np.where(seen, SEEN, table.column("reason").to_numpy(zero_copy_only=False)).astype(object)
    similarity = np.where(seen, sims, table.column("similarity").to_numpy(zero_copy_only=False))
    names, inverse = np.unique(cluster.astype(str), return_inverse=True)
    counts = np.bincount(inverse)
    in_index = np.zeros(len(names), np.int64)
    np.maximum.at(in_index, inverse, seen.astype(np.int64))
    size = (counts + in_index)[inverse]
    reason = np.where(kept, np.where(size > 1, "original", "unique"), reason)
    columns = {"cluster": pa.array(cluster, pa.string()), "kept": pa.array(kept),
               "reason": pa.array(reason.astype(str), pa.string()),
               "similarity": pa.array(np.round(similarity, 6)),
               "cluster_size": pa.array(size.astype(np.int64))}
    for name, column in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def count_seen(table: pa.Table) -> int:
    return int(pc.sum(pc.equal(table.column("reason"), SEEN)).as_py() or 0)


def after_run(cfg: DedupConfig, work: str) -> None:
    """What a finished run does with an index: build OUT/index (--index) or append to the index it ran
    against (--update-index). Called once the run's outputs are written, before its work folder goes."""
    import os

    from semel.index.build import append_run, build_index

    clusters = os.path.join(cfg.output, "clusters.parquet")
    if cfg.index:
        build_index(work, clusters, cfg, os.path.join(cfg.output, "index"))
    if cfg.update_index and cfg.against:
        append_run(cfg.against, work, clusters, cfg)
