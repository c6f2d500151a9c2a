"""Helpers for tests that run NAIA processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

TEST1: dict[str, Any] = {  # the seed's Test 1: 3 points x 1 day, 1-hour chunks = 4,320 values
    "connectorType": "Simulator",
    "pointAddresses": ["SINUSOID", "CDT158", "SINUSOIDU"],
    "startTime": "2026-01-09T00:00:00Z",
    "endTime": "2026-01-10T00:00:00Z",
    "chunkSize": "01:00:00",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def naia(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``naia ARGS`` in the background, its output appended to ``log``."""
    full_env = {**os.environ, **(env or {})}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "naia", *args], env=full_env,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def run_naia(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "naia", *args], env=full_env, text=True,
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_done(client: Any, request_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll a request (HTTP client or TestClient) until it is no longer queued or running."""
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.update(client.get(f"/api/backfill/request/{request_id}").json()["data"])
        return seen["status"] not in ("Queued", "Running")

    wait_for(done, timeout, f"request {request_id} to finish")
    return seen


def api_up(url: str) -> bool:
    return httpx.get(f"{url}/health", timeout=2).status_code == 200


def request_data(url: str, request_id: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{url}/api/backfill/request/{request_id}", timeout=5).json()[
        "data"
    ]
    return data


def db_count(path: Path, sql: str) -> int:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(sql).fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0])
