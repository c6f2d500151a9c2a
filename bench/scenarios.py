"""One measured run of each scenario, with NAIA as real processes (`.venv/bin/naia ...`)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench import datasets, infra
from bench.procs import (
    BenchError,
    Proc,
    Usage,
    cpu_seconds,
    ensure_alive,
    start,
    thread_cpu,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
NAIA = str(BIN / "naia")
PYTHON = str(BIN / "python")
WORK = ROOT / "var" / "bench" / "work"
EMULATOR_SERVER = "NAIA-PI"
EMULATOR_CACHE_BYTES = 4 * 1024**3  # every page of a run stays cached: later runs read warm pages
_ENGINE_WALL = re.compile(r"wall time\s*\S\s*([0-9.,]+)\s*s")


@dataclass
class Run:
    """One measured run: values moved, wall seconds, and each process's cost."""

    values: int
    wall_s: float
    usages: list[Usage]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.values / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "wall_s": round(self.wall_s, 3),
            "values_per_s": round(self.rate),
            "processes": {
                u.name: {
                    "cpu_s": round(u.cpu_s, 2),
                    "cpu_s_per_million": round(u.per_million(self.values), 3),
                    "peak_rss_mb": round(u.peak_rss_mb, 1),
                }
                for u in self.usages
            },
            **self.extra,
        }


def _tidy(work: Path, ok: bool) -> None:
    """Delete a run's work folder, unless the run failed: then its logs stay for a look."""
    if ok:
        shutil.rmtree(work, ignore_errors=True)


def workdir(name: str) -> Path:
    path = WORK / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# --- embedded: naia backfill → DuckDB -------------------------------------------------------


def duckdb_count(path: Path) -> int:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM point_data").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def backfill_argv(
    connector: str,
    names: list[str],
    start_at: datetime,
    end_at: datetime,
    db: Path,
    chunk: str | None,
) -> list[str]:
    argv = [
        NAIA,
        "backfill",
        "--connector",
        connector,
        "--points",
        ",".join(names),
        "--start",
        datasets.iso(start_at),
        "--end",
        datasets.iso(end_at),
        "--db",
        str(db),
    ]
    return [*argv, "--chunk", chunk] if chunk else argv


def embedded(
    connector: str,
    names: list[str],
    start_at: datetime,
    end_at: datetime,
    expected: int,
    tag: str,
    *,
    chunk: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    side: list[Proc] | None = None,
) -> Run:
    """`naia backfill` from process start to exit; the DuckDB count must equal ``expected``."""
    work = workdir(tag)
    db = work / "bench.duckdb"
    side = side or []
    for other in side:
        other.mark()
    proc = start(
        "naia backfill",
        backfill_argv(connector, names, start_at, end_at, db, chunk),
        work / "backfill.log",
        {"COLUMNS": "120", **(env or {})},
    )
    code = proc.wait(timeout)
    wall = time.monotonic() - proc.started_at
    if code != 0:
        raise BenchError(
            f"naia backfill exited {code}: {(work / 'backfill.log').read_text()[-2000:]}"
        )
    count = duckdb_count(db)
    if count != expected:
        raise BenchError(f"{tag}: DuckDB holds {count:,} values, expected {expected:,}")
    engine = _ENGINE_WALL.search((work / "backfill.log").read_text(errors="replace"))
    engine_wall = float(engine[1].replace(",", "")) if engine else None
    extra: dict[str, Any] = {"db_mb": round(_size(db) / 1e6, 1)}
    if engine_wall:
        extra["engine_wall_s"] = engine_wall
        extra["engine_values_per_s"] = round(count / engine_wall)
    shutil.rmtree(work, ignore_errors=True)
    return Run(count, wall, [proc.usage(), *(p.usage() for p in side)], extra)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


# --- the PI Web API emulator -----------------------------------------------------------------


def emulator_argv() -> list[str]:
    """`naia emulator` when the CLI mounts it, else the same Typer app through python -c."""
    probe = subprocess.run(
        [NAIA, "emulator", "--help"], capture_output=True, timeout=60, check=False
    )
    if probe.returncode == 0:
        return [NAIA, "emulator"]
    return [PYTHON, "-c", "from naia.cli.emulator import app; app()"]


