"""Real-text benchmark (issue 9): what semel and its peers remove from text nobody planted copies in.

Reproduce (from the repository root; a few minutes on 2 cores)::

    .venv/bin/python bench/bench_real.py --json /tmp/semel-real/real.json --markdown /tmp/semel-real/real.md

What it does:

1. Builds four corpora from this machine's own files (``bench/real_corpora.py``; installs ``linux-doc-6.1``,
   ``fortunes``, ``man-db`` with ``apt-get`` when their files are missing): ``man`` (man pages, with 7 gcloud
   command groups in all release tracks), ``kdoc`` (Linux 6.1 Documentation), ``copyright``
   (``/usr/share/doc/*/copyright``) and ``fortunes``, cached as JSONL under ``--cache`` (``CACHE/corpora``).
2. Runs each tool on each corpus and times it (wall seconds, the whole command): ``semel dedup CORPUS -o OUT
   --no-progress`` at its defaults (plus ``--extra-args``; after one untimed warm-up run that fills numba's
   compile cache), and the peers through ``bench/peers_near.py`` in
   the peer venv (``bash bench/setup_peers.sh``) at their usual settings: rensa at threshold 0.8, datasketch
   at 0.7 (word 5-grams, 128 permutations). Peers report clusters; the first member in input order is kept
   (what semel's default ``--keep first`` does too).
3. Computes the truth: exact Jaccard of word-3-gram sets (J3). Tokens are maximal runs of Unicode letters and
   digits of the case-folded text (``re.findall(r"[^\\W_]+", text.casefold())``; punctuation, symbols,
   underscores and whitespace separate tokens -- what semel's tokenizer does, roughly: semel also keeps
   combining marks inside words and makes each CJK/Thai character a token). A document with fewer than 3
   tokens has one shingle, all its tokens. Shingles are exact (token ids packed into 63 bits, no hashing).
   Every removed document gets its exact J3 to the document kept in its place, and all pairs with J3 >= 0.5
   are found exactly by prefix filtering (shingles ordered rarest first; two sets with J >= t share one of
   their first ``|x| - ceil(t|x|) + 1`` shingles) plus exact verification, in NumPy. Truth is cached in
   ``CACHE/truth``.
4. Prints and writes (``--markdown``, ``--json``): per corpus and tool, documents removed, the share of them
   with J3 >= 0.5 to their kept document and the J3 bands (< 0.3, 0.3-0.5, 0.5-0.8, >= 0.8), the largest
   cluster, the recall of true pairs (pairs with J3 >= 0.8 / >= 0.5 that end up in one cluster) and the time;
   on the man pages also the gcloud figures: commands that lose every page (no track kept) and the
   same-command pair recall (pages of one command in different tracks that end up in one cluster, over all
   such pairs), and removed gcloud pages kept as another command.
5. Writes random removals for reading: ``--samples DIR`` (default ``CACHE/samples``), ``DIR/TOOL/CORPUS.md``:
   25 removals per corpus (seeded), removed and kept id, J3, semel's similarity, and the first lines of both.

Options: ``--corpora man,kdoc,copyright,fortunes``, ``--tools semel,rensa,datasketch``, ``--semel PATH``
(default: the project venv's ``semel``), ``--extra-args "--threshold 0.5"`` (passed to ``semel dedup``),
``--semel-rev REV`` (run semel as committed at a git revision, e.g. while the working tree holds unfinished
edits), ``--rebuild`` (corpora), ``--man-render roff|groff`` (see ``bench/real_corpora.py``),
``--peers-python PATH``.
Run times depend on what else runs on the machine: other work on the same cores inflates them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_corpora as rc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEMEL = ROOT / ".venv" / "bin" / "semel"
DEFAULT_PEERS_PY = Path(os.environ.get("SEMEL_PEERS_VENV", "/work/peers/venv")) / "bin" / "python"
TOOLS = ("semel", "rensa", "datasketch")
PEER_THRESHOLD = {"rensa": 0.8, "datasketch": 0.7}
BANDS = ((0.0, 0.3, "<0.3"), (0.3, 0.5, "0.3-0.5"), (0.5, 0.8, "0.5-0.8"), (0.8, 1.01, ">=0.8"))
TRUTH_T = 0.5
NGRAM = 3
N_SAMPLES = 25
SAMPLE_LINES = 15

_TOKEN = re.compile(r"[^\W_]+")
_B = np.uint64(1 << 21)  # token ids < 2**21: three of them pack into 63 bits


# ---------------------------------------------------------------- truth: exact word-3-gram Jaccard
@dataclass
class Sets:
    """Shingle sets of a corpus, CSR: document ``d`` holds ``ranks[indptr[d]:indptr[d+1]]``, sorted. A rank
    is the shingle's position in the global order rarest-first (document frequency, then shingle)."""

    indptr: np.ndarray
    ranks: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.indptr)

    def doc(self, d: int) -> np.ndarray:
        return self.ranks[self.indptr[d] : self.indptr[d + 1]]


