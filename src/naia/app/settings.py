"""Settings, built once: defaults < TOML file (``--config``) < env vars ``NAIA_<SECTION>__<KEY>``.

Credentials are SecretStr and never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from naia.services.settings import ServicesSettings
from naia.sinks.questdb.settings import QuestDbSettings
from naia.sinks.redis.settings import RedisSettings
from naia.sources.afsdk.settings import AfSdkSettings
from naia.sources.piwebapi.settings import PiWebApiSettings
from naia.sources.simulator.settings import SimulatorSettings
from naia.transports.kafka.settings import KafkaSettings


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoreSettings(_Section):
    path: Path = Path("var/naia.duckdb")
    memory_limit: str = Field(
        default="24MB",
        pattern=r"^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$",
        description="DuckDB's memory_limit: writes stream through it, queries spill past it",
    )
    recycle_values: int = Field(
        default=20_000_000,
        gt=0,
        description="reopen the database after this many values written: DuckDB keeps every "
        "row group's metadata in memory while open, and memory must not grow with the store",
    )


class OrchestratorSettings(_Section):
    fetchers: Literal["inprocess", "fleet"] = Field(
        default="inprocess",
        description="fleet (distributed mode): `naia fetch` processes read PI, the API dispatches",
    )
    instance_id: str | None = Field(
        default=None,
        description="fleet: this API's id, owner of the requests it dispatches (unique per live "
        "API; an API restarted under the same id takes its requests back); default: host name",
    )
    max_points: int = Field(default=10_000, gt=0)
    max_chunks: int = Field(default=100_000, gt=0)
    points_per_unit: int = Field(default=1_000, gt=0)
    retry_attempts: int = Field(default=5, ge=1)
    retry_base_delay_s: float = Field(default=0.5, ge=0)
    retry_max_delay_s: float = Field(default=30.0, ge=0)
    rate_limit_values_per_s: float = Field(default=0.0, ge=0)
    verify_on_complete: bool = Field(
        default=False, description="verify each request against its source once it completes"
    )
    verify_settle_s: float = Field(
        default=300.0, ge=0, description="windows ending later than this before a check: skipped"
    )
    verify_catch_up_s: float = Field(
        default=120.0, ge=0,
        description="distributed: how long a mismatch is re-counted while QuestDB catches up",
    )  # fmt: skip


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=5052, gt=0, lt=65536)
    url: str = "http://127.0.0.1:5052"
    max_body_bytes: int = Field(
        default=1 << 20, gt=0, description="a larger request body is a 413, refused unread"
    )


class FetcherSettings(_Section):
    instance_id: str | None = Field(
        default=None,
        description="stable id of this `naia fetch` (its transactional.id): a restart with the "
        "same id fences the killed one at once; default: host name + random suffix",
    )
    poll_timeout_s: float = Field(default=0.5, gt=0)


class IngestSettings(_Section):
    max_messages: int = Field(default=3, gt=0, description="messages per flush/commit cycle")
    poll_timeout_s: float = Field(default=0.2, gt=0)
    retry_base_delay_s: float = Field(
        default=0.5, gt=0, description="first wait after a dependency failed (then doubled)"
    )
    retry_max_delay_s: float = Field(
        default=10.0, gt=0, description="longest wait between two attempts during an outage"
    )


class TomlFileSettings(BaseSettings):
    """Settings whose sources are: init (CLI flags) > environment > the ``toml_file`` of
    ``model_config`` (set by :func:`load_with_file`) > defaults. No ``.env``, no secrets dir."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file))
        return tuple(sources)


SettingsT = TypeVar("SettingsT", bound=TomlFileSettings)


def load_with_file(
    cls: type[SettingsT], config: Path | None, what: str = "config file", **overrides: Any
) -> SettingsT:
    """``cls`` built once from ``overrides`` > environment > the TOML file ``config`` (when
    given; FileNotFoundError, naming ``what``, if it is not a file) > defaults."""
    if config is None:
        return cls(**overrides)
    if not config.is_file():
        raise FileNotFoundError(f"{what} not found: {config}")
    namespace = {"model_config": SettingsConfigDict(toml_file=config)}
    from_file = cast("type[SettingsT]", type(f"{cls.__name__}FromFile", (cls,), namespace))
    return from_file(**overrides)


class NaiaSettings(TomlFileSettings):
    model_config = SettingsConfigDict(
        env_prefix="NAIA_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    mode: Literal["embedded", "distributed"] = "embedded"
    log_level: str = "INFO"
    log_json: bool = False
    store: StoreSettings = StoreSettings()
    orchestrator: OrchestratorSettings = OrchestratorSettings()
    api: ApiSettings = ApiSettings()
    ingest: IngestSettings = IngestSettings()
    fetcher: FetcherSettings = FetcherSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    piwebapi: PiWebApiSettings | None = None
    afsdk: AfSdkSettings = AfSdkSettings()
    kafka: KafkaSettings = KafkaSettings()
    questdb: QuestDbSettings = QuestDbSettings()
    redis: RedisSettings = RedisSettings()
    services: ServicesSettings = ServicesSettings()


def load_settings(config: Path | None = None, **overrides: Any) -> NaiaSettings:
    """Build the settings once. ``overrides`` (from CLI flags) beat env vars and the file."""
    return load_with_file(NaiaSettings, config, **overrides)
