"""The Spark engine: the dedup pipeline of the embedded engine, scheduled on Apache Spark.

It only schedules. The same pure kernels run inside `mapInArrow` tasks (`sketch_batch`; `verify_pairs` on a
batch of pairs; `assign_components` on whole components), band keys are shuffled with DataFrame group-bys,
and connected components are found by union-find in one task (up to ONE_TASK_EDGES edges) or by
large-star / small-star rounds. Nothing proportional to the edges or signatures reaches the driver.
Stages and their outputs under the work dir:

    sketch   each file parsed by semel's own readers, then shingled, signed, banded   sketch/ (parquet)
    cluster  exact groups; band buckets -> candidate pairs -> verified edges;         cluster/{pairs,edges,
             connected components                                                     labels}/ (parquet)
    keep     greedy pass per component: each document kept or verified against its     OUT/clusters.parquet
             kept document (semel.grouping)
    write    the kept documents in the input's format                                 OUT/kept.<ext>

Results equal the embedded engine's for any number of partitions: every document is numbered by its
place in the input (file order, then record order), and every decision is a function of those numbers,
never of which task saw what first. See docs/spark.md.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from semel.cluster import components
from semel.config import DedupConfig
from semel.engines.dedup_steps import (
    CLUSTERS_FILE,
    STATS_FILE,
    DedupStats,
    kept_output_path,
    note_duplicate_ids,
    repaired_texts,
    settings_dict,
)
from semel.engines.dedup_steps import keep_values as _keep_values
from semel.engines.spark_session import get_spark, is_local
from semel.errors import InputError, SemelError, escape
from semel.grouping import assign_components
from semel.io import ID, LINE, TEXT, ErrorLog, InputSpec, atomic_path
from semel.io.batching import rebatch
from semel.io.formats import decompressed, detect_format, split_compression
from semel.io.jsonl import read_jsonl
from semel.io.outputs import Outputs
from semel.io.outputs import current as current_run
from semel.io.parquet import read_parquet
from semel.lsh import Scratch, longest_document
from semel.lsh import verify_pairs as lsh_verify_pairs
from semel.sketch import sketch_batch
from semel.stages import StageStats, peak_rss_mb
from semel.weights import (
    SAMPLE_MASK,
    Weights,
    df_floor,
    exact_counts,
    sample_cutoff,
    sample_floor,
    sample_rate,
    scratch_for,
)

MINI_DTYPE = np.uint16

PARSED_SCHEMA = ("file int, lrow long, line long, id string, text string, fieldval double, "
                 "err string, fatal boolean")
SKETCH_SCHEMA = ("file int, lrow long, line long, id string, exact0 long, exact1 long, bands array<long>, "
                 "length long, nbytes long, priority double, seq binary, mini binary, err string, "
                 "fatal boolean")


# ------------------------------------------------------------------------------------------ filesystem

class _FS:
    """Small file operations on any path Spark reads (local, HDFS, S3, GCS, DBFS) via Hadoop's FileSystem."""

    def __init__(self, spark: Any) -> None:
        self.jvm = spark.sparkContext._jvm
        self.conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, path: str) -> tuple[Any, Any]:
        p = self.jvm.org.apache.hadoop.fs.Path(path)
        return p.getFileSystem(self.conf), p

    def exists(self, path: str) -> bool:
        fs, p = self._fs(path)
        return bool(fs.exists(p))

    def delete(self, path: str) -> None:
        fs, p = self._fs(path)
        if fs.exists(p):
            fs.delete(p, True)

    def is_local(self, path: str) -> bool:
        fs, _ = self._fs(path)
        return fs.getScheme() == "file"

    def qualify(self, path: str) -> str:
        fs, p = self._fs(path)
        return str(fs.makeQualified(p).toString())

    def read_text(self, path: str) -> str | None:
        if not self.exists(path):
            return None
        fs, p = self._fs(path)
        stream = fs.open(p)
        try:
            reader = self.jvm.java.io.BufferedReader(self.jvm.java.io.InputStreamReader(stream, "UTF-8"))
            lines = []
            while True:
                line = reader.readLine()
                if line is None:
                    break
                lines.append(line)
            return "\n".join(lines)
        finally:
            stream.close()

    def write_text(self, path: str, text: str) -> None:
        """Write a small file atomically: a temporary name, then a rename."""
        fs, p = self._fs(path)
        tmp = self.jvm.org.apache.hadoop.fs.Path(path + ".tmp")
        out = fs.create(tmp, True)
        out.write(bytearray(text.encode("utf-8")))
        out.close()
        if fs.exists(p):
            fs.delete(p, True)
        fs.rename(tmp, p)

    def rename(self, src: str, dst: str) -> None:
        fs, p = self._fs(src)
        q = self.jvm.org.apache.hadoop.fs.Path(dst)
        if fs.exists(q):
            fs.delete(q, True)
        if not fs.rename(p, q):
            raise SemelError(f"could not move {src} to {dst}")

    def list_files(self, path: str) -> list[str]:
        """Files matching a path, a glob or under a folder (recursively), sorted, hidden and _* left out."""
        fs, p = self._fs(path)
        statuses = fs.globStatus(p) or []
        out: list[str] = []
        for st in statuses:
            if st.isDirectory():
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    out.append(str(it.next().getPath().toString()))
            else:
                out.append(str(st.getPath().toString()))
        return sorted(f for f in out if not os.path.basename(f).startswith(("_", ".")))

    def parts(self, folder: str, suffix: str) -> list[str]:
        fs, p = self._fs(folder)
        return sorted(str(st.getPath().toString()) for st in fs.listStatus(p)
                      if st.getPath().getName().startswith("part-")
                      and st.getPath().getName().endswith(suffix))


def _local_path(uri: str) -> str:
    return uri[5:] if uri.startswith("file:") else uri


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


# ------------------------------------------------------------------------------------------- kernels