def shingle_sets(texts: Sequence[str]) -> Sets:
    """Exact word-3-gram sets of ``texts`` (see the module doc for the tokenisation)."""
    vocab: dict[str, int] = {}
    parts: list[np.ndarray] = []
    for text in texts:
        toks = _TOKEN.findall(text.casefold())
        a = np.fromiter((vocab.setdefault(t, len(vocab) + 1) for t in toks), dtype=np.uint64, count=len(toks))
        if len(a) >= NGRAM:
            codes = (a[:-2] * _B + a[1:-1]) * _B + a[2:]
        elif len(a) == 2:
            codes = a[:1] * _B + a[1:]
        else:
            codes = a
        parts.append(np.unique(codes))
    if len(vocab) >= int(_B):
        raise RuntimeError(f"{len(vocab):,} distinct tokens: more than the 2**21 the packing allows")
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    indptr = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    allc = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    uniq, inv, df = np.unique(allc, return_inverse=True, return_counts=True)
    order = np.lexsort((uniq, df))
    rank = np.empty(len(uniq), dtype=np.int32)
    rank[order] = np.arange(len(uniq), dtype=np.int32)
    r = rank[inv.ravel()]
    doc = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
    r = r[np.lexsort((r, doc))]
    return Sets(indptr, r)


def _ragged(src: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``src[s:s+l]`` for every (s, l), without a Python loop."""
    total = int(lens.sum())
    if total == 0:
        return src[:0]
    offs = np.cumsum(lens) - lens
    return src[np.repeat(starts - offs, lens) + np.arange(total)]


def _overlaps(x: np.ndarray, sets: Sets, cand: np.ndarray) -> np.ndarray:
    """|x & set(c)| for every candidate c (x sorted)."""
    lens = sets.sizes[cand]
    allt = _ragged(sets.ranks, sets.indptr[cand], lens)
    pos = np.minimum(np.searchsorted(x, allt), len(x) - 1)
    hit = (x[pos] == allt).astype(np.int64)
    return np.add.reduceat(hit, np.cumsum(lens) - lens)


def jaccard(sets: Sets, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact Jaccard of the pairs (a[k], b[k])."""
    out = np.ones(len(a), dtype=np.float64)
    sizes = sets.sizes
    for k, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        if i == j:
            continue
        inter = len(np.intersect1d(sets.doc(i), sets.doc(j), assume_unique=True))
        out[k] = inter / (sizes[i] + sizes[j] - inter)
    return out


def all_pairs(sets: Sets, t: float = TRUTH_T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) with exact Jaccard >= t: prefix filtering, then exact verification."""
    sizes = sets.sizes
    n = len(sizes)
    plen = sizes - np.ceil(t * sizes - 1e-9).astype(np.int64) + 1
    doc = np.repeat(np.arange(n, dtype=np.int64), sizes)
    pos = np.arange(len(sets.ranks), dtype=np.int64) - sets.indptr[doc]
    mask = pos < plen[doc]
    pre_tok, pre_doc = sets.ranks[mask], doc[mask]
    o = np.argsort(pre_tok, kind="stable")
    p_docs = pre_doc[o]
    n_tok = int(sets.ranks.max()) + 1 if len(sets.ranks) else 0
    p_ptr = np.zeros(n_tok + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre_tok, minlength=n_tok), out=p_ptr[1:])
    ii: list[np.ndarray] = []
    jj: list[np.ndarray] = []
    js: list[np.ndarray] = []
    for i in range(n):
        s = int(sizes[i])
        toks = sets.ranks[sets.indptr[i] : sets.indptr[i] + plen[i]]
        starts = p_ptr[toks]
        cand = _ragged(p_docs, starts, p_ptr[toks + 1] - starts)
        cand = np.unique(cand[cand > i])
        if cand.size == 0:
            continue
        sc = sizes[cand]
        cand = cand[(sc >= t * s - 1e-9) & (sc * t <= s + 1e-9)]
        if cand.size == 0:
            continue
        inter = _overlaps(sets.doc(i), sets, cand)
        jac = inter / (s + sizes[cand] - inter)
        keep = jac >= t - 1e-12
        if keep.any():
            ii.append(np.full(int(keep.sum()), i, dtype=np.int64))
            jj.append(cand[keep])
            js.append(jac[keep])
    if not ii:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    return np.concatenate(ii), np.concatenate(jj), np.concatenate(js)


@dataclass
class Truth:
    sets: Sets
    pi: np.ndarray
    pj: np.ndarray
    pjac: np.ndarray
    seconds: float


def load_truth(corpus: Path, texts: Sequence[str], cache: Path) -> Truth:
    """Truth of a corpus, from ``CACHE/truth`` when the corpus file is unchanged."""
    st = corpus.stat()
    key = f"{st.st_size}-{int(st.st_mtime)}"
    path = cache / "truth" / f"{corpus.stem}.npz"
    if path.exists():
        z = np.load(path)
        if str(z["key"]) == key:
            return Truth(Sets(z["indptr"], z["ranks"]), z["pi"], z["pj"], z["pjac"], float(z["seconds"]))
    t0 = time.perf_counter()
    sets = shingle_sets(texts)
    pi, pj, pjac = all_pairs(sets)
    took = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, key=key, indptr=sets.indptr, ranks=sets.ranks, pi=pi, pj=pj, pjac=pjac, seconds=took)
    print(f"[bench-real] truth {corpus.stem}: {len(pi):,} pairs with J3 >= {TRUTH_T} in {took:.1f} s",
          flush=True)
    return Truth(sets, pi, pj, pjac, took)


# ---------------------------------------------------------------- tools
@dataclass
class Run:
    tool: str
    kept_of: np.ndarray  # index of the document kept in each document's place (itself when kept)
    seconds: float
    similarity: np.ndarray | None = None
    reason: list[str] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _read_clusters(path: Path, ids: list[str]) -> tuple[np.ndarray, Any]:
    t = pq.read_table(path)
    index = {d: k for k, d in enumerate(ids)}
    got = t.column("id").to_pylist()
    if len(got) != len(ids) or set(got) != set(ids):
        raise RuntimeError(f"{path}: {len(got)} rows for {len(ids)} documents")
    row_of = np.array([index[d] for d in got], dtype=np.int64)
    kept_of = np.empty(len(ids), dtype=np.int64)
    kept_of[row_of] = [index[c] for c in t.column("cluster").to_pylist()]
    return kept_of, (t, row_of)


def semel_snapshot(rev: str, cache: Path) -> tuple[list[str], str]:
    """A command running semel as committed at git revision ``rev`` (exported with ``git archive`` into
    ``CACHE/semel-src/SHA``, run with the project venv's Python), and the full commit hash. Useful while the
    working tree holds unfinished edits, or to compare two revisions on the same corpora."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    src = cache / "semel-src" / sha
    if not (src / "semel" / "cli.py").exists():
        src.mkdir(parents=True, exist_ok=True)
        git = ["git", "-C", str(ROOT), "archive", sha, "semel"]
        arch = subprocess.run(git, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(src)], input=arch.stdout, check=True)
    py = ROOT / ".venv" / "bin" / "python"
    code = f"import sys; sys.path.insert(0, {str(src)!r}); from semel.cli import main; sys.exit(main())"
    return [str(py), "-c", code], sha


def run_semel(semel: list[str], extra: list[str], corpus: Path, ids: list[str], work: Path) -> Run:
    out = work / "semel"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*semel, "dedup", str(corpus), "-o", str(out), "--no-progress", *extra]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    kept_of, (t, row_of) = _read_clusters(out / "clusters.parquet", ids)
    sim = np.ones(len(ids))
    sim[row_of] = np.asarray(t.column("similarity").to_pylist(), dtype=np.float64)
    reason = [""] * len(ids)
    for r, why in zip(row_of.tolist(), t.column("reason").to_pylist(), strict=True):
        reason[r] = why
    return Run("semel", kept_of, took, sim, reason, {"command": shlex.join(cmd)})


