"""A PI Web API emulator serving the Simulator's points (``naia emulator --port N``).

See docs/emulator.md for what is emulated, the options, fault injection and known differences.

The names below are imported on first use (PEP 562): importing ``naia.emulator.settings`` —
which the ``naia`` CLI does to declare ``naia emulator``'s options — must not load the server
(uvicorn, Starlette) into every command, `naia backfill` included.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from naia.emulator.app import EmulatorApp, create_app
    from naia.emulator.server import BackgroundServer, serve
    from naia.emulator.settings import (
        AuthMode,
        EmulatorSettings,
        EndpointKind,
        FaultKind,
        FaultSettings,
        StreamsetLimit,
    )

_HOME = {
    "EmulatorApp": "naia.emulator.app",
    "create_app": "naia.emulator.app",
    "BackgroundServer": "naia.emulator.server",
    "serve": "naia.emulator.server",
    "AuthMode": "naia.emulator.settings",
    "EmulatorSettings": "naia.emulator.settings",
    "EndpointKind": "naia.emulator.settings",
    "FaultKind": "naia.emulator.settings",
    "FaultSettings": "naia.emulator.settings",
    "StreamsetLimit": "naia.emulator.settings",
}

__all__ = [
    "AuthMode",
    "BackgroundServer",
    "EmulatorApp",
    "EmulatorSettings",
    "EndpointKind",
    "FaultKind",
    "FaultSettings",
    "StreamsetLimit",
    "create_app",
    "serve",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
