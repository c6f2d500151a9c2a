"""``naia emulator --port N``: serve the Simulator's points as a PI Web API.

Mount with ``main_app.add_typer(emulator.app, name="emulator")`` (the command is the Typer
callback, so no sub-command name is needed), or call :func:`emulator_command` directly.
Options left out fall back to ``NAIA_EMULATOR__*`` environment variables, then to the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import SecretStr

from naia.emulator.settings import (
    AuthMode,
    EmulatorSettings,
    EndpointKind,
    FaultKind,
    FaultSettings,
    StreamsetLimit,
    load_emulator_settings,
)
from naia.sources.simulator.settings import SimulatorSettings

E = TypeVar("E", FaultKind, EndpointKind)


def serve(settings: EmulatorSettings, *, host: str, port: int, log_level: str) -> None:
    """The server (uvicorn, Starlette) is imported by this command only, not by every `naia`."""
    from naia.emulator.server import serve as run

    run(settings, host=host, port=port, log_level=log_level)


app = typer.Typer(help="A PI Web API emulator serving the Simulator's points.")


def emulator_command(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    server_name: Annotated[str | None, typer.Option(help="Data archive name.")] = None,
    max_returned_items: Annotated[
        int | None, typer.Option(help="MaxReturnedItemsPerCall (default 150000).")
    ] = None,
    streamset_limit: Annotated[
        StreamsetLimit | None, typer.Option(help="Limit per stream or summed over a streamset.")
    ] = None,
    auth: Annotated[AuthMode | None, typer.Option(help="none, basic or bearer.")] = None,
    username: Annotated[str | None, typer.Option(help="User name for Basic auth.")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="NAIA_EMULATOR_PASSWORD", help="Basic auth password.")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="NAIA_EMULATOR_TOKEN", help="Bearer token.")
    ] = None,
    regular: Annotated[
        bool, typer.Option(help="Plain 1-minute data instead of the REALISTIC preset.")
    ] = False,
    fault_rate: Annotated[float, typer.Option(help="Share of requests that fault (0..1).")] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault sequence.")] = 0,
    fault_kinds: Annotated[
        str | None, typer.Option(help="Comma list of " + ",".join(k.value for k in FaultKind))
    ] = None,
    fault_endpoints: Annotated[
        str | None,
        typer.Option(help="Comma list of " + ",".join(k.value for k in EndpointKind)),
    ] = None,
    slow_seconds: Annotated[float, typer.Option(help="Delay of a slow response.")] = 2.0,
    retry_after: Annotated[int, typer.Option(help="Retry-After of 429/503 faults.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    config: Annotated[
        Path | None,
        typer.Option(help="TOML file of emulator settings (e.g. [[points]] to add points)."),
    ] = None,
) -> None:
    """Serve until interrupted."""
    faults = FaultSettings(
        rate=fault_rate,
        seed=fault_seed,
        kinds=_enum_set(FaultKind, fault_kinds, frozenset(FaultKind)),
        endpoints=_enum_set(EndpointKind, fault_endpoints, FaultSettings().endpoints),
        slow_seconds=slow_seconds,
        retry_after_seconds=retry_after,
    )
    given: dict[str, object] = {
        "server_name": server_name,
        "max_returned_items_per_call": max_returned_items,
        "streamset_limit": streamset_limit,
        "auth": auth,
        "username": username,
        "password": SecretStr(password) if password is not None else None,
        "token": SecretStr(token) if token is not None else None,
        "simulator": SimulatorSettings() if regular else None,
    }
    kwargs = {k: v for k, v in given.items() if v is not None}
    try:
        settings = load_emulator_settings(config, faults=faults, **kwargs)
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"PI Web API emulator for {settings.server_name} on http://{host}:{port}/piwebapi")
    serve(settings, host=host, port=port, log_level=log_level)


def _enum_set(kind: type[E], text: str | None, default: frozenset[E]) -> frozenset[E]:
    if text is None:
        return default
    names = [t.strip() for t in text.split(",") if t.strip()]
    try:
        return frozenset(kind(n) for n in names)
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise typer.BadParameter(f"'{text}': use a comma list of {allowed}") from None


app.callback(invoke_without_command=True)(emulator_command)
