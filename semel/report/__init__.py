"""Reports on finished runs: the self-contained HTML report and per-document explanations."""
from __future__ import annotations

import os

from semel.report.data import ReportData, build_report
from semel.report.html import render_html
from semel.report.runinfo import RunInfo, load_run, write_run_stats

__all__ = ["ReportData", "RunInfo", "build_report", "load_run", "render_html", "write_report",
           "write_run_stats"]


def default_report_path(run: RunInfo) -> str:
    """OUT/report.html for a folder, OUTPUT.report.html beside a single output file."""
    return os.path.join(run.output, "report.html") if run.is_dir else run.output + ".report.html"


def write_report(path: str, output: str | None = None, *, inputs: list[str] | None = None,
                 index_limit: int = 200_000) -> str:
    """Build the HTML report of the run at `path` and write it (atomically); returns where."""
    from semel.io import atomic_path

    run = load_run(path)
    data = build_report(run, inputs=inputs, index_limit=index_limit)
    target = output or default_report_path(run)
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(render_html(data))
    from semel.io.outputs import adopt

    adopt(target)  # the next run into the same place replaces it with its other outputs
    return target
