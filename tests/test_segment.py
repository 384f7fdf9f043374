# ruff: noqa: E501  (a table of multilingual examples reads best one case a line)
import pytest

from semel.text.segment import line_spans, paragraph_spans, segment, sentence_spans


def sents(t: str) -> list[str]:
    return [t[s:e] for s, e in sentence_spans(t)]


@pytest.mark.parametrize(
    "text,expected",
    [
        # Italian
        ("Il Dott. Rossi è arrivato. La Sig. Bianchi no.", ["Il Dott. Rossi è arrivato.", "La Sig. Bianchi no."]),
        ("Mele, pere ecc. Poi il resto.", ["Mele, pere ecc. Poi il resto."]),
        ("Erano circa 3.600 persone. Il costo fu di 1.000 euro.",
         ["Erano circa 3.600 persone.", "Il costo fu di 1.000 euro."]),
        # English
        ("Mr. Smith met Dr. Jones at 3.5 p.m. today. They talked.",
         ["Mr. Smith met Dr. Jones at 3.5 p.m. today.", "They talked."]),
        ("J. R. R. Tolkien wrote it. It sold well!", ["J. R. R. Tolkien wrote it.", "It sold well!"]),
        ('He said "stop." Then he left? Yes... Maybe.', ['He said "stop."', "Then he left?", "Yes...", "Maybe."]),
        # German
        ("Es gibt z.B. Äpfel bzw. Birnen. Am 3. Oktober kam er.",
         ["Es gibt z.B. Äpfel bzw. Birnen.", "Am 3. Oktober kam er."]),
        ("Das kostet ca. 3,5 Mio. Euro. Gut.", ["Das kostet ca. 3,5 Mio. Euro.", "Gut."]),
        # French
        ("M. Dupont est là. Mme. Martin aussi.", ["M. Dupont est là.", "Mme. Martin aussi."]),
        # Spanish
        ("El Sr. García llegó. ¿Vino la Sra. López? ¡Sí!", ["El Sr. García llegó.", "¿Vino la Sra. López?", "¡Sí!"]),
        # scripts without spaces
        ("今天天气很好。我们去公园吧！你去吗？", ["今天天气很好。", "我们去公园吧！", "你去吗？"]),
        ("「こんにちは。」と彼は言った。 そうですね。", ["「こんにちは。」", "と彼は言った。", "そうですね。"]),
        ("สวัสดีครับ วันนี้อากาศดี", ["สวัสดีครับ วันนี้อากาศดี"]),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert sents(text) == expected


def test_offsets_rebuild_text() -> None:
    text = "  A first line. Second one!\r\n\n\n\tindented line\nlast   \n"
    seg = segment(text)
    # every separator is whitespace, so the spans cover all non-whitespace characters
    pieces = [text[:seg.sentences[0][0]]]
    for (s, e), nxt in zip(seg.sentences, seg.sentences[1:] + [(len(text), len(text))], strict=True):
        pieces += [text[s:e], text[e:nxt[0]]]
    assert "".join(pieces) == text
    assert all(not text[e:nxt[0]].strip() for (_, e), nxt in zip(seg.sentences, seg.sentences[1:], strict=False))
    assert seg.n_paragraphs == 2 and seg.n_lines == 3
    assert [text[s:e] for s, e in line_spans(text)] == ["A first line. Second one!", "indented line", "last"]
    assert [text[s:e] for s, e in paragraph_spans(text)] == [
        "A first line. Second one!", "indented line\nlast"]


def test_empty() -> None:
    assert sentence_spans("") == [] and sentence_spans("   \n") == []
    seg = segment("\n\n  \n")
    assert seg.n_paragraphs == 0 and seg.n_lines == 0


def _reference_segment(text: str) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """`sentence_spans` line by line, paragraphs at blank lines: the definition `segment` must match."""
    sents: list[tuple[int, int]] = []
    line_first: list[int] = []
    para_first: list[int] = []
    in_para = False
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            if not in_para:
                para_first.append(len(line_first))
                in_para = True
            line_first.append(len(sents))
            sents += sentence_spans(text, pos, pos + len(line))
        else:
            in_para = False
        pos += len(line) + 1
    line_first.append(len(sents))
    para_first.append(len(line_first) - 1)
    return sents, line_first, para_first


def test_segment_matches_line_by_line_sentence_spans() -> None:
    import random

    rng = random.Random(7)
    alphabet = ["a", "B", "é", "Dr", "ecc", "3", "12", "z.B", ".", "!", "?", "…", "。", "！", "」", '"', "'", ")",
                " ", "  ", "\n", "\n\n", "\t", "\u00a0", "\r\n", "日", "x.y", "...", "U.S", "J", "«", "\u2028"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50)))
        seg = segment(text)
        assert (seg.sentences, seg.line_first, seg.para_first) == _reference_segment(text), repr(text)
