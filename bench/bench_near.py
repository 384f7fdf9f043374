#!/usr/bin/env python3
"""Side-by-side near-duplicate benchmark: semel vs rensa, datasketch, datatrove and text-dedup.

Reproduce (any Python >= 3.11 with pyarrow; the harness itself uses only the stdlib + pyarrow)::

    bash bench/setup_peers.sh                       # once: /work/peers/venv (+ venv312 for text-dedup)
    /work/main/.venv/bin/python bench/bench_near.py --docs 20000 --seed 1 --repeat 3 --json near.json
    python bench/bench_near.py --docs 200000 --seed 3 --tools semel,rensa

What it does:

1. Builds the corpus + truth with ``/work/shared/bench/make_bench.py`` (``--make-bench``), cached in
   ``WORKDIR/corpus-d{docs}-s{seed}/`` by its arguments.
2. Runs every tool as its own subprocess, ``--repeat`` times: semel as ``semel dedup CORPUS -o OUTDIR``
   (clusters in ``OUTDIR/clusters.parquet``; skipped with a message when the command does not exist yet),
   the peers through ``bench/peers_near.py`` in the peer venv (text-dedup in the Python 3.12 venv, since
   0.4.1 does not parse on 3.11). Peers: threshold 0.7, word 5-grams, 128 permutations, 2 worker processes.
3. Measures the wall time of the whole subprocess (start to exit, corpus reading included) and the memory
   of the whole process tree. Memory, honestly: ``/usr/bin/time -v`` and ``getrusage`` report the largest
   single process (``ru_maxrss`` is a max, not a sum), which under-counts tools that fork workers. So the
   harness polls ``/proc`` every ``--poll`` seconds, finds every live descendant of the tool's process and
   sums their PSS (``/proc/PID/smaps_rollup``; proportional set size, so copy-on-write pages shared by
   forked workers are not double counted; RSS from ``statm`` where PSS is unreadable). ``peak_mb`` is the
   highest such sum seen (a sampled peak: spikes shorter than the interval can be missed). ``maxrss_mb``
   (largest single process, from ``os.wait4``) is reported next to it in the JSON.
4. Scores the clusters with ``/work/shared/bench/score.py`` and prints a table: median wall over repeats,
   peak MB, MB/s and docs/s (corpus bytes / docs over median wall), pairwise precision / recall / F1,
   recall per copy kind and speed-up = tool's time / semel's time (> 1: semel is faster).
   ``--json`` writes every raw run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = Path("/work/shared/bench")
KINDS = ["exact", "format", "frame", "light", "medium", "heavy"]
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# ------------------------------------------------------------------ process-tree memory
def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _mem_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except OSError:
        return 0


def tree_mem_kb(root: int) -> tuple[int, int]:
    """Sum of PSS (kB) over ``root`` and all its live descendants, and how many processes that was."""
    kids = _children_map()
    todo, seen = [root], []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(kids.get(pid, ()))
    return sum(_mem_kb(p) for p in seen), len(seen)


class TreeSampler(threading.Thread):
    """Polls a process tree's summed PSS until stopped; keeps the peak and the largest process count."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.max_procs = 0
        self.samples = 0
        self._stop_evt = threading.Event()

    def run(self) -> None:
        while not self._stop_evt.is_set():
            kb, n = tree_mem_kb(self.pid)
            self.peak_kb = max(self.peak_kb, kb)
            self.max_procs = max(self.max_procs, n)
            self.samples += 1
            self._stop_evt.wait(self.interval)

    def stop(self) -> None:
        self._stop_evt.set()
        self.join()


