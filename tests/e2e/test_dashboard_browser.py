"""The dashboard in headless chromium against a real `naia api`: start, watch, chunk map."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import CHROMIUM, CHROMIUM_ARGS, fill
from tests.helpers import TEST1, api_up, free_port, naia, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"
    ),
]

RATE = "800"  # values/s: the seed's 4,320 values take about 5 s, long enough to watch

PIXELS_JS = """
(count) => {
  const canvas = document.getElementById("chunk-map");
  const ctx = canvas.getContext("2d");
  const ratio = canvas.width / canvas.getBoundingClientRect().width;
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const p = window.naiaDashboard.chunkCellCenter(i);
    const d = ctx.getImageData(Math.round(p.x * ratio), Math.round(p.y * ratio), 1, 1).data;
    out.push([d[0], d[1], d[2]]);
  }
  return out;
}
"""


@pytest.fixture
def api_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {"NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": RATE}
    log = tmp_path / "api.log"
    proc = naia("api", "--port", str(port), "--db", str(tmp_path / "e2e.duckdb"), log=log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: api_up(url), 30, "naia api")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture
def page(api_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1440, "height": 1000})
            tab.set_default_timeout(60_000)
            tab.goto(api_url)
            tab.wait_for_selector("#connectorType option[value='Simulator']", state="attached")
            yield tab
        finally:
            browser.close()


def hex_rgb(colour: str) -> list[int]:
    colour = colour.strip().lstrip("#")
    return [int(colour[i : i + 2], 16) for i in (0, 2, 4)]


def test_a_bad_field_is_shown_next_to_it(page: Any) -> None:
    fill(page, {**TEST1, "endTime": "2026-01-08T00:00:00Z"})
    page.click("#start-button")
    error = page.locator("#endTime-error")
    error.wait_for(state="visible")
    assert "endTime" in error.inner_text()
    assert page.get_attribute("#endTime", "aria-invalid") == "true"
    assert page.locator("#requests-body tr").count() == 0  # nothing was queued
    page.fill("#endTime", TEST1["endTime"])  # typing clears the error
    assert error.inner_text() == ""


def test_start_watch_and_chunk_map_of_the_seed_test1(page: Any) -> None:
    fill(page, TEST1)
    page.click("#start-button")
    row = page.locator("#requests-body tr").first
    row.wait_for()
    request_id = row.get_attribute("data-id")
    assert request_id
    running = page.locator(f"#requests-body tr[data-id='{request_id}'][data-status='Running']")
    running.wait_for()  # seen while it runs: the page updates without a reload
    assert float(running.locator(".pct").inner_text().rstrip(" %")) < 100
    done = page.locator(f"#requests-body tr[data-id='{request_id}'][data-status='Completed']")
    done.wait_for()
    assert done.locator(".pct").inner_text() == "100.0 %"
    assert done.locator(".badge").inner_text() == "Completed"
    assert done.locator(".bar-fill").evaluate("e => e.style.width") == "100%"
    assert done.locator(".req-chunks").inner_text() == "24 / 24"
    assert done.locator(".req-values").inner_text() == "4,320"
    assert done.locator(".failed-note").inner_text() == ""

    done.click()  # the request's detail: chunk map and throughput
    page.wait_for_function("document.getElementById('count-done').textContent === '24'")
    assert page.locator("#detail-status").inner_text() == "Completed"
    for state in ("running", "failed", "pending"):
        assert page.locator(f"#count-{state}").inner_text() == "0"
    colours = page.evaluate("window.naiaDashboard.chunkColours()")
    pixels = page.evaluate(PIXELS_JS, 24)
    assert pixels == [hex_rgb(colours["done"])] * 24  # 24 cells drawn, every one done
    page.locator("#chart svg path.line").wait_for()
    assert "24 windows × 1 point group" in page.locator("#chunk-caption").inner_text()
