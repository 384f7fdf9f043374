"""The embedded engine: runs dedup on all cores of one machine, stage by stage, resumably.

Stages and what each leaves under the work directory (default OUT/_work):

    sketch   read, shingle, sign and band each batch        sketch/part-NNNNN/*.npy, meta.parquet
    cluster  exact groups + LSH candidates verified exactly  cluster/labels.npy, cluster/stats.json
    keep     greedy pass per component (semel.grouping):     OUT/clusters.parquet
             each document kept, or verified against the
             document kept in its place
    write    the kept documents in the input's format        OUT/kept.<ext>

Every file is written to a temporary name and renamed, and a stage is marked done only after all its
files exist, so a run killed at any point resumes (`resume=True`) from the last finished stage or batch
and produces byte-identical results. Memory is bounded by the shingle sets and one band at a time, not
by the text of the collection.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from semel.cluster import new_forest, roots, union_pairs
from semel.config import DedupConfig
from semel.engines.dedup_steps import (
    CLUSTERS_FILE,
    ERRORS_FILE,
    STATS_FILE,
    DedupStats,
    count_outcomes,
    keep_values,
    kept_output_path,
    note_duplicate_ids,
    note_keep_field,
    repaired_texts,
    sketch_texts,
    stats_document,
)
from semel.engines.workdir import LocalFiles, StageRunner, WorkDir, fault_point, write_json
from semel.errors import SemelError, escape
from semel.grouping import Verdicts, assign, clusters_table, priority_order
from semel.index.against import Against, Seen, after_run, index_weights
from semel.io import (
    CHANGED,
    ID,
    LINE,
    ROW,
    SOURCE,
    TEXT,
    ErrorLog,
    InputSpec,
    atomic_path,
    npy,
    open_writer,
    read_batches,
)
from semel.io.formats import detect_format, open_input, output_format_for, work_size_bytes
from semel.io.jsonl import iter_lines_blocks
from semel.io.outputs import Outputs
from semel.jit import sized_by
from semel.lsh import (
    COPY,
    Scratch,
    band_candidates,
    band_order,
    longest_document,
    new_pair_set,
    verdict_pairs,
)
from semel.progress import ReadingBar, progress
from semel.rejected import REJECTED_FILE, rejected_table
from semel.weights import Weights, collection_weights


def _save_npy(directory: str, name: str, array: np.ndarray) -> None:
    np.save(os.path.join(directory, name + ".npy"), array, allow_pickle=False)


def _stage_sketch(cfg: DedupConfig, work: WorkDir, errors: ErrorLog) -> None:
    root = work.path("sketch")
    os.makedirs(root, exist_ok=True)
    for name in os.listdir(root):
        if name.endswith(".tmp"):
            shutil.rmtree(os.path.join(root, name))
    spec = InputSpec(paths=list(cfg.inputs), id_field=cfg.id_field, text_field=cfg.text_field,
                     on_error=cfg.on_error, batch_size=cfg.batch_size)

    bar = ReadingBar(cfg.inputs, "sketch", cfg.progress)

    def compute(item: tuple[int, pa.RecordBatch]) -> tuple[int, int, int, int]:
        index, batch = item
        part = os.path.join(root, f"part-{index:05d}")
        if os.path.exists(part):  # finished before an interruption
            return index, batch.num_rows, 0, bar.moved(batch)
        sk = sketch_texts(batch.column(TEXT), cfg)
        tmp = part + ".tmp"
        os.makedirs(tmp)
        for name in ("exact", "bands", "seq_offsets", "seq", "mini"):
            _save_npy(tmp, name, getattr(sk, name))
        meta = pa.table({
            "id": batch.column(ID),
            "row": batch.column(ROW),
            "source": batch.column(SOURCE).dictionary_encode(),
            "line": batch.column(LINE),
            "length": pa.array(sk.lengths),
            "priority": pa.array(keep_values(batch, cfg, sk.lengths)),
        })
        pq.write_table(meta, os.path.join(tmp, "meta.parquet"))
        os.rename(tmp, part)
        fault_point(f"sketch:{index}")
        return (index, batch.num_rows, int(pc.sum(pc.binary_length(batch.column(TEXT))).as_py() or 0),
                bar.moved(batch))

    batches = read_batches(spec, errors)
    total = 0
    nbytes = 0
    parts = 0
    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        for _index, n, b, moved in _ordered_map(pool, compute, enumerate(batches), cfg.workers * 2):
            total += n
            nbytes += b
            parts += 1
            bar.bar.update(moved)
    bar.close()
    # the skipped records and reader warnings outlive the process: a resumed run reports them too
    errors.write(work.path("sketch", ERRORS_FILE))
    work.mark_done("sketch", {"documents": total, "parts": parts, "bytes": nbytes,
                              "skipped": errors.count, "notes": errors.notes})


def _ordered_map(pool: ThreadPoolExecutor, fn: Callable, items: Iterator, depth: int) -> Iterator:
    """pool.map with a bounded number of items in flight, so reading never runs far ahead of hashing."""
    pending = []
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= depth:
            yield pending.pop(0).result()
    for fut in pending:
        yield fut.result()


def _part_dirs(work: WorkDir) -> list[str]:
    root = work.path("sketch")
    return sorted(os.path.join(root, p) for p in os.listdir(root) if p.startswith("part-")
                  and not p.endswith(".tmp"))


def _load_sequences(parts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All documents' shingle sequences, concatenated across parts: (offsets, values). Filled part by
    part into one preallocated array, so the peak is the result plus one part, not twice the result."""
    part_offsets = [npy.load(os.path.join(p, "seq_offsets.npy"), mmap_mode="r") for p in parts]
    offsets = np.zeros(sum(len(o) - 1 for o in part_offsets) + 1, dtype=np.int64)
    doc = 0
    for o in part_offsets:
        k = len(o) - 1
        offsets[doc + 1:doc + k + 1] = offsets[doc] + (o[1:] - o[0])
        doc += k
    values = np.empty(int(offsets[-1]), dtype=np.uint32)
    pos = 0
    for p in parts:
        part = npy.load(os.path.join(p, "seq.npy"), mmap_mode="r")
        values[pos:pos + len(part)] = part
        pos += len(part)
    return offsets, values


