"""Settings of the local service manager (Kafka, QuestDB, Redis on loopback).

Every version the manager installs is pinned here, in :class:`ServiceVersions`, and nowhere
else: the Maven poms shipped in the package (``naia/services/assets/``) take them as ``-D``
properties.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Port = Annotated[int, Field(ge=1, le=65535)]
HeapSize = Annotated[str, Field(pattern=r"^[0-9]+[kKmMgG]$")]

_REPO_MARKER = "pyproject.toml"


def repo_root() -> Path | None:
    """The source checkout this module lives in (src layout), or None when installed."""
    candidate = Path(__file__).resolve().parents[3]
    return candidate if (candidate / _REPO_MARKER).is_file() else None


def default_data_dir() -> Path:
    """``<repo>/var/services`` in a checkout, else ``./var/services``."""
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "var" / "services"


class ServiceVersions(BaseModel):
    """The pinned versions. Change them here only (docs/services.md explains the choice)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kafka: str = "4.4.0"
    """``org.apache.kafka:kafka_2.13``; Kafka 4.x brokers run on Java 17+."""
    kafka_log4j: str = "2.25.5"
    """``log4j-slf4j-impl``: must equal the log4j-core version that Kafka pulls in."""
    questdb: str = "9.3.4"
    """``org.questdb:questdb``; 9.3.x runs on Java 17, 9.4+ needs Java 25 (picked automatically).
    9.3.4 is the newest release on Maven Central."""
    redis_min: str = "7.0"
    """Lowest accepted ``redis-server`` (Debian's package; bookworm ships 7.0.x)."""


class ServicesSettings(BaseModel):
    """Where the services live and on which loopback ports they listen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    assets_dir: Path | None = None
    """A folder holding ``kafka/pom.xml`` and ``questdb/pom.xml``; None uses the poms shipped
    inside the package (``naia/services/assets/``), so an installed wheel needs no checkout."""
    kafka_port: Port = 19092
    kafka_controller_port: Port = 19093
    questdb_http_port: Port = 19000
    questdb_pg_port: Port = 18812
    questdb_ilp_tcp_port: Port | None = 19009
    """ILP over TCP; None (or 0) disables it (ILP over HTTP on the HTTP port is always on)."""
    redis_port: Port = 16379
    java_home: Path | None = None
    """JDK for QuestDB; None picks one that fits the pinned QuestDB version."""
    kafka_java_home: Path | None = None
    """JDK for Kafka; None uses $JAVA_HOME or ``java`` on the PATH."""
    kafka_heap: HeapSize = "768m"
    questdb_heap: HeapSize = "1g"
    start_timeout_s: float = Field(default=120.0, gt=0)
    stop_timeout_s: float = Field(default=30.0, gt=0)
    start_attempts: int = Field(default=5, ge=1, le=20)
    """Starts of a service whose start may be refused for a while (Kafka right after a kill -9,
    until its old broker registration expires; any service whose port is still held, e.g. by a
    process just killed), with backoff in between."""
    start_retry_base_s: float = Field(default=2.0, ge=0)
    start_retry_max_s: float = Field(default=15.0, ge=0)
    versions: ServiceVersions = Field(default_factory=ServiceVersions)

    @field_validator("questdb_ilp_tcp_port", mode="before")
    @classmethod
    def _zero_disables(cls, value: object) -> object:
        return None if value in (0, "0") else value

    @field_validator("data_dir", "assets_dir", "java_home", "kafka_java_home")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @model_validator(mode="after")
    def _distinct_ports(self) -> ServicesSettings:
        ports = self.ports()
        if len(set(ports.values())) != len(ports):
            raise ValueError(f"service ports must be distinct, got {ports}")
        return self

    def ports(self) -> dict[str, int]:
        """Every port in use, by a readable name."""
        ports = {
            "kafka": self.kafka_port,
            "kafka_controller": self.kafka_controller_port,
            "questdb_http": self.questdb_http_port,
            "questdb_pg": self.questdb_pg_port,
            "redis": self.redis_port,
        }
        if self.questdb_ilp_tcp_port is not None:
            ports["questdb_ilp_tcp"] = self.questdb_ilp_tcp_port
        return ports
