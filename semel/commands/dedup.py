"""`semel dedup`: exact and near-duplicate documents across a collection."""
from __future__ import annotations

import argparse
import dataclasses

from semel.commands.common import (
    add_engine_arguments,
    add_field_arguments,
    add_run_arguments,
    int_at_least,
    positive_int,
    read_stdin_as,
    report,
)
from semel.config import DedupConfig
from semel.errors import SemelError

#: The settings' defaults, from the one place they are defined (the command line shows and uses them).
D = {f.name: f.default for f in dataclasses.fields(DedupConfig)}

EPILOG = """\
what it writes (OUT/):
  clusters.parquet   one row per input document: id, cluster (id of the document kept in its place),
                     kept, reason (unique | original | exact | near | seen: copies an indexed document,
                     with --against), similarity (to the kept document,
                     exact Jaccard of word-shingle sets), cluster_size
  kept.<ext>         the kept documents, in the input's format, every field passed through untouched
  stats.json         settings, counts, time and peak memory per stage
  errors.jsonl       records skipped with --on-error skip (file, line, reason)
  index/             with --index: the kept documents, for --against, semel check and semel serve

examples:
  semel dedup corpus.jsonl -o out/
  semel dedup part-*.jsonl.zst -o out/ --threshold 0.4 --keep field:quality
  semel dedup docs/ -o out/ --repair            # a folder of .txt files, repaired first
  semel dedup big.jsonl -o out/ --resume        # continue an interrupted run
  semel dedup day1.jsonl -o out1/ --index       # then, the next batch against what was kept:
  semel dedup day2.jsonl -o out2/ --against out1/index --update-index
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dedup", help="find exact and near-duplicate documents; keep one of each",
        description="Find exact copies (same words in the same order, whatever the case, spacing or "
        "punctuation) and near copies (MinHash LSH candidates verified by the exact Jaccard similarity "
        "of word n-gram sets) across a collection; keep one document per cluster and record what "
        "happened to every document.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="JSONL (.gz/.zst), Parquet, a .txt file or a folder of .txt; "
                   "several form one collection")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    add_field_arguments(p)
    p.add_argument("--threshold", type=float, default=D["threshold"],
                   help="similarity of word-3-gram sets (Jaccard, each shingle weighted down the more "
                   "documents share it; see --no-df-weights) at or above which two documents are "
                   "duplicates, if they also pass the copy-shape and template tests "
                   f"(default: {D['threshold']}; see `semel params`)")
    p.add_argument("--ngram", type=positive_int, default=None,
                   help="tokens per shingle (default: 3 words, or 5 characters with --shingle char)")
    p.add_argument("--shingle", choices=("word", "char"), default="word",
                   help="word n-grams (default; scripts without spaces use characters anyway) or "
                   "character n-grams of letters and digits")
    p.add_argument("--exact-level", choices=("tokens", "standard", "whitespace", "none"),
                   default=D["exact_level"],
                   help="what an exact copy is: the same words in order whatever the case, spacing or "
                   "punctuation (tokens, default); the same text after NFKC, quote folding, whitespace "
                   "collapsing and case folding (standard); after whitespace collapsing only; or the same "
                   "bytes (none)")
    p.add_argument("--num-perm", type=positive_int, default=D["num_perm"],
                   help=f"MinHash bins, a power of two (default: {D['num_perm']})")
    p.add_argument("--bands", type=positive_int, help="LSH bands (default: derived from --threshold)")
    p.add_argument("--rows", type=positive_int, help="LSH rows per band (default: derived from --threshold)")
    p.add_argument("--containment", type=float, default=None,
                   help="also call a pair duplicate when the smaller shingle set is contained in the larger "
                   "at this share (catches truncated copies; off by default, see README)")
    p.add_argument("--max-gap", type=int_at_least(-1), default=D["max_gap"],
                   help="copy-shape test: the longest run of shingles one document may have that the other "
                   f"lacks, on the better-covered side (default: {D['max_gap']}; -1 turns the test off)")
    p.add_argument("--max-trailing", type=float, default=D["max_trailing"],
                   help="copy-shape test: the share of the longer document allowed missing at its end, "
                   f"e.g. a truncated copy (default: {D['max_trailing']})")
    p.add_argument("--template-min", type=int, default=D["template_min"],
                   help="template test: two documents are instances of one template, not copies, when on "
                   "both sides words the other side lacks recur at least this often (a name, command or "
                   f"value substituted throughout); 0 turns the test off (default: {D['template_min']})")
    p.add_argument("--short", type=int, default=D["short"],
                   help="documents with fewer shingles than this need similarity 0.5, rising linearly back "
                   "to --threshold at twice this many: a shared phrase makes short texts look alike "
                   f"(default: {D['short']}; 0 turns it off)")
    p.add_argument("--no-df-weights", dest="df_weights", action="store_false",
                   help="plain Jaccard: do not discount shingles that many documents of the collection "
                   "share (licence text, templates, site boilerplate)")
    p.add_argument("--keep", default=D["keep"],
                   help="which document of a cluster to keep: first (input order, default), longest, "
                   "or field:NAME (highest numeric value); ties go to the smallest id")
    p.add_argument("--no-exact", dest="exact", action="store_false", help="skip the exact stage")
    p.add_argument("--no-near", dest="near", action="store_false", help="skip the near-duplicate stage")
    p.add_argument("--repair", action="store_true", help="repair repeated text inside documents first")
    p.add_argument("--workers", type=int_at_least(0), default=0, help="threads (default: all cores)")
    p.add_argument("--work-dir", help="where stage outputs go (default: OUT/_work)")
    p.add_argument("--resume", action="store_true", help="continue from the last finished stage")
    p.add_argument("--keep-work", action="store_true", help="keep the work directory after success")
    p.add_argument("--index", action="store_true",
                   help="also write OUT/index/, an index of the kept documents (for --against, semel check, "
                   "semel serve)")
    p.add_argument("--against", metavar="INDEX",
                   help="remove documents that copy a document of INDEX (reason 'seen'); the run must use "
                   "the index's settings, and its shingle weights")
    p.add_argument("--update-index", action="store_true",
                   help="with --against: add the documents this run keeps to INDEX (a new segment)")
    p.add_argument("--no-kept", dest="write_kept", action="store_false",
                   help="write clusters.parquet only, not the kept documents")
    add_engine_arguments(p, "the same answers, see docs/spark.md")
    add_run_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from semel.api import dedup
    from semel.config import DedupConfig

    if "-" in args.inputs and args.resume:
        raise SemelError("--resume cannot tell whether stdin is the input of the interrupted run; save it "
                         "to a file and give that, or drop --resume")
    read_stdin_as(args)

    cfg = DedupConfig(
        inputs=args.inputs, output=args.output, id_field=args.id_field, text_field=args.text_field,
        threshold=args.threshold, ngram=args.ngram, shingle=args.shingle, exact_level=args.exact_level,
        num_perm=args.num_perm, bands=args.bands, rows=args.rows,
        containment=args.containment, max_gap=args.max_gap, max_trailing=args.max_trailing,
        template_min=args.template_min, short=args.short,
        df_weights=args.df_weights, keep=args.keep,
        exact=args.exact, near=args.near, repair=args.repair,
        workers=args.workers, batch_size=args.batch_size, on_error=args.on_error, work_dir=args.work_dir,
        resume=args.resume, keep_work=args.keep_work, write_kept=args.write_kept, progress=args.progress,
        index=args.index, against=args.against, update_index=args.update_index)
    result = dedup(cfg, engine=args.engine, master=args.remote or args.master, conf=args.conf)
    report(args, result)
    return 0
