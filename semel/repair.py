"""Inside-document repair: remove repeated paragraphs, lines and sentences, keep the first occurrence.

The kernel is a pure function on one string. It walks the unit hierarchy of `semel.text.segment` once
(paragraph → its lines → their sentences), keeps a hash map from the normalised form of every unit seen so
far to the span of its first occurrence, and drops a unit whose normalised form is already there. That
catches whole repeated paragraphs and lines, and also the overlapping windows a scraper writes when it
glues chunks into running text ("S1 S2 S2 S3 S3 S4"): the repeated sentences go and the new ones stay.
When a line or paragraph loses some sentences, what is left of it is compared and remembered too, so a
second pass finds nothing more (repair is idempotent).

The output is rebuilt from the original characters: kept units are copied as they are and, where units were
removed between two kept ones, the strongest original separator in that gap (the one with most newlines)
joins them, so paragraphs stay paragraphs and lines stay lines. A document with nothing repeated is
returned unchanged, byte for byte. Time and memory are linear in the length of the text.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from semel.text.normalize import normalize_unit
from semel.text.segment import segment

UNITS: tuple[str, ...] = ("paragraph", "line", "sentence")

#: Units whose normalised form is shorter than this are never removed. 30 characters is about a short
#: sentence ("Thank you all for coming."); below it repeats are often meant (refrains, "* * *" separators,
#: "Yes.", table cells, dialogue), above it an exact repeat inside one document is almost always a
#: scraping or templating artefact.
DEFAULT_MIN_CHARS = 30


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


def _check_units(units: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(units)
    bad = chosen - set(UNITS)
    if bad:
        raise ValueError(f"unknown unit(s) {', '.join(sorted(bad))}; choose from {', '.join(UNITS)}")
    return chosen


def repair(text: str, min_chars: int = DEFAULT_MIN_CHARS, units: Iterable[str] = UNITS) -> RepairResult:
    """Remove repeated units from `text`, keeping each first occurrence in its original form.

    `min_chars`: units whose normalised form is shorter are left alone. `units`: which levels to compare
    ("paragraph", "line", "sentence"); comparison uses `semel.text.normalize.normalize_unit`.
    """
    chosen = _check_units(units)
    do_para, do_line, do_sent = "paragraph" in chosen, "line" in chosen, "sentence" in chosen
    seg = segment(text, sentences=do_sent)
    spans = seg.sentences
    line_first, para_first = seg.line_first, seg.para_first
    stats = RepairStats(
        paragraphs=seg.n_paragraphs, lines=seg.n_lines, sentences=len(spans) if do_sent else 0,
        chars_in=len(text), chars_out=len(text),
    )
    keys = [normalize_unit(text[s:e]) for s, e in spans]
    if not _may_repeat(keys, min_chars):
        return RepairResult(text, [], stats)
    removed = bytearray(len(spans))
    seen: dict[str, tuple[int, int]] = {}
    out_spans: list[Span] = []

    def drop(a0: int, a1: int, twin: tuple[int, int], kind: str) -> None:
        """Remove the not-yet-removed atoms in [a0, a1), recording one span per contiguous run."""
        run_start = -1
        for a in range(a0, a1 + 1):
            alive = a < a1 and not removed[a]
            if alive:
                removed[a] = 1
                if run_start < 0:
                    run_start = a
            elif run_start >= 0:
                out_spans.append(Span(spans[run_start][0], spans[a - 1][1], twin[0], twin[1], kind))
                run_start = -1

    def check(key: str, span: tuple[int, int]) -> tuple[int, int] | None:
        """The first occurrence of `key` if it was seen before; otherwise remember it and return None."""
        if len(key) < min_chars:
            return None
        twin = seen.get(key)
        if twin is None:
            seen[key] = span
        return twin

    def check_rest(a0: int, a1: int, kind: str) -> bool:
        """After removals inside [a0, a1): compare what is left as a unit; drop it if it repeats."""
        kept = [a for a in range(a0, a1) if not removed[a]]
        if not kept:
            return False
        rest = (spans[kept[0]][0], spans[kept[-1]][1])
        twin = check(" ".join([keys[a] for a in kept]), rest)
        # a twin inside this very unit (e.g. the rest of a paragraph equals one of its own lines) is no repeat
        if twin is not None and twin[1] <= spans[a0][0]:
            drop(a0, a1, twin, kind)
            return True
        return False

    for j in range(seg.n_paragraphs):
        l0, l1 = para_first[j], para_first[j + 1]
        p0, p1 = line_first[l0], line_first[l1]
        if do_para:
            twin = check(" ".join(keys[p0:p1]), (spans[p0][0], spans[p1 - 1][1]))
            if twin is not None:
                drop(p0, p1, twin, "paragraph")
                stats.removed_paragraphs += 1
                continue
        para_touched = False
        for i in range(l0, l1):
            a0, a1 = line_first[i], line_first[i + 1]
            line_done = do_para and l1 - l0 == 1  # the paragraph key was this line's key
            if do_line and not line_done:
                line_done = True
                twin = check(" ".join(keys[a0:a1]), (spans[a0][0], spans[a1 - 1][1]))
                if twin is not None:
                    drop(a0, a1, twin, "line")
                    stats.removed_lines += 1
                    para_touched = True
                    continue
            if not do_sent or (line_done and a1 - a0 == 1):
                continue
            line_touched = False
            for a in range(a0, a1):
                twin = check(keys[a], spans[a])
                if twin is not None:
                    drop(a, a + 1, twin, "sentence")
                    stats.removed_sentences += 1
                    line_touched = True
            if line_touched:
                para_touched = True
                if check_rest(a0, a1, "line"):
                    stats.removed_lines += 1
        if para_touched and check_rest(p0, p1, "paragraph"):
            stats.removed_paragraphs += 1

    if not out_spans:
        return RepairResult(text, [], stats)
    out_spans.sort(key=lambda s: s.start)
    repaired = _reassemble(text, spans, removed)
    stats.chars_out = len(repaired)
    return RepairResult(repaired, out_spans, stats)


def _may_repeat(keys: list[str], min_chars: int) -> bool:
    """False when no unit can repeat an earlier one, so `repair` may return the text as it is.

    Every key `repair` compares (a paragraph's, a line's, a sentence's, or what is left of one) is
    ``" ".join(keys[a0:a1])`` for consecutive atoms, i.e. the substring of ``" ".join(keys)`` that starts
    where atom `a0`'s key starts; two disjoint units with the same key of at least `min_chars` characters
    therefore start at two atoms whose next ``min(min_chars, 32)`` characters of that string are equal.
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
