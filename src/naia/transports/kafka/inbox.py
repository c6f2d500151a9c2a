"""KafkaInbox: live topic first, then the backfill topic; read_committed; manual commits.

Kafka going away is not an error of the inbox's own: librdkafka reconnects by itself. The inbox
notes the client's errors (``error_cb``); while they last, ``poll`` asks the broker for metadata
and raises DependencyUnavailableError until it answers, so the worker can back off, report the
outage, and carry on when Kafka is back. Commits are asynchronous (a synchronous one blocks
while the group rebalances, and the rebalance waits for this consumer's next poll); their
outcome comes back through ``poll``. Offsets that could not be committed while Kafka was away
are committed with the next commit; offsets refused because the consumer lost its group
generation are dropped (logged; GenerationLostError when refused at once): the group is joined
again and those messages come again (the sinks are idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from naia.domain.errors import DependencyUnavailableError, GenerationLostError
from naia.domain.ports import InboxMessage
from naia.transports.kafka.codec import decode_message
from naia.transports.kafka.logs import with_logger
from naia.transports.kafka.settings import KafkaSettings

log = logging.getLogger("naia.kafka")

KAFKA = "kafka"
PROBE_TIMEOUT_S = 1.0
_GENERATION_LOST = frozenset(
    {
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError._MAX_POLL_EXCEEDED,
        KafkaError._ASSIGNMENT_LOST,
        KafkaError._STATE,
    }
)
Offsets = dict[tuple[str, int], int]


def _consumer(
    settings: KafkaSettings,
    topic: str,
    on_error: Callable[..., None],
    on_commit: Callable[..., None],
) -> Consumer:
    consumer = Consumer(
        with_logger(
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
                "error_cb": on_error,
                "on_commit": on_commit,
            }
        )
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
        self._trouble: str | None = None  # the client's last error, until the broker answers
        self._carried: Offsets = {}  # durable, not committed: Kafka was away
        self._last: Offsets = {}  # the offsets last sent for commit
        self._live = _consumer(settings, settings.datapoints_topic, self._on_error, self._on_commit)
        self._backfill = _consumer(
            settings, settings.backfill_topic, self._on_error, self._on_commit
        )
        self._dlq = Producer(
            with_logger({
                "bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True,
                "error_cb": self._on_error,
            })
        )  # fmt: skip

    def _on_error(self, error: KafkaError) -> None:
        """librdkafka's client-level errors (broker down, transport): noted, not raised."""
        self._trouble = str(error.str())
        log.debug("Kafka client error: %s", error)

    def poll(self, max_messages: int, timeout: float) -> list[InboxMessage]:
        """Live messages first, else backfill ones; DependencyUnavailableError while the
        client reports errors and the broker does not answer."""
        live = self._consume(self._live, max_messages, 0.0)
        if live:
            self._trouble = None
            return live
        messages = self._consume(self._backfill, max_messages, timeout)
        if messages:
            self._trouble = None
        elif self._trouble is not None:
            self._probe()
        return messages

    def _answers(self) -> bool:
        """Whether the broker answers a metadata request (clears the trouble if it does)."""
        try:
            self._live.list_topics(self._settings.datapoints_topic, timeout=PROBE_TIMEOUT_S)
        except KafkaException:
            return False
        self._trouble = None
        return True

    def _probe(self) -> None:
        """Clears the trouble when the broker answers, else raises."""
        if not self._answers():
            raise DependencyUnavailableError(
                KAFKA, f"Kafka at {self._settings.bootstrap_servers} unavailable: {self._trouble}"
            )
        if self._carried:
            try:
                self._commit_offsets({})
            except (DependencyUnavailableError, GenerationLostError) as exc:
                log.info("offsets carried over from the outage not committed: %s", exc)

    def _consume(self, consumer: Consumer, count: int, timeout: float) -> list[InboxMessage]:
        try:
            messages = consumer.consume(count, timeout=timeout)
        except KafkaException as exc:
            raise DependencyUnavailableError(KAFKA, f"Kafka consume failed: {exc}") from exc
        return [_to_inbox(m) for m in messages if self._usable(m)]

    def _usable(self, message: Message) -> bool:
        error: Any = message.error()
        if error is None:
            return True
        if error.code() != KafkaError._PARTITION_EOF:
            if error.fatal():
                raise DependencyUnavailableError(KAFKA, f"Kafka consumer failed: {error}")
            self._on_error(error)
        return False

    def commit(self, messages: Sequence[InboxMessage]) -> None:
        """Commit the offsets after ``messages`` (with any carried over from an outage).

        DependencyUnavailableError: Kafka is away; the offsets are kept and committed with the
        next commit. GenerationLostError: the consumer is no longer in the group's generation;
        the offsets are dropped and the messages will come again after the rejoin.
        """
        if self._dlq.flush(30) > 0:
            raise DependencyUnavailableError(
                KAFKA, "dead letters not acknowledged; offsets not committed"
            )
        self._commit_offsets(_following(messages))

    def _commit_offsets(self, offsets: Offsets) -> None:
        merged = dict(self._carried)
        for key, offset in offsets.items():
            merged[key] = max(merged.get(key, 0), offset)
        self._carried = merged
        if self._trouble is not None and not self._answers():
            raise DependencyUnavailableError(  # a commit would block until it times out (~45 s)
                KAFKA, f"Kafka unavailable ({self._trouble}): offsets kept for the next commit"
            )
        for consumer, partitions in self._by_consumer(merged):
            try:  # asynchronous: a synchronous commit blocks while the group rebalances (the
                # rebalance waits for this consumer's next poll); the outcome comes to
                # _on_commit from a later poll
                consumer.commit(offsets=partitions, asynchronous=True)
            except KafkaException as exc:
                self._commit_failed(exc)
        self._last = {**self._last, **merged}
        self._carried = {}

    def _on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """The outcome of an asynchronous commit (served by ``consume``)."""
        if error is None:
            return
        if error.code() in _GENERATION_LOST:
            log.warning("offsets of %d partition(s) refused (%s): their messages come again "
                        "after the group is joined again", len(partitions), error)  # fmt: skip
            return
        for tp in partitions:  # Kafka away: commit them with the next commit
            if tp.offset >= 0:
                key = (tp.topic, tp.partition)
                self._carried[key] = max(self._carried.get(key, 0), tp.offset)
        self._on_error(error)

    def _commit_failed(self, exc: KafkaException) -> None:
        error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if error is not None and error.code() in _GENERATION_LOST:
            self._carried = {}
            raise GenerationLostError(f"offset commit refused: {error}") from exc
        raise DependencyUnavailableError(KAFKA, f"offset commit failed: {exc}") from exc

    def _by_consumer(self, following: Offsets) -> list[tuple[Consumer, list[TopicPartition]]]:
        """Per consumer, the next offset to read on each of its partitions in ``following``."""
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
        """The last offsets are committed synchronously (when Kafka answers) before leaving."""
        self._dlq.flush(10)
        if self._trouble is None:
            for consumer, partitions in self._by_consumer({**self._last, **self._carried}):
                try:
                    consumer.commit(offsets=partitions, asynchronous=False)
                except KafkaException as exc:
                    log.info("last offsets not committed on close: %s", exc)
        self._live.close()
        self._backfill.close()


def _following(messages: Sequence[InboxMessage]) -> Offsets:
    """The next offset to read on each partition these messages came from."""
    following: Offsets = {}
    for m in messages:
        key = (m.topic, m.partition)
        following[key] = max(following.get(key, 0), m.offset + 1)
    return following


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
