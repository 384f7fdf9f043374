"""The report in a real headless Chromium: it loads with no console errors and no network requests,
draws its charts and diffs, and the id search finds documents. Screenshots go to test-artifacts/."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest

import semel
from semel.jobs.repair import repair_file
from semel.report import write_report
from semel.report.runinfo import write_run_stats
from tests.corpus import make_corpus, write_jsonl

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SEMEL_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A persistent Chromium context with a fresh profile; fails (never skips) when Chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need the 'playwright' Python package (pip install playwright)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it (apt-get install -y chromium) "
                    "or set SEMEL_CHROMIUM")
    profile = tempfile.mkdtemp(prefix="semel-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=FLAGS,
                                                   headless=True, viewport={"width": 1280, "height": 900})
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


def open_page(ctx: object, path: str) -> tuple[object, list[str], list[str]]:
    page = ctx.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    url = "file://" + os.path.abspath(path)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, errors, [r for r in requests if r != url]


def test_dedup_report_in_chromium(browser, tmp_path) -> None:
    docs, _ = make_corpus(n_bases=30, seed=11)
    src = str(tmp_path / "corpus.jsonl")
    write_jsonl(src, docs)
    out = str(tmp_path / "out")
    semel.dedup(src, out)
    page, errors, requests = open_page(browser, write_report(out))
    assert errors == [] and requests == []
    # charts: cluster sizes and similarities as bars, the S-curve as a path
    assert page.locator("#plots svg").count() == 3
    assert page.locator("#plots svg rect.bar").count() > 5
    assert page.locator("#plots svg path.curve").count() == 1
    assert page.locator("#plots svg line.marker").count() == 2  # threshold on the histogram and S-curve
    # diffs are shown with marked words
    assert page.locator("#clusters .diff").count() >= 1 and page.locator(".diff ins").count() > 0
    assert page.locator("#borderline .diff").count() >= 1
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "report-dedup.png"), full_page=False)
    # search: a removed document names the kept one; its example card is outlined
    t = {r["id"]: r for r in pq.read_table(os.path.join(out, "clusters.parquet")).to_pylist()}
    shown = page.locator("#borderline .pair").first.get_attribute("data-ids")
    removed_id = next(i for i in t if not t[i]["kept"] and i in (shown or ""))
    page.fill("#q", removed_id)
    page.click("#search button")
    result = page.locator("#result").inner_text()
    assert removed_id in result and t[removed_id]["cluster"] in result and "near copy" in result
    assert page.locator(".pair.hit").count() >= 1
    page.locator("#find").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(ARTIFACTS, "report-dedup-search.png"))
    # a kept original, and an id that is in no cluster
    original = next(i for i, r in t.items() if r["reason"] == "original")
    page.fill("#q", original)
    page.click("#search button")
    assert "kept" in page.locator("#result").inner_text()
    page.fill("#q", "no-such-document")
    page.click("#search button")
    assert "not removed" in page.locator("#result").inner_text()
    assert errors == [] and requests == []


def test_repair_report_in_chromium(browser, tmp_path) -> None:
    line = "This sentence was scraped twice by the crawler today."
    docs = [{"id": f"d{i}", "text": f"Intro {i}.\n\n{line}\n\n{line}\n\nEnd."} for i in range(3)]
    src, dst = str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl")
    write_jsonl(src, docs)
    write_run_stats(dst, "repair", {"inputs": [src], "output": dst}, repair_file(src, dst, progress=False))
    page, errors, requests = open_page(browser, write_report(dst))
    assert errors == [] and requests == []
    assert page.locator("#examples .text mark").count() == 3
    page.fill("#q", "d1")
    page.click("#search button")
    assert "repaired" in page.locator("#result").inner_text()
    page.screenshot(path=os.path.join(ARTIFACTS, "report-repair.png"))
    assert errors == []
