"""`semel substrings`: suffix-array kernels against brute force, planted passages, properties, CLI."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.cli import main
from semel.jobs.substrings import substrings_file
from semel.spans.suffix import (
    find_repeats,
    lcp_kasai,
    longest_previous_factor,
    remove_repeats,
    suffix_array,
)

PASSAGES = {
    "it": "Il presidente della regione ha dichiarato che la situazione resta grave ma sotto controllo, "
          "e che nei prossimi giorni saranno stanziati nuovi fondi per le famiglie colpite dall'alluvione "
          "di ottobre, con un piano straordinario che coinvolgerà tutti i comuni della provincia.",
    "en": "The mayor said on Tuesday that the council would review the decision after residents complained "
          "that the new traffic plan had doubled their commute, adding that no final choice had been made "
          "and that every option, including scrapping the plan, remained on the table for now.",
    "zh": "市政府周二表示，将在居民投诉新的交通计划使通勤时间翻倍后重新审议这一决定，"
          "并补充说尚未做出最终选择。",
}
FILL = {"it": "casa strada polizia sindaco città notte giorno uomo donna treno scuola lavoro".split(),
        "en": "house street police mayor city night day man woman train school work".split(),
        "zh": list("我你他们的是在有不了人这中大为上个国说到时要就出会可也年生")}


def apply(texts: list[str], k: int, mode: str = "first", within: bool = False, align: str = "sentences"
          ) -> tuple[list[str], list[list[dict]]]:
    """The kernel the job and Spark run per shard, on a list of strings."""
    res = remove_repeats(pa.array(texts, pa.large_string()), k, mode, within=within, align=align)
    res.texts.validate(full=True)  # valid UTF-8
    return res.texts.to_pylist(), res.spans_column().to_pylist()


def without(text: str, spans: list[dict]) -> str:
    """`text` with the spans cut out; spans must be sorted, disjoint and not touching (merged)."""
    for a, b in zip(spans, spans[1:], strict=False):
        assert a["end"] < b["start"]
    keep, pos = [], 0
    for s in spans:
        keep.append(text[pos:s["start"]])
        pos = s["end"]
    return "".join(keep) + text[pos:]


def brute_cover(docs: list[list[int]], k: int, mode: str, within: bool = True) -> list[int]:
    """Tokens inside a repeated k-window (every repeat of >= k tokens is a union of them): one found
    elsewhere (all) or earlier (first), in another document unless `within`."""
    where: dict[tuple, list[int]] = {}
    for d, toks in enumerate(docs):
        for i in range(len(toks) - k + 1):
            where.setdefault(tuple(toks[i:i + k]), []).append(d)
    out: list[int] = []
    for d, toks in enumerate(docs):
        cov = [0] * len(toks)
        for i in range(len(toks) - k + 1):
            w = tuple(toks[i:i + k])
            docs_w = where[w]
            if mode == "all":
                hit = len(docs_w) > 1 if within else any(e != d for e in docs_w)
            else:
                before = docs_w.index(d) + sum(1 for j in range(i) if tuple(toks[j:j + k]) == w)
                hit = before > 0 if within else docs_w[0] < d
            if hit:
                cov[i:i + k] = [1] * k
        out += cov
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), max_size=25), min_size=1, max_size=6), st.integers(1, 5),
       st.sampled_from(["first", "all"]), st.booleans())
def test_find_repeats_matches_brute_force(docs: list[list[int]], k: int, mode: str, within: bool) -> None:
    hashes = np.array([x for d in docs for x in d], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    offsets = np.cumsum([0] + [len(d) for d in docs]).astype(np.int64)
    got = find_repeats(hashes, offsets, k, mode, within).tolist()
    assert got == brute_cover(docs, k, mode, within)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=40), st.sampled_from([5, 300, 70_000, 1 << 25]))
def test_suffix_array_lcp_lpf(seq: list[int], scale: int) -> None:
    s = np.array(seq, dtype=np.uint32) * np.uint32(max(1, (scale - 1) // 4))
    sa = suffix_array(s, int(s.max()) + 1)
    assert sa.tolist() == sorted(range(len(seq)), key=lambda i: seq[i:])
    lcp = lcp_kasai(s, sa)
    lpf = longest_previous_factor(sa, lcp.copy())
    for p in range(len(seq)):
        best = 0
        for q in range(p):
            n = 0
            while p + n < len(seq) and seq[q + n] == seq[p + n]:
                n += 1
            best = max(best, n)
        assert lpf[p] == best


def planted(n: int = 24, seed: int = 0) -> tuple[list[str], list[str | None]]:
    rng = random.Random(seed)
    texts, which = [], []
    for i in range(n):
        lang = ("it", "en", "zh")[i % 3]
        sep = "" if lang == "zh" else " "
        a = sep.join(rng.choice(FILL[lang]) + ("" if lang == "zh" else str(rng.randrange(10**6)))
                     for _ in range(30))
        b = sep.join(rng.choice(FILL[lang]) + ("" if lang == "zh" else str(rng.randrange(10**6)))
                     for _ in range(30))
        has = i % 2 == 0
        texts.append(f"{a}.\n\n{PASSAGES[lang]}\n\n{b}." if has else f"{a}. {b}.")
        which.append(lang if has else None)
    return texts, which


def test_planted_passages_first_mode() -> None:
    texts, which = planted()
    out, spans = apply(texts, 20)
    first_seen: set[str] = set()
    for text, new, sp, lang in zip(texts, out, spans, which, strict=True):
        if lang is None:
            assert new == text and sp == []
        elif lang not in first_seen:
            first_seen.add(lang)
            assert new == text  # the first occurrence is kept
        else:
            assert PASSAGES[lang] not in new and len(sp) == 1
            removed = text[sp[0]["start"]:sp[0]["end"]]
            assert PASSAGES[lang] in removed and len(removed) < len(PASSAGES[lang]) + 12
            assert new == text[:sp[0]["start"]] + text[sp[0]["end"]:]


def test_modes_all_and_mark() -> None:
    texts, which = planted()
    out, _ = apply(texts, 20, "all")
    for new, lang in zip(out, which, strict=True):
        if lang is not None:
            assert PASSAGES[lang] not in new
    out, spans = apply(texts, 20, "mark")
    assert out == texts and sum(len(s) for s in spans) == sum(w is not None for w in which) - 3


def test_repeats_inside_one_document_only_on_request() -> None:
    """A reference table repeats its rows inside one document: kept by default, cut with within."""
    row = "the pixel format stores the red green and blue samples of each pixel in one word"
    table = "\n".join(f"| {row} | {i} |" for i in range(6))
    other = "An unrelated page that happens to say nothing the table says about anything."
    out, spans = apply([table, other], 8)
    assert out == [table, other] and spans == [[], []]
    out, _ = apply([table, other], 8, within=True)
    assert out[0].count(row) == 1
    out, _ = apply([other, table, table], 8)  # a second copy of the page is cut, the first kept
    assert out[1] == table and row not in out[2]


DOCS = Path(__file__).parent / "data" / "docs"


def test_documentation_comes_back_untouched() -> None:
    """An RST page, a man page, a Debian copyright file, a licence and refrains repeat themselves (two
    listings, two prototypes, shared holder lines, a licence's stanzas), not each other: nothing goes,
    even with short spans; --within cuts their own repeats of whole sentences and lines, but not the
    licence's: "copyright notice, this list of conditions and the following disclaimer" is half of
    clauses 1 and 2 (cutting it from clause 2 changed what the licence says)."""
    paths = sorted(DOCS.iterdir())
    texts = [p.read_text(encoding="utf-8") for p in paths]
    out, spans = apply(texts, 10)
    assert out == texts and not any(spans)
    out, _ = apply(texts, 10, within=True)
    for path, new, old in zip(paths, out, texts, strict=True):
        assert (new == old) == (path.name == "LICENSE.bsd"), path.name


def test_cuts_keep_whole_sentences() -> None:
    """A repeated passage that starts or ends inside a sentence is cut back to the whole sentences and
    lines it covers: no "Requirement: " is left before a cut, no half sentence after one."""
    shared = ("The boot loader is expected to find and initialise all RAM that the kernel will use for "
              "volatile data storage in the system. It performs this in a machine dependent manner.")
    first = f"1. Setup and initialise RAM\n\nRequirement: MANDATORY\n\n{shared}\n\n2. Setup the device tree\n"
    second = (f"Requirement: {shared.split('. ')[0].split(' ', 3)[3]}. {shared.split('. ')[1]} "
              "Only this page says so, in a sentence of its own.\n")
    out, spans = apply([first, second], 10)
    assert out[0] == first
    assert out[1] == f"Requirement: {shared.split('. ')[0].split(' ', 3)[3]}. Only this page says so, in a " \
                     "sentence of its own.\n"
    assert len(spans[1]) == 1


def test_cuts_snap_to_words() -> None:
    shared = "l'ultimo giorno dell'anno la città era in festa, e tutti aspettavano il concerto in piazza"
    texts = ["Prima: " + shared + " fine.", "Dopo" + shared.replace("l'ultimo", "xl'ultimo") + "!"]
    out, _ = apply(texts, 5)
    assert set(out[1].split()) <= set(texts[1].split())  # no half-words left behind


words = st.sampled_from(["alfa", "beta", "gamma", "n'è", "città", "ß", "中文", "段落", "«x»", "3.5"])
segment = st.lists(words, min_size=1, max_size=6).map(" ".join)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.lists(st.one_of(segment, st.sampled_from(["P1", "P2"])), max_size=6), min_size=1,
                max_size=6), st.integers(3, 6), st.sampled_from(["first", "all"]), st.booleans(),
       st.sampled_from(["sentences", "words"]), st.sampled_from([" ", ". "]))
def test_properties(docs: list[list[str]], k: int, mode: str, within: bool, align: str, sep: str) -> None:
    pool = {"P1": " ".join(f"uno{i}" for i in range(8)), "P2": "".join("甲乙丙丁戊己庚辛")}
    texts = []
    for d, segs in enumerate(docs):
        parts = [pool.get(s, s) for s in segs] + [f"solo{d}q"]
        texts.append(sep.join(parts) + ".")
    out, spans = apply(texts, k, mode, within, align)
    for d, (text, new) in enumerate(zip(texts, out, strict=True)):
        assert f"solo{d}q" in new  # text that occurs once is never removed
        for s in spans[d]:
            assert 0 <= s["start"] < s["end"] <= len(text)
            if align == "sentences":  # a cut starts after a sentence's end and takes whole sentences
                assert text[:s["start"]].rstrip()[-1:] in ("", ".", "。"), (text, s)
                assert text[:s["end"]].rstrip()[-1:] in (".", "。") or not text[s["end"]:].strip(), (text, s)
        assert without(text, spans[d]) == new  # spans are in original offsets, across all passes
        if not within:  # a document alone in the collection keeps its own repeats
            alone, alone_spans = apply([text], k, mode, align=align)
            assert alone == [text] and alone_spans == [[]]
    again, spans_again = apply(out, k, mode, within, align)
    assert again == out and not any(spans_again)  # removing is idempotent


JOINED = ["alfa beta n'è n'è alfa beta n'è alfa n'è solo0q."]  # hypothesis' counterexample to one pass


def test_cut_joins_a_new_repeat() -> None:
    """Cutting a repeat can join its neighbours into a new one: the kernel cuts again, and reports the
    spans of every pass in offsets of the original text with the counts summed over passes."""
    arr = pa.array(JOINED, pa.large_string())
    assert remove_repeats(arr, 3).span_doc.size == 0  # repeats inside one document stay by default
    assert remove_repeats(arr, 3, within=True).span_doc.size == 0  # one sentence: no whole sentence repeats
    once = remove_repeats(arr, 3, max_passes=1, within=True, align="words")
    assert not once.converged and once.passes == 1
    again = remove_repeats(once.texts, 3, within=True, align="words")
    assert again.span_doc.size  # one pass is not idempotent here
    res = remove_repeats(arr, 3, within=True, align="words")
    assert res.converged and res.passes >= 3  # >= 2 passes that cut, and one that finds nothing
    new, spans = res.texts.to_pylist(), res.spans_column().to_pylist()
    assert without(JOINED[0], spans[0]) == new[0] and "solo0q" in new[0]
    assert res.stats[0, 1] == sum(s["end"] - s["start"] for s in spans[0]) == len(JOINED[0]) - len(new[0])
    assert res.stats[0, 0] == once.stats[0, 0] + again.stats[0, 0] and res.stats[0, 3] == len(JOINED[0])
    assert remove_repeats(res.texts, 3, within=True, align="words").span_doc.size == 0
    mark = remove_repeats(arr, 3, "mark", within=True, align="words")
    assert mark.passes == 1 and mark.texts.to_pylist() == JOINED


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def test_job_and_shards(tmp_path: Path) -> None:
    texts, which = planted()
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)])
    s = substrings_file(str(src), str(tmp_path / "out.jsonl"), min_tokens=20, progress=False)
    assert s.changed == sum(w is not None for w in which) - 3 and s.shards == 1
    recs = [json.loads(ln) for ln in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all("substrings_removed" in r and "substrings_removed_chars" in r for r in recs)
    stats = json.loads((tmp_path / "out.jsonl.stats.json").read_text())
    assert stats["job"] == "substrings" and stats["stats"]["stages"]
    # one document per shard: nothing is found across shards (the documented limit)
    s = substrings_file(str(src), str(tmp_path / "sharded.jsonl"), min_tokens=20, shard_mb=1e-4, batch_size=1,
                        progress=False)
    assert s.changed == 0 and s.shards == 24


def test_cli_parquet_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts, _ = planted(9)
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(9)], "text": texts, "n": list(range(9))}), src)
    assert main(["substrings", str(src), "-o", str(out), "--min-tokens", "20", "--explain",
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "span(s) removed" in captured.out and "semel substrings: 9 documents" in captured.err
    t = pq.read_table(out)
    assert t.column("n").to_pylist() == list(range(9)) and "substrings_removed" in t.column_names
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": \n', encoding="utf-8")
    assert main(["substrings", str(bad), "-o", str(tmp_path / "o.jsonl"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{bad}:2:" in err and not (tmp_path / "o.jsonl").exists()
    assert main(["substrings", str(bad), "-o", str(tmp_path / "o.jsonl"), "--on-error", "skip",
                 "--no-progress"]) == 0
    assert "skipped    1" in capsys.readouterr().err
    twice = tmp_path / "twice.jsonl"
    write_jsonl(twice, [{"id": "t", "text": texts[0] + "\n\n" + texts[0]}])
    for flag, changed in (([], 0), (["--within"], 1)):
        assert main(["substrings", str(twice), "-o", str(tmp_path / "t.jsonl"), "--min-tokens", "20",
                     "--no-progress", *flag]) == 0
        assert f"changed    {changed} documents" in capsys.readouterr().err
    assert main(["substrings", str(src), "-o", str(out), "--min-tokens", "0"]) == 1
    assert "min_tokens" in capsys.readouterr().err


@pytest.mark.spark
def test_spark_one_partition_matches_local(spark: object) -> None:
    from semel.engines.spark_spans import substrings_spark

    texts, _ = planted()
    expected, _ = apply(texts, 20)
    df = spark.createDataFrame([(str(i), t) for i, t in enumerate(texts)], "id string, text string")  # type: ignore[attr-defined]
    rows = substrings_spark(df.coalesce(1), min_tokens=20).collect()
    assert [r["text"] for r in sorted(rows, key=lambda r: int(r["id"]))] == expected
    texts.append(texts[0] + " " + texts[0])  # a document that repeats itself
    df = spark.createDataFrame([(str(i), t) for i, t in enumerate(texts)], "id string, text string")  # type: ignore[attr-defined]
    for within in (False, True):
        expected, _ = apply(texts, 20, within=within)
        rows = substrings_spark(df.coalesce(1), min_tokens=20, within=within).collect()
        assert [r["text"] for r in sorted(rows, key=lambda r: int(r["id"]))] == expected