@contextlib.contextmanager
def emulator(tag: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Proc]]:
    """A PI Web API emulator process on a free loopback port: (base URL, process); ``env``
    adds emulator settings (``NAIA_EMULATOR__…``)."""
    port = infra.free_port()
    argv = [
        *emulator_argv(),
        "--port",
        str(port),
        "--server-name",
        EMULATOR_SERVER,
        "--log-level",
        "warning",
    ]
    settings = {"NAIA_EMULATOR__CACHE_BYTES": str(EMULATOR_CACHE_BYTES), **(env or {})}
    proc = start("emulator", argv, WORK / f"{tag}-emulator.log", settings)
    url = f"http://127.0.0.1:{port}/piwebapi"

    def up() -> bool:
        return httpx.get(f"{url}/system", timeout=2).status_code == 200

    try:
        wait_until(_quiet(up), 60, "the emulator", guard=ensure_alive(proc))
        yield url, proc
    finally:
        proc.stop()


def _quiet(predicate: Any) -> Any:
    def wrapped() -> bool:
        try:
            return bool(predicate())
        except httpx.HTTPError:
            return False

    return wrapped


def piwebapi_env(url: str) -> dict[str, str]:
    return {"NAIA_PIWEBAPI__BASE_URL": url, "NAIA_PIWEBAPI__DATA_ARCHIVE": EMULATOR_SERVER}


# --- distributed: naia api + naia ingest → Kafka → QuestDB + Redis ---------------------------


@dataclass
class Distributed:
    """`naia ingest` + `naia api --mode distributed` on a private slice."""

    slice: infra.Slice
    api: Proc
    worker: Proc
    url: str


@contextlib.contextmanager
def distributed(tag: str, env: dict[str, str] | None = None) -> Iterator[Distributed]:
    work = workdir(tag)
    piece = infra.Slice()
    full_env = {**piece.env(), **(env or {})}
    port = infra.free_port()
    worker = start("naia ingest", [NAIA, "ingest"], work / "ingest.log", full_env)
    api = start(
        "naia api",
        [NAIA, "api", "--mode", "distributed", "--port", str(port)],
        work / "api.log",
        full_env,
    )
    url = f"http://127.0.0.1:{port}"
    ok = False
    try:
        guard = ensure_alive(api, worker)
        wait_until(
            _quiet(lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200),
            90,
            "naia api",
            guard=guard,
        )
        wait_until(
            lambda: "ingesting" in (work / "ingest.log").read_text(errors="replace"),
            90,
            "naia ingest",
            guard=guard,
        )
        yield Distributed(piece, api, worker, url)
        ok = True
    finally:
        api.stop()
        worker.stop()
        piece.cleanup()
        _tidy(work, ok)


@dataclass(frozen=True)
class ServiceCpu:
    """The services' CPU seconds (QuestDB's also per thread pool) at a start point."""

    pids: dict[str, int]
    start: dict[str, float]
    questdb_pools: dict[str, float]

    @classmethod
    def now(cls) -> ServiceCpu:
        pids = infra.service_pids()
        start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        return cls(pids, start, thread_cpu(pids["questdb"]))

    def used(self) -> dict[str, Any]:
        """CPU seconds since the start point: per service, and QuestDB's eight busiest pools."""
        out: dict[str, Any] = {
            f"{name} cpu_s": round(cpu_seconds(pid) - self.start[name], 1)
            for name, pid in self.pids.items()
        }
        pools = thread_cpu(self.pids["questdb"])
        used = {k: round(v - self.questdb_pools.get(k, 0.0), 1) for k, v in pools.items()}
        out["questdb threads cpu_s"] = dict(sorted(used.items(), key=lambda kv: -kv[1])[:8])
        return out


STATUS_EVERY_S = 10.0  # each GET of a request makes the API count rows in QuestDB: keep it rare
_STATS = re.compile(r"WorkerStats\(messages=(\d+), values=(\d+), dead_letters=\d+, commits=(\d+)")


