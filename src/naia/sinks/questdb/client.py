"""QuestDB's SQL side: the table's DDL, ad-hoc queries over HTTP /exec, stored counts.

The writer (ILP over HTTP) is in :mod:`naia.sinks.questdb.sink`.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from naia.domain.errors import TransientError
from naia.domain.fingerprint import SEQ_SHIFT, P, tally_of
from naia.domain.model import WindowGrid
from naia.domain.ports import PointWindowTallies, StoredCounts
from naia.domain.timeparse import format_timestamp, to_us
from naia.sinks.questdb.settings import QuestDbSettings

DDL = """CREATE TABLE IF NOT EXISTS {table} (
    ts TIMESTAMP,
    source_address SYMBOL CAPACITY 4096 CACHE,
    seq SHORT,
    value DOUBLE,
    state SYMBOL CAPACITY 256 CACHE,
    good BOOLEAN,
    questionable BOOLEAN,
    substituted BOOLEAN,
    annotated BOOLEAN
) TIMESTAMP(ts) PARTITION BY MONTH WAL
DEDUP UPSERT KEYS(ts, source_address, seq)"""


def execute(settings: QuestDbSettings, sql: str, timeout: float | None = None) -> dict[str, Any]:
    """Run SQL through QuestDB's HTTP /exec (within ``timeout``, default the settings'
    ``request_timeout_s``); raise TransientError when unreachable or too slow."""
    auth = None
    if settings.username and settings.password:
        auth = (settings.username, settings.password.get_secret_value())
    try:
        response = _client(timeout or settings.request_timeout_s).get(
            f"{settings.http_url}/exec", params={"query": sql}, auth=auth
        )
    except httpx.HTTPError as exc:
        raise TransientError(f"QuestDB at {settings.http_url} unreachable: {exc}") from exc
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise TransientError(f"QuestDB rejected the query: {body.get('error', body)}")
    return body


@functools.cache
def _client(timeout: float) -> httpx.Client:
    """One pooled client per process: status polling must not build a TLS context per call."""
    return httpx.Client(timeout=timeout)


def ensure_table(settings: QuestDbSettings) -> None:
    execute(settings, DDL.format(table=settings.table))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stored_count(
    settings: QuestDbSettings, points: tuple[str, ...], start: datetime, end: datetime
) -> int:
    """Rows visible in QuestDB for these points in [start, end), asked within
    ``stored_count_timeout_s``."""
    names = ", ".join(_quote(p) for p in points)
    sql = (
        f"SELECT count() FROM {settings.table} WHERE source_address IN ({names}) "
        f"AND ts >= {_quote(format_timestamp(start))} AND ts < {_quote(format_timestamp(end))}"
    )
    return int(execute(settings, sql, settings.stored_count_timeout_s)["dataset"][0][0])


def stored_counts(
    settings: QuestDbSettings, points: Sequence[str], grid: WindowGrid
) -> StoredCounts:
    """Rows per (point, window of ``grid``) in one query. The table's DEDUP UPSERT KEYS(ts,
    source_address, seq) keep one row per key, so QuestDB holds no duplicates to count."""
    names = ", ".join(_quote(p) for p in points)
    start_us = to_us(grid.start)
    step_us = grid.step // timedelta(microseconds=1)
    sql = (
        f"SELECT source_address, (cast(ts AS long) - {start_us}) / {step_us} w, count() "
        f"FROM {settings.table} WHERE source_address IN ({names}) "
        f"AND ts >= {_quote(format_timestamp(grid.start))} "
        f"AND ts < {_quote(format_timestamp(grid.end))}"
    )
    rows = execute(settings, sql)["dataset"]
    return StoredCounts({(str(p), int(w)): int(n) for p, w, n in rows}, {})


_X_SPLIT = 1 << 20
"""Σx is summed as Σ(x div 2^20)·2^20 + Σ(x mod 2^20): each part fits QuestDB's 64-bit sum for
any grid (x < 2^63) and any number of rows a window can hold; Python adds them exactly."""


def stored_tallies(
    settings: QuestDbSettings, points: Sequence[str], grid: WindowGrid
) -> PointWindowTallies:
    """Count and key fingerprint per (point, window of ``grid``) in one scan, with the integer
    arithmetic of ``naia.domain.fingerprint`` (x = ts − grid start in µs, u = ((x mod P)·2^16 +
    seq) mod P); every term and sum stays below 2^63. DEDUP keeps one row per key, so a count
    that agrees while the fingerprint does not means rows at other keys than the source's."""
    names = ", ".join(_quote(p) for p in points)
    start_us = to_us(grid.start)
    step_us = grid.step // timedelta(microseconds=1)
    x = f"(cast(ts AS long) - {start_us})"
    inner = (
        f"SELECT source_address, {x} / {step_us} w, {x} / {_X_SPLIT} xh, {x} % {_X_SPLIT} xl, "
        f"cast(seq AS long) s, (({x} % {P}) * {SEQ_SHIFT} + cast(seq AS long)) % {P} u "
        f"FROM {settings.table} WHERE source_address IN ({names}) "
        f"AND ts >= {_quote(format_timestamp(grid.start))} "
        f"AND ts < {_quote(format_timestamp(grid.end))}"
    )
    sql = (
        f"SELECT source_address, w, count(), sum(xh), sum(xl), sum(s), sum(u), sum((u * u) % {P}) "
        f"FROM ({inner})"
    )
    return {
        (str(p), int(w)): tally_of(n, (int(xh) * _X_SPLIT + int(xl), int(sq), int(u), int(u2)))
        for p, w, n, xh, xl, sq, u, u2 in execute(settings, sql)["dataset"]
    }


def exact_counts(
    settings: QuestDbSettings, grid: WindowGrid, pairs: Collection[tuple[str, int]]
) -> StoredCounts:
    """Rows of ``pairs`` exactly: a count per pair (DEDUP leaves no repeated key to count)."""
    if not pairs:
        return StoredCounts({}, {})
    counted = stored_counts(settings, sorted({p for p, _ in pairs}), grid)
    wanted = set(pairs)
    return StoredCounts({k: n for k, n in counted.rows.items() if k in wanted}, {})


LatestRow = tuple[str, int, int, float | None, str | None, bool]


def latest_rows(settings: QuestDbSettings) -> list[LatestRow]:
    """The newest (ts, seq) row of every point: (point, ts in µs, seq, value, state, good)."""
    sql = (
        f"SELECT source_address, cast(ts AS long), seq, value, state, good FROM {settings.table} "
        "LATEST ON ts PARTITION BY source_address, seq"
    )
    newest: dict[str, LatestRow] = {}
    for point, ts_us, seq, value, state, good in execute(settings, sql)["dataset"]:
        row: LatestRow = (str(point), int(ts_us), int(seq), value, state, bool(good))
        current = newest.get(row[0])
        if current is None or (row[1], row[2]) > (current[1], current[2]):
            newest[row[0]] = row
    return list(newest.values())
