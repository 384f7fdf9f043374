"""What every job records per stage: its time and the process's peak memory so far."""
from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (0.1 MB resolution)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class StageStats:
    """One stage of a run, as stats.json and the report show it."""

    name: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    resumed: bool = False


def summary_dict(summary: Any) -> dict[str, Any]:
    """A job summary's fields as stats.json stores them, its `stages` as plain dicts."""
    d = {k: v for k, v in vars(summary).items() if k != "stages"}
    d["stages"] = [vars(s).copy() for s in summary.stages]
    return d
