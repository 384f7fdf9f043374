"""`semel explain`: why one document was kept or removed, with the evidence a user can check.

For a dedup run: the rule (unique, original, exact, near), the cluster and the document kept in its
place, the verified similarity (Jaccard of the two n-gram sets, each n-gram weighted by how many documents
share it) and the plain Jaccard, the MinHash estimate with
the run's number of bins (what LSH saw), the chance that LSH made them candidates, and a few of the
shared n-grams as words. For a repair, lines or substrings run: the spans removed, with offsets and
the text cut from the original document. The texts are fetched from
the run's inputs by id, so only the two documents involved are ever held in memory.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from semel.errors import SemelError
from semel.io import ID, ErrorLog, InputSpec, read_batches
from semel.minhash import estimate_jaccard, signatures
from semel.params import candidate_probability
from semel.report.data import SPAN_FIELDS
from semel.report.docs import fetch_texts, inputs_available, span_column
from semel.report.runinfo import RunInfo, load_run
from semel.report.tokens import shingles_with_text

RULES = {
    "unique": "kept: no other document is a copy of it",
    "original": "kept: the document kept for its cluster (keep policy)",
    "exact": "removed: exact copy (same words in the same order, ignoring case, spacing, punctuation)",
    "near": "removed: near copy of the kept document (an LSH candidate verified directly against it: "
            "similarity of the n-gram sets, shaped like a copy, not two instances of one template)",
    "repaired": "kept, with repeated text removed from inside it",
    "unchanged": "kept unchanged: nothing repeated inside it",
    "dropped": "removed: above a repetition threshold (--drop-above)",
    "lines": "kept, with lines that occur in many documents removed",
    "substrings": "kept, with spans repeated elsewhere in the collection (or in itself) removed",
    "lines-unchanged": "kept unchanged: none of its lines occurs in many documents",
    "substrings-unchanged": "kept unchanged: no long span of it is repeated",
}


@dataclass
class Explanation:
    """Everything `semel explain` prints, as plain data (the --json output)."""

    id: str
    job: str
    kept: bool
    reason: str
    rule: str
    cluster: str | None = None
    kept_id: str | None = None
    cluster_size: int | None = None
    similarity: float | None = None
    exact_jaccard: float | None = None
    minhash_jaccard: float | None = None
    num_perm: int | None = None
    candidate_probability: float | None = None
    shingles: dict[str, int] | None = None
    shared_shingles: list[str] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    removed_spans: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clusters_row(run: RunInfo, doc_id: str) -> dict[str, Any]:
    path = os.path.join(run.output, "clusters.parquet")
    if not os.path.exists(path):
        raise SemelError(f"{path}: missing; cannot explain documents of this run")
    t = pq.read_table(path, filters=[("id", "==", doc_id)])
    if t.num_rows == 0:
        raise SemelError(f"no document with id {doc_id!r} in {path}")
    return t.slice(0, 1).to_pylist()[0]


def compare(removed: str, kept: str, ngram: int, num_perm: int, max_shared: int = 8, chars: bool = False
            ) -> tuple[float, float, dict[str, int], list[str]]:
    """(exact Jaccard, MinHash estimate, set sizes, a few shared n-grams as words) of two texts, with the
    run's shingles (word n-grams, or character n-grams with `chars`)."""
    ha, spans = shingles_with_text(removed, ngram, chars)
    hb, _ = shingles_with_text(kept, ngram, chars)
    sa, sb = np.unique(ha), np.unique(hb)
    inter = np.intersect1d(sa, sb, assume_unique=True)
    union = len(sa) + len(sb) - len(inter)
    exact = len(inter) / union if union else 0.0
    offsets = np.array([0, len(ha), len(ha) + len(hb)], dtype=np.int64)
    sig = signatures(offsets, np.concatenate([ha, hb]).astype(np.uint64), num_perm)
    est = float(estimate_jaccard(sig[0], sig[1])) if len(ha) and len(hb) else 0.0
    shared: list[str] = []
    if spans is not None and len(inter):
        in_b = np.isin(ha, inter)
        seen: set[int] = set()
        for pos in np.flatnonzero(in_b):
            h = int(ha[pos])
            if h in seen:
                continue
            seen.add(h)
            a, b = spans[pos]
            shared.append(" ".join(removed[a:b].split()))
            if len(shared) >= max_shared:
                break
    sizes = {"removed": int(len(sa)), "kept": int(len(sb)), "shared": int(len(inter))}
    return exact, est, sizes, shared


