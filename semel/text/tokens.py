"""Word tokens and shingle hashes computed straight from UTF-8 bytes, compiled with numba.

This is the hot path of near-duplicate detection, so it never builds Python strings per token. It walks
the UTF-8 buffer of an Arrow string array once, folds case (ASCII, Latin-1, Latin Extended-A, Greek,
Cyrillic, fullwidth forms), treats punctuation, symbols and whitespace as separators, and hashes each
token. Scripts written without spaces (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar) make every
character its own token, so word n-grams become character n-grams there without a separate code path.

Hashes are plain 64-bit integer arithmetic, so they are identical on every platform and every run.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from semel.jit import kernel

SEP, WORD, SOLO = 0, 1, 2
#: FNV-1a parameters: every byte-string hash semel builds token by token starts from these
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ROLL = np.uint64(0xFF51AFD7ED558CCD)
_ROLL2 = np.uint64(0xC4CEB9FE1A85EC53)


@kernel(inline=True)
def mix64(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser: spreads every input bit over the whole word."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@kernel(inline=True)
def fold_case(cp: int) -> int:
    """Lower-case the alphabets common in web text; everything else passes unchanged."""
    if cp < 0x80:
        if 0x41 <= cp <= 0x5A:
            return cp + 32
        return cp
    if 0xFF21 <= cp <= 0xFF3A:  # fullwidth A-Z
        return cp - 0xFEE0 + 32
    if 0xFF01 <= cp <= 0xFF5E:  # other fullwidth ASCII
        return cp - 0xFEE0
    if 0xC0 <= cp <= 0xDE and cp != 0xD7:
        return cp + 32
    if 0x100 <= cp <= 0x17F:
        if cp == 0x178:
            return 0xFF
        if (0x139 <= cp <= 0x148) or (0x179 <= cp <= 0x17E):
            return cp + 1 if cp % 2 == 1 else cp
        if cp == 0x138 or cp == 0x149:
            return cp
        return cp + 1 if cp % 2 == 0 else cp
    if 0x391 <= cp <= 0x3A9 and cp != 0x3A2:
        return cp + 32
    if 0x410 <= cp <= 0x42F:
        return cp + 32
    if 0x400 <= cp <= 0x40F:
        return cp + 80
    return cp


@kernel(inline=True)
def is_lower(cp: int) -> bool:
    """A lower-case letter of the alphabets `fold_case` knows (Latin, Greek, Cyrillic)."""
    if cp < 0x80:
        return 0x61 <= cp <= 0x7A
    if 0xDF <= cp <= 0xFF:
        return cp != 0xF7
    if 0x100 <= cp <= 0x17F:
        return fold_case(cp) == cp
    return (0x3AC <= cp <= 0x3CE) or (0x430 <= cp <= 0x45F)


@kernel(inline=True)
def cjk_full_stop(data: np.ndarray, i: int, end: int) -> bool:
    """Whether the UTF-8 bytes data[i:i + 3] (inside data[:end]) are a CJK sentence end: 。 ！ or ？."""
    if i < 0 or i + 3 > end:
        return False
    if data[i] == 0xE3:
        return data[i + 1] == 0x80 and data[i + 2] == 0x82
    return data[i] == 0xEF and data[i + 1] == 0xBC and (data[i + 2] == 0x81 or data[i + 2] == 0x9F)


@kernel(inline=True)
def char_class(cp: int) -> int:
    """SEP for separators (whitespace, punctuation, symbols), SOLO for spaceless scripts, else WORD."""
    if cp < 0x80:
        if (0x30 <= cp <= 0x39) or (0x41 <= cp <= 0x5A) or (0x61 <= cp <= 0x7A):
            return WORD
        return SEP
    if cp < 0xC0:
        return WORD if cp in (0xAA, 0xB2, 0xB3, 0xB5, 0xB9, 0xBA) else SEP
    if cp == 0xD7 or cp == 0xF7:
        return SEP
    if 0x0E00 <= cp <= 0x0EFF or 0x1000 <= cp <= 0x109F or 0x1780 <= cp <= 0x17FF:
        return SOLO  # Thai, Lao, Myanmar, Khmer
    if 0x2000 <= cp <= 0x2BFF or 0x2E00 <= cp <= 0x2E7F:
        return SEP  # general punctuation, symbols, arrows, box drawing
    if 0x3000 <= cp <= 0x303F or 0xFE30 <= cp <= 0xFE4F or 0xFE50 <= cp <= 0xFE6F:
        return SEP  # CJK punctuation
    if 0x3040 <= cp <= 0x30FF or 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF:
        return SOLO  # kana, CJK ideographs
    if 0xF900 <= cp <= 0xFAFF or 0xFF66 <= cp <= 0xFF9F or 0x20000 <= cp <= 0x3FFFF:
        return SOLO
    if 0xFF00 <= cp <= 0xFF0F or 0xFF1A <= cp <= 0xFF20 or 0xFF3B <= cp <= 0xFF40 or 0xFF5B <= cp <= 0xFF65:
        return SEP  # fullwidth punctuation
    if 0x1F000 <= cp <= 0x1FFFF or 0xE000 <= cp <= 0xF8FF or 0xFFF0 <= cp <= 0xFFFF:
        return SEP  # emoji, private use, specials
    return WORD


@kernel(inline=True)
def decode(data: np.ndarray, i: int, end: int) -> tuple[int, int]:
    """Decode one code point at `i`; malformed bytes decode to a separator (0x20) of length 1."""
    b0 = int(data[i])
    if b0 < 0x80:
        return b0, 1
    if b0 >= 0xC2 and b0 < 0xE0 and i + 1 < end:
        return ((b0 & 0x1F) << 6) | (int(data[i + 1]) & 0x3F), 2
    if b0 >= 0xE0 and b0 < 0xF0 and i + 2 < end:
        return ((b0 & 0x0F) << 12) | ((int(data[i + 1]) & 0x3F) << 6) | (int(data[i + 2]) & 0x3F), 3
    if b0 >= 0xF0 and b0 < 0xF5 and i + 3 < end:
        return (((b0 & 0x07) << 18) | ((int(data[i + 1]) & 0x3F) << 12)
                | ((int(data[i + 2]) & 0x3F) << 6) | (int(data[i + 3]) & 0x3F)), 4
    return 0x20, 1


def _ascii_tables() -> tuple[np.ndarray, np.ndarray]:
    cls = np.zeros(128, dtype=np.uint8)
    fold = np.arange(128, dtype=np.uint64)
    for b in range(128):
        ch = chr(b)
        if ch.isascii() and ch.isalnum():
            cls[b] = WORD
        if "A" <= ch <= "Z":
            fold[b] = b + 32
    return cls, fold


_ASCII_CLASS, _ASCII_FOLD = _ascii_tables()


@kernel
def _doc_tokens(data: np.ndarray, start: int, end: int, out: np.ndarray, ascii_class: np.ndarray,
                ascii_fold: np.ndarray, chars: bool) -> int:
    """Write the hashes of the tokens of data[start:end] into `out`; return how many.

    With `chars`, every letter or digit is a token of its own (character n-grams, separators skipped).
    """
    n = 0
    h = FNV_OFFSET
    in_word = False
    i = start
    while i < end:
        b = data[i]
        if b < 0x80:  # ASCII fast path: table lookups, no decoding
            i += 1
            if ascii_class[b] == WORD:
                if chars:
                    out[n] = mix64((FNV_OFFSET ^ ascii_fold[b]) * FNV_PRIME)
                    n += 1
                    continue
                h = (h ^ ascii_fold[b]) * FNV_PRIME
                in_word = True
            elif in_word:
                out[n] = mix64(h)
                n += 1
                h = FNV_OFFSET
                in_word = False
            continue
        cp, width = decode(data, i, end)
        i += width
        if 0x300 <= cp <= 0x36F:
            continue  # combining marks never split a word
        cls = char_class(cp)
        if cls == WORD and chars:
            cls = SOLO
            if cp == 0xDF or cp == 0x1E9E:
                out[n] = mix64((FNV_OFFSET ^ np.uint64(0x73)) * FNV_PRIME)
                n += 1
                cp = 0x73
            cp = fold_case(cp)
        if cls == WORD:
            if cp == 0xDF or cp == 0x1E9E:  # ß and ẞ case-fold to "ss", as "STRASSE" is "straße"
                h = (h ^ np.uint64(0x73)) * FNV_PRIME
                cp = 0x73
            h = (h ^ np.uint64(fold_case(cp))) * FNV_PRIME
            in_word = True
            continue
        if in_word:
            out[n] = mix64(h)
            n += 1
            h = FNV_OFFSET
            in_word = False
        if cls == SOLO:
            out[n] = mix64((FNV_OFFSET ^ np.uint64(cp)) * FNV_PRIME)
            n += 1
    if in_word:
        out[n] = mix64(h)
        n += 1
    return n


@kernel(inline=True)
def _shingle(tokens: np.ndarray, i: int, n: int) -> np.uint64:
    """Order-sensitive hash of tokens[i:i+n]: token hashes are already mixed, so a multiply-add chain
    and one final mix suffice."""
    h = np.uint64(n)
    for j in range(n):
        h = h * _ROLL + tokens[i + j]
    return mix64(h)


@kernel
def _shingle_docs(offsets: np.ndarray, data: np.ndarray, ngram: int, chars: bool, ascii_class: np.ndarray,
                  ascii_fold: np.ndarray, out: np.ndarray, out_offsets: np.ndarray,
                  exact: np.ndarray, tok_out: np.ndarray, tok_offsets: np.ndarray) -> int:
    """One pass over the documents: shingle hashes into `out`, token-stream hashes into `exact`, and the
    top 32 bits of every token hash into `tok_out` (what verification compares)."""
    ndocs = offsets.shape[0] - 1
    longest = 0
    for d in range(ndocs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    tokens = np.empty((longest + 2) if chars else (longest // 2 + 2), dtype=np.uint64)
    pos = 0
    tpos = 0
    for d in range(ndocs):
        out_offsets[d] = pos
        tok_offsets[d] = tpos
        k = _doc_tokens(data, offsets[d], offsets[d + 1], tokens, ascii_class, ascii_fold, chars)
        for t in range(k):
            tok_out[tpos + t] = np.uint32(tokens[t] >> np.uint64(32))
        tpos += k
        ha = np.uint64(0x243F6A8885A308D3)
        hb = np.uint64(0x13198A2E03707344)
        for t in range(k):  # two independent polynomial hashes make the 128-bit exact key
            ha = ha * _ROLL + tokens[t]
            hb = hb * _ROLL2 + (tokens[t] ^ _GOLDEN)
        exact[d, 0] = mix64(ha ^ np.uint64(k))
        exact[d, 1] = mix64(hb + np.uint64(k))
        if k == 0:
            continue
        if k < ngram:
            out[pos] = _shingle(tokens, 0, k)
            pos += 1
            continue
        for i in range(k - ngram + 1):
            out[pos] = _shingle(tokens, i, ngram)
            pos += 1
    out_offsets[ndocs] = pos
    tok_offsets[ndocs] = tpos
    return pos


def string_buffers(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The (offsets, data) buffers of a string array as int64/uint8 NumPy views, zero-copy where possible."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if texts.null_count:
        texts = texts.fill_null("")
    if pa.types.is_string(texts.type):
        texts = texts.cast(pa.large_string())
    _, off_buf, data_buf = texts.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64, count=len(texts) + 1, offset=texts.offset * 8)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    return offsets, data


def shingle_hashes(texts: pa.Array | pa.ChunkedArray, ngram: int = 3, chars: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shingle hashes of every document, plus a 128-bit hash of each document's token stream.

    Returns `(offsets, hashes, exact)`: document `d` owns `hashes[offsets[d]:offsets[d+1]]` (uint64, in
    text order, duplicates included); a document with fewer than `ngram` tokens gets one shingle of all
    its tokens, an empty one none. `exact` is uint64[n, 2]: equal rows mean equal token streams, i.e. the
    same words in the same order whatever the case, spacing or punctuation. With `chars`, tokens are
    single characters (letters and digits), so shingles are character n-grams.
    """
    offsets, hashes, exact, _, _ = shingles_and_tokens(texts, ngram, chars)
    return offsets, hashes, exact


