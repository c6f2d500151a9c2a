"""Terminal progress for a running request: percent, values/s, ETA, chunks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from naia.api.schemas import RequestDetail
from naia.domain.model import RequestStatus
from naia.orchestrator.views import RequestView

V = TypeVar("V")


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{sec:02d}" if hours else f"{minutes:02d}:{sec:02d}"


class _Shown(NamedTuple):
    """What the bar shows of one view, local (RequestView) or remote (RequestDetail)."""

    label: str
    active: bool
    percent: float
    detail: str


def _detail(done: int, total: int, values: int, rate: float | None, eta: float | None) -> str:
    shown = f"{rate:,.0f} values/s" if rate else "- values/s"
    return f"{done}/{total} chunks  {values:,} values  {shown}  ETA {_fmt_eta(eta)}"


def _local(view: RequestView) -> _Shown:
    detail = _detail(
        view.completed_chunks,
        view.total_chunks,
        view.points_processed,
        view.values_per_second,
        view.eta_seconds,
    )
    return _Shown(view.request_id[:8], view.status.is_active, view.progress, detail)


def _remote(view: RequestDetail) -> _Shown:
    detail = _detail(
        view.completedChunks,
        view.totalChunks,
        view.pointsProcessed,
        view.valuesPerSecond,
        view.etaSeconds,
    )
    return _Shown(view.requestId[:8], view.status.is_active, view.progress, detail)


def _follow(
    after: Callable[[float], V], shown: Callable[[V], _Shown], console: Console, interval: float
) -> V:
    """``after(seconds)``: the view once that long has passed, or sooner if the request settled."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        view = after(0.0)
        now = shown(view)
        task = bar.add_task(now.label, total=100.0, detail=now.detail)
        while now.active:
            bar.update(task, completed=now.percent, detail=now.detail)
            view = after(interval)
            now = shown(view)
        bar.update(task, completed=now.percent, detail=now.detail)
    return view


def follow(
    wait: Callable[[float], RequestView], console: Console, interval: float = 0.2
) -> RequestView:
    """Show a progress bar until the request leaves Queued/Running; return its last view.
    ``wait(seconds)`` returns the view when the request settles or the time is up
    (``Orchestrator.wait``): the bar ends the moment the request does, not at the next tick."""
    return _follow(wait, _local, console, interval)


def follow_remote(
    get: Callable[[], RequestDetail], console: Console, interval: float = 0.5
) -> RequestDetail:
    """``follow`` for a request run by a `naia api` (its HTTP view): the same bar, rate and ETA."""

    def after(seconds: float) -> RequestDetail:
        time.sleep(seconds)
        return get()

    return _follow(after, _remote, console, interval)


def _table(
    title: str, status: RequestStatus, rows: list[tuple[str, str]], error: str | None
) -> Table:
    table = Table(title=title, show_header=False)
    colour = "green" if status is RequestStatus.COMPLETED else "red"
    table.add_row("status", f"[{colour}]{status.value}[/{colour}]")
    for key, value in rows:
        table.add_row(key, value)
    if error:
        table.add_row("error", error)
    return table


def _chunks(done: int, failed: int, total: int) -> str:
    return f"{done} done, {failed} failed of {total}"


def summary(view: RequestView) -> Table:
    """This process's run of the request: values it wrote, its wall time and rate (a resumed
    request counts only what this run wrote), and every retry (chunks and the connector's)."""
    seconds = view.run_seconds or 0.0
    rows = [
        ("points", str(view.point_count)),
        ("chunks", _chunks(view.completed_chunks, view.failed_chunks, view.total_chunks)),
        ("values written", f"{view.run_values:,}"),
        ("values stored", f"{view.points_processed:,}"),
        ("batches", f"{view.batches_published:,}"),
        ("wall time", f"{seconds:.1f} s"),
        ("rate", f"{view.run_values / seconds:,.0f} values/s" if seconds > 0 else "-"),
        ("retries", str(view.retries)),
    ]
    return _table(f"Backfill {view.request_id}", view.status, rows, view.error)


def remote_summary(view: RequestDetail) -> Table:
    rows = [
        ("points", str(view.pointCount)),
        ("chunks", _chunks(view.completedChunks, view.failedChunks, view.totalChunks)),
        ("values stored", f"{view.pointsProcessed:,}"),
        ("retries", str(view.retries)),
    ]
    return _table(f"Backfill {view.requestId}", view.status, rows, view.error)
