"""The ``naia`` command."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from naia.api.schemas import StartRequest
from naia.app.logs import configure_logging, uvicorn_log_config
from naia.app.memory import bound_memory
from naia.app.settings import NaiaSettings, load_settings
from naia.app.wiring import build_runtime
from naia.cli.progress import follow, summary
from naia.domain.errors import NaiaError
from naia.domain.model import RequestStatus

app = typer.Typer(
    name="naia",
    help="Backfill PI historian data into a time-series store: fast, resumable, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, whatever the width


@app.callback()
def _every_command() -> None:
    bound_memory()


ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]
DbOpt = Annotated[Path | None, typer.Option("--db", help="DuckDB file of the embedded store")]


def _settings(config: Path | None, db: Path | None = None, **extra: object) -> NaiaSettings:
    overrides: dict[str, object] = dict(extra)
    if db is not None:
        overrides["store"] = {"path": db}
    try:
        settings = load_settings(config, **overrides)
    except (FileNotFoundError, ValueError) as exc:
        _die(str(exc))
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _die(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


@app.command()
def backfill(
    connector: Annotated[str, typer.Option(help="Simulator, PIWebApi or PIAfSdk")] = "Simulator",
    points: Annotated[str, typer.Option(help="comma-separated point names")] = "",
    start: Annotated[str, typer.Option(help="start, ISO-8601 with zone")] = "",
    end: Annotated[str, typer.Option(help="end (exclusive), ISO-8601 with zone")] = "",
    chunk: Annotated[
        str | None, typer.Option(help="chunk size: 01:00:00, 30.00:00:00, PT1H")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            help="run at most once per key: the same key again follows the first request "
            "(another request under the same key is refused)"
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="submit to a running `naia api` at this URL and follow it there"),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run one backfill in the foreground with a progress bar, then print a summary."""
    request = StartRequest(
        connectorType=connector,
        pointAddresses=[p for p in points.split(",") if p.strip()] if points else [],
        startTime=start,
        endTime=end,
        chunkSize=chunk,
    )
    if url is not None:
        _backfill_through_api(url, request, idempotency_key)
        return
    settings = _settings(config, db, log_level="WARNING")
    runtime = build_runtime(settings)
    try:
        spec = request.to_spec()
        runtime.orchestrator.start()
        view = runtime.orchestrator.submit(spec, idempotency_key=idempotency_key)
    except NaiaError as exc:
        runtime.close()
        _die(str(exc))
    console.print(
        f"Backfill {view.request_id}: {view.point_count} points, {view.total_chunks} chunks "
        f"→ {settings.store.path}"
    )
    try:
        final = follow(partial(runtime.orchestrator.wait, view.request_id), console)
    except KeyboardInterrupt:
        runtime.orchestrator.cancel(view.request_id)
        final = follow(partial(runtime.orchestrator.wait, view.request_id), console)
    finally:
        runtime.close()
    console.print(summary(final))
    if final.status is not RequestStatus.COMPLETED:
        raise typer.Exit(1)


