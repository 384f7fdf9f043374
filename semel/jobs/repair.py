"""`repair_file`: the in-document repair kernel run over a collection, with per-document records.

Every input document is accounted for: it is written (repaired or unchanged, with what was removed and its
repetition statistics as extra fields), dropped with a reason (``--drop-above``: listed in
``<output>.dropped.jsonl``), or skipped as a bad record (``--on-error skip``: ``<output>.errors.jsonl``).
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from semel.gopher import GOPHER_THRESHOLDS, _gopher_docs, exceeds, repetition_stats, repetition_stats_batch
from semel.io import CHANGED, ID, TEXT, ErrorLog, InputSpec, atomic_path, open_writer, read_batches
from semel.io.formats import detect_format, output_format_for, work_size_bytes
from semel.io.outputs import Outputs
from semel.jit import sized_by
from semel.progress import progress as progress_bar
from semel.repair import DEFAULT_MIN_CHARS, UNITS, RepairResult, repair

#: Extra fields written for every document.
REMOVED_CHARS = "repair_removed_chars"
REMOVED = "repair_removed"
STATS = "repair_stats"

_SPAN_TYPE = pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()), ("kept_start", pa.int64()),
                                 ("kept_end", pa.int64()), ("kind", pa.string())]))
_STATS_TYPE = pa.struct([(k, pa.float64()) for k in GOPHER_THRESHOLDS])
_SPAN_FIELDS = tuple(_SPAN_TYPE.value_type)
_LIMITS = np.array(list(GOPHER_THRESHOLDS.values()), dtype=np.float64)

ExplainFn = Callable[[str, str, RepairResult], None]


@dataclass
class RepairSummary:
    """What a `repair_file` run did, for the end-of-run summary and for callers."""

    documents: int = 0
    repaired: int = 0
    dropped: int = 0
    chars_removed: int = 0
    bytes_in: int = 0
    bytes_removed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    drop_reasons: Counter[str] = field(default_factory=Counter)
    output: str | None = None
    dropped_path: str | None = None
    errors_path: str | None = None

    @property
    def unchanged(self) -> int:
        return self.documents - self.repaired - self.dropped

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("documents", "repaired", "unchanged", "dropped", "chars_removed",
                                           "bytes_in", "bytes_removed", "skipped", "seconds", "output",
                                           "dropped_path", "errors_path")}
        d["drop_reasons"] = dict(self.drop_reasons)
        return d

    def format(self) -> str:
        """A short human summary (printed on stderr by the CLI)."""
        mb = self.bytes_in / 1e6
        rate = f" ({mb / self.seconds:.1f} MB/s)" if self.seconds > 0 and mb > 0 else ""
        share = f" ({100 * self.bytes_removed / self.bytes_in:.1f}% of the input)" if self.bytes_in else ""
        lines = [
            f"semel repair: {self.documents:,} documents read in {self.seconds:.1f}s{rate}",
            f"  repaired   {self.repaired:,}",
            f"  unchanged  {self.unchanged:,}",
            f"  dropped    {self.dropped:,}" + (
                "  (" + ", ".join(f"{r}: {n:,}" for r, n in self.drop_reasons.most_common()) + ")"
                if self.drop_reasons else ""),
            f"  removed    {self.bytes_removed:,} bytes{share}",
            f"  skipped    {self.skipped:,} bad records",
        ]
        for label, path in (("output", self.output), ("dropped", self.dropped_path),
                            ("errors", self.errors_path)):
            if path:
                lines.append(f"  {label:<10} {path}")
        return "\n".join(lines)


def explain_printer(stream: IO[str], width: int = 60) -> ExplainFn:
    """An explain callback that prints each repaired document's removed spans and their first occurrence."""

    def show(s: str) -> str:
        s = " ".join(s.split())
        return orjson.dumps(s if len(s) <= width else s[: width - 1] + "…").decode()

    def explain(doc_id: str, text: str, result: RepairResult) -> None:
        if not result.removed:
            return
        print(f"{doc_id}: {len(result.removed)} span(s) removed, {result.stats.chars_removed} chars",
              file=stream)
        for sp in result.removed:
            print(f"  - [{sp.start}:{sp.end}] {sp.kind:<9} {show(text[sp.start:sp.end])}\n"
                  f"    first at [{sp.kept_start}:{sp.kept_end}]", file=stream)

    return explain


