"""Boilerplate-line kernels: hash every line (or paragraph) of a batch, count hashes once per document,
and cut the frequent ones out.

A unit's key is its token stream as `semel.text.tokens` sees it (case folded; punctuation, symbols and
whitespace only separate tokens; spaceless scripts one token per character) with digits folded to ``0``
by default, which is what CCNet does so that "© 2021 Gazzetta" and "© 2023 Gazzetta" count as one line.
The key is hashed to 64 bits straight from the UTF-8 bytes; no Python string is built per line.

What may go (`Units.countable`): a unit with at least `min_chars` characters that is not a heading (a line
in capitals of at most four words: "DESCRIPTION", "ENVIRONMENT VARIABLES"), not a label (it ends with
":": "Required properties:") and not code (it ends with ";", "{" or "}", or more than a third of its
whitespace-separated chunks are written like code, as `semel.text.layout.code_tokens` counts them, or are
an "=": "#include <stdio.h>", "main(int argc, char *argv[])", 'pinctrl-names = "default";'). Code and
labels shared by pages are content, not boilerplate; a footer with an e-mail address and a link still
goes.
`first_copies` keeps, of each frequent unit, the copies in the first document that has it (dolma's and
datatrove's keep-first);
`keep_some_text` leaves a document whole when every unit that may go would go, so no document is emptied
(identical files stay whole: telling copies apart is `semel dedup`'s job).

Counting memory (`HashCounter`): a distinct line costs 12 bytes (uint64 hash + uint32 document count)
in the merged sorted arrays, plus 8 bytes per not-yet-merged occurrence; merging briefly needs about
three times that. Past `budget_bytes` the sorted arrays are spilled to disk in 64 hash partitions and
merged one partition at a time at the end, so 100 million distinct lines need ~1.2 GB on disk and only
about 1/64 of that in memory at the end. A 64-bit hash makes a false collision among 10^8 distinct lines
a ~3·10^-4 chance over the whole collection.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import pyarrow as pa

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

_SPACE = np.uint64(0x20)

UNITS = ("line", "paragraph")


@kernel(inline=True)
def _is_space(cp: int) -> bool:
    return cp == 0x20 or (0x09 <= cp <= 0x0D) or cp == 0xA0 or cp == 0x3000 or (0x2000 <= cp <= 0x200A)


#: Lines written in capitals with at most this many tokens are headings, never boilerplate.
HEADING_TOKENS = 4


@kernel(inline=True)
def _is_code_char(cp: int) -> bool:
    """What makes a chunk holding a letter or digit code: = _ < > { } | \\ / # $ @ * ~ ^ & + ` [ ]."""
    return cp in (0x3D, 0x5F, 0x3C, 0x3E, 0x7B, 0x7D, 0x7C, 0x5C, 0x2F, 0x23, 0x24, 0x40, 0x2A, 0x7E, 0x5E,
                  0x26, 0x2B, 0x60, 0x5B, 0x5D)


