"""Everything the report shows, computed from a run's outputs without loading the collection.

A run's stats.json ``"job"`` picks the builder (`BUILDERS`); a job without one gets the generic part
(summary of its numeric stats, settings, stages). Each builder fills only what it has data for, and the
HTML template leaves out every section whose data is None or empty, so a new job needs only a builder
here. Jobs that record removed spans per document (repair, lines, substrings: `SPAN_FIELDS`) share
`_span_examples`: the spans come from the output, the original text from the inputs. Per-document data
is sampled: the largest clusters, pairs near the threshold, a capped id index; document texts are
fetched by id in one streaming pass.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from semel.io import ID, ErrorLog, InputSpec, read_batches
from semel.rejected import REJECTED_FILE, counts_by_test
from semel.report.docs import RemovedBytes, fetch_texts, inputs_available, span_column
from semel.report.runinfo import RunInfo

CLUSTERS_FILE = "clusters.parquet"
REASON_CODES = {"exact": "e", "near": "n", "original": "o", "unique": "u", "repair": "r", "dropped": "d",
                "lines": "l", "substrings": "s"}


@dataclass
class Pair:
    """A removed document and the document kept in its place."""

    removed: str
    kept: str
    reason: str
    similarity: float
    cluster_size: int


@dataclass
class ClusterSample:
    """One of the largest clusters: the kept document, a few members, and one pair to diff."""

    kept: str
    size: int
    members: list[tuple[str, str, float]]
    pair: Pair | None


@dataclass
class SpanExample:
    """A document with the spans a job removed from it (offsets into its original text)."""

    id: str
    text: str | None
    spans: list[dict[str, Any]]
    removed_chars: int


@dataclass
class ReportData:
    """What the HTML template renders; None / empty means "omit that section"."""

    run: RunInfo
    summary: list[tuple[str, str, str]] = field(default_factory=list)
    removed_by_reason: dict[str, int] = field(default_factory=dict)
    cluster_sizes: np.ndarray | None = None
    near_similarities: np.ndarray | None = None
    threshold: float | None = None
    bands_rows: tuple[int, int] | None = None
    largest: list[ClusterSample] = field(default_factory=list)
    borderline: list[Pair] = field(default_factory=list)
    span_examples: list[SpanExample] = field(default_factory=list)
    span_lengths: np.ndarray | None = None
    top_lines: list[tuple[str, int]] = field(default_factory=list)
    top_lines_total: int = 0
    texts: dict[str, str] = field(default_factory=dict)
    index: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _mb(n: float) -> str:
    if n >= 1e5:
        return f"{n / 1e6:,.1f} MB"
    return f"{n / 1e3:,.1f} kB" if n >= 1e3 else f"{int(n):,} bytes"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else ""


def _stage_summary(data: ReportData) -> None:
    stages = data.run.stats.get("stages") or []
    if stages:
        total = sum(float(s.get("seconds") or 0) for s in stages)
        peak = max(float(s.get("peak_rss_mb") or 0) for s in stages)
        plural = "s" if len(stages) != 1 else ""
        data.summary.append(("time", f"{total:,.1f} s", f"{len(stages)} stage{plural}"))
        data.summary.append(("peak memory", f"{peak:,.0f} MB", "resident set, whole process"))


def _generic(data: ReportData, opts: dict[str, Any]) -> None:
    """Any job: its top-level numeric statistics as they are."""
    for key, value in data.run.stats.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            data.summary.append((key.replace("_", " "), f"{value:,}", ""))
    _stage_summary(data)


def _dedup(data: ReportData, opts: dict[str, Any]) -> None:
    run, st, settings = data.run, data.run.stats, data.run.settings
    path = os.path.join(run.output, CLUSTERS_FILE)
    if not os.path.exists(path):
        data.notes.append(f"{path} is missing: only the recorded statistics are shown.")
        _generic(data, opts)
        return
    t = pq.read_table(path, columns=["id", "cluster", "kept", "reason", "similarity", "cluster_size"])
    n = t.num_rows
    kept = t.column("kept").to_numpy(zero_copy_only=False).astype(bool)
    reason = t.column("reason")
    sims = t.column("similarity").to_numpy(zero_copy_only=False).astype(np.float64)
    sizes = t.column("cluster_size").to_numpy(zero_copy_only=False).astype(np.int64)
    is_near = pc.equal(reason, "near").to_numpy(zero_copy_only=False)
    is_orig = pc.equal(reason, "original").to_numpy(zero_copy_only=False)
    counts = {str(r["values"]): int(r["counts"]) for r in pc.value_counts(reason).to_pylist()}
    data.removed_by_reason = {r: counts[r] for r in ("exact", "near") if counts.get(r)}
    data.threshold = float(settings.get("threshold", 0.3))
    if settings.get("bands") and settings.get("rows"):
        data.bands_rows = (int(settings["bands"]), int(settings["rows"]))
    data.cluster_sizes = sizes[is_orig]
    data.near_similarities = sims[is_near]

    # the largest clusters, each with its members and the least similar member to diff
    orig_idx = np.flatnonzero(is_orig)
    top = orig_idx[np.argsort(-sizes[orig_idx], kind="stable")[: opts["clusters"]]]
    top_ids = t.column("id").take(pa.array(top)).to_pylist()
    members: dict[str, list[tuple[str, str, float]]] = {k: [] for k in top_ids}
    if top_ids:
        sel = t.filter(pc.and_(pc.is_in(t.column("cluster"), value_set=pa.array(top_ids, pa.string())),
                               pc.invert(t.column("kept"))))
        sel = sel.sort_by([("similarity", "ascending"), ("id", "ascending")])
        for mid, cl, rs, sim in zip(*(sel.column(c).to_pylist() for c in ("id", "cluster", "reason",
                                                                            "similarity")), strict=True):
            if len(members[cl]) < opts["members"]:
                members[cl].append((mid, rs, float(sim)))
    for kid, row in zip(top_ids, top, strict=True):
        ms = members[kid]
        pair = Pair(ms[0][0], kid, ms[0][1], ms[0][2], int(sizes[row])) if ms else None
        data.largest.append(ClusterSample(kid, int(sizes[row]), ms, pair))

    # borderline: near copies whose similarity to the kept document is closest to the threshold
    near_idx = np.flatnonzero(is_near)
    if near_idx.size:
        distance = np.abs(sims[near_idx] - data.threshold)
        order = near_idx[np.lexsort((near_idx, distance))][: opts["borderline"]]
        rows = t.take(pa.array(order))
        for rid, cl, sim, size in zip(*(rows.column(c).to_pylist() for c in ("id", "cluster", "similarity",
                                                                              "cluster_size")), strict=True):
            data.borderline.append(Pair(rid, cl, "near", float(sim), int(size)))

    # texts of the sample, and bytes removed, in one pass over the inputs
    inputs = opts.get("inputs") or run.inputs()
    wanted = {p.removed for p in data.borderline} | {p.kept for p in data.borderline}
    for c in data.largest:
        if c.pair:
            wanted |= {c.pair.removed, c.pair.kept}
    removed_bytes: int | None = st.get("removed_bytes")
    if inputs_available(inputs):
        counter = RemovedBytes(~kept)
        data.texts = fetch_texts(inputs, wanted, id_field=settings.get("id_field", "id"),
                                 text_field=settings.get("text_field", "text"),
                                 on_row=counter if removed_bytes is None else None)
        if removed_bytes is None:
            removed_bytes = counter.removed_bytes
    else:
        data.notes.append("The inputs recorded in stats.json (" + ", ".join(inputs or ["none"]) + ") cannot "
                          "be read from here, so no diffs are shown; pass --input to point at them.")

    bytes_in = int(st.get("input_bytes") or 0)
    removed = int(n - kept.sum())
    data.summary = [
        ("documents in", f"{n:,}", _mb(bytes_in) if bytes_in else ""),
        ("kept", f"{int(kept.sum()):,}", _pct(int(kept.sum()), n)),
        ("removed", f"{removed:,}", _pct(removed, n)),
        ("exact copies", f"{counts.get('exact', 0):,}", "same words in the same order"),
        ("near copies", f"{counts.get('near', 0):,}", f"verified near copies (threshold {data.threshold:g})"),
        ("clusters", f"{int(is_orig.sum()):,}", "groups of two or more"),
    ]
    if removed_bytes is not None:
        data.summary.append(("bytes removed", _mb(removed_bytes), _pct(removed_bytes, bytes_in)))
    if st.get("candidates") is not None:
        data.summary.append(("LSH candidates", f"{int(st['candidates']):,}",
                             f"{int(st.get('verified') or 0):,} near links joined two groups"))
    rejected_path = os.path.join(data.run.output, REJECTED_FILE)
    if os.path.exists(rejected_path):
        by_test = counts_by_test(pq.read_table(rejected_path, columns=["test"]))
        data.summary.append(("candidates turned away", f"{sum(by_test.values()):,}",
                             ", ".join(f"{k} {v:,}" for k, v in sorted(by_test.items())) or "none"))
    if st.get("skipped_records"):
        data.summary.append(("skipped records", f"{int(st['skipped_records']):,}", "see errors.jsonl"))
    _stage_summary(data)
    data.notes.extend(dedup_warnings(sizes[is_orig], sims[is_near], n, data.threshold))
    data.index = _dedup_index(t, kept, opts["index_limit"])


#: a cluster holding more than this share of the collection (and at least BIG_CLUSTER_MIN documents) is
#: flagged: on real text such clusters were templates or boilerplate more often than copies
BIG_CLUSTER_SHARE, BIG_CLUSTER_MIN = 0.01, 20
#: near removals below this similarity to their kept document are worth a look
LOW_SIMILARITY = 0.5


def dedup_warnings(cluster_sizes: np.ndarray, near_similarities: np.ndarray, documents: int,
                   threshold: float) -> list[str]:
    """What a person should check before trusting a dedup run: clusters that hold an unusual share of
    the collection, and removals at low similarity to the document kept in their place."""
    notes = []
    big = cluster_sizes[(cluster_sizes >= BIG_CLUSTER_MIN) & (cluster_sizes > BIG_CLUSTER_SHARE * documents)]
    if big.size:
        largest = int(big.max())
        notes.append(f"Warning: {big.size:,} cluster(s) hold more than {BIG_CLUSTER_SHARE:.0%} of the "
                     f"collection (largest {largest:,} documents, {largest / max(documents, 1):.1%}). On "
                     "real text such clusters are often one template or boilerplate, not copies: read a "
                     "few members below before removing them.")
    low = int(np.sum(near_similarities < max(LOW_SIMILARITY, threshold)))
    if low and threshold < LOW_SIMILARITY:
        notes.append(f"Warning: {low:,} of {near_similarities.size:,} near copies "
                     f"({low / near_similarities.size:.1%}) were removed at similarity below "
                     f"{LOW_SIMILARITY:g} to their kept document (threshold {threshold:g}). Heavily edited "
                     "copies look like that, and so do different documents that share much text: see "
                     "the borderline pairs.")
    return notes


def _dedup_index(t: pa.Table, kept: np.ndarray, limit: int) -> dict[str, Any]:
    """Removed documents (first `limit` in input order): id -> cluster, reason, similarity, compactly."""
    removed_idx = np.flatnonzero(~kept)
    total = int(removed_idx.size)
    take = pa.array(removed_idx[:limit])
    sub = t.select(["id", "cluster", "reason", "similarity"]).take(take)
    enc = pc.dictionary_encode(sub.column("cluster")).combine_chunks()
    codes = "".join(REASON_CODES.get(r, "?") for r in sub.column("reason").to_pylist())
    return {
        "ids": sub.column("id").to_pylist(),
        "cluster": enc.indices.to_pylist(),
        "kept_ids": enc.dictionary.to_pylist(),
        "reason": codes,
        "sim": np.round(sub.column("similarity").to_numpy(zero_copy_only=False) * 1000).astype(int).tolist(),
        "removed_total": total,
        "complete": total <= limit,
    }


def _repair(data: ReportData, opts: dict[str, Any]) -> None:
    """Repair: counts from the stats, and examples of repaired documents with removed text marked."""
    st = data.run.stats
    docs = int(st.get("documents") or 0)
    bytes_in = int(st.get("bytes_in") or 0)
    data.summary = [
        ("documents in", f"{docs:,}", _mb(bytes_in) if bytes_in else ""),
        ("repaired", f"{int(st.get('repaired') or 0):,}", _pct(int(st.get("repaired") or 0), docs)),
        ("unchanged", f"{int(st.get('unchanged') or 0):,}", ""),
    ]
    if st.get("dropped"):
        reasons = ", ".join(f"{k}: {v:,}" for k, v in (st.get("drop_reasons") or {}).items())
        data.summary.append(("dropped", f"{int(st['dropped']):,}", reasons))
    data.summary.append(("bytes removed", _mb(int(st.get("bytes_removed") or 0)),
                         _pct(int(st.get("bytes_removed") or 0), bytes_in)))
    if st.get("skipped"):
        data.summary.append(("skipped records", f"{int(st['skipped']):,}", ""))
    _stage_summary(data)
    data.removed_by_reason = {k: int(st.get(s) or 0) for k, s in (("repair", "repaired"),
                                                                  ("dropped", "dropped")) if st.get(s)}
    _span_examples(data, opts, "repair_removed", "r", None, "repaired output")


# the output field holding each span job's removed spans, and the kind its spans are shown as
SPAN_FIELDS = {"repair": ("repair_removed", None), "lines": ("lines_removed_spans", "line"),
               "substrings": ("substrings_removed", "repeat")}


def _span_examples(data: ReportData, opts: dict[str, Any], column: str, code: str, kind: str | None,
                   what: str, all_lengths: bool = False) -> None:
    """Fill the examples (documents with the most text removed, texts from the inputs) and the index of a
    job that records removed spans per document; with `all_lengths`, also every span's length."""
    run, settings = data.run, data.run.settings
    out = run.output
    if not out or out == "-" or not os.path.exists(out):
        data.notes.append(f"The {what} is not readable from here, so no examples are shown.")
        return
    found, lengths = _scan_spans(out, settings, column, opts["examples"] * 10, kind, all_lengths)
    if all_lengths:
        data.span_lengths = lengths
    found.sort(key=lambda e: (-e.removed_chars, e.id))
    data.span_examples = found[: opts["examples"]]
    inputs = opts.get("inputs") or run.inputs()
    if inputs_available(inputs):
        texts = fetch_texts(inputs, [e.id for e in data.span_examples],
                            id_field=settings.get("id_field", "id"),
                            text_field=settings.get("text_field", "text"))
        for e in data.span_examples:
            e.text = texts.get(e.id)
    else:
        data.notes.append("The original inputs cannot be read from here, so removed text is not shown "
                          "in place.")
    data.index = {"ids": [e.id for e in data.span_examples], "cluster": [], "kept_ids": [],
                  "reason": code * len(data.span_examples), "sim": [], "removed_total": None,
                  "complete": False}


