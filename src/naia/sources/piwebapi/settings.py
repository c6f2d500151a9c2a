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

# The server rejects maxCount above MaxReturnedItemsPerCall (default 150,000). 2,500 values a
# stream per page keeps a page of 10 streams ~4 MB of JSON and, with 4 requests in flight, the
# whole process under ~300 MB (measured: 10,000 gave ~580 MB peak RSS, 2,500 ~310 MB, at the same
# values/s on the emulator); it costs one round trip per ~1.7 days of 1-minute data, 2.5× fewer
# than PI's own default of 1,000.
DEFAULT_PAGE_SIZE = 2_500


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