@kernel
def _key(data: np.ndarray, a: int, b: int, fold_digits: bool) -> tuple[np.uint64, int, int, bool]:
    """(hash of the normalised token stream, tokens, characters between the first and last non-space,
    whether it must stay: a heading (at most `HEADING_TOKENS` words of capital letters from its first
    character: "ENVIRONMENT VARIABLES", not "© RIPRODUZIONE RISERVATA 2021"), a label or code)."""
    h = FNV_OFFSET
    ntok = 0
    in_word = False
    upper = False
    lower = False
    heading = True  # until a character says otherwise
    chunks = 0  # whitespace-separated chunks with a letter or digit, and those written like code
    code = 0
    c_alnum = False
    c_code = False
    c_eq = False
    prev_alnum = False
    last_cp = 0
    cp_i = 0
    first = -1
    last = -1
    i = a
    while i < b:
        byte = data[i]
        if byte < 0x80:
            cp = int(byte)
            i += 1
        else:
            cp, w = decode(data, i, b)
            i += w
        if not _is_space(cp):
            if first < 0:
                first = cp_i
                heading = char_class(cp) == WORD
            last = cp_i
            last_cp = cp
        elif c_alnum or c_eq:
            chunks += 1
            code += c_code or c_eq
            c_alnum = c_code = c_eq = False
        else:
            c_code = False
        cp_i += 1
        if 0x300 <= cp <= 0x36F:
            continue
        cls = char_class(cp)
        if _is_code_char(cp) or (cp == 0x28 and prev_alnum):
            c_code = True
            c_eq = c_eq or cp == 0x3D  # "=", "+=", "==" on their own: an assignment or a comparison
        prev_alnum = cls == WORD
        c_alnum = c_alnum or prev_alnum
        if cls == WORD:
            if is_lower(cp) or 0x30 <= cp <= 0x39:
                lower = True  # (or a digit: not a heading either)
            folded = fold_case(cp)
            if folded != cp:
                upper = True
            cp = folded
            if fold_digits and 0x30 <= cp <= 0x39:
                cp = 0x30
            h = (h ^ np.uint64(cp)) * FNV_PRIME
            in_word = True
            continue
        if in_word:
            h = (h ^ _SPACE) * FNV_PRIME
            ntok += 1
            in_word = False
        if cls == SOLO:
            h = ((h ^ np.uint64(cp)) * FNV_PRIME ^ _SPACE) * FNV_PRIME
            ntok += 1
    if in_word:
        ntok += 1
    nchars = last - first + 1 if first >= 0 else 0
    if c_alnum or c_eq:
        chunks += 1
        code += c_code or c_eq
    # a label ("Required properties:") or a statement ("interrupt-controller;", "} else {") ends the line
    stays = ((heading and upper and not lower and ntok <= HEADING_TOKENS) or 3 * code > chunks
             or last_cp == 0x3A or last_cp == 0x3B or last_cp == 0x7B or last_cp == 0x7D)
    return mix64(h ^ np.uint64(ntok)), ntok, nchars, stays


@kernel(inline=True)
def _blank(data: np.ndarray, a: int, b: int) -> bool:
    for i in range(a, b):
        c = data[i]
        if not (c == 0x20 or 0x09 <= c <= 0x0D):
            return False
    return True


@kernel
def _units(offsets: np.ndarray, data: np.ndarray, paragraph: bool, fold_digits: bool,
           out_doc: np.ndarray, out_start: np.ndarray, out_end: np.ndarray, out_hash: np.ndarray,
           out_chars: np.ndarray, out_tokens: np.ndarray, out_stays: np.ndarray) -> int:
    n = 0
    for d in range(offsets.shape[0] - 1):
        s = offsets[d]
        e = offsets[d + 1]
        i = s
        para_start = -1
        content_end = -1
        gap = False
        while i < e:
            j = i
            while j < e and data[j] != 10:
                j += 1
            nxt = j + 1 if j < e else e
            if not paragraph:
                h, ntok, nch, keep = _key(data, i, j, fold_digits)
                out_doc[n] = d
                out_start[n] = i
                out_end[n] = nxt
                out_hash[n] = h
                out_chars[n] = nch
                out_tokens[n] = ntok
                out_stays[n] = keep
                n += 1
            elif _blank(data, i, j):
                gap = para_start >= 0
            else:
                if para_start >= 0 and gap:
                    h, ntok, nch, keep = _key(data, para_start, content_end, fold_digits)
                    out_doc[n] = d
                    out_start[n] = para_start
                    out_end[n] = i
                    out_hash[n] = h
                    out_chars[n] = nch
                    out_tokens[n] = ntok
                    out_stays[n] = keep
                    n += 1
                    para_start = -1
                if para_start < 0:
                    para_start = i
                content_end = j
                gap = False
            i = nxt
        if paragraph and para_start >= 0:
            h, ntok, nch, keep = _key(data, para_start, content_end, fold_digits)
            out_doc[n] = d
            out_start[n] = para_start
            out_end[n] = e
            out_hash[n] = h
            out_chars[n] = nch
            out_tokens[n] = ntok
            out_stays[n] = keep
            n += 1
    return n


