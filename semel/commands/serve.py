"""`semel serve INDEX`: the lookup service (semel.serve)."""
from __future__ import annotations

import argparse
import os
import sys

from semel.commands.common import int_at_least

EPILOG = """\
endpoints (JSON):
  POST /check {"text": ...}          duplicate or not, of which id, similarity, why
  POST /add   {"id": ..., "text": ...}  add unless a copy; durable once answered (write-ahead log)
  GET  /health, GET /stats

examples:
  semel serve out/index                         # http://127.0.0.1:8765
  curl -s localhost:8765/check -d '{"text": "..."}'
  SEMEL_TOKEN=s3cret semel serve out/index --host 0.0.0.0 --port 9000
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="answer 'have I seen this text?' over HTTP from a saved index",
        description="Serve a saved index (semel index build, or dedup --index) over HTTP: check texts "
        "against it and add new documents while it runs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("index", metavar="INDEX", help="the index folder")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; any other "
                   "needs a token)")
    p.add_argument("--port", type=int_at_least(0), default=8765, help="port (default: 8765; 0 picks one)")
    p.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' on every request "
                   "(default: $SEMEL_TOKEN)")
    p.add_argument("--warm", action="store_true", help="read the index files once before serving, so the "
                   "first requests do not wait for the disk (a cold page cache ran at 223-787 checks/s "
                   "against ~1,600 warm; costs a read of the index's size)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from semel.serve import make_server

    server = make_server(args.index, args.host, args.port, args.token or os.environ.get("SEMEL_TOKEN"))
    if args.warm:
        read = server.service.index.index.read_into_cache()
        print(f"semel serve: read {read / 1e9:.2f} GB of index files into the page cache", file=sys.stderr,
              flush=True)
    host, port = server.server_address[:2]
    print(f"semel serve: {server.service.index.documents:,} documents, http://{host}:{port}",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.service.index.close()
    return 0
