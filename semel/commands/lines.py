"""`semel lines`: remove boilerplate lines (footers, cookie notices, link lists) repeated across documents."""
from __future__ import annotations

import argparse
import sys

import orjson

from semel.commands.common import (
    add_engine_arguments,
    add_field_arguments,
    add_run_arguments,
    int_at_least,
    list_skipped,
    positive_int,
    read_stdin_as,
    report,
    run_spans_on_spark,
)
from semel.errors import SemelError
from semel.jobs.lines import (
    DEFAULT_MIN_CHARS,
    DEFAULT_MIN_DOCS,
    DEFAULT_MODE,
    MODES,
    ExplainFn,
    LinesSummary,
    lines_file,
)

EPILOG = f"""\
what counts as boilerplate:
  a line (or paragraph, --unit paragraph) of at least --min-chars characters (default {DEFAULT_MIN_CHARS})
  that occurs in at least --min-docs documents (default {DEFAULT_MIN_DOCS}) or --min-share of them. Lines are
  compared by their words: case folded, punctuation and spacing ignored, digits folded to 0 (so
  "(c) 2021 Gazzetta" and "© 2023 GAZZETTA" are one line; --keep-digits to tell them apart), and each is
  counted once per document. Headings (at most four words in capitals, like DESCRIPTION or ENVIRONMENT
  VARIABLES) never count, and neither do lines under --min-chars: option lines ("-4, --ipv4"), labels and
  short code lines recur across documentation without being boilerplate.

which copies go (--mode):
  first   every copy but the one in the first document (in input order) that has the line   (default)
  all     every copy, the first too (CCNet): boilerplate has no original
  "first" is the default because it loses nothing: a line of real text shared by many documents (a
  licence notice, a shared definition) still exists once in the collection, as with dolma's and
  datatrove's deduplication; use "all" for pure boilerplate you want gone everywhere. Either way a
  document whose every removable line is frequent is left whole, so no document is ever emptied
  (identical files are for semel dedup).

what it writes:
  OUTPUT                 the documents, every input field passed through, plus lines_removed,
                         chars_removed, original_nlines, original_length and lines_removed_spans
                         (character offsets into the original text) for JSONL and Parquet
  OUTPUT.lines.parquet   the removed lines: text (first occurrence), documents, hash
  OUTPUT.stats.json      the run's statistics (semel report reads it)
  OUTPUT.errors.jsonl    records skipped with --on-error skip: file, line, reason

memory: 12 bytes per distinct line while counting (uint64 hash + uint32 count), spilled to disk in hash
  partitions past --memory-mb; the input is read twice (count, then remove), so stdin is not accepted.

examples:
  semel lines corpus.jsonl.zst -o clean.jsonl.zst
  semel lines part-*.parquet -o clean.parquet --min-share 0.001 --text-field content
  semel lines news.jsonl -o clean.jsonl --unit paragraph --explain
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lines", help="remove lines repeated across many documents (boilerplate)",
        description="Count every normalised line across the collection (once per document) and remove the "
        "lines that occur in many documents (footers, cookie notices, 'read also' link lists) from all but "
        "the first document that has them.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="JSONL (.gz/.zst), Parquet, .txt files or folders of .txt")
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help="output file or folder; its extension picks the format (default: stdout)")
    add_field_arguments(p)
    p.add_argument("--unit", choices=("line", "paragraph"), default="line",
                   help="count lines or blank-line separated paragraphs (default: line)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--min-docs", type=int, default=None,
                   help=f"remove units in at least this many documents (default: {DEFAULT_MIN_DOCS})")
    g.add_argument("--min-share", type=float, default=None,
                   help="remove units in at least this share of the documents, e.g. 0.001")
    p.add_argument("--min-chars", type=int_at_least(0), default=DEFAULT_MIN_CHARS,
                   help=f"never remove units shorter than this (default: {DEFAULT_MIN_CHARS})")
    p.add_argument("--mode", choices=MODES, default=DEFAULT_MODE,
                   help="keep each frequent line in its first document (first, default) or remove every "
                   "copy (all)")
    p.add_argument("--keep-digits", dest="fold_digits", action="store_false",
                   help="compare digits as written (default: fold every digit to 0, as CCNet does)")
    p.add_argument("--memory-mb", type=positive_int, default=1024,
                   help="memory for the line counts before spilling to disk (default: 1024)")
    p.add_argument("--spill-dir", default=None, help="folder for spilled counts (default: system temp)")
    p.add_argument("--explain", action="store_true",
                   help="print each document's removed lines (on stdout with -o, else on stderr)")
    add_engine_arguments(p, "the whole collection counted by a group-by; needs -o")
    add_run_arguments(p)
    p.set_defaults(func=run, progress=None)


def span_printer(stream: object, width: int = 60) -> ExplainFn:
    """An explain callback printing each removed span of a document with its offsets."""

    def show(s: str) -> str:
        s = " ".join(s.split())
        return orjson.dumps(s if len(s) <= width else s[: width - 1] + "…").decode()

    def explain(doc_id: str, text: str, spans: list[dict[str, int]]) -> None:
        chars = sum(s["end"] - s["start"] for s in spans)
        print(f"{doc_id}: {len(spans)} span(s) removed, {chars} chars", file=stream)  # type: ignore[call-overload]
        for s in spans:
            print(f"  - [{s['start']}:{s['end']}] {show(text[s['start']:s['end']])}", file=stream)  # type: ignore[call-overload]

    return explain


def run(args: argparse.Namespace) -> int:
    from semel.io.outputs import Outputs

    output = args.output or "-"
    explain = span_printer(sys.stdout if output != "-" else sys.stderr) if args.explain else None
    try:
        with Outputs(output, inputs=args.inputs) as outputs:
            read_stdin_as(args)
            if args.engine == "spark":
                summary = run_spans_on_spark("lines", args, LinesSummary, unit=args.unit,
                                             min_docs=args.min_docs, min_share=args.min_share,
                                             min_chars=args.min_chars, fold_digits=args.fold_digits,
                                             mode=args.mode)
            else:
                summary = lines_file(args.inputs, output, id_field=args.id_field, text_field=args.text_field,
                                     unit=args.unit, min_docs=args.min_docs, min_share=args.min_share,
                                     min_chars=args.min_chars, fold_digits=args.fold_digits,
                                     on_error=args.on_error, batch_size=args.batch_size,
                                     progress=args.progress, memory_mb=args.memory_mb,
                                     spill_dir=args.spill_dir, explain=explain, mode=args.mode)
    except ValueError as exc:
        raise SemelError(str(exc)) from None
    if output == "-":
        list_skipped(outputs.skipped())
    report(args, summary)
    return 0
