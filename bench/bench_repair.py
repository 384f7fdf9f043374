#!/usr/bin/env python3
"""Throughput of semel's in-document repair vs datatrove's GopherRepetitionFilter (which only measures).

Reproduce (any Python >= 3.11; the harness uses only the stdlib)::

    bash bench/setup_peers.sh                                  # once: the peer venv with datatrove
    python bench/bench_repair.py --target-mb 50 --repeat 3 --json repair.json

Corpus: the 4,405 articles of ``/work/shared/bench/dice_public.jsonl.gz``. Each article is split into
paragraphs (on blank lines / newlines where it has them, else into groups of ``--sents`` sentences, since
DICE articles are often one paragraph). A share (``--windowed``, default 0.3) is written with the seed's
sliding-window layout (``tests/data/seed_windows_it.txt``): blocks ``p1``, ``p1+p2``, ``p2+p3``, ...,
``p(n-1)+pn``, ``pn``, blocks separated by a blank line, the two paragraphs inside a block by one newline.
The rest keep their paragraphs separated by blank lines. The set is replicated (new ids) up to
``--target-mb``. Cached in ``WORKDIR/repair-*``.

Timed (median of ``--repeat``):

* datatrove, in the peer venv: one process loads the JSONL into ``datatrove.data.Document`` objects and calls
  ``GopherRepetitionFilter(language=italian).filter(doc)`` on each: the filtering loop alone
  (``filter_s``), and the whole process end to end (interpreter start, imports, reading, filtering).
* semel CLI: ``semel repair CORPUS -o OUT.jsonl`` end to end (skipped while the command does not exist).
* semel in-process: ``semel.repair.repair(text)`` over all texts (skipped while it cannot be imported).

Printed: MB/s of each (corpus bytes of JSON text) and the ratios semel / datatrove, plus how many windowed
and clean documents each flags/changes (Gopher: filtered out; semel: text changed).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = Path("/work/shared/bench")
SENT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý\"«])")


# ------------------------------------------------------------------ corpus
def paragraphs(text: str, sents_per_para: int) -> list[str]:
    """Split an article into paragraphs; one-paragraph articles become groups of sentences."""
    paras = [p.strip() for p in re.split(r"\n+", text) if p.strip()]
    if len(paras) >= 3:
        return paras
    sents = [s.strip() for s in SENT.split(" ".join(paras)) if s.strip()]
    return [" ".join(sents[i : i + sents_per_para]) for i in range(0, len(sents), sents_per_para)]


def windowed(paras: list[str]) -> str:
    """The seed's sliding-window layout: p1, p1+p2, p2+p3, ..., pn."""
    if len(paras) < 2:
        return "\n\n".join(paras)
    blocks = [paras[0]] + [paras[i - 1] + "\n" + paras[i] for i in range(1, len(paras))] + [paras[-1]]
    return "\n\n".join(blocks)


def build_corpus(a: argparse.Namespace) -> tuple[Path, int, int]:
    """Write (or reuse) the corpus; returns its path, the number of docs and of windowed docs."""
    d = a.workdir / f"repair-w{a.windowed}-s{a.seed}-n{a.sents}-mb{a.target_mb}"
    corpus, meta = d / "corpus.jsonl", d / "meta.json"
    if corpus.exists() and meta.exists():
        m = json.loads(meta.read_text())
        return corpus, m["docs"], m["windowed"]
    d.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    with gzip.open(a.base, "rt", encoding="utf-8") as f:
        base = [json.loads(line) for line in f if line.strip()]
    docs: list[tuple[str, str]] = []
    n_win = 0
    for b in base:
        paras = paragraphs(b["text"], a.sents)
        if rng.random() < a.windowed and len(paras) >= 2:
            docs.append((f"{b['id']}-w", windowed(paras)))
            n_win += 1
        else:
            docs.append((f"{b['id']}-c", "\n\n".join(paras)))
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in docs]
    one = sum(len(x.encode("utf-8")) for x in lines)
    copies = max(1, round(a.target_mb * 1e6 / one))
    with open(corpus, "w", encoding="utf-8") as f:
        for c in range(copies):
            for i, t in docs:
                f.write(json.dumps({"id": f"{i}-{c}", "text": t}, ensure_ascii=False) + "\n")
    meta.write_text(json.dumps({"docs": len(docs) * copies, "windowed": n_win * copies, "copies": copies}))
    return corpus, len(docs) * copies, n_win * copies


