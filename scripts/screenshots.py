"""Screenshots of the dashboard with real data, for docs/dashboard.md.

    .venv/bin/python scripts/screenshots.py [--out docs/img]

Starts ``naia api`` on a free port (throttled so a backfill lasts a few seconds), drives the page
in headless Debian chromium through Playwright, and saves dashboard-idle.png,
dashboard-running.png and chunk-map.png. Needs /usr/bin/chromium (``apt-get install chromium``);
never ``playwright install``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e import CHROMIUM, CHROMIUM_ARGS, fill  # noqa: E402
from tests.helpers import api_up, free_port, naia, wait_for  # noqa: E402

SEED = {
    "connectorType": "Simulator",
    "pointAddresses": ["SINUSOID", "CDT158", "SINUSOIDU"],
    "startTime": "2026-01-09T00:00:00Z",
    "endTime": "2026-01-10T00:00:00Z",
    "chunkSize": "01:00:00",
}
BIG = {
    "connectorType": "Simulator",
    "pointAddresses": ["SINUSOID", "SINUSOIDU", "CDT158", "BA:TEMP.1", "BA:LEVEL.1", "BA:CONC.1"],
    "startTime": "2026-01-01T00:00:00Z",
    "endTime": "2026-01-03T00:00:00Z",
    "chunkSize": "01:00:00",
}
ENV = {
    "NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": "1500",
    "NAIA_ORCHESTRATOR__POINTS_PER_UNIT": "2",
}
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


def post(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{url}{path}", json=body, timeout=10)
    response.raise_for_status()
    data: dict[str, Any] = response.json()["data"]
    return data


def request(url: str, request_id: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{url}/api/backfill/request/{request_id}").json()["data"]
    return data


def history(page: Page, url: str) -> None:
    """One request completed through the form, one cancelled: the page at rest."""
    fill(page, SEED)
    page.click("#start-button")
    page.wait_for_selector("#requests-body tr[data-status='Completed']", timeout=60_000)
    cancelled = post(url, "/api/backfill/start", SEED)["requestId"]
    wait_for(lambda: request(url, cancelled)["progress"] >= 25, 30, "a quarter done")
    post(url, f"/api/backfill/request/{cancelled}/cancel")
    wait_for(lambda: request(url, cancelled)["status"] == "Cancelled", 30, "cancelled")


def shoot(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "api.log"
        proc = naia("api", "--port", str(port), "--db", f"{tmp}/shots.duckdb", log=log, env=ENV)
        try:
            wait_for(lambda: api_up(url), 30, "the API")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
                page.goto(url)
                page.wait_for_selector("#connectorType option", state="attached")
                history(page, url)
                page.goto(url)  # no request selected, form empty
                page.wait_for_selector("#requests-body tr[data-status='Cancelled']")
                page.wait_for_timeout(1500)
                page.screenshot(path=str(out / "dashboard-idle.png"))
                running(page, url, out)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(30)


def running(page: Page, url: str, out: Path) -> None:
    big = post(url, "/api/backfill/start", BIG)["requestId"]
    post(url, "/api/backfill/start", SEED)  # waits behind it in the queue
    wait_for(lambda: request(url, big)["progress"] >= 40, 60, "40 % of the big request")
    page.wait_for_timeout(1200)
    page.screenshot(path=str(out / "dashboard-running.png"))
    page.click(f"#requests-body tr[data-id='{big}']")
    wait_for(lambda: request(url, big)["progress"] >= 65, 60, "65 % of the big request")
    page.wait_for_timeout(1200)
    page.locator("#detail").screenshot(path=str(out / "chunk-map.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    started = time.monotonic()
    shoot(args.out)
    print(f"screenshots in {args.out} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
