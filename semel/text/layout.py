"""What a stretch of text looks like: running prose, or layout (code, tables, output, indented blocks).

`semel repair` removes only repeats of running text; these cheap, local measures tell the two apart. They
work on one unit (a sentence or a line) and never look at the rest of the document, except
`base_indent`, which finds the indentation most of a document's text sits at.
"""
from __future__ import annotations

import re

#: Sentence-final punctuation, then closing quotes or brackets, at the end of a unit.
SENTENCE_END = re.compile(r"[.!?…。！？｡][\"'”’»)\]}」』】〕）〉》]*\Z")
_LETTER = re.compile(r"[^\W\d_]")
# What makes a token code: an operator, a sigil, a path, an identifier with "_", a call "f(x)", a
# ``literal``, markup.
_CODE = re.compile(r"[=_<>{}|\\/#$@*~^&+`\[\]]|[^\W_]\(")
_ALNUM = re.compile(r"[^\W_]")
# Characters that take two columns (East Asian wide and full-width), by block.
_WIDE = re.compile("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
                   "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003fffd]")


def ends_sentence(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` ends with sentence-final punctuation (maybe inside quotes or brackets)."""
    return SENTENCE_END.search(text, start, end) is not None


def has_letter(s: str) -> bool:
    """Whether `s` holds a letter (in any script)."""
    return _LETTER.search(s) is not None


def letters(s: str) -> int:
    """How many letters `s` holds (in any script)."""
    return sum(map(str.isalpha, s))


def code_tokens(s: str) -> tuple[int, int]:
    """(tokens written like code, tokens) of `s`, splitting at whitespace. Words and numbers of running
    text ("l'Organizzazione", "3.600,", "(DUP!)") are not code; "icmp_seq=1", "<nr", "foo->bar", "f(x)"
    and "``arg``" are."""
    tokens = s.split()
    if _CODE.search(s) is None:
        return 0, len(tokens)
    return sum(1 for t in tokens if _CODE.search(t) and _ALNUM.search(t)), len(tokens)


def width(s: str) -> int:
    """Display columns of `s`: wide (CJK) characters count twice."""
    return len(s) if s.isascii() else len(s) + len(_WIDE.findall(s))


def indent(text: str, start: int) -> int:
    """The indentation, in columns (tabs to the next multiple of 8), of the line whose text starts at
    `start`."""
    col = 0
    for c in text[text.rfind("\n", 0, start) + 1:start]:
        col = col + 8 - col % 8 if c == "\t" else col + 1
    return col


def base_indent(indents: list[int], sizes: list[int]) -> int:
    """The indentation holding most of the text (by characters; the smaller on a tie): running text sits
    there, while code, quoted output, tables and option descriptions are indented deeper."""
    weight: dict[int, int] = {}
    for col, size in zip(indents, sizes, strict=True):
        weight[col] = weight.get(col, 0) + size
    return max(weight, key=lambda col: (weight[col], -col)) if weight else 0
