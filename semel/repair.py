"""Inside-document repair: remove text a scraper wrote twice in a row, keep the first copy.

The defect it repairs is the one in ``tests/data/seed_windows_it.txt``: a page assembled from overlapping
windows of its paragraphs (``p1``, ``p1 p2``, ``p2 p3``, ...), written as blocks, as lines, or glued into
running text ("S1 S2 S2 S3 S3 S4"). Its signature is a *tandem repeat*: a run of units equal to the units
right before it. So the kernel walks the smallest units (sentences, or lines with ``units`` without
"sentence") left to right and drops a run that equals the units kept just before it; a repeat further
away (a note said again in another section, a second code listing, the holder lines of a second
``Files:`` stanza) is never touched.

Documentation, code and poems repeat units on purpose too, so a run goes only when it looks like running
text (`semel.text.layout`):

- every line it touches has letters (never RST underlines, table borders, ASCII art), it is not indented
  deeper than most of the document (code, program output, option descriptions), at least half of its
  characters are letters and at least 80% of its tokens are words or numbers, not code ("icmp_seq=1",
  "<nr", "f(x)");
- it starts a sentence and ends one, or ends a long line (a paragraph written on one line): never half a
  sentence, so nothing is left dangling;
- its normalised form has at least `min_chars` characters, and so has the block it repeats when the run
  is that block said several times ("Thank you. Thank you.");
- it is not a refrain: three equal units in a row are meant, and so are short lines (under 80 columns)
  said twice inside one block ("Puttin' on the Ritz.", a table row, a line of output).

On this machine's Linux 6.1 documentation and man pages these rules change under 0.1% of the documents
(the previous kernel, which removed any repeat anywhere, changed 45% and 39%, all wrongly when read),
while windowed news articles are still repaired.

Several passes run over the kept units until one finds nothing, so a second `repair` changes nothing (a
removal can put two equal runs side by side). The output is rebuilt from the original characters: kept
units are copied as they are and, where units were removed between two kept ones, the strongest original
separator in that gap (the one with most newlines) joins them, so paragraphs stay paragraphs and lines
stay lines. A document with nothing repeated is returned unchanged, byte for byte.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from semel.text import layout
from semel.text.normalize import normalize_unit
from semel.text.segment import Segments, segment

UNITS: tuple[str, ...] = ("paragraph", "line", "sentence")

#: Runs whose normalised form is shorter than this are never removed. 30 characters is about a short
#: sentence ("Thank you all for coming."); below it repeats are often meant (refrains, "Yes.", table
#: cells, dialogue).
DEFAULT_MIN_CHARS = 30
#: A line at least this wide is a paragraph written on one line, not a hard-wrapped line, a table row or a
#: line of code (those stay within 80 columns by convention): a run may end with it without ending a
#: sentence, and it may be said twice inside one block.
LONG_LINE = 80
#: Passes over the kept units; the first almost always finds everything and the second nothing.
MAX_PASSES = 8
#: Earlier copies of a unit tried as the start of the copy a run repeats (the nearest first).
_CANDIDATES = 16


@dataclass(frozen=True, slots=True)
class Span:
    """A removed stretch ``text[start:end]`` and the first occurrence it repeats.

    The kept twin is ``text[kept_start:kept_end]``.

    Offsets are Python string indices (code points) into the original text. `kind` is the unit level at
    which the repeat was found: "paragraph", "line" or "sentence".
    """

    start: int
    end: int
    kept_start: int
    kept_end: int
    kind: str

    def to_dict(self) -> dict[str, int | str]:
        return asdict(self)


@dataclass(slots=True)
class RepairStats:
    """Counts for one document: units seen and removed per level, characters in, out and removed."""

    paragraphs: int = 0
    lines: int = 0
    sentences: int = 0
    removed_paragraphs: int = 0
    removed_lines: int = 0
    removed_sentences: int = 0
    chars_in: int = 0
    chars_out: int = 0

    @property
    def chars_removed(self) -> int:
        return self.chars_in - self.chars_out

    def to_dict(self) -> dict[str, int]:
        d = asdict(self)
        d["chars_removed"] = self.chars_removed
        return d


@dataclass(slots=True)
class RepairResult:
    """What `repair` returns: the repaired text, the removed spans (in text order) and the counts."""

    text: str
    removed: list[Span] = field(default_factory=list)
    stats: RepairStats = field(default_factory=RepairStats)

    @property
    def changed(self) -> bool:
        return bool(self.removed)


def unit_key(unit: str) -> str:
    """What two units of one document must share to be one text said twice: `normalize_unit` keeping case.

    Case is kept because inside one document a case difference is meant (``%s`` and ``%S`` in a format
    table, ``-c`` and ``-C`` options); a scraper's second copy repeats the case of the first.
    """
    return normalize_unit(unit, fold_case=False)


def _check_units(units: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(units)
    bad = chosen - set(UNITS)
    if bad:
        raise ValueError(f"unknown unit(s) {', '.join(sorted(bad))}; choose from {', '.join(UNITS)}")
    return chosen


def repair(text: str, min_chars: int = DEFAULT_MIN_CHARS, units: Iterable[str] = UNITS) -> RepairResult:
    """Remove runs of units that repeat the text right before them, keeping the first copy as written.

    `min_chars`: runs whose normalised form is shorter are left alone. `units`: what a removed run may be
    ("paragraph": whole paragraphs, "line": whole lines, "sentence": any run of sentences); units are compared
    by `unit_key`. See the module docstring for what counts as a repeat.
    """
    chosen = _check_units(units)
    seg = segment(text, sentences="sentence" in chosen)
    spans = seg.sentences
    stats = RepairStats(
        paragraphs=seg.n_paragraphs, lines=seg.n_lines, sentences=len(spans) if "sentence" in chosen else 0,
        chars_in=len(text), chars_out=len(text),
    )
    keys = [unit_key(text[s:e]) for s, e in spans]
    if not _may_repeat(keys, min_chars):
        return RepairResult(text, [], stats)
    atoms = _Atoms(text, seg, keys)
    alive = list(range(len(spans)))
    dropped: list[tuple[list[int], list[int], str]] = []
    for _ in range(MAX_PASSES):
        runs, alive = _tandem_pass(atoms, alive, min_chars, chosen)
        if not runs:
            break
        dropped += runs
    if not dropped:
        return RepairResult(text, [], stats)
    copy_of: dict[int, int] = {}  # removed atom -> the atom it repeats (maybe removed by a later pass)
    for run, twin, _kind in dropped:
        copy_of.update(zip(run, twin, strict=True))
    removed = bytearray(len(spans))
    out_spans: list[Span] = []
    for run, twin, kind in dropped:
        _record(run, [_original(copy_of, a) for a in twin], kind, atoms, removed, out_spans, stats)
    out_spans.sort(key=lambda s: s.start)
    repaired = _reassemble(text, spans, removed)
    stats.chars_out = len(repaired)
    return RepairResult(repaired, out_spans, stats)


class _Atoms:
    """What the run rules need to know about the atoms (sentences, or lines) of one text and their lines.

    Cheap facts are computed for every atom; line widths only for the lines of candidate runs.
    """

    __slots__ = ("text", "spans", "keys", "line", "para", "ends", "lower_start", "indented", "line_letters",
                 "line_spans", "chant", "_width")

    def __init__(self, text: str, seg: Segments, keys: list[str]) -> None:
        n = len(keys)
        self.text, self.spans, self.keys = text, seg.sentences, keys
        self.line = [0] * n
        self.para = [0] * n
        for j in range(seg.n_paragraphs):
            for i in range(seg.para_first[j], seg.para_first[j + 1]):
                for a in range(seg.line_first[i], seg.line_first[i + 1]):
                    self.line[a] = i
                    self.para[a] = j
        spans = self.spans
        self.ends = [layout.ends_sentence(text, s, e) for s, e in spans]
        has_letter = [layout.has_letter(k) for k in keys]
        for a in range(1, n):  # "... in città. —": a trailing dash or symbol keeps the sentence's end
            if not has_letter[a] and self.line[a - 1] == self.line[a]:
                self.ends[a] = self.ends[a] or self.ends[a - 1]
        self.lower_start = [text[s].islower() for s, _ in spans]
        self.line_spans = [(spans[seg.line_first[i]][0], spans[seg.line_first[i + 1] - 1][1])
                           for i in range(seg.n_lines)]
        indents = [layout.indent(text, s) for s, _ in self.line_spans]
        # The base indentation is weighed by first occurrences only: repair keeps those and removes only
        # later copies, so a second pass over the repaired text finds the same base (a repeated line at
        # another indentation must not move it).
        fresh = [0] * seg.n_lines
        seen: set[str] = set()
        for a, key in enumerate(keys):
            if key not in seen:
                seen.add(key)
                fresh[self.line[a]] += spans[a][1] - spans[a][0]
        base = layout.base_indent(indents, fresh)
        self.indented = [indents[line] > base for line in self.line]
        self.line_letters = [False] * seg.n_lines
        for a, line in enumerate(self.line):
            self.line_letters[line] = self.line_letters[line] or has_letter[a]
        self.chant = [False] * n  # in three or more equal units in a row, said on purpose
        a = 0
        while a < n:
            b = a + 1
            while b < n and keys[b] == keys[a]:
                b += 1
            if b - a >= 3:
                self.chant[a:b] = [True] * (b - a)
            a = b
        self._width: list[int] = [-1] * seg.n_lines

    def width(self, line: int) -> int:
        """Display width of a line (without its indentation)."""
        if self._width[line] < 0:
            s, e = self.line_spans[line]
            self._width[line] = layout.width(self.text[s:e])
        return self._width[line]

    def starts_text(self, prev: int, a: int) -> bool:
        """Whether atom `a`, kept after atom `prev` (-1: none), begins a sentence: at a paragraph start, at
        a line start that does not continue the line before in lower case, or after a sentence end."""
        if prev < 0 or self.para[prev] != self.para[a]:
            return True
        if self.line[prev] != self.line[a]:
            return not self.lower_start[a]
        return self.ends[prev]


def _tandem_pass(atoms: _Atoms, alive: list[int], min_chars: int, chosen: frozenset[str]
                 ) -> tuple[list[tuple[list[int], list[int], str]], list[int]]:
    """One left-to-right pass: drop every run of alive atoms equal to the atoms kept just before it (the
    longest such run that passes `_run_kind`). Returns the runs dropped (run, twin, kind) and the atoms
    kept, in order."""
    keys = atoms.keys
    kept: list[int] = []
    where: dict[str, list[int]] = {}  # key -> positions in `kept`
    runs: list[tuple[list[int], list[int], str]] = []
    n = len(alive)
    q = 0
    while q < n:
        a = alive[q]
        best, best_kind = 0, ""
        prev = kept[-1] if kept else -1
        earlier = where.get(keys[a])
        if earlier and atoms.starts_text(prev, a):
            for p in reversed(earlier[-_CANDIDATES:]):
                m = len(kept) - p
                if q + m > n:
                    break
                if all(keys[alive[q + t]] == keys[kept[p + t]] for t in range(1, m)):
                    kind = _run_kind(atoms, alive[q:q + m], kept[p], prev, alive[q + m] if q + m < n else -1,
                                     min_chars)
                    if kind and (kind in chosen or "sentence" in chosen or (
                            kind == "paragraph" and "line" in chosen)):
                        best, best_kind = m, kind
        if best:
            runs.append((alive[q:q + best], kept[len(kept) - best:], best_kind))
            q += best
            continue
        where.setdefault(keys[a], []).append(len(kept))
        kept.append(a)
        q += 1
    return runs, kept


def _run_kind(atoms: _Atoms, run: list[int], twin: int, prev: int, nxt: int, min_chars: int) -> str:
    """What a run repeating the kept atoms from `twin` to `prev` is ("paragraph": whole paragraphs, "line":
    whole lines, "sentence"), or "" when it must stay (see the module docstring). `nxt` is the atom after
    the run (-1: none)."""
    first, last = run[0], run[-1]
    line = atoms.line
    if not atoms.ends[last] and (atoms.width(line[last]) < LONG_LINE or nxt >= 0 and (
            line[nxt] == line[last] or atoms.para[nxt] == atoms.para[last] and atoms.lower_start[nxt])):
        return ""  # it stops mid-sentence, or it is a short line: a heading, a table row, code
    if len(run) > 1 and _period_chars(atoms.keys, run) < min_chars:
        return ""  # "Thank you. Thank you.": a short unit said again, not a repeated window
    if (atoms.para[prev] == atoms.para[first] and (twin == 0 or line[twin - 1] != line[twin])
            and (last + 1 == len(line) or line[last + 1] != line[last])
            and any(atoms.width(line[a]) < LONG_LINE for a in (first, last))):
        return ""  # short lines said twice in one block: a refrain, a table row, output; not a window
    if any(atoms.indented[a] or atoms.chant[a] or not atoms.line_letters[line[a]] for a in run):
        return ""
    body = " ".join([atoms.keys[a] for a in run])
    if len(body) < min_chars or 2 * layout.letters(body) < len(body) - body.count(" "):
        return ""
    code, tokens = layout.code_tokens(body)
    if 5 * code > tokens:
        return ""  # more than a fifth of its tokens are code: "icmp_seq=1 ttl=64", "<nr of objects>"
    for level in (atoms.para, line):
        if level[prev] != level[first] and (nxt < 0 or level[nxt] != level[last]):
            return "paragraph" if level is atoms.para else "line"
    return "sentence"


def _period_chars(keys: list[str], run: list[int]) -> int:
    """Normalised length of the shortest block whose repetition makes up `run` (the whole run if none)."""
    seq = [keys[a] for a in run]
    border = [0] * (len(seq) + 1)  # KMP failure function: the shortest period is len - border
    k = 0
    for i in range(1, len(seq)):
        while k and seq[i] != seq[k]:
            k = border[k]
        if seq[i] == seq[k]:
            k += 1
        border[i + 1] = k
    period = len(seq) - border[len(seq)]
    if len(seq) % period:
        period = len(seq)
    return sum(len(key) for key in seq[:period]) + period - 1


def _original(copy_of: dict[int, int], a: int) -> int:
    """The kept atom that atom `a` is a copy of (itself if kept)."""
    while a in copy_of:
        a = copy_of[a]
    return a


def _record(run: list[int], twin: list[int], kind: str, atoms: _Atoms, removed: bytearray,
            out_spans: list[Span], stats: RepairStats) -> None:
    """Mark a dropped run and add one span per stretch of atoms it removes from the original text whose
    kept twins are consecutive too (a run's twins can be out of order once earlier copies were themselves
    removed: "S1 S0" repeating a kept "S0 S1" is two spans, each pointing at its own twin)."""
    spans = atoms.spans
    start = -1
    for k, a in enumerate(run):
        removed[a] = 1
        if start < 0:
            start, first_twin = a, twin[k]
        if k + 1 == len(run) or run[k + 1] != a + 1 or twin[k + 1] != twin[k] + 1:
            out_spans.append(Span(spans[start][0], spans[a][1], spans[first_twin][0], spans[twin[k]][1],
                                  kind))
            start = -1
    if kind == "paragraph":
        stats.removed_paragraphs += len({atoms.para[a] for a in run})
    elif kind == "line":
        stats.removed_lines += len({atoms.line[a] for a in run})
    else:
        stats.removed_sentences += len(run)


def _may_repeat(keys: list[str], min_chars: int) -> bool:
    """False when no unit can repeat an earlier one, so `repair` may return the text as it is.

    The first run `repair` removes follows its twin directly (nothing was removed before it) and both
    are ``" ".join(keys[a0:a1])`` for consecutive atoms, of at least `min_chars` characters: the
    substrings of ``" ".join(keys)`` that start at the two runs' first atoms then agree on their next
    ``min(min_chars, 32)`` characters. No two atoms starting alike means nothing can be removed.
    """
    if len(keys) < 2:
        return False
    if min_chars <= 0:
        return True
    width = min(min_chars, 32)
    doc = " ".join(keys)
    limit = len(doc) - min_chars
    seen: set[str] = set()
    pos = 0
    for k in keys:
        if pos > limit:
            break
        head = doc[pos:pos + width]
        if head in seen:
            return True
        seen.add(head)
        pos += len(k) + 1
    return False


def _reassemble(text: str, spans: list[tuple[int, int]], removed: bytearray) -> str:
    """Kept units in order, joined by the strongest original separator of each gap."""
    parts: list[str] = []
    prev = -1
    for a, (s, e) in enumerate(spans):
        if removed[a]:
            continue
        if prev < 0:
            parts.append(text[:s])
        elif a == prev + 1:
            parts.append(text[spans[prev][1]:s])
        else:
            best, best_nl = "", -1
            for g in range(prev, a):
                sep = text[spans[g][1]:spans[g + 1][0]]
                nl = sep.count("\n")
                if nl > best_nl:
                    best, best_nl = sep, nl
            parts.append(best)
        parts.append(text[s:e])
        prev = a
    parts.append(text[spans[-1][1]:])
    return "".join(parts)