def _load_rows(parts: list[str], name: str) -> np.ndarray:
    """A per-document array (exact keys, sketch bins) concatenated across parts without a second copy."""
    arrays = [npy.load(os.path.join(p, f"{name}.npy"), mmap_mode="r") for p in parts]
    out = np.empty((sum(len(a) for a in arrays), *arrays[0].shape[1:]), dtype=arrays[0].dtype)
    pos = 0
    for a in arrays:
        out[pos:pos + len(a)] = a
        pos += len(a)
    return out


class _BandReader:
    """One band's keys across all sketch parts, read with pread from files opened once for the stage.

    Opening (and memory-mapping) every part's file again for each band cost 0.3 s on 200k documents, 15
    times the reading; keeping the maps instead counted every band read so far in the process's RSS
    (0.7 GB more at 1M documents). Reads are positioned, so worker threads share the open files."""

    def __init__(self, parts: list[str]) -> None:
        self.files = []
        self.pieces: list[tuple[int, int, int]] = []  # (file descriptor, data offset, documents)
        for p in parts:
            f = open(os.path.join(p, "bands.npy"), "rb")  # noqa: SIM115 - closed on leaving the block
            self.files.append(f)
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
            if fortran or dtype != np.dtype(np.uint64) or len(shape) != 2:
                raise SemelError(f"unexpected band file {escape(p)}: {shape} {dtype}")
            self.pieces.append((f.fileno(), f.tell(), int(shape[1])))
        self.documents = sum(k for _, _, k in self.pieces)

    def band(self, band: int) -> np.ndarray:
        out = np.empty(self.documents, dtype=np.uint64)
        pos = 0
        for f, (fd, offset, k) in zip(self.files, self.pieces, strict=True):
            target = memoryview(out[pos:pos + k]).cast("B")
            done = 0
            while done < len(target):  # a positioned read may return less than asked
                got = os.preadv(fd, [target[done:]], offset + band * k * 8 + done)
                if got <= 0:
                    raise SemelError(f"band file {escape(f.name)} ends early")
                done += got
            pos += k
        return out

    def __enter__(self) -> _BandReader:
        return self

    def __exit__(self, *exc: object) -> None:
        for f in self.files:
            f.close()


