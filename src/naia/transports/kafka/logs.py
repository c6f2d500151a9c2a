"""librdkafka's log lines through Python logging, rate-limited (``naia.kafka.client``).

Without a ``logger`` in its configuration librdkafka writes to stderr itself: a broker that is
down makes every client print "Connection refused" many times a second. Routed through this
logger, each kind of line is printed at most once a minute, with the count of those held back.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from naia.kernel.ratelimit import RateLimitFilter, normalised

CLIENT_LOGGER = "naia.kafka.client"
LOG_INTERVAL_S = 60.0


_CLIENT = re.compile(r"\[rdkafka#[^\]]*\]|\[thrd:[^\]]*\]")
_SUPPRESSED = re.compile(r", \d+ identical error\(s\) suppressed")
_BROKER = re.compile(r"GroupCoordinator(?:: [\w.\-]+:\d+)?|[\w.\-]+:\d+/(?:bootstrap|\d+)")


def kind(message: str) -> str:
    """What makes two librdkafka lines the same for the rate limit: the client, thread and
    broker named in them do not count (every client of the process reports one outage)."""
    return normalised(_BROKER.sub("<broker>", _SUPPRESSED.sub("", _CLIENT.sub("", message))))


def client_logger() -> logging.Logger:
    """The logger every Kafka client of the process logs through (filter attached once)."""
    logger = logging.getLogger(CLIENT_LOGGER)
    if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
        logger.addFilter(RateLimitFilter(LOG_INTERVAL_S, key=kind))
    return logger


def with_logger(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` for a confluent-kafka client, its librdkafka logs sent to ``client_logger``."""
    return {**config, "logger": client_logger()}