def _repair_texts(texts: dict[str, str]) -> dict[str, str]:
    from semel.repair import repair

    return {k: repair(v).text for k, v in texts.items()}


def explain_dedup(run: RunInfo, doc_id: str, inputs: list[str] | None = None) -> Explanation:
    """Explain one document of a dedup run."""
    row = _clusters_row(run, doc_id)
    s = run.settings
    reason = str(row["reason"])
    ex = Explanation(id=doc_id, job="dedup", kept=bool(row["kept"]), reason=reason,
                     rule=RULES.get(reason, reason), cluster=row["cluster"], kept_id=row["cluster"],
                     cluster_size=int(row["cluster_size"]), similarity=float(row["similarity"]))
    paths = inputs or run.inputs()
    if ex.kept:
        ex.kept_id = doc_id
        if reason == "original":
            t = pq.read_table(os.path.join(run.output, "clusters.parquet"),
                              columns=["id", "reason", "similarity"], filters=[("cluster", "==", doc_id)])
            rows = [r for r in t.to_pylist() if r["id"] != doc_id]
            rows.sort(key=lambda r: (-r["similarity"], r["id"]))
            ex.members = rows[:20]
            if len(rows) > 20:
                ex.notes.append(f"{len(rows) - 20} more members not listed")
        ex.rejected = _rejected_candidates(run, doc_id)
        if len(ex.rejected) > 20:
            ex.notes.append(f"{len(ex.rejected) - 20} more candidates turned away, all below "
                            f"{ex.rejected[19]['similarity']:.3f} (every one: rejected.parquet)")
            ex.rejected = ex.rejected[:20]
        if s.get("repair") and inputs_available(paths):
            ex.removed_spans = _dedup_repair_spans(paths, doc_id, s)
        return ex
    ngram, num_perm = int(s.get("ngram", 3)), int(s.get("num_perm", 256))
    if not inputs_available(paths):
        ex.notes.append("inputs not readable from here (" + ", ".join(paths or ["none recorded"])
                        + "): pass --input to compare the texts")
        return ex
    texts = fetch_texts(paths, [doc_id, ex.kept_id or ""], id_field=s.get("id_field", "id"),
                        text_field=s.get("text_field", "text"))
    if doc_id not in texts or ex.kept_id not in texts:
        ex.notes.append("document texts not found in the inputs (were they changed since the run?)")
        return ex
    if s.get("repair"):
        ex.removed_spans = _spans_of(texts[doc_id])
        texts = _repair_texts(texts)
        ex.notes.append("the run used --repair: texts were compared after in-document repair")
    exact, est, sizes, shared = compare(texts[doc_id], texts[ex.kept_id or ""], ngram, num_perm,
                                        chars=s.get("shingle") == "char")
    ex.exact_jaccard = round(exact, 6)
    ex.minhash_jaccard = round(est, 6)
    ex.num_perm = num_perm
    ex.shingles = sizes
    ex.shared_shingles = shared
    if s.get("bands") and s.get("rows"):
        p = candidate_probability(exact, int(s["bands"]), int(s["rows"]))
        ex.candidate_probability = round(float(p), 6)
    if s.get("df_weights", False) and ex.similarity is not None and abs(ex.similarity - exact) > 1e-6:
        ex.notes.append(f"verified similarity {ex.similarity:g} weighs shingles by how many documents of the "
                        f"collection share them (plain Jaccard {exact:g})")
    return ex


def _rejected_candidates(run: RunInfo, doc_id: str) -> list[dict[str, Any]]:
    """The candidates verification turned away for a kept document, and by which test (from
    OUT/rejected.parquet), each with what became of the other document."""
    from semel.rejected import rejected_for

    t = pq.read_table(os.path.join(run.output, "clusters.parquet"), columns=["id", "cluster", "kept"])
    ids = t.column("id").cast(pa.string()).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(ids == doc_id)
    if not len(rows):
        return []
    found = rejected_for(run.output, int(rows[0]))
    clusters = t.column("cluster").to_pylist()
    kept = t.column("kept").to_pylist()
    for r in found:
        other = int(r.pop("row"))
        r["id"] = str(ids[other])
        r["fate"] = "kept" if kept[other] else f"removed for {clusters[other]}"
    return found


