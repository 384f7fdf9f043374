"""What a run hands back to Python callers and prints as its summary."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:  # the engine module loads numba: not needed to read a result
    from semel.engines.local import DedupStats


@dataclass
class DedupResult:
    """The clusters table (one row per input document, in input order) and the run's statistics.

    `kept(data)` filters the object the run was given (a list, Arrow table, pandas/polars DataFrame or
    `datasets.Dataset`) to its kept rows, as the same type, in order. `output` is None for in-memory data
    (the work folder was temporary)."""

    clusters: pa.Table  # a Spark DataFrame when dedup() was given one
    stats: DedupStats
    output: str | None
    kind: str | None = None
    row_keys: np.ndarray | None = None  # Spark: the kept rows' keys (semel.spark_frames)

    def kept(self, data: Any) -> Any:
        from semel import frames

        if self.kind == "spark":
            from semel.spark_frames import kept_rows

            return kept_rows(data, self.row_keys)
        kind = self.kind or frames.kind_of(data)
        if kind is None:
            raise TypeError(f"kept() takes the data dedup() was given, not {type(data).__name__}")
        return frames.take_rows(data, kind, self.clusters.column("kept").to_numpy(zero_copy_only=False))

    def to_dict(self) -> dict[str, Any]:
        """The run's counts and stages (what `semel dedup --json` prints)."""
        return {"job": "dedup", "output": self.output, **self.stats.to_dict()}

    def summary(self) -> str:
        """A one-screen summary of the run."""
        s = self.stats
        total_s = sum(st.seconds for st in s.stages)
        mb = s.input_bytes / 1e6
        lines = [
            f"semel dedup: {s.documents:,} documents ({mb:,.1f} MB) in {total_s:.1f} s"
            + (f", {mb / total_s:,.1f} MB/s" if total_s > 0 else ""),
            f"  exact copies     {s.exact_duplicates:>12,}",
            f"  near copies      {s.near_duplicates:>12,}",
            f"  clusters (>1)    {s.clusters:>12,}",
            f"  kept             {s.kept:>12,}",
        ]
        if getattr(s, "seen", 0):
            lines.insert(3, f"  seen (in index)  {s.seen:>12,}")
        if s.skipped_records:
            lines.append(f"  skipped records  {s.skipped_records:>12,}  (see {self.output}/errors.jsonl)")
        lines.append(f"  LSH {s.bands} bands x {s.rows} rows: {s.candidates:,} candidate pairs, "
                     f"{s.verified:,} verified")
        lines.append("  stage        seconds   peak RSS MB")
        for st in s.stages:
            note = "  (resumed)" if st.resumed else ""
            lines.append(f"  {st.name:<10} {st.seconds:>9.2f}   {st.peak_rss_mb:>11.0f}{note}")
        if self.output is not None:
            lines.append(f"  output: {self.output}/clusters.parquet")
        return "\n".join(lines)


@dataclass
class ColumnResult:
    """repair, lines or substrings run on a column of in-memory data.

    `text` is the new text of each document that stays (all of them, unless repair's `drop_above`
    dropped some), `fields` the per-document fields the job adds (repair_removed_chars, lines_removed,
    substrings_removed, ...), one row per staying document, in input order. `apply(data)` gives the
    object back as its own type with the text replaced and the fields added; `kept(data)` only drops
    the dropped rows."""

    text: pa.ChunkedArray
    fields: pa.Table
    mask: np.ndarray
    job_summary: Any
    kind: str
    text_name: str = "text"
    extra: dict[str, pa.Table] = field(default_factory=dict)

    def kept(self, data: Any) -> Any:
        from semel import frames

        return frames.take_rows(data, self.kind, self.mask)

    def apply(self, data: Any) -> Any:
        from semel import frames

        columns = self.fields.add_column(0, self.text_name, self.text) if self.text_name not in \
            self.fields.schema.names else self.fields
        return frames.with_columns(data, self.kind, self.mask, self.text_name, columns)

    def to_dict(self) -> dict[str, Any]:
        return self.job_summary.to_dict()

    def summary(self) -> str:
        return self.job_summary.format()
