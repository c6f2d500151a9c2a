"""KafkaStateStore: request records and checkpoints on compacted topics.

Request records are written by an idempotent producer and wait, at most
``kafka.state_timeout_s``, for the broker's acknowledgement (the message's own delivery timeout:
one that was never sent is dropped, not delivered later). A submit that was not acknowledged is
abandoned: a tombstone follows it on the same partition (the idempotent producer keeps their
order), written again in the background until Kafka takes it, so the record never loads and the
request never runs, whatever became of the first message.
Checkpoints are written by the KafkaChunkWriter inside each chunk's transaction; here they are
only read back, read_committed, when the orchestrator recovers.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime

import msgspec
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from naia.domain.errors import TransientError
from naia.domain.model import ChunkCheckpoint, RequestRecord
from naia.domain.records import record_from_json, record_to_json
from naia.transports.kafka.logs import with_logger
from naia.transports.kafka.settings import KafkaSettings

log = logging.getLogger("naia.kafka.state")


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
            elif key is not None:  # a tombstone: the key is gone
                latest.pop(key, None)
        # transaction markers occupy offsets: stop once the consumer's position reaches the end
        position = max(position, _position(consumer, topic))
    return latest


def _position(consumer: Consumer, topic: str) -> int:
    [tp] = consumer.position([TopicPartition(topic, 0)])
    return int(tp.offset) if tp.offset >= 0 else 0


class KafkaStateStore:
    def __init__(self, settings: KafkaSettings, *, abandon_retry_s: float = 1.0) -> None:
        self._settings = settings
        self._timeout = settings.state_timeout_s
        self._producer = Producer(
            with_logger(
                {
                    "bootstrap.servers": settings.bootstrap_servers,
                    "enable.idempotence": True,
                    "message.timeout.ms": max(1000, int(self._timeout * 1000)),
                }
            )
        )
        self._checkpoints: dict[str, list[ChunkCheckpoint]] | None = None
        self._abandoned: set[str] = set()
        self._abandon_lock = threading.Lock()
        self._abandon_wake = threading.Event()
        self._abandon_retry_s = abandon_retry_s
        self._closing = threading.Event()
        self._abandoner: threading.Thread | None = None

    def save_request(self, record: RequestRecord) -> None:
        if not self._send(record.request_id.encode(), record_to_json(record).encode()):
            raise TransientError(
                f"Kafka did not acknowledge the request record within {self._timeout:g} s"
            )

    def _send(self, key: bytes, value: bytes | None) -> bool:
        """Produce one record and wait for its acknowledgement; False if none came in time."""
        outcome: list[KafkaError | None] = []
        try:
            self._producer.produce(
                self._settings.requests_topic,
                key=key,
                value=value,
                on_delivery=lambda error, _message: outcome.append(error),
            )
        except (KafkaException, BufferError) as exc:
            log.warning("request record not produced: %s", exc)
            return False
        deadline = time.monotonic() + self._timeout + 2.0  # the delivery timeout, then a margin
        while not outcome and time.monotonic() < deadline:
            self._producer.poll(0.1)
        return bool(outcome) and outcome[0] is None

    def abandon_request(self, request_id: str) -> None:
        with self._abandon_lock:
            self._abandoned.add(request_id)
            if self._abandoner is None:
                self._abandoner = threading.Thread(
                    target=self._abandon_loop, name="naia-abandon", daemon=True
                )
                self._abandoner.start()
        self._abandon_wake.set()

    def pending_abandons(self) -> set[str]:
        """Requests whose tombstone Kafka has not acknowledged yet."""
        with self._abandon_lock:
            return set(self._abandoned)

    def _abandon_loop(self) -> None:
        """Tombstones for abandoned submits, again and again until Kafka acknowledges each."""
        warned = False
        while not self._closing.is_set():
            for request_id in sorted(self.pending_abandons()):
                if self._send(request_id.encode(), None):
                    with self._abandon_lock:
                        self._abandoned.discard(request_id)
                    log.info("abandoned request %s: its record is deleted", request_id)
                elif not warned:
                    log.warning("Kafka unavailable: abandoned request records wait for it")
                    warned = True
            if not self.pending_abandons():
                warned = False
                self._abandon_wake.wait()
                self._abandon_wake.clear()
            else:
                self._closing.wait(self._abandon_retry_s)

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
        self._closing.set()
        self._abandon_wake.set()
        if self._abandoner is not None:
            self._abandoner.join(self._timeout + 5)
        left = {r for r in self.pending_abandons() if not self._send(r.encode(), None)}
        if left:
            log.error("closing with abandoned request(s) not yet deleted in Kafka: %s", left)
        self._producer.flush(10)