def run_measured(cmd: list[str], log: Path, poll: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; return wall seconds, sampled peak tree PSS, single-process max RSS, rc and stdout."""
    with open(log, "w", encoding="utf-8") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        sampler = TreeSampler(proc.pid, poll)
        sampler.start()
        out_chunks: list[str] = []
        reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read() if proc.stdout else ""))
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        sampler.stop()
        reader.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 3),
        "peak_mb": round(sampler.peak_kb / 1024, 1),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "max_procs": sampler.max_procs,
        "samples": sampler.samples,
        "stdout": "".join(out_chunks),
    }


# ------------------------------------------------------------------ helpers
def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_corpus(a: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    d = work / f"corpus-d{a.docs}-s{a.seed}"
    corpus, truth = d / "corpus.jsonl", d / "truth.jsonl"
    if not (corpus.exists() and truth.exists()):
        d.mkdir(parents=True, exist_ok=True)
        print(f"# generating corpus: {a.docs} docs, seed {a.seed} -> {d}", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(a.make_bench),
                "--base",
                str(a.base),
                "--out",
                str(corpus) + ".tmp",
                "--truth",
                str(truth),
                "--docs",
                str(a.docs),
                "--seed",
                str(a.seed),
            ],
            check=True,
        )
        os.replace(str(corpus) + ".tmp", corpus)
    return corpus, truth


def last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


def semel_has_dedup(semel: str) -> bool:
    if not Path(semel).exists() and shutil.which(semel) is None:
        return False
    r = subprocess.run([semel, "dedup", "--help"], capture_output=True, text=True)
    return r.returncode == 0


def tool_command(tool: str, a: argparse.Namespace, corpus: Path, out: Path) -> tuple[list[str], Path]:
    """The command line for one run of ``tool`` and where its clusters land."""
    if tool == "semel":
        return [a.semel, "dedup", str(corpus), "-o", str(out)], out / "clusters.parquet"
    if tool == "spark":  # semel's Spark engine (local master): same clusters, stage split from stats.json
        cmd = [a.semel, "dedup", str(corpus), "-o", str(out), "--engine", "spark", "--master", a.spark_master]
        return cmd, out / "clusters.parquet"
    py = a.peers312_python if tool == "textdedup" else a.peers_python
    pred = out / "clusters.parquet"
    cmd = [
        py,
        str(HERE / "peers_near.py"),
        "--tool",
        tool,
        "--corpus",
        str(corpus),
        "--out",
        str(pred),
        "--threshold",
        str(a.threshold),
        "--ngram",
        str(a.ngram),
        "--perms",
        str(a.perms),
        "--workers",
        str(a.workers),
        "--workdir",
        str(out),
    ]
    return cmd, pred


def fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


# ------------------------------------------------------------------ main
def main() -> None:
    peers_venv = Path(os.environ.get("SEMEL_PEERS_VENV", "/work/peers/venv"))
    venv312 = Path(os.environ.get("SEMEL_PEERS_VENV312", str(peers_venv.parent / "venv312")))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tools", default="semel,rensa,datasketch,datatrove,textdedup")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/semel-bench"))
    ap.add_argument("--make-bench", type=Path, default=SHARED / "make_bench.py")
    ap.add_argument("--base", type=Path, default=SHARED / "dice_public.jsonl.gz")
    ap.add_argument("--score", type=Path, default=SHARED / "score.py")
    ap.add_argument("--semel", default="/work/main/.venv/bin/semel")
    ap.add_argument("--spark-master", default="local[2]", help="master for tool 'spark' (default: local[2])")
    ap.add_argument("--peers-python", default=str(peers_venv / "bin/python"))
    ap.add_argument(
        "--peers312-python",
        default=str(venv312 / "bin/python"),
        help="python for text-dedup 0.4.1 (needs 3.12); falls back to --peers-python",
    )
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--perms", type=int, default=128)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--poll", type=float, default=0.1, help="memory sampling interval, seconds")
    ap.add_argument("--json", type=Path, default=None, help="write all raw results here")
    a = ap.parse_args()
    if not Path(a.peers312_python).exists():
        a.peers312_python = a.peers_python

    a.workdir.mkdir(parents=True, exist_ok=True)
    corpus, truth_path = make_corpus(a, a.workdir)
    size_mb = corpus.stat().st_size / 1e6
    scorer = load_module(a.score, "semel_bench_score")
    truth = scorer.load(str(truth_path))
    print(f"# corpus {corpus} ({a.docs} docs, {size_mb:.1f} MB); {os.cpu_count()} CPUs", flush=True)

    results: dict[str, Any] = {
        "docs": a.docs,
        "seed": a.seed,
        "corpus_mb": round(size_mb, 2),
        "repeat": a.repeat,
        "cpus": os.cpu_count(),
        "settings": {"threshold": a.threshold, "ngram": a.ngram, "perms": a.perms, "workers": a.workers},
        "tools": {},
    }
    for tool in [t.strip() for t in a.tools.split(",") if t.strip()]:
        if tool in ("semel", "spark") and not semel_has_dedup(a.semel):
            print(f"# skip semel: `{a.semel} dedup` is not available yet", flush=True)
            results["tools"][tool] = {"skipped": "semel dedup command not available"}
            continue
        if tool not in ("semel", "spark") and not Path(a.peers_python).exists():
            print(f"# skip {tool}: no peer python at {a.peers_python} (run bench/setup_peers.sh)", flush=True)
            results["tools"][tool] = {"skipped": "peer venv missing"}
            continue
        runs: list[dict[str, Any]] = []
        quality: dict[str, Any] | None = None
        for rep in range(a.repeat):
            out = a.workdir / "runs" / f"{tool}-d{a.docs}-s{a.seed}-r{rep}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            cmd, pred = tool_command(tool, a, corpus, out)
            r = run_measured(cmd, out.parent / f"{out.name}.log", a.poll)
            r["report"] = last_json_line(r.pop("stdout"))
            r["cmd"] = cmd
            runs.append(r)
            status = "ok" if r["rc"] == 0 and pred.exists() else f"FAILED rc={r['rc']} (log {out}.log)"
            print(
                f"# {tool} run {rep + 1}/{a.repeat}: {r['wall_s']:.2f} s, peak {r['peak_mb']:.0f} MB, "
                f"{status}",
                flush=True,
            )
            if status != "ok":
                break
            if quality is None:
                quality = scorer.score(truth, scorer.load(str(pred)))
            if tool == "spark" and (out / "stats.json").exists():  # seconds per stage (spark-start, ...)
                stages = json.loads((out / "stats.json").read_text())["stats"]["stages"]
                r["stages_s"] = {st["name"]: st["seconds"] for st in stages}
            shutil.rmtree(out, ignore_errors=True)
        ok = [r for r in runs if r["rc"] == 0]
        entry: dict[str, Any] = {"runs": runs, "score": quality}
        if ok and quality is not None:
            entry["wall_s"] = statistics.median(r["wall_s"] for r in ok)
            entry["peak_mb"] = max(r["peak_mb"] for r in ok)
            entry["maxrss_mb"] = max(r["maxrss_mb"] for r in ok)
        else:
            entry["failed"] = True
        results["tools"][tool] = entry

    semel_t = results["tools"].get("semel", {}).get("wall_s")
    head = (
        f"{'tool':<11}{'wall s':>8}{'peak MB':>9}{'MB/s':>7}{'docs/s':>8}{'P':>7}{'R':>7}{'F1':>7}"
        + "".join(f"{k[:6]:>7}" for k in KINDS)
        + f"{'speedup':>9}"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for tool, e in results["tools"].items():
        if "wall_s" not in e:
            print(f"{tool:<11}  {e.get('skipped') or 'FAILED'}")
            continue
        s, w = e["score"], e["wall_s"]
        e["mb_per_s"], e["docs_per_s"] = round(size_mb / w, 3), round(a.docs / w, 1)
        e["speedup_vs_semel"] = round(w / semel_t, 2) if semel_t else None
        kinds = "".join(f"{fmt(s['recall_by_kind'].get(k), '.2f'):>7}" for k in KINDS)
        print(
            f"{tool:<11}{w:>8.2f}{e['peak_mb']:>9.0f}{e['mb_per_s']:>7.2f}{e['docs_per_s']:>8.0f}"
            f"{s['precision']:>7.3f}{s['recall']:>7.3f}{s['f1']:>7.3f}{kinds}"
            f"{fmt(e['speedup_vs_semel'], '.2f'):>9}"
        )
    print(
        "speedup = tool wall / semel wall (> 1: semel faster); peak MB = sampled peak of summed PSS over the "
        "process tree"
    )
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
        print(f"# raw results -> {a.json}")


if __name__ == "__main__":
    main()
