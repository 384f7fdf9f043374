#!/usr/bin/env python3
"""Start-up benchmark: how long the commands a new user types first take, from process start to exit.

Reproduce (from the repository root, after `pip install -e '.[dev,spark]'`)::

    .venv/bin/python bench/bench_start.py --repeat 5 --json start.json

Cases (each a fresh `semel` process, output to a temporary folder):

- ``help``        ``semel --help``
- ``repair``      ``semel repair examples/seed.txt`` (stdout discarded)
- ``dedup-first`` ``semel dedup examples/news.jsonl -o OUT`` with an empty numba kernel cache: a new
                  ``NUMBA_CACHE_DIR`` per run, so every kernel compiles, as on a fresh install
- ``dedup-warm``  the same with the cache the first run filled

``--sizes 6,32,64,128,256`` instead times dedup of the first DICE articles (``--base``) up to each size in
KB, with the kernels interpreted (``SEMEL_JIT=never``), compiled from a warm cache and compiled from an
empty cache (``SEMEL_JIT=always``): where interpreted stops being faster than a warm compiled run is where
``semel.jit.SMALL_WORK_BYTES`` belongs.

Prints per case the median wall time and the median CPU time (user + system of the process tree, from
``os.wait4``) over ``--repeat`` runs (``dedup-first`` runs ``--first-repeat`` times: each compiles
everything), and the load average before and after. On a shared machine wall time grows with the load;
CPU time much less, so both are shown. Targets (issue 12): help and repair <= 0.5 s, dedup-first <= 3 s,
dedup-warm <= 1.5 s.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = {"help": 0.5, "repair": 0.5, "dedup-first": 3.0, "dedup-warm": 1.5}


def semel_command() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "semel")
    return here if os.path.exists(here) else shutil.which("semel") or "semel"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the process and its children) of one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench_start: {' '.join(argv)} failed: {proc.stderr.read().decode()[-500:]}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per case (default 5)")
    ap.add_argument("--first-repeat", type=int, default=1, help="runs with an empty kernel cache (default 1)")
    ap.add_argument("--cases", default=",".join(TARGETS), help="comma-separated cases")
    ap.add_argument("--json", help="write every run here")
    ap.add_argument("--sizes", help="comma-separated input sizes in KB: time interpreted vs compiled kernels")
    ap.add_argument("--base", default="/work/shared/bench/dice_public.jsonl.gz", help="articles for --sizes")
    args = ap.parse_args()
    semel = semel_command()
    if args.sizes:
        by_size([int(x) for x in args.sizes.split(",")], args.base, args.repeat, semel)
        return
    cases = args.cases.split(",")
    work = tempfile.mkdtemp(prefix="semel-bench-start-")
    cache = os.path.join(work, "numba-cache")
    out = os.path.join(work, "out")
    base = dict(os.environ)
    argv = {
        "help": [semel, "--help"],
        "repair": [semel, "repair", "examples/seed.txt"],
        "dedup-first": [semel, "dedup", "examples/news.jsonl", "-o", out, "-q"],
        "dedup-warm": [semel, "dedup", "examples/news.jsonl", "-o", out, "-q"],
    }
    load_before = os.getloadavg()[0]
    runs: dict[str, list[tuple[float, float]]] = {}
    try:
        for case in cases:
            env = dict(base)
            times = []
            n = args.first_repeat if case == "dedup-first" else args.repeat
            if case == "dedup-warm" and not os.path.isdir(cache):  # fill the cache first
                timed(argv[case], dict(base, NUMBA_CACHE_DIR=cache))
            for i in range(n):
                if case == "dedup-warm" or case == "dedup-first" and i == 0:
                    env["NUMBA_CACHE_DIR"] = cache  # the first empty cache is then reused warm
                elif case == "dedup-first":
                    env["NUMBA_CACHE_DIR"] = os.path.join(work, f"empty{i}")
                times.append(timed(argv[case], env))
            runs[case] = times
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]
    print(f"load average {load_before:.1f} before, {load_after:.1f} after, {os.cpu_count()} cores")
    print(f"{'case':<12} {'runs':>4} {'wall s':>8} {'cpu s':>8} {'target':>7}")
    for case, times in runs.items():
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        print(f"{case:<12} {len(times):>4} {wall:>8.2f} {cpu:>8.2f} {TARGETS[case]:>7.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"load": [load_before, load_after], "runs": runs}, f, indent=2)


def by_size(sizes_kb: list[int], base: str, repeat: int, semel: str) -> None:
    """Dedup of growing inputs: interpreted, compiled warm, compiled from an empty cache (median wall s)."""
    import gzip

    with gzip.open(base, "rt", encoding="utf-8") as f:
        lines = [line for line, _ in zip(f, range(20000), strict=False)]
    work = tempfile.mkdtemp(prefix="semel-bench-sizes-")
    cache = os.path.join(work, "numba-cache")
    try:
        print(f"{'KB':>6} {'docs':>6} {'interpreted':>12} {'compiled':>9} {'cold compile':>13}")
        for kb in sizes_kb:
            path = os.path.join(work, f"in{kb}.jsonl")
            size = n = 0
            with open(path, "w", encoding="utf-8") as out:
                while size < kb * 1024 and n < len(lines):
                    out.write(lines[n])
                    size += len(lines[n].encode())
                    n += 1
            argv = [semel, "dedup", path, "-o", os.path.join(work, "out"), "-q"]
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            empty = os.path.join(work, f"empty{kb}")
            cold = timed(argv, dict(env, SEMEL_JIT="always", NUMBA_CACHE_DIR=empty))
            timed(argv, dict(env, SEMEL_JIT="always"))  # fills the warm cache
            warm = statistics.median(timed(argv, dict(env, SEMEL_JIT="always"))[0] for _ in range(repeat))
            interp = statistics.median(timed(argv, dict(env, SEMEL_JIT="never"))[0] for _ in range(repeat))
            print(f"{size / 1024:>6.0f} {n:>6} {interp:>12.2f} {warm:>9.2f} {cold[0]:>13.2f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
