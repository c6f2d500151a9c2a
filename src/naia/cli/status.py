"""`naia status`: the API's queue and progress in the terminal, as the dashboard shows them.

The same numbers as the page at ``/``: running first, then queued, then the most recent finished
requests; percent and bar, chunks with failed ones, values, values/s (this run's rate while
running, the request's average once finished), ETA; and the summary tiles on one line.
"""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from naia.api.schemas import ErrorBody, Ok, RequestSummary, StatusBody

RECENT_SHOWN = 10


def fmt_eta(seconds: float | None) -> str:
    """As the page: ``mm:ss``, ``h:mm:ss``, or ``Nd Nh mmm`` beyond a day."""
    if seconds is None:
        return "-"
    s = max(0, round(seconds))
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, sec = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes:02d}:{sec:02d}"


class ApiError(httpx.HTTPError):
    """The API answered with its error body."""


def fetch_status(url: str) -> StatusBody:
    response = httpx.get(f"{url.rstrip('/')}/api/backfill/status", timeout=10)
    if response.status_code != 200:
        try:
            error = ErrorBody.model_validate_json(response.content).error
        except ValueError:
            error = f"HTTP {response.status_code}"
        raise ApiError(error)
    return Ok[StatusBody].model_validate_json(response.content).data


def ordered(data: StatusBody) -> list[RequestSummary]:
    """Running, then queued, then finished requests newest first (the page's order)."""
    active = data.activeRequests
    running = [r for r in active if r.status == "Running"]
    queued = [r for r in active if r.status != "Running"]
    recent = list(reversed(data.recentRequests[-RECENT_SHOWN:]))
    return running + queued + recent


def average_rate(req: RequestSummary) -> float | None:
    if not req.startedAt or not req.completedAt:
        return None
    seconds = (_parse(req.completedAt) - _parse(req.startedAt)).total_seconds()
    return req.pointsProcessed / seconds if seconds > 0 else None


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rate_text(req: RequestSummary) -> Text:
    if req.status == "Running":
        return Text(f"{req.valuesPerSecond or 0:,.0f}")
    avg = average_rate(req)
    return Text("-" if avg is None else f"{avg:,.0f}", style="dim")


def chunks_text(req: RequestSummary) -> Text:
    text = Text(f"{req.completedChunks:,}/{req.totalChunks:,}")
    if req.failedChunks:
        text.append(f" {req.failedChunks:,} failed", style="bold red")
    return text


STATUS_STYLE = {"Running": "blue", "Completed": "green", "Failed": "red", "Cancelled": "dim"}
BAR_STYLE = {"Running": "blue", "Completed": "green", "Failed": "red"}


def progress_bar(req: RequestSummary) -> ProgressBar:
    style = BAR_STYLE.get(req.status, "grey50")
    return ProgressBar(
        total=100, completed=req.progress, width=24, complete_style=style, finished_style=style
    )


def request_row(req: RequestSummary) -> list[str | Text | ProgressBar]:
    running = req.status == "Running"
    return [
        req.requestId[:8],
        Text(req.status, style=STATUS_STYLE.get(req.status, "")),
        progress_bar(req),
        f"{req.progress:.1f} %",
        chunks_text(req),
        f"{req.pointsProcessed:,}",
        rate_text(req),
        fmt_eta(req.etaSeconds) if running else "-",
    ]


def summary_line(data: StatusBody) -> Text:
    stats, active = data.stats, data.activeRequests
    running = [r for r in active if r.status == "Running"]
    rate = sum(r.valuesPerSecond or 0 for r in running)
    line = Text(
        f"running {len(running)}  queued {data.queueDepth}  "
        f"completed {stats.completedRequests}  failed {stats.failedRequests}  "
    )
    failed_chunks = stats.failedChunks
    line.append(f"failed chunks {failed_chunks}", style="bold red" if failed_chunks else "")
    line.append(f"  values {stats.totalPointsBackfilled:,}")
    line.append(f"  throughput {rate:,.0f}/s" if running else "  throughput -")
    return line


def render(data: StatusBody) -> Group:
    table = Table(
        "request", "status", "progress", "", "chunks", "values", "values/s", "ETA",
        box=None, pad_edge=False,
    )  # fmt: skip
    for column in table.columns[3:]:
        column.justify = "right"
    for req in ordered(data):
        table.add_row(*request_row(req))
    if not table.rows:
        return Group(Text("no backfill requests yet", style="dim"), summary_line(data))
    return Group(table, Text(""), summary_line(data))


def unreachable(url: str, exc: Exception, last: Group | None) -> Group:
    note = Text(f"cannot reach the NAIA API at {url} ({exc}); retrying…", style="red")
    return Group(last, note) if last is not None else Group(note)


def show_status(url: str, watch: bool, console: Console) -> None:
    try:
        data = fetch_status(url)
    except httpx.HTTPError as exc:
        console.print(f"[red]error:[/red] cannot reach the NAIA API at {url}: {exc}")
        raise typer.Exit(2) from exc
    if not watch:
        console.print(render(data))
        return
    try:
        _watch(url, render(data), console)
    except KeyboardInterrupt:
        return


def _watch(url: str, view: Group, console: Console, interval: float = 1.0) -> None:
    """Refresh every ``interval`` s until interrupted; an API that went away is retried."""
    with Live(view, console=console, refresh_per_second=4) as live:
        while True:
            time.sleep(interval)
            try:
                view = render(fetch_status(url))
                live.update(view)
            except httpx.HTTPError as exc:
                live.update(unreachable(url, exc, view))
