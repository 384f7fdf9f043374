#!/usr/bin/env python3
"""Deduplicate a Hugging Face `datasets.Dataset` saved on disk, and save the kept rows next to it.

    python examples/dedup_hf_dataset.py DATASET_DIR OUT_DIR [--text text] [--threshold 0.3]
    python examples/dedup_hf_dataset.py --demo /tmp/news-ds /tmp/news-dedup   # builds DATASET_DIR first

DATASET_DIR is what `Dataset.save_to_disk` wrote. The kept rows are saved with `save_to_disk` in OUT_DIR,
with every column as it was; OUT_DIR/clusters.parquet says for every row whether it was kept, why not,
and which row was kept in its place. `--demo` first saves examples/news.jsonl as a Dataset, so the script
runs as it stands.
"""
from __future__ import annotations

import argparse
import os

import datasets
import pyarrow.parquet as pq

import semel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", help="a folder written by Dataset.save_to_disk")
    ap.add_argument("out", help="where the kept rows and clusters.parquet go")
    ap.add_argument("--text", default="text", help="the text column (default: text)")
    ap.add_argument("--id", default=None, help="an id column (default: 'id' if any, else row numbers)")
    ap.add_argument("--threshold", type=float, default=0.3, help="similarity threshold (default: 0.3)")
    ap.add_argument("--demo", action="store_true", help="first save examples/news.jsonl as DATASET")
    args = ap.parse_args()

    if args.demo:
        news = os.path.join(os.path.dirname(os.path.abspath(__file__)), "news.jsonl")
        datasets.Dataset.from_json(news).save_to_disk(args.dataset)

    ds = datasets.load_from_disk(args.dataset)
    result = semel.dedup(ds, text=args.text, id=args.id, threshold=args.threshold)
    print(result.summary())

    kept = result.kept(ds)  # a datasets.Dataset again, rows in their original order
    kept.save_to_disk(args.out)
    pq.write_table(result.clusters, os.path.join(args.out, "clusters.parquet"))
    print(f"{len(kept):,} of {len(ds):,} rows kept -> {args.out}")


if __name__ == "__main__":
    main()
