"""Fleet fetching on Kafka: the fetcher's unit feed, its view of the requests, the API's board.

Exactly once per unit (docs/messages.md): a fetcher leases a unit by consuming it (group
``kafka.fetch_group``, offsets never committed automatically); it publishes the unit's batches,
its checkpoint and its 'done' outcome, and commits the unit's offset with
``send_offsets_to_transaction`` (the consumer's group metadata: a fetcher that lost the partition
in a rebalance is refused), all in ONE transaction of its own transactional.id. Killed at any
point, its transaction never commits, the offset stays where it was and the unit is read again.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from naia.domain.errors import DecodeError, TransientError
from naia.domain.fleet import (
    DONE,
    Dispatch,
    FetcherFencedError,
    FleetUnavailableError,
    Outcome,
    Reading,
    UnitLostError,
    UnitOrder,
)
from naia.domain.model import Chunk, ChunkCheckpoint, ChunkWritten, ConnectorType
from naia.domain.records import record_from_json
from naia.stores.kafka.state import CheckpointJson
from naia.stores.kafka.writer import KafkaChunkWriter
from naia.transports.kafka.codec import batch_headers
from naia.transports.kafka.settings import KafkaSettings
from naia.transports.kafka.units import (
    decode_dispatch,
    decode_outcome,
    decode_reading,
    decode_unit,
    dispatch_key,
    encode_dispatch,
    encode_outcome,
    encode_reading,
    encode_unit,
    outcome_key,
    reading_key,
    unit_key,
)

log = logging.getLogger("naia.fleet")
_T = TypeVar("_T")

# a transaction refused for one of these: the lease is gone (another fetcher has the unit)
_LOST = {
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.FENCED_INSTANCE_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError._FENCED,
    KafkaError.PRODUCER_FENCED,
    KafkaError.INVALID_PRODUCER_EPOCH,
}


def default_instance_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


def _now() -> datetime:
    return datetime.now(UTC)


def _lost(exc: KafkaException) -> bool:
    error = exc.args[0] if exc.args else None
    return isinstance(error, KafkaError) and error.code() in _LOST


def _fatal(exc: KafkaException) -> bool:
    error = exc.args[0] if exc.args else None
    return isinstance(error, KafkaError) and error.fatal()


class _UnitWriter(KafkaChunkWriter):
    """The chunk writer's messages and checkpoint, plus a step run inside the same transaction
    before it commits (the unit's outcome and consumer offset)."""

    def write_settled(
        self,
        unit: Chunk,
        batches: Iterable[pa.RecordBatch],
        settle: Callable[[Producer, int, int], None],
    ) -> ChunkWritten:
        producer = self._producer
        producer.begin_transaction()
        try:
            values = count = 0
            key = f"{unit.request_id}:{unit.group}".encode()
            for piece, payload in self._messages(batches):
                headers = _headers(piece, unit, count)
                self._produce(self._settings.backfill_topic, key, payload, headers)
                values += piece.num_rows
                count += 1
            self._produce_checkpoint(unit, values, count)
            settle(producer, values, count)
            producer.commit_transaction(60)
        except BaseException:
            self._abort()
            raise
        return ChunkWritten(values, count)

    def settle_only(self, settle: Callable[[Producer, int, int], None]) -> None:
        producer = self._producer
        producer.begin_transaction()
        try:
            settle(producer, 0, 0)
            producer.commit_transaction(60)
        except BaseException:
            self._abort()
            raise

    @property
    def producer(self) -> Producer:
        return self._producer


def _headers(piece: pa.RecordBatch, unit: Chunk, seq: int) -> list[tuple[str, str | bytes | None]]:
    return batch_headers(piece, unit.request_id, unit.index, seq)


class KafkaUnitFeed:
    """A fetcher's lease on the units topic: one unit at a time, settled in one transaction."""

    def __init__(self, settings: KafkaSettings, fetcher_id: str) -> None:
        self._settings = settings
        self._id = fetcher_id
        self._assigned = 0
        self._lease: tuple[UnitOrder, str, int, int] | None = None
        producer = Producer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "transactional.id": f"{settings.fetch_group}-{fetcher_id}",
                "enable.idempotence": True,
                "transaction.timeout.ms": settings.transaction_timeout_ms,
                "message.max.bytes": settings.max_message_bytes + 100_000,
                "linger.ms": 5,
                "compression.type": "none",
            }
        )
        self._writer = _UnitWriter(settings, producer)  # init_transactions first: fences a
        # previous self; the consumer joins the group only once the fetcher can publish
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": settings.fetch_group,
                "client.id": f"naia-fetch-{fetcher_id}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": settings.session_timeout_ms,
                "heartbeat.interval.ms": max(500, settings.session_timeout_ms // 5),
                # a unit runs between two polls: allow the longest transaction, then some
                "max.poll.interval.ms": settings.transaction_timeout_ms + 60_000,
                "queued.max.messages.kbytes": 1024,
            }
        )
        self._consumer.subscribe(
            [settings.units_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        self._announcer = Producer(  # plain: an announcement is no part of a unit's transaction
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "linger.ms": 0,
                "message.timeout.ms": 10_000,
            }
        )

    @property
    def fetcher_id(self) -> str:
        return self._id

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = len(partitions)
        log.info("fetcher %s: %d unit partition(s) assigned", self._id, len(partitions))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = 0
        log.info("fetcher %s: %d unit partition(s) revoked", self._id, len(partitions))

    def share(self) -> float:
        return min(1.0, self._assigned / self._settings.units_partitions)

    def next(self, timeout: float) -> UnitOrder | None:
        try:
            messages = self._consumer.consume(1, timeout=timeout)
        except KafkaException as exc:
            raise TransientError(f"Kafka consume failed: {exc}") from exc
        for message in messages:
            error: Any = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise TransientError(f"Kafka error: {error}")
            try:
                order = decode_unit(message.value() or b"")
            except DecodeError as exc:
                log.error("unit at %s[%d]@%d dropped: %s", message.topic(),
                          message.partition(), message.offset(), exc)  # fmt: skip
                bad = UnitOrder(Chunk("", -1, (), _now(), _now()), ConnectorType.SIMULATOR, 0)
                self._lease = (bad, *_where(message))
                self._commit_only()
                continue
            self._lease = (order, *_where(message))
            return order
        return None

    def announce(self, order: UnitOrder | None) -> None:
        if order is None:
            reading = Reading(self._id, None, None, _now())
        else:
            reading = Reading(self._id, order.unit.request_id, order.unit.index, _now())
        try:
            self._announcer.produce(self._settings.fleet_topic, key=reading_key(self._id),
                                    value=encode_reading(reading))  # fmt: skip
            self._announcer.poll(0)
        except (KafkaException, BufferError) as exc:  # the views miss one announcement
            log.debug("fetcher %s: announcement not sent: %s", self._id, exc)

    def _offsets(self, order: UnitOrder) -> list[TopicPartition]:
        lease = self._lease
        if lease is None or lease[0] is not order:
            raise UnitLostError(f"no lease on unit {order.unit.index} of {order.unit.request_id}")
        _, topic, partition, offset = lease
        return [TopicPartition(topic, partition, offset + 1)]

    def _send_offsets(self, producer: Producer, order: UnitOrder) -> None:
        producer.send_offsets_to_transaction(
            self._offsets(order), self._consumer.consumer_group_metadata(), 30
        )

    def publish(self, order: UnitOrder, batches: Iterable[pa.RecordBatch]) -> ChunkWritten:
        started = time.monotonic()

        def settle(producer: Producer, values: int, count: int) -> None:
            outcome = Outcome(order.unit.index, order.run, DONE, self._id, None, values,
                              round(time.monotonic() - started, 3))  # fmt: skip
            self._produce_outcome(producer, order, outcome)
            self._send_offsets(producer, order)

        return self._transact(
            order, lambda: self._writer.write_settled(order.unit, batches, settle)
        )

    def settle(self, order: UnitOrder, kind: str, error: str | None = None) -> None:
        def settle(producer: Producer, _values: int, _count: int) -> None:
            outcome = Outcome(order.unit.index, order.run, kind, self._id, error)
            self._produce_outcome(producer, order, outcome)
            self._send_offsets(producer, order)

        self._transact(order, lambda: self._writer.settle_only(settle))

    def _transact(self, order: UnitOrder, fn: Callable[[], _T]) -> _T:
        try:
            result = fn()
        except KafkaException as exc:
            if _fatal(exc):
                self._release(order)
                raise FetcherFencedError(
                    f"fetcher {self._id} fenced (another fetcher runs under its id?): {exc}"
                ) from exc
            if _lost(exc):
                self._release(order)
                raise UnitLostError(f"lease lost: {exc}") from exc
            raise FleetUnavailableError(f"Kafka transaction failed: {exc}") from exc
        except UnitLostError:
            self._release(order)
            raise
        self._lease = None
        return result

    def abandon(self, order: UnitOrder) -> None:
        """Give the unit back without settling it: read it again (here or, after a rebalance,
        elsewhere)."""
        self._release(order)

    def _release(self, order: UnitOrder) -> None:
        lease, self._lease = self._lease, None
        if lease is None or lease[0] is not order:
            return
        _, topic, partition, offset = lease
        try:  # still ours: read it again; revoked: its new owner starts at the committed offset
            self._consumer.seek(TopicPartition(topic, partition, offset))
        except KafkaException as exc:
            log.info("unit %d of %s given back (%s)", order.unit.index,
                     order.unit.request_id, exc)  # fmt: skip

    def _commit_only(self) -> None:
        lease = self._lease
        if lease is None:
            return
        order = lease[0]
        self._transact(order, lambda: self._writer.settle_only(
            lambda p, _v, _c: self._send_offsets(p, order)))  # fmt: skip

    def _produce_outcome(self, producer: Producer, order: UnitOrder, outcome: Outcome) -> None:
        rid = order.unit.request_id
        producer.produce(
            self._settings.fleet_topic,
            key=outcome_key(rid, order.unit.index),
            value=encode_outcome(rid, outcome, _now()),
        )

    def close(self) -> None:
        try:
            self._consumer.close()  # leaves the group: its partitions go to the others at once
        finally:
            self._writer.close()
            self._announcer.flush(2)


def _where(message: Message) -> tuple[str, int, int]:
    return message.topic() or "", message.partition() or 0, message.offset() or 0


class _Tail:
    """A background reader of single-partition compacted topics, from the start, read_committed;
    ``sync`` waits until it has read everything committed before the call."""

    def __init__(
        self,
        settings: KafkaSettings,
        topics: Sequence[str],
        apply: Callable[[str, bytes, bytes | None], None],
        name: str,
    ) -> None:
        config = {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"naia-tail-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
        self._consumer = Consumer(config)
        self._meta = Consumer(config)
        self._topics = list(topics)
        self._apply = apply
        self._positions = dict.fromkeys(self._topics, 0)
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._consumer.assign([TopicPartition(t, 0, 0) for t in self._topics])
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._consumer.consume(1000, timeout=0.2)
                positions = self._consumer.position([TopicPartition(t, 0) for t in self._topics])
            except (KafkaException, RuntimeError) as exc:
                if self._stop.is_set():
                    return
                log.warning("tail of %s: %s", self._topics, exc)
                time.sleep(1.0)
                continue
            for message in messages:
                if message.error() is None and message.key() is not None:
                    self._apply(message.topic() or "", message.key() or b"", message.value())
            with self._changed:
                for tp in positions:
                    if tp.offset >= 0:
                        self._positions[tp.topic] = max(self._positions[tp.topic], tp.offset)
                self._changed.notify_all()

    def sync(self, timeout: float) -> None:
        """Wait until every record committed before now is applied; TransientError if not in
        ``timeout`` (an open transaction of a killed producer holds readers back until it is
        aborted: by its successor's start or its transaction timeout)."""
        try:
            highs = {t: self._meta.get_watermark_offsets(TopicPartition(t, 0), timeout=10)[1]
                     for t in self._topics}  # fmt: skip
        except KafkaException as exc:
            raise TransientError(f"Kafka unreachable: {exc}") from exc
        deadline = time.monotonic() + timeout
        with self._changed:
            while any(self._positions[t] < high for t, high in highs.items()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransientError(f"{self._topics} not read to their end in {timeout:g} s")
                self._changed.wait(min(left, 0.5))

    def wait(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()
        self._meta.close()


class KafkaRequestDirectory:
    """A fetcher's view of the request records: which requests are cancelled."""

    def __init__(self, settings: KafkaSettings, sync_timeout_s: float = 10.0) -> None:
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._sync_timeout = sync_timeout_s
        self._tail = _Tail(settings, [settings.requests_topic], self._apply, "naia-requests-tail")

    def _apply(self, _topic: str, key: bytes, value: bytes | None) -> None:
        request_id = key.decode()
        try:
            record = record_from_json(value.decode()) if value is not None else None
        except (msgspec.DecodeError, ValueError):
            return
        with self._lock:
            if record is not None and (record.cancel_requested or record.status == "Cancelled"):
                self._cancelled.add(request_id)
            else:
                self._cancelled.discard(request_id)

    def cancelled(self, request_id: str, *, fresh: bool = False) -> bool:
        if fresh:
            try:
                self._tail.sync(self._sync_timeout)
            except TransientError as exc:
                log.warning("request records not caught up (%s): going by what was read", exc)
        with self._lock:
            return request_id in self._cancelled

    def close(self) -> None:
        self._tail.close()


class KafkaFleetBoard:
    """The API's side: dispatch units once per request (fenced per request), follow progress."""

    def __init__(self, settings: KafkaSettings, owner: str, sync_timeout_s: float = 60.0) -> None:
        self._settings = settings
        self._owner = owner
        self._sync_timeout = sync_timeout_s
        self._lock = threading.Lock()
        self._dispatches: dict[str, Dispatch] = {}
        self._checkpoints: dict[str, dict[int, ChunkCheckpoint]] = {}
        self._outcomes: dict[str, dict[int, Outcome]] = {}
        self._readings: dict[str, Reading] = {}
        self._tail = _Tail(settings, [settings.fleet_topic, settings.checkpoints_topic],
                           self._apply, "naia-fleet-tail")  # fmt: skip

    @property
    def owner(self) -> str:
        return self._owner

    def _apply(self, topic: str, key: bytes, value: bytes | None) -> None:
        if value is None:
            return
        try:
            if topic == self._settings.checkpoints_topic:
                self._apply_checkpoint(key, value)
            elif key.startswith(b"dispatch:"):
                dispatch = decode_dispatch(value)
                with self._lock:
                    self._dispatches[dispatch.request_id] = dispatch
            elif key.startswith(b"outcome:"):
                request_id, outcome = decode_outcome(value)
                with self._lock:
                    self._outcomes.setdefault(request_id, {})[outcome.unit_index] = outcome
            elif key.startswith(b"reading:"):
                reading = decode_reading(value)
                with self._lock:
                    self._readings[reading.fetcher] = reading
        except (msgspec.DecodeError, ValueError) as exc:
            log.warning("unreadable record %r on %s: %s", key, topic, exc)

    def _apply_checkpoint(self, key: bytes, value: bytes) -> None:
        request_id = key.decode().rsplit(":", 1)[0]
        body = msgspec.json.decode(value, type=CheckpointJson)
        checkpoint = ChunkCheckpoint(request_id, body.unit_index, body.values, body.batches,
                                     body.completed_at)  # fmt: skip
        with self._lock:
            self._checkpoints.setdefault(request_id, {})[body.unit_index] = checkpoint

    def progress(
        self, request_id: str
    ) -> tuple[Dispatch | None, dict[int, ChunkCheckpoint], dict[int, Outcome]]:
        with self._lock:
            return (
                self._dispatches.get(request_id),
                dict(self._checkpoints.get(request_id, {})),
                dict(self._outcomes.get(request_id, {})),
            )

    def readings(self) -> dict[str, Reading]:
        with self._lock:
            return dict(self._readings)

    def wait(self, timeout: float) -> None:
        self._tail.wait(timeout)

    def dispatch(
        self,
        request_id: str,
        connector_type: ConnectorType,
        units: Sequence[Chunk],
        skip: set[int],
    ) -> Dispatch:
        from naia.domain.fleet import outstanding

        producer = self._dispatcher(request_id)  # fences any other dispatcher of this request
        try:
            self._tail.sync(self._sync_timeout)
            previous, done, outcomes = self.progress(request_id)
            if previous is not None and previous.owner != self._owner:
                return previous  # another API owns it: it alone dispatches and follows it
            out = outstanding(previous, done, outcomes)
            todo = [u for u in units if u.index not in done and u.index not in skip
                    and u.index not in out]  # fmt: skip
            if not todo:
                return previous or Dispatch(request_id, self._owner)
            run = (previous.last_run if previous else 0) + 1
            runs = {i: previous.runs[i] for i in out} if previous else {}
            runs.update({u.index: run for u in todo})
            dispatch = Dispatch(request_id, self._owner, runs)
            self._publish(producer, dispatch, [UnitOrder(u, connector_type, run) for u in todo])
        finally:
            producer.flush(10)
        with self._lock:
            self._dispatches[request_id] = dispatch
        log.info("dispatched %d unit(s) of %s (run %d)", len(todo), request_id, run)
        return dispatch

    def _dispatcher(self, request_id: str) -> Producer:
        producer = Producer(
            {
                "bootstrap.servers": self._settings.bootstrap_servers,
                "transactional.id": f"{self._settings.transactional_id}-dispatch-{request_id}",
                "enable.idempotence": True,
                "transaction.timeout.ms": 60_000,
            }
        )
        try:
            producer.init_transactions(30)
        except KafkaException as exc:
            raise TransientError(f"Kafka transactions unavailable: {exc}") from exc
        return producer

    def _publish(self, producer: Producer, dispatch: Dispatch, orders: list[UnitOrder]) -> None:
        topic = self._settings.units_topic
        try:
            producer.begin_transaction()
            for order in orders:
                key = unit_key(order.unit.request_id, order.unit.index)
                _produce(producer, topic, key, encode_unit(order))
            _produce(producer, self._settings.fleet_topic, dispatch_key(dispatch.request_id),
                     encode_dispatch(dispatch, _now()))  # fmt: skip
            producer.commit_transaction(60)
        except KafkaException as exc:
            with contextlib.suppress(KafkaException):
                producer.abort_transaction(10)
            raise TransientError(f"units of {dispatch.request_id} not dispatched: {exc}") from exc

    def close(self) -> None:
        self._tail.close()


def _produce(producer: Producer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.1)