def _stage_cluster(cfg: DedupConfig, work: WorkDir) -> None:
    parts = _part_dirs(work)
    exact = _load_rows(parts, "exact") if parts else np.zeros((0, 2), np.uint64)
    n = exact.shape[0]
    parent = new_forest(n)
    # exact stage: documents with the same 128-bit key join the first of them
    if cfg.exact and n:
        order = np.lexsort((np.arange(n), exact[:, 1], exact[:, 0]))
        ex = exact[order]
        same = np.all(ex[1:] == ex[:-1], axis=1)
        starts = np.flatnonzero(np.r_[True, ~same])
        group_first = order[np.repeat(starts, np.diff(np.r_[starts, n]))]
        union_pairs(parent, order.astype(np.int64), group_first.astype(np.int64))
        is_rep = np.zeros(n, dtype=bool)
        is_rep[order[starts]] = True
    else:
        is_rep = np.ones(n, dtype=bool)
    counters = np.zeros(5, dtype=np.int64)
    weights = Weights.none()
    # verified candidates: (left, right, verdict code, similarity) per band
    verified = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0))]
    if cfg.near and n:
        offsets, seq = _load_sequences(parts)
        mini = _load_rows(parts, "mini")
        longest = longest_document(offsets)
        # two sets of buffers: band b is verified while band b - 1 may still be
        scratches = [[Scratch(longest).arrays() for _ in range(cfg.workers)] for _ in range(2)]
        reps = np.flatnonzero(is_rep & (np.diff(offsets) > 0)).astype(np.int64)
        weights = (index_weights(cfg.against) if cfg.against  # frozen with the index it runs against
                   else collection_weights(offsets, seq, reps, exact[:, 0], cfg.ngram, cfg.workers)
                   if cfg.df_weights else Weights.none())
        bands, _ = cfg.band_rows
        rule = cfg.rule()
        min_agree = cfg.min_agree(mini.shape[1])
        bar = progress(total=bands, desc="lsh", unit="band", enabled=cfg.progress)

        warrays = weights.arrays(len(offsets) - 1)  # one mass array for all workers (semel.lsh.overlap)

        def verify_chunk(left: np.ndarray, right: np.ndarray, scratch: tuple
                         ) -> tuple[np.ndarray, np.ndarray]:
            codes = np.zeros(len(left), dtype=np.int8)
            sims = np.zeros(len(left), dtype=np.float64)
            verdict_pairs(left, right, offsets, seq, rule, warrays, scratch, codes, sims)
            return codes, sims

        def verify_band(left: np.ndarray, right: np.ndarray, scratch_set: list) -> list[Future]:
            bounds = np.linspace(0, len(left), len(scratch_set) + 1).astype(int)
            return [pool.submit(verify_chunk, left[s:t], right[s:t], scratch_set[w])
                    for w, (s, t) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))]

        def join(left: np.ndarray, right: np.ndarray, futures: list[Future]) -> None:
            verdicts = [f.result() for f in futures]
            codes = np.concatenate([c for c, _ in verdicts])
            sims = np.concatenate([s for _, s in verdicts])
            ok = codes == COPY
            union_pairs(parent, left[ok], right[ok])
            verified.append((left, right, codes, sims))
            counters[2] += int(ok.sum())
            bar.update(1)

        # Band b's candidates (pairs not yet joined, drawn on this thread) are drawn while band b - 1 is
        # verified on the workers, so they see exactly the joins of bands up to b - 2: deterministic, and
        # a superset of what a strictly sequential pass verifies whose extra pairs were joined by band
        # b - 1. The components are those of all verified pairs, whatever the order or the workers.
        with _BandReader(parts) as reader, ThreadPoolExecutor(max_workers=max(2, cfg.workers)) as pool:
            sorted_bands = _ordered_map(pool, lambda b: band_order(reader.band(b)[reps], reps),
                                        iter(range(bands)), 2)
            seen = new_pair_set()
            pending: tuple[np.ndarray, np.ndarray, list[Future]] | None = None
            for band, (keys, docs) in enumerate(sorted_bands):
                left, right, seen = band_candidates(keys, docs, parent, mini, min_agree, cfg.max_bucket,
                                                    cfg.bucket_window, seen, counters)
                futures = verify_band(left, right, scratches[band % 2])
                if pending is not None:
                    join(*pending)
                pending = (left, right, futures)
            if pending is not None:
                join(*pending)
        bar.close()
    labels = roots(parent)
    out = work.path("cluster")
    os.makedirs(out, exist_ok=True)
    left, right, codes, sims = (np.concatenate(c) for c in zip(*verified, strict=True))
    with atomic_path(os.path.join(out, REJECTED_FILE)) as tmp:
        pq.write_table(rejected_table(left, right, codes, sims, labels), tmp)
    # the verdicts are kept for the keep stage, which asks about many of the same pairs (semel.grouping)
    for name, array in (("labels", labels), ("weight_keys", weights.keys), ("weight_values", weights.values),
                        ("verified_left", left), ("verified_right", right), ("verified_codes", codes),
                        ("verified_sims", sims)):
        with atomic_path(os.path.join(out, f"{name}.npy")) as tmp, open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
    # verified: the near links that joined two exact groups (groups before the near stage minus the
    # components after it), a count no order of verification changes (semel.engines.dedup_steps)
    joined = int(is_rep.sum()) - (len(np.unique(labels)) if n else 0)
    work.mark_done("cluster", {"candidates": int(counters[0]), "verified": joined,
                               "estimate_rejected": int(counters[3]), "frequent_shingles": weights.frequent})


