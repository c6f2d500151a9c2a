"""Local Kafka, QuestDB and Redis on loopback, installed and started by the project.

An adapter-layer package: it imports only the standard library, pydantic and httpx.
See docs/services.md.

The names below load on first use: every command reads ``naia.services.settings`` (through
NaiaSettings), only ``naia services`` and the tests need the manager and its modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from naia.services.settings import ServicesSettings, ServiceVersions

if TYPE_CHECKING:
    from naia.services.manager import (
        SERVICE_NAMES,
        ServiceManager,
        ServiceStatus,
        ServicesUpError,
    )
    from naia.services.process import ServiceError

_LAZY = {
    "SERVICE_NAMES": "naia.services.manager",
    "ServiceManager": "naia.services.manager",
    "ServiceStatus": "naia.services.manager",
    "ServicesUpError": "naia.services.manager",
    "ServiceError": "naia.services.process",
}

__all__ = [
    "SERVICE_NAMES",
    "ServiceError",
    "ServiceManager",
    "ServiceStatus",
    "ServiceVersions",
    "ServicesSettings",
    "ServicesUpError",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
