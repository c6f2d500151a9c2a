"""End-to-end tests in a real browser: Debian's chromium driven by Playwright (no downloads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def fill(page: Any, body: dict[str, Any]) -> None:
    """Type a POST /start body into the dashboard's start form."""
    page.select_option("#connectorType", body["connectorType"])
    page.fill("#pointAddresses", ", ".join(body["pointAddresses"]))
    page.fill("#startTime", body["startTime"])
    page.fill("#endTime", body["endTime"])
    page.fill("#chunkSize", body["chunkSize"])
