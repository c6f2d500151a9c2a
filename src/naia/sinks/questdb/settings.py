"""QuestDB settings (one section of the app settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class QuestDbSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    http_port: int = Field(default=19000, gt=0, lt=65536)
    table: str = "point_data"
    username: str | None = None
    password: SecretStr | None = None
    rows_per_request: int = Field(
        default=500_000, gt=0, description="rows per ILP/HTTP request (one QuestDB transaction)"
    )
    connections: int = Field(
        default=2,
        gt=0,
        le=16,
        description="ILP/HTTP connections a cycle's requests go over at once: QuestDB parses each "
        "connection's rows on its own thread",
    )
    min_rows_to_split: int = Field(
        default=100_000,
        gt=0,
        description="a cycle of fewer rows goes as one request (one transaction), not spread "
        "over the connections",
    )
    request_timeout_s: float = Field(default=30.0, gt=0)
    stored_count_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="how long a status view waits for the stored count before it answers "
        "without it (storedValues: null, storedReason)",
    )
    ilp_protocol_version: int = Field(
        default=3,
        ge=1,
        le=3,
        description="ILP protocol version (what QuestDB 9.3 negotiates); given rather than "
        "detected, so that the writer can be made while QuestDB is down",
    )

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def ilp_conf(self) -> str:
        conf = (
            f"http::addr={self.host}:{self.http_port};auto_flush=off;retry_timeout=20000;"
            f"protocol_version={self.ilp_protocol_version};"
        )
        if self.username and self.password:
            conf += f"username={self.username};password={self.password.get_secret_value()};"
        return conf