def _scan_spans(path: str, settings: dict[str, Any], column: str, limit: int, kind: str | None = None,
                all_lengths: bool = False) -> tuple[list[SpanExample], np.ndarray]:
    """The first `limit` changed documents of a span job's output with their spans (tagged `kind` where
    they have none), and, with `all_lengths`, the length of every span in the output (else empty)."""
    spec = InputSpec(paths=[path], id_field=settings.get("id_field", "id"),
                     text_field=settings.get("text_field", "text"), on_error="skip")
    found: list[SpanExample] = []
    lengths: list[np.ndarray] = []
    for batch in read_batches(spec, ErrorLog()):
        spans_col = span_column(batch, column)
        if spans_col is None:
            break
        if all_lengths:
            lengths.append(np.fromiter((int(s["end"]) - int(s["start"]) for spans in spans_col
                                        for s in spans or ()), dtype=np.int64))
        if len(found) < limit:
            for doc_id, spans in zip(batch.column(ID).to_pylist(), spans_col, strict=True):
                if spans:
                    spans = [dict(s) if kind is None else {"kind": kind, **s} for s in spans]
                    chars = sum(int(s["end"]) - int(s["start"]) for s in spans)
                    found.append(SpanExample(str(doc_id), None, spans, chars))
                    if len(found) >= limit:
                        break
        elif not all_lengths:
            break
    return found, (np.concatenate(lengths) if lengths else np.empty(0, np.int64))