def repair_one(text: str, *, min_chars: int = DEFAULT_MIN_CHARS, units: Sequence[str] = UNITS,
                    drop_above: bool = False, with_stats: bool = True
                    ) -> tuple[RepairResult, dict[str, float] | None, list[str]]:
    """Repair one document; its Gopher statistics (of the input); the rules it fails if `drop_above`."""
    stats = repetition_stats(text) if (with_stats or drop_above) else None
    failed = exceeds(stats) if drop_above and stats is not None else []
    if failed:
        return RepairResult(text), stats, failed
    return repair(text, min_chars=min_chars, units=units), stats, []


@sized_by(lambda inputs, *_, **__: work_size_bytes(inputs), probe=_gopher_docs)
def repair_file(inputs: str | Sequence[str], output: str = "-", *, id_field: str = "id",
                text_field: str = "text", min_chars: int = DEFAULT_MIN_CHARS, units: Sequence[str] = UNITS,
                drop_above: bool = False, on_error: str = "fail", explain: ExplainFn | None = None,
                batch_size: int = 8192, progress: bool | None = None, with_stats: bool = True,
                output_format: str | None = None) -> RepairSummary:
    """Repair every document of a collection and write it to `output` (a path, or "-" for stdout).

    Adds per document `repair_removed_chars`, `repair_removed` (spans with offsets into the original text
    and the offsets of the first occurrence) and `repair_stats` (Gopher repetition statistics of the
    input) to formats with fields (JSONL, Parquet). With `drop_above`, documents above a Gopher threshold
    are not written; `<output>.dropped.jsonl` lists them with the failed rules.
    """
    paths = [inputs] if isinstance(inputs, str) else list(inputs)
    with Outputs(output, inputs=paths):  # all outputs appear together at the end (semel.io.outputs)
        return _repair_local(paths, output, id_field=id_field, text_field=text_field, min_chars=min_chars,
                             units=units, drop_above=drop_above, on_error=on_error, explain=explain,
                             batch_size=batch_size, progress=progress, with_stats=with_stats,
                             output_format=output_format)


def _repair_local(paths: list[str], output: str, *, id_field: str, text_field: str, min_chars: int,
                  units: Sequence[str], drop_above: bool, on_error: str, explain: ExplainFn | None,
                  batch_size: int, progress: bool | None, with_stats: bool,
                  output_format: str | None) -> RepairSummary:
    spec = InputSpec(paths=paths, id_field=id_field, text_field=text_field, on_error=on_error,  # type: ignore[arg-type]
                     batch_size=batch_size)
    if output_format is None:
        output_format = output_format_for(detect_format(paths[0]) if paths else "jsonl", output)
    errors = ErrorLog()
    summary = RepairSummary(output=None if output == "-" else output)
    dropped: list[dict[str, Any]] = []
    start = time.perf_counter()
    bar = progress_bar(desc="repair", unit=" docs", enabled=progress)
    try:
        with open_writer(output, format=output_format, text_field=text_field, id_field=id_field) as writer:
            for batch in read_batches(spec, errors):
                writer.write(_repair_batch(batch, summary, dropped, min_chars, units, drop_above, explain,
                                           with_stats))
                bar.update(batch.num_rows)
    finally:
        bar.close()
    summary.skipped = errors.count
    if output != "-":
        if dropped:
            summary.dropped_path = output.rstrip("/") + ".dropped.jsonl"
            with atomic_path(summary.dropped_path) as tmp, open(tmp, "wb") as f:
                for rec in dropped:
                    f.write(orjson.dumps(rec) + b"\n")
        if errors.count:
            summary.errors_path = output.rstrip("/") + ".errors.jsonl"
            errors.write(summary.errors_path)
    summary.seconds = time.perf_counter() - start
    return summary