def _spans_of(text: str) -> list[dict[str, Any]]:
    from semel.repair import repair

    return [sp.to_dict() | {"text": text[sp.start:sp.end]} for sp in repair(text).removed]


def _dedup_repair_spans(paths: list[str], doc_id: str, s: dict[str, Any]) -> list[dict[str, Any]]:
    texts = fetch_texts(paths, [doc_id], id_field=s.get("id_field", "id"),
                        text_field=s.get("text_field", "text"))
    return _spans_of(texts[doc_id]) if doc_id in texts else []


def explain_repair(run: RunInfo, doc_id: str, inputs: list[str] | None = None) -> Explanation:
    """Explain one document of a repair run: repaired (with spans), unchanged, or dropped."""
    dropped_path = run.output.rstrip("/") + ".dropped.jsonl"
    if os.path.exists(dropped_path):
        with open(dropped_path, "rb") as f:
            for line in f:
                rec = orjson.loads(line)
                if rec.get("id") == doc_id:
                    return Explanation(id=doc_id, job="repair", kept=False, reason="dropped",
                                       rule=RULES["dropped"] + f": {rec.get('reason')}",
                                       notes=[f"failed: {', '.join(rec.get('failed') or [])}"])
    spans = _output_spans(run, doc_id, "repair_removed")
    reason = "repaired" if spans else "unchanged"
    ex = Explanation(id=doc_id, job="repair", kept=True, reason=reason, rule=RULES[reason],
                     removed_spans=list(spans))
    _span_texts(run, ex, inputs)
    return ex


def _output_spans(run: RunInfo, doc_id: str, column: str) -> list[dict[str, Any]]:
    """The spans recorded in output field `column` for document `doc_id` (one streaming pass)."""
    s = run.settings
    if os.path.exists(run.output):
        spec = InputSpec(paths=[run.output], id_field=s.get("id_field", "id"),
                         text_field=s.get("text_field", "text"), on_error="skip")
        for batch in read_batches(spec, ErrorLog()):
            ids = batch.column(ID).cast(pa.string())
            hits = np.flatnonzero(ids.to_numpy(zero_copy_only=False) == doc_id)
            if hits.size:
                i = int(hits[0])
                values = span_column(batch.slice(i, 1), column)
                return [dict(sp) for sp in (values[0] if values else None) or []]
    raise SemelError(f"no document with id {doc_id!r} in {run.output}")


def _span_texts(run: RunInfo, ex: Explanation, inputs: list[str] | None) -> None:
    """Add each removed span's text, cut from the original document in the run's inputs."""
    paths = inputs or run.inputs()
    if not ex.removed_spans:
        return
    if not inputs_available(paths):
        ex.notes.append("inputs not readable from here (" + ", ".join(paths or ["none recorded"])
                        + "): pass --input to see the removed text")
        return
    s = run.settings
    text = fetch_texts(paths, [ex.id], id_field=s.get("id_field", "id"),
                       text_field=s.get("text_field", "text")).get(ex.id)
    if text is None:
        ex.notes.append("document text not found in the inputs (were they changed since the run?)")
        return
    for sp in ex.removed_spans:
        sp["text"] = text[int(sp["start"]):int(sp["end"])]


def explain_spans(run: RunInfo, doc_id: str, inputs: list[str] | None = None) -> Explanation:
    """Explain one document of a lines or substrings run: the spans cut from it, with offsets and text."""
    column, kind = SPAN_FIELDS[run.job]
    spans = [{"kind": kind, **sp} for sp in _output_spans(run, doc_id, column)]
    reason = run.job if spans else "unchanged"
    ex = Explanation(id=doc_id, job=run.job, kept=True, reason=reason,
                     rule=RULES[run.job if spans else f"{run.job}-unchanged"],
                     removed_spans=spans)
    _span_texts(run, ex, inputs)
    if run.job == "lines" and spans:
        _line_documents(run, ex)
    return ex