def _span_job_summary(data: ReportData, changed_label: str, extra: list[tuple[str, str, str]]) -> None:
    """Documents in / changed / unchanged, then `extra`, bytes removed, skipped records and stages."""
    st = data.run.stats
    docs = int(st.get("documents") or 0)
    changed = int(st.get("changed") or 0)
    bytes_in = int(st.get("bytes_in") or 0)
    data.summary = [
        ("documents in", f"{docs:,}", _mb(bytes_in) if bytes_in else ""),
        (changed_label, f"{changed:,}", _pct(changed, docs)),
        ("unchanged", f"{docs - changed:,}", _pct(docs - changed, docs)),
        *extra,
    ]
    if st.get("bytes_removed") is not None:
        data.summary.append(("bytes removed", _mb(int(st["bytes_removed"])),
                             _pct(int(st["bytes_removed"]), bytes_in)))
    if st.get("skipped"):
        data.summary.append(("skipped records", f"{int(st['skipped']):,}", "see errors.jsonl"))
    _stage_summary(data)


def _chars(st: dict[str, Any], key: str) -> tuple[str, str, str]:
    n = int(st.get(key) or 0)
    return ("characters removed", f"{n:,}", _pct(n, int(st.get("input_chars") or 0)) + " of the text"
            if st.get("input_chars") else "")


