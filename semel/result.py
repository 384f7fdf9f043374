"""What a dedup run hands back to Python callers and prints as its summary."""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from semel.engines.local import DedupStats


@dataclass
class DedupResult:
    """The clusters table (one row per input document) and the run's statistics."""

    clusters: pa.Table
    stats: DedupStats
    output: str

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
        if s.skipped_records:
            lines.append(f"  skipped records  {s.skipped_records:>12,}  (see {self.output}/errors.jsonl)")
        lines.append(f"  LSH {s.bands} bands x {s.rows} rows: {s.candidates:,} candidate pairs, "
                     f"{s.verified:,} verified")
        lines.append("  stage        seconds   peak RSS MB")
        for st in s.stages:
            note = "  (resumed)" if st.resumed else ""
            lines.append(f"  {st.name:<10} {st.seconds:>9.2f}   {st.peak_rss_mb:>11.0f}{note}")
        lines.append(f"  output: {self.output}/clusters.parquet")
        return "\n".join(lines)