@app.command()
def resume(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Finish, in the foreground, every request that was Queued or Running when NAIA stopped."""
    settings = _settings(config, db, log_level="WARNING")
    runtime = build_runtime(settings)
    try:
        resumed = runtime.orchestrator.recover()
        if not resumed:
            console.print("nothing to resume")
            return
        for request_id in resumed:
            console.print(f"resuming {request_id}")
        runtime.orchestrator.run_pending()
        for request_id in resumed:
            console.print(summary(runtime.orchestrator.get(request_id)))
    finally:
        runtime.close()


@app.command("retry-failed")
def retry_failed(
    request_id: Annotated[str, typer.Argument(help="the request whose failed chunks to run again")],
    url: Annotated[
        str | None, typer.Option(help="ask a running `naia api` at this URL instead")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run a request's failed chunks again: in the foreground on the store, or through the API."""
    if url is not None:
        _retry_through_api(url, request_id)
        return
    settings = _settings(config, db, log_level="WARNING")
    runtime = build_runtime(settings)
    try:
        runtime.orchestrator.recover()
        view = runtime.orchestrator.retry_failed(request_id)
        console.print(
            f"retrying {view.total_chunks - view.completed_chunks} chunk(s) of {request_id}"
        )
        runtime.orchestrator.start_worker()
        final = follow(partial(runtime.orchestrator.wait, request_id), console)
    except NaiaError as exc:
        _die(str(exc))
    finally:
        runtime.close()
    console.print(summary(final))
    if final.status is not RequestStatus.COMPLETED:
        raise typer.Exit(1)


def _retry_through_api(url: str, request_id: str) -> None:
    from naia.cli.client import ApiClient, ApiError

    client = ApiClient(url)
    try:
        view = client.retry_failed(request_id)
    except ApiError as exc:
        _die(str(exc))
    finally:
        client.close()
    console.print(f"{request_id}: {view.status.value}")


def _backfill_through_api(url: str, request: StartRequest, key: str | None) -> None:
    """Submit (retried under one Idempotency-Key), follow, summarise; exit 1 unless Completed."""
    from naia.cli.client import ApiClient, ApiError
    from naia.cli.progress import follow_remote, remote_summary

    client = ApiClient(url)
    try:
        queued = client.start(request, key)
        console.print(
            f"Backfill {queued.requestId}: {queued.pointCount} points, "
            f"{queued.totalChunks} chunks → {client.url}"
        )
        final = follow_remote(lambda: client.request(queued.requestId), console)
    except ApiError as exc:
        _die(str(exc))
    finally:
        client.close()
    console.print(remote_summary(final))
    if final.status is not RequestStatus.COMPLETED:
        raise typer.Exit(1)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    db: DbOpt = None,
    mode: Annotated[
        str | None, typer.Option(help="embedded (DuckDB) or distributed (Kafka)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the HTTP API (and its background worker). OpenAPI docs at /docs."""
    import uvicorn

    from naia.api.app import create_app

    settings = _settings(config, db, **({"mode": mode} if mode else {}))
    try:
        runtime = build_runtime(settings)
    except NaiaError as exc:
        _die(str(exc), 1)
    uvicorn.run(
        create_app(runtime, owns_runtime=True),
        host=host or settings.api.host,
        port=port or settings.api.port,
        log_level=settings.log_level.lower(),
        log_config=uvicorn_log_config(settings.log_json),
    )
    runtime.close()  # already closed on a clean shutdown; here when the server could not start


@app.command()
def ingest(
    config: ConfigOpt = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="serve Prometheus metrics (values ingested, consumer lag) on this port"),
    ] = None,
) -> None:
    """Run the ingestion worker: Kafka (live first, then backfill) → QuestDB + Redis."""
    from naia.app.ingest import run_worker

    settings = _settings(config)
    try:
        run_worker(settings, metrics_port)
    except NaiaError as exc:
        _die(str(exc), 1)


latest_app = typer.Typer(
    help="Redis's latest value of each point (naia:latest:<point>)", no_args_is_help=True
)


@latest_app.command("rebuild")
def latest_rebuild(config: ConfigOpt = None) -> None:
    """Write each point's newest row in QuestDB to Redis (a newer value already there stays).

    The worker does this by itself when it finds Redis empty; this is the same, on demand.
    """
    from naia.app.latest import rebuild_latest
    from naia.sinks.redis.sink import RedisLatestSink

    settings = _settings(config, log_level="WARNING")
    sink = RedisLatestSink(settings.redis)
    try:
        points, written = rebuild_latest(settings.questdb, sink)
        sink.set_marker()
    except NaiaError as exc:
        _die(str(exc), 1)
    finally:
        sink.close()
    console.print(
        f"{points} point(s) in QuestDB {settings.questdb.table}: {written} Redis key(s) written"
    )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the embedded store")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print the result of a query on the embedded DuckDB store (read-only)."""
    from naia.stores.duckdb import DuckDbStore

    settings = _settings(config, db, log_level="WARNING")
    path = settings.store.path
    if not path.exists():
        _die(f"no store at {path}; run a backfill first or pass --db")
    try:
        store = DuckDbStore(path, read_only=True)
        names, rows = store.query(query)
    except Exception as exc:  # DuckDB's own message is the useful one
        _die(f"query failed: {exc}")
    store.close()
    table = Table(*names)
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    console.print(table)


@app.command()
def status(
    url: Annotated[str | None, typer.Option(help="API base URL")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="refresh until interrupted")] = False,
    config: ConfigOpt = None,
) -> None:
    """Show the queue and progress of a running `naia api`."""
    from naia.cli.status import show_status

    settings = _settings(config, log_level="WARNING")
    show_status(url or settings.api.url, watch, console)


def _mount_subcommands() -> None:
    """Sub-commands whose modules live beside this one."""
    from naia.cli.fetch import fetch

    app.command("fetch")(fetch)
    from naia.cli.emulator import app as emulator_app
    from naia.cli.services import app as services_app
    from naia.cli.verify import verify

    app.command("verify")(verify)

    app.add_typer(services_app, name="services", help="Start/stop Kafka, QuestDB and Redis")
    app.add_typer(emulator_app, name="emulator", help="Serve the Simulator as a PI Web API")
    app.add_typer(latest_app, name="latest", help="Rebuild Redis's latest values from QuestDB")


_mount_subcommands()


def main() -> None:
    app()
