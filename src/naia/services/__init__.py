"""Local Kafka, QuestDB and Redis on loopback, installed and started by the project.

An adapter-layer package: it imports only the standard library, pydantic and httpx.
See docs/services.md.
"""

from naia.services.manager import (
    SERVICE_NAMES,
    ServiceManager,
    ServiceStatus,
    ServicesUpError,
)
from naia.services.process import ServiceError
from naia.services.settings import ServicesSettings, ServiceVersions

__all__ = [
    "SERVICE_NAMES",
    "ServiceError",
    "ServiceManager",
    "ServiceStatus",
    "ServiceVersions",
    "ServicesSettings",
    "ServicesUpError",
]