@kernel
def _sentence_edges(data: np.ndarray, start: np.ndarray, end: np.ndarray, opens_lower: np.ndarray,
                    ends_open: np.ndarray, width: np.ndarray, first_word: np.ndarray) -> None:
    """Per line: whether its first visible character is a lower-case letter; whether it has text whose
    last visible character does not close a sentence (. ! ? : ; or the CJK full stops, also before a
    closing quote or bracket); its width and the width of its first word, in characters."""
    for u in range(start.shape[0]):
        a, b = start[u], end[u]
        i = a
        while i < b and (data[i] == 0x20 or 0x09 <= data[i] <= 0x0D):
            i += 1
        opens_lower[u] = False
        ends_open[u] = False
        width[u] = 0
        first_word[u] = 0
        if i == b:
            continue
        cp, _ = decode(data, i, b)
        opens_lower[u] = is_lower(cp)
        j = b - 1
        while j > i and (data[j] == 0x20 or 0x09 <= data[j] <= 0x0D):
            j -= 1
        in_word = True
        for k in range(i, j + 1):
            if data[k] < 0x80 or data[k] >= 0xC0:  # count code points, not bytes
                width[u] += 1
                if in_word and (data[k] == 0x20 or data[k] == 0x09):
                    in_word = False
                if in_word:
                    first_word[u] += 1
        while j > i:  # step back over closing quotes and brackets: " ' ) ] » ” ’
            if data[j] in (0x22, 0x27, 0x29, 0x5D):
                j -= 1
            elif j - 1 > i and data[j] == 0xBB and data[j - 1] == 0xC2:
                j -= 2
            elif j - 2 > i and data[j] in (0x9D, 0x99) and data[j - 1] == 0x80 and data[j - 2] == 0xE2:
                j -= 3
            else:
                break
        ends_open[u] = not (data[j] in (0x2E, 0x21, 0x3F, 0x3A, 0x3B) or cjk_full_stop(data, j - 2, j + 1))


class Units:
    """The units of a batch, in document then text order; byte offsets index the batch's UTF-8 buffer.

    For line units, `opens_lower`, `ends_open`, `width` and `first_word` (`_sentence_edges`) tell where a
    hard-wrapped sentence runs on from one line to the next (`whole_sentences`); for paragraphs they are
    all False or 0."""

    __slots__ = ("doc", "start", "end", "hash", "chars", "tokens", "stays", "opens_lower", "ends_open",
                 "width", "first_word")

    def __init__(self, doc: np.ndarray, start: np.ndarray, end: np.ndarray, hash: np.ndarray,
                 chars: np.ndarray, tokens: np.ndarray, stays: np.ndarray) -> None:
        self.doc, self.start, self.end = doc, start, end
        self.hash, self.chars, self.tokens, self.stays = hash, chars, tokens, stays
        n = doc.shape[0]
        self.opens_lower = np.zeros(n, np.bool_)
        self.ends_open = np.zeros(n, np.bool_)
        self.width = np.zeros(n, np.int64)
        self.first_word = np.zeros(n, np.int64)

    def __len__(self) -> int:
        return int(self.doc.shape[0])

    def countable(self, min_chars: int) -> np.ndarray:
        """Units eligible for counting and removal: with at least one token and `min_chars` characters,
        not a heading, a label or code."""
        return (self.tokens > 0) & (self.chars >= min_chars) & ~self.stays

    def per_doc_unique(self, min_chars: int) -> np.ndarray:
        """The hashes of countable units, each counted once per document (CCNet counts documents)."""
        mask = self.countable(min_chars)
        doc, h = self.doc[mask], self.hash[mask]
        if h.size == 0:
            return h
        order = np.lexsort((h, doc))
        doc, h = doc[order], h[order]
        keep = np.ones(h.size, dtype=bool)
        keep[1:] = (doc[1:] != doc[:-1]) | (h[1:] != h[:-1])
        return h[keep]


def line_units(texts: pa.Array | pa.ChunkedArray, unit: str = "line", fold_digits: bool = True) -> Units:
    """Every line (``\\n``-terminated, terminator included) or paragraph (non-blank lines up to the next
    paragraph, blank lines after it included) of every document, with its 64-bit key."""
    check_choice("unit", unit, UNITS)
    offsets, data = string_buffers(texts)
    base = int(offsets[0])
    cap = int(np.count_nonzero(data[base:int(offsets[-1])] == 10)) + len(offsets)
    doc = np.empty(cap, np.int64)
    start = np.empty(cap, np.int64)
    end = np.empty(cap, np.int64)
    h = np.empty(cap, np.uint64)
    chars = np.empty(cap, np.int64)
    tokens = np.empty(cap, np.int64)
    stays = np.empty(cap, np.bool_)
    n = _units(offsets, data, unit == "paragraph", fold_digits, doc, start, end, h, chars, tokens, stays)
    units = Units(doc[:n].copy(), start[:n].copy(), end[:n].copy(), h[:n].copy(), chars[:n].copy(),
                  tokens[:n].copy(), stays[:n].copy())
    if unit == "line":
        _sentence_edges(data, units.start, units.end, units.opens_lower, units.ends_open, units.width,
                        units.first_word)
    return units


