"""Normalisation of text units before they are compared.

Scraped copies of the same sentence differ in ways a reader does not see: curly vs straight quotes,
non-breaking spaces, full-width letters, en dashes vs hyphens, a stray zero-width space, capitalisation
after an edit. Comparing units in a normalised form makes those copies collide; the output always keeps
the original text, so normalisation never changes what the user gets back.

Levels:

- ``"none"``: the text as is (byte-exact comparison).
- ``"whitespace"``: runs of whitespace collapsed to one space, ends stripped.
- ``"standard"``: Unicode NFKC; typographic apostrophes and quotes folded to ``'`` and ``"``; dashes and
  minus signs folded to ``-``; zero-width characters and soft hyphens removed; whitespace collapsed;
  ends stripped; case folded (``str.casefold``, so "STRASSE" == "straße").
"""
from __future__ import annotations

import re
import unicodedata
from typing import Literal

Level = Literal["none", "whitespace", "standard"]
LEVELS: tuple[str, ...] = ("none", "whitespace", "standard")

# Applied after NFKC (which already maps e.g. full-width quotes and U+2032 prime to ASCII or to themselves).
_FOLD = str.maketrans(
    {
        **{c: "'" for c in "\u2018\u2019\u201a\u201b\u2032\u2035\u02bc\u00b4\u0060"},
        **{c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u2036\u301d\u301e"},
        **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"},
        **{c: None for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad"},
    }
)


_FOLD_CHARS = re.compile("[" + "".join(chr(c) for c in _FOLD) + "]")
_FOLD_STR = {chr(k): (v or "") for k, v in _FOLD.items()}


def _fold(m: re.Match[str]) -> str:
    return _FOLD_STR[m.group()]


def normalize_unit(s: str, fold_case: bool = True) -> str:
    """The comparison key of a unit at the ``"standard"`` level (see the module docstring).

    `fold_case=False` keeps case: where a case difference is a different text (``%S`` vs ``%s`` in a
    format table, ``-C`` vs ``-c`` options), as in `semel.repair`, which compares the units of one document.
    ASCII strings (most units in most corpora) take a fast path that skips Unicode normalisation.
    """
    if s.isascii():
        if "`" in s:
            s = s.translate(_FOLD)
        return " ".join((s.lower() if fold_case else s).split())
    if not unicodedata.is_normalized("NFKC", s):
        s = unicodedata.normalize("NFKC", s)
    s = _FOLD_CHARS.sub(_fold, s)  # str.translate walks a dict per character: ~30x slower here
    return " ".join((s.casefold() if fold_case else s).split())


def collapse_whitespace(s: str) -> str:
    """Whitespace runs to one space, ends stripped (the ``"whitespace"`` level)."""
    return " ".join(s.split())


def normalize_text(s: str, level: Level | str = "standard") -> str:
    """Normalise `s` at `level` ("none", "whitespace" or "standard")."""
    if level == "standard":
        return normalize_unit(s)
    if level == "whitespace":
        return collapse_whitespace(s)
    if level == "none":
        return s
    raise ValueError(f"unknown normalisation level {level!r}; choose one of {', '.join(LEVELS)}")
