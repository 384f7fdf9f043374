"""Repetition statistics of the Gopher quality rules (Rae et al. 2021, "Scaling Language Models", table A1).

`repetition_stats(text)` measures how repetitive one document is; `exceeds(stats)` names the rules whose
threshold it passes. `semel repair --drop-above` uses them to drop a document that is mostly repetition
instead of repairing it.

Definitions (choices where the paper is terse are noted):

- lines are the non-blank lines, stripped; paragraphs are runs of non-blank lines (split at blank lines).
  Units are compared exactly (after stripping), as in the paper.
- ``dup_line_frac`` / ``dup_para_frac``: share of units that repeat an earlier unit.
- ``dup_line_char_frac`` / ``dup_para_char_frac``: characters in those repeats over characters in all units.
- words are normalised as RedPajama-V2 does before its n-gram signals: ASCII punctuation removed (so
  "Frank," and "Frank" are one word, "don't" is "dont", a lone "-" is no word) and case folded, then split
  at whitespace; each Han / kana character is its own word (so Chinese and Japanese get n-grams too). A
  word's characters are its length after that; n-gram statistics divide by the characters of all words.
  (RedPajama-V2 also applies Unicode NFD, so its lengths count accents as extra characters; semel counts
  the characters as written.)
- ``top_{n}_gram_char_frac`` (n = 2, 3, 4): count × characters of the most frequent n-gram (the longest one
  among ties); 0 when no n-gram occurs twice; capped at 1.
- ``dup_{n}_gram_char_frac`` (n = 5 … 10): characters of the words covered by any n-gram that occurs more
  than once (every occurrence, first included, each word counted once), as in RedPajama-V2's
  ``rps_doc_frac_chars_dupe_{n}grams``.

N-grams are hashed to 64-bit integers (a random-looking 64-bit value per distinct word, polynomial rolling
combination) and counted in a hash table, so a document costs O(w) for w words. `repetition_stats_batch`
computes everything in one compiled pass over the UTF-8 buffer of an Arrow string array (no Python object
per word, line or document); `repetition_stats` runs the same code on one string. Lines and paragraphs
are compared exactly (hash, then bytes), words exactly after normalisation (hash, then code points), so
only n-grams rely on 64-bit hashes.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from semel.jit import kernel
from semel.text.tokens import FNV_OFFSET, FNV_PRIME, decode, fold_case, string_buffers

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


_ASCII_PUNCT = str.maketrans("", "", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def words(text: str) -> list[str]:
    """The words the n-gram statistics count, normalised (see the module docstring)."""
    out = (_fold(w.translate(_ASCII_PUNCT)) for w in _WORD.findall(text))
    return [w for w in out if w]


def _fold(word: str) -> str:
    """`semel.text.tokens.fold_case` on every character (what the compiled pass does)."""
    return "".join(chr(fold_case(ord(c))) for c in word)


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


_KEYS = tuple(GOPHER_THRESHOLDS)


def repetition_stats(text: str) -> dict[str, float]:
    """All Gopher repetition statistics of one document, keyed as in `GOPHER_THRESHOLDS`."""
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    offsets = np.array([0, data.shape[0]], dtype=np.int64)
    out = np.zeros((1, len(_KEYS)), dtype=np.float64)
    if data.shape[0]:
        _gopher_docs(offsets, data, out)
    return dict(zip(_KEYS, out[0].tolist(), strict=True))


def repetition_stats_batch(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The statistics of every document of a string array: float64[n, 13], columns in `GOPHER_THRESHOLDS`
    order (nulls count as empty documents)."""
    offsets, data = string_buffers(texts)
    out = np.zeros((len(offsets) - 1, len(_KEYS)), dtype=np.float64)
    if len(offsets) > 1 and data.shape[0]:
        _gopher_docs(offsets, data, out)
    return out


@kernel(inline=True)
def _is_space(cp: int) -> bool:
    """`str.isspace` (and the regex class \\s) on one code point."""
    if cp < 0x80:
        return cp == 0x20 or (0x09 <= cp <= 0x0D) or (0x1C <= cp <= 0x1F)
    if cp < 0x1680:
        return cp == 0x85 or cp == 0xA0
    return (cp == 0x1680 or (0x2000 <= cp <= 0x200A) or cp == 0x2028 or cp == 0x2029 or cp == 0x202F
            or cp == 0x205F or cp == 0x3000)


@kernel(inline=True)
def _is_cjk(cp: int) -> bool:
    """The characters that are words on their own (`_CJK`)."""
    return ((0x3040 <= cp <= 0x30FF) or (0x3400 <= cp <= 0x4DBF) or (0x4E00 <= cp <= 0x9FFF)
            or (0xF900 <= cp <= 0xFAFF) or (0xFF66 <= cp <= 0xFF9F))