def whole_sentences(units: Units, remove: np.ndarray) -> np.ndarray:
    """`remove` without removals that would cut a hard-wrapped sentence. A line runs on into the next when
    it ends without closing its sentence, the next starts in lower case, and the next line's first word
    did not fit on it (a line wrapped at a width is at least as wide as the next one without its first
    word; a short menu line is not wrapped). Lines that run on are chained, and a chain is removed whole
    or not at all ("This flag must be specified if any of the other arguments in this group" / "are
    specified.": removing the first line, found in many documents, would leave "are specified.")."""
    if not remove.any():
        return remove
    wrapped = units.width[:-1] + 1 + units.first_word[1:] > units.width[1:]
    runs_on = (units.doc[1:] == units.doc[:-1]) & units.ends_open[:-1] & units.opens_lower[1:] & wrapped
    if not runs_on.any():
        return remove
    chain = np.cumsum(np.r_[True, ~runs_on]) - 1  # lines joined by runs_on share a chain
    size = np.bincount(chain)
    removed = np.bincount(chain, weights=remove)
    cut = (removed > 0) & (removed < size)
    return remove & ~cut[chain]


def lookup(units: Units, frequent: np.ndarray, min_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Which units are frequent and may go, and each unit's index in the sorted `frequent` hashes (valid
    where frequent)."""
    if frequent.size == 0 or len(units) == 0:
        return np.zeros(len(units), bool), np.zeros(len(units), np.int64)
    index = np.searchsorted(frequent, units.hash)
    np.minimum(index, frequent.size - 1, out=index)
    return (frequent[index] == units.hash) & units.countable(min_chars), index


def first_copies(units: Units, remove: np.ndarray, index: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """`remove` without the copies in the first document (in batch order) of each frequent unit not in
    `seen` (one flag per frequent hash, carried from batch to batch and updated here)."""
    where = np.flatnonzero(remove)
    if where.size == 0:
        return remove
    idx = index[where]
    new = ~seen[idx]
    if not new.any():
        return remove
    docs = units.doc[where]
    first = np.full(seen.size, -1, np.int64)
    # units are in document order, so the first position of an index is in its first document
    uniq, pos = np.unique(idx[new], return_index=True)
    first[uniq] = docs[new][pos]
    keep = new & (docs == first[idx])
    seen[uniq] = True
    out = remove.copy()
    out[where[keep]] = False
    return out


def first_copies_at(units: Units, remove: np.ndarray, index: np.ndarray, doc_pos: np.ndarray,
                    first_pos: np.ndarray) -> np.ndarray:
    """`remove` without the copies in each frequent unit's first document, given every document's
    position (`doc_pos`, one per document of the batch) and each frequent unit's first (`first_pos`)."""
    if not remove.any():
        return remove
    return remove & (doc_pos[units.doc] != first_pos[index])


def keep_some_text(units: Units, remove: np.ndarray, min_chars: int, ndocs: int) -> tuple[np.ndarray, int]:
    """`remove` without any removal from documents that would lose every unit that may go (so no document
    is emptied, and none is left with only headings and short lines); and how many were left whole."""
    if not remove.any():
        return remove, 0
    countable = units.countable(min_chars)
    has = np.zeros(ndocs, bool)
    has[units.doc[countable]] = True
    left = np.zeros(ndocs, bool)
    left[units.doc[countable & ~remove]] = True
    whole = has & ~left
    if not whole.any():
        return remove, 0
    return remove & ~whole[units.doc], int(np.count_nonzero(whole))


@kernel(inline=True)
def _nchars(data: np.ndarray, a: int, b: int) -> int:
    n = 0
    for i in range(a, b):
        if (data[i] & 0xC0) != 0x80:
            n += 1
    return n


@kernel(inline=True)
def _nlines(data: np.ndarray, a: int, b: int) -> int:
    n = 0
    for i in range(a, b):
        if data[i] == 10:
            n += 1
    if b > a and data[b - 1] != 10:
        n += 1
    return n