def shingles_and_tokens(texts: pa.Array | pa.ChunkedArray, ngram: int = 3, chars: bool = False
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`shingle_hashes` plus each document's token sequence from the same pass: `(offsets, hashes, exact,
    token_offsets, tokens)`, tokens as uint32 (the top bits of the token hashes, in text order).

    Verification keeps the tokens rather than the shingles: shingles are recomputed from them on the fly
    (`semel.lsh.shingles_of`) for the same memory, and the tokens also show how two documents differ
    (a name substituted throughout a template, or scattered edits)."""
    if ngram < 1:
        raise ValueError("ngram must be >= 1")
    offsets, data = string_buffers(texts)
    n = len(offsets) - 1
    # a token needs at least one byte and one separator, so tokens (hence shingles) <= (bytes + 1) / 2
    capacity = int((offsets[-1] - offsets[0]) + n) // (1 if chars else 2) + 1
    out = np.empty(capacity, dtype=np.uint64)
    out_offsets = np.empty(n + 1, dtype=np.int64)
    exact = np.empty((n, 2), dtype=np.uint64)
    tok_out = np.empty(capacity, dtype=np.uint32)
    tok_offsets = np.empty(n + 1, dtype=np.int64)
    used = _shingle_docs(offsets, data, ngram, chars, _ASCII_CLASS, _ASCII_FOLD, out, out_offsets, exact,
                         tok_out, tok_offsets)
    return out_offsets, out[:used].copy(), exact, tok_offsets, tok_out[:int(tok_offsets[-1])].copy()
