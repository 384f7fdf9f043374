"""`semel report`: one self-contained HTML page on what a run removed and why."""
from __future__ import annotations

import argparse
import sys

from semel.commands.common import int_at_least

EPILOG = """\
examples:
  semel report out/                    # writes out/report.html
  semel report out/ -o dedup.html
  semel report repaired.jsonl          # a repair run: writes repaired.jsonl.report.html
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="an HTML report of a finished run: what was removed and why",
        description="Write one HTML file (no network needed) with the run's summary, time and memory per "
        "stage, settings, plots (cluster sizes, similarities, the LSH S-curve), the largest clusters and "
        "borderline pairs with word diffs, removed text in place, and a search by document id.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", metavar="OUT", help="the run's output folder (dedup) or output file (repair)")
    p.add_argument("-o", "--report", metavar="HTML",
                   help="where to write the report (default: OUT/report.html)")
    p.add_argument("--input", action="append", metavar="PATH",
                   help="read document texts from here instead of the inputs recorded by the run")
    p.add_argument("--index-limit", type=int_at_least(0), default=200_000, metavar="N",
                   help="removed documents embedded for the id search (default: 200000)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from semel.report import write_report

    path = write_report(args.output, args.report, inputs=args.input, index_limit=args.index_limit)
    print(f"semel report: {path}", file=sys.stderr)
    return 0