@kernel
def _remove(offsets: np.ndarray, data: np.ndarray, udoc: np.ndarray, ustart: np.ndarray, uend: np.ndarray,
            remove: np.ndarray, out: np.ndarray, out_offsets: np.ndarray, stats: np.ndarray,
            span_doc: np.ndarray, span_start: np.ndarray, span_end: np.ndarray) -> tuple[int, int]:
    """Copy every document without its removed units. stats[d] = (lines removed, chars removed,
    original lines, original chars); removed spans (merged when adjacent) in character offsets."""
    pos = 0
    nspans = 0
    u = 0
    nunits = udoc.shape[0]
    for d in range(offsets.shape[0] - 1):
        s = offsets[d]
        e = offsets[d + 1]
        out_offsets[d] = pos
        cur = s  # bytes before `cur` are accounted for
        chars_at_cur = 0
        open_span = False
        lines_removed = 0
        chars_removed = 0
        while u < nunits and udoc[u] == d:
            a = ustart[u]
            b = uend[u]
            if remove[u]:
                keep_n = a - cur
                out[pos:pos + keep_n] = data[cur:a]
                pos += keep_n
                gap_chars = _nchars(data, cur, a)
                chars_at_cur += gap_chars
                nch = _nchars(data, a, b)
                if open_span and gap_chars == 0:
                    span_end[nspans - 1] = chars_at_cur + nch
                else:
                    span_doc[nspans] = d
                    span_start[nspans] = chars_at_cur
                    span_end[nspans] = chars_at_cur + nch
                    nspans += 1
                open_span = True
                chars_at_cur += nch
                chars_removed += nch
                lines_removed += _nlines(data, a, b)
                cur = b
            u += 1
        keep_n = e - cur
        out[pos:pos + keep_n] = data[cur:e]
        pos += keep_n
        stats[d, 0] = lines_removed
        stats[d, 1] = chars_removed
        stats[d, 2] = _nlines(data, s, e)
        stats[d, 3] = _nchars(data, s, e)
    out_offsets[offsets.shape[0] - 1] = pos
    return pos, nspans


class Removed:
    """A batch after removal: the new texts, per-document statistics and the removed spans."""

    __slots__ = ("texts", "stats", "span_doc", "span_start", "span_end")

    def __init__(self, texts: pa.Array, stats: np.ndarray, span_doc: np.ndarray, span_start: np.ndarray,
                 span_end: np.ndarray) -> None:
        self.texts, self.stats = texts, stats
        self.span_doc, self.span_start, self.span_end = span_doc, span_start, span_end

    def spans_column(self) -> pa.Array:
        """list<struct<start, end>> per document: the removed spans in character offsets of the input."""
        n = self.stats.shape[0]
        counts = np.bincount(self.span_doc, minlength=n) if self.span_doc.size else np.zeros(n, np.int64)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        struct = pa.StructArray.from_arrays([pa.array(self.span_start, pa.int64()),
                                             pa.array(self.span_end, pa.int64())], names=["start", "end"])
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)


def remove_units(texts: pa.Array | pa.ChunkedArray, units: Units, remove: np.ndarray) -> Removed:
    """Cut the units flagged in `remove` out of their documents (bytes outside them are copied as is)."""
    offsets, data = string_buffers(texts)
    ndocs = len(offsets) - 1
    out = np.empty(max(int(offsets[-1] - offsets[0]), 1), dtype=np.uint8)
    out_offsets = np.empty(ndocs + 1, dtype=np.int64)
    stats = np.zeros((ndocs, 4), dtype=np.int64)
    k = int(np.count_nonzero(remove))
    span_doc = np.empty(k, np.int64)
    span_start = np.empty(k, np.int64)
    span_end = np.empty(k, np.int64)
    used, nspans = _remove(offsets, data, units.doc, units.start, units.end, remove.astype(np.bool_), out,
                           out_offsets, stats, span_doc, span_start, span_end)
    arr = pa.LargeStringArray.from_buffers(ndocs, pa.py_buffer(out_offsets), pa.py_buffer(out[:used]))
    return Removed(arr, stats, span_doc[:nspans], span_start[:nspans], span_end[:nspans])


