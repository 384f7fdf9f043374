"""What a finished run recorded about itself (its stats.json), found from whatever path the user gives.

Every job writes one JSON file: ``{"job", "engine", "settings", "stats"}``. `semel dedup` writes
``OUT/stats.json``; a job whose output is a single file (``semel repair corpus.jsonl -o out.jsonl``)
writes ``out.jsonl.stats.json`` beside it, as it already does for ``.dropped.jsonl`` and
``.errors.jsonl``. `load_run` accepts any of: the output folder, the output file, or the stats file.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from semel.errors import SemelError
from semel.io import atomic_path
from semel.stages import peak_rss_mb

STATS_FILE = "stats.json"
STATS_SUFFIX = ".stats.json"


@dataclass
class RunInfo:
    """One run: its job name, settings and statistics, and where its outputs are."""

    job: str
    engine: str
    settings: dict[str, Any]
    stats: dict[str, Any]
    stats_path: str
    output: str  # the output folder (dedup) or file (repair)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_dir(self) -> bool:
        return os.path.isdir(self.output)

    def file(self, name: str) -> str:
        """A file of the run's output folder (or beside its output file)."""
        return os.path.join(self.output, name) if self.is_dir else self.output + "." + name

    def inputs(self) -> list[str]:
        """The input paths as recorded, resolved against the current folder or the output's parent."""
        out: list[str] = []
        base = os.path.dirname(os.path.abspath(self.output.rstrip("/")))
        for p in self.settings.get("inputs") or []:
            p = str(p)
            if p == "-" or os.path.exists(p) or os.path.isabs(p):
                out.append(p)
            elif os.path.exists(os.path.join(base, p)):
                out.append(os.path.join(base, p))
            else:
                out.append(p)
        return out


def write_run_stats(path: str, job: str, settings: Mapping[str, Any], stats: Mapping[str, Any] | Any,
                    engine: str = "local") -> str:
    """Write a run's stats file atomically, in the shape `semel report` and `semel explain` read.

    `path` is the output folder (writes ``path/stats.json``), an output file (writes
    ``path.stats.json``) or an explicit ``*.json`` path. `stats` is a mapping or an object with
    `to_dict()`; if it has no ``stages`` but has ``seconds``, one stage named after the job is recorded
    with this process's peak memory, so every job reports time and memory the same way. Returns the path.
    """
    if path == "-":
        raise ValueError("a run written to stdout has no stats file")
    if hasattr(stats, "to_dict"):
        stats = stats.to_dict()
    data = dict(stats)
    if "stages" not in data and "seconds" in data:
        data["stages"] = [{"name": job, "seconds": round(float(data["seconds"]), 3),
                           "peak_rss_mb": peak_rss_mb()}]
    from semel.io import outputs

    run = outputs.current()
    documents_folder = run is not None and not run.folder and run.owns(path)  # a folder of .txt output
    if os.path.isdir(path) and not documents_folder:
        target = os.path.join(path, STATS_FILE)
    elif path.endswith(".json") and not path.endswith((".jsonl", ".jsonl.json")):
        target = path
    else:
        target = path.rstrip("/") + STATS_SUFFIX
    record = {"job": job, "engine": engine, "settings": dict(settings), "stats": data}
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, sort_keys=True, default=str)
    return target


def find_stats(path: str) -> tuple[str, str]:
    """(stats file, output) for a folder, an output file, or a stats file itself."""
    path = path.rstrip("/") or "/"
    candidates: list[tuple[str, str]] = []
    if os.path.isdir(path):
        candidates.append((os.path.join(path, STATS_FILE), path))
        candidates.append((path + STATS_SUFFIX, path))  # a repaired folder of .txt
    if path.endswith(STATS_SUFFIX):
        candidates.append((path, path[: -len(STATS_SUFFIX)]))
    elif os.path.basename(path) == STATS_FILE:
        candidates.append((path, os.path.dirname(path) or "."))
    candidates.append((path + STATS_SUFFIX, path))
    for stats_path, output in candidates:
        if os.path.isfile(stats_path):
            return stats_path, output
    if not os.path.exists(path):
        raise SemelError(f"{path}: no such file or folder")
    raise SemelError(f"{path}: no run statistics found (looked for "
                     f"{', '.join(c[0] for c in candidates)}); is this the output of a semel job?")


def load_run(path: str) -> RunInfo:
    """Read the run whose output is at `path`."""
    stats_path, output = find_stats(path)
    try:
        with open(stats_path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise SemelError(f"{stats_path}: cannot read run statistics ({exc})") from None
    if not isinstance(data, dict):
        raise SemelError(f"{stats_path}: not a semel stats file")
    return RunInfo(job=str(data.get("job") or "unknown"), engine=str(data.get("engine") or ""),
                   settings=dict(data.get("settings") or {}), stats=dict(data.get("stats") or {}),
                   stats_path=stats_path, output=output)
