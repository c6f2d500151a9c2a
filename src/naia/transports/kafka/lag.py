"""KafkaLagProbe: the ingestion group's lag per partition, read without joining the group."""

from __future__ import annotations

import threading

from confluent_kafka import Consumer, TopicPartition

from naia.transports.kafka.logs import with_logger
from naia.transports.kafka.settings import KafkaSettings


class KafkaLagProbe:
    """Consumer lag of the ingestion group per (topic, partition): high watermark − committed.

    Uses its own consumer that never subscribes, so it does not join (or rebalance) the group.
    With transactional producers the last commit marker counts as one message of lag at rest.
    """

    def __init__(self, settings: KafkaSettings, timeout: float = 2.0) -> None:
        self._topics = (settings.datapoints_topic, settings.backfill_topic)
        self._timeout = timeout
        self._consumer = Consumer(
            with_logger(
                {
                    "bootstrap.servers": settings.bootstrap_servers,
                    "group.id": settings.consumer_group,
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                }
            )
        )
        self._lock = threading.Lock()

    def __call__(self) -> dict[tuple[str, int], int]:
        with self._lock:
            self._consumer.poll(0)  # serves the client's queued log lines
            committed = self._consumer.committed(self._partitions(), timeout=self._timeout)
            return {(tp.topic, tp.partition): self._lag(tp) for tp in committed}

    def _partitions(self) -> list[TopicPartition]:
        parts = []
        for topic in self._topics:
            meta = self._consumer.list_topics(topic, timeout=self._timeout).topics[topic]
            parts += [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        return parts

    def _lag(self, tp: TopicPartition) -> int:
        low, high = self._consumer.get_watermark_offsets(tp, timeout=self._timeout)
        done = tp.offset if tp.offset >= 0 else low
        return max(0, int(high) - int(done))

    def close(self) -> None:
        with self._lock:
            self._consumer.close()
