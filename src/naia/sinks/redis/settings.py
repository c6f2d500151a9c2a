"""Redis settings (one section of the app settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class RedisSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=16379, gt=0, lt=65536)
    db: int = 0
    password: SecretStr | None = None
    key_prefix: str = "naia:latest:"
    timeout_s: float = Field(
        default=5.0, gt=0, description="connect and per-call timeout: a hung Redis is an outage"
    )
