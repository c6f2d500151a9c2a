"""librdkafka's lines go through a rate limit: one per kind per minute, with the count held."""

from __future__ import annotations

import logging

import pytest

from naia.kernel.ratelimit import RateLimitFilter
from naia.transports.kafka.logs import client_logger, kind, with_logger

REFUSED = (
    "FAIL [rdkafka#consumer-{n}] [thrd:{b}]: {b}: Connect to ipv4#127.0.0.1:29192 failed: "
    "Connection refused (after {ms}ms in state CONNECT)"
)


def record(message: str) -> logging.LogRecord:
    return logging.makeLogRecord({"msg": message, "levelno": logging.ERROR})


def test_one_line_per_kind_per_interval_then_the_count_held_back() -> None:
    now = [0.0]
    limit = RateLimitFilter(60.0, key=kind, clock=lambda: now[0])
    lines = [REFUSED.format(n=n % 3, b=b, ms=n) for n in range(300)
             for b in ("127.0.0.1:29192/bootstrap", "127.0.0.1:29192/1")]  # fmt: skip
    lines.append(REFUSED.format(n=1, b="127.0.0.1:29192/1", ms="0").replace(
        "CONNECT)", "CONNECT, 586 identical error(s) suppressed)"))  # fmt: skip
    passed = [r for r in map(record, lines) if limit.filter(r)]
    assert len(passed) == 1  # every client, broker and duration: one kind
    assert limit.filter(record("FAIL [rdkafka#producer-1] [thrd:x]: x:1/2: other"))
    now[0] = 61.0
    again = record(lines[0])
    assert limit.filter(again)
    assert "600 more like it in the last 60 s" in again.getMessage()


def test_kafka_clients_log_through_the_rate_limited_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = with_logger({"bootstrap.servers": "127.0.0.1:1"})
    logger = config["logger"]
    assert logger is client_logger()
    assert sum(isinstance(f, RateLimitFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger=logger.name):
        for n in range(50):
            logger.error("%s", REFUSED.format(n=n, b="127.0.0.1:1/bootstrap", ms=n))
    assert len([r for r in caplog.records if "Connection refused" in r.getMessage()]) == 1