def read_texts(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8") as f:
        return [(d["id"], d["text"]) for d in map(json.loads, f)]


# ------------------------------------------------------------------ in-process workers
def worker_datatrove(corpus: Path, repeat: int) -> dict[str, Any]:
    """Runs in the peer venv: Gopher repetition filter over all docs, filtering loop timed."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherRepetitionFilter
    from datatrove.utils.typeshelper import Languages

    t = time.perf_counter()
    docs = [Document(text=text, id=i) for i, text in read_texts(corpus)]
    load_s = time.perf_counter() - t
    flt = GopherRepetitionFilter(language=Languages.italian)
    times, flagged = [], {"windowed": 0, "clean": 0}
    for rep in range(repeat):
        t = time.perf_counter()
        verdicts = [flt.filter(doc) for doc in docs]
        times.append(time.perf_counter() - t)
        if rep == 0:
            for doc, v in zip(docs, verdicts, strict=True):
                if not (v if isinstance(v, bool) else v[0]):
                    flagged["windowed" if "-w-" in str(doc.id) else "clean"] += 1
    return {"load_s": load_s, "filter_s": times, "flagged": flagged}


def worker_semel(corpus: Path, repeat: int) -> dict[str, Any]:
    """Runs in semel's venv: ``semel.repair.repair`` over all texts."""
    from semel.repair import repair

    items = read_texts(corpus)
    times, changed = [], {"windowed": 0, "clean": 0}
    for rep in range(repeat):
        t = time.perf_counter()
        results = [repair(text) for _, text in items]
        times.append(time.perf_counter() - t)
        if rep == 0:
            for (i, _), r in zip(items, results, strict=True):
                if r.changed:
                    changed["windowed" if "-w-" in i else "clean"] += 1
    return {"repair_s": times, "changed": changed}


# ------------------------------------------------------------------ harness
def timed(cmd: list[str], log: Path) -> tuple[float, int, str]:
    with open(log, "w", encoding="utf-8") as err:
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        return time.perf_counter() - t, r.returncode, r.stdout


def last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def main() -> None:
    peers_venv = Path(os.environ.get("SEMEL_PEERS_VENV", "/work/peers/venv"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, default=SHARED / "dice_public.jsonl.gz")
    ap.add_argument("--windowed", type=float, default=0.3, help="share of articles given the window layout")
    ap.add_argument("--sents", type=int, default=2, help="sentences per paragraph for one-paragraph articles")
    ap.add_argument("--target-mb", type=float, default=50.0, help="replicate the set up to about this size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/semel-bench"))
    ap.add_argument("--semel", default="/work/main/.venv/bin/semel")
    ap.add_argument("--semel-python", default="/work/main/.venv/bin/python")
    ap.add_argument("--peers-python", default=str(peers_venv / "bin/python"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", choices=["datatrove", "semel"], help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.worker:
        fn = worker_datatrove if a.worker == "datatrove" else worker_semel
        print(json.dumps(fn(a.corpus, a.repeat)), flush=True)
        return

    a.workdir.mkdir(parents=True, exist_ok=True)
    corpus, n_docs, n_win = build_corpus(a)
    mb = corpus.stat().st_size / 1e6
    print(f"# corpus {corpus}: {n_docs} docs ({n_win} windowed), {mb:.1f} MB", flush=True)
    res: dict[str, Any] = {"corpus": str(corpus), "docs": n_docs, "windowed": n_win, "mb": round(mb, 2)}
    logs = a.workdir / "repair-logs"
    logs.mkdir(exist_ok=True)
    me = str(Path(__file__).resolve())

    # datatrove: one process does `repeat` filtering loops; end to end = separate fresh processes
    if Path(a.peers_python).exists():
        cmd = [a.peers_python, me, "--worker", "datatrove", "--corpus", str(corpus)]
        walls, rep = [], None
        for k in range(a.repeat):
            w, rc, out = timed([*cmd, "--repeat", "1" if k else str(a.repeat)], logs / "datatrove.log")
            if rc != 0:
                print(f"# datatrove FAILED rc={rc}, see {logs / 'datatrove.log'}")
                break
            walls.append(w)
            rep = rep or last_json(out)
        if rep and walls:
            res["datatrove"] = {
                "filter_s": statistics.median(rep["filter_s"]),
                "e2e_s": statistics.median(walls),
                "load_s": rep["load_s"],
                "flagged": rep["flagged"],
                "raw": rep,
                "walls": walls,
            }
    else:
        print(f"# skip datatrove: no peer python at {a.peers_python}")

    # semel CLI
    has_cli = (
        Path(a.semel).exists()
        and subprocess.run([a.semel, "repair", "--help"], capture_output=True).returncode == 0
    )
    if has_cli:
        walls = []
        for _ in range(a.repeat):
            out_path = a.workdir / "repair-out.jsonl"
            w, rc, _o = timed([a.semel, "repair", str(corpus), "-o", str(out_path)], logs / "semel-cli.log")
            if rc != 0:
                print(f"# semel repair FAILED rc={rc}, see {logs / 'semel-cli.log'}")
                break
            walls.append(w)
        if walls:
            res["semel_cli"] = {"e2e_s": statistics.median(walls), "walls": walls}
    else:
        print("# skip semel CLI: `semel repair` is not available yet")

    # semel in-process
    probe = subprocess.run([a.semel_python, "-c", "from semel.repair import repair"], capture_output=True)
    if probe.returncode == 0:
        w, rc, out = timed(
            [a.semel_python, me, "--worker", "semel", "--corpus", str(corpus), "--repeat", str(a.repeat)],
            logs / "semel-inproc.log",
        )
        rep = last_json(out) if rc == 0 else None
        if rep:
            res["semel_inproc"] = {
                "repair_s": statistics.median(rep["repair_s"]),
                "changed": rep["changed"],
                "raw": rep,
            }
        else:
            print(f"# semel in-process FAILED rc={rc}, see {logs / 'semel-inproc.log'}")
    else:
        print("# skip semel in-process: semel.repair.repair cannot be imported")

    def mbs(s: float | None) -> str:
        return f"{mb / s:8.2f}" if s else "       -"

    dt, cli, inp = res.get("datatrove", {}), res.get("semel_cli", {}), res.get("semel_inproc", {})
    print(f"\n{'what':<40}{'seconds':>9}{'MB/s':>9}")
    rows = [
        ("datatrove Gopher filter loop (in-proc)", dt.get("filter_s")),
        ("datatrove end to end (process)", dt.get("e2e_s")),
        ("semel.repair in-process loop", inp.get("repair_s")),
        ("semel repair CLI end to end", cli.get("e2e_s")),
    ]
    for name, s in rows:
        print(f"{name:<40}{(f'{s:9.2f}' if s else '        -')}{mbs(s)}")
    if dt and inp:
        res["ratio_inproc"] = round(dt["filter_s"] / inp["repair_s"], 2)
        print(f"in-process: semel is {res['ratio_inproc']}x datatrove's speed (datatrove s / semel s)")
    if dt and cli:
        res["ratio_e2e"] = round(dt["e2e_s"] / cli["e2e_s"], 2)
        print(f"end to end: semel is {res['ratio_e2e']}x datatrove's speed (datatrove s / semel s)")
    if dt:
        print(
            f"Gopher flags (drops) windowed {dt['flagged']['windowed']}/{n_win}, "
            f"clean {dt['flagged']['clean']}/{n_docs - n_win}"
        )
    if inp:
        print(
            f"semel changes windowed {inp['changed']['windowed']}/{n_win}, "
            f"clean {inp['changed']['clean']}/{n_docs - n_win}"
        )
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
        print(f"# raw results -> {a.json}")
    sys.exit(0)


if __name__ == "__main__":
    main()