def _stage_keep(cfg: DedupConfig, work: WorkDir) -> pa.Table:
    parts = _part_dirs(work)
    labels = npy.load(work.path("cluster", "labels.npy"))
    metas = [pq.read_table(os.path.join(p, "meta.parquet")) for p in parts]
    meta = pa.concat_tables(metas) if metas else pa.table({"id": pa.array([], pa.string()),
                                                            "row": pa.array([], pa.int64()),
                                                            "length": pa.array([], pa.int64()),
                                                            "priority": pa.array([], pa.float64())})
    exact = _load_rows(parts, "exact") if parts else np.zeros((0, 2), np.uint64)
    ids = meta.column("id").to_numpy(zero_copy_only=False).astype(str) if meta.num_rows else np.array([], str)
    offsets, seq = _load_sequences(parts)
    mini = _load_rows(parts, "mini") if parts else np.zeros((0, 1), np.uint16)
    order = priority_order(meta.column("priority").to_numpy(), ids)
    seen = Seen(cfg, work.root) if cfg.against else None  # documents an index already holds: kept by none
    if seen is not None:
        order = seen.order(order)
    weights = Weights(npy.load(work.path("cluster", "weight_keys.npy")),
                      npy.load(work.path("cluster", "weight_values.npy")))
    known = _known_verdicts(work)
    kept_idx, sim = assign(labels, order, offsets, seq, exact, cfg.exact, mini, cfg.min_agree(mini.shape[1]),
                           cfg.rule(), weights, cfg.workers, known)
    table = clusters_table(meta.column("id"), ids, kept_idx, sim, exact)
    if seen is not None:
        table = seen.mark(table)
    with atomic_path(os.path.join(cfg.output, CLUSTERS_FILE)) as tmp:
        pq.write_table(table, tmp)
    with atomic_path(os.path.join(cfg.output, REJECTED_FILE)) as tmp:
        shutil.copyfile(work.path("cluster", REJECTED_FILE), tmp)
    work.mark_done("keep", {})
    return table


def _known_verdicts(work: WorkDir) -> Verdicts:
    """The cluster stage's verdicts; none when a resumed work folder's cluster stage was finished by a
    semel that did not keep them (the keep stage then verifies every pair itself: same answers)."""
    paths = [work.path("cluster", f"verified_{name}.npy") for name in ("left", "right", "codes", "sims")]
    if not all(os.path.exists(p) for p in paths):
        return Verdicts.none()
    return Verdicts(*(npy.load(p) for p in paths))


