#!/usr/bin/env python3
"""Repeated spans across documents: `semel lines` and `semel substrings` vs datatrove's sentence dedup and
dolma's paragraph dedup, on DICE articles with planted boilerplate and planted repeated passages.

Reproduce::

    bash bench/setup_peers.sh                      # once: /work/peers/venv (datatrove), venv-dolma (dolma)
    .venv/bin/python bench/bench_spans.py --scale 1 --json spans.json
    .venv/bin/python bench/bench_spans.py --scale 12 --only semel-substrings,semel-lines   # ~100 MB

Corpus (cached in WORKDIR): the articles of ``/work/shared/bench/dice_public.jsonl.gz`` minus every article
sharing a 20-word window with an earlier one (DICE is a near-duplicate set; this leaves no natural repeat
of >= 20 words, so every removal can be scored against the planted truth). Then, seeded:

* boilerplate: each article gets an outlet (12); with probability ``--boiler`` (0.5) one header line and
  1-3 footer lines from that outlet's pool ("© RIPRODUZIONE RISERVATA", cookie notices, "Leggi anche:"
  link lists, newsletter lines, with the year varying). Truth: every occurrence (boilerplate has no
  original).
* passages: 300 passages of 60-150 words cut from ``dice_holdout.jsonl.gz``; with probability
  ``--passages`` (0.25) an article gets one, as its own paragraph or inline after a sentence. Truth:
  every occurrence after the first (in input order).

``--scale K`` writes K copies; copy k>0 has every word whose hash is 0 mod 4 suffixed with k (articles and
passages alike), so copies share no 50-token span while planted passages still repeat inside a copy.

Scored: characters removed vs planted characters (precision, recall) per truth and combined; semel's
spans come from its output columns, datatrove's and dolma's from a word-level diff of input and output
(dolma: its span attributes). Timed end to end with /usr/bin/time (wall seconds, peak RSS); MB/s is input
JSON bytes per second; "B/B" is peak RSS per input byte.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import json
import os
import random
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

SHARED = Path("/work/shared/bench")
WORD = re.compile(r"\S+")
SENT_END = re.compile(r"(?<=[.!?])\s+")

OUTLETS = [
    "Gazzetta di Modena",
    "Il Tirreno",
    "La Nuova Sardegna",
    "Il Piccolo",
    "Messaggero Veneto",
    "La Provincia Pavese",
    "Il Centro",
    "Alto Adige",
    "La Nuova Ferrara",
    "Corriere delle Alpi",
    "La Sentinella",
    "Nuova Venezia",
]
HEADERS = [
    "Home - Cronaca - Sport - Cultura - Tempo libero - {o}",
    "Sei in: {o} > Cronaca > Notizie",
    "Menu {o} | Abbonati | Accedi | Newsletter",
]
FOOTERS = [
    "© RIPRODUZIONE RISERVATA - {o} {y}",
    "Leggi anche: tutte le notizie di oggi su {o}",
    "Questo sito utilizza cookie tecnici e di profilazione; continuando la navigazione accetti",
    "Iscriviti alla newsletter di {o} per ricevere ogni mattina le notizie",
    "Segui {o} su Facebook e X",
    "Ti potrebbero interessare anche: i più letti della settimana su {o}",
    "P.IVA 00906801006 - Società Editrice {o} S.p.A. - Tutti i diritti riservati {y}",
]


# ------------------------------------------------------------------ corpus
def load(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def distinct_articles(texts: list[str], n: int = 20) -> list[str]:
    seen: set[int] = set()
    out = []
    for t in texts:
        w = WORD.findall(t.lower())
        grams = {hash(tuple(w[i : i + n])) for i in range(max(1, len(w) - n + 1))}
        if grams & seen:
            continue
        seen |= grams
        out.append(t)
    return out


def passage_pool(texts: list[str], rng: random.Random, count: int = 300) -> list[str]:
    pool = []
    for t in rng.sample(texts, min(len(texts), count * 3)):
        sents = [s for s in SENT_END.split(" ".join(t.split())) if s]
        start = rng.randrange(max(1, len(sents) - 3))
        p = ""
        for s in sents[start:]:
            p = (p + " " + s).strip()
            if len(p.split()) >= 60:
                break
        if 60 <= len(p.split()) <= 150:
            pool.append(p)
        if len(pool) >= count:
            break
    return pool


def transform(text: str, k: int) -> str:
    if k == 0:
        return text
    return WORD.sub(
        lambda m: m.group() + str(k) if zlib.crc32(m.group().encode()) % 4 == 0 else m.group(), text
    )


def build(a: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    corpus, truth = work / f"spans-x{a.scale}.jsonl", work / f"spans-x{a.scale}.truth.jsonl"
    if corpus.exists() and truth.exists():
        return corpus, truth
    rng = random.Random(a.seed)
    base = distinct_articles(load(SHARED / "dice_public.jsonl.gz"))
    pool = passage_pool(load(SHARED / "dice_holdout.jsonl.gz"), rng)
    with open(corpus, "w", encoding="utf-8") as fc, open(truth, "w", encoding="utf-8") as ft:
        for k in range(a.scale):
            used: set[int] = set()
            pool_k = [transform(p, k) for p in pool]
            for i, art in enumerate(base):
                text, boiler, passages = plant(transform(art, k), pool_k, rng, a, used)
                fc.write(json.dumps({"id": f"{k}-{i}", "text": text}, ensure_ascii=False) + "\n")
                ft.write(json.dumps({"id": f"{k}-{i}", "boiler": boiler, "passage": passages}) + "\n")
    return corpus, truth


def plant(
    art: str, pool: list[str], rng: random.Random, a: argparse.Namespace, used: set[int]
) -> tuple[str, list[list[int]], list[list[int]]]:
    """The article with planted lines/passage, and the planted character ranges (passages: non-first)."""
    outlet = rng.choice(OUTLETS)
    year = str(rng.randrange(2015, 2024))
    paras = [p for p in art.split("\n") if p.strip()]
    passage = None
    if rng.random() < a.passages:
        pi = rng.randrange(len(pool))
        passage = (pi, pool[pi])
        j = rng.randrange(len(paras) + 1)
        if rng.random() < 0.5 or not paras:
            paras.insert(j, "\0P\0")
        else:
            j = min(j, len(paras) - 1)
            sents = SENT_END.split(paras[j])
            cut = rng.randrange(1, len(sents) + 1)
            paras[j] = " ".join(sents[:cut] + ["\0P\0"] + sents[cut:])
    head, foot = [], []
    if rng.random() < a.boiler:
        head = [rng.choice(HEADERS).format(o=outlet)]
        foot = [f.format(o=outlet, y=year) for f in rng.sample(FOOTERS, rng.randint(1, 3))]
    lines = head + paras + foot
    text, boiler, passages = "", [], []
    for n, line in enumerate(lines):
        is_boiler = n < len(head) or n >= len(lines) - len(foot)
        if "\0P\0" in line:
            assert passage is not None
            before, after = line.split("\0P\0")
            start = len(text) + len(before)
            line = before + passage[1] + after
            if passage[0] in used:
                passages.append([start, start + len(passage[1])])
            used.add(passage[0])
        if is_boiler:
            boiler.append([len(text), len(text) + len(line)])
        text += line + ("\n" if n < len(lines) - 1 else "")
    return text, boiler, passages


# ------------------------------------------------------------------ scoring
def diff_removed(before: str, after: str) -> list[list[int]]:
    """Character ranges of `before` missing from `after`, by a word-level diff (for tools without spans)."""
    if before == after:
        return []
    bw = [(m.start(), m.end()) for m in WORD.finditer(before)]
    aw = WORD.findall(after)
    sm = difflib.SequenceMatcher(None, [before[s:e] for s, e in bw], aw, autojunk=False)
    out = []
    for tag, i1, i2, _, _ in sm.get_opcodes():
        if tag in ("delete", "replace") and i2 > i1:
            out.append([bw[i1][0], bw[i2 - 1][1]])
    return out


def word_chars(text: str, spans: list[list[int]]) -> set[int]:
    """Non-space character positions covered by spans (whitespace is not scored)."""
    out: set[int] = set()
    for s, e in spans:
        out.update(i for i in range(s, min(e, len(text))) if not text[i].isspace())
    return out


def score(corpus: Path, truth: Path, removed: dict[str, list[list[int]]]) -> dict[str, Any]:
    tb = tp = tc = rb = rp = rc = r_all = 0
    with open(corpus, encoding="utf-8") as fc, open(truth, encoding="utf-8") as ft:
        for lc, lt in zip(fc, ft, strict=True):
            doc, tr = json.loads(lc), json.loads(lt)
            text = doc["text"]
            got = word_chars(text, removed.get(doc["id"], []))
            b, p = word_chars(text, tr["boiler"]), word_chars(text, tr["passage"])
            tb, tp, tc = tb + len(b), tp + len(p), tc + len(b | p)
            rb, rp, rc, r_all = (
                rb + len(got & b),
                rp + len(got & p),
                rc + len(got & (b | p)),
                r_all + len(got),
            )
    return {
        "removed_chars": r_all,
        "precision": rc / r_all if r_all else 1.0,
        "recall": rc / tc if tc else 1.0,
        "recall_boiler": rb / tb if tb else 1.0,
        "recall_passage": rp / tp if tp else 1.0,
    }


def spans_from_semel(out: Path, column: str) -> dict[str, list[list[int]]]:
    res = {}
    with open(out, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d.get(column):
                res[d["id"]] = [[s["start"], s["end"]] for s in d[column]]
    return res


def spans_from_diff(corpus: Path, out: Path) -> dict[str, list[list[int]]]:
    after = {}
    with open(out, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            after[str(d["id"])] = d["text"]
    res = {}
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            res[d["id"]] = diff_removed(d["text"], after.get(d["id"], ""))
    return res


# ------------------------------------------------------------------ peer workers (run in the peer venvs)
def worker_datatrove(corpus: Path, out: Path, work: Path) -> None:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.sentence_dedup import (
        SentDedupConfig,
        SentenceDedupFilter,
        SentenceDedupSignature,
        SentenceFindDedups,
    )
    from datatrove.utils.typeshelper import Languages

    with open(corpus, encoding="utf-8") as f:
        docs = [Document(text=d["text"], id=d["id"]) for d in map(json.loads, f)]
    cfg = SentDedupConfig(n_sentences=3, min_doc_words=0, min_num_sentences=0)
    sigs, dups = work / "dt-sigs", work / "dt-dups"
    SentenceDedupSignature(str(sigs), config=cfg, language=Languages.italian).run(iter(docs), 0, 1)
    SentenceFindDedups(str(sigs), str(dups), config=cfg).run(None, 0, 1)
    flt = SentenceDedupFilter(str(dups), config=cfg, language=Languages.italian)
    with open(out, "w", encoding="utf-8") as f:
        for d in flt.run(iter(docs), 0, 1):
            f.write(json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) + "\n")


def run_dolma(py: str, corpus: Path, work: Path) -> tuple[list[str], Path]:
    root = work / "dolma"
    (root / "documents").mkdir(parents=True, exist_ok=True)
    docs = root / "documents" / "corpus.jsonl.gz"
    if not docs.exists():
        with open(corpus, encoding="utf-8") as f, gzip.open(docs, "wt", encoding="utf-8") as g:
            for line in f:
                d = json.loads(line)
                g.write(json.dumps({"id": d["id"], "text": d["text"], "source": "bench"}) + "\n")
    cfg = {
        "documents": [str(docs)],
        "dedupe": {"name": "para", "paragraphs": {"attribute_name": "bff_para"}},
        "bloom_filter": {
            "file": str(root / "bloom.bin"),
            "read_only": False,
            "estimated_doc_count": 10**7,
            "desired_false_positive_rate": 1e-6,
        },
        "processes": 1,
    }
    (root / "config.json").write_text(json.dumps(cfg))
    if (root / "bloom.bin").exists():
        (root / "bloom.bin").unlink()
    dolma = str(Path(py).parent / "dolma")
    return [
        dolma,
        "-c",
        str(root / "config.json"),
        "dedupe",
    ], root / "attributes" / "para" / "corpus.jsonl.gz"


def spans_from_dolma(attrs: Path) -> dict[str, list[list[int]]]:
    res = {}
    with gzip.open(attrs, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            spans = d.get("attributes", {}).get("bff_para") or []
            if spans:
                res[d["id"]] = [[int(s), int(e)] for s, e, *_ in spans]
    return res


# ------------------------------------------------------------------ harness
def timed(cmd: list[str], log: Path) -> dict[str, Any]:
    t = time.perf_counter()
    with open(log, "w", encoding="utf-8") as err:
        r = subprocess.run(["/usr/bin/time", "-f", "@@ %e %M", *cmd], stdout=subprocess.DEVNULL, stderr=err)
    wall = time.perf_counter() - t
    peak_kb = 0
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("@@ "):
            peak_kb = int(line.split()[2])
    return {"rc": r.returncode, "seconds": round(wall, 2), "peak_rss_mb": round(peak_kb / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default=os.environ.get("SEMEL_BENCH_WORKDIR", "/tmp/semel-bench-spans"))
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--boiler", type=float, default=0.5)
    ap.add_argument("--passages", type=float, default=0.25)
    ap.add_argument("--min-docs", default="3,5,10,20", help="lines thresholds to sweep")
    ap.add_argument("--min-tokens", default="50", help="substrings k values to sweep")
    ap.add_argument("--only", default="", help="comma-separated subset of tools")
    ap.add_argument(
        "--peers-python", default=os.environ.get("SEMEL_PEERS_VENV", "/work/peers/venv") + "/bin/python"
    )
    ap.add_argument("--dolma-python", default="/work/peers/venv-dolma/bin/python")
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", default=None)
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if a.worker == "datatrove":
        worker_datatrove(Path(a.corpus), Path(a.out), work)
        return
    corpus, truth = build(a, work)
    size = corpus.stat().st_size
    ndocs = sum(1 for _ in open(corpus, encoding="utf-8"))
    print(f"# corpus {corpus}: {ndocs:,} documents, {size / 1e6:.1f} MB")
    only = set(filter(None, a.only.split(",")))
    def want(name: str) -> bool:
        return not only or name in only

    semel = [sys.executable, "-m", "semel.cli"]
    results: list[dict[str, Any]] = []

    def report(name: str, setting: str, t: dict[str, Any], sc: dict[str, Any] | None) -> None:
        row = {
            "tool": name,
            "setting": setting,
            **t,
            "mb_s": round(size / 1e6 / t["seconds"], 2),
            "bytes_per_byte": round(t["peak_rss_mb"] * 2**20 / size, 2),
            **(sc or {}),
        }
        results.append(row)
        s = (
            (
                f"P={sc['precision']:.3f} R={sc['recall']:.3f} (boiler {sc['recall_boiler']:.3f}, "
                f"passages {sc['recall_passage']:.3f})"
            )
            if sc
            else "(failed)"
        )
        print(
            f"{name:<22} {setting:<16} {t['seconds']:>7.1f}s {row['mb_s']:>7.2f} MB/s "
            f"{t['peak_rss_mb']:>8.0f} MB ({row['bytes_per_byte']:.1f} B/B)  {s}",
            flush=True,
        )

    if want("semel-lines"):
        for n in a.min_docs.split(","):
            out = work / f"lines-{n}.jsonl"
            t = timed(
                # truth is every occurrence of the boilerplate (CCNet), so remove every copy
                [*semel, "lines", str(corpus), "-o", str(out), "--min-docs", n, "--mode", "all",
                 "--no-progress"],
                work / "lines.log",
            )
            report(
                "semel lines",
                f"min-docs {n}",
                t,
                score(corpus, truth, spans_from_semel(out, "lines_removed_spans")) if t["rc"] == 0 else None,
            )
    if want("semel-substrings"):
        for k in a.min_tokens.split(","):
            for mode in ("first",):
                out = work / f"sub-{k}.jsonl"
                t = timed(
                    [
                        *semel,
                        "substrings",
                        str(corpus),
                        "-o",
                        str(out),
                        "--min-tokens",
                        k,
                        "--mode",
                        mode,
                        "--shard-mb",
                        "4096",
                        "--no-progress",
                    ],
                    work / "sub.log",
                )
                report(
                    "semel substrings",
                    f"k={k} {mode}",
                    t,
                    score(corpus, truth, spans_from_semel(out, "substrings_removed"))
                    if t["rc"] == 0
                    else None,
                )
    if want("semel-both"):
        mid = work / "both-lines.jsonl"
        out = work / "both.jsonl"
        t1 = timed([*semel, "lines", str(corpus), "-o", str(mid), "--mode", "all", "--no-progress"],
                   work / "both1.log")
        t2 = timed([*semel, "substrings", str(mid), "-o", str(out), "--no-progress"], work / "both2.log")
        t = {
            "rc": t1["rc"] or t2["rc"],
            "seconds": t1["seconds"] + t2["seconds"],
            "peak_rss_mb": max(t1["peak_rss_mb"], t2["peak_rss_mb"]),
        }
        report(
            "semel lines+substr",
            "defaults",
            t,
            score(corpus, truth, spans_from_diff(corpus, out)) if t["rc"] == 0 else None,
        )
    if want("datatrove") and Path(a.peers_python).exists():
        out = work / "datatrove.jsonl"
        for d in ("dt-sigs", "dt-dups"):
            subprocess.run(["rm", "-rf", str(work / d)])
        t = timed(
            [
                a.peers_python,
                __file__,
                "--worker",
                "datatrove",
                "--corpus",
                str(corpus),
                "--out",
                str(out),
                "--workdir",
                str(work),
            ],
            work / "datatrove.log",
        )
        report(
            "datatrove SentenceDedup",
            "3 sentences",
            t,
            score(corpus, truth, spans_from_diff(corpus, out)) if t["rc"] == 0 else None,
        )
    if want("dolma") and Path(a.dolma_python).parent.joinpath("dolma").exists():
        cmd, attrs = run_dolma(a.dolma_python, corpus, work)
        t = timed(cmd, work / "dolma.log")
        report(
            "dolma dedupe",
            "paragraphs bff",
            t,
            score(corpus, truth, spans_from_dolma(attrs)) if t["rc"] == 0 and attrs.exists() else None,
        )
    elif want("dolma"):
        print("# skip dolma: not installed in", a.dolma_python)
    if a.json:
        Path(a.json).write_text(
            json.dumps({"corpus_mb": size / 1e6, "documents": ndocs, "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
