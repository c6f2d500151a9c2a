"""KafkaStateStore: request records and checkpoints on compacted topics.

Request records are written by a plain idempotent producer (flushed before returning).
Checkpoints are written by the KafkaChunkWriter inside each chunk's transaction; here they are
only read back, read_committed, when the orchestrator recovers.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from naia.domain.errors import TransientError
from naia.domain.model import ChunkCheckpoint, RequestRecord
from naia.domain.records import record_from_json, record_to_json
from naia.transports.kafka.logs import with_logger
from naia.transports.kafka.settings import KafkaSettings


class CheckpointJson(msgspec.Struct, array_like=True, frozen=True):
    unit_index: int
    values: int
    batches: int
    completed_at: datetime


def read_topic(settings: KafkaSettings, topic: str, timeout: float = 30.0) -> dict[bytes, bytes]:
    """Every committed record of a single-partition topic, latest value per key."""
    consumer = Consumer(
        with_logger(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": f"naia-state-reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
            }
        )
    )
    try:
        return _read_to_end(consumer, topic, timeout)
    except KafkaException as exc:
        raise TransientError(f"cannot read {topic}: {exc}") from exc
    finally:
        consumer.close()


def _read_to_end(consumer: Consumer, topic: str, timeout: float) -> dict[bytes, bytes]:
    partition = TopicPartition(topic, 0, 0)
    low, high = consumer.get_watermark_offsets(partition, timeout=timeout)
    latest: dict[bytes, bytes] = {}
    if high <= low:
        return latest
    consumer.assign([TopicPartition(topic, 0, low)])
    position = low
    while position < high:
        for message in consumer.consume(10_000, timeout=1.0):
            if message.error() is not None:
                continue
            position = (message.offset() or 0) + 1
            key, value = message.key(), message.value()
            if key is not None and value is not None:
                latest[key] = value
        # transaction markers occupy offsets: stop once the consumer's position reaches the end
        position = max(position, _position(consumer, topic))
    return latest


def _position(consumer: Consumer, topic: str) -> int:
    [tp] = consumer.position([TopicPartition(topic, 0)])
    return int(tp.offset) if tp.offset >= 0 else 0


class KafkaStateStore:
    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._producer = Producer(
            with_logger(
                {"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True}
            )
        )
        self._checkpoints: dict[str, list[ChunkCheckpoint]] | None = None

    def save_request(self, record: RequestRecord) -> None:
        self._producer.produce(
            self._settings.requests_topic,
            key=record.request_id.encode(),
            value=record_to_json(record).encode(),
        )
        if self._producer.flush(30) > 0:
            raise TransientError("request record not acknowledged by Kafka within 30 s")

    def load_requests(self) -> list[RequestRecord]:
        self._checkpoints = None
        records = [
            record_from_json(v.decode())
            for v in read_topic(self._settings, self._settings.requests_topic).values()
        ]
        return sorted(records, key=lambda r: r.queued_at)

    def checkpoints(self, request_id: str) -> list[ChunkCheckpoint]:
        if self._checkpoints is None:
            self._checkpoints = self._load_checkpoints()
        return sorted(self._checkpoints.get(request_id, []), key=lambda c: c.unit_index)

    def _load_checkpoints(self) -> dict[str, list[ChunkCheckpoint]]:
        found: dict[str, list[ChunkCheckpoint]] = {}
        for key, value in read_topic(self._settings, self._settings.checkpoints_topic).items():
            request_id = key.decode().rsplit(":", 1)[0]
            body = msgspec.json.decode(value, type=CheckpointJson)
            found.setdefault(request_id, []).append(
                ChunkCheckpoint(request_id, body.unit_index, body.values, body.batches,
                                body.completed_at)
            )  # fmt: skip
        return found

    def close(self) -> None:
        self._producer.flush(10)
