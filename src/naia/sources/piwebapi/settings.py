"""Settings of the PI Web API connector (connectorType ``PIWebApi``).

Credentials are ``SecretStr``: they print as ``**********`` and never enter a log line, an error
message or a repr. See docs/piwebapi.md for how to choose the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

AuthKind = Literal["none", "basic", "bearer", "kerberos", "ntlm"]
WebIdMode = Literal["lookup", "path"]

# The server rejects maxCount above MaxReturnedItemsPerCall (default 150,000). 5,000 values a
# stream per page keeps a page of 10 streams ~7 MB of JSON; `naia backfill` of 100 points × 30
# days from the emulator peaks at 204 MB RSS (2,500: 189 MB, 10,000: 233 MB) and spends ~5 % less
# CPU than at 2,500 (each round trip costs ~1 ms of Python besides its values; docs/performance.md,
# session of 2026-12-07); one round trip per ~3.5 days of 1-minute data, 5× fewer than PI's own
# default of 1,000.
DEFAULT_PAGE_SIZE = 5_000


class RetrySettings(BaseModel):
    """Retries of one HTTP request: 429/503 (Retry-After honoured), other 5xx, dropped or timed
    out connections and truncated bodies. When attempts run out the read raises
    ``SourceTransientError`` and the orchestrator retries the whole chunk later."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    retry_after_max_s: float = Field(
        default=120.0, ge=0, description="cap on a server's Retry-After"
    )


class PiWebApiSettings(BaseModel):
    """How to reach one PI Web API and one PI Data Archive behind it, and how hard to read."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    base_url: str = Field(description="e.g. https://pi.example.com/piwebapi")
    data_archive: str = Field(min_length=1, description="PI Data Archive (data server) name")
    auth: AuthKind = "none"
    username: SecretStr | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = Field(default=None, description="PEM file of the CA(s) to trust")
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=120.0, gt=0)
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, gt=0, description="maxCount per stream")
    points_per_request: int = Field(default=10, gt=0, description="streams per round trip")
    max_concurrency: int = Field(default=2, gt=0, description="requests in flight")
    retries: RetrySettings = RetrySettings()
    webid_mode: WebIdMode = Field(
        default="lookup",
        description="lookup: resolve paths with /points/multiple (unknown points named up "
        "front); path: build path WebIDs locally, no lookup round trip",
    )
    user_agent: str = "naia-piwebapi"

    @field_validator("base_url")
    @classmethod
    def _plain_http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://pi.example.com/piwebapi")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials; use username/password or token")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials_match_auth(self) -> PiWebApiSettings:
        if self.auth in ("basic", "ntlm") and (self.username is None or self.password is None):
            raise ValueError(f"auth '{self.auth}' needs username and password")
        if self.auth == "bearer" and self.token is None:
            raise ValueError("auth 'bearer' needs a token")
        if self.ca_bundle is not None and not self.verify_tls:
            raise ValueError("ca_bundle is given but verify_tls is false; choose one")
        return self
