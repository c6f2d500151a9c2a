"""Issue 17 (b): 1 vs 2 `naia fetch` processes against an emulator slowed to a real PI Web API.

One emulator with ``latency_ms`` / ``values_per_s`` (docs/emulator.md) serves every run, its
pages cached by an unmeasured pass first: the PI server's own CPU is not this machine's to pay
(rendering JSON cold costs the emulator ~1 core per 1.2 M values). Each run: an API in fleet
mode (``orchestrator.fetchers = fleet``), `naia ingest`, and k fetchers on a private slice of the
shared Kafka/QuestDB/Redis. After a warm-up request (which also proves the fetchers hold
their unit partitions) the timed window runs from POST to the last unit settled (GET …/fleet:
``outstandingUnits`` 0); QuestDB must then hold exactly the expected rows.

Why these emulator figures (the PI server, not this 2-core machine, must be the bottleneck):
- ``latency_ms = 100``: one recorded/streamset read over a site network costs a round trip
  (10–50 ms across a WAN) plus PI Web API's and the Data Archive's per-request work (IIS,
  authentication, point lookup, archive seek), commonly 50–100 ms together;
- ``values_per_s = 1_000_000`` per response: PI Web API serialises one request's JSON on one
  core at roughly 1–2 M values/s; the lower end is taken.
With the connector's defaults (10 streams a request, 2 requests in flight per fetcher) and units
of 40 points × 2 hours (4 requests, 2 rounds of 100 ms), a fetcher waits on PI most of the
time: tens of k values/s per fetcher, far below what this machine's fetch/ingest path does
(≥ 0.5 M values/s), so two fetchers should double it. 360 units keep the hash split of units
over the fetchers' partitions near even (a fetcher's share is binomial: ± 2.6 %).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench import datasets, infra, scenarios
from bench.procs import BenchError, Proc, ensure_alive, start, wait_until
from bench.scenarios import Run

LATENCY_MS = 100
VALUES_PER_S = 1_000_000
UNITS_PARTITIONS = 12  # kafka.units_partitions (default)
_ASSIGNED = re.compile(r"(\d+) unit partition\(s\) (assigned|revoked)")


def emulator_env() -> dict[str, str]:
    return {
        "NAIA_EMULATOR__LATENCY_MS": str(LATENCY_MS),
        "NAIA_EMULATOR__VALUES_PER_S": str(VALUES_PER_S),
    }


@dataclass
class Fleet:
    slice: infra.Slice
    api: Proc
    worker: Proc
    fetchers: list[Proc]
    url: str

    @property
    def procs(self) -> list[Proc]:
        return [self.api, self.worker, *self.fetchers]


def _assigned(log: Path) -> int:
    text = log.read_text(errors="replace") if log.exists() else ""
    found = _ASSIGNED.findall(text)
    if not found:
        return 0
    count, what = found[-1]
    return int(count) if what == "assigned" else 0


@contextlib.contextmanager
def fleet(tag: str, fetchers: int, env: dict[str, str]) -> Iterator[Fleet]:
    """API (fleet mode) + `naia ingest` + ``fetchers`` × `naia fetch` on a private slice."""
    work = scenarios.workdir(tag)
    piece = infra.Slice()
    extra_topics = [piece.topic("units"), piece.topic("fleet")]
    full_env = {
        **piece.env(),
        **env,
        "NAIA_ORCHESTRATOR__FETCHERS": "fleet",
        "NAIA_KAFKA__UNITS_TOPIC": extra_topics[0],
        "NAIA_KAFKA__FLEET_TOPIC": extra_topics[1],
        "NAIA_KAFKA__FETCH_GROUP": f"{piece.tag}-fetch",
    }
    port = infra.free_port()
    worker = start("naia ingest", [scenarios.NAIA, "ingest"], work / "ingest.log", full_env)
    api_argv = [scenarios.NAIA, "api", "--mode", "distributed", "--port", str(port)]
    api = start("naia api", api_argv, work / "api.log", full_env)
    procs = [worker, api]
    ok = False
    try:
        url = f"http://127.0.0.1:{port}"
        guard = ensure_alive(*procs)
        wait_until(_healthy(url), 90, "naia api", guard=guard)
        for i in range(fetchers):
            argv = [scenarios.NAIA, "fetch", "--id", f"{piece.tag}-f{i}"]
            procs.append(start(f"naia fetch {i + 1}", argv, work / f"fetch-{i}.log", full_env))
        guard = ensure_alive(*procs)
        logs = [p.log for p in procs[2:]]
        wait_until(
            lambda: (
                sum(_assigned(log) for log in logs) == UNITS_PARTITIONS
                and all(_assigned(log) > 0 for log in logs)
            ),
            120,
            f"{fetchers} fetcher(s) to share the unit partitions",
            interval=0.5,
            guard=guard,
        )
        wait_until(
            lambda: "ingesting" in (work / "ingest.log").read_text(errors="replace"),
            90,
            "naia ingest",
            guard=guard,
        )
        yield Fleet(piece, api, worker, procs[2:], url)
        ok = True
    finally:
        for proc in reversed(procs):
            proc.stop()
        piece.cleanup(extra_topics)
        scenarios._tidy(work, ok)


def _healthy(url: str) -> Any:
    def check() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def fleet_view(url: str, request_id: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/api/backfill/request/{request_id}/fleet", timeout=30)
    if response.status_code != 200:
        raise BenchError(f"GET …/fleet: {response.status_code} {response.text[:300]}")
    data: dict[str, Any] = response.json()["data"]
    return data


def post(f: Fleet, names: list[str], start_at: datetime, end_at: datetime, chunk: str) -> str:
    body = {
        "connectorType": "PIWebApi",
        "pointAddresses": names,
        "startTime": datasets.iso(start_at),
        "endTime": datasets.iso(end_at),
        "chunkSize": chunk,
    }
    response = httpx.post(f"{f.url}/api/backfill/start", json=body, timeout=60)
    if response.status_code != 200:
        raise BenchError(f"POST /api/backfill/start: {response.status_code} {response.text}")
    return str(response.json()["data"]["requestId"])


def _settled(f: Fleet, request_id: str) -> bool:
    view = fleet_view(f.url, request_id)
    return bool(view["dispatchedUnits"]) and view["outstandingUnits"] == 0


def run(
    tag: str,
    fetchers: int,
    emulator: tuple[str, Proc],
    names: list[str],
    span: tuple[datetime, datetime],
    chunk: str,
    expected: int,
    timeout: float,
) -> Run:
    """One measured run with ``fetchers`` fetchers against the (warm) slowed ``emulator``."""
    emu_url, emu = emulator
    env = scenarios.piwebapi_env(emu_url)
    with fleet(tag, fetchers, env) as f:
        guard = ensure_alive(*f.procs, emu)
        warm_names = names[:10]
        warm_span = datasets.day("2022-12-01"), datasets.day("2022-12-02")
        warm = datasets.expected_count(warm_names, *warm_span, realistic=True)
        warm_id = post(f, warm_names, *warm_span, "06:00:00")
        wait_until(lambda: _settled(f, warm_id), 120, "the warm-up units", 0.25, guard)
        wait_until(lambda: infra.qdb_count(f.slice.table) >= warm, 120, "warm-up rows", 0.2, guard)
        for proc in (*f.procs, emu):
            proc.mark()
        t0 = time.monotonic()
        request_id = post(f, names, *span, chunk)
        t1 = wait_until(lambda: _settled(f, request_id), timeout, "all units", 0.25, guard)
        usages = [p.usage() for p in (*f.procs, emu)]
        target = warm + expected
        t2 = wait_until(
            lambda: infra.qdb_count(f.slice.table) >= target,
            timeout,
            f"{target:,} rows in QuestDB",
            0.25,
            guard,
        )
        time.sleep(1.0)  # nothing may arrive beyond the exact count (DEDUP UPSERT KEYS)
        final = infra.qdb_count(f.slice.table)
        if final != target:
            raise BenchError(f"QuestDB holds {final:,} rows, expected exactly {target:,}")
        view = fleet_view(f.url, request_id)
    per_fetcher = {
        fe["fetcher"]: {"units": fe["units"], "values": fe["values"], "seconds": fe["seconds"]}
        for fe in view["fetchers"]
    }
    extra: dict[str, Any] = {
        "fetchers": fetchers,
        "units": view["dispatchedUnits"],
        "per_fetcher": per_fetcher,
        "until_questdb_s": round(t2 - t0, 2),
        "emulator": {"latency_ms": LATENCY_MS, "values_per_s": VALUES_PER_S},
    }
    return Run(expected, t1 - t0, usages, extra)