def warm_up(semel: list[str], corpus: Path, work: Path, n: int = 300) -> None:
    """One untimed semel run on the first ``n`` documents, so that numba's on-disk compile cache is filled
    and the timed runs measure deduplication, not JIT compilation (a one-off cost per install)."""
    work.mkdir(parents=True, exist_ok=True)
    small = work / "warmup.jsonl"
    with open(corpus, encoding="utf-8") as f, open(small, "w", encoding="utf-8") as g:
        for _, line in zip(range(n), f, strict=False):
            g.write(line)
    out = work / "warmup"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([*semel, "dedup", str(small), "-o", str(out), "--no-progress", "-q"], capture_output=True)
    shutil.rmtree(out, ignore_errors=True)


def run_peer(tool: str, python: Path, corpus: Path, ids: list[str], work: Path) -> Run:
    out = work / tool / "clusters.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(python), str(ROOT / "bench" / "peers_near.py"), "--tool", tool, "--corpus", str(corpus),
           "--out", str(out), "--threshold", str(PEER_THRESHOLD[tool]), "--workers", str(os.cpu_count() or 2)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    kept_of, _ = _read_clusters(out, ids)
    info = json.loads(p.stdout.strip().splitlines()[-1])
    return Run(tool, kept_of, took, settings={"command": shlex.join(cmd), "threshold": PEER_THRESHOLD[tool],
                                               "tool_wall_s": info.get("wall_s")})