def _copy_kept_lines(cfg: DedupConfig, work: WorkDir, clusters: pa.Table, out_path: str, bar: Any) -> None:
    """Kept JSONL records copied from the inputs as bytes, block by block, without parsing JSON again: the
    sketch stage recorded each document's file and line, numbered as the reader numbers them (blocks of
    whole lines from `iter_lines_blocks`, which drops a leading byte order mark)."""
    parts = _part_dirs(work)
    with open_writer(out_path, format="jsonl", text_field=cfg.text_field, id_field=cfg.id_field) as writer:
        if not parts:  # no documents: an empty file
            return
        meta = pa.concat_tables([pq.read_table(os.path.join(p, "meta.parquet"), columns=["source", "line"])
                                 for p in parts]).combine_chunks()
        kept = clusters.column("kept").to_numpy(zero_copy_only=False)
        sources = meta.column("source").cast(pa.string()).to_numpy(zero_copy_only=False)
        lines = meta.column("line").to_numpy(zero_copy_only=False)
        for path in cfg.inputs:  # an input is never given twice (semel.io.outputs.check_inputs)
            wanted = np.sort(lines[kept & (sources == escape(path))])
            if not len(wanted):
                continue
            first_line = 1  # the number of the block's first line
            with open_input(path) as stream:
                for block in iter_lines_blocks(stream, path):
                    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + 1
                    lo, hi = np.searchsorted(wanted, [first_line, first_line + len(ends)])
                    if hi > lo:
                        _write_block_lines(writer, block, ends, wanted[lo:hi] - first_line)
                        bar.update(int(hi - lo))
                        fault_point("write:batch")
                    first_line += len(ends)
                    if hi == len(wanted):
                        break


def _write_block_lines(writer: Any, block: bytes, ends: np.ndarray, picked: np.ndarray) -> None:
    """Write lines `picked` (ascending indices) of `block` (whole lines; `ends`: the position after each
    newline), joining runs of consecutive lines into one slice."""
    starts = np.r_[0, ends[:-1]]
    breaks = np.flatnonzero(np.diff(picked) != 1) + 1
    run_first = picked[np.r_[0, breaks]]
    run_last = picked[np.r_[breaks - 1, len(picked) - 1]]
    view = memoryview(block)
    runs = zip(starts[run_first].tolist(), ends[run_last].tolist(), strict=True)
    writer.write_lines(b"".join([view[s:e] for s, e in runs]), len(picked))


def _stage_write(cfg: DedupConfig, work: WorkDir, clusters: pa.Table) -> str | None:
    out_path = kept_output_path(cfg)
    if out_path is None:
        return None
    formats = [detect_format(p) for p in cfg.inputs]
    kept_count = int(pc.sum(clusters.column("kept")).as_py() or 0)
    with progress(total=kept_count, desc="write", unit="doc", enabled=cfg.progress) as bar:
        if not cfg.repair and all(f == "jsonl" for f in formats):
            _copy_kept_lines(cfg, work, clusters, out_path, bar)
        else:
            _write_kept(cfg, clusters, out_path, formats, bar)
    work.mark_done("write", {"path": out_path})
    return out_path


def _write_kept(cfg: DedupConfig, clusters: pa.Table, out_path: str, formats: list[str], bar: Any) -> None:
    """The kept documents read again and written in the input's format (repaired with --repair)."""
    kept_rows = np.flatnonzero(clusters.column("kept").to_numpy(zero_copy_only=False))
    spec = InputSpec(paths=list(cfg.inputs), id_field=cfg.id_field, text_field=cfg.text_field,
                     on_error="skip" if cfg.on_error == "skip" else "fail", batch_size=cfg.batch_size)
    keep_mask = np.zeros(len(clusters), dtype=bool)
    keep_mask[kept_rows] = True
    position = 0
    out_format = output_format_for(formats[0], out_path)
    with open_writer(out_path, format=out_format, text_field=cfg.text_field, id_field=cfg.id_field) as writer:
        for batch in read_batches(spec, ErrorLog()):
            n = batch.num_rows
            mask = pa.array(keep_mask[position:position + n])
            position += n
            selected = batch.filter(mask)
            if cfg.repair and selected.num_rows:
                idx = selected.schema.get_field_index(TEXT)
                selected = selected.set_column(idx, TEXT, repaired_texts(selected.column(TEXT)))
            else:  # the writer can copy raw lines without comparing texts
                selected = selected.append_column(CHANGED, pa.array(np.zeros(selected.num_rows, bool)))
            if selected.num_rows:
                writer.write(selected)
                bar.update(selected.num_rows)
                fault_point("write:batch")


