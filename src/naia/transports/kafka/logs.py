"""librdkafka's log lines through Python logging, rate-limited (``naia.kafka.client``).

Without a ``logger`` in its configuration librdkafka writes to stderr itself: a broker that is
down makes every client print "Connection refused" many times a second. Routed through this
logger, each kind of line is printed at most once a minute, with the count of those held back.
"""

from __future__ import annotations

import logging
from typing import Any

from naia.kernel.ratelimit import RateLimitFilter

CLIENT_LOGGER = "naia.kafka.client"
LOG_INTERVAL_S = 60.0


def client_logger() -> logging.Logger:
    """The logger every Kafka client of the process logs through (filter attached once)."""
    logger = logging.getLogger(CLIENT_LOGGER)
    if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
        logger.addFilter(RateLimitFilter(LOG_INTERVAL_S))
    return logger


def with_logger(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` for a confluent-kafka client, its librdkafka logs sent to ``client_logger``."""
    return {**config, "logger": client_logger()}