# ---------------------------------------------------------------- figures
def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def gcloud_index(ids: list[str]) -> dict[str, list[int]]:
    """Command -> indices of its pages (gcloud pages of the man corpus only)."""
    by_cmd: dict[str, list[int]] = defaultdict(list)
    for k, d in enumerate(ids):
        g = rc.gcloud_page(d)
        if g is not None:
            by_cmd[g[0]].append(k)
    return by_cmd


def figures(run: Run, truth: Truth, ids: list[str], by_cmd: dict[str, list[int]] | None) -> dict[str, Any]:
    n = len(ids)
    kept_of = run.kept_of
    removed = np.flatnonzero(kept_of != np.arange(n))
    j3 = jaccard(truth.sets, removed, kept_of[removed])
    sizes = np.bincount(kept_of, minlength=n)
    f: dict[str, Any] = {
        "docs": n,
        "removed": len(removed),
        "removed_j3_ge_0.5": int((j3 >= 0.5).sum()),
        "share_j3_ge_0.5": _share(int((j3 >= 0.5).sum()), len(removed)),
        "bands": {name: int(((j3 >= lo) & (j3 < hi)).sum()) for lo, hi, name in BANDS},
        "largest_cluster": int(sizes.max()) if n else 0,
        "clusters_gt1": int((sizes > 1).sum()),
        "seconds": round(run.seconds, 2),
    }
    for t in (0.8, 0.5):
        m = truth.pjac >= t
        same = kept_of[truth.pi[m]] == kept_of[truth.pj[m]]
        f[f"pairs_j3_ge_{t}"] = int(m.sum())
        f[f"recall_j3_ge_{t}"] = _share(int(same.sum()), int(m.sum()))
    if run.similarity is not None:
        sim = run.similarity[removed]
        f["removed_similarity_lt_0.3"] = int((sim < 0.3).sum())
        f["reasons"] = dict(Counter(run.reason[k] for k in removed.tolist())) if run.reason else {}
    if by_cmd:
        lost = sum(1 for pages in by_cmd.values() if all(kept_of[p] != p for p in pages))
        pairs = [(a, b) for pages in by_cmd.values() for x, a in enumerate(pages) for b in pages[x + 1 :]]
        together = sum(1 for a, b in pairs if kept_of[a] == kept_of[b])
        cmd_of = {p: c for c, pages in by_cmd.items() for p in pages}
        g_removed = [p for p in removed.tolist() if p in cmd_of]
        other = sum(1 for p in g_removed if cmd_of.get(int(kept_of[p])) != cmd_of[p])
        # the natural truth: the same command in another release track is a copy even below J3 0.5
        # (a group page whose alpha track lists more subcommands)
        same_cmd = np.array([p in cmd_of and cmd_of.get(int(kept_of[p])) == cmd_of[p]
                             for p in removed.tolist()], dtype=bool)
        copies = int(((j3 >= 0.5) | same_cmd).sum())
        f["gcloud"] = {
            "pages": len(cmd_of),
            "commands": len(by_cmd),
            "commands_losing_every_page": lost,
            "same_command_pairs": len(pairs),
            "same_command_pair_recall": _share(together, len(pairs)),
            "removed_pages": len(g_removed),
            "removed_pages_kept_as_another_command": other,
            "removed_that_are_copies": copies,
            "share_removed_that_are_copies": _share(copies, len(removed)),
        }
    run_j3 = np.full(n, np.nan)
    run_j3[removed] = j3
    f["_j3"] = run_j3
    return f


