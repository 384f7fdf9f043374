"""`lines` and `substrings` on Apache Spark, over a DataFrame of documents, with the local engine's kernels.

- `lines_spark`: exact across the whole collection. A `mapInArrow` pass hashes every unit
  (`semel.spans.lines.line_units`, once per document) with its document's position, a group-by counts
  documents per hash and finds the first position, the frequent hashes (few: the boilerplate) are
  collected and broadcast as sorted arrays, and a second `mapInArrow` pass cuts them out (`remove_units`)
  with the local job's rules (`lookup`, the first document's copy kept in mode "first", `keep_some_text`).
  Same output as `semel lines` for the same input in the same order: give `order_col` (a column that
  orders the documents as the input does); without it the order is the DataFrame's partition order.
- `substrings_spark`: the suffix array runs per partition: each partition is one shard (`remove_repeats`
  over all its documents: find and cut until nothing repeats, as the local engine does per shard; spans
  repeated inside one document only with `within`, as locally).
  Limitation: a passage whose copies sit in different partitions is not found, exactly as with shards
  of the local engine; repartition to fewer, larger partitions (about 8 bytes of executor memory per
  byte of text) to find more. "first" means first in partition order.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from semel.engines.spark.session import get_spark, is_connect
from semel.errors import check_choice
from semel.jobs.lines import DEFAULT_MIN_CHARS, DEFAULT_MODE, threshold
from semel.jobs.lines import MODES as LINES_MODES
from semel.jobs.substrings import DEFAULT_MIN_TOKENS, shard_texts
from semel.spans.lines import (
    first_copies_at,
    keep_some_text,
    line_units,
    lookup,
    remove_units,
    whole_sentences,
)
from semel.spans.suffix import check_settings, remove_repeats, token_spans

SPANS_TYPE = "array<struct<start:bigint,end:bigint>>"
LINES_FIELDS = ("lines_removed bigint, chars_removed bigint, original_nlines bigint, original_length bigint, "
                f"lines_removed_spans {SPANS_TYPE}")
PROVENANCE = ("lines_removed", "chars_removed", "original_nlines", "original_length")
SUBSTRINGS_FIELDS = f"substrings_removed {SPANS_TYPE}, substrings_removed_chars bigint"


def _schema(df: Any, extra: str) -> str:
    return ", ".join([f"`{f.name}` {f.dataType.simpleString()}" for f in df.schema.fields] + [extra])


def _set_text(batch: pa.RecordBatch, text_col: str, texts: pa.Array) -> pa.RecordBatch:
    idx = batch.schema.get_field_index(text_col)
    return batch.set_column(idx, text_col, texts.cast(batch.schema.field(text_col).type))


_POS = "__semel_pos"


class _Shipped:
    """A value sent with the task itself, read as `.value` like a broadcast variable."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _hash_task(text_col: str, unit: str, fold_digits: bool, min_chars: int
               ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            units = line_units(batch.column(text_col), unit, fold_digits)
            countable = units.countable(min_chars)
            doc_pos = batch.column(_POS).to_numpy(zero_copy_only=False).astype(np.int64)
            pairs = np.unique(np.stack([units.doc[countable], units.hash[countable].view(np.int64)]),
                              axis=1)  # each unit once per document
            yield pa.record_batch([pa.array(pairs[1], pa.int64()), pa.array(doc_pos[pairs[0]], pa.int64())],
                                  names=["h", "pos"])
    return task


