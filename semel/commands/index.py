"""`semel index build OUT`: a saved index from a finished dedup run (see semel.index)."""
from __future__ import annotations

import argparse
import os
import sys

EPILOG = """\
what it writes (INDEX/, default OUT/index/):
  manifest.json   settings, segments, document count
  seg-NNNNN/      the kept documents' band keys, exact keys, sketch bins, tokens, ids (memory-mapped)
  weights/        the collection's shingle weights, frozen

examples:
  semel dedup corpus.jsonl -o out/ --keep-work && semel index build out/
  semel dedup corpus.jsonl -o out/ --index                      # the same in one run
  semel dedup new.jsonl -o out2/ --against out/index --update-index
  semel serve out/index
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index", help="build a saved index of a dedup run's kept documents",
        description="Build a saved index of the documents a finished dedup run kept, for incremental runs "
        "(semel dedup --against), lookups (semel check) and the lookup service (semel serve).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    isub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = isub.add_parser("build", help="index a finished dedup run (run with --keep-work)")
    b.add_argument("output", metavar="OUT", help="the dedup run's output folder")
    b.add_argument("--work-dir", help="the run's work folder, if not OUT/_work")
    b.add_argument("-o", "--index", metavar="INDEX", help="where to write the index (default: OUT/index)")
    b.add_argument("-q", "--quiet", action="store_true", help="no summary")
    b.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from semel.config import DedupConfig
    from semel.errors import SemelError, escape
    from semel.index.build import build_index, run_settings

    work = args.work_dir or os.path.join(args.output, "_work")
    clusters = os.path.join(args.output, "clusters.parquet")
    if not os.path.exists(clusters):
        raise SemelError(f"{escape(args.output)} holds no finished dedup run (no clusters.parquet)")
    cfg: DedupConfig = run_settings(args.output)
    root = args.index or os.path.join(args.output, "index")
    manifest = build_index(work, clusters, cfg, root)
    if not args.quiet:
        print(f"indexed {manifest.documents:,} kept documents in {root}", file=sys.stderr)
    return 0
