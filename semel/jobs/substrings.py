"""`substrings_file`: exact-substring deduplication across documents (Lee et al. 2022), shard by shard.

The input is read once, in shards of about `shard_mb` of text. For each shard the suffix-array kernels
(`semel.spans.suffix`) find every span of at least `min_tokens` tokens that occurs in more than one
document; with ``mode="first"`` it is cut from every document but the first that has it (``"all"``: from
every document that has it; ``"mark"``: nothing is cut, spans are only recorded). A span repeated inside
one document only is left alone unless ``within=True``: a document that repeats itself (a reference
table's rows, a refrain, a licence quoted twice) is not a copy of another, and the seed's windowed
repeats are `semel repair`'s business. Each document is written with `substrings_removed` (character offsets
into its original text) and `substrings_removed_chars`.

Removal is repeated until a pass finds nothing more (`semel.spans.suffix.remove_repeats`): cutting a
span can join its neighbours into a new repeat, and a second run of the job must not change the output.
`passes` in the summary is the most any shard needed (usually 2: one that cuts, one that finds nothing,
so about twice the time of a single pass); `unconverged_shards` counts shards stopped at the bound.

Limit: repeats are found *within a shard*. A passage whose copies fall in different shards is kept in
each; a shard needs about 8 bytes of memory per byte of Latin-script text (see `semel.spans.suffix`), so
the shard size, not the collection size, bounds memory. Give `shard_mb` as large as memory allows.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from semel.io import CHANGED, ID, TEXT, ErrorLog, InputSpec, open_writer, read_batches
from semel.io.formats import detect_format, output_format_for, work_size_bytes
from semel.jit import sized_by
from semel.jobs.lines import ExplainFn
from semel.progress import ReadingBar
from semel.spans.suffix import MAX_PASSES, Cut, _cut, check_settings, remove_repeats
from semel.stages import StageStats, peak_rss_mb, summary_dict
from semel.text.tokens import string_buffers

DEFAULT_MIN_TOKENS = 50
DEFAULT_SHARD_MB = 512

REMOVED = "substrings_removed"
REMOVED_CHARS = "substrings_removed_chars"


@dataclass
class SubstringsSummary:
    """What a `substrings_file` run did; written as `<output>.stats.json` (job "substrings")."""

    documents: int = 0
    changed: int = 0
    spans: int = 0
    tokens: int = 0
    tokens_removed: int = 0
    chars_removed: int = 0
    input_chars: int = 0
    bytes_in: int = 0
    bytes_removed: int = 0
    shards: int = 0
    passes: int = 0
    unconverged_shards: int = 0
    largest_shard_bytes: int = 0
    skipped: int = 0
    seconds: float = 0.0
    stages: list[StageStats] = field(default_factory=list)
    output: str | None = None
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
            f"semel substrings: {self.documents:,} documents, {self.tokens:,} tokens in {self.shards} "
            f"shard(s), {self.seconds:.1f}s{rate}",
            f"  changed    {self.changed:,} documents ({self.spans:,} spans)",
            f"  removed    {self.tokens_removed:,} tokens, {self.bytes_removed:,} bytes{share}"
            f" in up to {self.passes} pass(es)",
            f"  skipped    {self.skipped:,} bad records",
        ]
        if self.unconverged_shards:
            out.append(f"  warning    {self.unconverged_shards} shard(s) still had repeats after "
                       f"{MAX_PASSES} passes")
        for label, path in (("output", self.output), ("errors", self.errors_path),
                            ("stats", self.stats_path)):
            if path:
                out.append(f"  {label:<10} {path}")
        return "\n".join(out)


class _Stages:
    """Seconds per stage summed over shards, with the peak memory when each last ran."""

    def __init__(self) -> None:
        self.items: dict[str, StageStats] = {}

    def add(self, name: str, seconds: float) -> None:
        st = self.items.setdefault(name, StageStats(name))
        st.seconds = round(st.seconds + seconds, 3)
        st.peak_rss_mb = peak_rss_mb()


@sized_by(lambda inputs, *_, **__: work_size_bytes(inputs), probe=_cut)
def substrings_file(inputs: str | Sequence[str], output: str = "-", *, id_field: str = "id",
                    text_field: str = "text", min_tokens: int = DEFAULT_MIN_TOKENS, mode: str = "first",
                    shard_mb: float = DEFAULT_SHARD_MB, on_error: str = "fail", batch_size: int = 8192,
                    progress: bool | None = None, output_format: str | None = None,
                    explain: ExplainFn | None = None, within: bool = False, align: str = "sentences"
                    ) -> SubstringsSummary:
    """Cut every span of >= `min_tokens` tokens that occurs in more than one document (keeping it in the
    first document that has it with ``mode="first"``; with `within`, a span repeated inside one document
    too) from the documents and write them to `output` (a path, or "-" for stdout).

    Tokens are semel's (case folded, punctuation ignored, one per character in Chinese/Japanese/Thai);
    cuts are widened to whole words and their attached punctuation. Returns the run's summary; with a
    file output also writes `<output>.stats.json` and (with skipped records) `<output>.errors.jsonl`.
    """
    check_settings(mode, min_tokens, align)
    if shard_mb <= 0:
        raise ValueError("shard_mb must be positive")
    paths = [inputs] if isinstance(inputs, str) else list(inputs)
    spec = InputSpec(paths=paths, id_field=id_field, text_field=text_field, on_error=on_error,  # type: ignore[arg-type]
                     batch_size=batch_size)
    if output_format is None:
        output_format = output_format_for(detect_format(paths[0]) if paths else "jsonl", output)
    summary = SubstringsSummary(output=None if output == "-" else output)
    stages = _Stages()
    errors = ErrorLog()
    start = time.perf_counter()
    budget = max(1, int(shard_mb * (1 << 20)))
    bar = ReadingBar(paths, "substrings", progress)
    try:
        with open_writer(output, format=output_format, text_field=text_field, id_field=id_field) as writer:
            shard: list[pa.RecordBatch] = []
            shard_bytes = 0
            t0 = time.perf_counter()
            for batch in read_batches(spec, errors):
                offsets, _ = string_buffers(batch.column(TEXT))
                shard.append(batch)
                shard_bytes += int(offsets[-1] - offsets[0])
                if shard_bytes >= budget:
                    stages.add("read", time.perf_counter() - t0)
                    _process_shard(shard, shard_bytes, writer, min_tokens, mode, within, align, summary,
                                   stages, explain)
                    bar.update(*shard)
                    shard, shard_bytes = [], 0
                    t0 = time.perf_counter()
            stages.add("read", time.perf_counter() - t0)
            if shard or summary.shards == 0:
                _process_shard(shard, shard_bytes, writer, min_tokens, mode, within, align, summary, stages,
                               explain)
                bar.update(*shard)
    finally:
        bar.close()
    summary.stages = list(stages.items.values())
    summary.skipped = errors.count
    summary.seconds = round(time.perf_counter() - start, 3)
    if output != "-":
        if errors.count:
            summary.errors_path = output.rstrip("/") + ".errors.jsonl"
            errors.write(summary.errors_path)
        from semel.report.runinfo import write_run_stats

        summary.stats_path = write_run_stats(output, "substrings", {
            "inputs": paths, "id_field": id_field, "text_field": text_field, "min_tokens": min_tokens,
            "mode": mode, "within": within, "align": align, "shard_mb": shard_mb}, summary.to_dict())
    return summary


def shard_texts(batches: Sequence[pa.RecordBatch], column: str) -> pa.Array:
    """The text column of a shard's batches as one large_string array (repeats are found across all)."""
    return pa.concat_arrays([b.column(column).cast(pa.large_string()) for b in batches])


