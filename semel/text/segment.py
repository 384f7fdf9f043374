"""Splitting text into paragraphs, lines and sentences, with exact character offsets.

Every unit is a ``(start, end)`` span of the original string with surrounding whitespace excluded, so the
text between two units (the *separator*) is always whitespace and the original can be rebuilt byte for
byte from the spans. Definitions:

- **line**: the text between two ``\\n`` (a trailing ``\\r`` counts as whitespace); blank lines are not units.
- **paragraph**: a maximal run of non-blank lines (blank lines separate paragraphs).
- **sentence**: a stretch of a line ended by terminal punctuation. A small rule engine, not a model: it
  splits after ``.`` ``!`` ``?`` ``…`` (plus closing quotes or brackets) followed by whitespace and a
  character that is not a lower-case letter, unless the word before a single ``.`` is a known abbreviation
  (it, en, de, fr, es), an initial (``J.``), a dotted abbreviation (``z.B.``, ``U.S.``) or a one- or
  two-digit number (German ordinals, list numbers). Decimals and thousands (``3.5``, ``1.000``) never split
  since no whitespace follows the dot. In scripts written without spaces (Chinese, Japanese) it splits after
  ``。！？｡`` with or without whitespace. Thai has no sentence punctuation: a Thai line stays one sentence.
  Sentences never cross a line break.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Words (case-folded, without the final dot) that end with "." without ending a sentence.
ABBREVIATIONS: frozenset[str] = frozenset(
    # Italian
    "dott dott.ssa dr dr.ssa sig sigg sig.ra sig.na ecc ing avv prof prof.ssa on sen gen col cap magg ten "
    "pag pagg fig art artt n nr num vol cfr es ca p pp s ss sgg seg segg tel geom arch rag mons don spett "
    "egr gent ill rev vs v"
    # English
    " mr mrs ms mssrs messrs dr prof sr jr st mt ft vs etc no nos vol vols fig figs ca approx dept est inc "
    "ltd co corp bros jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri "
    "sat sun gen gov sen rep rev capt col lt sgt maj cmdr adm cf al pp ed eds op ch sec pt ave blvd rd "
    # German
    " bzw usw ca vgl nr hr hrn fr frl str bspw ggf evtl inkl zzgl exkl max min mio mrd abs jh jhd sog "
    "geb gest tel allg bes bzgl dgl eigtl erg evtl gegr hg hrsg insb kap lt mind ca urspr vs zit ziff "
    # French
    " m mm mme mmes mlle mlles dr pr me mes st ste cf etc av apr env vol chap éd ibid boul bd "
    # Spanish
    " sr sra srta sres sras dr dra lic ing arq prof ud uds vd vds etc pág págs núm art cap av avda fig "
    "aprox ej dña dª d sto sta"
    .split()
)

_OPENERS = "\"'“‘«„‚([{¿¡"
_CLOSERS = "\"'”’»)\\]}"
# A Latin-style terminal run followed by whitespace, or a CJK terminal run (no whitespace needed).
_BOUNDARY = re.compile(
    rf"(?:(?P<latin>[.!?…]+)[{_CLOSERS}]*|[。！？｡]+[{_CLOSERS}」』】〕）〉》]*)(?P<gap>\s*)"
)
# The same boundaries, as `segment` scans a whole text: only those `sentence_spans` looks at further, i.e. a
# Latin run followed by whitespace (not a newline) and a character on the same line, or a CJK run followed
# by a character on the same line. Possessive quantifiers: no backtracking into a shorter run.
_CANDIDATE = re.compile(
    rf"(?=[.!?…。！？｡])(?:(?P<latin>[.!?…]++)[{_CLOSERS}]*+(?P<gap>[^\S\n]++)"
    rf"|[。！？｡]++[{_CLOSERS}」』】〕）〉》]*+(?P<cgap>[^\S\n]*+))(?=\S)"
)
_DOTTED = re.compile(r"(?:[^\W\d_]{1,4}\.)+[^\W\d_]{1,4}")


def _ends_sentence(text: str, m: re.Match[str], start: int, next_char: str) -> bool:
    """Whether a Latin terminal run `m` (inside a sentence that began at `start`) ends the sentence."""
    if next_char.islower():
        return False  # "ecc. e poi", "z.B. das": a new sentence does not start in lower case
    if m.end("latin") - m.start("latin") != 1 or m.group("latin") != "." or m.end("latin") != m.start("gap"):
        return True  # "!", "?", "...", or '."' with a closing quote
    dot = m.start("latin")
    return _word_ends_sentence(text[max(start, text.rfind(" ", start, dot) + 1):dot])


def _word_ends_sentence(before: str) -> bool:
    """Whether a single "." after `before` (the sentence's text after its last space) ends a sentence."""
    words = before.split()
    if not words:
        return True
    word = words[-1].lstrip(_OPENERS)
    if not word:
        return True
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "J. R. R. Tolkien", "M. Dupont"
    if word.isdigit():
        return len(word) > 2  # "am 3. Oktober", "1. Introduction"; "in 1999. Then" splits
    if word.casefold() in ABBREVIATIONS:
        return False
    return not ("." in word and _DOTTED.fullmatch(word))


#: `_word_ends_sentence` of texts seen before (a pure function of a short string), bounded.
_WORD_CACHE: dict[str, bool] = {}


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as ``(start, end)`` spans with whitespace excluded.

    Meant for one line (sentences never cross a newline in `segment`), but works on any stretch.
    """
    if end is None:
        end = len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return []
    spans: list[tuple[int, int]] = []
    s = start
    for m in _BOUNDARY.finditer(text, start, end):
        b, nxt = m.start("gap"), m.end()
        if nxt >= end:
            break
        if m.start("latin") >= 0:
            if b == nxt or not _ends_sentence(text, m, s, text[nxt]):
                continue
        spans.append((s, b))
        s = nxt
    spans.append((s, end))
    return spans


def line_spans(text: str) -> list[tuple[int, int]]:
    """Non-blank lines as ``(start, end)`` spans, leading and trailing whitespace excluded."""
    out: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        n = len(line)
        stripped = line.strip()
        if stripped:
            lead = n - len(line.lstrip())
            trail = n - len(line.rstrip())
            out.append((pos + lead, pos + n - trail))
        pos += n + 1
    return out


@dataclass(frozen=True, slots=True)
class Segments:
    """The unit hierarchy of one text: paragraphs ⊃ lines ⊃ sentences.

    ``sentences`` holds every sentence span in order; line ``i`` covers sentences
    ``line_first[i]:line_first[i + 1]`` and paragraph ``j`` covers lines ``para_first[j]:para_first[j + 1]``
    (both lists carry a final sentinel).
    """

    text: str
    sentences: list[tuple[int, int]]
    line_first: list[int]
    para_first: list[int]

    @property
    def n_lines(self) -> int:
        return len(self.line_first) - 1

    @property
    def n_paragraphs(self) -> int:
        return len(self.para_first) - 1

    def line_span(self, i: int) -> tuple[int, int]:
        return self.sentences[self.line_first[i]][0], self.sentences[self.line_first[i + 1] - 1][1]

    def paragraph_span(self, j: int) -> tuple[int, int]:
        first = self.line_first[self.para_first[j]]
        last = self.line_first[self.para_first[j + 1]] - 1
        return self.sentences[first][0], self.sentences[last][1]


def segment(text: str, sentences: bool = True) -> Segments:
    """Split `text` into paragraphs, lines and (if `sentences`) sentences; one pass, linear time.

    Sentences are found with one scan of the whole text (`_CANDIDATE`), not one per line; the result is
    the same as `sentence_spans` on every line.
    """
    sents: list[tuple[int, int]] = []
    line_first: list[int] = []
    para_first: list[int] = []
    pos = 0
    in_para = False
    cands = iter(_CANDIDATE.finditer(text)) if sentences else None
    cand = next(cands, None) if cands is not None else None
    append = sents.append
    cache = _WORD_CACHE
    for line in text.split("\n"):
        n = len(line)
        if not line or line.isspace():
            in_para = False
        else:
            if not in_para:
                para_first.append(len(line_first))
                in_para = True
            line_first.append(len(sents))
            s = pos + n - len(line.lstrip())
            end = pos + len(line.rstrip())
            # candidates lie inside one line: the punctuation and the next sentence's first character
            while cand is not None and (c0 := cand.start()) < end:
                nxt = cand.end()
                c1 = cand.end("latin")
                if c1 < 0:  # CJK: always a boundary
                    append((s, cand.start("cgap")))
                    s = nxt
                elif not text[nxt].islower():
                    b = cand.start("gap")
                    if c1 - c0 != 1 or c1 != b or text[c0] != ".":
                        append((s, b))  # "!", "?", "...", or '."' with a closing quote
                        s = nxt
                    else:
                        before = text[max(s, text.rfind(" ", s, c0) + 1):c0]
                        ends = cache.get(before)
                        if ends is None:
                            ends = _word_ends_sentence(before)
                            if len(cache) < 100_000:
                                cache[before] = ends
                        if ends:
                            append((s, b))
                            s = nxt
                cand = next(cands, None)  # type: ignore[call-overload]
            append((s, end))
        pos += n + 1
    line_first.append(len(sents))
    para_first.append(len(line_first) - 1)
    return Segments(text, sents, line_first, para_first)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraphs (runs of non-blank lines) as ``(start, end)`` spans."""
    seg = segment(text, sentences=False)
    return [seg.paragraph_span(j) for j in range(seg.n_paragraphs)]
