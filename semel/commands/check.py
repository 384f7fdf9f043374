"""`semel check INDEX FILE...`: look documents up in a saved index, without a server."""
from __future__ import annotations

import argparse
import sys

import orjson

from semel.commands.common import add_field_arguments, read_stdin_as

EPILOG = """\
prints one JSON line per document: id, duplicate, of (the indexed id), similarity, reason, why

examples:
  semel check out/index article.txt
  semel check out/index batch.jsonl | jq 'select(.duplicate)'
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="is this text a copy of an indexed document?",
        description="Look each document of FILE up in a saved index: which indexed document it copies, if "
        "any, and why.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("index", metavar="INDEX", help="the index folder")
    p.add_argument("inputs", nargs="+", metavar="FILE", help="a .txt file (one document), JSONL, Parquet "
                   "or a folder of .txt")
    add_field_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from semel.index.query import Index
    from semel.io import ID, TEXT, InputSpec, read_batches
    from semel.serve import answer

    read_stdin_as(args)
    index = Index(args.index)
    spec = InputSpec(paths=list(args.inputs), id_field=args.id_field, text_field=args.text_field)
    out = sys.stdout.buffer
    for batch in read_batches(spec):
        sk = index.sketch(batch.column(TEXT))
        for i, doc_id in enumerate(batch.column(ID).to_pylist()):
            result = answer(index.lookup(sk, i), index.cfg.threshold)
            out.write(orjson.dumps({"id": doc_id, **result}) + b"\n")
    out.flush()
    return 0