def _lines(data: ReportData, opts: dict[str, Any]) -> None:
    """Lines: counts, the most frequent removed lines with their document counts, examples in place."""
    run, st, settings = data.run, data.run.stats, data.run.settings
    unit = str(settings.get("unit") or "line")
    extra = [(f"{unit}s removed", f"{int(st.get('lines_removed') or 0):,}",
              f"{int(st.get('frequent_units') or 0):,} frequent of {int(st.get('distinct_units') or 0):,} "
              f"distinct (in >= {int(st.get('min_docs') or 0):,} documents)"), _chars(st, "chars_removed")]
    _span_job_summary(data, "documents changed", extra)
    if st.get("changed"):
        data.removed_by_reason = {"lines": int(st["changed"])}
    table = st.get("lines_path") or (run.output.rstrip("/") + ".lines.parquet" if run.output else "")
    if table and not os.path.exists(table):
        table = run.output.rstrip("/") + ".lines.parquet"
    if table and os.path.exists(table):
        pf = pq.ParquetFile(table)
        data.top_lines_total = pf.metadata.num_rows
        for batch in pf.iter_batches(batch_size=max(opts["top_lines"], 1), columns=["text", "documents"]):
            data.top_lines = [(t if t is not None else "", int(n)) for t, n in
                              zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)]
            break
    elif run.output and run.output != "-":
        data.notes.append(f"{table or 'the removed-lines table'} is missing: the most frequent removed "
                          "lines are not shown.")
    _span_examples(data, opts, "lines_removed_spans", "l", unit, "output")


