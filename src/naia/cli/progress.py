"""Terminal progress for a running request: percent, values/s, ETA, chunks."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from naia.api.schemas import RequestDetail
from naia.domain.model import RequestStatus
from naia.orchestrator.views import RequestView


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{sec:02d}" if hours else f"{minutes:02d}:{sec:02d}"


def _detail(view: RequestView) -> str:
    rate = f"{view.values_per_second:,.0f} values/s" if view.values_per_second else "- values/s"
    return (
        f"{view.completed_chunks}/{view.total_chunks} chunks  {view.points_processed:,} values  "
        f"{rate}  ETA {_fmt_eta(view.eta_seconds)}"
    )


def follow(get: Callable[[], RequestView], console: Console, interval: float = 0.2) -> RequestView:
    """Show a progress bar until the request leaves Queued/Running; return its last view."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        view = get()
        task = bar.add_task(view.request_id[:8], total=100.0, detail=_detail(view))
        while view.status.is_active:
            bar.update(task, completed=view.progress, detail=_detail(view))
            time.sleep(interval)
            view = get()
        bar.update(task, completed=view.progress, detail=_detail(view))
    return view


def summary(view: RequestView) -> Table:
    """This process's run of the request: values it wrote, its wall time and rate (a resumed
    request counts only what this run wrote), and every retry (chunks and the connector's)."""
    seconds = view.run_seconds or 0.0
    table = Table(title=f"Backfill {view.request_id}", show_header=False)
    colour = "green" if view.status is RequestStatus.COMPLETED else "red"
    rows = [
        ("status", f"[{colour}]{view.status.value}[/{colour}]"),
        ("points", str(view.point_count)),
        ("chunks", f"{view.completed_chunks} done, {view.failed_chunks} failed "
                   f"of {view.total_chunks}"),
        ("values written", f"{view.run_values:,}"),
        ("values stored", f"{view.points_processed:,}"),
        ("batches", f"{view.batches_published:,}"),
        ("wall time", f"{seconds:.1f} s"),
        ("rate", f"{view.run_values / seconds:,.0f} values/s" if seconds > 0 else "-"),
        ("retries", str(view.retries)),
    ]  # fmt: skip
    if view.error:
        rows.append(("error", view.error))
    for key, value in rows:
        table.add_row(key, value)
    return table


def follow_remote(
    get: Callable[[], RequestDetail], console: Console, interval: float = 0.5
) -> RequestDetail:
    """``follow`` for a request run by a `naia api` (its HTTP view)."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        view = get()
        task = bar.add_task(view.requestId[:8], total=100.0)
        while view.status.is_active:
            bar.update(task, completed=view.progress)
            time.sleep(interval)
            view = get()
        bar.update(task, completed=view.progress)
    return view


def remote_summary(view: RequestDetail) -> Table:
    table = Table(title=f"Backfill {view.requestId}", show_header=False)
    colour = "green" if view.status is RequestStatus.COMPLETED else "red"
    rows = [
        ("status", f"[{colour}]{view.status.value}[/{colour}]"),
        ("points", str(view.pointCount)),
        ("chunks", f"{view.completedChunks} done, {view.failedChunks} failed "
                   f"of {view.totalChunks}"),
        ("values stored", f"{view.pointsProcessed:,}"),
        ("retries", str(view.retries)),
    ]  # fmt: skip
    if view.error:
        rows.append(("error", view.error))
    for key, value in rows:
        table.add_row(key, value)
    return table
