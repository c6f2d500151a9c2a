"""``naia emulator``: the Typer command builds the settings and hands them to ``serve``."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from naia.cli import emulator as cli
from naia.emulator import AuthMode, EmulatorSettings, EndpointKind, FaultKind
from naia.sources.simulator.settings import REALISTIC


def mounted() -> typer.Typer:
    root = typer.Typer()

    @root.command()
    def other() -> None:  # a second command, so "emulator" is a real sub-command
        pass

    root.add_typer(cli.app, name="emulator")
    return root


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_serve(settings: EmulatorSettings, **kw: Any) -> None:
        calls.append({"settings": settings, **kw})

    monkeypatch.setattr(cli, "serve", fake_serve)
    return calls


def test_help_lists_the_port_option() -> None:
    result = CliRunner().invoke(mounted(), ["emulator", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--fault-rate" in result.output


def test_defaults(served: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(mounted(), ["emulator", "--port", "9123"])
    assert result.exit_code == 0, result.output
    (call,) = served
    assert (call["host"], call["port"]) == ("127.0.0.1", 9123)
    settings = call["settings"]
    assert settings.server_name == "NAIA-PI"
    assert settings.simulator.defaults == REALISTIC
    assert settings.faults.rate == 0.0


def test_options_reach_the_settings(served: list[dict[str, Any]]) -> None:
    args = [
        "emulator",
        "--port", "9000",
        "--server-name", "PISRV1",
        "--auth", "basic",
        "--username", "u",
        "--password", "p4ss",
        "--fault-rate", "0.1",
        "--fault-seed", "9",
        "--fault-kinds", "throttle,drop",
        "--fault-endpoints", "stream,streamset",
        "--max-returned-items", "5000",
        "--regular",
    ]  # fmt: skip
    result = CliRunner().invoke(mounted(), args)
    assert result.exit_code == 0, result.output
    settings = served[0]["settings"]
    assert settings.server_name == "PISRV1"
    assert settings.auth is AuthMode.BASIC
    assert settings.password.get_secret_value() == "p4ss"
    assert "p4ss" not in result.output
    assert settings.faults.rate == 0.1 and settings.faults.seed == 9
    assert settings.faults.kinds == {FaultKind.THROTTLE, FaultKind.DROP}
    assert settings.faults.endpoints == {EndpointKind.STREAM, EndpointKind.STREAMSET}
    assert settings.max_returned_items_per_call == 5000
    assert settings.simulator.defaults.irregular is False


def test_bad_options_exit_2(served: list[dict[str, Any]]) -> None:
    bad_kind = CliRunner().invoke(mounted(), ["emulator", "--fault-kinds", "meteor"])
    assert bad_kind.exit_code == 2
    no_password = CliRunner().invoke(mounted(), ["emulator", "--auth", "basic"])
    assert no_password.exit_code == 2
    assert served == []
