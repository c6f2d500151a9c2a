"""KafkaChunkWriter: a chunk's batches and its checkpoint in ONE Kafka transaction.

Consumers read with isolation.level=read_committed, so a chunk whose transaction was aborted
(or whose producer was killed) is never seen; a restarted producer with the same transactional.id
fences the old one and aborts its open transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import msgspec
import pyarrow as pa
from confluent_kafka import KafkaException, Producer

from naia.domain.errors import TransientError
from naia.domain.model import Chunk, ChunkWritten
from naia.domain.schema import time_sorted
from naia.stores.kafka.state import CheckpointJson
from naia.transports.kafka.codec import batch_headers, encode_batch
from naia.transports.kafka.logs import with_logger
from naia.transports.kafka.settings import KafkaSettings

log = logging.getLogger("naia.kafka")


class KafkaChunkWriter:
    def __init__(self, settings: KafkaSettings, producer: Producer | None = None) -> None:
        self._settings = settings
        self._producer = producer or Producer(
            with_logger(
                {
                    "bootstrap.servers": settings.bootstrap_servers,
                    "transactional.id": settings.transactional_id,
                    "enable.idempotence": True,
                    "transaction.timeout.ms": settings.transaction_timeout_ms,
                    "message.max.bytes": settings.max_message_bytes + 100_000,
                    "linger.ms": 5,
                    "compression.type": "none",  # Arrow IPC is zstd-compressed already
                }
            )
        )
        try:
            self._producer.init_transactions(30)
        except KafkaException as exc:
            raise TransientError(f"Kafka transactions unavailable: {exc}") from exc

    def write_chunk(self, chunk: Chunk, batches: Iterable[pa.RecordBatch]) -> ChunkWritten:
        producer = self._producer
        producer.begin_transaction()
        try:
            values = count = 0
            # one partition per (request, point group): its chunks are read in the order they
            # were written, so QuestDB appends them instead of merging months into each other
            key = f"{chunk.request_id}:{chunk.group}".encode()
            for piece, payload in self._messages(batches):
                headers = batch_headers(piece, chunk.request_id, chunk.index, count)
                self._produce(self._settings.backfill_topic, key, payload, headers)
                values += piece.num_rows
                count += 1
            self._produce_checkpoint(chunk, values, count)
            producer.commit_transaction(60)
        except KafkaException as exc:
            self._abort()
            raise TransientError(f"Kafka transaction failed: {exc}") from exc
        except BaseException:
            self._abort()
            raise
        return ChunkWritten(values, count)

    def _messages(
        self, batches: Iterable[pa.RecordBatch]
    ) -> Iterator[tuple[pa.RecordBatch, bytes]]:
        """Slices of at most max_rows_per_message rows whose encoding fits max_message_bytes,
        each batch sorted by time first: successive messages then cover successive time ranges,
        so however the consumer groups them, QuestDB receives (mostly) in-order commits and
        appends instead of merging them into rows it already holds."""
        step = self._settings.max_rows_per_message
        for batch in batches:
            ordered = time_sorted(batch)
            for offset in range(0, ordered.num_rows, step):
                yield from self._fitting(ordered.slice(offset, step))

    def _fitting(self, batch: pa.RecordBatch) -> Iterator[tuple[pa.RecordBatch, bytes]]:
        payload = encode_batch(batch)
        if len(payload) <= self._settings.max_message_bytes or batch.num_rows == 1:
            yield batch, payload
            return
        half = batch.num_rows // 2
        yield from self._fitting(batch.slice(0, half))
        yield from self._fitting(batch.slice(half))

    def _produce_checkpoint(self, chunk: Chunk, values: int, batches: int) -> None:
        body = CheckpointJson(chunk.index, values, batches, datetime.now(UTC))
        key = f"{chunk.request_id}:{chunk.index}".encode()
        self._produce(self._settings.checkpoints_topic, key, msgspec.json.encode(body), [])

    def _produce(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, str | bytes | None]]
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers)
                self._producer.poll(0)
                return
            except BufferError:
                self._producer.poll(0.1)  # local queue full: let it drain

    def _abort(self) -> None:
        try:
            self._producer.abort_transaction(30)
        except KafkaException as exc:
            log.warning("abort_transaction failed: %s", exc)

    def close(self) -> None:
        self._producer.flush(30)
