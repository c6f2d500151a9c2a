"""RedisLatestSink: one compare-and-set per point per flush, evaluated inside Redis."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import redis

from naia.domain.errors import TransientError
from naia.sinks.redis.settings import RedisSettings

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
    return {
        str(name): Latest(t, s, "" if v is None else repr(v), state or "", "1" if good else "0")
        for name, t, s, v, state, good in columns
    }


class RedisLatestSink:
    def __init__(self, settings: RedisSettings, client: redis.Redis | None = None) -> None:
        self._settings = settings
        password = settings.password.get_secret_value() if settings.password else None
        self._client = client or redis.Redis(
            host=settings.host, port=settings.port, db=settings.db, password=password
        )
        self._script = self._client.register_script(_SCRIPT)
        self._pending: dict[str, Latest] = {}

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
        try:
            for start in range(0, len(items), _KEYS_PER_CALL):
                self._call(items[start : start + _KEYS_PER_CALL])
        except redis.RedisError as exc:
            raise TransientError(f"Redis update failed: {exc}") from exc

    def _call(self, items: list[tuple[str, Latest]]) -> None:
        keys = [self._settings.key_prefix + point for point, _ in items]
        args: list[str | int] = []
        for _, latest in items:
            args += [latest.ts_us, latest.seq, latest.value, latest.state, latest.good]
        self._script(keys=keys, args=args)

    def get(self, point: str) -> dict[str, str]:
        raw = self._client.hgetall(self._settings.key_prefix + point)
        return {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]

    def close(self) -> None:
        self._client.close()
