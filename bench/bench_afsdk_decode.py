"""Decode rate of the PI AF SDK connector: AFValues → Arrow, through pythonnet on Mono.

The AFValues come from the compiled AF SDK stand-in (``make standin``): the Simulator's realistic
points (irregular µs timestamps, ~1 % same-timestamp pairs, ~0.5 % system states), built in .NET,
so only the crossing into Python is timed. Three ways, each to the same Arrow batch per AFValues:

- ``bulk``: the connector's path (``decode.columns`` with the helper NaiaAfSdkBulk.cs):
  GetValueArrays, one .NET call to primitive arrays, one copy each into numpy;
- ``per-value``: the connector's fallback: GetValueArrays, then every element through pythonnet;
- ``piconnect``: a loop written as PIconnect reads recorded values (``PIData.recorded_values``:
  for each AFValue, ``Timestamp.UtcTime`` → a Python datetime from its fields, and ``Value``),
  then the lists to Arrow. PIconnect itself does not run here: it loads the AF SDK from a
  Windows PI AF Client install.

Run: ``PYTHONPATH=src .venv/bin/python -m bench.bench_afsdk_decode [--values 1000000] [--runs 5]
[--json FILE]`` after ``make standin``; ``make bench`` runs it as its section ``afsdk``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from naia.domain.schema import point_batch
from naia.sources.afsdk import AfSdk, AfSdkSettings, load_sdk
from naia.sources.afsdk.decode import columns

ROOT = Path(__file__).resolve().parents[1]
STANDIN_DIR = ROOT / "var" / "clr"
SERVER = "NAIA-SIM-REALISTIC"
POINTS = ("SINUSOID", "CDT158", "BA:TEMP.1", "SIM.7")
START_US = 1_704_067_200_000_000  # 2024-01-01
VALUES_PER_DAY = 1_440 * 0.9  # one a minute, 10 % gaps, 1 % pairs: about


def build(values: int) -> list[Any]:
    """AFValues of POINTS, about ``values`` in all, built by the stand-in in .NET."""
    archive = importlib.import_module("Naia.StandIn").Archive
    days = max(1, round(values / len(POINTS) / VALUES_PER_DAY))
    end_us = START_US + days * 86_400_000_000
    return [archive.Build(SERVER, point, START_US, end_us) for point in POINTS]


def arrow_bulk(sdk: AfSdk) -> Callable[[Sequence[Any]], int]:
    def run(results: Sequence[Any]) -> int:
        total = 0
        for point, afvalues in zip(POINTS, results, strict=True):
            c = columns(afvalues, sdk.bulk)
            batch = point_batch(
                point, c.ts_us, c.value, c.state, c.good, None,
                c.questionable, c.substituted, c.annotated,
            )  # fmt: skip
            total += batch.num_rows
        return total

    return run


def piconnect_way(results: Sequence[Any]) -> int:
    """Per AFValue: ``Timestamp.UtcTime`` to a datetime from its fields (ms resolution, as
    PIconnect's ``timestamp_to_index``) and ``Value``; then the lists to Arrow."""
    total = 0
    for afvalues in results:
        timestamps: list[datetime] = []
        values: list[Any] = []
        for value in afvalues:
            t = value.Timestamp.UtcTime
            timestamps.append(
                datetime(
                    t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Second, t.Millisecond * 1000,
                    tzinfo=UTC,
                )
            )  # fmt: skip
            values.append(value.Value)
        numbers = [v if isinstance(v, float) else None for v in values]
        table = pa.table({"ts": pa.array(timestamps), "value": pa.array(numbers, pa.float64())})
        total += table.num_rows
    return total


def measure(
    fn: Callable[[Sequence[Any]], int], results: Sequence[Any], runs: int
) -> dict[str, Any]:
    """Median values/s over ``runs`` (after a warm-up): by wall clock and per CPU-second."""
    fn(results)
    wall, cpu = [], []
    n = 0
    for _ in range(runs):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        n = fn(results)
        c1, w1 = time.process_time(), time.perf_counter()
        wall.append(n / (w1 - w0))
        cpu.append(n / (c1 - c0))
    return {"values": n, "values_per_s": round(statistics.median(wall)),
            "values_per_cpu_s": round(statistics.median(cpu)), "runs": runs}  # fmt: skip


def run(values: int, runs: int) -> dict[str, Any]:
    sdk = load_sdk(AfSdkSettings(assembly_dir=STANDIN_DIR))
    if sdk.bulk is None:
        raise SystemExit("the bulk helper did not compile: see the log above")
    results = build(values)
    per_value = dataclasses.replace(sdk, bulk=None)
    ways = {
        "bulk": measure(arrow_bulk(sdk), results, runs),
        "per-value": measure(arrow_bulk(per_value), results, max(1, runs // 2)),
        "piconnect": measure(piconnect_way, results, max(1, runs // 2)),
    }
    bulk = ways["bulk"]["values_per_s"]
    return {
        "data": f"{ways['bulk']['values']:,} values of {len(POINTS)} realistic points "
        f"({SERVER}), AFValues built in .NET by the stand-in",
        "ways": ways,
        "ratio_to_per_value": round(bulk / ways["per-value"]["values_per_s"], 1),
        "ratio_to_piconnect": round(bulk / ways["piconnect"]["values_per_s"], 1),
        "runtime": sdk.description,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.values, args.runs)
    for name, way in result["ways"].items():
        print(
            f"{name:10s} {way['values_per_s'] / 1e6:6.3f} M values/s wall, "
            f"{way['values_per_cpu_s'] / 1e6:6.3f} M values/CPU-s (median of {way['runs']})"
        )
    print(
        f"bulk ÷ per-value {result['ratio_to_per_value']}×, "
        f"bulk ÷ PIconnect's way {result['ratio_to_piconnect']}×  ({result['data']})"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
