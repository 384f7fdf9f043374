"""`semel explain`: why one document was kept or removed."""
from __future__ import annotations

import argparse
import sys

import orjson

EPILOG = """\
examples:
  semel explain out/ doc-17            # dedup run: rule, kept document, Jaccard, shared n-grams
  semel explain out/ doc-17 --json     # the same for scripts
  semel explain repaired.jsonl doc-3   # repair run: removed spans with offsets
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", help="why one document was kept or removed",
        description="For one document of a finished run: kept or removed, by which rule, its cluster and "
        "the document kept in its place, exact and MinHash-estimated Jaccard similarity, a few shared word "
        "n-grams, and removed spans with offsets (repair).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", metavar="OUT", help="the run's output folder (dedup) or output file (repair)")
    p.add_argument("id", metavar="ID", help="document id")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--input", action="append", metavar="PATH",
                   help="read document texts from here instead of the inputs recorded by the run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from semel.report.explain import explain, format_explanation

    ex = explain(args.output, args.id, inputs=args.input)
    if args.json:
        sys.stdout.write(orjson.dumps(ex.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_explanation(ex))
    return 0
