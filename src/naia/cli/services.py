"""``naia services up|down|status``: the local Kafka, QuestDB and Redis (docs/services.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from naia.services import (
    SERVICE_NAMES,
    ServiceError,
    ServiceManager,
    ServicesSettings,
    ServiceStatus,
    ServicesUpError,
)

app = typer.Typer(
    help="Install, start and stop the local Kafka, QuestDB and Redis on 127.0.0.1.",
    no_args_is_help=True,
)

_ENV = "NAIA_SERVICES__"


def _port_option(flag: str, field: str, what: str) -> object:
    return typer.Option(
        flag, envvar=f"{_ENV}{field.upper()}", help=f"{what} port.", min=1, max=65535
    )


Names = Annotated[
    list[str] | None,
    typer.Argument(help=f"Services to act on: {', '.join(SERVICE_NAMES)} (default: all)."),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar=f"{_ENV}DATA_DIR",
        help="Where jars, configs, data, logs and PID files live [default: <repo>/var/services].",
    ),
]
KafkaPort = Annotated[int | None, _port_option("--kafka-port", "kafka_port", "Kafka PLAINTEXT")]
ControllerPort = Annotated[
    int | None,
    _port_option("--kafka-controller-port", "kafka_controller_port", "Kafka KRaft controller"),
]
QuestdbHttpPort = Annotated[
    int | None,
    _port_option("--questdb-http-port", "questdb_http_port", "QuestDB HTTP (ILP, /exec)"),
]
QuestdbPgPort = Annotated[
    int | None, _port_option("--questdb-pg-port", "questdb_pg_port", "QuestDB PG wire")
]
QuestdbIlpTcpPort = Annotated[
    int | None,
    typer.Option(
        "--questdb-ilp-tcp-port",
        envvar=f"{_ENV}QUESTDB_ILP_TCP_PORT",
        help="QuestDB ILP over TCP port; 0 disables it [default: 19009].",
        min=0,
        max=65535,
    ),
]
RedisPort = Annotated[int | None, _port_option("--redis-port", "redis_port", "Redis")]
JavaHome = Annotated[
    Path | None,
    typer.Option("--java-home", envvar=f"{_ENV}JAVA_HOME", help="JDK for QuestDB [default: auto]."),
]
Timeout = Annotated[
    float | None,
    typer.Option("--timeout", help="Seconds to wait for each service to answer [default: 120]."),
]


def _settings(**values: object) -> ServicesSettings:
    """Settings from the given options; options left unset keep the model's defaults."""
    fields = {
        "kafka_controller_port" if key == "controller_port" else key: value
        for key, value in values.items()
        if value is not None
    }
    if "timeout" in fields:
        fields["start_timeout_s"] = fields.pop("timeout")
    try:
        return ServicesSettings.model_validate(fields)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _progress(message: str) -> None:
    typer.echo(message, err=True)


def _print_table(statuses: Sequence[ServiceStatus]) -> None:
    rows = [("SERVICE", "VERSION", "PID", "PORTS", "HEALTHY", "NOTE")]
    for status in statuses:
        ports = " ".join(f"{role}={port}" for role, port in status.ports.items())
        pid = "-" if status.pid is None else str(status.pid)
        healthy = "yes" if status.healthy else "no"
        rows.append((status.name, status.version, pid, ports, healthy, status.note))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@app.command()
def up(
    names: Names = None,
    *,
    data_dir: DataDir = None,
    kafka_port: KafkaPort = None,
    controller_port: ControllerPort = None,
    questdb_http_port: QuestdbHttpPort = None,
    questdb_pg_port: QuestdbPgPort = None,
    questdb_ilp_tcp_port: QuestdbIlpTcpPort = None,
    redis_port: RedisPort = None,
    java_home: JavaHome = None,
    timeout: Timeout = None,
) -> None:
    """Install what is missing, start what is not running, wait until every service answers."""
    settings = _settings(
        data_dir=data_dir,
        kafka_port=kafka_port,
        controller_port=controller_port,
        questdb_http_port=questdb_http_port,
        questdb_pg_port=questdb_pg_port,
        questdb_ilp_tcp_port=questdb_ilp_tcp_port,
        redis_port=redis_port,
        java_home=java_home,
        timeout=timeout,
    )
    manager = ServiceManager(settings, emit=_progress)
    try:
        statuses = manager.up(names)
    except ServicesUpError as exc:
        _print_table(exc.statuses)
        typer.echo(f"\nerror: {exc}", err=True)
        raise typer.Exit(1) from exc
    except (ServiceError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    _print_table(statuses)


@app.command()
def down(names: Names = None, data_dir: DataDir = None) -> None:
    """Stop the services (SIGTERM, then SIGKILL after a timeout); idempotent."""
    manager = ServiceManager(_settings(data_dir=data_dir), emit=_progress)
    try:
        statuses = manager.down(names)
    except (ServiceError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    _print_table(statuses)


@app.command()
def status(
    names: Names = None,
    *,
    data_dir: DataDir = None,
    kafka_port: KafkaPort = None,
    controller_port: ControllerPort = None,
    questdb_http_port: QuestdbHttpPort = None,
    questdb_pg_port: QuestdbPgPort = None,
    questdb_ilp_tcp_port: QuestdbIlpTcpPort = None,
    redis_port: RedisPort = None,
) -> None:
    """Show each service's PID, ports and health; exit 1 unless all of them answer."""
    settings = _settings(
        data_dir=data_dir,
        kafka_port=kafka_port,
        controller_port=controller_port,
        questdb_http_port=questdb_http_port,
        questdb_pg_port=questdb_pg_port,
        questdb_ilp_tcp_port=questdb_ilp_tcp_port,
        redis_port=redis_port,
    )
    try:
        statuses = ServiceManager(settings).status(names)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    _print_table(statuses)
    if not all(item.healthy for item in statuses):
        raise typer.Exit(1)
