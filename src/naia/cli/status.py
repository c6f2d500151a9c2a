"""`naia status`: the API's queue and progress in the terminal."""

from __future__ import annotations

import time
from typing import Any

import httpx
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table


def fetch_status(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url.rstrip('/')}/api/backfill/status", timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()["data"]
    return body


def render(data: dict[str, Any]) -> Group:
    table = Table("request", "status", "progress", "", "chunks", "values", "values/s", "ETA s")
    for req in data["activeRequests"] + data["recentRequests"][-10:]:
        table.add_row(
            req["requestId"][:8],
            req["status"],
            f"{req['progress']:.1f}%",
            ProgressBar(total=100, completed=req["progress"], width=20),
            f"{req['completedChunks']}/{req['totalChunks']} ({req['failedChunks']} failed)",
            f"{req['pointsProcessed']:,}",
            f"{req['valuesPerSecond'] or 0:,}",
            str(req["etaSeconds"] if req["etaSeconds"] is not None else "-"),
        )
    stats = data["stats"]
    line = (
        f"queue depth {data['queueDepth']}  completed {stats['completedRequests']}  "
        f"failed {stats['failedRequests']}  values {stats['totalPointsBackfilled']:,}"
    )
    return Group(table, line)


def show_status(url: str, watch: bool, console: Console) -> None:
    try:
        data = fetch_status(url)
        if not watch:
            console.print(render(data))
            return
        with Live(render(data), console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(1.0)
                live.update(render(fetch_status(url)))
    except httpx.HTTPError as exc:
        console.print(f"[red]error:[/red] cannot reach the NAIA API at {url}: {exc}")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        return
