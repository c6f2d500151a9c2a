"""Decode rate of the PI Web API connector (values/s on one core).

Builds a realistic ``/streamsets/recorded`` body: 10 streams × 15,000 values, every TimedValue
with all its fields (~150 B of JSON a value), ~1 % digital/system-state objects, half the
timestamps whole seconds without a fraction and half with 1–7 fractional digits. Then times:

- ``columns``: JSON bytes → numpy/Arrow columns per stream (what the connector does: the
  whole body in one pass in C when the module is built, ``streamset_columns``);
- ``per-value``: the same through the per-value path (msgspec structs, one per value: the
  fallback, and what the connector did before the compiled reader);
- ``batches``: the same plus the RecordBatch of the batch schema (what a page costs in ``read``);
- ``trimmed``: ``batches`` on the body the connector actually asks for (``selectedFields``
  drops UnitsAbbreviation, Name, Path, Links);
- ``parse``: the msgspec parse of every value into structs alone, a yardstick of the machine's
  speed at the moment (docs/performance figures: ~4.2 M values/s on an idle machine of this
  project's kind).

Run: ``PYTHONPATH=src .venv/bin/python bench/bench_piwebapi_decode.py [--runs 9]``
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from naia.domain.schema import point_batch
from naia.domain.timeparse import to_us
from naia.sources.piwebapi.decode import (
    ITEMS,
    STREAMSET,
    Columns,
    columns,
    stream_columns,
    streamset_columns,
)

STATES = ({"Name": "I/O Timeout", "Value": 246, "IsSystem": True},
          {"Name": "Active", "Value": 1, "IsSystem": False},
          {"Name": "Pt Created", "Value": 253, "IsSystem": True})  # fmt: skip


def timestamp(us: int, rng: random.Random) -> str:
    seconds, micro = divmod(us, 1_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if rng.random() < 0.5:
        return text + "Z"
    digits = f"{micro:06d}{rng.randrange(10)}".rstrip("0") or "0"
    return f"{text}.{digits}Z"


def timed_value(us: int, rng: random.Random, full: bool) -> dict[str, Any]:
    state = rng.random() < 0.01
    value: Any = rng.choice(STATES) if state else rng.uniform(-50.0, 250.0)
    item: dict[str, Any] = {"Timestamp": timestamp(us, rng), "Value": value}
    if full:
        item["UnitsAbbreviation"] = "deg C"
    item.update(Good=not state, Questionable=False, Substituted=False, Annotated=False)
    return item


def build_body(streams: int, values: int, full: bool, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    start = to_us(datetime(2024, 1, 1, tzinfo=UTC))
    items = []
    for s in range(streams):
        us = start
        values_list = []
        for _ in range(values):
            us += rng.randrange(1, 120_000_000)
            values_list.append(timed_value(us, rng, full))
        stream: dict[str, Any] = {"WebId": f"F1DPmD1YfakeWebId{s:04d}AAAA", "Items": values_list}
        if full:
            stream.update(
                Name=f"TAG.{s}",
                Path=f"\\\\PISRV1\\TAG.{s}",
                UnitsAbbreviation="deg C",
                Links={},
            )
        items.append(stream)
    body: dict[str, Any] = {"Items": items}
    if full:
        body["Links"] = {}
    return msgspec.json.encode(body)


def parse_only(body: bytes) -> int:
    return sum(len(ITEMS.decode(stream.Items)) for stream in STREAMSET.decode(body).Items)


def page(body: bytes) -> list[Columns]:
    """The connector's way: one pass in C, else msgspec's envelope and each stream's Items."""
    fast = streamset_columns(body)
    if fast is not None:
        return [cols for _, cols in fast]
    return [stream_columns(stream.Items) for stream in STREAMSET.decode(body).Items]


def decode_columns(body: bytes) -> int:
    return sum(len(cols) for cols in page(body))


def decode_per_value(body: bytes) -> int:
    return sum(len(columns(ITEMS.decode(s.Items))) for s in STREAMSET.decode(body).Items)


def decode_batches(body: bytes) -> int:
    total = 0
    for i, c in enumerate(page(body)):
        batch = point_batch(
            f"TAG.{i}", c.ts_us, c.value, c.state, c.good, None,
            c.questionable, c.substituted, c.annotated,
        )  # fmt: skip
        total += batch.num_rows
    return total


def measure(fn: Callable[[bytes], int], body: bytes, runs: int) -> tuple[float, float]:
    """Median values/s over ``runs``: by wall clock, and per CPU-second of this thread (the
    second is steadier on a shared machine: time spent descheduled does not count)."""
    wall, cpu = [], []
    fn(body)  # warm up
    for _ in range(runs):
        gc.collect()
        w0, c0 = time.perf_counter(), time.thread_time()
        n = fn(body)
        c1, w1 = time.thread_time(), time.perf_counter()
        wall.append(n / (w1 - w0))
        cpu.append(n / (c1 - c0))
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--values", type=int, default=15_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    full = build_body(args.streams, args.values, full=True)
    trimmed = build_body(args.streams, args.values, full=False)
    n = args.streams * args.values
    print(f"body: {args.streams} streams x {args.values} values, {len(full) / n:.0f} B/value")
    for name, fn, body in (
        ("columns", decode_columns, full),
        ("per-value", decode_per_value, full),
        ("batches", decode_batches, full),
        ("trimmed", decode_batches, trimmed),
        ("parse", parse_only, full),
    ):
        wall, cpu = measure(fn, body, args.runs)
        print(
            f"{name:9s} {wall / 1e6:5.2f} M values/s wall, {cpu / 1e6:5.2f} M values/CPU-s "
            f"(median of {args.runs})"
        )


if __name__ == "__main__":
    main()
