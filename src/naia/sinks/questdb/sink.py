"""QuestDbSink: batches → ILP/HTTP via the client's dataframe path (no per-row Python).

The table is created by the project with WAL and DEDUP UPSERT KEYS(ts, source_address, seq), so
re-delivered messages and re-run ranges leave one row per event.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
from questdb import QuestDBError, Sender

from naia.domain.errors import TransientError
from naia.domain.schema import unify
from naia.domain.timeparse import format_timestamp
from naia.sinks.questdb.settings import QuestDbSettings

log = logging.getLogger("naia.questdb")

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


def execute(settings: QuestDbSettings, sql: str) -> dict[str, Any]:
    """Run SQL through QuestDB's HTTP /exec; raise TransientError when unreachable."""
    auth = None
    if settings.username and settings.password:
        auth = (settings.username, settings.password.get_secret_value())
    try:
        response = _client(settings.request_timeout_s).get(
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
    """Rows visible in QuestDB for these points in [start, end)."""
    names = ", ".join(_quote(p) for p in points)
    sql = (
        f"SELECT count() FROM {settings.table} WHERE source_address IN ({names}) "
        f"AND ts >= {_quote(format_timestamp(start))} AND ts < {_quote(format_timestamp(end))}"
    )
    return int(execute(settings, sql)["dataset"][0][0])


def to_frame(batch: pa.RecordBatch) -> Any:
    """pandas frame for the client, rows in time order (QuestDB appends in-order rows far faster
    than it merges out-of-order ones), both symbol columns categorical (no per-row strings)."""
    batch = batch.take(pc.sort_indices(batch.column("ts")))
    index = batch.schema.get_field_index("state")
    state = pc.dictionary_encode(batch.column(index))
    if len(state.dictionary) == 0:  # all null: the client wants string categories, not none
        return batch.to_pandas()
    return batch.set_column(index, "state", state).to_pandas()


class QuestDbSink:
    """Buffers a cycle's batches; ``flush`` sends them as one time-ordered frame, so QuestDB
    appends in order instead of merging many small out-of-order commits."""

    def __init__(self, settings: QuestDbSettings) -> None:
        self._settings = settings
        ensure_table(settings)
        self._sender = Sender.from_conf(settings.ilp_conf())
        self._sender.establish()  # type: ignore[no-untyped-call]
        self._pending: list[pa.RecordBatch] = []

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)

    def flush(self) -> None:
        if self._pending:
            batch = unify(self._pending)
            self._pending = []
            self._send(to_frame(batch))
        try:
            self._sender.flush()
        except QuestDBError as exc:
            raise TransientError(f"QuestDB flush failed: {exc}") from exc

    def _send(self, frame: Any) -> None:
        try:
            self._sender.dataframe(
                frame, table_name=self._settings.table, symbols=["source_address", "state"],
                at="ts",
            )  # fmt: skip
        except QuestDBError as exc:
            raise TransientError(f"QuestDB ingestion failed: {exc}") from exc

    def close(self) -> None:
        self._sender.close()
