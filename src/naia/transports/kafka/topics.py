"""Create the project's topics with the right settings (idempotent)."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from naia.domain.errors import DependencyUnavailableError
from naia.transports.kafka.logs import with_logger
from naia.transports.kafka.settings import KafkaSettings

log = logging.getLogger("naia.kafka")
_COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}


def topic_specs(settings: KafkaSettings) -> list[NewTopic]:
    data = {"max.message.bytes": str(settings.max_message_bytes + 100_000)}
    return [
        NewTopic(settings.datapoints_topic, settings.datapoints_partitions, 1, config=data),
        NewTopic(settings.backfill_topic, settings.backfill_partitions, 1, config=data),
        NewTopic(settings.dlq_topic, 1, 1, config={"max.message.bytes": "2000000"}),
        NewTopic(settings.requests_topic, 1, 1, config=_COMPACTED),
        NewTopic(settings.checkpoints_topic, 1, 1, config=_COMPACTED),
        NewTopic(settings.units_topic, settings.units_partitions, 1),
        NewTopic(settings.fleet_topic, 1, 1, config=_COMPACTED),
    ]


def ensure_topics(settings: KafkaSettings, timeout: float = 30.0) -> list[str]:
    """Create missing topics; return the names created."""
    admin = AdminClient(with_logger({"bootstrap.servers": settings.bootstrap_servers}))
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise DependencyUnavailableError(
            "kafka", f"Kafka at {settings.bootstrap_servers} unreachable: {exc}"
        ) from exc
    missing = [t for t in topic_specs(settings) if t.topic not in existing]
    if not missing:
        return []
    for name, future in admin.create_topics(missing, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise DependencyUnavailableError(
                    "kafka", f"topic {name} not created: {exc}"
                ) from exc
        log.info("created topic %s", name)
    return [t.topic for t in missing]
