"""``naia verify REQUEST_ID [--repair]``: compare a request's store with its source, in the
foreground; exit 0 only when every (point, window) matches."""

from __future__ import annotations

from typing import Annotated

import typer
from prometheus_client import CollectorRegistry
from rich.console import Console

from naia.app.wiring import build_runtime
from naia.cli.main import ConfigOpt, DbOpt, _die, _settings, console
from naia.domain.errors import NaiaError
from naia.domain.model import Verification, VerificationStatus
from naia.domain.timeparse import format_timestamp

SHOWN = 200  # mismatches printed; the summary line counts them all


def verify(
    request_id: Annotated[str, typer.Argument(help="the request to verify")],
    repair: Annotated[
        bool, typer.Option("--repair", help="run the mismatched chunks again, then verify again")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Compare a request's stored rows with the PI server's own counts, per point and window."""
    settings = _settings(config, db, log_level="WARNING")
    try:
        runtime = build_runtime(settings)
    except NaiaError as exc:
        _die(str(exc), 1)
    try:
        orch = runtime.orchestrator
        orch.recover()
        result = orch.verify(request_id, repair=repair)
        if result.status is VerificationStatus.REPAIRING:
            show(result, console)
            console.print(f"repairing {len(result.repaired_units)} chunk(s) of {request_id}")
            orch.run_pending()
            final = orch.get(request_id).verification
            assert final is not None
            result = final
        requests = _pi_requests(runtime.metrics.registry)
    except NaiaError as exc:
        _die(str(exc))
    finally:
        runtime.close()
    show(result, console)
    if requests:
        console.print(f"source requests: {requests:,}", highlight=False)
    if result.status is not VerificationStatus.VERIFIED:
        raise typer.Exit(1)


def _pi_requests(registry: CollectorRegistry) -> int:
    """PI requests this process made (PIWebApi connector), as its metrics counted them."""
    total = 0.0
    for connector in ("PIWebApi", "PIAfSdk"):
        found = registry.get_sample_value(
            "naia_pi_request_duration_seconds_count", {"connector": connector}
        )
        total += found or 0.0
    return int(total)


def show(result: Verification, out: Console) -> None:
    """The mismatches (at most SHOWN) and a summary line."""
    for m in result.mismatches[:SHOWN]:
        window = f"[{format_timestamp(m.start)}, {format_timestamp(m.end)})"
        doubled = f"  doubled {m.duplicates:,}" if m.duplicates else ""
        if m.source == m.stored and not m.duplicates:  # equal counts, other keys (fingerprint)
            doubled = "  other keys than the source's"
        out.print(
            f"{m.point}  {window}  source {m.source:,}  stored {m.stored:,}{doubled}",
            soft_wrap=True, highlight=False, markup=False,
        )  # fmt: skip
    if len(result.mismatches) > SHOWN:
        out.print(f"… and {len(result.mismatches) - SHOWN:,} more")
    if result.status is VerificationStatus.FAILED:
        out.print(f"[red]verification failed:[/red] {result.error}")
        return
    line = (
        f"{result.status.value}: {len(result.mismatches):,} of {result.windows_checked:,} "
        f"point-windows differ (source {result.source_events:,} events, stored "
        f"{result.stored_events:,}; {result.windows_skipped:,} skipped as live) "
        f"in {result.seconds:.2f}s"
    )
    out.print(line, soft_wrap=True, highlight=False)
