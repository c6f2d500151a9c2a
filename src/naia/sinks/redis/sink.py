"""RedisLatestSink: one compare-and-set per point per flush, evaluated inside Redis.

Redis keeps no data across a restart here. The sink marks a Redis it has filled with one key
(``marker_key``: the prefix without its trailing colon); a durable step that finds the marker
missing — Redis came back empty, or never held NAIA's values — first calls ``on_empty`` (the
app rebuilds every point's latest value from QuestDB with ``apply``), then sets the marker.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from naia.domain.errors import DependencyUnavailableError
from naia.sinks.redis.settings import RedisSettings

log = logging.getLogger("naia.redis")

REDIS = "redis"

_SCRIPT = resources.files("naia.sinks.redis").joinpath("latest.lua").read_text()
_KEYS_PER_CALL = 1000


class Latest(NamedTuple):
    ts_us: int
    seq: int
    value: str
    state: str
    good: str


def latest_per_point(batch: pa.RecordBatch) -> dict[str, Latest]:
    """The newest (ts, seq) event of each point in the batch, without a loop over values."""
    names = batch.column("source_address")
    if not pa.types.is_dictionary(names.type):
        names = pc.dictionary_encode(names)
    codes = names.indices.to_numpy(zero_copy_only=False)
    ts = pc.cast(batch.column("ts"), pa.int64()).to_numpy()
    seq = batch.column("seq").to_numpy()
    order = np.lexsort((seq, ts, codes))
    sorted_codes = codes[order]
    rows = order[np.flatnonzero(np.r_[sorted_codes[1:] != sorted_codes[:-1], True])]
    picked = batch.take(pa.array(rows))
    columns = zip(
        picked.column("source_address").to_pylist(),
        ts[rows].tolist(),
        seq[rows].tolist(),
        picked.column("value").to_pylist(),
        picked.column("state").to_pylist(),
        picked.column("good").to_pylist(),
        strict=True,
    )
    return {str(name): as_latest(t, s, v, state, good) for name, t, s, v, state, good in columns}


def as_latest(ts_us: int, seq: int, value: float | None, state: str | None, good: bool) -> Latest:
    """The hash fields of one event, as the Lua script stores them."""
    return Latest(
        ts_us, seq, "" if value is None else repr(value), state or "", "1" if good else "0"
    )


def marker_key(settings: RedisSettings) -> str:
    """The key that says this Redis holds NAIA's latest values (rebuilt or kept since)."""
    return settings.key_prefix.rstrip(":") or "naia-latest"


class RedisLatestSink:
    def __init__(
        self,
        settings: RedisSettings,
        client: redis.Redis | None = None,
        on_empty: Callable[[RedisLatestSink], None] | None = None,
    ) -> None:
        """``on_empty(sink)`` is called when Redis is found without the marker (see above)."""
        self._settings = settings
        password = settings.password.get_secret_value() if settings.password else None
        self._client = client or redis.Redis(
            host=settings.host, port=settings.port, db=settings.db, password=password,
            socket_timeout=settings.timeout_s, socket_connect_timeout=settings.timeout_s,
            retry=Retry(NoBackoff(), 0),
        )  # fmt: skip
        # one try per call: the worker waits and tries again (redis-py's default, 10 retries
        # of a 5 s timeout, would hide a hung Redis for minutes)
        self._script = self._client.register_script(_SCRIPT)
        self._pending: dict[str, Latest] = {}
        self._on_empty = on_empty
        self._rebuilding = False  # the marker was found missing; not rebuilt yet

    def write(self, batch: pa.RecordBatch) -> None:
        for point, latest in latest_per_point(batch).items():
            current = self._pending.get(point)
            if current is None or (latest.ts_us, latest.seq) >= (current.ts_us, current.seq):
                self._pending[point] = latest

    def prepare(self) -> Callable[[], None]:
        items = list(self._pending.items())
        self._pending = {}
        return functools.partial(self._send_all, items)

    def flush(self) -> None:
        self.prepare()()

    def _send_all(self, items: list[tuple[str, Latest]]) -> None:
        if self._on_empty is not None and not self.has_marker():
            if not self._rebuilding:
                log.warning("Redis holds no %s: rebuilding the latest values", self.marker)
                self._rebuilding = True
            self._on_empty(self)
            self.set_marker()
            self._rebuilding = False
        self.apply(dict(items))

    @property
    def marker(self) -> str:
        return marker_key(self._settings)

    def has_marker(self) -> bool:
        try:
            return bool(self._client.exists(self.marker))
        except redis.RedisError as exc:
            raise DependencyUnavailableError(REDIS, f"Redis unavailable: {exc}") from exc

    def set_marker(self) -> None:
        try:
            self._client.set(self.marker, datetime.now(UTC).isoformat(timespec="seconds"))
        except redis.RedisError as exc:
            raise DependencyUnavailableError(REDIS, f"Redis unavailable: {exc}") from exc

    def apply(self, latest: Mapping[str, Latest]) -> int:
        """Compare-and-set these values (a newer one already in Redis stays); returns how
        many were written."""
        items = list(latest.items())
        written = 0
        try:
            for start in range(0, len(items), _KEYS_PER_CALL):
                written += self._call(items[start : start + _KEYS_PER_CALL])
        except redis.RedisError as exc:
            raise DependencyUnavailableError(REDIS, f"Redis update failed: {exc}") from exc
        return written

    def _call(self, items: list[tuple[str, Latest]]) -> int:
        keys = [self._settings.key_prefix + point for point, _ in items]
        args: list[str | int] = []
        for _, latest in items:
            args += [latest.ts_us, latest.seq, latest.value, latest.state, latest.good]
        return int(self._script(keys=keys, args=args))

    def get(self, point: str) -> dict[str, str]:
        raw = self._client.hgetall(self._settings.key_prefix + point)
        return {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]

    def close(self) -> None:
        self._client.close()
