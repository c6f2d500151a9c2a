"""Emulator options: server identity, limits, authentication, Simulator data and fault injection.

Built once (from the CLI or a test) and never mutated. Environment variables use the nested form
``NAIA_EMULATOR__AUTH=basic``, ``NAIA_EMULATOR__FAULTS__RATE=0.1``.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from naia.app.settings import TomlFileSettings, load_with_file
from naia.sources.simulator.catalogue import find_point
from naia.sources.simulator.settings import REALISTIC, SimulatorSettings


class AuthMode(enum.StrEnum):
    NONE = "none"
    BASIC = "basic"
    BEARER = "bearer"


class StreamsetLimit(enum.StrEnum):
    """How MaxReturnedItemsPerCall applies to a streamset read (unverified on real servers)."""

    PER_STREAM = "per_stream"  # maxCount alone is compared with the limit
    SUMMED = "summed"  # maxCount × number of streams is compared with the limit


class FaultKind(enum.StrEnum):
    THROTTLE = "throttle"  # 429 with Retry-After
    UNAVAILABLE = "unavailable"  # 503 with Retry-After
    SLOW = "slow"  # the normal response, after slow_seconds
    DROP = "drop"  # the socket is closed without any response
    TRUNCATE = "truncate"  # Content-Length of the full body, then half of it, then close
    WEB_EXCEPTION = "web_exception"  # 200 with a WebException (StatusCode 502) inside


class EndpointKind(enum.StrEnum):
    ROOT = "root"  # GET /piwebapi/ and /piwebapi/system
    METADATA = "metadata"  # data servers, points, attributes, enumeration sets
    STREAM = "stream"  # /streams/{webId}/... (recorded, value, interpolated, plot, summary, ...)
    STREAMSET = "streamset"  # /streamsets/... (the ad-hoc streamset forms)
    BATCH = "batch"  # POST /batch


ALL_FAULTS = frozenset(FaultKind)
DATA_ENDPOINTS = frozenset(
    {EndpointKind.METADATA, EndpointKind.STREAM, EndpointKind.STREAMSET, EndpointKind.BATCH}
)


class ExtraPoint(BaseModel):
    """A point added to the catalogue under any name PI allows (spaces, ``,``, ``=``, quotes,
    ``\\``, ``/``, ``#``, unicode…), serving the data of the Simulator point ``like``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=1023)
    like: str = "SINUSOID"
    hundred_ns: bool = False  # timestamps carry a 7th fractional digit (100 ns)
    descriptor: str = ""

    @model_validator(mode="after")
    def _valid(self) -> ExtraPoint:
        if self.name != self.name.strip() or any(ord(c) < 32 for c in self.name):
            raise ValueError(f"point name {self.name!r}: no surrounding blanks or control chars")
        if find_point(self.like) is None:
            raise ValueError(f"point {self.name!r}: like={self.like!r} is not a Simulator point")
        return self


class FaultSettings(BaseModel):
    """Seeded fault injection: each eligible request draws once from (seed, request number)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int = 0
    kinds: frozenset[FaultKind] = ALL_FAULTS
    endpoints: frozenset[EndpointKind] = DATA_ENDPOINTS
    slow_seconds: float = Field(default=2.0, ge=0.0)
    retry_after_seconds: int = Field(default=1, ge=0)


class EmulatorSettings(TomlFileSettings):
    """Everything the emulator can be told. Frozen: build it once."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="NAIA_EMULATOR__",
        env_nested_delimiter="__",
    )

    server_name: str = Field(default="NAIA-PI", min_length=1, pattern=r"^[^\\/|]+$")
    max_returned_items_per_call: int = Field(default=150_000, gt=0)
    streamset_limit: StreamsetLimit = StreamsetLimit.PER_STREAM
    auth: AuthMode = AuthMode.NONE
    username: str = "naia"
    password: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    simulator: SimulatorSettings = SimulatorSettings(defaults=REALISTIC)
    faults: FaultSettings = FaultSettings()
    points: tuple[ExtraPoint, ...] = ()  # added to the catalogue (e.g. from --config TOML)
    listed_numbered_points: int = Field(default=100, ge=0, le=9_999_999)
    cache_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    latency_ms: float = Field(
        default=0.0, ge=0, le=600_000, description="every request waits this long before it is "
        "handled (a real server's round trip and archive lookup); other requests go on meanwhile",
    )  # fmt: skip
    values_per_s: float = Field(
        default=0.0, ge=0, description="cap per response: one of N timed values ends no sooner "
        "than latency + N / values_per_s after the request arrived (0: no cap)",
    )  # fmt: skip
    product_title: str = "PI Web API 2018 SP1"
    product_version: str = "1.11.1.5383"
    server_version: str = "3.4.430.460"

    @model_validator(mode="after")
    def _credentials_present(self) -> EmulatorSettings:
        if self.auth is AuthMode.BASIC and not self.password.get_secret_value():
            raise ValueError("auth=basic needs a password")
        if self.auth is AuthMode.BEARER and not self.token.get_secret_value():
            raise ValueError("auth=bearer needs a token")
        seen: set[str] = set()
        for point in self.points:
            key = point.name.upper()
            if key in seen or find_point(point.name) is not None:
                raise ValueError(f"point {point.name!r} is defined twice (names are case-blind)")
            seen.add(key)
        return self


def load_emulator_settings(config: Path | None = None, **overrides: Any) -> EmulatorSettings:
    """Settings from ``overrides`` (CLI flags) > environment > the TOML file > defaults.

    The TOML file holds EmulatorSettings' fields at its top level, e.g. extra points as
    ``[[points]]`` tables with ``name``, ``like``, ``hundred_ns`` and ``descriptor``."""
    loaded = load_with_file(EmulatorSettings, config, "emulator config file", **overrides)
    return EmulatorSettings.model_validate(loaded.model_dump())