def truth_figures(truth: Truth, ids: list[str], by_cmd: dict[str, list[int]] | None) -> dict[str, Any]:
    t: dict[str, Any] = {
        "pairs_j3_ge_0.5": len(truth.pi),
        "pairs_j3_ge_0.8": int((truth.pjac >= 0.8).sum()),
        "docs_in_a_j3_ge_0.8_pair": len(np.union1d(truth.pi[truth.pjac >= 0.8], truth.pj[truth.pjac >= 0.8])),
        "shingles": int(len(truth.sets.ranks)),
        "seconds": round(truth.seconds, 1),
    }
    if by_cmd:
        a = np.array([x for pages in by_cmd.values() for k, x in enumerate(pages) for _ in pages[k + 1 :]])
        b = np.array([y for pages in by_cmd.values() for k, _ in enumerate(pages) for y in pages[k + 1 :]])
        j = jaccard(truth.sets, a, b) if len(a) else np.zeros(0)
        cmd_of = {p: c for c, pages in by_cmd.items() for p in pages}
        m = truth.pjac >= 0.5
        cross = sum(
            1
            for i, k in zip(truth.pi[m].tolist(), truth.pj[m].tolist(), strict=True)
            if i in cmd_of and k in cmd_of and cmd_of[i] != cmd_of[k]
        )
        t["gcloud"] = {
            "same_command_pairs": len(a),
            "same_command_pairs_j3_ge_0.5": int((j >= 0.5).sum()),
            "same_command_pairs_j3_ge_0.8": int((j >= 0.8).sum()),
            "different_command_pairs_j3_ge_0.5": cross,
        }
    return t


# ---------------------------------------------------------------- samples
def _head(text: str, k: int = SAMPLE_LINES, width: int = 110) -> str:
    lines = [ln.rstrip()[:width] for ln in text.splitlines() if ln.strip()]
    more = len(lines) > k
    return "\n".join(lines[:k]) + ("\n[...]" if more else "")


