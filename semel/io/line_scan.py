"""One pass over a block of JSON lines: where each line ends, and which lines need a second look.

Arrow's JSON parser accepts `NaN`, `Infinity` and nesting of any depth, which orjson (what rewrites a
record) refuses; the reader parses such lines again with orjson (semel.io.jsonl). Finding them with
`bytes.find`/`bytes.count` and the line ends with NumPy took ~36 ms per 16 MiB block, a quarter of the
reader's time on the main thread; the kernel reads eight bytes at a time and stops only at words holding
one of the five bytes of interest (~8 ms).
"""
from __future__ import annotations

import numpy as np

from semel.jit import kernel

_ONES = np.uint64(0x0101010101010101)
_HIGH = np.uint64(0x8080808080808080)
NL, OPEN_LIST, OPEN_OBJECT = 10, 91, 123
_INFINITY = b"Infinity"
_INFINITY_BYTES = np.frombuffer(_INFINITY, dtype=np.uint8).copy()


def _scan_with_numpy(buf: np.ndarray, max_depth: int) -> tuple[np.ndarray, np.ndarray]:
    """`scan_lines` for interpreted runs: the same answers from NumPy and bytes methods."""
    ends = np.flatnonzero(buf == NL) + 1
    block = buf.tobytes()
    lines: set[int] = set()
    if block.count(b"[") + block.count(b"{") >= max_depth:  # else no line can hold max_depth openers
        openers = np.flatnonzero((buf == OPEN_LIST) | (buf == OPEN_OBJECT))
        per_line = np.bincount(np.searchsorted(ends, openers, side="right"), minlength=len(ends))
        lines.update(np.flatnonzero(per_line >= max_depth).tolist())
    for word in (b"NaN", _INFINITY):
        at = block.find(word)
        while at >= 0:
            line = int(np.searchsorted(ends, at, side="right"))
            lines.add(line)
            at = block.find(word, int(ends[line])) if line < len(ends) else -1
    return ends, np.array(sorted(lines), dtype=np.int64)


@kernel(inline=True)
def _holds(word: np.uint64, byte: int) -> np.uint64:
    """Non-zero when one of the eight bytes of `word` equals `byte`."""
    x = word ^ (_ONES * np.uint64(byte))
    return (x - _ONES) & ~x & _HIGH


@kernel(interpreted_by=_scan_with_numpy)
def scan_lines(buf: np.ndarray, max_depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(ends, suspects) of a block of lines `buf` (uint8): `ends[i]` is the position after line i's
    newline; `suspects` the lines (ascending) that contain `NaN` or `Infinity`, or at least `max_depth`
    `[` and `{`."""
    n = buf.shape[0]
    ends = np.empty(n // 256 + 16, dtype=np.int64)
    n_ends = 0
    suspects = np.empty(16, dtype=np.int64)
    n_suspects = 0
    line = 0
    openers = 0
    flagged = False
    words = buf[:n - n % 8].view(np.uint64)
    n_words = words.shape[0]
    for w in range(n_words + 1):
        if w < n_words:
            word = words[w]
            if (_holds(word, NL) | _holds(word, OPEN_LIST) | _holds(word, OPEN_OBJECT) | _holds(word, 78)
                    | _holds(word, 73)) == 0:  # no newline, opener, "N" or "I": nothing to do
                continue
            lo, hi = w * 8, w * 8 + 8
        else:
            lo, hi = n_words * 8, n
        for i in range(lo, hi):
            c = buf[i]
            if c == NL:
                if n_ends == ends.shape[0]:
                    grown = np.empty(2 * n_ends, dtype=np.int64)
                    grown[:n_ends] = ends
                    ends = grown
                ends[n_ends] = i + 1
                n_ends += 1
                if flagged or openers >= max_depth:
                    if n_suspects == suspects.shape[0]:
                        grown = np.empty(2 * n_suspects, dtype=np.int64)
                        grown[:n_suspects] = suspects
                        suspects = grown
                    suspects[n_suspects] = line
                    n_suspects += 1
                line += 1
                openers = 0
                flagged = False
            elif c == OPEN_LIST or c == OPEN_OBJECT:
                openers += 1
            elif c == 78:  # N of NaN
                if i + 2 < n and buf[i + 1] == 97 and buf[i + 2] == 78:
                    flagged = True
            elif c == 73 and i + 7 < n:  # I of Infinity
                same = True
                for j in range(1, 8):
                    if buf[i + j] != _INFINITY_BYTES[j]:
                        same = False
                        break
                flagged = flagged or same
    if flagged or openers >= max_depth:  # a last line without a newline
        if n_suspects == suspects.shape[0]:
            grown = np.empty(n_suspects + 1, dtype=np.int64)
            grown[:n_suspects] = suspects
            suspects = grown
        suspects[n_suspects] = line
        n_suspects += 1
    return ends[:n_ends], suspects[:n_suspects]