def _remove_task(text_col: str, unit: str, fold_digits: bool, min_chars: int, mode: str, frequent: Any
                 ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        freq, first_pos = frequent.value
        for batch in batches:
            texts = batch.column(text_col)
            units = line_units(texts, unit, fold_digits)
            remove, index = lookup(units, freq, min_chars)
            if mode == "first":
                doc_pos = batch.column(_POS).to_numpy(zero_copy_only=False).astype(np.int64)
                remove = first_copies_at(units, remove, index, doc_pos, first_pos)
            remove = whole_sentences(units, remove)
            remove, _ = keep_some_text(units, remove, min_chars, batch.num_rows)
            res = remove_units(texts, units, remove)
            out = _set_text(batch.drop_columns([_POS]), text_col, res.texts)
            for i, name in enumerate(PROVENANCE):
                out = out.append_column(name, pa.array(res.stats[:, i], pa.int64()))
            yield out.append_column("lines_removed_spans", res.spans_column())
    return task


def lines_spark(df: Any, *, text_col: str = "text", unit: str = "line", min_docs: int | None = None,
                min_share: float | None = None, min_chars: int = DEFAULT_MIN_CHARS, fold_digits: bool = True,
                mode: str = DEFAULT_MODE, order_col: str | None = None, spark: Any = None) -> tuple[Any, Any]:
    """Boilerplate-line removal on a DataFrame: (documents with the provenance columns of `semel lines`,
    DataFrame of frequent unit hashes with their document counts and first positions). Exact across all
    partitions. `mode` as in `semel.jobs.lines`; "first" means the smallest `order_col` (default: the
    DataFrame's partition order, which must then be the same in both passes: a deterministic input)."""
    from pyspark.sql import functions as F

    check_choice("mode", mode, LINES_MODES)
    spark = get_spark(spark=spark if spark is not None else df.sparkSession)
    documents = df.count() if min_share is not None else 1
    n = threshold(documents, min_docs, min_share)
    schema = _schema(df, LINES_FIELDS)
    pos = F.col(order_col).cast("bigint") if order_col else F.monotonically_increasing_id()
    ordered = df.withColumn(_POS, pos)
    hashes = ordered.mapInArrow(_hash_task(text_col, unit, fold_digits, min_chars), "h bigint, pos bigint")
    counts = (hashes.groupBy("h").agg(F.count("*").alias("documents"), F.min("pos").alias("first_pos"))
              .where(f"documents >= {n}"))
    rows = sorted((r[0] & 0xFFFFFFFFFFFFFFFF, r[1]) for r in counts.select("h", "first_pos").collect())
    frequent = (np.array([h for h, _ in rows], dtype=np.uint64),
                np.array([p for _, p in rows], dtype=np.int64))
    # a broadcast where there is a SparkContext; over Spark Connect the arrays travel with the task
    bc = _Shipped(frequent) if is_connect(spark) else spark.sparkContext.broadcast(frequent)
    out = ordered.mapInArrow(_remove_task(text_col, unit, fold_digits, min_chars, mode, bc), schema)
    return out, counts


#: Odd multiplier of the k-token window hash (a polynomial hash mod 2^64; its inverse exists).
_WINDOW_MUL = 0x9E3779B97F4A7C15
_LABEL = "__semel_label"


def window_hashes(texts: pa.Array, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(document, hash) of every window of k consecutive tokens (semel's tokens, as the suffix array sees
    them), each once per document: two documents share a span of >= k tokens only if they share one."""
    tok = token_spans(texts)
    n = len(tok)
    if n < k:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    with np.errstate(over="ignore"):
        one = np.ones(1, np.uint64)
        power = np.concatenate([one, np.cumprod(np.full(n - 1, _WINDOW_MUL, np.uint64))])  # m^t
        inverse = np.concatenate([one, np.cumprod(np.full(n - 1, pow(_WINDOW_MUL, -1, 1 << 64), np.uint64))])
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(tok.hash * power, dtype=np.uint64)])
        starts = np.arange(n - k + 1)
        hashes = (prefix[starts + k] - prefix[starts]) * inverse[starts]
    doc = np.repeat(np.arange(len(tok.offsets) - 1), np.diff(tok.offsets))
    ok = doc[starts] == doc[starts + k - 1]  # windows inside one document
    pairs = np.unique(np.stack([doc[starts][ok].astype(np.int64), hashes[ok].view(np.int64)]), axis=1)
    return pairs[0], pairs[1].view(np.uint64)


def _windows_task(text_col: str, k: int) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            doc, hashes = window_hashes(batch.column(text_col), k)
            pos = batch.column(_POS).to_numpy(zero_copy_only=False).astype(np.int64)
            yield pa.record_batch([pa.array(hashes.view(np.int64)), pa.array(pos[doc])], names=["h", "pos"])
    return task


def colocate_repeats(df: Any, text_col: str, min_tokens: int) -> Any:
    """`df` (with the position column) plus a label column: documents that share a window of `min_tokens`
    tokens, directly or through others, get the same label (the smallest position of their connected
    component), so a shard holding whole components finds every repeat the whole collection has."""
    from pyspark.sql import functions as F

    from semel.engines.spark.cluster import components_of

    windows = df.select(_POS, text_col).mapInArrow(_windows_task(text_col, min_tokens), "h long, pos long")
    shared = (windows.groupBy("h").agg(F.collect_set("pos").alias("docs")).where(F.size("docs") > 1)
              .select(F.array_min("docs").alias("b"), F.explode("docs").alias("a")).where("a != b")
              .distinct())
    labels = components_of(df.sparkSession, shared)
    return (df.join(labels.select(F.col("node").alias(_POS), F.col("label").alias(_LABEL)), _POS, "left")
            .withColumn(_LABEL, F.coalesce(_LABEL, _POS)))


def _substrings_task(text_col: str, min_tokens: int, mode: str, within: bool, align: str
                     ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow task: one partition of whole components (sorted by label, then position) is one shard
    for `remove_repeats`; the helper columns are dropped."""
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        shard = [b.drop_columns([_POS, _LABEL]) for b in batches if b.num_rows]
        if not shard:
            return
        whole = remove_repeats(shard_texts(shard, text_col), min_tokens, mode, within=within, align=align)
        lo = 0
        for batch in shard:
            res = whole.slice(lo, lo + batch.num_rows)
            lo += batch.num_rows
            out = _set_text(batch, text_col, res.texts) if mode != "mark" else batch
            out = out.append_column("substrings_removed", res.spans_column())
            yield out.append_column("substrings_removed_chars", pa.array(res.stats[:, 1], pa.int64()))
    return task


def substrings_spark(df: Any, *, text_col: str = "text", min_tokens: int = DEFAULT_MIN_TOKENS,
                     mode: str = "first", within: bool = False, align: str = "sentences",
                     order_col: str | None = None,
                     partitions: int | None = None) -> Any:
    """Repeated-passage removal on a DataFrame across the whole collection, whatever its partitioning:
    documents sharing a k-token window are co-located by connected component (`colocate_repeats`), and
    each partition of whole components runs the embedded engine's `remove_repeats`, "first" meaning the
    smallest `order_col` (default: the DataFrame's partition order, which must then be deterministic).
    Returns the documents (in no particular order) with the `substrings_removed` columns."""
    from pyspark.sql import functions as F

    check_settings(mode, min_tokens, align)
    schema = _schema(df, SUBSTRINGS_FIELDS)
    pos = F.col(order_col).cast("bigint") if order_col else F.monotonically_increasing_id()
    labelled = colocate_repeats(df.withColumn(_POS, pos), text_col, min_tokens)
    n = partitions or int(df.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return (labelled.repartition(n, _LABEL).sortWithinPartitions(_LABEL, _POS)
            .select(*df.columns, _POS, _LABEL)
            .mapInArrow(_substrings_task(text_col, min_tokens, mode, within, align), schema))
