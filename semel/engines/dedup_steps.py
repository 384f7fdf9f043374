"""What both dedup engines decide the same way, whatever schedules the work: file names, settings turned
into kernel arguments, the keep priority, and the statistics of a run.

The engines only differ in where the data lives (numpy parts on one machine, DataFrames on a cluster);
everything that decides an output goes through here, so a setting cannot reach one engine and not the
other (the engine contract suite, tests/test_engine_contract.py, checks every setting on both).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from semel.config import DedupConfig
from semel.errors import SemelError, escape
from semel.io import RAW, ROW
from semel.io.formats import detect_format, split_compression
from semel.io.outputs import Outputs
from semel.sketch import Sketch, sketch_batch
from semel.stages import StageStats, summary_dict

CLUSTERS_FILE = "clusters.parquet"
STATS_FILE = "stats.json"
ERRORS_FILE = "errors.jsonl"


@dataclass
class DedupStats:
    """What a dedup run did, stage by stage; written to OUT/stats.json.

    `candidates` counts candidate pairs as the buckets form them (a pair proposed by k bands counts k
    times); `verified` the verified duplicate links that joined two groups (exact groups joined by near
    copies: the components' spanning forest), which no order of work can change."""

    documents: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    seen: int = 0  # copies of a document of the --against index
    clusters: int = 0
    kept: int = 0
    skipped_records: int = 0
    input_bytes: int = 0
    candidates: int = 0
    verified: int = 0
    bands: int = 0
    rows: int = 0
    stages: list[StageStats] = field(default_factory=list)

    def to_dict(self) -> dict:
        return summary_dict(self)


def repaired_texts(texts: pa.Array) -> pa.Array:
    """The texts after in-document repair (for --repair)."""
    from semel.repair import repair

    return pa.array([None if t is None else repair(t).text for t in texts.to_pylist()], type=texts.type)


def sketch_texts(texts: pa.Array, cfg: DedupConfig) -> Sketch:
    """The sketch of a batch of texts with every setting that reaches the kernel (repair first, shingle
    kind, n-gram, bins, bands, exact level): the one call both engines make."""
    if cfg.repair:
        texts = repaired_texts(texts)
    bands, rows = cfg.band_rows
    return sketch_batch(texts, cfg.ngram, cfg.num_perm, bands, rows, chars=cfg.shingle == "char",
                        exact_level=cfg.exact_level)


def keep_values(batch: pa.RecordBatch, cfg: DedupConfig, lengths: np.ndarray) -> np.ndarray:
    """The keep-policy priority of each document: higher wins (first: -row; longest: shingles; field:
    the value, documents without a numeric one last)."""
    if cfg.keep == "first":
        return -batch.column(ROW).to_numpy().astype(np.float64)
    if cfg.keep == "longest":
        return lengths.astype(np.float64)
    return field_values(batch, cfg)


def field_values(batch: pa.RecordBatch, cfg: DedupConfig) -> np.ndarray:
    """The --keep field:NAME value of each document (-inf where missing or not a number)."""
    name = cfg.keep_field
    assert name is not None
    if name in batch.schema.names:
        col = batch.column(name)
        try:
            values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SemelError(f"--keep field:{name}: field is not numeric ({col.type})") from exc
    elif RAW in batch.schema.names:  # JSONL keeps other fields in the raw line
        values = np.array([_number(orjson.loads(raw).get(name)) for raw in batch.column(RAW).to_pylist()],
                          dtype=np.float64)
    else:
        raise SemelError(f"--keep field:{name}: no field {name!r} in the input")
    return np.nan_to_num(values, nan=-np.inf)  # documents without a value are kept last


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value)


def kept_output_path(cfg: DedupConfig) -> str | None:
    """Where the kept documents go: OUT/kept.<input's extension>, or OUT/kept/ for a folder of .txt."""
    if not cfg.write_kept:
        return None
    first = cfg.inputs[0]
    fmt = detect_format(first)
    if fmt == "txtdir":
        return os.path.join(cfg.output, "kept")
    if fmt == "txt":
        return os.path.join(cfg.output, "kept.txt")
    _, compression = split_compression(first) if first != "-" else (first, None)
    suffix = {"gzip": ".gz", "zstd": ".zst"}.get(compression or "", "")
    return os.path.join(cfg.output, "kept.parquet" if fmt == "parquet" else "kept.jsonl" + suffix)


def settings_dict(cfg: DedupConfig) -> dict:
    """The settings as recorded in stats.json (and shown by the report)."""
    d = {k: v for k, v in cfg.__dict__.items() if k not in ("extra", "progress")}
    d["bands"], d["rows"] = cfg.band_rows
    return d


def count_outcomes(stats: DedupStats, clusters: pa.Table) -> None:
    """The per-reason counts of a clusters table into `stats`."""
    reasons = clusters.column("reason").to_numpy(zero_copy_only=False)
    stats.documents = clusters.num_rows
    stats.exact_duplicates = int(np.sum(reasons == "exact"))
    stats.near_duplicates = int(np.sum(reasons == "near"))
    stats.seen = int(np.sum(reasons == "seen"))
    stats.kept = int(np.sum(clusters.column("kept").to_numpy(zero_copy_only=False)))
    stats.clusters = int(np.sum(reasons == "original"))


def stats_document(cfg: DedupConfig, engine: str, stats: DedupStats, warnings: list, **settings: Any
                   ) -> dict:
    """The content of OUT/stats.json (`settings` adds engine-specific entries, e.g. the Spark master)."""
    return {"job": "dedup", "engine": engine, "settings": {**settings_dict(cfg), **settings},
            "stats": stats.to_dict(), "warnings": warnings}


def note_duplicate_ids(clusters: pa.Table, outputs: Outputs) -> None:
    """A warning for ids used by more than one document."""
    ids = clusters.column("id")
    repeated = len(ids) - pc.count_distinct(ids).as_py() if len(ids) else 0
    if repeated:
        counts = pc.value_counts(ids)
        example = counts.field("values").filter(pc.greater(counts.field("counts"), 1))[0].as_py()
        example = escape(example).replace("{", "{{").replace("}", "}}")
        outputs.note("duplicate_id", repeated, "{n} document{s} with an id already used by an earlier one "
                     f"(e.g. {example!r}; a number and its text, 1 and \"1\", are the same id): each "
                     "keeps its own row of clusters.parquet, in input order, but 'cluster' and semel explain "
                     "cannot tell them apart")


def note_keep_field(cfg: DedupConfig, missing: int, outputs: Outputs) -> None:
    """A warning for documents without a numeric --keep field:NAME value (`missing` of them)."""
    name = cfg.keep_field
    if name is None:
        return
    field_name = escape(name).replace("{", "{{").replace("}", "}}")
    outputs.note("keep_field", missing, f"{{n}} document{{s}} without a numeric field '{field_name}' "
                 f"(--keep field:{field_name}): each ranks below every document of its cluster that "
                 "has one")