def _substrings(data: ReportData, opts: dict[str, Any]) -> None:
    """Substrings: counts, examples with the cut spans in place, and the distribution of span lengths."""
    st = data.run.stats
    extra = [("spans removed", f"{int(st.get('spans') or 0):,}",
              f"repeats of >= {data.run.settings.get('min_tokens', '?')} tokens"),
             ("tokens removed", f"{int(st.get('tokens_removed') or 0):,}",
              _pct(int(st.get("tokens_removed") or 0), int(st.get("tokens") or 0))),
             _chars(st, "chars_removed")]
    _span_job_summary(data, "documents changed", extra)
    if st.get("changed"):
        data.removed_by_reason = {"substrings": int(st["changed"])}
    _span_examples(data, opts, "substrings_removed", "s", "repeat", "output", all_lengths=True)


BUILDERS: dict[str, Callable[[ReportData, dict[str, Any]], None]] = {
    "dedup": _dedup, "repair": _repair, "lines": _lines, "substrings": _substrings}


def build_report(run: RunInfo, *, inputs: list[str] | None = None, clusters: int = 6, members: int = 12,
                 borderline: int = 8, examples: int = 10, index_limit: int = 200_000,
                 top_lines: int = 25) -> ReportData:
    """Collect the report's data for `run` (the job picks the builder)."""
    data = ReportData(run=run)
    opts = {"inputs": inputs, "clusters": clusters, "members": members, "borderline": borderline,
            "examples": examples, "index_limit": index_limit, "top_lines": top_lines}
    BUILDERS.get(run.job, _generic)(data, opts)
    return data