@kernel(inline=True)
def _is_ascii_punct(cp: int) -> bool:
    """Python's `string.punctuation`, which RedPajama-V2 removes from words."""
    return (0x21 <= cp <= 0x2F) or (0x3A <= cp <= 0x40) or (0x5B <= cp <= 0x60) or (0x7B <= cp <= 0x7E)


@kernel(inline=True)
def _splitmix(x: np.uint64) -> np.uint64:
    z = x + _MUL
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel(inline=True)
def _hash_bytes(data: np.ndarray, s: int, e: int) -> np.uint64:
    h = FNV_OFFSET
    for i in range(s, e):
        h = (h ^ np.uint64(data[i])) * FNV_PRIME
    return h ^ np.uint64(e - s)


@kernel(inline=True)
def _same_bytes(data: np.ndarray, s1: int, e1: int, s2: int, e2: int) -> bool:
    if e1 - s1 != e2 - s2:
        return False
    for k in range(e1 - s1):
        if data[s1 + k] != data[s2 + k]:
            return False
    return True


@kernel
def _table_size(n: int) -> int:
    cap = 16
    while cap < 2 * n:
        cap *= 2
    return cap


@kernel
def _intern(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, n: int, ids: np.ndarray) -> int:
    """Exact interning of the strings ``data[starts[i]:ends[i]]`` (bytes or code points), i < n: ``ids[i]``
    is the ordinal of the string's first occurrence among the distinct strings (0, 1, 2, ... in order of
    first occurrence). Returns the number of distinct strings."""
    cap = _table_size(n)
    mask = cap - 1
    slot_first = np.full(cap, -1, dtype=np.int64)  # index of the first occurrence held by the slot
    slot_hash = np.zeros(cap, dtype=np.uint64)
    distinct = 0
    for i in range(n):
        s, e = starts[i], ends[i]
        h = _hash_bytes(data, s, e)
        j = np.int64(h & np.uint64(mask))
        while True:
            f = slot_first[j]
            if f < 0:
                slot_first[j] = i
                slot_hash[j] = h
                ids[i] = distinct
                distinct += 1
                break
            if slot_hash[j] == h and _same_bytes(data, starts[f], ends[f], s, e):
                ids[i] = ids[f]
                break
            j = (j + 1) & mask
    return distinct


@kernel
def _dup_units(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, chars: np.ndarray, n: int,
               ids: np.ndarray) -> tuple[float, float]:
    """(share of units that repeat an earlier one, share of their characters); units compared exactly."""
    if n == 0:
        return 0.0, 0.0
    _intern(data, starts, ends, n, ids)
    seen = np.zeros(n, dtype=np.uint8)
    dup_n = 0
    dup_chars = 0
    total = 0
    for i in range(n):
        total += chars[i]
        if seen[ids[i]]:
            dup_n += 1
            dup_chars += chars[i]
        else:
            seen[ids[i]] = 1
    return dup_n / n, (dup_chars / total if total else 0.0)


@kernel
def _ngram_fracs(ids: np.ndarray, lengths: np.ndarray, w: int, distinct: int, out: np.ndarray) -> None:
    """The top- and duplicate-n-gram fractions of words with exact ids `ids[:w]` into `out[4:13]`."""
    if w < 2 or distinct == w:
        return
    cum = np.zeros(w + 1, dtype=np.int64)
    for i in range(w):
        cum[i + 1] = cum[i] + lengths[i]
    total = cum[w]
    if total == 0:
        return
    r = np.empty(w, dtype=np.uint64)
    for i in range(w):
        r[i] = _splitmix(np.uint64(ids[i]))
    h = r.copy()
    cap = _table_size(w)
    mask = cap - 1
    keys = np.zeros(cap, dtype=np.uint64)
    counts = np.zeros(cap, dtype=np.int64)
    slot = np.empty(w, dtype=np.int64)
    diff = np.zeros(w + 1, dtype=np.int64)
    for n in range(2, 11):
        m = w - n + 1
        if m < 2:
            break
        counts[:] = 0
        top = 0
        for i in range(m):
            x = h[i] * _MUL + r[i + n - 1]
            h[i] = x
            j = np.int64((x ^ (x >> np.uint64(29))) & np.uint64(mask))
            while counts[j] != 0 and keys[j] != x:
                j = (j + 1) & mask
            keys[j] = x
            counts[j] += 1
            slot[i] = j
            if counts[j] > top:
                top = counts[j]
        if top < 2:
            break  # no n-gram repeats, so no longer one does either
        if n <= 4:
            longest = 0
            for i in range(m):
                if counts[slot[i]] == top:
                    c = cum[i + n] - cum[i]
                    if c > longest:
                        longest = c
            out[n + 2] = min(1.0, top * longest / total)
        else:
            diff[:] = 0
            for i in range(m):
                if counts[slot[i]] >= 2:
                    diff[i] += 1
                    diff[i + n] -= 1
            run = 0
            covered = 0
            for i in range(w):
                run += diff[i]
                if run > 0:
                    covered += lengths[i]
            out[n + 2] = covered / total


