"""Kafka settings (one section of the app settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class KafkaSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = "127.0.0.1:19092"
    datapoints_topic: str = "naia.datapoints"
    backfill_topic: str = "naia.datapoints.backfill"
    dlq_topic: str = "naia.datapoints.dlq"
    requests_topic: str = "naia.backfill.requests"
    checkpoints_topic: str = "naia.backfill.checkpoints"
    backfill_partitions: int = Field(default=12, gt=0)
    datapoints_partitions: int = Field(default=6, gt=0)
    transactional_id: str = "naia-orchestrator"
    consumer_group: str = "naia-ingest"
    max_rows_per_message: int = Field(default=100_000, gt=0)
    max_message_bytes: int = Field(default=900_000, gt=10_000)
    transaction_timeout_ms: int = Field(default=300_000, gt=0)
    session_timeout_ms: int = Field(default=10_000, ge=6_000)
    state_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="how long a request record waits for Kafka's acknowledgement: past it, "
        "the API answers 503 and the request never runs",
    )
