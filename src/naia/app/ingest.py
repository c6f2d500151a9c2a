"""Wiring of the ingestion worker: Kafka inbox → QuestDB + Redis sinks."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from naia.app.settings import NaiaSettings
from naia.domain.ports import Sink
from naia.ingestion import IngestionWorker
from naia.sinks.questdb.sink import QuestDbSink
from naia.sinks.redis.sink import RedisLatestSink
from naia.transports.kafka.inbox import KafkaInbox
from naia.transports.kafka.topics import ensure_topics

log = logging.getLogger("naia.ingest")


def build_worker(settings: NaiaSettings) -> tuple[IngestionWorker, KafkaInbox, list[Sink]]:
    ensure_topics(settings.kafka)
    inbox = KafkaInbox(settings.kafka)
    sinks: list[Sink] = [QuestDbSink(settings.questdb), RedisLatestSink(settings.redis)]
    worker = IngestionWorker(
        inbox, sinks, max_messages=settings.ingest.max_messages,
        poll_timeout=settings.ingest.poll_timeout_s,
    )  # fmt: skip
    return worker, inbox, sinks


def run_worker(settings: NaiaSettings) -> None:
    """Run until SIGTERM/SIGINT; the cycle in progress is flushed and committed before exit."""
    worker, inbox, sinks = build_worker(settings)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current cycle", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "ingesting %s + %s → QuestDB %s, Redis %s:%d",
        settings.kafka.datapoints_topic, settings.kafka.backfill_topic,
        settings.questdb.http_url, settings.redis.host, settings.redis.port,
    )  # fmt: skip
    try:
        worker.run(stop)
    finally:
        inbox.close()
        for sink in sinks:
            sink.close()
