"""Serving-rate benchmark: streamset reads of 10 streams × 10,000 values over real HTTP.

``python -m bench.emulator_serving`` (from the repository root), or
``BENCH_ONLY=emulator make bench``, starts the emulator (default settings: REALISTIC data) in a
subprocess on a free loopback port, reads with httpx, and prints values/s: by wall clock (client
and server on separate cores) and per second of server CPU (the "one core" figure). "cold" reads a
new range every round (nothing cached); "warm" repeats one range (pages come from the cache).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from naia.emulator.webid import b64

DAY_S = 86_400


@dataclass(frozen=True)
class Result:
    mode: str
    values: int
    wall_s: float
    server_cpu_s: float

    def line(self) -> str:
        wall = self.values / self.wall_s / 1e6
        cpu = self.values / self.server_cpu_s / 1e6 if self.server_cpu_s else float("inf")
        return (
            f"{self.mode}: {self.values:,} values in {self.wall_s:.2f} s wall "
            f"= {wall:.2f} M values/s; server CPU {self.server_cpu_s:.2f} s = {cpu:.2f} M values/s"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(port: int) -> subprocess.Popen[bytes]:
    code = (
        "from naia.emulator import EmulatorSettings, serve;"
        f"serve(EmulatorSettings(), port={port}, log_level='warning')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/piwebapi/system", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the emulator did not start")


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _read(client: httpx.Client, web_ids: list[str], start_day: int, count: int) -> int:
    start, end = (_iso(1_672_531_200 + (start_day + d) * DAY_S) for d in (0, 10))
    params: list[tuple[str, str | int | float | bool | None]] = [("webId", w) for w in web_ids]
    params += [("startTime", start), ("endTime", end), ("maxCount", count)]
    response = client.get("/streamsets/recorded", params=params)
    response.raise_for_status()
    return response.content.count(b'"Timestamp"')


def run(streams: int, count: int, rounds: int, port: int) -> list[Result]:
    proc = _start(port)
    try:
        web_ids = ["P1DP" + b64(f"NAIA-PI\\SIM.{i}".encode()) for i in range(1, streams + 1)]
        url = f"http://127.0.0.1:{port}/piwebapi"
        results = []
        with httpx.Client(base_url=url, timeout=120) as client:
            _read(client, web_ids, 0, 10)  # warm up imports and tables
            for mode in ("cold", "warm"):
                cpu0, t0, values = _cpu_seconds(proc.pid), time.perf_counter(), 0
                for r in range(rounds):
                    values += _read(client, web_ids, 10 * (r + 1) if mode == "cold" else 0, count)
                wall = time.perf_counter() - t0
                results.append(Result(mode, values, wall, _cpu_seconds(proc.pid) - cpu0))
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    for result in run(args.streams, args.count, args.rounds, args.port or _free_port()):
        print(result.line())


if __name__ == "__main__":
    main()
