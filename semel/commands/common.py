"""Flags every collection command shares, defined once so they read and behave the same everywhere."""
from __future__ import annotations

import argparse


def add_field_arguments(p: argparse.ArgumentParser) -> None:
    """--id-field and --text-field."""
    p.add_argument("--id-field", default="id", help="field holding the document id (default: id)")
    p.add_argument("--text-field", default="text", help="field holding the text (default: text)")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """--on-error, --batch-size and --no-progress (bars show only on a terminal unless turned off)."""
    p.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                   help="bad records: fail with file:line (default) or skip, count and list them")
    p.add_argument("--batch-size", type=int, default=8192, help="documents per batch (default: 8192)")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None,
                   help="no progress bar")
