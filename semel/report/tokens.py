"""Word n-grams as text: map semel's shingle hashes back to the words they were made of.

`semel.text.tokens` hashes tokens straight from UTF-8 bytes and never builds strings. To show a user
*which* n-grams two documents share, this module finds the same tokens as Python string spans, using the
tokenizer's own character classes (`char_class.py_func`, the uncompiled function) so both always agree,
and checks the count against `shingle_hashes` before trusting the mapping.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from semel.text.tokens import SOLO, WORD, char_class, shingle_hashes

_char_class = getattr(char_class, "py_func", char_class)


def token_spans(text: str, chars: bool = False) -> list[tuple[int, int]]:
    """(start, end) code-point offsets of each token, as `semel.text.tokens` splits the text (with
    `chars`, every letter or digit is a token, as for `--shingle char`)."""
    spans: list[tuple[int, int]] = []
    start = -1
    for i, ch in enumerate(text):
        cp = ord(ch)
        if 0x300 <= cp <= 0x36F:
            continue  # combining marks never split a word
        cls = _char_class(cp)
        if cls == WORD and chars:
            cls = SOLO
            if cp in (0xDF, 0x1E9E):  # folds to "ss": two tokens
                spans.append((i, i + 1))
        if cls == WORD:
            if start < 0:
                start = i
            continue
        if start >= 0:
            spans.append((start, i))
            start = -1
        if cls == SOLO:
            spans.append((i, i + 1))
    if start >= 0:
        spans.append((start, len(text)))
    return spans


def shingles_with_text(text: str, ngram: int, chars: bool = False
                       ) -> tuple[np.ndarray, list[tuple[int, int]] | None]:
    """The document's shingle hashes in text order and, when the tokenizers agree, the (start, end)
    character span of each shingle (None when they do not, e.g. malformed input)."""
    _, hashes, _ = shingle_hashes(pa.array([text], pa.large_string()), ngram, chars)
    toks = token_spans(text, chars)
    k = len(toks)
    expected = 0 if k == 0 else (1 if k < ngram else k - ngram + 1)
    if expected != len(hashes):
        return hashes, None
    if k < ngram:
        return hashes, [(toks[0][0], toks[-1][1])] if k else []
    return hashes, [(toks[i][0], toks[i + ngram - 1][1]) for i in range(k - ngram + 1)]
