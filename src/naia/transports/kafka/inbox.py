"""KafkaInbox: live topic first, then the backfill topic; read_committed; manual commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from naia.domain.errors import TransientError
from naia.domain.ports import InboxMessage
from naia.transports.kafka.codec import decode_message
from naia.transports.kafka.settings import KafkaSettings


def _consumer(settings: KafkaSettings, topic: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": settings.consumer_group,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 8 * 1024 * 1024,
            "max.partition.fetch.bytes": 2 * 1024 * 1024,
            "queued.max.messages.kbytes": 8 * 1024,
            # a worker killed without leaving the group holds its partitions until the session
            # expires: keep that short so a restarted or surviving worker takes over quickly
            "session.timeout.ms": settings.session_timeout_ms,
            "heartbeat.interval.ms": max(500, settings.session_timeout_ms // 5),
        }
    )
    consumer.subscribe([topic])
    return consumer


class KafkaInbox:
    """Two consumers of one group: one on naia.datapoints (live), one on the backfill topic.

    ``poll`` serves live messages whenever there are any; backfill messages only when the live
    consumer has nothing pending — so backfill never delays live data.
    """

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._live = _consumer(settings, settings.datapoints_topic)
        self._backfill = _consumer(settings, settings.backfill_topic)
        self._dlq = Producer(
            {"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True}
        )

    def poll(self, max_messages: int, timeout: float) -> list[InboxMessage]:
        live = self._consume(self._live, max_messages, 0.0)
        if live:
            return live
        return self._consume(self._backfill, max_messages, timeout)

    @staticmethod
    def _consume(consumer: Consumer, count: int, timeout: float) -> list[InboxMessage]:
        try:
            messages = consumer.consume(count, timeout=timeout)
        except KafkaException as exc:
            raise TransientError(f"Kafka consume failed: {exc}") from exc
        return [_to_inbox(m) for m in messages if _usable(m)]

    def commit(self, messages: Sequence[InboxMessage]) -> None:
        if self._dlq.flush(30) > 0:
            raise TransientError("dead letters not acknowledged; offsets not committed")
        for consumer, offsets in self._offsets(messages):
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                raise TransientError(f"offset commit failed: {exc}") from exc

    def _offsets(
        self, messages: Sequence[InboxMessage]
    ) -> list[tuple[Consumer, list[TopicPartition]]]:
        """Per consumer, the next offset to read on each partition these messages came from."""
        following: dict[tuple[str, int], int] = {}
        for m in messages:
            key = (m.topic, m.partition)
            following[key] = max(following.get(key, 0), m.offset + 1)
        by_consumer: list[tuple[Consumer, list[TopicPartition]]] = []
        for consumer, topic in (
            (self._live, self._settings.datapoints_topic),
            (self._backfill, self._settings.backfill_topic),
        ):
            offsets = [TopicPartition(t, p, o) for (t, p), o in following.items() if t == topic]
            if offsets:
                by_consumer.append((consumer, offsets))
        return by_consumer

    def decode(self, message: InboxMessage) -> pa.RecordBatch:
        content_type = message.headers.get("content-type")
        return decode_message(message.value, content_type.decode() if content_type else None)

    def dead_letter(self, message: InboxMessage, reason: str) -> None:
        headers: list[tuple[str, str | bytes | None]] = list(message.headers.items())
        headers += [
            ("naia-error", reason.encode()),
            ("naia-original-topic", message.topic.encode()),
            ("naia-original-partition", str(message.partition).encode()),
            ("naia-original-offset", str(message.offset).encode()),
        ]
        self._dlq.produce(
            self._settings.dlq_topic, value=message.value, key=message.key, headers=headers
        )
        self._dlq.poll(0)

    def close(self) -> None:
        self._dlq.flush(10)
        self._live.close()
        self._backfill.close()


def _usable(message: Message) -> bool:
    error: Any = message.error()
    if error is None:
        return True
    if error.code() == KafkaError._PARTITION_EOF:
        return False
    raise TransientError(f"Kafka error: {error}")


def _to_inbox(message: Message) -> InboxMessage:
    headers: dict[str, bytes] = {}
    raw = message.headers() or []
    for key, value in raw if isinstance(raw, list) else raw.items():
        headers[key] = value if isinstance(value, bytes) else (value or "").encode()
    return InboxMessage(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=message.key() if isinstance(message.key(), bytes) else None,
        value=_bytes(message.value()),
        headers=headers,
    )


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else b""
