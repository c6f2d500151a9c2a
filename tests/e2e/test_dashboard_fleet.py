"""The dashboard's fleet panel in headless chromium: an API in fleet mode on the real Kafka,
two `naia fetch` processes; the panel shows which fetcher reads which unit now, and how many
units each settled, at what rate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import CHROMIUM, CHROMIUM_ARGS, fill
from tests.integration.distributed import request
from tests.integration.fleet import FleetSlice, fleet

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"
    ),
]

BODY = {
    "connectorType": "Simulator",
    "pointAddresses": [f"SIM.{i}" for i in range(10)],
    "startTime": "2026-01-09T00:00:00Z",
    "endTime": "2026-01-10T00:00:00Z",
    "chunkSize": "01:00:00",
}
UNITS, EXPECTED = 24, 10 * 1440
# ~8 s: the panel is seen while units are still outstanding
SLOW = {"NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": "2000", "NAIA_SIMULATOR__BATCH_ROWS": "100"}


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[FleetSlice, str]]:
    with fleet(tmp_path, "pd_dashfleet", ["fetcher-a", "fetcher-b"], **SLOW) as (s, url):
        yield s, url


def cells(page: Any, column: str) -> dict[str, int]:
    rows = page.locator("#fleet-body tr")
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        text = row.locator(f".fleet-{column}").inner_text().replace(",", "")
        out[str(row.get_attribute("data-fetcher"))] = int(text)
    return out


def test_the_fleet_panel_shows_each_fetcher_its_units_and_rate(
    running: tuple[FleetSlice, str],
) -> None:
    from playwright.sync_api import sync_playwright

    _, url = running
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_selector("#connectorType option[value='Simulator']", state="attached")
            fill(page, BODY)
            page.click("#start-button")
            row = page.locator("#requests-body tr").first
            row.wait_for()
            request_id = row.get_attribute("data-id")
            assert request_id
            row.click()
            page.locator("#fleet-panel").wait_for(state="visible")
            page.wait_for_function(  # refreshed every second while the request runs
                f"/^{UNITS} units dispatched/.test("
                "document.getElementById('fleet-summary').textContent)"
            )
            page.wait_for_function(  # a fetcher's unit in hand, as it announced it
                "[...document.querySelectorAll('#fleet-body .fleet-now')]"
                ".some((cell) => /^unit \\d+ since \\d\\d:\\d\\d:\\d\\d$/.test(cell.textContent))"
            )
            done = page.locator(
                f"#requests-body tr[data-id='{request_id}'][data-status='Completed']"
            )
            done.wait_for()
            page.wait_for_function(
                "/ 0 outstanding/.test(document.getElementById('fleet-summary').textContent)"
            )
            units = cells(page, "units")
            assert sorted(units) == ["fetcher-a", "fetcher-b"], units
            assert sum(units.values()) == UNITS
            assert sum(cells(page, "values").values()) == EXPECTED
            rates = cells(page, "rate")
            assert all(rate > 0 for rate in rates.values()), rates
            assert request(url, request_id)["pointsProcessed"] == EXPECTED
        finally:
            browser.close()
