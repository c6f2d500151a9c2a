"""A private slice of the real services per test: own topics, table, Redis prefix, group."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition

from naia.sinks.questdb.client import execute
from naia.sinks.questdb.settings import QuestDbSettings
from naia.transports.kafka.settings import KafkaSettings
from tests.helpers import api_up, free_port, naia, wait_for

BOOTSTRAP = f"127.0.0.1:{os.environ.get('NAIA_SERVICES__KAFKA_PORT', '19092')}"
QDB_PORT = int(os.environ.get("NAIA_SERVICES__QUESTDB_HTTP_PORT", "19000"))
REDIS_PORT = int(os.environ.get("NAIA_SERVICES__REDIS_PORT", "16379"))


@dataclass
class Slice:
    tmp: Path
    table: str = "point_data"
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def kafka(self) -> KafkaSettings:
        t = self.tag
        return KafkaSettings(
            bootstrap_servers=BOOTSTRAP, datapoints_topic=f"t{t}.datapoints",
            backfill_topic=f"t{t}.backfill", dlq_topic=f"t{t}.dlq",
            requests_topic=f"t{t}.requests", checkpoints_topic=f"t{t}.checkpoints",
            transactional_id=f"t{t}-orchestrator", consumer_group=f"t{t}-ingest",
        )  # fmt: skip

    @property
    def questdb(self) -> QuestDbSettings:
        return QuestDbSettings(http_port=QDB_PORT, table=self.table)

    @property
    def redis_prefix(self) -> str:
        return f"t{self.tag}:latest:"

    def env(self) -> dict[str, str]:
        k = self.kafka
        base = {
            "NAIA_MODE": "distributed",
            "NAIA_KAFKA__BOOTSTRAP_SERVERS": BOOTSTRAP,
            "NAIA_KAFKA__DATAPOINTS_TOPIC": k.datapoints_topic,
            "NAIA_KAFKA__BACKFILL_TOPIC": k.backfill_topic,
            "NAIA_KAFKA__DLQ_TOPIC": k.dlq_topic,
            "NAIA_KAFKA__REQUESTS_TOPIC": k.requests_topic,
            "NAIA_KAFKA__CHECKPOINTS_TOPIC": k.checkpoints_topic,
            "NAIA_KAFKA__TRANSACTIONAL_ID": k.transactional_id,
            "NAIA_KAFKA__CONSUMER_GROUP": k.consumer_group,
            "NAIA_QUESTDB__HTTP_PORT": str(QDB_PORT),
            "NAIA_QUESTDB__TABLE": self.table,
            "NAIA_REDIS__PORT": str(REDIS_PORT),
            "NAIA_REDIS__KEY_PREFIX": self.redis_prefix,
        }
        return {**base, **self.extra}

    def count(self, where: str = "") -> int:
        sql = f"SELECT count() FROM {self.table} {where}"
        return int(execute(self.questdb, sql)["dataset"][0][0])

    def distinct(self) -> int:
        sql = f"SELECT count() FROM (SELECT DISTINCT ts, source_address, seq FROM {self.table})"
        return int(execute(self.questdb, sql)["dataset"][0][0])

    def drop_table(self) -> None:
        execute(self.questdb, f"DROP TABLE IF EXISTS {self.table}")

    @contextmanager
    def api(self, **env: str) -> Iterator[str]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = naia("api", "--port", str(port), env={**self.env(), **env},
                    log=self.tmp / "api.log")  # fmt: skip
        try:
            wait_for(lambda: api_up(url), 60, "the API")
            yield url
        finally:
            stop(proc)

    def start_api(self, port: int, **env: str) -> subprocess.Popen[bytes]:
        return naia("api", "--port", str(port), env={**self.env(), **env},
                    log=self.tmp / "api.log")  # fmt: skip

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        return naia("ingest", env={**self.env(), **env}, log=self.tmp / "ingest.log")

    def wait_settled(self, timeout: float = 120) -> None:
        """Wait until the worker committed every message published so far and QuestDB applied
        every transaction: from then on, counts are final (an excess row would show)."""
        for topic in (self.kafka.backfill_topic, self.kafka.datapoints_topic):
            targets = last_offsets(topic)
            wait_for(lambda t=topic, o=targets: _reached(self.kafka.consumer_group, t, o),  # type: ignore[misc]
                     timeout, f"the worker to commit {topic}")  # fmt: skip
        wait_applied(self.questdb, timeout)

    def published_values(self) -> int:
        """Sum of the value-count headers of committed messages on the backfill topic."""
        total = 0
        for message in read_committed(self.kafka.backfill_topic, 12):
            headers = dict(message.headers() or [])
            total += int(headers["naia-value-count"])
        return total


def wait_applied(settings: QuestDbSettings, timeout: float = 60) -> None:
    """Wait until QuestDB applied every committed WAL transaction of the table."""
    sql = (
        "SELECT writerTxn, sequencerTxn, suspended FROM wal_tables() "
        f"WHERE name = '{settings.table}'"
    )

    def applied() -> bool:
        rows = execute(settings, sql)["dataset"]
        if not rows:
            return True  # no table: nothing written, nothing pending
        writer, sequencer, suspended = rows[0]
        assert not suspended, f"WAL apply suspended for {settings.table}"
        return int(writer) >= int(sequencer)

    wait_for(applied, timeout, f"QuestDB to apply {settings.table}'s WAL")


def last_offsets(topic: str) -> dict[int, int]:
    """Per partition, the offset after the last committed data message (markers excluded)."""
    ends: dict[int, int] = {}
    for message in read_committed(topic, _partitions(topic)):
        ends[message.partition()] = max(ends.get(message.partition(), 0), message.offset() + 1)
    return ends


def _partitions(topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"meta-{uuid.uuid4()}"})
    try:
        return len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        consumer.close()


def _reached(group: str, topic: str, targets: dict[int, int]) -> bool:
    if not targets:
        return True
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group,
                         "enable.auto.commit": False})  # fmt: skip
    try:
        parts = [TopicPartition(topic, p) for p in targets]
        committed = consumer.committed(parts, timeout=10)
    finally:
        consumer.close()
    return all(tp.offset >= targets[tp.partition] for tp in committed)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def read_committed(topic: str, partitions: int) -> list[Any]:
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": f"reader-{uuid.uuid4()}",
        "isolation.level": "read_committed", "enable.auto.commit": False,
    })  # fmt: skip
    messages = []
    try:
        ends = {}
        for p in range(partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        done = {p for p, high in ends.items() if high == 0}
        while len(done) < partitions:
            batch = consumer.consume(1000, timeout=2.0)
            if not batch:
                positions = consumer.position([TopicPartition(topic, p) for p in range(partitions)])
                done |= {tp.partition for tp in positions if tp.offset >= ends[tp.partition]}
                continue
            messages += [m for m in batch if m.error() is None]
    finally:
        consumer.close()
    return messages


def produce(topic: str, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    producer.produce(topic, value=value, headers=headers or [])
    assert producer.flush(10) == 0


def request(url: str, request_id: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{url}/api/backfill/request/{request_id}", timeout=30).json()[
        "data"
    ]
    return data
