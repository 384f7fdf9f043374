"""`lines_file`: remove boilerplate lines (or paragraphs) that recur across many documents (CCNet-style).

Two passes over the input. Pass one ("count") hashes every normalised unit and counts in how many
documents each hash occurs, in sorted uint64 arrays that spill to disk past a memory budget. Pass two
("remove") cuts the units whose document count reaches the threshold out of the documents and writes the
documents with CCNet's provenance fields (`lines_removed`, `chars_removed`, `original_nlines`,
`original_length`) plus `lines_removed_spans` (character offsets into the original text, for the report
and `semel explain`). `<output>.lines.parquet` lists the removed units with their document counts.

Modes: ``first`` (the default) keeps each frequent unit in the first document that has it, in input order,
and removes it from the others, as dolma's and datatrove's line and paragraph deduplication do, so no
text is lost from the collection: a unit shared by many documents (a licence notice, a shared definition,
a heading that passes the length rule) still exists once. ``all`` removes every occurrence, the first
too, as CCNet does: right for pure boilerplate (footers, cookie notices), which has no original, but a
line of real text found in enough documents then disappears from the collection.

Whatever the mode, short units (under `min_chars`) and headings (capitals, at most four words) stay, and
a document whose every removable unit is frequent stays whole (`documents_kept_whole`), so no document is
emptied: identical files are `semel dedup`'s business, not this job's.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from semel.errors import SemelError, check_choice
from semel.io import CHANGED, TEXT, ErrorLog, InputSpec, atomic_path, open_writer, read_batches
from semel.io.formats import detect_format, output_format_for, work_size_bytes
from semel.jit import sized_by
from semel.progress import ReadingBar
from semel.spans.lines import (
    UNITS,
    HashCounter,
    Units,
    _units,
    first_copies,
    keep_some_text,
    line_units,
    lookup,
    remove_units,
    whole_sentences,
)
from semel.stages import StageStats, peak_rss_mb, summary_dict
from semel.text.tokens import string_buffers

#: Defaults: --min-docs chosen on bench/bench_spans.py (see the module docstring there). 20 characters
#: keeps headings, option lines ("-4, --ipv4"), labels and short code lines ("#include <stdio.h>") of
#: documentation, which recur across pages without being boilerplate; footers and notices are longer.
DEFAULT_MIN_DOCS = 5
DEFAULT_MIN_CHARS = 20
#: first: keep each frequent unit in its first document (dolma, datatrove); all: remove it everywhere (CCNet).
MODES = ("first", "all")
DEFAULT_MODE = "first"

LINES_REMOVED = "lines_removed"
CHARS_REMOVED = "chars_removed"
ORIGINAL_NLINES = "original_nlines"
ORIGINAL_LENGTH = "original_length"
SPANS = "lines_removed_spans"


@dataclass
class LinesSummary:
    """What a `lines_file` run did; written as `<output>.stats.json` (job "lines")."""

    documents: int = 0
    changed: int = 0
    lines_removed: int = 0
    chars_removed: int = 0
    input_chars: int = 0
    bytes_in: int = 0
    bytes_removed: int = 0
    distinct_units: int = 0
    frequent_units: int = 0
    min_docs: int = 0
    mode: str = DEFAULT_MODE
    documents_kept_whole: int = 0
    spilled_bytes: int = 0
    skipped: int = 0
    seconds: float = 0.0
    stages: list[StageStats] = field(default_factory=list)
    output: str | None = None
    lines_path: str | None = None
    errors_path: str | None = None
    stats_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return summary_dict(self)

    def format(self) -> str:
        """A short human summary (printed on stderr by the CLI)."""
        mb = self.bytes_in / 1e6
        rate = f" ({mb / self.seconds:.1f} MB/s)" if self.seconds > 0 and mb > 0 else ""
        share = f" ({100 * self.bytes_removed / self.bytes_in:.1f}% of the input)" if self.bytes_in else ""
        out = [
            f"semel lines: {self.documents:,} documents read twice in {self.seconds:.1f}s{rate}",
            f"  frequent   {self.frequent_units:,} of {self.distinct_units:,} distinct units "
            f"in >= {self.min_docs:,} documents",
            f"  changed    {self.changed:,} documents" + (
                f" ({self.documents_kept_whole:,} left whole: every line of theirs is frequent)"
                if self.documents_kept_whole else ""),
            f"  removed    {self.lines_removed:,} lines, {self.bytes_removed:,} bytes{share}"
            + (", the first document's copy kept" if self.mode == "first" else ", every copy"),
            f"  skipped    {self.skipped:,} bad records",
        ]
        for label, path in (("output", self.output), ("lines", self.lines_path),
                            ("errors", self.errors_path), ("stats", self.stats_path)):
            if path:
                out.append(f"  {label:<10} {path}")
        return "\n".join(out)


def threshold(documents: int, min_docs: int | None, min_share: float | None) -> int:
    """The document count from which a unit is boilerplate: `min_docs`, or `min_share` of the documents
    (never below 2, so a unit that occurs in one document only is never removed)."""
    if min_docs is not None and min_share is not None:
        raise ValueError("give min_docs or min_share, not both")
    if min_share is not None:
        if not 0 < min_share <= 1:
            raise ValueError("min_share must be in (0, 1]")
        return max(2, math.ceil(min_share * documents))
    n = DEFAULT_MIN_DOCS if min_docs is None else int(min_docs)
    if n < 2:
        raise ValueError("min_docs must be at least 2 (a line in one document is not boilerplate)")
    return n


def _check_inputs(paths: list[str]) -> None:
    if "-" in paths:
        raise SemelError("this job reads its input twice, so it cannot read stdin; save it to a file first")


ExplainFn = Callable[[str, str, list[dict[str, int]]], None]


@sized_by(lambda inputs, *_, **__: work_size_bytes(inputs), probe=_units)
def lines_file(inputs: str | Sequence[str], output: str = "-", *, id_field: str = "id",
               text_field: str = "text", unit: str = "line", min_docs: int | None = None,
               min_share: float | None = None, min_chars: int = DEFAULT_MIN_CHARS, fold_digits: bool = True,
               on_error: str = "fail", batch_size: int = 8192, progress: bool | None = None,
               memory_mb: int = 1024, spill_dir: str | None = None, output_format: str | None = None,
               explain: ExplainFn | None = None, mode: str = DEFAULT_MODE) -> LinesSummary:
    """Remove the units (lines or paragraphs, at least `min_chars` characters, not headings) that occur in at
    least `min_docs` documents (or `min_share` of them) from every document but the first that has them
    (``mode="first"``) or from all (``mode="all"``), and write the documents to `output`.

    Units are compared by their token stream (case folded, punctuation ignored, digits folded unless
    `fold_digits=False`) and counted once per document. Returns the run's summary; with a file output also
    writes `<output>.lines.parquet`, `<output>.stats.json` and (with skipped records) `<output>.errors.jsonl`.
    """
    paths = [inputs] if isinstance(inputs, str) else list(inputs)
    _check_inputs(paths)
    check_choice("unit", unit, UNITS)
    if min_chars < 0:
        raise ValueError("min_chars must be 0 or more")
    check_choice("mode", mode, MODES)
    threshold(1, min_docs, min_share)  # validate before reading anything
    spec = InputSpec(paths=paths, id_field=id_field, text_field=text_field, on_error=on_error,  # type: ignore[arg-type]
                     batch_size=batch_size)
    if output_format is None:
        output_format = output_format_for(detect_format(paths[0]) if paths else "jsonl", output)
    summary = LinesSummary(output=None if output == "-" else output, mode=mode)
    start = time.perf_counter()

    # pass 1: count
    t0 = time.perf_counter()
    counter = HashCounter(budget_bytes=memory_mb << 20, spill_dir=spill_dir)
    errors = ErrorLog()
    bar = ReadingBar(paths, "lines: count", progress)
    try:
        for batch in read_batches(spec, errors):
            units = line_units(batch.column(TEXT), unit, fold_digits)
            counter.add(units.per_doc_unique(min_chars))
            summary.documents += batch.num_rows
            bar.update(batch)
        summary.min_docs = threshold(summary.documents, min_docs, min_share)
        frequent, counts, summary.distinct_units = counter.frequent(summary.min_docs)
        summary.spilled_bytes = counter.spilled_bytes
    finally:
        counter.close()
        bar.close()
    summary.frequent_units = int(frequent.size)
    summary.stages.append(StageStats("count", round(time.perf_counter() - t0, 3), peak_rss_mb()))

    # pass 2: remove
    t0 = time.perf_counter()
    examples: list[str | None] = [None] * int(frequent.size)
    seen = np.zeros(frequent.size, bool) if mode == "first" else None  # frequent units met so far
    errors = ErrorLog()
    bar = ReadingBar(paths, "lines: remove", progress)
    try:
        with open_writer(output, format=output_format, text_field=text_field, id_field=id_field) as writer:
            for batch in read_batches(spec, errors):
                writer.write(_remove_batch(batch, unit, fold_digits, min_chars, frequent, seen, examples,
                                           summary, explain))
                bar.update(batch)
    finally:
        bar.close()
    summary.stages.append(StageStats("remove", round(time.perf_counter() - t0, 3), peak_rss_mb()))
    summary.skipped = errors.count
    summary.seconds = round(time.perf_counter() - start, 3)
    if output != "-":
        base = output.rstrip("/")
        summary.lines_path = base + ".lines.parquet"
        _write_lines_table(summary.lines_path, frequent, counts, examples)
        if errors.count:
            summary.errors_path = base + ".errors.jsonl"
            errors.write(summary.errors_path)
        summary.stats_path = _write_stats(output, "lines", {
            "inputs": paths, "id_field": id_field, "text_field": text_field, "unit": unit,
            "min_docs": min_docs, "min_share": min_share, "min_chars": min_chars, "fold_digits": fold_digits,
            "mode": mode, "memory_mb": memory_mb}, summary.to_dict())
    return summary


def _write_stats(output: str, job: str, settings: dict[str, Any], stats: dict[str, Any]) -> str:
    from semel.report.runinfo import write_run_stats

    return write_run_stats(output, job, settings, stats)


def _write_lines_table(path: str, frequent: np.ndarray, counts: np.ndarray,
                       examples: list[str | None]) -> None:
    order = np.lexsort((frequent, -counts.astype(np.int64))) if frequent.size else np.empty(0, np.int64)
    table = pa.table({
        "text": pa.array([examples[i] for i in order], pa.string()),
        "documents": pa.array(counts[order].astype(np.int64), pa.int64()),
        "hash": pa.array(frequent[order], pa.uint64()),
    })
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _remove_batch(batch: pa.RecordBatch, unit: str, fold_digits: bool, min_chars: int, frequent: np.ndarray,
                  seen: np.ndarray | None, examples: list[str | None], summary: LinesSummary,
                  explain: ExplainFn | None) -> pa.RecordBatch:
    texts = batch.column(TEXT)
    units = line_units(texts, unit, fold_digits)
    remove, index = lookup(units, frequent, min_chars)
    if seen is not None:
        remove = first_copies(units, remove, index, seen)
    remove = whole_sentences(units, remove)
    remove, whole = keep_some_text(units, remove, min_chars, batch.num_rows)
    summary.documents_kept_whole += whole
    _record_examples(texts, units, remove, index, examples)
    res = remove_units(texts, units, remove)
    stats = res.stats
    removed_bytes = np.zeros(batch.num_rows, np.int64)
    if remove.any():
        np.add.at(removed_bytes, units.doc[remove], (units.end - units.start)[remove])
    summary.changed += int(np.count_nonzero(stats[:, 0] > 0))
    summary.lines_removed += int(stats[:, 0].sum())
    summary.chars_removed += int(stats[:, 1].sum())
    summary.input_chars += int(stats[:, 3].sum())
    offsets, _ = string_buffers(texts)
    summary.bytes_in += int(offsets[-1] - offsets[0])
    summary.bytes_removed += int(removed_bytes.sum())
    spans = res.spans_column()
    if explain is not None and remove.any():
        ids = batch.column("id").to_pylist()
        originals = texts.to_pylist()
        for d in np.flatnonzero(stats[:, 0] > 0):
            explain(ids[d], originals[d] or "", spans[int(d)].as_py())
    idx = batch.schema.get_field_index(TEXT)
    new_texts = res.texts if batch.schema.field(TEXT).type == pa.large_string() else res.texts.cast(
        batch.schema.field(TEXT).type)
    batch = batch.set_column(idx, TEXT, new_texts)
    for name, col in ((LINES_REMOVED, stats[:, 0]), (CHARS_REMOVED, stats[:, 1]),
                      (ORIGINAL_NLINES, stats[:, 2]), (ORIGINAL_LENGTH, stats[:, 3])):
        batch = batch.append_column(name, pa.array(col, pa.int64()))
    batch = batch.append_column(SPANS, spans)
    return batch.append_column(CHANGED, pa.array(stats[:, 0] > 0, pa.bool_()))


def _record_examples(texts: pa.Array | pa.ChunkedArray, units: Units, remove: np.ndarray, index: np.ndarray,
                     examples: list[str | None]) -> None:
    """Keep the first occurrence's text of every removed unit (for the table of removed lines)."""
    if not remove.any():
        return
    where = np.flatnonzero(remove)
    first_idx, first_pos = np.unique(index[where], return_index=True)
    _, data = string_buffers(texts)
    for i, p in zip(first_idx.tolist(), where[first_pos].tolist(), strict=True):
        if examples[i] is None:
            raw = data[int(units.start[p]):int(units.end[p])].tobytes()
            examples[i] = raw.decode("utf-8", "replace").strip()