def _repair_batch(batch: pa.RecordBatch, summary: RepairSummary, dropped: list[dict[str, Any]],
                  min_chars: int, units: Sequence[str], drop_above: bool, explain: ExplainFn | None,
                  with_stats: bool) -> pa.RecordBatch:
    """Repair one batch; returns it without dropped documents and with the extra columns.

    Statistics are computed for the whole batch in one compiled pass over the Arrow text buffer; only the
    repair kernel runs per document. Output columns are built from flat arrays, and ``__changed`` tells
    the writer which texts changed.
    """
    col = batch.column(TEXT)
    if col.null_count:
        col = col.fill_null("")
    n = batch.num_rows
    summary.documents += n
    n_bytes = pc.binary_length(col).to_numpy(zero_copy_only=False)
    summary.bytes_in += int(n_bytes.sum())
    stats_arr = repetition_stats_batch(col) if (with_stats or drop_above) else None
    keep = np.ones(n, dtype=bool)
    if drop_above and stats_arr is not None:
        keep = ~(stats_arr > _LIMITS).any(axis=1)
        if not keep.all():
            ids = batch.column(ID).to_pylist()
            for i in np.flatnonzero(~keep).tolist():
                stats = dict(zip(GOPHER_THRESHOLDS, stats_arr[i].tolist(), strict=True))
                failed = exceeds(stats)
                summary.dropped += 1
                reason = f"gopher:{failed[0]}"
                summary.drop_reasons[reason] += 1
                dropped.append({"id": ids[i], "reason": reason, "failed": failed, "stats": stats})
    texts = col.to_pylist()
    kept = np.flatnonzero(keep).tolist()
    m = len(kept)
    removed_chars = np.zeros(m, dtype=np.int64)
    changed = np.zeros(m, dtype=bool)
    span_counts = np.zeros(m, dtype=np.int64)
    new_texts: list[str] = []
    spans: list[Any] = []
    ids_list: list[Any] | None = None
    for k, i in enumerate(kept):
        text = texts[i]
        result = repair(text, min_chars=min_chars, units=units)
        if not result.removed:
            continue
        changed[k] = True
        summary.repaired += 1
        removed_chars[k] = result.stats.chars_removed
        summary.chars_removed += result.stats.chars_removed
        out = result.text
        out_bytes = len(out) if out.isascii() else len(out.encode("utf-8"))
        summary.bytes_removed += int(n_bytes[i]) - out_bytes
        new_texts.append(out)
        span_counts[k] = len(result.removed)
        spans.extend(result.removed)
        if explain is not None:
            if ids_list is None:
                ids_list = batch.column(ID).to_pylist()
            explain(ids_list[i], text, result)
    if m < n:
        batch = batch.filter(pa.array(keep, type=pa.bool_()))
        col = col.filter(pa.array(keep, type=pa.bool_()))
    if new_texts:
        col = pc.replace_with_mask(col, pa.array(changed, type=pa.bool_()),
                                   pa.array(new_texts, type=col.type))
    idx = batch.schema.get_field_index(TEXT)
    batch = batch.set_column(idx, batch.schema.field(TEXT), col)
    batch = batch.append_column(REMOVED_CHARS, pa.array(removed_chars, type=pa.int64()))
    batch = batch.append_column(REMOVED, _spans_column(span_counts, spans))
    if with_stats and stats_arr is not None:
        kept_stats = stats_arr[keep] if m < n else stats_arr
        batch = batch.append_column(STATS, pa.StructArray.from_arrays(
            [pa.array(kept_stats[:, j], type=pa.float64()) for j in range(len(GOPHER_THRESHOLDS))],
            fields=list(_STATS_TYPE)))
    if CHANGED in batch.schema.names:
        batch = batch.drop_columns([CHANGED])
    return batch.append_column(CHANGED, pa.array(changed, type=pa.bool_()))


def _spans_column(counts: np.ndarray, spans: list[Any]) -> pa.Array:
    """The `repair_removed` column: list<struct> from per-document span counts and the flat spans."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = pa.StructArray.from_arrays(
        [pa.array([sp.start for sp in spans], type=pa.int64()),
         pa.array([sp.end for sp in spans], type=pa.int64()),
         pa.array([sp.kept_start for sp in spans], type=pa.int64()),
         pa.array([sp.kept_end for sp in spans], type=pa.int64()),
         pa.array([sp.kind for sp in spans], type=pa.string())],
        fields=list(_SPAN_FIELDS))
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values, type=_SPAN_TYPE)