def _process_shard(shard: list[pa.RecordBatch], shard_bytes: int, writer: Any, min_tokens: int,
                   mode: str, within: bool, align: str, summary: SubstringsSummary, stages: _Stages,
                   explain: ExplainFn | None) -> None:
    if not shard:
        return
    summary.shards += 1
    summary.largest_shard_bytes = max(summary.largest_shard_bytes, shard_bytes)
    t0 = time.perf_counter()
    res = remove_repeats(shard_texts(shard, TEXT), min_tokens, mode, within=within, align=align)
    summary.passes = max(summary.passes, res.passes)
    summary.unconverged_shards += not res.converged
    stages.add("suffix-array+cut", time.perf_counter() - t0)
    lo = 0
    for batch in shard:
        t0 = time.perf_counter()
        out = _cut_batch(batch, res.slice(lo, lo + batch.num_rows), mode, summary, explain)
        lo += batch.num_rows
        stages.add("columns", time.perf_counter() - t0)
        t0 = time.perf_counter()
        writer.write(out)
        stages.add("write", time.perf_counter() - t0)


def _cut_batch(batch: pa.RecordBatch, res: Cut, mode: str, summary: SubstringsSummary,
               explain: ExplainFn | None) -> pa.RecordBatch:
    """`batch` with the shard's result for its documents: new texts, spans (original offsets), counts."""
    texts = batch.column(TEXT)
    stats = res.stats
    old, _ = string_buffers(texts)
    new, _ = string_buffers(res.texts)
    summary.documents += batch.num_rows
    summary.tokens += int(stats[:, 2].sum())
    summary.spans += int(res.span_doc.size)
    summary.changed += int(np.count_nonzero(stats[:, 1] > 0))
    summary.tokens_removed += int(stats[:, 0].sum())
    summary.chars_removed += int(stats[:, 1].sum())
    summary.input_chars += int(stats[:, 3].sum())
    summary.bytes_in += int(old[-1] - old[0])
    if mode != "mark":
        summary.bytes_removed += int(old[-1] - old[0]) - int(new[-1] - new[0])
    spans = res.spans_column()
    if explain is not None and res.span_doc.size:
        ids = batch.column(ID).to_pylist()
        originals = texts.to_pylist()
        for d in np.unique(res.span_doc):
            explain(ids[int(d)], originals[int(d)] or "", spans[int(d)].as_py())
    if mode != "mark":
        idx = batch.schema.get_field_index(TEXT)
        typ = batch.schema.field(TEXT).type
        batch = batch.set_column(idx, TEXT, res.texts if typ == pa.large_string() else res.texts.cast(typ))
    batch = batch.append_column(REMOVED, spans)
    batch = batch.append_column(REMOVED_CHARS, pa.array(stats[:, 1], pa.int64()))
    changed = stats[:, 1] > 0 if mode != "mark" else np.zeros(batch.num_rows, bool)
    return batch.append_column(CHANGED, pa.array(changed, pa.bool_()))
