"""Repetition statistics of the Gopher quality rules (Rae et al. 2021, "Scaling Language Models", table A1).

`repetition_stats(text)` measures how repetitive one document is; `exceeds(stats)` names the rules whose
threshold it passes. `semel repair --drop-above` uses them to drop a document that is mostly repetition
instead of repairing it.

Definitions (choices where the paper is terse are noted):

- lines are the non-blank lines, stripped; paragraphs are runs of non-blank lines (split at blank lines).
  Units are compared exactly (after stripping), as in the paper.
- ``dup_line_frac`` / ``dup_para_frac``: share of units that repeat an earlier unit.
- ``dup_line_char_frac`` / ``dup_para_char_frac``: characters in those repeats over characters in all units.
- words are whitespace-separated tokens, except that each Han / kana character is its own word (so
  Chinese and Japanese get n-grams too). A word's characters are its length; n-gram statistics divide by
  the characters of all words.
- ``top_{n}_gram_char_frac`` (n = 2, 3, 4): count × characters of the most frequent n-gram (the longest one
  among ties); 0 when no n-gram occurs twice; capped at 1.
- ``dup_{n}_gram_char_frac`` (n = 5 … 10): characters of the words covered by any n-gram that occurs more
  than once (every occurrence, first included, each word counted once), as in RedPajama-V2's
  ``rps_doc_frac_chars_dupe_{n}grams``.

N-grams are hashed to 64-bit integers with NumPy (random 64-bit value per distinct word, polynomial
rolling combination) and counted with a sort, so a document costs O(w log w) for w words.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from semel.text.segment import segment

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")

TOP_N = (2, 3, 4)
DUP_N = (5, 6, 7, 8, 9, 10)

#: Gopher's thresholds: a document fails a rule when its statistic is strictly above the value.
GOPHER_THRESHOLDS: dict[str, float] = {
    "dup_line_frac": 0.30,
    "dup_para_frac": 0.30,
    "dup_line_char_frac": 0.20,
    "dup_para_char_frac": 0.20,
    "top_2_gram_char_frac": 0.20,
    "top_3_gram_char_frac": 0.18,
    "top_4_gram_char_frac": 0.16,
    "dup_5_gram_char_frac": 0.15,
    "dup_6_gram_char_frac": 0.14,
    "dup_7_gram_char_frac": 0.13,
    "dup_8_gram_char_frac": 0.12,
    "dup_9_gram_char_frac": 0.11,
    "dup_10_gram_char_frac": 0.10,
}

_MUL = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijective 64-bit mix: distinct word ids become well-spread random-looking values."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + _MUL
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def words(text: str) -> list[str]:
    """The words the n-gram statistics count (see the module docstring)."""
    return _WORD.findall(text)


def _dup_fracs(units: list[str]) -> tuple[float, float]:
    if not units:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_n = dup_chars = total = 0
    for u in units:
        total += len(u)
        if u in seen:
            dup_n += 1
            dup_chars += len(u)
        else:
            seen.add(u)
    return dup_n / len(units), (dup_chars / total if total else 0.0)


def ngram_stats(tokens: list[str]) -> dict[str, float]:
    """The top- and duplicate-n-gram character fractions of a word list."""
    out = {f"top_{n}_gram_char_frac": 0.0 for n in TOP_N} | {f"dup_{n}_gram_char_frac": 0.0 for n in DUP_N}
    w = len(tokens)
    if w < 2:
        return out
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int64, count=w)
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=w)
    total = int(lengths.sum())
    if len(vocab) == w or total == 0:
        return out  # no word repeats, so no n-gram repeats
    cum = np.concatenate(([0], np.cumsum(lengths)))
    r = _splitmix64(ids)
    h = r
    with np.errstate(over="ignore"):
        for n in range(2, max(DUP_N) + 1):
            m = w - n + 1
            if m < 2:
                break
            h = h[:m] * _MUL + r[n - 1:]
            _, inv, counts = np.unique(h, return_inverse=True, return_counts=True)
            if counts.max() < 2:
                break  # no n-gram repeats, so no longer one does either
            per_pos = counts[inv]
            if n in TOP_N:
                top = int(counts.max())
                if top >= 2:
                    chars = cum[n:n + m] - cum[:m]
                    longest = int(chars[per_pos == top].max())
                    out[f"top_{n}_gram_char_frac"] = min(1.0, top * longest / total)
            if n in DUP_N:
                starts = np.flatnonzero(per_pos >= 2)
                if starts.size:
                    diff = np.zeros(w + 1, dtype=np.int64)
                    diff[starts] += 1  # starts are distinct, so plain fancy indexing is exact
                    diff[starts + n] -= 1
                    covered = np.cumsum(diff[:w]) > 0
                    out[f"dup_{n}_gram_char_frac"] = float(lengths[covered].sum()) / total
    return out


def repetition_stats(text: str) -> dict[str, float]:
    """All Gopher repetition statistics of one document, keyed as in `GOPHER_THRESHOLDS`."""
    seg = segment(text, sentences=False)
    lines = [text[s:e] for s, e in seg.sentences]
    paras = [text[slice(*seg.paragraph_span(j))] for j in range(seg.n_paragraphs)]
    stats: dict[str, float] = {}
    stats["dup_line_frac"], stats["dup_line_char_frac"] = _dup_fracs(lines)
    stats["dup_para_frac"], stats["dup_para_char_frac"] = _dup_fracs(paras)
    stats.update(ngram_stats(words(text)))
    return {k: stats[k] for k in GOPHER_THRESHOLDS}


def exceeds(stats: Mapping[str, float], thresholds: Mapping[str, float] | None = None) -> list[str]:
    """Names of the rules whose statistic is above its threshold, in `GOPHER_THRESHOLDS` order."""
    limits = GOPHER_THRESHOLDS if thresholds is None else thresholds
    return [k for k, v in limits.items() if k in stats and stats[k] > v]