def _line_documents(run: RunInfo, ex: Explanation) -> None:
    """Add to each removed line the number of documents it occurs in (from OUTPUT.lines.parquet)."""
    from semel.spans.lines import line_units

    s = run.settings
    unit = str(s.get("unit") or "line")
    table = str(run.stats.get("lines_path") or run.output.rstrip("/") + ".lines.parquet")
    ex.notes.append(f"each removed {unit} occurs in at least {run.stats.get('min_docs', '?')} documents "
                    f"(all of them: {table})")
    texts = [sp.get("text") for sp in ex.removed_spans]
    if not os.path.exists(table) or any(t is None for t in texts):
        return
    units = line_units(pa.array(texts, pa.string()), unit, bool(s.get("fold_digits", True)))
    first = np.full(len(texts), -1, np.int64)
    for i in range(len(units) - 1, -1, -1):  # the first unit of each span is the one removed
        first[units.doc[i]] = i
    keys = [int(units.hash[i]) for i in first if i >= 0]
    if not keys:
        return
    t = pq.read_table(table, columns=["hash", "documents"],
                      filters=[("hash", "in", pa.array(keys, pa.uint64()))])
    counts = dict(zip(t.column("hash").to_pylist(), t.column("documents").to_pylist(), strict=True))
    for sp, i in zip(ex.removed_spans, first, strict=True):
        if i >= 0 and int(units.hash[i]) in counts:
            sp["documents"] = int(counts[int(units.hash[i])])


def explain(path: str, doc_id: str, inputs: list[str] | None = None) -> Explanation:
    """Explain document `doc_id` of the run at `path` (its output folder or file)."""
    run = load_run(path)
    if run.job == "dedup":
        return explain_dedup(run, doc_id, inputs)
    if run.job == "repair":
        return explain_repair(run, doc_id, inputs)
    if run.job in ("lines", "substrings"):
        return explain_spans(run, doc_id, inputs)
    raise SemelError(f"semel explain does not know {run.job!r} runs yet (it knows dedup, repair, lines "
                     "and substrings)")


def _short(s: str, width: int = 90) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 1] + "…"


def format_explanation(ex: Explanation) -> str:
    """Human-readable lines."""
    lines = [f"{ex.id}: {ex.rule}"]
    if ex.job == "dedup":
        if ex.kept and ex.reason == "original":
            lines.append(f"  cluster       {ex.cluster_size:,} documents, kept: {ex.id}")
        elif not ex.kept:
            lines.append(f"  kept instead  {ex.kept_id}")
            lines.append(f"  cluster       {ex.cluster} ({ex.cluster_size:,} documents)")
            lines.append(f"  similarity    {ex.similarity:.3f} (recorded by the run)")
        if ex.exact_jaccard is not None and ex.shingles is not None:
            sz = ex.shingles
            lines.append(f"  exact Jaccard {ex.exact_jaccard:.3f}  ({sz['shared']:,} shared of "
                         f"{sz['removed']:,} and {sz['kept']:,} distinct word n-grams)")
            lines.append(f"  MinHash est.  {ex.minhash_jaccard:.3f}  ({ex.num_perm} bins)")
        if ex.candidate_probability is not None:
            lines.append(f"  P(LSH candidate at this similarity) {ex.candidate_probability:.3f}")
        if ex.shared_shingles:
            lines.append("  shared n-grams (first in the text):")
            lines.extend(f"    “{g}”" for g in ex.shared_shingles)
        if ex.members:
            lines.append("  removed in its favour:")
            lines.extend(f"    {m['id']:<24} {m['reason']:<6} {m['similarity']:.3f}" for m in ex.members)
        if ex.rejected:
            lines.append("  candidates verification turned away (similarity, the test that said no):")
            lines.extend(f"    {r['id']:<24} {r['similarity']:.3f}  {r['why']}; {r['fate']}"
                         for r in ex.rejected)
    if ex.removed_spans:
        lines.append(f"  removed spans ({len(ex.removed_spans)}):")
        for sp in ex.removed_spans:
            first = (f", first at [{sp['kept_start']}:{sp['kept_end']}]"
                     if sp.get("kept_start") is not None else "")
            docs = f", in {sp['documents']:,} documents" if sp.get("documents") is not None else ""
            lines.append(f"    [{sp['start']}:{sp['end']}] {sp.get('kind', '')}{first}{docs}"
                         + (f"  “{_short(sp['text'], 70)}”" if sp.get("text") else ""))
    lines.extend(f"  note: {n}" for n in ex.notes)
    return "\n".join(lines)
