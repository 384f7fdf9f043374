"""Word-level side-by-side diffs and in-place highlighting of removed spans, as escaped HTML.

Diffs compare whitespace-separated words (difflib), so a reader sees which words an edited copy changed
rather than a wall of character noise. Long unchanged stretches are folded to "… N words …" and very
long documents are cut, so one diff stays small in the page however long the documents are.
"""
from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\S+\s*")
MAX_WORDS = 2500
CONTEXT = 12


@dataclass
class Diff:
    """Two HTML columns (kept, removed) and how many words each side changed."""

    left: str
    right: str
    changed_left: int
    changed_right: int
    truncated: bool


def _words(text: str, limit: int) -> tuple[list[str], bool]:
    words = _WORD.findall(text.lstrip())
    return words[:limit], len(words) > limit


def _fold(words: Sequence[str], first: bool, last: bool, context: int = CONTEXT) -> str:
    """An unchanged run, with the middle folded when it is long."""
    n = len(words)
    head = 0 if first else context
    tail = 0 if last else context
    if n <= head + tail + 2 * context:
        return html.escape("".join(words))
    keep_head = words[:head] if head else []
    keep_tail = words[n - tail:] if tail else []
    hidden = n - len(keep_head) - len(keep_tail)
    return (html.escape("".join(keep_head)) + f'<span class="fold">… {hidden:,} same words …</span> '
            + html.escape("".join(keep_tail)))


def word_diff(kept: str, removed: str, limit: int = MAX_WORDS) -> Diff:
    """Side-by-side word diff: words only in `kept` marked <del>, only in `removed` marked <ins>."""
    a, ta = _words(kept, limit)
    b, tb = _words(removed, limit)
    sm = difflib.SequenceMatcher(None, [w.strip().lower() for w in a], [w.strip().lower() for w in b],
                                 autojunk=False)
    left: list[str] = []
    right: list[str] = []
    changed_a = changed_b = 0
    ops = sm.get_opcodes()
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            first, last = k == 0, k == len(ops) - 1
            left.append(_fold(a[i1:i2], first, last))
            right.append(_fold(b[j1:j2], first, last))
            continue
        if i2 > i1:
            changed_a += i2 - i1
            left.append("<del>" + html.escape("".join(a[i1:i2])) + "</del>")
        if j2 > j1:
            changed_b += j2 - j1
            right.append("<ins>" + html.escape("".join(b[j1:j2])) + "</ins>")
    truncated = ta or tb
    if truncated:
        note = f'<span class="fold">… cut after {limit:,} words …</span>'
        left.append(note)
        right.append(note)
    return Diff("".join(left), "".join(right), changed_a, changed_b, truncated)


def highlight_spans(text: str, spans: Sequence[dict], limit: int = 20000) -> str:
    """The text as HTML with each removed span in <mark> (title: kind and where its first copy is).

    Spans are {start, end, kind?, kept_start?, kept_end?} in code points; overlapping or out-of-range
    spans are clipped. Text far from any span is folded so long documents stay short.
    """
    out: list[str] = []
    pos = 0
    for sp in sorted(spans, key=lambda s: (int(s["start"]), int(s["end"]))):
        start, end = max(int(sp["start"]), pos), min(int(sp["end"]), len(text))
        if end <= start:
            continue
        out.append(_fold_chars(text[pos:start], pos == 0, False, limit))
        title = str(sp.get("kind") or "removed")
        if sp.get("kept_start") is not None:
            title += f" [{start}:{end}], first at [{sp['kept_start']}:{sp['kept_end']}]"
        out.append(f'<mark title="{html.escape(title)}">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(_fold_chars(text[pos:], pos == 0, True, limit))
    return "".join(out)


def _fold_chars(s: str, first: bool, last: bool, limit: int, context: int = 300) -> str:
    if len(s) <= 2 * context + 100 or (first and last and len(s) <= limit):
        return html.escape(s)
    head = "" if first else s[:context]
    tail = "" if last else s[-context:]
    hidden = len(s) - len(head) - len(tail)
    return html.escape(head) + f'<span class="fold">… {hidden:,} characters …</span>' + html.escape(tail)
