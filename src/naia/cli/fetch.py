"""`naia fetch`: one fetcher of the fleet (distributed mode, docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from naia.app.logs import configure_logging
from naia.app.settings import load_settings
from naia.domain.errors import NaiaError

err = Console(stderr=True)


def fetch(
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file")] = None,
    instance_id: Annotated[
        str | None,
        typer.Option(
            "--id", help="stable fetcher id (fetcher.instance_id): a restart fences the old one"
        ),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve Prometheus metrics on this port")
    ] = None,
) -> None:
    """Run a fetcher: read work units from Kafka, read PI, publish exactly once."""
    from naia.app.fleet import run_fetcher

    overrides: dict[str, object] = {"mode": "distributed"}
    if instance_id:
        overrides["fetcher"] = {"instance_id": instance_id}
    try:
        settings = load_settings(config, **overrides)
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_json)
    try:
        run_fetcher(settings, metrics_port=metrics_port)
    except NaiaError as exc:
        err.print(f"error: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(1) from None
