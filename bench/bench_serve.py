"""Load test of `semel serve` on loopback, side by side with datasketch's in-memory MinHashLSH.

Not run in CI. Reproduce (1M documents; the dedup run takes a few minutes and ~3 GB):

    .venv/bin/semel dedup /tmp/c1m.jsonl -o /tmp/c1m/out --keep-work --no-kept
    .venv/bin/python bench/bench_serve.py --corpus /tmp/c1m.jsonl --run /tmp/c1m/out

It builds the index (RUN/index, unless there), starts `semel serve` in a subprocess, sends QUERIES checks
from CLIENTS threads over keep-alive connections (a third indexed documents, a third edited copies of
them, a third new articles from the DICE holdout) and reports client-side p50/p99 latency, throughput, and
the server's resident memory (RSS = anonymous + file-backed pages of the memory-mapped index). The
same queries then go through `semel.index.query.Index.check` in-process, and through datasketch
MinHashLSH (peer venv, bench/setup_peers.sh) built over the first --ds-docs documents of the corpus
(word 3-gram shingles, threshold 0.3, 128 permutations; query = MinHash + LSH lookup, no verification).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HOLDOUT = "/work/shared/bench/dice_holdout.jsonl.gz"
PEER_PY = "/work/peers/venv/bin/python"


def sample_lines(path: str, k: int, seed: int) -> list[dict]:
    """k records read at random byte offsets of a JSONL file (the line after each offset)."""
    rng = random.Random(seed)
    size = os.path.getsize(path)
    out: list[dict] = []
    with open(path, "rb") as f:
        while len(out) < k:
            f.seek(rng.randrange(size))
            f.readline()
            line = f.readline()
            if line.strip():
                out.append(json.loads(line))
    return out


def edited(text: str, rate: float, rng: random.Random) -> str:
    words = text.split(" ")
    return " ".join(w if rng.random() > rate else rng.choice(words) for w in words if rng.random() > rate / 2)


def queries(corpus: str, n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    third = n // 3
    docs = sample_lines(corpus, 2 * third, seed)
    out = [("indexed", d["text"]) for d in docs[:third]]
    out += [("edited", edited(d["text"], 0.1, rng)) for d in docs[third:]]
    with gzip.open(HOLDOUT, "rt", encoding="utf-8") as f:
        holdout = [json.loads(line)["text"] for line in f]
    out += [("new", t) for t in rng.sample(holdout, n - len(out))]
    rng.shuffle(out)
    return out


def rss(pid: int) -> dict[str, float]:
    """Resident memory in MB: total, anonymous, file-backed (the mapped index)."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_threads(worker: Callable[[list], None], qs: list, clients: int) -> float:
    """Run `worker` on `clients` threads, each on its share of `qs`; return the wall time."""
    threads = [threading.Thread(target=worker, args=(qs[i::clients],)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def load(url: str, qs: list[tuple[str, str]], clients: int) -> dict:
    from semel.client import Client

    latencies: list[float] = []
    duplicates: dict[str, int] = {}
    lock = threading.Lock()

    def worker(part: list[tuple[str, str]]) -> None:
        c = Client(url)
        mine = []
        dup: dict[str, int] = {}
        for kind, text in part:
            t = time.perf_counter()
            r = c.check(text)
            mine.append(time.perf_counter() - t)
            dup[kind] = dup.get(kind, 0) + bool(r["duplicate"])
        with lock:
            latencies.extend(mine)
            for k, v in dup.items():
                duplicates[k] = duplicates.get(k, 0) + v

    wall = in_threads(worker, qs, clients)
    return {"requests": len(latencies), "clients": clients,
            "p50_ms": round(1000 * percentile(latencies, 0.5), 2),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 2),
            "checks_per_s": round(len(latencies) / wall), "duplicates": duplicates}


def load_batched(url: str, qs: list[tuple[str, str]], clients: int, size: int) -> dict:
    """Checks sent `size` at a time (POST /check {"texts": [...]}): throughput and per-batch latency."""
    from semel.client import Client

    latencies: list[float] = []

    def worker(part: list[tuple[str, str]]) -> None:
        c = Client(url)
        for i in range(0, len(part), size):
            t = time.perf_counter()
            c.check_many([text for _, text in part[i:i + size]])
            latencies.append(time.perf_counter() - t)

    wall = in_threads(worker, qs, clients)
    return {"checks": len(qs), "batch": size, "clients": clients, "checks_per_s": round(len(qs) / wall),
            "batch_p50_ms": round(1000 * percentile(latencies, 0.5), 1),
            "batch_p99_ms": round(1000 * percentile(latencies, 0.99), 1)}


DS_SCRIPT = r'''
import json, re, sys, time, resource
from datasketch import MinHash, MinHashLSH
NON = re.compile(r"\W+")
def sh(t):
    toks = [x for x in NON.split(t.lower()) if x]
    return {" ".join(toks[i:i+3]) for i in range(max(1, len(toks) - 2))}
def mh(t):
    m = MinHash(num_perm=128, seed=1); m.update_batch([s.encode() for s in sh(t)]); return m
corpus, n, qpath = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lsh = MinHashLSH(threshold=0.3, num_perm=128)
t = time.perf_counter()
with open(corpus) as f, lsh.insertion_session() as s:
    for i, line in enumerate(f):
        if i >= n: break
        s.insert(i, mh(json.loads(line)["text"]), check_duplication=False)
build = time.perf_counter() - t
qs = json.load(open(qpath))
lat = []
for q in qs:
    t = time.perf_counter(); lsh.query(mh(q)); lat.append(time.perf_counter() - t)
lat.sort()
rss = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
print(json.dumps({"docs": n, "build_s": round(build, 1), "p50_ms": round(1000 * lat[len(lat) // 2], 2),
                  "p99_ms": round(1000 * lat[int(0.99 * len(lat))], 2), "rss_mb": round(rss),
                  "bands_rows": [lsh.b, lsh.r]}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/c1m.jsonl")
    ap.add_argument("--run", default="/tmp/c1m/out",
                    help="a dedup run's output folder (run with --keep-work)")
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--ds-docs", type=int, default=200_000, help="documents datasketch indexes (0: skip)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    index = os.path.join(a.run, "index")
    semel = [sys.executable, "-m", "semel.cli"]
    if not os.path.exists(os.path.join(index, "manifest.json")):
        t = time.perf_counter()
        subprocess.run([*semel, "index", "build", a.run], check=True)
        print(f"index build: {time.perf_counter() - t:.1f} s")
    manifest = json.load(open(os.path.join(index, "manifest.json")))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(index) for f in fs)
    docs = manifest["documents"]
    print(f"index: {docs:,} documents, {size / 1e9:.2f} GB on disk, {size / max(docs, 1):.0f} bytes/document")
    qs = queries(a.corpus, a.queries, a.seed)

    proc = subprocess.Popen([*semel, "serve", index, "--port", "0"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    port = re.search(r":(\d+)$", line.strip())
    assert port, line
    url = f"http://127.0.0.1:{port.group(1)}"
    try:
        print("server started:", rss(proc.pid))
        warm = load(url, qs[:300], a.clients)
        print("warm-up:", warm)
        result = load(url, qs, a.clients)
        print("load:", json.dumps(result))
        result1 = load(url, qs[:1000], 1)
        print("one client:", json.dumps(result1))
        print("batches of 50, 2 clients:", json.dumps(load_batched(url, qs, 2, 50)))
        print("server memory after load:", rss(proc.pid))
    finally:
        proc.kill()
        proc.wait()

    from semel.index.query import Index

    ix = Index(index)
    lat = []
    for _, text in qs:
        t = time.perf_counter()
        ix.check(text)
        lat.append(time.perf_counter() - t)
    print(f"in-process Index.check: p50 {1000 * percentile(lat, 0.5):.2f} ms, "
          f"p99 {1000 * percentile(lat, 0.99):.2f} ms")

    if a.ds_docs and os.path.exists(PEER_PY):
        qpath = "/tmp/bench_serve_queries.json"
        json.dump([t for _, t in qs[:1000]], open(qpath, "w"))
        out = subprocess.run([PEER_PY, "-c", DS_SCRIPT, a.corpus, str(a.ds_docs), qpath], capture_output=True,
                             text=True)
        print("datasketch MinHashLSH:", out.stdout.strip() or out.stderr[-2000:])


if __name__ == "__main__":
    main()