@kernel(inline=True)
def _close_word(w_start: np.ndarray, w_end: np.ndarray, w_len: np.ndarray, nw: int, ncp: int) -> int:
    """End the word begun at ``w_start[nw]`` (an index into the normalised code points); it counts only
    if normalisation left a character of it. Returns the number of words."""
    if ncp > w_start[nw]:
        w_end[nw] = ncp
        w_len[nw] = ncp - w_start[nw]
        return nw + 1
    return nw


@kernel
def _gopher_docs(offsets: np.ndarray, data: np.ndarray, out: np.ndarray) -> None:
    """`repetition_stats` of every document ``data[offsets[d]:offsets[d + 1]]`` (UTF-8) into ``out[d]``."""
    ndocs = offsets.shape[0] - 1
    longest = 0
    for d in range(ndocs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    cap = longest + 1
    w_start = np.empty(cap, dtype=np.int64)
    w_end = np.empty(cap, dtype=np.int64)
    w_len = np.empty(cap, dtype=np.int64)
    u_start = np.empty(cap, dtype=np.int64)
    u_end = np.empty(cap, dtype=np.int64)
    u_chars = np.empty(cap, dtype=np.int64)
    p_start = np.empty(cap, dtype=np.int64)
    p_end = np.empty(cap, dtype=np.int64)
    p_chars = np.empty(cap, dtype=np.int64)
    ids = np.empty(cap, dtype=np.int64)
    cps = np.empty(cap, dtype=np.int32)
    for d in range(ndocs):
        beg, end = offsets[d], offsets[d + 1]
        if beg == end:
            continue
        nw = 0
        ncp = 0  # normalised code points of the words so far, in `cps`
        nl = 0
        npar = 0
        in_word = False
        chars = 0  # code points so far
        # the current line: byte/char offsets of its first non-space character and after its last one
        l_bs = -1
        l_be = 0
        l_cs = 0
        l_ce = 0
        in_para = False
        par_cs = 0
        i = beg
        while i <= end:
            if i == end or data[i] == 0x0A:
                if in_word:
                    nw = _close_word(w_start, w_end, w_len, nw, ncp)
                    in_word = False
                if l_bs >= 0:
                    u_start[nl] = l_bs
                    u_end[nl] = l_be
                    u_chars[nl] = l_ce - l_cs
                    nl += 1
                    if not in_para:
                        p_start[npar] = l_bs
                        par_cs = l_cs
                        npar += 1
                        in_para = True
                    p_end[npar - 1] = l_be
                    p_chars[npar - 1] = l_ce - par_cs
                else:
                    in_para = False
                l_bs = -1
                if i == end:
                    break
                chars += 1
                i += 1
                continue
            cp, k = decode(data, i, end)
            if _is_space(cp):
                if in_word:
                    nw = _close_word(w_start, w_end, w_len, nw, ncp)
                    in_word = False
            else:
                if l_bs < 0:
                    l_bs = i
                    l_cs = chars
                l_be = i + k
                l_ce = chars + 1
                if _is_cjk(cp):
                    if in_word:
                        nw = _close_word(w_start, w_end, w_len, nw, ncp)
                        in_word = False
                    w_start[nw] = ncp
                    cps[ncp] = cp
                    ncp += 1
                    nw = _close_word(w_start, w_end, w_len, nw, ncp)
                else:
                    if not in_word:
                        w_start[nw] = ncp
                        in_word = True
                    if not _is_ascii_punct(cp):
                        cps[ncp] = fold_case(cp)
                        ncp += 1
            chars += 1
            i += k
        o = out[d]
        o[0], o[2] = _dup_units(data, u_start, u_end, u_chars, nl, ids)
        o[1], o[3] = _dup_units(data, p_start, p_end, p_chars, npar, ids)
        distinct = _intern(cps, w_start, w_end, nw, ids)
        _ngram_fracs(ids, w_len, nw, distinct, o)


def exceeds(stats: Mapping[str, float], thresholds: Mapping[str, float] | None = None) -> list[str]:
    """Names of the rules whose statistic is above its threshold, in `GOPHER_THRESHOLDS` order."""
    limits = GOPHER_THRESHOLDS if thresholds is None else thresholds
    return [k for k, v in limits.items() if k in stats and stats[k] > v]
