"""Dedup on real-looking text nobody planted copies in: instances of one template, licences that share a
preamble, short texts that share a phrase must all stay; true copies among them still go.

Each fixture is also run with the template, df-weight and short-text tests switched off, to show that it
is one the plain Jaccard rule gets wrong (so these tests can fail)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import semel

BINDING = """{chip} audio CODEC

This device supports I2C only.

Required properties:

- compatible : "{vendor},{chip_l}".

- reg : The I2C address of the device.

Optional properties:

- clocks: The phandle of the master clock to the CODEC.

- clock-names: Should be "mclk".

- {vendor},{chip_l}-micbias : the voltage of the {chip} microphone bias, in millivolts.

Pins on the device (for linking into audio routes) for {chip}:

  * {pin1}
  * {pin2}
  * HPOL
  * HPOR

Example:

{chip_l}: codec@{addr} {{
	compatible = "{vendor},{chip_l}";
	reg = <0x{addr}>;
	clocks = <&clk 52>;
	clock-names = "mclk";
}};
"""

PREAMBLE = """Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met: Redistributions of source code must retain the above
copyright notice, this list of conditions and the following disclaimer. Redistributions in binary form
must reproduce the above copyright notice, this list of conditions and the following disclaimer in the
documentation and/or other materials provided with the distribution."""

BSD3_TAIL = """Neither the name of the copyright holder nor the names of its contributors may be used to
endorse or promote products derived from this software without specific prior written permission. THIS
SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS AS IS AND ANY EXPRESS OR IMPLIED
WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A
PARTICULAR PURPOSE ARE DISCLAIMED."""

BZIP_TAIL = """The origin of this software must not be misrepresented; you must not claim that you wrote the
original software. If you use this software in a product, an acknowledgment in the product
documentation would be appreciated but is not required. Altered source versions must be plainly marked as
such, and must not be misrepresented as being the original software. The name of the author may not be
used to endorse or promote products derived from this software without specific prior written
permission."""

JOKES = [
    "I'd love to go out with you, but I'm staying home to work on my cottage cheese sculpture.",
    "I'd love to go out with you, but I have to answer all my mail from the Ladies' Home Journal.",
    "I'd love to go out with you, but my favourite commercial is on TV tonight.",
    "I'd love to go out with you, but I'm attending a perfume convention as an exhibit.",
]


def bindings() -> list[dict]:
    chips = [("RT5616", "realtek", "IN1P", "IN2P", "1b"), ("MAX98095", "maxim", "MIC1", "MIC2", "11"),
             ("WM8753", "wlf", "LINE1", "LINE2", "1a"), ("ALC5632", "realtek", "MICIN1", "AUXIN", "1e"),
             ("ES8328", "everest", "LINPUT1", "RINPUT1", "10"), ("TLV320", "ti", "IN1_L", "IN1_R", "18")]
    return [{"id": f"bindings/{chip.lower()}.txt",
             "text": BINDING.format(chip=chip, chip_l=chip.lower(), vendor=vendor, pin1=p1, pin2=p2,
                                    addr=addr)}
            for chip, vendor, p1, p2, addr in chips]


def corpus() -> list[dict]:
    docs = bindings()
    docs += [{"id": "licences/bsd3", "text": f"Copyright (c) 2019 A. Author.\n\n{PREAMBLE} {BSD3_TAIL}"},
             {"id": "licences/bzip2", "text": f"Copyright (c) 1996 Julian Seward.\n\n{PREAMBLE} {BZIP_TAIL}"}]
    docs += [{"id": f"fortunes/{i}", "text": j} for i, j in enumerate(JOKES)]
    # filler so the collection has a background to weigh shingles against
    docs += [{"id": f"other/{i}", "text": f"Unrelated note {i} about topic {i * 7} with words {i} {i + 1}."}
             for i in range(40)]
    return docs


def run(tmp_path: Path, docs: list[dict], **settings: object) -> dict[str, dict]:
    src = tmp_path / f"in-{len(settings)}.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / f"out-{len(settings)}"
    semel.dedup(str(src), str(out), progress=False, **settings)
    return {r["id"]: r for r in pq.read_table(out / "clusters.parquet").to_pylist()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    tmp = tmp_path_factory.mktemp("real")
    docs = corpus()
    return run(tmp, docs), run(tmp, docs, template_min=0, df_weights=False, short=0)


def test_template_instances_licences_and_jokes_all_stay(runs: tuple[dict, dict]) -> None:
    rows, _ = runs
    removed = sorted(i for i, r in rows.items() if not r["kept"])
    assert removed == []


def test_the_plain_jaccard_rule_would_have_removed_them(runs: tuple[dict, dict]) -> None:
    _, plain = runs
    removed = {i.split("/")[0] for i, r in plain.items() if not r["kept"]}
    assert {"bindings", "fortunes"} <= removed


def test_a_reformatted_copy_of_a_binding_is_still_removed(tmp_path: Path) -> None:
    docs = corpus()
    copy = dict(docs[1])
    copy["id"] = "mirror/max98095.txt"
    copy["text"] = "Mirrored from the kernel tree.\n\n" + copy["text"].replace("\n\n", "\n").upper()
    rows = run(tmp_path, [*docs, copy])
    assert not rows[copy["id"]]["kept"] and rows[copy["id"]]["cluster"] == docs[1]["id"]
    assert sum(not r["kept"] for r in rows.values()) == 1


DEDUP_DATA = Path(__file__).parent / "data" / "dedup"


def test_short_tables_of_different_features_stay(tmp_path: Path) -> None:
    """Six of the kernel's arch-support tables (linux-doc 6.1, Documentation/features): the same list of
    architectures, a different feature each, ok/TODO differing on several rows. Under 2 x --short
    shingles the threshold rises towards 0.5: at --short 40 they all stay, with the rule off some go as
    copies of another feature's table. The default (30) stops short of this: at 40 the news benchmark's
    heavily edited short articles fell below F1 0.98 (docs/benchmarks.md)."""
    docs = corpus()
    docs += [{"id": f"features/{p.stem}", "text": p.read_text(encoding="utf-8")}
             for p in sorted(DEDUP_DATA.glob("*arch-support.txt"))]
    rows = run(tmp_path, docs, short=40)
    assert all(r["kept"] for i, r in rows.items() if i.startswith("features/"))
    off = run(tmp_path, docs, short=0)
    assert any(not r["kept"] for i, r in off.items() if i.startswith("features/"))
