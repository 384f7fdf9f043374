"""Flags every collection command shares, defined once so they read and behave the same everywhere."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from semel.errors import SemelError, escape


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= `low` (so 0 or -1 bands, rows or batch sizes are refused by name)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, not {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


positive_int = int_at_least(1)


def add_field_arguments(p: argparse.ArgumentParser) -> None:
    """--id-field, --text-field and --format (how to read stdin)."""
    p.add_argument("--id-field", default="id", help="field holding the document id (default: id)")
    p.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    p.add_argument("--format", choices=("jsonl", "parquet", "txt"), default=None,
                   help="how to read stdin ('-'): jsonl (default; .gz/.zst compressed too), parquet, or txt "
                   "(all of stdin is one document)")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """--on-error, --batch-size and --no-progress (bars show only on a terminal unless turned off)."""
    p.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                   help="bad records: fail with file:line (default) or skip, count and list them")
    p.add_argument("--batch-size", type=positive_int, default=8192,
                   help="documents per batch (default: 8192)")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None,
                   help="no progress bars (they show on stderr when it is a terminal or a notebook)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bars and no summary; warnings and errors still show")
    p.add_argument("--json", dest="json_summary", action="store_true",
                   help="print the run's summary as one JSON object on stdout (for scripts) instead of the "
                   "text summary on stderr")


def check_output_flags(args: argparse.Namespace) -> None:
    """--quiet turns the bars off; --json needs stdout free of documents."""
    if getattr(args, "quiet", False):
        args.progress = False
    if getattr(args, "json_summary", False) and getattr(args, "output", "") in (None, "-"):
        raise SemelError("--json prints the summary on stdout, where the documents go without -o; "
                         "give -o OUTPUT")


def report(args: argparse.Namespace, summary: Any) -> None:
    """The end-of-run summary: text on stderr, one JSON object on stdout with --json, none with --quiet."""
    if getattr(args, "json_summary", False):
        data = {"job": args.command, **summary.to_dict()}
        sys.stdout.write(json.dumps(data, sort_keys=True, default=str) + "\n")
        sys.stdout.flush()
    elif not getattr(args, "quiet", False):
        text = summary.format() if hasattr(summary, "format") else summary.summary()
        print(text, file=sys.stderr)


def read_stdin_as(args: argparse.Namespace) -> None:
    """When an input is '-', read stdin once now (in --format), so every pass of the job sees the same
    bytes."""
    if "-" in getattr(args, "inputs", ()):
        from semel.io import stdin

        stdin.choose_format(getattr(args, "format", None))


def list_skipped(records: list[tuple[str, int | None, str]]) -> None:
    """Skipped records of a run written to stdout: listed on stderr, since there is no side file."""
    for path, line, reason in records:
        where = f"{escape(path)}:{line}" if line is not None else escape(path)
        print(f"semel: skipped {where}: {escape(reason)}", file=sys.stderr)


def add_engine_arguments(p: argparse.ArgumentParser, spark_help: str) -> None:
    """--engine, --master and --conf: where a collection job runs."""
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help=f"local (embedded, default) or spark ({spark_help})")
    p.add_argument("--master", help="Spark master URL (with --engine spark; default local[*])")
    p.add_argument("--remote", metavar="sc://HOST:PORT",
                   help="a Spark Connect server to run on (with --engine spark; instead of --master)")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="Spark setting")


def run_spans_on_spark(job: str, args: argparse.Namespace, summary_type: type, **settings: Any) -> Any:
    """`lines` or `substrings` on Spark (semel.engines.spark.spans_job), its counts as the job's summary."""
    from dataclasses import fields

    from semel.engines.spark.spans_job import run_spans_job

    if args.explain:
        raise SemelError(f"{job} on Spark has no --explain")
    counts = run_spans_job(job, args.inputs, args.output or "-", id_field=args.id_field,
                           text_field=args.text_field, on_error=args.on_error, batch_size=args.batch_size,
                           master=args.remote or args.master, conf=args.conf,
                           **settings)
    names = {f.name for f in fields(summary_type)}
    return summary_type(output=args.output, **{k: v for k, v in counts.items() if k in names})
