"""Repeated-passage kernels: a token-level suffix array over a shard of documents (Lee et al. 2022).

Pipeline (all arrays, no per-token Python objects):

1. `token_spans`: every token of every document (as `semel.text.tokens` defines tokens: case folded,
   punctuation ignored, one token per character in spaceless scripts) with its 64-bit hash, its byte
   offsets, and whether a cut may start before / end after it without splitting a word.
2. `find_repeats`: tokens become dense symbols; tokens that occur once in the shard cannot be part of a
   repeat, so they become the same barrier symbol as document ends, and a match is capped at the next
   barrier (no match crosses a document). The suffix array is built by libdivsufsort (pydivsufsort) over
   the symbols written as fixed-width big-endian bytes (1-4 bytes a symbol), keeping the aligned suffixes;
   Kasai gives the LCP array. By default only repeats *across documents* count: for every suffix, one
   stack pass over the suffix array in each direction finds its longest common prefix with a suffix of
   an earlier document (``first``: the nearest suffix-array neighbour with a smaller document number, as
   in a previous-smaller-value pass) or of any other document (``all``); position p is removed with the
   next that-many tokens when they reach k. So every span of >= k tokens is kept in the first document
   that has it (``first``) or removed wherever another document has it too (``all``), and a passage said
   twice in one document is left to `semel repair`. With ``within=True`` repeats inside a document count
   too: ``first`` then uses the longest-previous-factor array (Crochemore-Ilie): position p is removed
   with the next LPF[p] tokens when they occurred earlier anywhere; ``all`` removes every occurrence (any
   suffix sharing >= k tokens with its neighbour in the suffix array).
3. `cut`: runs of removed tokens are snapped inwards to word boundaries, widened over the punctuation
   and whitespace that belong to them, and cut from the UTF-8 bytes; spans are reported in character
   offsets of the original text.
4. `remove_repeats`: steps 1-3 repeated on their own output until a pass removes nothing. One pass is
   not idempotent: text on both sides of a cut can join into a new repeat ("a b X a b" minus X). Each
   pass's spans are mapped back through the earlier cuts, so spans always index the original text.

Memory per token of a shard, at the peak (suffix array construction with w-byte symbols): the symbol
sequence (4), byte-level suffix array (4w), the encoded bytes (w), token offsets and flags (10) and the
token hashes (8): about 40 bytes with w=2 or 3 (8 bytes per input byte for Latin-script text, ~6 tokens a
word). The cross-document passes, after the suffix array, need the LCP array, a document number per
position, a stack and the result (16 bytes a token), less than the suffix array construction. Everything
scales linearly; `find_repeats` sees one shard, so repeats are found within a shard.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydivsufsort import divsufsort

from semel.errors import check_choice
from semel.jit import kernel
from semel.text.tokens import (
    FNV_OFFSET,
    FNV_PRIME,
    SOLO,
    WORD,
    char_class,
    cjk_full_stop,
    decode,
    fold_case,
    is_lower,
    mix64,
    string_buffers,
)

MODES = ("first", "all", "mark")


@kernel
def _tokens(offsets: np.ndarray, data: np.ndarray, out_hash: np.ndarray, out_start: np.ndarray,
            out_end: np.ndarray, out_clean: np.ndarray, tok_offsets: np.ndarray) -> int:
    """Tokens with byte offsets. out_clean[t] = 1 when a cut may start at token t: it is the first of its
    document, whitespace precedes it, or it or the previous token is a spaceless-script character."""
    n = 0
    for d in range(offsets.shape[0] - 1):
        tok_offsets[d] = n
        s = offsets[d]
        e = offsets[d + 1]
        i = s
        h = FNV_OFFSET
        in_word = False
        space = True  # whitespace (or the document start) seen since the last token ended
        prev_solo = False
        wstart = 0
        while i < e:
            b = data[i]
            if b < 0x80:
                cp = int(b)
                width = 1
            else:
                cp, width = decode(data, i, e)
            if 0x300 <= cp <= 0x36F and in_word:
                i += width
                continue
            cls = char_class(cp)
            if cls == WORD:
                if not in_word:
                    wstart = i
                    in_word = True
                    h = FNV_OFFSET
                c = fold_case(cp)
                if c == 0xDF or c == 0x1E9E:
                    h = (h ^ np.uint64(0x73)) * FNV_PRIME
                    c = 0x73
                h = (h ^ np.uint64(c)) * FNV_PRIME
                i += width
                continue
            if in_word:
                out_hash[n] = mix64(h)
                out_start[n] = wstart
                out_end[n] = i
                out_clean[n] = 1 if (space or prev_solo) else 0
                n += 1
                in_word = False
                space = False
                prev_solo = False
            if cls == SOLO:
                out_hash[n] = mix64((FNV_OFFSET ^ np.uint64(cp)) * FNV_PRIME)
                out_start[n] = i
                out_end[n] = i + width
                out_clean[n] = 1
                n += 1
                space = False
                prev_solo = True
            elif b == 0x20 or 0x09 <= b <= 0x0D or cp == 0xA0 or cp == 0x3000:
                space = True
            i += width
        if in_word:
            out_hash[n] = mix64(h)
            out_start[n] = wstart
            out_end[n] = e
            out_clean[n] = 1 if (space or prev_solo) else 0
            n += 1
    tok_offsets[offsets.shape[0] - 1] = n
    return n


class Tokens:
    """The tokens of a batch: `offsets[d]:offsets[d+1]` are document d's; byte offsets index the batch's
    UTF-8 buffer. `clean[t]`: a cut may start at token t (so one may end after token t-1)."""

    __slots__ = ("offsets", "hash", "start", "end", "clean")

    def __init__(self, offsets: np.ndarray, hash: np.ndarray, start: np.ndarray, end: np.ndarray,
                 clean: np.ndarray) -> None:
        self.offsets, self.hash, self.start, self.end, self.clean = offsets, hash, start, end, clean

    def __len__(self) -> int:
        return int(self.hash.shape[0])


def token_spans(texts: pa.Array | pa.ChunkedArray) -> Tokens:
    """Every token of every document with its hash, byte offsets and word-boundary flag."""
    offsets, data = string_buffers(texts)
    n = len(offsets) - 1
    cap = int(offsets[-1] - offsets[0]) + 1
    pos_type = np.int32 if int(offsets[-1]) < 2**31 else np.int64
    h = np.empty(cap, np.uint64)
    start = np.empty(cap, pos_type)
    end = np.empty(cap, pos_type)
    clean = np.empty(cap, np.uint8)
    tok_offsets = np.empty(n + 1, np.int64)
    used = _tokens(offsets, data, h, start, end, clean, tok_offsets)
    return Tokens(tok_offsets, h[:used].copy(), start[:used].copy(), end[:used].copy(), clean[:used].copy())


@kernel
def _sequence(sym: np.ndarray, tok_offsets: np.ndarray, seq: np.ndarray, nb_: np.ndarray) -> None:
    """Symbols with a barrier (0) after each document; nb_[p] = tokens from p to the next barrier."""
    ndocs = tok_offsets.shape[0] - 1
    for d in range(ndocs):
        a = tok_offsets[d]
        b = tok_offsets[d + 1]
        for t in range(a, b):
            seq[t + d] = sym[t]
        seq[b + d] = 0
    run = 0
    for p in range(seq.shape[0] - 1, -1, -1):
        if seq[p] == 0:
            run = 0
        else:
            run += 1
        nb_[p] = run


@kernel
def _encode(seq: np.ndarray, width: int, out: np.ndarray) -> None:
    for i in range(seq.shape[0]):
        v = seq[i]
        for j in range(width):
            out[i * width + j] = (v >> (8 * (width - 1 - j))) & 0xFF


@kernel
def _aligned(sa_bytes: np.ndarray, width: int, out: np.ndarray) -> int:
    n = 0
    for i in range(sa_bytes.shape[0]):
        v = sa_bytes[i]
        if v % width == 0:
            out[n] = v // width
            n += 1
    return n


def suffix_array(seq: np.ndarray, alphabet: int) -> np.ndarray:
    """The suffix array of an integer sequence with symbols in [0, alphabet), via libdivsufsort on its
    big-endian fixed-width byte encoding (byte suffixes at symbol boundaries sort like symbol suffixes)."""
    width = 1 if alphabet <= 1 << 8 else 2 if alphabet <= 1 << 16 else 3 if alphabet <= 1 << 24 else 4
    n = seq.shape[0]
    if width == 1:
        return np.asarray(divsufsort(seq.astype(np.uint8)))
    enc = np.empty(n * width, np.uint8)
    _encode(seq, width, enc)
    sa_bytes = np.asarray(divsufsort(enc))
    del enc
    out = np.empty(n, sa_bytes.dtype)
    used = _aligned(sa_bytes, width, out)
    assert used == n
    return out


@kernel
def lcp_kasai(seq: np.ndarray, sa: np.ndarray) -> np.ndarray:
    """lcp[i] = length of the common prefix of suffixes sa[i-1] and sa[i] (lcp[0] = 0), in O(n)."""
    n = seq.shape[0]
    rank = np.empty(n, sa.dtype)
    for i in range(n):
        rank[sa[i]] = i
    lcp = np.zeros(n, np.int32)
    h = 0
    for p in range(n):
        r = rank[p]
        if r > 0:
            q = sa[r - 1]
            while p + h < n and q + h < n and seq[p + h] == seq[q + h]:
                h += 1
            lcp[r] = h
            if h > 0:
                h -= 1
        else:
            h = 0
    return lcp


@kernel
def longest_previous_factor(sa: np.ndarray, lcp: np.ndarray) -> np.ndarray:
    """LPF[p] = longest prefix of suffix p that also starts at some q < p (Crochemore, Ilie & Smyth 2008:
    one stack pass over the suffix array). Overwrites `lcp`."""
    n = sa.shape[0]
    lpf = np.zeros(n, np.int32)
    stack = np.empty(n + 1, np.int64)
    top = 0
    stack[0] = 0
    for i in range(1, n + 1):
        si = sa[i] if i < n else -1
        li = lcp[i] if i < n else 0
        while top >= 0:
            j = stack[top]
            sj = sa[j]
            if si < sj:
                lpf[sj] = max(lcp[j], li)
                li = min(lcp[j], li)
            elif si > sj and li <= lcp[j]:
                lpf[sj] = lcp[j]
            else:
                break
            top -= 1
        if i < n:
            lcp[i] = li
            top += 1
            stack[top] = i
    return lpf


@kernel
def _cover_first(lpf: np.ndarray, nb_: np.ndarray, k: int, covered: np.ndarray) -> None:
    end = 0
    for p in range(lpf.shape[0]):
        m = min(lpf[p], nb_[p])
        if m >= k and p + m > end:
            end = p + m
        covered[p] = 1 if p < end else 0


@kernel
def _cover_all(sa: np.ndarray, lcp: np.ndarray, nb_: np.ndarray, k: int, covered: np.ndarray) -> None:
    n = sa.shape[0]
    reach = np.zeros(n, np.int32)
    for i in range(1, n):
        m = min(lcp[i], nb_[sa[i]])
        if m >= k:
            if m > reach[sa[i]]:
                reach[sa[i]] = m
            if m > reach[sa[i - 1]]:
                reach[sa[i - 1]] = m
    end = 0
    for p in range(n):
        if reach[p] > 0 and p + reach[p] > end:
            end = p + reach[p]
        covered[p] = 1 if p < end else 0


_NONE = np.int32(2**31 - 1)


@kernel
def _doc_numbers(tok_offsets: np.ndarray, n: int) -> np.ndarray:
    """The document of every position of the barrier-separated sequence (its barrier included)."""
    out = np.empty(n, np.int32)
    for d in range(tok_offsets.shape[0] - 1):
        out[tok_offsets[d] + d:tok_offsets[d + 1] + d + 1] = d
    return out


@kernel
def _longest_from_earlier_doc(sa: np.ndarray, lcp: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """best[p] = longest common prefix of suffix p with a suffix starting in an earlier document.

    In suffix-array order the best partner is the nearest suffix on either side with a smaller document
    number (LCPs only shrink with distance), found by a previous-smaller-value stack; the stack keeps, for
    each entry, the minimum LCP between it and the entry above, and `cur` is the minimum LCP between the
    top and the current suffix."""
    n = sa.shape[0]
    best = np.zeros(n, np.int32)
    stack = np.empty(n, np.int64)
    gap = np.empty(n, np.int32)
    for direction in range(2):
        top = -1
        cur = _NONE
        for step in range(n):
            i = step if direction == 0 else n - 1 - step
            d = doc[sa[i]]
            if top >= 0:
                cur = min(cur, lcp[i] if direction == 0 else lcp[i + 1])
            while top >= 0 and doc[sa[stack[top]]] >= d:  # never a better partner than i for what follows
                top -= 1
                if top >= 0:
                    cur = min(gap[top], cur)
            if top >= 0:
                if cur > best[sa[i]]:
                    best[sa[i]] = cur
                gap[top] = cur
            top += 1
            stack[top] = i
            cur = _NONE
    return best


@kernel
def _longest_from_other_doc(sa: np.ndarray, lcp: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """best[p] = longest common prefix of suffix p with a suffix starting in another document: the nearest
    suffix-array neighbour on either side with a different document."""
    n = sa.shape[0]
    best = np.zeros(n, np.int32)
    for direction in range(2):
        prev_doc = -1
        with_other = -1  # LCP of the previous suffix with its nearest other-document suffix (-1: none)
        for step in range(n):
            i = step if direction == 0 else n - 1 - step
            d = doc[sa[i]]
            if step > 0:
                x = lcp[i] if direction == 0 else lcp[i + 1]
                if d != prev_doc:
                    with_other = x
                elif with_other >= 0:
                    with_other = min(with_other, x)
                if with_other > best[sa[i]]:
                    best[sa[i]] = with_other
            prev_doc = d
    return best


@kernel
def _unbarrier(covered: np.ndarray, tok_offsets: np.ndarray, out: np.ndarray) -> None:
    for d in range(tok_offsets.shape[0] - 1):
        for t in range(tok_offsets[d], tok_offsets[d + 1]):
            out[t] = covered[t + d]


def find_repeats(hashes: np.ndarray, tok_offsets: np.ndarray, min_tokens: int = 50,
                 mode: str = "first", within: bool = False) -> np.ndarray:
    """uint8 per token: 1 where the token lies in a span of >= `min_tokens` tokens that also occurs in
    another document (``all``) or in an earlier one (``first``/``mark``: the first document's copy is
    kept). With `within`, a copy earlier in the same document (``first``) or anywhere else in it
    (``all``) counts too.

    `hashes` are token hashes in document order; `tok_offsets[d]:tok_offsets[d+1]` are document d's.
    """
    check_settings(mode, min_tokens)
    n = int(hashes.shape[0])
    ndocs = int(tok_offsets.shape[0] - 1)
    out = np.zeros(n, np.uint8)
    if n <= min_tokens:  # a repeat needs two starts; its copies may overlap ("a a a a" with k=3)
        return out
    ordered = np.sort(hashes)  # np.unique(return_inverse=True) is several times slower than this
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    uniq = ordered[starts]
    counts = np.diff(np.append(starts, n))
    del ordered, first, starts
    repeated = counts > 1
    if not repeated.any():
        return out
    # symbols: 0 = barrier (document end, or a token that occurs once), 1.. = tokens that repeat
    rank = np.cumsum(repeated, dtype=np.int64).astype(np.uint32)
    rank[~repeated] = 0
    sym = rank[np.searchsorted(uniq, hashes)]
    del uniq, rank, counts, repeated
    alphabet = int(sym.max()) + 1
    seq = np.empty(n + ndocs, np.uint32)
    nb_ = np.empty(n + ndocs, np.int32)
    _sequence(sym, tok_offsets, seq, nb_)
    del sym
    sa = suffix_array(seq, alphabet)
    lcp = lcp_kasai(seq, sa)
    del seq
    covered = np.zeros(n + ndocs, np.uint8)
    if not within:
        doc = _doc_numbers(tok_offsets, n + ndocs)
        longest = (_longest_from_other_doc if mode == "all" else _longest_from_earlier_doc)(sa, lcp, doc)
        del sa, lcp, doc
        _cover_first(longest, nb_, min_tokens, covered)
    elif mode == "all":
        _cover_all(sa, lcp, nb_, min_tokens, covered)
    else:
        lpf = longest_previous_factor(sa, lcp)
        del sa, lcp
        _cover_first(lpf, nb_, min_tokens, covered)
    _unbarrier(covered, tok_offsets, out)
    return out


@kernel(inline=True)
def _next_run(dup: np.ndarray, t: int, tb: int) -> tuple[int, int]:
    """The next run [a, b) of nonzero `dup` at or after token t, before tb (a == b == tb when none)."""
    while t < tb and dup[t] == 0:
        t += 1
    a = t
    while t < tb and dup[t] != 0:
        t += 1
    return a, t


@kernel(inline=True)
def _ws(b: int) -> bool:
    return b == 0x20 or 0x09 <= b <= 0x0D


@kernel
def _cut(offsets: np.ndarray, data: np.ndarray, tok_offsets: np.ndarray, start: np.ndarray, end: np.ndarray,
         clean: np.ndarray, dup: np.ndarray, remove: bool, out: np.ndarray, out_offsets: np.ndarray,
         doc_stats: np.ndarray, span_doc: np.ndarray, span_start: np.ndarray, span_end: np.ndarray
         ) -> tuple[int, int]:
    pos = 0
    nspans = 0
    for d in range(offsets.shape[0] - 1):
        s = offsets[d]
        e = offsets[d + 1]
        out_offsets[d] = pos
        ta = tok_offsets[d]
        tb = tok_offsets[d + 1]
        cur = s  # bytes before cur are copied or cut
        char_cur = 0  # characters of the original before `cur`
        t = ta
        removed_chars = 0
        removed_tokens = 0
        while True:
            a, b = _next_run(dup, t, tb)  # tokens [a, b) are repeated
            if a == tb:
                break
            t = b
            while a < b and clean[a] == 0:
                a += 1
            while b > a and not (b == tb or clean[b] != 0):
                b -= 1
            if a >= b:
                continue
            gap_lo = end[a - 1] if a > ta else s
            gap_hi = start[b] if b < tb else e
            x = start[a]  # widen backwards over punctuation attached to the first word
            y = x
            while y > gap_lo and not _ws(data[y - 1]):
                y -= 1
            if y > gap_lo or a == ta:  # stopped at whitespace, or at the document start
                x = y
            z = end[b - 1]  # widen forwards over attached punctuation, then the whitespace after it
            while z < gap_hi and not _ws(data[z]):
                z += 1
            while z < gap_hi and _ws(data[z]):
                z += 1
            if z == e:  # the cut reaches the end: take the whitespace before it too
                while x > gap_lo and _ws(data[x - 1]):
                    x -= 1
            c0 = char_cur
            for i in range(cur, x):
                if (data[i] & 0xC0) != 0x80:
                    c0 += 1
            c1 = c0
            for i in range(x, z):
                if (data[i] & 0xC0) != 0x80:
                    c1 += 1
            if remove:
                out[pos:pos + (x - cur)] = data[cur:x]
                pos += x - cur
            else:
                out[pos:pos + (z - cur)] = data[cur:z]
                pos += z - cur
            span_doc[nspans] = d
            span_start[nspans] = c0
            span_end[nspans] = c1
            nspans += 1
            removed_chars += c1 - c0
            removed_tokens += b - a
            cur = z
            char_cur = c1
        out[pos:pos + (e - cur)] = data[cur:e]
        pos += e - cur
        doc_stats[d, 0] = removed_tokens
        doc_stats[d, 1] = removed_chars
        doc_stats[d, 2] = tb - ta
        n_chars = char_cur
        for i in range(cur, e):
            if (data[i] & 0xC0) != 0x80:
                n_chars += 1
        doc_stats[d, 3] = n_chars
    out_offsets[offsets.shape[0] - 1] = pos
    return pos, nspans


class Cut:
    """A batch after cutting: texts, per-document (tokens removed, chars removed, tokens, chars), spans."""

    __slots__ = ("texts", "stats", "span_doc", "span_start", "span_end", "passes", "converged")

    def __init__(self, texts: pa.Array, stats: np.ndarray, span_doc: np.ndarray, span_start: np.ndarray,
                 span_end: np.ndarray, passes: int = 1, converged: bool = True) -> None:
        self.texts, self.stats = texts, stats
        self.span_doc, self.span_start, self.span_end = span_doc, span_start, span_end
        self.passes, self.converged = passes, converged

    def slice(self, lo: int, hi: int) -> Cut:
        """Documents [lo, hi) (one input batch of a shard), span documents renumbered from 0."""
        a, b = np.searchsorted(self.span_doc, [lo, hi])
        return Cut(self.texts.slice(lo, hi - lo), self.stats[lo:hi], self.span_doc[a:b] - lo,
                   self.span_start[a:b], self.span_end[a:b], self.passes, self.converged)

    def spans_column(self) -> pa.Array:
        """list<struct<start, end>> per document, character offsets into the original text."""
        n = self.stats.shape[0]
        counts = np.bincount(self.span_doc, minlength=n) if self.span_doc.size else np.zeros(n, np.int64)
        offs = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offs[1:])
        struct = pa.StructArray.from_arrays([pa.array(self.span_start, pa.int64()),
                                             pa.array(self.span_end, pa.int64())], names=["start", "end"])
        return pa.ListArray.from_arrays(pa.array(offs, pa.int32()), struct)


@kernel
def _opens_unit(data: np.ndarray, tok_offsets: np.ndarray, start: np.ndarray, end: np.ndarray,
                out: np.ndarray) -> None:
    """out[t] = 1 when token t starts a sentence or a line: it is its document's first, or the bytes
    since the previous token hold a sentence end (. ! ? or a CJK full stop) or a table cell border (|),
    or a line break followed by
    a mark (a table border, a bullet) or by anything but a lower-case letter (a hard-wrapped sentence runs
    on over its line breaks)."""
    for d in range(tok_offsets.shape[0] - 1):
        for t in range(tok_offsets[d], tok_offsets[d + 1]):
            if t == tok_offsets[d]:
                out[t] = 1
                continue
            opens = 0
            newline = False
            symbol = False  # a table border, bullet or other mark after the line break starts a unit
            for i in range(end[t - 1], start[t]):
                c = data[i]
                if newline and not (c == 0x20 or 0x09 <= c <= 0x0D):
                    symbol = True
                if c == 0x7C:  # a table cell border
                    opens = 1
                elif c == 0x2E or c == 0x21 or c == 0x3F:
                    # a full stop between letters or digits is an abbreviation or a number ("e.g", "3.5")
                    if not (c == 0x2E and i + 1 == start[t] and i == end[t - 1]):
                        opens = 1
                elif c == 0x0A:
                    newline = True
                elif cjk_full_stop(data, i, start[t]):
                    opens = 1
            if opens == 0 and newline:
                cp, _ = decode(data, start[t], end[t])
                opens = 1 if symbol or not is_lower(cp) else 0
            out[t] = opens


@kernel
def _snap_to_units(dup: np.ndarray, opens: np.ndarray, tok_offsets: np.ndarray, out: np.ndarray) -> None:
    """Each run of `dup` tokens shrunk to the whole sentences and lines inside it (`_opens_unit`): it
    starts at a token that opens a unit and ends before one (or at its document's end); what is left of
    a sentence the run only partly covers stays."""
    out[:] = 0
    for d in range(tok_offsets.shape[0] - 1):
        ta, tb = tok_offsets[d], tok_offsets[d + 1]
        t = ta
        while True:
            a, b = _next_run(dup, t, tb)
            if a == tb:
                break
            t = b
            while a < b and opens[a] == 0:
                a += 1
            if b < tb:
                while b > a and opens[b] == 0:
                    b -= 1
            for i in range(a, b):
                out[i] = 1


def cut(texts: pa.Array | pa.ChunkedArray, tokens: Tokens, dup: np.ndarray, remove: bool = True,
        whole_sentences: bool = True) -> Cut:
    """Cut the runs of `dup` tokens out of the texts (or only record them if not `remove`), snapped to
    whole words: a cut never starts or ends inside a word and never splits a UTF-8 sequence. With
    `whole_sentences`, a run is first shrunk to the sentences and lines it covers whole, so no cut leaves
    half a sentence behind ("Requirement: " before a cut passage)."""
    offsets, data = string_buffers(texts)
    if whole_sentences and dup.size:
        opens = np.empty(dup.shape[0], np.uint8)
        _opens_unit(data, tokens.offsets, tokens.start, tokens.end, opens)
        snapped = np.empty_like(dup)
        _snap_to_units(dup, opens, tokens.offsets, snapped)
        dup = snapped
    ndocs = len(offsets) - 1
    out = np.empty(max(int(offsets[-1] - offsets[0]), 1), np.uint8)
    out_offsets = np.empty(ndocs + 1, np.int64)
    stats = np.zeros((ndocs, 4), np.int64)
    runs = int(np.count_nonzero(np.diff(dup.astype(np.int8), prepend=0) == 1)) + ndocs if dup.size else 0
    span_doc = np.empty(runs, np.int64)
    span_start = np.empty(runs, np.int64)
    span_end = np.empty(runs, np.int64)
    used, nspans = _cut(offsets, data, tokens.offsets, tokens.start, tokens.end, tokens.clean, dup, remove,
                        out, out_offsets, stats, span_doc, span_start, span_end)
    arr = pa.LargeStringArray.from_buffers(ndocs, pa.py_buffer(out_offsets), pa.py_buffer(out[:used]))
    return Cut(arr, stats, span_doc[:nspans], span_start[:nspans], span_end[:nspans])


MAX_PASSES = 8
ALIGNS = ("sentences", "words")


def check_settings(mode: str, min_tokens: int, align: str = "sentences") -> None:
    """ValueError naming the first unusable setting of a substrings run (every entry point checks before
    reading anything)."""
    check_choice("mode", mode, MODES)
    if min_tokens < 1:
        raise ValueError("min_tokens must be at least 1")
    check_choice("align", align, ALIGNS)


@kernel
def _to_original(old_doc: np.ndarray, old_start: np.ndarray, old_end: np.ndarray, doc: np.ndarray,
                 start: np.ndarray, end: np.ndarray) -> None:
    """Map spans of the current texts (sorted) to the original texts, in place, through the earlier cuts
    `old_*` (original offsets, sorted, disjoint): a span absorbs every old cut inside it."""
    i = 0
    shift = 0  # characters cut before the current position, in the current document
    cur = -1
    for j in range(doc.shape[0]):
        d = doc[j]
        if d != cur:
            while i < old_doc.shape[0] and old_doc[i] < d:
                i += 1
            shift = 0
            cur = d
        s = start[j]
        e = end[j]
        # an old cut at current position q (old_start - shift) lies just before character q
        while i < old_doc.shape[0] and old_doc[i] == d and old_start[i] - shift <= s:
            shift += old_end[i] - old_start[i]
            i += 1
        start[j] = s + shift
        while i < old_doc.shape[0] and old_doc[i] == d and old_start[i] - shift < e:
            shift += old_end[i] - old_start[i]
            i += 1
        end[j] = e + shift


@kernel
def _merge(doc: np.ndarray, start: np.ndarray, end: np.ndarray) -> int:
    """Merge overlapping or touching spans (sorted by document, then start) in place; returns the count."""
    n = 0
    for j in range(doc.shape[0]):
        if n > 0 and doc[n - 1] == doc[j] and start[j] <= end[n - 1]:
            if end[j] > end[n - 1]:
                end[n - 1] = end[j]
        else:
            doc[n] = doc[j]
            start[n] = start[j]
            end[n] = end[j]
            n += 1
    return n


def _compose(old: Cut, new: Cut) -> Cut:
    """`new` (a pass over `old.texts`) with spans and stats in terms of `old`'s original texts."""
    doc, start, end = new.span_doc.copy(), new.span_start.copy(), new.span_end.copy()
    _to_original(old.span_doc, old.span_start, old.span_end, doc, start, end)
    doc = np.concatenate([old.span_doc, doc])
    start = np.concatenate([old.span_start, start])
    end = np.concatenate([old.span_end, end])
    order = np.lexsort((start, doc))
    doc, start, end = doc[order], start[order], end[order]
    n = _merge(doc, start, end)
    stats = old.stats.copy()
    stats[:, :2] += new.stats[:, :2]  # tokens and chars removed add up; tokens and chars of the original stay
    return Cut(new.texts, stats, doc[:n], start[:n], end[:n], old.passes + 1, True)


def remove_repeats(texts: pa.Array | pa.ChunkedArray, min_tokens: int = 50, mode: str = "first",
                   max_passes: int = MAX_PASSES, within: bool = False, align: str = "sentences") -> Cut:
    """Cut repeated spans of >= `min_tokens` tokens from the texts (one shard) until none is left; a span
    counts as repeated when another document has it (with `within`, also when its own document does).
    `align`: "sentences" (default) cuts only the whole sentences, lines and table cells a repeated span
    covers (`cut`); "words" cuts the span itself, snapped to whole words (Lee et al.'s exact substrings).

    One pass of `find_repeats` + `cut` can join the text around a cut into a new repeat, so ``first`` and
    ``all`` repeat the pass on its output until a pass removes nothing: the result is a fixed point
    (running it again changes nothing). Spans are in character offsets of the original texts, sorted and
    merged per document; stats add up over passes. ``mark`` removes nothing, so it is one pass. After
    `max_passes` passes the last output is returned with ``converged=False`` and may still hold repeats
    (never seen: on DICE, 8 MB, k=50..10 needs 1-2 passes that cut, k=5 needs 3, plus the pass that finds
    nothing, which costs as much as the first).
    """
    check_settings(mode, min_tokens, align)
    if max_passes < 1:
        raise ValueError("max_passes must be at least 1")
    whole = align == "sentences"
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    tok = token_spans(texts)
    res = cut(texts, tok, find_repeats(tok.hash, tok.offsets, min_tokens, mode, within),
              remove=mode != "mark", whole_sentences=whole)
    if mode == "mark":
        return res
    while res.span_doc.size:  # the last pass removed something: look again
        if res.passes >= max_passes:
            res.converged = False
            break
        tok = token_spans(res.texts)
        nxt = cut(res.texts, tok, find_repeats(tok.hash, tok.offsets, min_tokens, mode, within),
                  whole_sentences=whole)
        if not nxt.span_doc.size:
            res.passes += 1
            break
        res = _compose(res, nxt)
    return res