def worker_cycles(worker: Proc) -> dict[str, int]:
    """Mean rows and messages per flush/commit cycle, from the worker's last stats log line."""
    found = _STATS.findall(worker.log.read_text(errors="replace"))
    if not found:
        return {}
    messages, values, commits = (int(x) for x in found[-1])
    if not commits:
        return {}
    return {
        "worker_rows_per_commit": values // commits,
        "worker_messages_per_commit": messages // commits,
    }


def post(url: str, connector: str, names: list[str], start_at: datetime, end_at: datetime) -> str:
    body = {
        "connectorType": connector,
        "pointAddresses": names,
        "startTime": datasets.iso(start_at),
        "endTime": datasets.iso(end_at),
    }
    response = httpx.post(f"{url}/api/backfill/start", json=body, timeout=60)
    if response.status_code != 200:
        raise BenchError(f"POST /api/backfill/start: {response.status_code} {response.text}")
    return str(response.json()["data"]["requestId"])


def request_status(url: str, request_id: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/api/backfill/request/{request_id}", timeout=30)
    data: dict[str, Any] = response.json()["data"]
    return data


def end_to_end(
    d: Distributed,
    connector: str,
    names: list[str],
    start_at: datetime,
    end_at: datetime,
    expected: int,
    timeout: float,
    side: list[Proc] | None = None,
) -> Run:
    """Warm up (one small request), then time POST → `SELECT count()` reaching the total."""
    side = side or []
    warm_names = names[:10]
    warm_start, warm_end = datasets.day("2022-12-01"), datasets.day("2022-12-02")
    realistic = connector == "PIWebApi"
    warm = datasets.expected_count(warm_names, warm_start, warm_end, realistic)
    guard = ensure_alive(d.api, d.worker, *side)
    post(d.url, connector, warm_names, warm_start, warm_end)
    wait_until(
        lambda: infra.qdb_count(d.slice.table) >= warm,
        120,
        "the warm-up rows",
        interval=0.2,
        guard=guard,
    )
    target = warm + expected
    services = ServiceCpu.now()
    for proc in (d.api, d.worker, *side):
        proc.mark()
    t0 = time.monotonic()
    request_id = post(d.url, connector, names, start_at, end_at)
    last_check = [0.0]

    def check() -> None:
        guard()
        now = time.monotonic()
        if now - last_check[0] < STATUS_EVERY_S:
            return
        last_check[0] = now
        status = request_status(d.url, request_id)
        if status["status"] in ("Failed", "Cancelled"):
            raise BenchError(f"request {request_id} ended {status['status']}: {status}")

    t1 = wait_until(
        lambda: infra.qdb_count(d.slice.table) >= target,
        timeout,
        f"{target:,} rows in QuestDB",
        interval=0.25,
        guard=check,
    )
    usages = [d.api.usage(), d.worker.usage(), *(p.usage() for p in side)]
    svc = services.used()
    time.sleep(1.0)  # nothing may arrive beyond the exact count (DEDUP UPSERT KEYS)
    final = infra.qdb_count(d.slice.table)
    if final != target:
        raise BenchError(f"QuestDB holds {final:,} rows, expected exactly {target:,}")
    extra: dict[str, Any] = {"rows_in_questdb": final - warm, **svc, **worker_cycles(d.worker)}
    status = request_status(d.url, request_id)
    if status.get("startedAt") and status.get("completedAt"):
        began, ended = (datetime.fromisoformat(status[k]) for k in ("startedAt", "completedAt"))
        extra["published_s"] = round((ended - began).total_seconds(), 2)
    return Run(expected, t1 - t0, usages, extra)


# --- worker vs peer on the same Kafka data ---------------------------------------------------


def ingest_ours(topic: str, expected: int, tag: str) -> Run:
    """`naia ingest` from an existing Arrow topic into a fresh table, until the count is reached."""
    work = workdir(tag)
    piece = infra.Slice()
    env = {**piece.env(), "NAIA_KAFKA__BACKFILL_TOPIC": topic}
    worker = start("naia ingest", [NAIA, "ingest"], work / "ingest.log", env)
    ok = False
    try:
        guard = ensure_alive(worker)
        t0 = wait_until(
            lambda: "ingesting" in (work / "ingest.log").read_text(errors="replace"),
            90,
            "naia ingest",
            interval=0.02,
            guard=guard,
        )
        worker.mark()
        run = _until_count(worker, piece.table, expected, t0, guard)
        worker.stop()
        run.extra.update(worker_cycles(worker))
        ok = True
        return run
    finally:
        worker.stop()
        piece.cleanup()
        _tidy(work, ok)


def ingest_peer(topic: str, expected: int, tag: str) -> Run:
    """The QuestDB Python client row by row from the JSON topic into a fresh table."""
    work = workdir(tag)
    piece = infra.Slice()
    infra.create_table(piece.table)
    argv = [PYTHON, "-m", "bench.peer_ilp_rows", topic, piece.table, f"{piece.tag}-peer"]
    peer = start("peer (questdb client rows)", argv, work / "peer.log", {"PYTHONPATH": str(ROOT)})
    ok = False
    try:
        guard = ensure_alive(peer)
        t0 = wait_until(
            lambda: "ready" in (work / "peer.log").read_text(errors="replace"),
            90,
            "the peer",
            interval=0.02,
            guard=guard,
        )
        peer.mark()
        run = _until_count(peer, piece.table, expected, t0, guard)
        ok = True
        return run
    finally:
        peer.stop()
        piece.cleanup()
        _tidy(work, ok)


def _until_count(proc: Proc, table: str, expected: int, t0: float, guard: Any) -> Run:
    services = ServiceCpu.now()
    t1 = wait_until(
        lambda: infra.qdb_count(table) >= expected,
        900,
        f"{expected:,} rows in {table}",
        interval=0.2,
        guard=guard,
    )
    usage = proc.usage()
    extra = services.used()
    time.sleep(0.5)
    final = infra.qdb_count(table)
    if final != expected:
        raise BenchError(f"{table} holds {final:,} rows, expected exactly {expected:,}")
    return Run(expected, t1 - t0, [usage], extra)


# --- fetch: our connector vs the published client -------------------------------------------


def fetch(
    kind: str,
    url: str,
    names: list[str],
    start_at: datetime,
    end_at: datetime,
    expected: int,
    tag: str,
    emu: Proc,
    peers_python: Path,
    page: int,
) -> Run:
    """One read of names × range by NAIA's connector ("ours") or the published client ("peer")."""
    work = workdir(tag)
    args = [url, EMULATOR_SERVER, ",".join(names), datasets.iso(start_at), datasets.iso(end_at)]
    if kind == "ours":
        argv, env = [PYTHON, "-m", "bench.fetch_ours", *args], {"PYTHONPATH": str(ROOT)}
        name = "naia PiWebApiSource"
    else:
        argv, env = (
            [str(peers_python), str(ROOT / "bench" / "peer_pidevclub.py"), *args, str(page)],
            {},
        )
        name = "osisoft-pidevclub-piwebapi"
    emu.mark()
    result = _child_result(name, argv, work / "fetch.log", env, expected)
    usage = Usage(name, result["cpu_s"], result["peak_rss_mb"])
    shutil.rmtree(work, ignore_errors=True)
    return Run(expected, result["wall_s"], [usage, emu.usage()])


def floor(
    url: str, names: list[str], start_at: datetime, end_at: datetime, expected: int, tag: str
) -> dict[str, float]:
    """CPU s of each part of scenario 2's command measured alone (bench/floor_ours.py), and
    the values it moved."""
    work = workdir(tag)
    args = [url, EMULATOR_SERVER, ",".join(names), datasets.iso(start_at), datasets.iso(end_at)]
    argv = [PYTHON, "-m", "bench.floor_ours", *args, str(work / "floor.duckdb")]
    env = {"PYTHONPATH": str(ROOT)}
    result = _child_result("naia floor", argv, work / "floor.log", env, expected)
    shutil.rmtree(work, ignore_errors=True)
    return {"values": float(expected), **{k: float(v) for k, v in result["cpu_s"].items()}}


def _child_result(
    name: str, argv: list[str], log: Path, env: dict[str, str], expected: int
) -> dict[str, Any]:
    """Run a child that prints one JSON line last, with the ``values`` it moved; check them."""
    proc = start(name, argv, log, env)
    code = proc.wait(900)
    text = log.read_text(errors="replace")
    if code != 0:
        raise BenchError(f"{name} exited {code}: {text[-2000:]}")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    if result["values"] != expected:
        raise BenchError(f"{name} moved {result['values']:,} values, expected {expected:,}")
    return result


def python_version(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return out.stdout.strip() or sys.version.split()[0]


# --- verification: naia verify after a backfill, the cost of one against the other ----------

_VERIFIED = re.compile(r"Verified: 0 of ([0-9,]+) point-windows differ \(source ([0-9,]+) events")
_REQUESTS = re.compile(r"source requests: ([0-9,]+)")


def _request_id(db: Path) -> str:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT request_id FROM naia_requests").fetchone()
    finally:
        con.close()
    if row is None:
        raise BenchError(f"no request in {db}")
    return str(row[0])


def backfill_then_verify(
    connector: str,
    names: list[str],
    start_at: datetime,
    end_at: datetime,
    expected: int,
    tag: str,
    *,
    env: dict[str, str] | None = None,
    side: list[Proc] | None = None,
    timeout: float = 1800,
) -> tuple[Run, Run]:
    """`naia backfill`, then `naia verify` of its request on the same DuckDB file: both timed
    from process start to exit; the verification must find every window equal."""
    work = workdir(tag)
    db = work / "bench.duckdb"
    env = {"COLUMNS": "200", **(env or {})}
    side = side or []
    for other in side:
        other.mark()
    fill = start("naia backfill", backfill_argv(connector, names, start_at, end_at, db, None),
                 work / "backfill.log", env)  # fmt: skip
    if fill.wait(timeout) != 0:
        raise BenchError(f"naia backfill exited: {(work / 'backfill.log').read_text()[-2000:]}")
    fill_run = Run(expected, time.monotonic() - fill.started_at,
                   [fill.usage(), *(p.usage() for p in side)])  # fmt: skip
    for other in side:
        other.mark()
    argv = [NAIA, "verify", _request_id(db), "--db", str(db)]
    check = start("naia verify", argv, work / "verify.log", env)
    code = check.wait(timeout)
    wall = time.monotonic() - check.started_at
    text = (work / "verify.log").read_text(errors="replace")
    found = _VERIFIED.search(text)
    if code != 0 or found is None:
        raise BenchError(f"naia verify exited {code}: {text[-2000:]}")
    events = int(found[2].replace(",", ""))
    if events != expected:
        raise BenchError(f"{tag}: the source counted {events:,} events, expected {expected:,}")
    requests = _REQUESTS.search(text)
    extra: dict[str, Any] = {
        "point_windows": int(found[1].replace(",", "")),
        "source_requests": int(requests[1].replace(",", "")) if requests else 0,
    }
    shutil.rmtree(work, ignore_errors=True)
    return fill_run, Run(events, wall, [check.usage(), *(p.usage() for p in side)], extra)


def peer_command(
    url: str,
    names: list[str],
    start_at: datetime,
    end_at: datetime,
    expected: int,
    tag: str,
    emu: Proc,
    peers_python: Path,
    page: int,
) -> Run:
    """The published client's paging loop as a new user runs it: from starting its process to
    its exit (interpreter start, imports, WebId lookups and every page), like ``embedded``
    times ``naia backfill``; CPU is its whole life (``wait4`` rusage)."""
    work = workdir(tag)
    args = [url, EMULATOR_SERVER, ",".join(names), datasets.iso(start_at), datasets.iso(end_at)]
    argv = [str(peers_python), str(ROOT / "bench" / "peer_pidevclub.py"), *args, str(page)]
    emu.mark()
    proc = start("osisoft-pidevclub-piwebapi", argv, work / "peer.log")
    code = proc.wait(1800)
    wall = time.monotonic() - proc.started_at
    text = (work / "peer.log").read_text(errors="replace")
    if code != 0:
        raise BenchError(f"the published client exited {code}: {text[-2000:]}")
    result = json.loads(text.strip().splitlines()[-1])
    if result["values"] != expected:
        raise BenchError(f"the published client read {result['values']:,}, expected {expected:,}")
    shutil.rmtree(work, ignore_errors=True)
    return Run(expected, wall, [proc.usage(), emu.usage()], {"read_wall_s": result["wall_s"]})
