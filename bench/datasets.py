"""The data every scenario and peer reads: Simulator points, exact counts, Kafka copies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from naia.transports.kafka.codec import batch_headers, encode_batch

ROWS_PER_MESSAGE = 100_000  # naia's kafka.max_rows_per_message


def points(n: int) -> list[str]:
    return [f"SIM.{i}" for i in range(n)]


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def source(realistic: bool) -> SimulatorSource:
    """The Simulator as `naia backfill` (regular 1-minute data) or the emulator (REALISTIC)."""
    return SimulatorSource(SimulatorSettings(defaults=REALISTIC) if realistic else None)


def expected_count(names: list[str], start: datetime, end: datetime, realistic: bool) -> int:
    """Exact number of events the Simulator (and so the emulator) holds in [start, end)."""
    if not realistic:
        return len(names) * int((end - start).total_seconds() // 60)
    return sum(b.num_rows for b in source(True).read(names, start, end))


def batches(names: list[str], start: datetime, end: datetime) -> Iterator[pa.RecordBatch]:
    """Regular 1-minute Simulator data in batches of at most ROWS_PER_MESSAGE rows."""
    for batch in source(False).read(names, start, end):
        for offset in range(0, batch.num_rows, ROWS_PER_MESSAGE):
            yield batch.slice(offset, ROWS_PER_MESSAGE)


def produce_arrow(topic: str, names: list[str], start: datetime, end: datetime) -> int:
    """BackfillDataBatch messages (Arrow IPC, zstd, NAIA's headers), as `naia api` publishes."""
    from confluent_kafka import Producer

    from bench.infra import KAFKA

    producer = Producer(
        {"bootstrap.servers": KAFKA, "linger.ms": 20, "message.max.bytes": 1_000_000}
    )
    rows = 0
    for seq, batch in enumerate(batches(names, start, end)):
        headers = batch_headers(batch, "bench", 0, seq)
        producer.produce(topic, value=encode_batch(batch), headers=headers)
        producer.poll(0)
        rows += batch.num_rows
    if producer.flush(120) != 0:
        raise RuntimeError(f"could not deliver every message to {topic}")
    return rows


def json_rows(batch: pa.RecordBatch) -> Iterator[bytes]:
    """One JSON object per row, schemas off (what Kafka Connect's JsonConverter reads).

    ``ts`` is integer microseconds since the epoch (``timestamp.units=micros``).
    """
    ts = pc.cast(batch.column("ts"), pa.int64()).to_pylist()
    names = batch.column("source_address").cast(pa.string()).to_pylist()
    seq = batch.column("seq").to_pylist()
    value = batch.column("value").to_pylist()
    state = batch.column("state").to_pylist()
    good = batch.column("good").to_pylist()
    quest = batch.column("questionable").to_pylist()
    subst = batch.column("substituted").to_pylist()
    annot = batch.column("annotated").to_pylist()
    b = ("false", "true")
    for i in range(len(ts)):
        v = "null" if value[i] is None else repr(value[i])
        s = "null" if state[i] is None else f'"{state[i]}"'
        yield (
            f'{{"ts":{ts[i]},"source_address":"{names[i]}","seq":{seq[i]},"value":{v},'
            f'"state":{s},"good":{b[good[i]]},"questionable":{b[quest[i]]},'
            f'"substituted":{b[subst[i]]},"annotated":{b[annot[i]]}}}'
        ).encode()


def produce_json(topic: str, names: list[str], start: datetime, end: datetime) -> int:
    """The same rows, one JSON record each (the QuestDB Kafka connector's usual input)."""
    from confluent_kafka import Producer

    from bench.infra import KAFKA

    producer = Producer(
        {
            "bootstrap.servers": KAFKA,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 2_000_000,
        }
    )
    rows = 0
    for batch in batches(names, start, end):
        for record in json_rows(batch):
            while True:
                try:
                    producer.produce(topic, value=record)
                    break
                except BufferError:
                    producer.poll(0.1)
            rows += 1
        producer.poll(0)
    if producer.flush(300) != 0:
        raise RuntimeError(f"could not deliver every message to {topic}")
    return rows
