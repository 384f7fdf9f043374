"""A small synthetic corpus with planted copies and known truth, for end-to-end tests.

Documents are random word sequences over per-language vocabularies (so unrelated documents share almost
no 3-grams), and copies are made the way make_bench.py makes them: exact, reformatted, framed with a
header/footer, and edited at a word rate.
"""
from __future__ import annotations

import json
import random

VOCAB = {
    "it": "casa strada polizia sindaco città notte giorno uomo donna auto treno scuola lavoro comune "
          "ospedale carabinieri incidente fiume ponte piazza mercato chiesa festa sera mattina anni",
    "en": "house street police mayor city night day man woman car train school work council hospital "
          "officers accident river bridge square market church party evening morning years",
    "de": "Haus Straße Polizei Bürgermeister Stadt Nacht Tag Mann Frau Auto Zug Schule Arbeit Rat "
          "Krankenhaus Unfall Fluss Brücke Platz Markt Kirche Fest Abend Morgen Jahre",
    "zh": "我 你 他 们 的 是 在 有 不 了 人 这 中 大 为 上 个 国 说 到 时 要 就 出 会 可 也 年 生",
    "ja": "の に は を た が で て と し れ さ あ る い も な か ら う こ と ま す ん せ だ よ ね",
}
FILLER = [f"w{i:04d}" for i in range(3000)]


def make_text(rng: random.Random, lang: str, words: int) -> str:
    vocab = VOCAB[lang].split()
    if lang in ("zh", "ja"):
        chars = [rng.choice(vocab) for _ in range(words)]
        sentences = ["".join(chars[i:i + 12]) + "。" for i in range(0, len(chars), 12)]
        return "".join(sentences)
    tokens = [rng.choice(vocab) if rng.random() < 0.3 else rng.choice(FILLER) for _ in range(words)]
    sentences = [" ".join(tokens[i:i + 12]).capitalize() + "." for i in range(0, len(tokens), 12)]
    return " ".join(sentences)


def edit(text: str, rate: float, rng: random.Random) -> str:
    if " " not in text:  # spaceless script: edit characters
        chars = list(text)
        return "".join(c if rng.random() > rate else rng.choice("北京上海") for c in chars)
    out = []
    for w in text.split(" "):
        r = rng.random()
        if r < rate / 2:
            continue
        out.append(rng.choice(FILLER) if r < rate else w)
    return " ".join(out)


def make_corpus(n_bases: int = 60, seed: int = 0, langs: tuple[str, ...] = ("it", "en", "de", "zh", "ja")
                ) -> tuple[list[dict], dict[str, str]]:
    """Documents (id, text, lang, quality) and the truth: id -> id of its base document."""
    rng = random.Random(seed)
    docs: list[dict] = []
    truth: dict[str, str] = {}
    for b in range(n_bases):
        lang = langs[b % len(langs)]
        base = make_text(rng, lang, rng.randint(60, 200))
        bid = f"{lang}-{b:03d}"
        docs.append({"id": bid, "text": base, "lang": lang, "quality": rng.random()})
        truth[bid] = bid
        if b % 3 == 0:
            variants = [base, base.upper() if lang not in ("zh", "ja") else base + " ",
                        "BREAKING NEWS\n\n" + base + "\n\nAll rights reserved.", edit(base, 0.04, rng)]
            for v, text in enumerate(variants):
                vid = f"{bid}-v{v}"
                docs.append({"id": vid, "text": text, "lang": lang, "quality": rng.random()})
                truth[vid] = bid
    rng.shuffle(docs)
    return docs, truth


def write_jsonl(path: str, docs: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
