"""Rebuild Redis's latest value of every point from QuestDB (after Redis came back empty).

The values go through the sink's compare-and-set script, so a newer value written meanwhile by
live ingestion is never replaced by an older stored one.
"""

from __future__ import annotations

import logging
import time

from naia.domain.errors import DependencyUnavailableError, TransientError
from naia.sinks.questdb.client import ensure_table, latest_rows
from naia.sinks.questdb.settings import QuestDbSettings
from naia.sinks.redis.sink import RedisLatestSink, as_latest

log = logging.getLogger("naia.latest")

QUESTDB = "questdb"


def rebuild_latest(questdb: QuestDbSettings, sink: RedisLatestSink) -> tuple[int, int]:
    """Write every point's newest stored row to Redis; returns (points found, keys written)."""
    began = time.monotonic()
    try:
        ensure_table(questdb)  # a fresh installation: nothing stored yet, nothing to rebuild
        rows = latest_rows(questdb)
    except TransientError as exc:
        raise DependencyUnavailableError(QUESTDB, f"latest values not rebuilt: {exc}") from exc
    latest = {point: as_latest(ts, seq, value, state, good)
              for point, ts, seq, value, state, good in rows}  # fmt: skip
    written = sink.apply(latest)
    log.info("latest values rebuilt from QuestDB %s: %d point(s), %d key(s) written in %.1f s",
             questdb.table, len(latest), written, time.monotonic() - began)  # fmt: skip
    return len(latest), written


class RebuildHook:
    """The Redis sink's ``on_empty``: rebuild from QuestDB."""

    def __init__(self, questdb: QuestDbSettings) -> None:
        self._questdb = questdb

    def __call__(self, sink: RedisLatestSink) -> None:
        rebuild_latest(self._questdb, sink)
