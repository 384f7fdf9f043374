"""`semel params`: the LSH bands x rows chosen for a threshold, and the S-curve they give."""
from __future__ import annotations

import argparse
import json

import numpy as np

from semel.commands.common import positive_int
from semel.params import candidate_probability


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "params", help="show LSH bands x rows and the S-curve for a threshold",
        description="Print the bands x rows semel derives from a Jaccard threshold and the probability "
        "that two documents become candidates at each similarity (the S-curve). Every candidate is then "
        "verified on exact shingle sets, so the curve only has to be high above the threshold.")
    p.add_argument("--threshold", type=float, default=0.3, help="Jaccard threshold (default: 0.3)")
    p.add_argument("--num-perm", type=positive_int, default=256, help="MinHash bins (default: 256)")
    p.add_argument("--bands", type=positive_int, help="override bands")
    p.add_argument("--rows", type=positive_int, help="override rows")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def s_curve(bands: int, rows: int, step: float = 0.05) -> list[tuple[float, float]]:
    """(similarity, probability of becoming a candidate) from 0 to 1."""
    xs = np.round(np.arange(0.0, 1.0 + 1e-9, step), 4)
    return [(float(x), float(candidate_probability(x, bands, rows))) for x in xs]


def run(args: argparse.Namespace) -> int:
    from semel.config import DedupConfig

    cfg = DedupConfig(inputs=["-"], output="-", threshold=args.threshold, num_perm=args.num_perm,
                      bands=args.bands, rows=args.rows)
    bands, rows = cfg.band_rows
    curve = s_curve(bands, rows)
    if args.json:
        print(json.dumps({"threshold": args.threshold, "num_perm": args.num_perm, "bands": bands,
                          "rows": rows, "s_curve": curve}))
        return 0
    print(f"threshold {args.threshold}  num_perm {args.num_perm}  ->  {bands} bands x {rows} rows "
          f"({bands * rows} of {args.num_perm} bins used)")
    print(f"probability of becoming a candidate at the threshold: "
          f"{float(candidate_probability(args.threshold, bands, rows)):.3f}")
    print("\n similarity  P(candidate)")
    for s, prob in curve:
        bar = "#" * int(round(prob * 40))
        mark = "  <- threshold" if abs(s - args.threshold) < 0.025 else ""
        print(f"   {s:5.2f}      {prob:6.3f}  {bar}{mark}")
    return 0
