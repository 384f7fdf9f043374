"""`semel substrings`: remove passages of >= k tokens repeated across documents (suffix array)."""
from __future__ import annotations

import argparse
import sys

from semel.commands.common import (
    add_engine_arguments,
    add_field_arguments,
    add_run_arguments,
    list_skipped,
    read_stdin_as,
    report,
    run_spans_on_spark,
)
from semel.commands.lines import span_printer
from semel.errors import SemelError
from semel.jobs.substrings import DEFAULT_MIN_TOKENS, DEFAULT_SHARD_MB, SubstringsSummary, substrings_file

EPILOG = f"""\
what counts as repeated:
  a span of at least --min-tokens tokens (default {DEFAULT_MIN_TOKENS}) that occurs in more than one
  document (never across a document boundary). A span repeated inside one document only is left alone
  unless --within is given: a document that repeats itself (a reference table's rows, a refrain, a
  licence quoted twice) is not a copy of another, and scraped text said twice in a row is for
  semel repair. Tokens are words compared case folded with punctuation ignored; in Chinese, Japanese and
  Thai every character is a token. A suffix array over the tokens (libdivsufsort) finds every such span
  exactly, as in Lee et al. 2022.

modes:
  first   cut it from every document but the first (in input order) that has it        (default)
  all     cut it from every document that has it, the first too
  mark    cut nothing; only record the spans first would cut
  with --within, "first" also cuts a later copy inside the same document and "all" every copy.

cuts never split a word or a UTF-8 character: they are snapped inwards to whole words and take the
punctuation and whitespace attached to them. With --align sentences (default) a repeated span is cut
back further, to the whole sentences, lines and table cells it covers, so no cut leaves half a sentence
("Requirement: " before it, "are specified." after it); --align words cuts the span itself (Lee et al.).

what it writes:
  OUTPUT                 the documents, every input field passed through, plus substrings_removed
                         (spans: start, end in characters of the original text) and
                         substrings_removed_chars for JSONL and Parquet
  OUTPUT.stats.json      the run's statistics (semel report reads it)
  OUTPUT.errors.jsonl    records skipped with --on-error skip: file, line, reason

memory and scale: the input is processed in shards of --shard-mb of text (default {DEFAULT_SHARD_MB});
  a shard needs about 8 bytes of memory per byte of Latin-script text. Repeats whose copies fall in
  different shards are not found: make shards as large as memory allows.

examples:
  semel substrings corpus.jsonl.zst -o clean.jsonl.zst
  semel substrings news.jsonl -o clean.jsonl --min-tokens 30 --explain
  semel substrings part-*.parquet -o marked.parquet --mode mark --shard-mb 4096
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "substrings", help="remove long passages repeated across documents (suffix array)",
        description="Find every span of at least --min-tokens tokens that occurs in more than one document "
        "of the collection and remove it from every document but the first that has it.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="JSONL (.gz/.zst), Parquet, .txt files or folders of .txt, '-' for stdin")
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help="output file or folder; its extension picks the format (default: stdout)")
    add_field_arguments(p)
    p.add_argument("--min-tokens", type=int, default=DEFAULT_MIN_TOKENS,
                   help=f"shortest repeated span to remove, in tokens (default: {DEFAULT_MIN_TOKENS})")
    p.add_argument("--mode", choices=("first", "all", "mark"), default="first",
                   help="cut all but the first occurrence (default), every occurrence, or nothing")
    p.add_argument("--within", action="store_true",
                   help="also cut spans repeated inside one document (default: only spans another "
                   "document has too)")
    p.add_argument("--align", choices=("sentences", "words"), default="sentences",
                   help="cut whole sentences, lines and table cells only (default), or any run of words")
    p.add_argument("--shard-mb", type=float, default=DEFAULT_SHARD_MB,
                   help=f"text per suffix array, in MB (default: {DEFAULT_SHARD_MB})")
    p.add_argument("--explain", action="store_true",
                   help="print each document's removed spans (on stdout with -o, else on stderr)")
    add_engine_arguments(p, "documents sharing a passage co-located, one suffix array per partition; "
                         "needs -o")
    add_run_arguments(p)
    p.set_defaults(func=run, progress=None)


def run(args: argparse.Namespace) -> int:
    from semel.io.outputs import Outputs

    output = args.output or "-"
    explain = span_printer(sys.stdout if output != "-" else sys.stderr) if args.explain else None
    try:
        with Outputs(output, inputs=args.inputs) as outputs:
            read_stdin_as(args)
            if args.engine == "spark":
                summary = run_spans_on_spark("substrings", args, SubstringsSummary,
                                             min_tokens=args.min_tokens, mode=args.mode, within=args.within,
                                             align=args.align)
            else:
                summary = substrings_file(args.inputs, output, id_field=args.id_field,
                                          text_field=args.text_field, min_tokens=args.min_tokens,
                                          mode=args.mode, shard_mb=args.shard_mb, on_error=args.on_error,
                                          batch_size=args.batch_size, progress=args.progress,
                                          explain=explain, within=args.within, align=args.align)
    except ValueError as exc:
        raise SemelError(str(exc)) from None
    if output == "-":
        list_skipped(outputs.skipped())
    report(args, summary)
    return 0