@sized_by(lambda cfg: work_size_bytes(cfg.inputs), probe=verdict_pairs)
def run_dedup(cfg: DedupConfig) -> tuple[pa.Table, DedupStats]:
    """Run (or resume) the dedup pipeline; returns the clusters table and the run's statistics.

    The outputs appear together at the end, replacing the previous run's (semel.io.outputs); the work
    folder is kept when the run fails, for --resume, and removed after it succeeds (unless keep_work)."""
    kept_path = kept_output_path(cfg)
    reserved = [CLUSTERS_FILE, STATS_FILE, ERRORS_FILE, REJECTED_FILE]
    reserved += [os.path.basename(kept_path)] if kept_path else []
    new_output = not os.path.exists(cfg.output)
    work: WorkDir | None = None
    try:
        with Outputs(cfg.output, folder=True, inputs=cfg.inputs, reserved=reserved) as outputs:
            os.makedirs(cfg.output, exist_ok=True)
            work = WorkDir(cfg, "local")
            if cfg.against:  # the index and the run's settings must agree: say so before any work
                Against(cfg.against, cfg).close()
            clusters, stats = _run_stages(cfg, work, outputs)
        if cfg.index or cfg.update_index:
            after_run(cfg, work.root)
    except SemelError:  # bad input or settings: nothing to resume, nothing left behind
        if work is not None and not cfg.keep_work:
            work.remove()
        if new_output:
            _remove_if_empty(cfg.output)
        raise
    if not cfg.keep_work:
        work.remove()
    return clusters, stats


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass


def _run_stages(cfg: DedupConfig, work: WorkDir, outputs: Outputs) -> tuple[pa.Table, DedupStats]:
    stats = DedupStats()
    stats.bands, stats.rows = cfg.band_rows
    errors = ErrorLog()
    runner = StageRunner(work, cfg.resume)
    runner.run("sketch", lambda: _stage_sketch(cfg, work, errors))
    sketch_info = work.done("sketch") or {}
    if runner.resumed("sketch"):  # the skipped records and warnings of the first attempt
        errors = ErrorLog.read(work.path("sketch", ERRORS_FILE))
        for kind, (count, message) in (sketch_info.get("notes") or {}).items():
            errors.note(kind, count, message)
    errors.write(os.path.join(cfg.output, ERRORS_FILE))
    runner.run("cluster", lambda: _stage_cluster(cfg, work))
    clusters: pa.Table = runner.run("keep", lambda: _stage_keep(cfg, work))
    runner.run("write", lambda: _stage_write(cfg, work, clusters))

    cluster_info = work.done("cluster") or {}
    stats.stages = runner.stages
    count_outcomes(stats, clusters)
    stats.skipped_records = errors.count
    stats.input_bytes = int(sketch_info.get("bytes", 0))
    stats.candidates = int(cluster_info.get("candidates", 0))
    stats.verified = int(cluster_info.get("verified", 0))
    note_duplicate_ids(clusters, outputs)
    if cfg.keep_field is not None:
        missing = 0
        for part in _part_dirs(work):
            priority = pq.read_table(os.path.join(part, "meta.parquet"), columns=["priority"])
            missing += int(np.sum(np.isneginf(priority.column("priority").to_numpy())))
        note_keep_field(cfg, missing, outputs)
    write_json(LocalFiles(), os.path.join(cfg.output, STATS_FILE),
               stats_document(cfg, "local", stats, outputs.warnings()))
    return clusters, stats