def _merge(h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the counts of equal hashes; returns sorted unique hashes and their counts."""
    if h.size == 0:
        return h, c
    order = np.argsort(h, kind="stable")
    h = h[order]
    c = c[order]
    starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    return h[starts], np.add.reduceat(c, starts).astype(np.uint32)


class HashCounter:
    """Counts uint64 hashes with sorted arrays; spills to disk by hash partition past `budget_bytes`.

    Memory: 12 bytes per distinct hash when merged, 8 per pending occurrence; merging is amortised (it
    runs when the pending occurrences outnumber the merged hashes) and needs ~3x its input briefly.
    """

    PARTITIONS = 64

    def __init__(self, budget_bytes: int = 1 << 30, spill_dir: str | None = None) -> None:
        self.budget = int(budget_bytes)
        self.spill_parent = spill_dir
        self.spill_root: str | None = None
        self.runs = 0
        self.hashes = np.empty(0, np.uint64)
        self.counts = np.empty(0, np.uint32)
        self.pending: list[np.ndarray] = []
        self.pending_n = 0
        self.spilled_bytes = 0

    @property
    def memory_bytes(self) -> int:
        return 12 * int(self.hashes.size) + 8 * self.pending_n

    def add(self, hashes: np.ndarray) -> None:
        """Count each hash in `hashes` once (pass one array per document set, already unique per document)."""
        if hashes.size == 0:
            return
        self.pending.append(np.asarray(hashes, dtype=np.uint64))
        self.pending_n += hashes.size
        if self.pending_n >= max(self.hashes.size, 1 << 20):
            self._compact()
        if self.memory_bytes > self.budget:
            self._compact()
            if self.memory_bytes > self.budget // 3:  # merged arrays alone exceed their share: spill
                self._spill()

    def _compact(self) -> None:
        if not self.pending:
            return
        new = np.concatenate(self.pending)
        self.pending, self.pending_n = [], 0
        h = np.concatenate((self.hashes, new))
        c = np.concatenate((self.counts, np.ones(new.size, np.uint32)))
        self.hashes, self.counts = _merge(h, c)

    def _spill(self) -> None:
        if self.spill_root is None:
            self.spill_root = tempfile.mkdtemp(prefix="semel-lines-", dir=self.spill_parent)
        bounds = np.append(np.searchsorted(self.hashes, _partition_starts(self.PARTITIONS)), self.hashes.size)
        for p in range(self.PARTITIONS):
            a, b = int(bounds[p]), int(bounds[p + 1])
            if a == b:
                continue
            base = os.path.join(self.spill_root, f"p{p:02d}-r{self.runs:05d}")
            np.save(base + ".h.npy", self.hashes[a:b])
            np.save(base + ".c.npy", self.counts[a:b])
        self.spilled_bytes += 12 * int(self.hashes.size)
        self.runs += 1
        self.hashes = np.empty(0, np.uint64)
        self.counts = np.empty(0, np.uint32)

    def frequent(self, min_count: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(sorted hashes counted at least `min_count` times, their counts, number of distinct hashes)."""
        self._compact()
        if self.spill_root is None:
            keep = self.counts >= min_count
            return self.hashes[keep], self.counts[keep], int(self.hashes.size)
        self._spill()
        out_h: list[np.ndarray] = []
        out_c: list[np.ndarray] = []
        distinct = 0
        names = sorted(os.listdir(self.spill_root))
        for p in range(self.PARTITIONS):
            runs = [n[: -len(".h.npy")] for n in names if n.startswith(f"p{p:02d}-") and n.endswith(".h.npy")]
            if not runs:
                continue
            h = np.concatenate([np.load(os.path.join(self.spill_root, r + ".h.npy")) for r in runs])
            c = np.concatenate([np.load(os.path.join(self.spill_root, r + ".c.npy")) for r in runs])
            h, c = _merge(h, c)
            distinct += int(h.size)
            keep = c >= min_count
            out_h.append(h[keep])
            out_c.append(c[keep])
        self.close()
        if not out_h:
            return np.empty(0, np.uint64), np.empty(0, np.uint32), distinct
        return np.concatenate(out_h), np.concatenate(out_c), distinct

    def close(self) -> None:
        """Remove the spill files."""
        if self.spill_root is not None:
            shutil.rmtree(self.spill_root, ignore_errors=True)
            self.spill_root = None


def _partition_starts(parts: int) -> np.ndarray:
    """The first hash value of each partition (partitions split the top bits evenly)."""
    step = (1 << 64) // parts
    return np.array([i * step for i in range(parts)], dtype=np.uint64)
