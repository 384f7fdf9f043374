import pytest

from semel.text.normalize import normalize_text, normalize_unit


@pytest.mark.parametrize(
    "a,b",
    [
        ("L\u2019operazione  è\u00a0finita", "l'operazione è finita"),
        ("\u201cQuote\u201d and \u00abguillemets\u00bb", '"quote" and "guillemets"'),
        ("ＦＵＬＬ width", "full width"),
        ("en\u2013dash em\u2014dash", "en-dash em-dash"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("  Tabs\tand\nnewlines  ", "tabs and newlines"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("`tick'", "'tick'"),
    ],
)
def test_standard(a: str, b: str) -> None:
    assert normalize_unit(a) == b


def test_levels() -> None:
    s = "  A\u2019b \n c "
    assert normalize_text(s, "none") == s
    assert normalize_text(s, "whitespace") == "A\u2019b c"
    assert normalize_text(s, "standard") == "a'b c"
    with pytest.raises(ValueError):
        normalize_text(s, "bogus")


def test_idempotent_and_cjk() -> None:
    for s in ["你好，世界。", "สวัสดีครับ", "Ünïcödé  ﬁ ligature", "ｶﾀｶﾅ"]:
        once = normalize_unit(s)
        assert normalize_unit(once) == once
