"""Gopher repetition statistics: hand-computed cases and a brute-force reference."""
from __future__ import annotations

import re
import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.gopher import _CJK, DUP_N, GOPHER_THRESHOLDS, TOP_N, exceeds, repetition_stats, words

PUNCT = str.maketrans("", "", string.punctuation)


def reference_words(text: str) -> list[str]:
    """RedPajama-V2's normalisation (string.punctuation removed, lower case, whitespace split), with each
    Han / kana character a word of its own."""
    return [w for w in (t.translate(PUNCT).lower() for t in re.findall(rf"[{_CJK}]|[^\s{_CJK}]+", text)) if w]


def reference(text: str) -> dict[str, float]:
    """Straightforward Python definitions, quadratic where convenient."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    paras, cur = [], []
    for ln in text.split("\n"):
        if ln.strip():
            cur.append(ln)
        elif cur:
            paras.append("\n".join(cur).strip())
            cur = []
    if cur:
        paras.append("\n".join(cur).strip())

    def dup(units: list[str]) -> tuple[float, float]:
        if not units:
            return 0.0, 0.0
        later = [u for i, u in enumerate(units) if u in units[:i]]
        return len(later) / len(units), sum(map(len, later)) / sum(map(len, units))

    out: dict[str, float] = {}
    out["dup_line_frac"], out["dup_line_char_frac"] = dup(lines)
    out["dup_para_frac"], out["dup_para_char_frac"] = dup(paras)
    ws = reference_words(text)
    total = sum(map(len, ws))
    for n in TOP_N:
        grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        c = Counter(grams)
        best = 0.0
        if c and max(c.values()) >= 2:
            top = max(c.values())
            best = min(1.0, top * max(sum(map(len, g)) for g, k in c.items() if k == top) / total)
        out[f"top_{n}_gram_char_frac"] = best
    for n in DUP_N:
        grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        c = Counter(grams)
        covered = set()
        for i, g in enumerate(grams):
            if c[g] >= 2:
                covered.update(range(i, i + n))
        out[f"dup_{n}_gram_char_frac"] = sum(len(ws[i]) for i in covered) / total if total else 0.0
    return out


def test_hand_computed() -> None:
    text = "aa bb\naa bb\ncc\n\ndd"
    s = repetition_stats(text)
    # lines: "aa bb", "aa bb", "cc", "dd" -> one repeat of 5 chars out of 14
    assert s["dup_line_frac"] == pytest.approx(1 / 4)
    assert s["dup_line_char_frac"] == pytest.approx(5 / 14)
    # paragraphs: "aa bb\naa bb\ncc", "dd": no repeats
    assert s["dup_para_frac"] == 0 and s["dup_para_char_frac"] == 0
    # words aa bb aa bb cc dd (12 chars): 2-gram "aa bb" twice -> 2 * 4 / 12
    assert s["top_2_gram_char_frac"] == pytest.approx(8 / 12)
    assert s["top_3_gram_char_frac"] == 0  # no 3-gram occurs twice
    assert s["dup_5_gram_char_frac"] == 0


def test_dup_ngram_coverage() -> None:
    ws = "a b c d e".split()
    text = " ".join(ws + ["x"] + ws)  # the 5-gram occurs twice, x does not count
    s = repetition_stats(text)
    assert s["dup_5_gram_char_frac"] == pytest.approx(10 / 11)
    assert s["dup_6_gram_char_frac"] == 0


def test_empty_and_unique() -> None:
    assert all(v == 0 for v in repetition_stats("").values())
    assert not exceeds(repetition_stats("One two three four five six seven eight nine ten eleven."))
    assert set(repetition_stats("x")) == set(GOPHER_THRESHOLDS)


def test_words_are_normalised_as_redpajama_v2() -> None:
    """Punctuation and case do not make words different (datatrove scores this text 0.48 of the raw text's
    characters; RedPajama-V2, like semel, 3 x 8 of the 44 characters of its normalised words)."""
    text = "I am Frank, you are Jhon. I am Frank. I am Frank you are Jhon"
    assert words(text) == "i am frank you are jhon i am frank i am frank you are jhon".split()
    s = repetition_stats(text)
    assert s["top_3_gram_char_frac"] == pytest.approx(3 * 8 / 44)
    assert "top_3_gram_char_frac" in exceeds(s)
    assert words("Don't -- stop (now)!") == ["dont", "stop", "now"]
    assert repetition_stats("A B C D E. a b c d e")["dup_5_gram_char_frac"] == 1.0


def test_exceeds_names_failed_rules() -> None:
    para = "the same paragraph of several words repeated over and over again"
    s = repetition_stats("\n\n".join([para] * 5))
    failed = exceeds(s)
    assert "dup_para_frac" in failed and "dup_line_frac" in failed and "dup_10_gram_char_frac" in failed
    assert exceeds({"dup_para_frac": 0.3}) == []  # strictly above


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "ccc", "a", "A", "Bb.", ",", "--", "(a)", "\n", "\n\n", "日",
                                 "本"]), max_size=80))
def test_matches_reference(tokens: list[str]) -> None:
    text = " ".join(tokens)
    got, want = repetition_stats(text), reference(text)
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k]), k


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "é", "É", "ß", "Ω", "Ж", "'", "日", "カ", "😀", " ", "\t",
                                 "\u3000", "\u00a0", "\u2028", "\r\n", "\n", "\n \n", "\x1c", "\u200b"]),
                max_size=80))
def test_matches_reference_unicode(tokens: list[str]) -> None:
    """Unicode whitespace, multi-byte and astral characters: the compiled UTF-8 pass agrees with `str`."""
    text = "".join(tokens)
    got, want = repetition_stats(text), reference(text)
    for k in want:
        assert got[k] == pytest.approx(want[k]), k


def test_batch_matches_single() -> None:
    import pyarrow as pa

    from semel.gopher import repetition_stats_batch

    texts = ["aa bb\naa bb\ncc\n\ndd", "", None, "x y z x y z x y z", "日本日本日本\n\n日本日本日本",
             "a \ud800 a \ud800"]
    arr = pa.array([t.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if t else t for t in texts])
    got = repetition_stats_batch(arr)
    assert got.shape == (len(texts), len(GOPHER_THRESHOLDS))
    for row, t in zip(got, arr.to_pylist(), strict=True):
        assert dict(zip(GOPHER_THRESHOLDS, row.tolist(), strict=True)) == repetition_stats(t or "")