def _ragged(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
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


def _packed(offsets: np.ndarray, values: np.ndarray) -> pa.Array:
    """A binary column of one packed uint32 array per row (the inverse of `_ragged`)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    start = int(offsets[0])
    byte_off = ((offsets - start) * 4).astype(np.int32)
    data = np.ascontiguousarray(values[start: int(offsets[-1])], dtype=np.uint32)
    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1,
                                 [None, pa.py_buffer(byte_off), pa.py_buffer(data.tobytes())])


@nb.njit(nogil=True, cache=True)
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


@nb.njit(nogil=True, cache=True)
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


def _minis(a: pa.Array, b: pa.Array) -> np.ndarray:
    """The two sides' sketch bins interleaved as rows 2i and 2i+1."""
    ma = _ragged(a)[1].view(MINI_DTYPE).reshape(len(a), -1)
    mb = _ragged(b)[1].view(MINI_DTYPE).reshape(len(b), -1)
    out = np.empty((2 * len(a), ma.shape[1]), dtype=MINI_DTYPE)
    out[0::2] = ma
    out[1::2] = mb
    return out


def verify_pairs(cfg: DedupConfig, a_seq: pa.Array, b_seq: pa.Array, a_mini: pa.Array, b_mini: pa.Array,
                 weights: Weights | None = None) -> np.ndarray:
    """Which pairs (a < b) are duplicates, by the embedded engine's own rule: the sketch-bin estimate filter
    of `band_candidates` (at least `min_agreement` bins agree), then `semel.lsh.verify_pairs` on the whole
    batch of pairs in one call."""
    k = len(a_seq)
    if k == 0:
        return np.zeros(0, dtype=bool)
    off, val = interleave(*_ragged(a_seq), *_ragged(b_seq))
    left = np.arange(0, 2 * k, 2, dtype=np.int64)
    right = left + 1
    if cfg.containment is None:
        mini = _minis(a_mini, b_mini)
        min_agree = cfg.min_agree(mini.shape[1])
        if min_agree > 0:  # estimate_at_least on every pair at once: agreeing bins >= min_agree
            passed = (mini[0::2] == mini[1::2]).sum(axis=1) >= min_agree
            left, right = left[passed], right[passed]
    ok = np.zeros(len(left), dtype=np.bool_)
    w = weights or Weights.none()
    scratch = Scratch(longest_document(off)).arrays()
    lsh_verify_pairs(left, right, off, val, cfg.rule(), w.arrays(), scratch, ok)
    out = np.zeros(k, dtype=bool)
    out[left[ok] // 2] = True
    return out


def components_one_task(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, label = smallest node of its component) for every node of the edges (a[i], b[i]), by the
    embedded engine's union-find on nodes renumbered 0..m-1 (memory ~ the edges, not the documents)."""
    if len(a) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    labels = components(len(nodes), inverse[: len(a)], inverse[len(a):])
    return nodes, nodes[labels]  # nodes ascend, so the smallest index is the smallest node


# ------------------------------------------------------------------------------------------- reading

def _open_bytes(data: bytes, display: str) -> Any:
    _, comp = split_compression(display)
    if comp is not None:  # truncated or corrupt streams are errors naming the file, as in the local engine
        return decompressed(io.BytesIO(data), display, comp)
    return io.BytesIO(data)


def _file_tables(index: int, display: str, fmt: str, data: bytes, spec: InputSpec, errors: ErrorLog
                 ) -> Iterator[pa.Table]:
    """Canonical tables of one input file from its bytes, through semel's own readers (same ids, rows,
    errors as the embedded engine; rows numbered from 0 within the file)."""
    if fmt == "jsonl":
        yield from read_jsonl(display, spec, errors, 0, stream=_open_bytes(data, display))
        return
    with tempfile.TemporaryDirectory(prefix="semel-") as tmp:
        local = os.path.join(tmp, os.path.basename(display))
        with open(local, "wb") as f:
            f.write(data)
        del data
        inner = ErrorLog()
        try:
            yield from read_parquet(local, spec, inner, 0)
        except InputError as exc:
            raise InputError(str(exc).split(": ", 1)[1] if exc.line is None else
                             str(exc).split(": ", 1)[1], display, exc.line) from None
        finally:
            for _, line, reason in inner.entries:
                errors.add(display, line, reason)


def _parse_task(files: dict[str, tuple[int, str, str]], cfg: DedupConfig, large: bool
                ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: binaryFile rows (path, content) -> one row per document, plus error rows."""
    spec = InputSpec(paths=[], id_field=cfg.id_field, text_field=cfg.text_field, on_error=cfg.on_error,
                     batch_size=cfg.batch_size)
    field_cfg = cfg if cfg.keep_field else None
    text_type = pa.large_string() if large else pa.string()

    def error_batch(index: int, lines: list[int | None], reasons: list[str], fatal: bool) -> pa.RecordBatch:
        n = len(lines)
        return pa.RecordBatch.from_arrays([
            pa.array([index] * n, pa.int32()), pa.array([-1] * n, pa.int64()), pa.array(lines, pa.int64()),
            pa.nulls(n, pa.string()), pa.nulls(n, text_type), pa.nulls(n, pa.float64()),
            pa.array(reasons, pa.string()), pa.array([fatal] * n, pa.bool_())], names=_names(PARSED_SCHEMA))

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            contents = batch.column("content")
            for i, path in enumerate(paths):
                index, display, fmt = files[path]
                errors = ErrorLog()
                lrow = 0
                try:
                    tables = _file_tables(index, display, fmt, contents[i].as_py(), spec, errors)
                    for b in rebatch(tables, spec.batch_size, spec.batch_bytes):
                        n = b.num_rows
                        fieldval = (_keep_values(b, field_cfg, np.zeros(n)) if field_cfg is not None
                                    else np.zeros(n))
                        yield pa.RecordBatch.from_arrays([
                            pa.array(np.full(n, index, np.int32)),
                            pa.array(np.arange(lrow, lrow + n, dtype=np.int64)),
                            b.column(LINE).cast(pa.int64()),
                            b.column(ID).cast(pa.string()),
                            b.column(TEXT).cast(text_type),
                            pa.array(fieldval, pa.float64()),
                            pa.nulls(n, pa.string()), pa.nulls(n, pa.bool_())], names=_names(PARSED_SCHEMA))
                        lrow += n
                except SemelError as exc:  # on_error=fail: the file's first bad record, for the driver
                    yield error_batch(index, [getattr(exc, "line", None)], [str(exc)], True)
                if errors.entries:
                    yield error_batch(index, [e[1] for e in errors.entries], [e[2] for e in errors.entries],
                                      False)

    return task


def _mini_col(mini: np.ndarray) -> pa.Array:
    """The sketch bins of each document as one binary value (viewed as uint32 words by `_ragged`)."""
    m = np.ascontiguousarray(mini.astype(MINI_DTYPE))
    words = m.view(np.uint32).reshape(-1) if m.size else np.zeros(0, np.uint32)
    width = m.shape[1] * m.itemsize // 4 if m.ndim == 2 else 0
    return _packed(np.arange(m.shape[0] + 1, dtype=np.int64) * width, words)


def _names(schema: str) -> list[str]:
    return [part.strip().split(" ")[0] for part in schema.split(", ")]


def _sketch_task(cfg: DedupConfig) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: parsed documents -> the sketch of each (the embedded engine's `sketch_batch`)."""
    bands, rows = cfg.band_rows

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            errs = batch.column("err").is_valid()
            if pc.any(errs).as_py():
                bad = batch.filter(errs)
                n = bad.num_rows
                yield pa.RecordBatch.from_arrays([
                    bad.column("file"), bad.column("lrow"), bad.column("line"), pa.nulls(n, pa.string()),
                    pa.nulls(n, pa.int64()), pa.nulls(n, pa.int64()), pa.nulls(n, pa.list_(pa.int64())),
                    pa.nulls(n, pa.int64()), pa.nulls(n, pa.int64()), pa.nulls(n, pa.float64()),
                    pa.nulls(n, pa.binary()), pa.nulls(n, pa.binary()), bad.column("err"),
                    bad.column("fatal")], names=_names(SKETCH_SCHEMA))
                batch = batch.filter(pc.invert(errs))
            n = batch.num_rows
            if n == 0:
                continue
            texts = batch.column("text")
            nbytes = pc.binary_length(texts).cast(pa.int64())
            if cfg.repair:
                texts = repaired_texts(texts)
            sk = sketch_batch(texts, cfg.ngram, cfg.num_perm, bands, rows, chars=cfg.shingle == "char",
                              exact_level=cfg.exact_level)
            exact = np.ascontiguousarray(sk.exact).view(np.int64)
            keys = np.ascontiguousarray(sk.bands.T).view(np.int64).reshape(-1)
            starts = pa.array(np.arange(0, (n + 1) * bands, bands, dtype=np.int32))
            band_col = pa.ListArray.from_arrays(starts, pa.array(keys))
            if cfg.keep == "first":
                priority = np.zeros(n)  # -row, set once rows are global
            elif cfg.keep == "longest":
                priority = sk.lengths.astype(np.float64)
            else:
                priority = batch.column("fieldval").to_numpy(zero_copy_only=False)
            yield pa.RecordBatch.from_arrays([
                batch.column("file"), batch.column("lrow"), batch.column("line"), batch.column("id"),
                pa.array(exact[:, 0]), pa.array(exact[:, 1]), band_col, pa.array(sk.lengths.astype(np.int64)),
                nbytes, pa.array(priority, pa.float64()), _packed(sk.seq_offsets, sk.seq), _mini_col(sk.mini),
                pa.nulls(n, pa.string()), pa.nulls(n, pa.bool_())], names=_names(SKETCH_SCHEMA))

    return task


# -------------------------------------------------------------------------------------------- stages

class _Work:
    """Stage markers and the settings fingerprint under the work dir, on any Hadoop filesystem."""

    def __init__(self, cfg: DedupConfig, fs: _FS) -> None:
        self.fs = fs
        self.root = cfg.work_dir or _join(cfg.output, "_work")
        manifest = self.path("manifest.json")
        fp = cfg.fingerprint()
        old = fs.read_text(manifest) if cfg.resume else None
        if old is not None:
            if json.loads(old).get("fingerprint") != fp or json.loads(old).get("engine") != "spark":
                raise SemelError(f"cannot resume: {self.root} was made with other settings or another "
                                 "engine; rerun without --resume to start over")
        else:
            if fs.is_local(self.root):
                _refuse_foreign_work(_local_path(fs.qualify(self.root)))
            fs.delete(self.root)
            fs.write_text(manifest, json.dumps({"fingerprint": fp, "engine": "spark"}))

    def path(self, *parts: str) -> str:
        return _join(self.root, *parts)

    def done(self, stage: str) -> dict | None:
        text = self.fs.read_text(self.path(stage + "._DONE.json"))
        return None if text is None else json.loads(text)

    def mark_done(self, stage: str, info: dict) -> None:
        self.fs.write_text(self.path(stage + "._DONE.json"), json.dumps(info, sort_keys=True))


def _refuse_foreign_work(root: str) -> None:
    """A local work folder is wiped before a fresh run: refuse one that holds what semel did not put there
    (Hadoop's own .crc checksum files aside)."""
    if not os.path.isdir(root):
        return
    for entry in os.listdir(root):
        name = entry[1:-4] if entry.startswith(".") and entry.endswith(".crc") else entry
        if name not in ("manifest.json", "sketch", "cluster", "keep", "write") and not name.endswith(
                ("._DONE.json", ".tmp")):
            raise SemelError(f"the work folder {escape(root)} holds files semel did not create "
                             f"({escape(entry)}); give --work-dir a new or empty folder")


def _input_files(cfg: DedupConfig, fs: _FS) -> list[tuple[str, str, str]]:
    """(uri, path as the user wrote it, format) of every input file, in collection order."""
    out: list[tuple[str, str, str]] = []
    for given in cfg.inputs:
        if given == "-":
            raise SemelError("the Spark engine cannot read stdin; give files")
        try:
            found = fs.list_files(given)
        except Exception as exc:  # a malformed URI or an unknown scheme
            raise InputError(f"cannot list ({str(exc).splitlines()[0]})", given) from None
        if not found:
            raise InputError("no such file or folder", given)
        for uri in found:
            display = given if len(found) == 1 and fs.qualify(given) == uri else _local_path(uri)
            fmt = detect_format(display) if not os.path.isdir(display) else "txtdir"
            if fmt not in ("jsonl", "parquet"):
                raise InputError("the Spark engine reads JSONL (.gz/.zst) and Parquet; use the local engine "
                                 "for .txt files", display)
            out.append((uri, display, fmt))
    return out


def _partitions(spark: Any, input_bytes: int) -> int:
    """Shuffle partitions: the session's setting on a cluster; in local mode sized to the data: one per
    core up to ~1 GB of input, then ~64 MB of input each (each partition costs a task in every shuffle)."""
    conf = spark.sparkContext.getConf()
    if conf.contains("spark.sql.shuffle.partitions") and not conf.get("spark.master", "").startswith("local"):
        return int(spark.conf.get("spark.sql.shuffle.partitions"))
    parallel = spark.sparkContext.defaultParallelism
    return max(2, parallel, int(input_bytes // (64 << 20)) + 1)


def _stage_sketch(spark: Any, cfg: DedupConfig, work: _Work, files: list[tuple[str, str, str]]) -> dict:
    from pyspark.sql import functions as F

    large = spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false").lower() == "true"
    table = {uri: (i, display, fmt) for i, (uri, display, fmt) in enumerate(files)}
    raw = (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content"))
    parsed = raw.repartition(max(1, len(files)), "path").mapInArrow(
        _parse_task(table, cfg, large), PARSED_SCHEMA)
    parallel = spark.sparkContext.defaultParallelism
    if len(files) < 2 * parallel:  # few big files: spread the documents before the costly part
        parsed = parsed.repartition(2 * parallel, F.col("lrow"))
    out = work.path("sketch")
    parsed.mapInArrow(_sketch_task(cfg), SKETCH_SCHEMA).write.mode("overwrite").parquet(out)
    sk = spark.read.parquet(out)
    # one job for everything the driver needs: the error rows, and per file its documents and bytes
    summary = (sk.where(F.col("err").isNotNull()).select("file", "line", "err", "fatal", F.lit(0).cast("long")
                                                         .alias("n"), F.lit(0).cast("long").alias("nbytes"))
               .unionByName(sk.where(F.col("err").isNull()).groupBy("file").agg(
                   F.count(F.lit(1)).alias("n"), F.sum("nbytes").alias("nbytes"))
                   .select("file", F.lit(None).cast("long").alias("line"), F.lit(None).cast("string")
                           .alias("err"), F.lit(None).cast("boolean").alias("fatal"), "n", "nbytes"))
               .collect())
    errs = sorted((r for r in summary if r["err"] is not None),
                  key=lambda r: (r["file"], -1 if r["line"] is None else r["line"]))
    fatal = [e for e in errs if e["fatal"]]
    if fatal:
        work.fs.delete(out)
        raise SemelError(fatal[0]["err"])
    counts = {r["file"]: r["n"] for r in summary if r["err"] is None}
    nbytes = sum(int(r["nbytes"] or 0) for r in summary if r["err"] is None)
    info = {"counts": [int(counts.get(i, 0)) for i in range(len(files))], "bytes": int(nbytes),
            "errors": [[files[e["file"]][1], e["line"], e["err"]] for e in errs]}
    work.mark_done("sketch", info)
    return info


def _docs(spark: Any, cfg: DedupConfig, work: _Work, info: dict) -> Any:
    """The sketch with global row numbers (file base + row in file), as the embedded reader numbers them."""
    from pyspark.sql import functions as F

    bases = np.concatenate([[0], np.cumsum(info["counts"])[:-1]]).astype(int).tolist()
    base_df = spark.createDataFrame([(i, int(b)) for i, b in enumerate(bases)], "file int, base long")
    sk = spark.read.parquet(work.path("sketch")).where(F.col("err").isNull())
    docs = sk.join(F.broadcast(base_df), "file").withColumn("row", F.col("base") + F.col("lrow"))
    if cfg.keep == "first":
        docs = docs.withColumn("priority", -F.col("row").cast("double"))
    return docs


#: Components of at most this many edges are found in one task by union-find (16 bytes an edge); above it,
#: by large-star / small-star rounds over the cluster. `--conf spark.semel.oneTaskEdges=N` changes it.
ONE_TASK_EDGES = 50_000_000


def _one_task_components(edges: Any) -> Any:
    """(node, label) by union-find in one task: one job, whatever the diameter of the components."""
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        parts = [(b.column("a").to_numpy(), b.column("b").to_numpy()) for b in batches if b.num_rows]
        a = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        b = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
        del parts
        nodes, labels = components_one_task(a.astype(np.int64), b.astype(np.int64))
        for s in range(0, len(nodes), 1 << 20):
            yield pa.RecordBatch.from_arrays([pa.array(nodes[s:s + (1 << 20)]),
                                              pa.array(labels[s:s + (1 << 20)])], names=["node", "label"])

    return edges.select("a", "b").repartition(1).mapInArrow(task, "node long, label long")


def _star_components(spark: Any, edges: Any) -> Any:
    """(node, label = smallest node of its component) by large-star / small-star on DataFrames
    (Kiveris et al. 2014). Each round is materialised once (localCheckpoint: cached blocks, lineage cut)
    and one more job checks convergence: two jobs a round."""
    from pyspark.sql import functions as F

    e = edges.select(F.greatest("a", "b").alias("a"), F.least("a", "b").alias("b")).where("a != b").distinct()
    e = e.localCheckpoint(eager=True)
    for _ in range(200):
        # large star: every neighbour larger than u joins the smallest of u's neighbourhood
        both = e.select(F.col("a").alias("u"), F.col("b").alias("v")).union(
            e.select(F.col("b").alias("u"), F.col("a").alias("v")))
        m = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
        large = (both.join(m, "u").where(F.col("v") > F.col("u"))
                 .select(F.col("v").alias("a"), F.col("m").alias("b")).where("a != b"))
        # small star: u and its smaller neighbours join the smallest of them
        d = large.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v")).distinct()
        ms = d.groupBy("u").agg(F.min("v").alias("m"))
        small = (d.join(ms, "u").where(F.col("v") != F.col("m"))
                 .select(F.col("v").alias("a"), F.col("m").alias("b"))
                 .union(ms.select(F.col("u").alias("a"), F.col("m").alias("b"))).distinct())
        e = small.localCheckpoint(eager=True)
        # done when the edges form stars: no root points anywhere and no node points at two roots
        roots_ = e.select(F.col("b").alias("a")).distinct()
        inner = e.select("a").join(roots_, "a", "left_semi")
        multi = e.groupBy("a").count().where("count > 1").select("a")
        if inner.union(multi).limit(1).count() == 0:
            return e.select(F.col("a").alias("node"), F.col("b").alias("label"))
    raise SemelError("connected components did not converge in 200 rounds")


def _collection_weights(spark: Any, cfg: DedupConfig, reps: Any, path: str) -> int:
    """Write the shingles at or above the df floor with their document counts (among the distinct
    documents `reps`, by a group-by) to `path`; return how many documents were counted. The embedded
    engine gets the same counts for the same shingles (semel.weights)."""
    from pyspark.sql import functions as F

    ngram = cfg.ngram
    n = reps.count()
    rate, floor = sample_rate(n), sample_floor(n)
    # the embedded engine's sample (semel.weights.in_sample): the low bits of the exact key's high word
    reps = reps.where((F.col("exact0").bitwiseAND(SAMPLE_MASK)) < sample_cutoff(rate))

    def count_task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            off, val = _ragged(b.column("seq"))
            docs = np.arange(len(off) - 1, dtype=np.int64)
            values, counts = exact_counts(off, val, docs, ngram, np.zeros((2, 0), np.uint8), 0,
                                          *scratch_for(off))
            yield pa.RecordBatch.from_arrays([pa.array(values.astype(np.int64)), pa.array(counts)],
                                             names=["v", "c"])

    (reps.select("seq").mapInArrow(count_task, "v long, c long").groupBy("v")
     .agg(F.sum("c").alias("c")).where(F.col("c") >= floor).write.mode("overwrite").parquet(path))
    return n


def _load_weights(spark: Any, path: str, documents: int) -> Weights:
    """The Weights table from what `_collection_weights` wrote (none when nothing was counted)."""
    if documents <= df_floor(documents):
        return Weights.none()
    table = spark.read.parquet(path).toArrow()
    values = table.column("v").to_numpy().astype(np.uint32)
    return Weights.from_counts(values, table.column("c").to_numpy().astype(np.int64), documents,
                               sample_rate(documents))


def _stage_cluster(spark: Any, cfg: DedupConfig, work: _Work, info: dict) -> dict:
    from pyspark.sql import functions as F

    docs = _docs(spark, cfg, work, info)
    # every edge in one table: exact copies (row -> first of its exact group; n = 0) and every candidate
    # pair with how many bands proposed it (n) and whether it verified (ok)
    parts = []
    if cfg.exact:
        first = docs.groupBy("exact0", "exact1").agg(F.min("row").alias("first"))
        tagged = docs.select("row", "exact0", "exact1", "bands", "seq").join(first, ["exact0", "exact1"])
        parts.append(tagged.where(F.col("row") != F.col("first"))
                     .select(F.col("row").alias("a"), F.col("first").alias("b"), F.lit(0).cast("long")
                             .alias("n"), F.lit(True).alias("ok")))
        reps = tagged.where(F.col("row") == F.col("first"))
    else:
        reps = docs
    weights = Weights.none()
    weight_docs = 0
    if cfg.near:
        reps = reps.where(F.length("seq") > 0)
        if cfg.df_weights:
            weight_docs = _collection_weights(spark, cfg, reps, work.path("cluster", "weights"))
            weights = _load_weights(spark, work.path("cluster", "weights"), weight_docs)
        reps = reps.select("row", "bands")
        buckets = (reps.select("row", F.posexplode("bands").alias("band", "key"))
                   .groupBy("band", "key").agg(F.collect_list("row").alias("members"))
                   .where(F.size("members") > 1).select("members"))
        max_bucket, window = cfg.max_bucket, cfg.bucket_window

        def pairs_task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for b in batches:
                col = b.column("members")
                offsets = col.offsets.to_numpy().astype(np.int64)
                values = col.values.to_numpy().astype(np.int64)
                offsets = offsets - offsets[0]
                values = values[col.offsets[0].as_py(): col.offsets[-1].as_py()]
                for k in range(len(offsets) - 1):  # sort each bucket by row (collect_list has no order)
                    values[offsets[k]:offsets[k + 1]].sort()
                left, right = bucket_pairs(offsets, values, max_bucket, window)
                yield pa.RecordBatch.from_arrays([pa.array(left), pa.array(right)], names=["a", "b"])

        pairs = (buckets.mapInArrow(pairs_task, "a long, b long").groupBy("a", "b")
                 .agg(F.count(F.lit(1)).alias("n")))
        seqs = docs.select("row", "seq", "mini")

        def verify_task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for b in batches:
                ok = verify_pairs(cfg, b.column("sa"), b.column("sb"), b.column("ma"), b.column("mb"),
                                  weights)
                yield pa.RecordBatch.from_arrays([b.column("a"), b.column("b"), b.column("n"), pa.array(ok)],
                                                 names=["a", "b", "n", "ok"])

        joined = (pairs.join(seqs.select(F.col("row").alias("a"), F.col("seq").alias("sa"),
                                         F.col("mini").alias("ma")), "a")
                  .join(seqs.select(F.col("row").alias("b"), F.col("seq").alias("sb"),
                                    F.col("mini").alias("mb")), "b"))
        parts.append(joined.select("a", "b", "n", "sa", "sb", "ma", "mb")
                     .mapInArrow(verify_task, "a long, b long, n long, ok boolean"))
    labels_dir = work.path("cluster", "labels")
    candidates = verified = 0
    if parts:
        edges_dir = work.path("cluster", "edges")
        table = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
        table.write.mode("overwrite").parquet(edges_dir)
        all_edges = spark.read.parquet(edges_dir)
        agg = all_edges.agg(F.sum("n"), F.count(F.when(F.col("n") > 0, 1)),
                            F.count(F.when(F.col("ok"), 1))).collect()[0]
        candidates, verified, n_edges = int(agg[0] or 0), int(agg[1] or 0), int(agg[2] or 0)
        edges = all_edges.where("ok").select("a", "b")
        limit = int(spark.conf.get("spark.semel.oneTaskEdges", str(ONE_TASK_EDGES)))
        labels = _one_task_components(edges) if n_edges <= limit else _star_components(spark, edges)
        labels.write.mode("overwrite").parquet(labels_dir)
    else:
        spark.createDataFrame([], "node long, label long").write.mode("overwrite").parquet(labels_dir)
    done = {"candidates": candidates, "verified": verified, "weight_docs": weight_docs,
            "frequent_shingles": weights.frequent}
    work.mark_done("cluster", done)
    return done


def assign_task(cfg: DedupConfig, weights: Weights) -> Callable[[Iterator[pa.RecordBatch]],
                                                                Iterator[pa.RecordBatch]]:
    """mapInArrow task: whole components, rows sorted by (label, keep-priority order) -> (row, kept_row,
    sim) by the embedded engine's own `semel.grouping.assign_components`."""
    rule = cfg.rule()

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        table = pa.Table.from_batches([b for b in batches if b.num_rows])
        if table.num_rows == 0:
            return
        labels = table.column("label").to_numpy()
        rows = table.column("row").to_numpy()
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        comp_offsets = np.r_[starts, len(labels)].astype(np.int64)
        off, val = _ragged(table.column("seq"))
        mini = _ragged(table.column("mini"))[1].view(MINI_DTYPE).reshape(table.num_rows, -1)
        exact = np.stack([table.column("exact0").to_numpy(), table.column("exact1").to_numpy()], axis=1)
        members = np.arange(table.num_rows, dtype=np.int64)
        min_agree = cfg.min_agree(mini.shape[1])
        kept = np.empty(table.num_rows, dtype=np.int64)
        sim = np.empty(table.num_rows, dtype=np.float64)
        assign_components(comp_offsets, members, off, val, np.ascontiguousarray(exact).view(np.uint64),
                          cfg.exact, np.ascontiguousarray(mini), min_agree, rule, weights.arrays(),
                          Scratch(longest_document(off)).arrays(), kept, sim)
        yield pa.RecordBatch.from_arrays([pa.array(rows), pa.array(rows[kept]), pa.array(np.round(sim, 6))],
                                         names=["row", "kept_row", "sim"])

    return task


def _stage_keep(spark: Any, cfg: DedupConfig, work: _Work, info: dict) -> None:
    from pyspark.sql import functions as F

    docs = _docs(spark, cfg, work, info).select("row", "id", "priority", "exact0", "exact1", "seq", "mini",
                                                "file", "line")
    labels = spark.read.parquet(work.path("cluster", "labels"))
    lab = (docs.join(labels.withColumnRenamed("node", "row"), "row", "left")
           .withColumn("label", F.coalesce("label", "row")))
    weight_docs = int((work.done("cluster") or {}).get("weight_docs", 0))
    weights = _load_weights(spark, work.path("cluster", "weights"), weight_docs) if weight_docs else \
        Weights.none()
    # inside each component, the greedy pass of semel.grouping in keep-priority order (highest priority,
    # then smallest id, then first row): every removed document is verified against its kept one
    sizes = lab.groupBy("label").agg(F.count(F.lit(1)).alias("n")).where("n > 1").select("label")
    multi = lab.join(sizes, "label").withColumn("negp", -F.col("priority"))
    assigned = (multi.select("label", "row", "id", "negp", "exact0", "exact1", "seq", "mini")
                .repartition("label")
                .sortWithinPartitions("label", F.asc_nulls_last("negp"), "id", "row")
                .mapInArrow(assign_task(cfg, weights), "row long, kept_row long, sim double"))
    c = (lab.join(assigned, "row", "left")
         .withColumn("kept_row", F.coalesce("kept_row", "row"))
         .withColumn("sim", F.coalesce("sim", F.lit(1.0))))
    keepers = c.select(F.col("row").alias("kept_row"), F.col("id").alias("cluster"),
                       F.col("exact0").alias("k0"), F.col("exact1").alias("k1"))
    size = c.groupBy("kept_row").agg(F.count(F.lit(1)).alias("cluster_size"))
    clusters = (c.join(keepers, "kept_row").join(size, "kept_row")
                .withColumn("kept", F.col("row") == F.col("kept_row"))
                .withColumn("same_exact", (F.col("exact0") == F.col("k0")) & (F.col("exact1") == F.col("k1")))
                .withColumn("similarity", F.when(F.col("kept") | F.col("same_exact"), F.lit(1.0))
                            .otherwise(F.col("sim")))
                .withColumn("reason", F.when(F.col("kept"), F.when(F.col("cluster_size") > 1, "original")
                                             .otherwise("unique"))
                            .when(F.col("same_exact"), "exact").otherwise("near")))
    table_dir = work.path("keep", "clusters")
    clusters.select("row", "id", "cluster", "kept", "reason", "similarity", "cluster_size", "file", "line") \
        .write.mode("overwrite").parquet(table_dir)
    # one parquet FILE like the embedded engine's: one task writes it, in input order (5 small columns)
    single = work.path("keep", "single")
    (spark.read.parquet(table_dir).repartition(1).sortWithinPartitions("row")
     .select("id", "cluster", "kept", "reason", "similarity", F.col("cluster_size").cast("long"))
     .write.mode("overwrite").option("compression", "zstd").parquet(single))
    parts = work.fs.parts(single, ".parquet")
    work.fs.rename(parts[0], _join(cfg.output, CLUSTERS_FILE))
    work.mark_done("keep", {})


def _split_lines_task(files: dict[str, tuple[int, str, str]]
                      ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: a JSONL file's bytes -> (file, line number, the line as is, without its newline)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            for i, path in enumerate(paths):
                index, display, _ = files[path]
                data = _open_bytes(batch.column("content")[i].as_py(), display).read()
                lines = data.split(b"\n")
                if lines and lines[-1] == b"":
                    lines.pop()
                n = len(lines)
                for s in range(0, n, 65536):
                    chunk = lines[s:s + 65536]
                    yield pa.RecordBatch.from_arrays([
                        pa.array(np.full(len(chunk), index, np.int32)),
                        pa.array(np.arange(s + 1, s + 1 + len(chunk), dtype=np.int64)),
                        pa.array([c.decode("utf-8", "surrogateescape") for c in chunk], pa.string())],
                        names=["file", "line", "value"])

    return task


def _stage_write(spark: Any, cfg: DedupConfig, work: _Work, files: list[tuple[str, str, str]]) -> str | None:
    from pyspark.sql import functions as F

    out_path = kept_output_path(cfg)
    if out_path is None:
        return None
    kept = spark.read.parquet(work.path("keep", "clusters")).where("kept").select("file", "line")
    tmp = work.path("write", "kept")
    fmt = files[0][2]
    if fmt == "jsonl" and not cfg.repair:
        table = {uri: (i, display, f) for i, (uri, display, f) in enumerate(files)}
        lines = (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content")
                 .mapInArrow(_split_lines_task(table), "file int, line long, value string"))
        (lines.join(kept, ["file", "line"]).orderBy("file", "line").select("value")
         .write.mode("overwrite").text(tmp))
        suffix = ".txt"
    elif fmt == "parquet" and not cfg.repair:
        src = (spark.read.parquet(*[u for u, _, _ in files])
               .select("*", F.col("_metadata.file_path").alias("__path"),
                       F.col("_metadata.row_index").alias("__index")))
        paths = spark.createDataFrame([(i, u) for i, (u, _, _) in enumerate(files)], "file int, __uri string")
        keep_rows = (kept.join(F.broadcast(paths), "file")
                     .select(F.col("__uri"), (F.col("line") - 1).alias("__index"), "file"))
        same_file = F.expr("parse_url(__path, 'PATH')") == F.expr("parse_url(__uri, 'PATH')")
        joined = src.join(keep_rows, same_file & (src["__index"] == keep_rows["__index"]))
        cols = [c for c in src.columns if c not in ("__path", "__index")]
        (joined.orderBy("file", src["__index"]).select(*[src[c] for c in cols])
         .write.mode("overwrite").parquet(tmp))
        suffix = ".parquet"
    else:
        raise SemelError("the Spark engine writes kept documents for JSONL and Parquet inputs without "
                         "--repair; use --no-kept and select from clusters.parquet")
    parts = work.fs.parts(tmp, suffix)
    if work.fs.is_local(cfg.output):
        _merge_local([_local_path(p) for p in parts], out_path, suffix)
    else:  # on a cluster filesystem the kept documents stay a folder of part files
        work.fs.rename(tmp, out_path)
    work.mark_done("write", {"path": out_path})
    return out_path


def _merge_local(parts: list[str], out_path: str, suffix: str) -> None:
    """Concatenate Spark's part files into the one file the embedded engine writes (same name, same codec)."""
    if suffix == ".parquet":
        with atomic_path(out_path) as tmp:
            writer: pq.ParquetWriter | None = None
            for p in parts:
                pf = pq.ParquetFile(p)
                for b in pf.iter_batches():
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, b.schema, compression="zstd")
                    writer.write_batch(b)
            if writer is None:
                pq.write_table(pa.table({}), tmp)
            else:
                writer.close()
        return
    _, comp = split_compression(out_path)
    with atomic_path(out_path) as tmp, open(tmp, "wb") as raw:
        if comp == "gzip":
            sink: Any = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)
        elif comp == "zstd":
            import zstandard

            sink = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        else:
            sink = raw
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, sink, 16 << 20)
        if sink is not raw:
            sink.close()


def _fault_point(where: str) -> None:
    """SEMEL_KILL_AT=<stage>: stop right after that stage, as a lost driver would (resume tests)."""
    if os.environ.get("SEMEL_KILL_AT") == where:
        raise KeyboardInterrupt(f"SEMEL_KILL_AT={where}")


def _read_clusters(spark: Any, path: str, fs: _FS) -> pa.Table:
    if fs.is_local(path):
        return pq.read_table(_local_path(fs.qualify(path)))
    df = spark.read.parquet(path)
    if hasattr(df, "toArrow"):
        return df.toArrow()
    return pa.Table.from_pandas(df.toPandas(), preserve_index=False)


#: Session settings a run may change (and puts back afterwards).
RUN_CONF = ("spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled")
#: Below this much input (local mode), shuffles use one partition per core and adaptive execution is off.
SMALL_INPUT = 1 << 30


def run_dedup(cfg: DedupConfig, master: str | None = None, conf: dict | list | None = None, spark: Any = None
              ) -> tuple[pa.Table, DedupStats]:
    """Run (or resume) dedup on Spark; returns the clusters table and statistics, as the embedded engine."""
    t_start = time.perf_counter()
    spark = get_spark(master, conf, spark)
    startup = time.perf_counter() - t_start
    fs = _FS(spark)
    files = _input_files(cfg, fs)
    input_size = sum(os.path.getsize(_local_path(u)) for u, _, _ in files if fs.is_local(u))
    old = {key: spark.conf.get(key) for key in RUN_CONF}
    user_conf = conf if isinstance(conf, dict) else dict(c.split("=", 1) for c in (conf or []) if "=" in c)
    if is_local(spark.sparkContext.master):
        if "spark.sql.shuffle.partitions" not in user_conf:
            spark.conf.set("spark.sql.shuffle.partitions", str(_partitions(spark, input_size)))
        if "spark.sql.adaptive.enabled" not in user_conf and input_size < SMALL_INPUT:
            # small data on one machine: adaptive execution runs every exchange as a job of its own and
            # costs more in driver round trips than it saves; the fixed few partitions are right anyway
            spark.conf.set("spark.sql.adaptive.enabled", "false")
    local_out = _local_path(fs.qualify(cfg.output)) if fs.is_local(cfg.output) else None
    with Outputs(local_out or "-", folder=True, inputs=[_local_path(u) for u, _, _ in files if fs.is_local(u)]
                 ) as outputs:  # local outputs: the previous run's leftovers go, as in the local engine
        clusters, stats = _run_stages(spark, cfg, fs, files, old, startup)
        if local_out is not None:
            outputs.produced(CLUSTERS_FILE)
            outputs.produced(STATS_FILE)
    return clusters, stats


def _run_stages(spark: Any, cfg: DedupConfig, fs: _FS, files: list[tuple[str, str, str]], old: dict,
                startup: float) -> tuple[pa.Table, DedupStats]:
    work = _Work(cfg, fs)
    stats = DedupStats()
    stats.bands, stats.rows = cfg.band_rows
    stats.stages.append(StageStats("spark-start", round(startup, 3), peak_rss_mb()))
    infos: dict[str, Any] = {}

    def run_stage(name: str, fn: Callable[[], Any]) -> None:
        st = StageStats(name)
        t0 = time.perf_counter()
        done = work.done(name) if cfg.resume else None
        if done is not None:
            st.resumed = True
            infos[name] = done
        else:
            infos[name] = fn()
        _fault_point(name)
        st.seconds = round(time.perf_counter() - t0, 3)
        st.peak_rss_mb = peak_rss_mb()
        stats.stages.append(st)

    try:
        run_stage("sketch", lambda: _stage_sketch(spark, cfg, work, files))
        errors = ErrorLog()
        for path, line, reason in infos["sketch"]["errors"]:
            errors.add(path, line, reason)
        if errors.count and fs.is_local(cfg.output):
            os.makedirs(_local_path(fs.qualify(cfg.output)), exist_ok=True)
            errors.write(os.path.join(_local_path(fs.qualify(cfg.output)), "errors.jsonl"))
        run_stage("cluster", lambda: _stage_cluster(spark, cfg, work, infos["sketch"]))
        run_stage("keep", lambda: _stage_keep(spark, cfg, work, infos["sketch"]))
        run_stage("write", lambda: _stage_write(spark, cfg, work, files))
    finally:
        for key, value in old.items():
            spark.conf.set(key, value)
    clusters = _read_clusters(spark, _join(cfg.output, CLUSTERS_FILE), fs)
    reasons = clusters.column("reason").to_numpy(zero_copy_only=False)
    stats.documents = clusters.num_rows
    stats.exact_duplicates = int(np.sum(reasons == "exact"))
    stats.near_duplicates = int(np.sum(reasons == "near"))
    stats.kept = int(np.sum(clusters.column("kept").to_numpy(zero_copy_only=False)))
    stats.clusters = int(np.sum(reasons == "original"))
    stats.skipped_records = len(infos["sketch"]["errors"])
    stats.input_bytes = int(infos["sketch"]["bytes"])
    stats.candidates = int(infos["cluster"].get("candidates", 0))
    stats.verified = int(infos["cluster"].get("verified", 0))
    settings = settings_dict(cfg)
    settings["master"] = spark.sparkContext.master
    run = current_run()
    if run is not None:
        note_duplicate_ids(clusters, run)
    fs.write_text(_join(cfg.output, STATS_FILE),
                  json.dumps({"job": "dedup", "engine": "spark", "settings": settings,
                              "stats": stats.to_dict(), "warnings": run.warnings() if run else []},
                             indent=2, sort_keys=True, default=str))
    if not cfg.keep_work:
        fs.delete(work.root)
    return clusters, stats


# -------------------------------------------------------------------------------------------- repair

def _repair_task(files: dict[str, tuple[int, str, str]], parts_dir: str, settings: dict
                 ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: an input file's bytes -> that file repaired by `repair_file` itself (so every
    document gets the same columns, drops and errors as in the embedded job), written as part files."""
    from semel.jobs.repair import repair_file

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            for i, path in enumerate(paths):
                index, display, _ = files[path]
                with tempfile.TemporaryDirectory(prefix="semel-") as tmp:
                    local = os.path.join(tmp, os.path.basename(display))
                    with open(local, "wb") as f:
                        f.write(batch.column("content")[i].as_py())
                    out = os.path.join(parts_dir, f"part-{index:06d}{settings['suffix']}")
                    try:
                        summary = repair_file(local, out, progress=False, **settings["kwargs"]).to_dict()
                        err = None
                    except SemelError as exc:
                        summary, err = {}, str(exc).replace(local, display)
                for side in ("dropped", "errors"):  # side files name the input as the user wrote it
                    side_path = f"{out}.{side}.jsonl"
                    if os.path.exists(side_path):
                        with open(side_path) as f:
                            text = f.read().replace(json.dumps(local)[1:-1], json.dumps(display)[1:-1])
                        with open(side_path, "w") as f:
                            f.write(text)
                yield pa.RecordBatch.from_arrays(
                    [pa.array([index], pa.int32()), pa.array([json.dumps(summary, default=str)]),
                     pa.array([err], pa.string())], names=["file", "summary", "err"])

    return task


def run_repair(inputs: list[str], output: str, *, master: str | None = None, conf: dict | list | None = None,
               spark: Any = None, output_format: str | None = None, **kwargs: Any) -> Any:
    """`repair_file` on Spark: each input file is repaired by one task with the embedded job's own code,
    and the parts are joined in input order into `output` (a local path), with the same side files."""
    from collections import Counter
    from types import SimpleNamespace

    from semel.io.formats import output_format_for
    from semel.jobs.repair import RepairSummary

    if output == "-" or kwargs.get("explain") is not None:
        raise SemelError("repair on Spark writes to a file (-o) and has no --explain")
    kwargs.pop("explain", None)
    kwargs.pop("progress", None)
    start = time.perf_counter()
    spark = get_spark(master, conf, spark)
    fs = _FS(spark)
    if not fs.is_local(output):
        raise SemelError("repair on Spark writes a local output path; run it per shard on a cluster")
    files = _input_files(SimpleNamespace(inputs=list(inputs)), fs)  # type: ignore[arg-type]
    fmt = output_format or output_format_for(files[0][2], output)
    if fmt not in ("jsonl", "parquet"):
        raise SemelError("repair on Spark writes JSONL or Parquet")
    suffix = ".parquet" if fmt == "parquet" else ".jsonl"
    out_dir = os.path.dirname(os.path.abspath(output))
    os.makedirs(out_dir, exist_ok=True)
    parts_dir = tempfile.mkdtemp(prefix=".semel-repair-", dir=out_dir)
    try:
        table = {uri: (i, display, f) for i, (uri, display, f) in enumerate(files)}
        settings = {"suffix": suffix, "kwargs": dict(kwargs, output_format=fmt)}
        rows = (spark.read.format("binaryFile").load([u for u, _, _ in files]).select("path", "content")
                .repartition(max(1, min(len(files), spark.sparkContext.defaultParallelism * 4)), "path")
                .mapInArrow(_repair_task(table, parts_dir, settings), "file int, summary string, err string")
                .collect())
        rows = sorted(rows, key=lambda r: r["file"])
        failed = [r["err"] for r in rows if r["err"]]
        if failed:
            raise SemelError(failed[0])
        parts = [os.path.join(parts_dir, f"part-{i:06d}{suffix}") for i in range(len(files))]
        _merge_local(parts, output, ".parquet" if fmt == "parquet" else ".txt")
        summary = RepairSummary(output=output)
        for r in rows:
            d = json.loads(r["summary"])
            for key in ("documents", "repaired", "dropped", "chars_removed", "bytes_in", "bytes_removed",
                        "skipped"):
                setattr(summary, key, getattr(summary, key) + int(d.get(key, 0)))
            summary.drop_reasons += Counter(d.get("drop_reasons", {}))
        for side, attr in (("dropped", "dropped_path"), ("errors", "errors_path")):
            pieces = [f"{p}.{side}.jsonl" for p in parts if os.path.exists(f"{p}.{side}.jsonl")]
            if pieces:
                path = output.rstrip("/") + f".{side}.jsonl"
                _merge_local(pieces, path, ".txt")
                setattr(summary, attr, path)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    return summary


__all__ = ["bucket_pairs", "get_spark", "interleave", "run_dedup", "run_repair",
           "verify_pairs"]