def write_samples(path: Path, tool: str, corpus: str, ids: list[str], texts: list[str], run: Run,
                  j3: np.ndarray, seed: int = 9) -> None:
    n = len(ids)
    removed = np.flatnonzero(run.kept_of != np.arange(n)).tolist()
    rng = random.Random(f"{seed}:{tool}:{corpus}")
    pick = rng.sample(removed, min(N_SAMPLES, len(removed)))
    pick.sort(key=lambda k: (j3[k], k))
    out = [
        f"# {tool} on {corpus}: {len(pick)} random removals of {len(removed):,} (of {n:,} documents)",
        "",
        f"Seeded sample (seed {seed}), sorted by J3 (exact word-3-gram Jaccard to the kept document); "
        f"first {SAMPLE_LINES} non-blank lines of each text.",
        "",
    ]
    for x, k in enumerate(pick, 1):
        keep = int(run.kept_of[k])
        sim = f" · semel similarity {run.similarity[k]:.3f}" if run.similarity is not None else ""
        why = f" · reason {run.reason[k]}" if run.reason else ""
        out += [
            f"## {x}. J3 {j3[k]:.3f}{sim}{why}",
            "",
            f"- removed: `{ids[k]}`",
            f"- kept: `{ids[keep]}`",
            "",
            "removed:",
            "```text",
            _head(texts[k]).replace("```", "'''"),
            "```",
            "kept:",
            "```text",
            _head(texts[keep]).replace("```", "'''"),
            "```",
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


# ---------------------------------------------------------------- tables
def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _rec(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def markdown(res: dict[str, Any], tools: list[str]) -> str:
    corp = res["corpora"]
    lines = ["### Real text: removals by J3 to the kept document (issue 9 table)", ""]
    peers = [t for t in tools if t != "semel"]
    head = "| corpus | docs |"
    if "semel" in tools:
        head += " semel removed | of them J3 >= 0.5 to the kept doc | largest cluster |"
    if peers:
        head += " " + " / ".join(f"{p} {PEER_THRESHOLD[p]}" for p in peers) + " |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for name, c in corp.items():
        row = f"| {name} | {c['docs']:,} |"
        if "semel" in tools:
            s = c["tools"]["semel"]
            row += f" {s['removed']:,} | {_pct(s['share_j3_ge_0.5'])} | {s['largest_cluster']:,} |"
        if peers:
            row += " " + " / ".join(_pct(c["tools"][p]["share_j3_ge_0.5"]) for p in peers) + " |"
        lines.append(row)
    lines += [
        "",
        "### Per tool",
        "",
        "| corpus | tool | docs | removed | J3 >= 0.5 | J3 < 0.3 | 0.3-0.5 | 0.5-0.8 | >= 0.8 "
        "| largest cluster | recall J3>=0.8 pairs | recall J3>=0.5 pairs | time s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in corp.items():
        for tool in tools:
            f = c["tools"][tool]
            b = f["bands"]
            lines.append(
                f"| {name} | {tool} | {f['docs']:,} | {f['removed']:,} | {_pct(f['share_j3_ge_0.5'])} | "
                f"{b['<0.3']:,} | {b['0.3-0.5']:,} | {b['0.5-0.8']:,} | {b['>=0.8']:,} | "
                f"{f['largest_cluster']:,} | {_rec(f['recall_j3_ge_0.8'])} | {_rec(f['recall_j3_ge_0.5'])} | "
                f"{f['seconds']:.1f} |"
            )
    if "man" in corp and "gcloud" in corp["man"]["truth"]:
        g = corp["man"]["truth"]["gcloud"]
        first = corp["man"]["tools"][tools[0]]["gcloud"]
        lines += [
            "",
            f"### gcloud pages in the man corpus ({first['pages']:,} pages of {first['commands']:,} "
            f"commands; {g['same_command_pairs']:,} same-command pairs across tracks, "
            f"{g['same_command_pairs_j3_ge_0.5']:,} of them with J3 >= 0.5; "
            f"{g['different_command_pairs_j3_ge_0.5']:,} different-command pairs with J3 >= 0.5)",
            "",
            "| tool | commands losing every page | same-command pair recall | removed gcloud pages | "
            "kept as another command | man removals that are copies (J3 >= 0.5 or the same command) |",
            "|---|---|---|---|---|---|",
        ]
        for tool in tools:
            f = corp["man"]["tools"][tool]["gcloud"]
            lines.append(
                f"| {tool} | {f['commands_losing_every_page']:,} | {_rec(f['same_command_pair_recall'])} | "
                f"{f['removed_pages']:,} | {f['removed_pages_kept_as_another_command']:,} | "
                f"{_pct(f.get('share_removed_that_are_copies'))} |"
            )
    lines += ["", "### Truth (exact all-pairs J3)", "",
              "| corpus | docs | pairs J3 >= 0.5 | pairs J3 >= 0.8 | docs in a J3 >= 0.8 pair |",
              "|---|---|---|---|---|"]
    for name, c in corp.items():
        t = c["truth"]
        lines.append(f"| {name} | {c['docs']:,} | {t['pairs_j3_ge_0.5']:,} | {t['pairs_j3_ge_0.8']:,} | "
                     f"{t['docs_in_a_j3_ge_0.8_pair']:,} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main
def _git_head() -> str:
    cmd = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.stdout.strip()


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default=",".join(rc.CORPORA), help="comma-separated (default: all four)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated (default: all three)")
    ap.add_argument("--cache", type=Path, default=rc.DEFAULT_CACHE, help="corpora, truth, runs, samples")
    ap.add_argument("--semel", default=str(DEFAULT_SEMEL), help="semel executable (default: .venv's)")
    ap.add_argument("--semel-rev", default=None,
                    help="run semel as committed at this git revision (e.g. HEAD) instead of --semel")
    ap.add_argument("--extra-args", default="", help='passed to `semel dedup`, e.g. "--threshold 0.5"')
    ap.add_argument("--peers-python", type=Path, default=DEFAULT_PEERS_PY,
                    help="python of the peer venv (bash bench/setup_peers.sh)")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the corpora")
    ap.add_argument("--man-render", choices=["roff", "groff"], default="roff")
    ap.add_argument("--samples", type=Path, default=None, help="sample folder (default: CACHE/samples)")
    ap.add_argument("--json", type=Path, default=None, help="write every figure as JSON here")
    ap.add_argument("--markdown", type=Path, default=None, help="write the Markdown tables here")
    a = ap.parse_args(argv)

    corpora = [c.strip() for c in a.corpora.split(",") if c.strip()]
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    for c in corpora:
        if c not in rc.CORPORA:
            ap.error(f"unknown corpus {c!r}; choose from {', '.join(rc.CORPORA)}")
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    semel_cmd, semel_sha = [a.semel], ""
    if a.semel_rev:
        semel_cmd, semel_sha = semel_snapshot(a.semel_rev, a.cache)
    elif "semel" in tools and shutil.which(a.semel) is None:
        sys.exit(f"semel bench: no semel executable at {a.semel} (run `bash .ci/run` or pass --semel)")
    if any(t in PEER_THRESHOLD for t in tools) and not a.peers_python.exists():
        sys.exit(f"semel bench: no peer venv at {a.peers_python}: run `bash bench/setup_peers.sh` "
                 "(or pass --peers-python, or --tools semel)")
    extra = shlex.split(a.extra_args)
    samples = a.samples or a.cache / "samples"

    t_all = time.perf_counter()
    rc.ensure_packages(corpora, groff=a.man_render == "groff")
    res: dict[str, Any] = {
        "command": shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(list(argv)),
        "git": _git_head(),
        "semel": shlex.join(semel_cmd) if a.semel_rev else a.semel,
        "semel_rev": semel_sha or None,
        "extra_args": extra,
        "peer_thresholds": PEER_THRESHOLD,
        "cpus": os.cpu_count(),
        "corpora": {},
    }
    warmed = False
    for name in corpora:
        t0 = time.perf_counter()
        path = rc.build(name, a.cache, a.rebuild, a.man_render)
        ids, texts = rc.read_jsonl(path)
        truth = load_truth(path, texts, a.cache)
        by_cmd = gcloud_index(ids) if name == "man" else None
        c: dict[str, Any] = {
            "docs": len(ids),
            "chars": sum(map(len, texts)),
            "build": json.loads(path.with_suffix(".build.json").read_text()),
            "truth": truth_figures(truth, ids, by_cmd),
            "tools": {},
        }
        work = a.cache / "runs" / name
        if "semel" in tools and not warmed:
            warm_up(semel_cmd, path, a.cache / "runs")
            warmed = True
        for tool in tools:
            print(f"[bench-real] {name}: running {tool} ...", flush=True)
            if tool == "semel":
                run = run_semel(semel_cmd, extra, path, ids, work)
            else:
                run = run_peer(tool, a.peers_python, path, ids, work)
            f = figures(run, truth, ids, by_cmd)
            j3 = f.pop("_j3")
            f["settings"] = run.settings
            c["tools"][tool] = f
            write_samples(samples / tool / f"{name}.md", tool, name, ids, texts, run, j3)
            print(f"[bench-real] {name} {tool}: removed {f['removed']:,}, "
                  f"J3 >= 0.5 {_pct(f['share_j3_ge_0.5'])}, largest cluster {f['largest_cluster']:,}, "
                  f"{f['seconds']:.1f} s", flush=True)
        c["seconds"] = round(time.perf_counter() - t0, 1)
        res["corpora"][name] = c
    res["total_s"] = round(time.perf_counter() - t_all, 1)

    md = markdown(res, tools)
    which = f"semel at {semel_sha[:10]}" if semel_sha else f"semel {a.semel} (working tree at {res['git']})"
    md += f"\n{which} {shlex.join(extra)}; benchmark wall time {res['total_s']:.0f} s.\n"
    print()
    print(md)
    if a.markdown:
        a.markdown.parent.mkdir(parents=True, exist_ok=True)
        a.markdown.write_text(md, encoding="utf-8")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(f"samples: {samples}/<tool>/<corpus>.md", flush=True)


if __name__ == "__main__":
    main()
