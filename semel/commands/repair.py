"""`semel repair`: remove paragraphs, lines and sentences written twice in a row inside each document."""
from __future__ import annotations

import argparse
import sys

from semel.commands.common import (
    add_engine_arguments,
    add_field_arguments,
    add_run_arguments,
    int_at_least,
    list_skipped,
    read_stdin_as,
    report,
)
from semel.errors import InputError, SemelError
from semel.repair import DEFAULT_MIN_CHARS, repair

EPILOG = f"""\
what counts as repeated:
  text written twice in a row, as a scraper does when it glues overlapping windows of a page
  ("p1", "p1 p2", "p2 p3", ...; or "S1 S2 S2 S3 S3 S4" in running text): a run of paragraphs, lines or
  sentences equal to what comes right before it. A repeat further away (a note in two sections, a
  second code listing, a second Files: stanza's holders) stays. Units are compared after Unicode NFKC,
  folding typographic quotes, apostrophes and dashes, collapsing whitespace and folding case; the first
  copy is kept as it was written. A document with nothing removed comes back byte for byte.

what stays, however repeated:
  layout: lines without letters (RST underlines, table borders, ASCII art), text indented deeper than
  most of the document (code, program output, option descriptions), runs where over a fifth of the
  words look like code; half sentences: a run must start and end a sentence (or end a paragraph written
  on one line), so nothing is left dangling; short runs: under --min-chars (default {DEFAULT_MIN_CHARS})
  characters, or made of a shorter unit said again ("Thank you. Thank you."); refrains: three equal units
  in a row, or short lines (under 80 columns) said twice inside one block, as in songs and poems.

what it writes (collections):
  OUTPUT              the documents, every input field passed through, plus repair_removed_chars,
                      repair_removed (spans: start, end, kept_start, kept_end, kind) and repair_stats
                      (Gopher repetition statistics of the input) for JSONL and Parquet
  OUTPUT.dropped.jsonl  documents dropped by --drop-above: id, reason (e.g. gopher:dup_para_frac)
  OUTPUT.errors.jsonl   records skipped with --on-error skip: file, line, reason

examples:
  semel repair article.txt                      # repaired text on stdout
  cat article.txt | semel repair -              # the same from stdin
  semel repair article.txt --explain            # also list removed spans (on stderr)
  semel repair corpus.jsonl.zst -o repaired.jsonl.zst
  semel repair part-*.parquet -o repaired.parquet --text-field content --drop-above
  semel repair docs/ -o repaired/               # a folder of .txt files
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "repair", help="remove paragraphs, lines and sentences written twice in a row inside documents",
        description="Remove text written twice in a row inside a document (paragraphs, lines or sentences "
        "repeated by overlapping scraper windows), keeping the first copy; layout, code and refrains stay. "
        "One .txt file or '-' "
        "without -o: the repaired text goes to stdout. A collection (JSONL, .gz/.zst, Parquet, a folder "
        "of .txt) with -o: every document is repaired and written with what was removed.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a .txt file, '-' for stdin, or JSONL (.gz/.zst), Parquet, folders of .txt")
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help="output file or folder; its extension picks the format (default: stdout)")
    add_field_arguments(p)
    p.add_argument("--min-chars", type=int_at_least(0), default=DEFAULT_MIN_CHARS,
                   help=f"leave runs shorter than this (normalised) alone (default: {DEFAULT_MIN_CHARS})")
    p.add_argument("--units", default="paragraph,line,sentence",
                   help="what a removed run may be, comma-separated: whole paragraphs, whole lines, any "
                   "sentences (default: paragraph,line,sentence)")
    p.add_argument("--drop-above", action="store_true",
                   help="drop (instead of repairing) documents above any Gopher repetition threshold "
                   "(Rae et al. 2021); they are listed with the failed rule in OUTPUT.dropped.jsonl")
    p.add_argument("--no-stats", dest="stats", action="store_false",
                   help="do not write repair_stats (Gopher statistics are then only computed for "
                   "--drop-above)")
    p.add_argument("--explain", action="store_true",
                   help="print each removed span with offsets and where its first occurrence is "
                   "(on stdout with -o, else on stderr)")
    add_engine_arguments(p, "one task per input file; needs -o")
    add_run_arguments(p)
    p.set_defaults(func=run, progress=None)


def _read_text(path: str) -> str:
    try:
        data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {exc.start})", "<stdin>" if path == "-" else path,
                         line) from None


def _is_single_text(inputs: list[str], format: str | None) -> bool:
    """One .txt file, or stdin as text: repaired to stdout as it is (no fields, byte for byte)."""
    if len(inputs) != 1:
        return False
    path = inputs[0]
    return format in (None, "txt") if path == "-" else path.lower().endswith(".txt")


def run(args: argparse.Namespace) -> int:
    units = tuple(u.strip() for u in args.units.split(",") if u.strip())
    if args.min_chars < 0:
        raise SemelError("--min-chars must be 0 or more")
    if args.output is None and _is_single_text(args.inputs, args.format):
        text = _read_text(args.inputs[0])
        try:
            if args.drop_above:  # the Gopher statistics load numba: only when asked for
                from semel.jobs.repair import repair_one

                result, _, failed = repair_one(text, min_chars=args.min_chars, units=units, drop_above=True,
                                               with_stats=False)
            else:
                result, failed = repair(text, min_chars=args.min_chars, units=units), []
        except ValueError as exc:
            raise SemelError(str(exc)) from None
        if failed:
            print(f"semel repair: dropped ({', '.join('gopher:' + f for f in failed)})", file=sys.stderr)
            return 0
        if args.explain:
            from semel.jobs.repair import explain_printer

            explain_printer(sys.stderr)(args.inputs[0], text, result)
        sys.stdout.flush()
        sys.stdout.buffer.write(result.text.encode("utf-8"))
        sys.stdout.buffer.flush()
        return 0
    from semel.io.outputs import Outputs
    from semel.jobs.repair import explain_printer, repair_file

    output = args.output or "-"
    explain = explain_printer(sys.stdout if output != "-" else sys.stderr) if args.explain else None
    read_stdin_as(args)
    try:
        with Outputs(output, inputs=args.inputs) as outputs:
            job = repair_file
            if args.engine == "spark":  # the same job, one task per input file
                from functools import partial

                from semel.engines.spark import run_repair

                job = partial(run_repair, master=args.remote or args.master, conf=args.conf)
            summary = job(args.inputs, output, id_field=args.id_field, text_field=args.text_field,
                          min_chars=args.min_chars, units=units, drop_above=args.drop_above,
                          on_error=args.on_error, explain=explain, batch_size=args.batch_size,
                          progress=args.progress, with_stats=args.stats)
    except ValueError as exc:
        raise SemelError(str(exc)) from None
    if output == "-":
        list_skipped(outputs.skipped())
    report(args, summary)
    return 0
