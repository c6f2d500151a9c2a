"""Settings of the PI AF SDK connector (connectorType ``PIAfSdk``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

PageType = Literal["TagCount", "EventCount"]
AuthMode = Literal["Windows", "PIUser"]


class AfSdkSettings(BaseModel):
    """How to reach one PI Data Archive through the AF SDK, and how to page bulk reads.

    Credentials are ``SecretStr``: they print as ``**********`` and never enter a log line or an
    error message. Without a username the connection uses Windows integrated security (the
    account the process runs as).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_archive: str | None = Field(
        default=None,
        description="PI Data Archive name as known to this host's PI servers table; "
        "None: the default PI Data Archive",
    )
    assembly_dir: Path | None = Field(
        default=None,
        description="Folder holding OSIsoft.AFSDK.dll; None: the usual install locations. "
        "Off Windows the connector loads only from here (e.g. the AF SDK stand-in on Mono)",
    )
    bulk_decode: bool = Field(
        default=True,
        description="Decode values in bulk with NAIA's helper assembly, compiled at start-up "
        "by the runtime's C# compiler; False (or a failed compile) reads them one by one",
    )
    auth_mode: AuthMode = "Windows"
    username: SecretStr | None = None
    password: SecretStr | None = None
    connect_timeout_s: float = Field(default=15.0, gt=0)
    operation_timeout_s: float = Field(default=120.0, gt=0)
    page_type: PageType = "EventCount"
    page_size: int = Field(default=100_000, gt=0)
    points_per_call: int = Field(default=1_000, gt=0)
    batch_rows: int = Field(default=262_144, gt=0)

    @model_validator(mode="after")
    def _credentials_complete(self) -> AfSdkSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        if self.auth_mode == "PIUser" and self.username is None:
            raise ValueError("auth_mode 'PIUser' needs a username and a password")
        return self

    @property
    def archive_label(self) -> str:
        """The data archive as named in messages (never with credentials)."""
        return self.data_archive or "<default PI Data Archive>"
