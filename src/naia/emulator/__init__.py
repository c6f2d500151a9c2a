"""A PI Web API emulator serving the Simulator's points (``naia emulator --port N``).

See docs/emulator.md for what is emulated, the options, fault injection and known differences.
"""

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
