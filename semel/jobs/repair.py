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

import orjson
import pyarrow as pa

from semel.gopher import GOPHER_THRESHOLDS, exceeds, repetition_stats
from semel.io import ID, TEXT, ErrorLog, InputSpec, atomic_path, open_writer, read_batches
from semel.io.formats import detect_format, output_format_for
from semel.progress import progress as progress_bar
from semel.repair import DEFAULT_MIN_CHARS, UNITS, RepairResult, repair

#: Extra fields written for every document.
REMOVED_CHARS = "repair_removed_chars"
REMOVED = "repair_removed"
STATS = "repair_stats"

_SPAN_TYPE = pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()), ("kept_start", pa.int64()),
                                 ("kept_end", pa.int64()), ("kind", pa.string())]))
_STATS_TYPE = pa.struct([(k, pa.float64()) for k in GOPHER_THRESHOLDS])

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
    """Repair one batch; returns it without dropped documents and with the extra columns."""
    ids = batch.column(ID).to_pylist()
    texts = batch.column(TEXT).to_pylist()
    keep: list[bool] = []
    new_texts: list[str | None] = []
    removed_chars: list[int] = []
    removed: list[list[dict[str, Any]]] = []
    stats_col: list[dict[str, float] | None] = []
    for doc_id, text in zip(ids, texts, strict=True):
        summary.documents += 1
        if text is None:
            text = ""
        n_bytes = len(text.encode("utf-8")) if not text.isascii() else len(text)
        summary.bytes_in += n_bytes
        result, stats, failed = repair_one(text, min_chars=min_chars, units=units,
                                                drop_above=drop_above, with_stats=with_stats)
        if failed:
            summary.dropped += 1
            reason = f"gopher:{failed[0]}"
            summary.drop_reasons[reason] += 1
            dropped.append({"id": doc_id, "reason": reason, "failed": failed, "stats": stats})
            keep.append(False)
            continue
        keep.append(True)
        if result.removed:
            summary.repaired += 1
            summary.chars_removed += result.stats.chars_removed
            out_bytes = len(result.text.encode("utf-8")) if not result.text.isascii() else len(result.text)
            summary.bytes_removed += n_bytes - out_bytes
            if explain is not None:
                explain(doc_id, text, result)
        new_texts.append(result.text)
        removed_chars.append(result.stats.chars_removed)
        removed.append([sp.to_dict() for sp in result.removed])
        stats_col.append(stats)
    if not all(keep):
        batch = batch.filter(pa.array(keep, type=pa.bool_()))
    idx = batch.schema.get_field_index(TEXT)
    batch = batch.set_column(idx, TEXT, pa.array(new_texts, type=batch.schema.field(TEXT).type))
    batch = batch.append_column(REMOVED_CHARS, pa.array(removed_chars, type=pa.int64()))
    batch = batch.append_column(REMOVED, pa.array(removed, type=_SPAN_TYPE))
    if with_stats:
        batch = batch.append_column(STATS, pa.array(stats_col, type=_STATS_TYPE))
    return batch
