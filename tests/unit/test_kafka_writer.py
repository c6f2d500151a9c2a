"""KafkaChunkWriter's messages, on a recording producer (the real Kafka path is in
tests/integration/test_distributed.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from naia.domain.model import Chunk
from naia.domain.schema import unify
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.stores.kafka.writer import KafkaChunkWriter
from naia.transports.kafka.codec import ARROW_CONTENT_TYPE, decode_message
from naia.transports.kafka.settings import KafkaSettings
from tests.conftest import DAY_START

POINTS = ("SINUSOID", "CDT158", "SIM.4")


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.commits = 0

    def init_transactions(self, timeout: float) -> None:
        pass

    def begin_transaction(self) -> None:
        pass

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any) -> None:
        self.sent.append((topic, key, value))

    def poll(self, timeout: float) -> int:
        return 0

    def commit_transaction(self, timeout: float) -> None:
        self.commits += 1

    def abort_transaction(self, timeout: float) -> None:
        raise AssertionError("no abort expected")


def chunk(index: int, group: int) -> Chunk:
    start = DAY_START + timedelta(hours=index)
    return Chunk("req-1", index, POINTS, start, start + timedelta(hours=1), index, group)


def test_messages_are_time_ordered_and_a_point_group_keeps_one_key() -> None:
    producer = RecordingProducer()
    settings = KafkaSettings(max_rows_per_message=50)
    writer = KafkaChunkWriter(settings, producer)  # type: ignore[arg-type]
    # one point-major batch a chunk (each point's hour after the other), split into messages
    source = SimulatorSource(SimulatorSettings(batch_rows=10_000))
    for u in (chunk(0, 0), chunk(1, 0), chunk(2, 1)):
        point_major = unify([b for p in POINTS for b in source.read((p,), u.start, u.end)])
        written = writer.write_chunk(u, [point_major])
        assert written.values == 3 * 60
    data = [(key, value) for topic, key, value in producer.sent if topic == settings.backfill_topic]
    assert {key for key, _ in data} == {b"req-1:0", b"req-1:1"}
    batches = [
        decode_message(value, ARROW_CONTENT_TYPE) for key, value in data if key == b"req-1:0"
    ]
    stamps = pa.concat_arrays([b.column("ts") for b in batches])
    assert pc.all(pc.greater_equal(stamps[1:], stamps[:-1])).as_py()  # across messages too
    assert sum(b.num_rows for b in batches) == 2 * 3 * 60 and producer.commits == 3
