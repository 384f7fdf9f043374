"""The `semel` command line: a thin layer that parses flags and calls the job modules.

Each sub-command lives in `semel/commands/<name>.py` and exposes `add_parser(subparsers)`
(which registers its flags and sets `func`) so commands can be added without touching this file's logic.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from semel import __version__
from semel.errors import SemelError

COMMANDS = ("repair", "dedup", "params", "lines", "substrings", "explain", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="semel",
        description="Find and remove duplicated text at every scale: repeated paragraphs inside a document, "
        "exact and near-duplicate documents across a collection, and repeated spans across documents.",
    )
    parser.add_argument("--version", action="version", version=f"semel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"semel.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"semel.commands.{name}":
                continue  # command not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SemelError as exc:
        print(f"semel: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("semel: interrupted; outputs were not written (rerun with --resume where supported)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
