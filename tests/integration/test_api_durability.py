"""`naia api` and the CLI as real processes on an embedded DuckDB store (#16 items 7, 8, 13, 14
and the CLI's --idempotency-key): what is acknowledged survives kill -9, a clean stop merges the
WAL, a resumed run reports what it did, bad input is one line and exit 2."""

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import (
    TEST1,
    api_up,
    db_count,
    free_port,
    naia,
    request_data,
    run_naia,
    wait_for,
)

SEED = (
    "--points", "SINUSOID,CDT158,SINUSOIDU",
    "--start", "2026-01-09T00:00:00Z", "--end", "2026-01-10T00:00:00Z", "--chunk", "01:00:00",
)  # fmt: skip
ONE_HOUR = {**TEST1, "pointAddresses": ["SINUSOID"], "endTime": "2026-01-09T01:00:00Z"}


class Api:
    """One `naia api` process on a DuckDB file."""

    def __init__(self, tmp_path: Path, db: Path, env: dict[str, str] | None = None) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.proc = naia("api", "--port", port, "--db", str(db), env=env, log=tmp_path / "api.log")
        wait_for(lambda: api_up(self.url), 30, "the API")

    def post(self, path: str, body: object = None) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, timeout=10)

    def stop(self, sig: signal.Signals) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(30)


def test_a_cancel_answered_200_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "cancel.duckdb"
    slow = {"NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": "30"}  # ~6 s per 180-value chunk
    first = Api(tmp_path, db, slow)
    try:
        request_id = first.post("/api/backfill/start", TEST1).json()["data"]["requestId"]
        wait_for(lambda: request_data(first.url, request_id)["status"] == "Running", 30, "run")
        cancel = first.post(f"/api/backfill/request/{request_id}/cancel")
        assert cancel.status_code == 200, cancel.text
    finally:
        first.stop(signal.SIGKILL)  # while the chunk in flight still sleeps off its tokens
    done_at_kill = db_count(db, "SELECT count(*) FROM naia_checkpoints")

    second = Api(tmp_path, db)  # full speed: a resumed request would finish at once
    try:
        assert request_data(second.url, request_id)["status"] == "Cancelled"
        # the queue is worked in order: once a later request completed, the cancelled one
        # had its turn, and it must not have taken it
        later = second.post("/api/backfill/start", ONE_HOUR).json()["data"]["requestId"]
        wait_for(lambda: request_data(second.url, later)["status"] == "Completed", 30, "later")
        after = request_data(second.url, request_id)
        assert after["status"] == "Cancelled", after
    finally:
        second.stop(signal.SIGTERM)
    assert db_count(db, "SELECT count(*) FROM naia_checkpoints") == done_at_kill + 1


def test_sigterm_merges_the_wal_into_the_store(tmp_path: Path) -> None:
    db = tmp_path / "wal.duckdb"
    wal = Path(f"{db}.wal")
    api = Api(tmp_path, db)
    try:
        request_id = api.post("/api/backfill/start", TEST1).json()["data"]["requestId"]
        wait_for(lambda: request_data(api.url, request_id)["status"] == "Completed", 60, "done")
        assert wal.exists() and wal.stat().st_size > 0  # the run's writes are in the WAL
    finally:
        code = api.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    assert not wal.exists() or wal.stat().st_size == 0, f"WAL left: {wal.stat().st_size} bytes"
    assert db_count(db, "SELECT count(*) FROM point_data") == 4320


def _row(output: str, name: str) -> str:
    match = re.search(rf"│ {name}\s+│ (.+?)\s+│", output)
    assert match is not None, output
    return match.group(1)


def test_resume_reports_the_values_time_and_rate_of_its_own_run(tmp_path: Path) -> None:
    db = tmp_path / "resume.duckdb"
    slow = {"NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": "900"}  # ~0.2 s per chunk
    api = Api(tmp_path, db, slow)
    try:
        request_id = api.post("/api/backfill/start", TEST1).json()["data"]["requestId"]
        wait_for(lambda: request_data(api.url, request_id)["completedChunks"] >= 5, 30, "5")
    finally:
        api.stop(signal.SIGKILL)
    done = db_count(db, "SELECT count(*) FROM naia_checkpoints")
    assert 5 <= done < 24

    result = run_naia("resume", "--db", str(db), env=slow)
    assert result.returncode == 0, result.stdout + result.stderr
    written = (24 - done) * 180
    assert _row(result.stdout, "values written") == f"{written:,}"
    seconds = float(_row(result.stdout, "wall time").removesuffix(" s"))
    assert seconds >= 0.5 * (written - 900) / 900  # paced at 900 values/s (one second's burst)
    rate = float(_row(result.stdout, "rate").removesuffix(" values/s").replace(",", ""))
    assert 0 < rate <= 2 * 900
    assert db_count(db, "SELECT count(*) FROM point_data") == 4320


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--chunk", "99999999999.00:00:00", "chunkSize"),
        ("--chunk", "P99999999999999999999D", "chunkSize"),
        ("--start", "0001-01-01T00:00:00+01:00", "startTime"),
        ("--end", "9999-12-31T23:00:00-01:00", "endTime"),
    ],
)
def test_backfill_with_overflowing_input_exits_2_with_one_line(
    tmp_path: Path, option: str, value: str, field: str
) -> None:
    args = list(SEED)
    args[args.index(option) + 1] = value
    result = run_naia("backfill", *args, "--db", str(tmp_path / "o.duckdb"))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}:"), result.stderr


def test_backfill_with_an_idempotency_key_runs_once(tmp_path: Path) -> None:
    db = str(tmp_path / "key.duckdb")
    first = run_naia("backfill", *SEED, "--idempotency-key", "k1", "--db", db)
    assert first.returncode == 0, first.stderr
    again = run_naia("backfill", *SEED, "--idempotency-key", "k1", "--db", db)
    assert again.returncode == 0, again.stderr
    assert db_count(Path(db), "SELECT count(*) FROM naia_requests") == 1
    ids = {re.search(r"Backfill ([0-9a-f-]{36})", r.stdout).group(1) for r in (first, again)}  # type: ignore[union-attr]
    assert len(ids) == 1
    other = run_naia("backfill", *SEED[:-1], "02:00:00", "--idempotency-key", "k1", "--db", db)
    assert other.returncode == 2 and "Idempotency-Key" in other.stderr
    assert db_count(Path(db), "SELECT count(*) FROM point_data") == 4320


def test_status_reads_the_typed_contract_of_a_running_api(tmp_path: Path) -> None:
    api = Api(tmp_path, tmp_path / "status.duckdb")
    try:
        request_id = api.post("/api/backfill/start", TEST1).json()["data"]["requestId"]
        wait_for(lambda: request_data(api.url, request_id)["status"] == "Completed", 60, "done")
        shown = run_naia("status", "--url", api.url)
    finally:
        api.stop(signal.SIGTERM)
    assert shown.returncode == 0, shown.stderr
    assert request_id[:8] in shown.stdout and "Completed" in shown.stdout
    assert "completed 1  failed 0" in shown.stdout and "values 4,320" in shown.stdout
    gone = run_naia("status", "--url", api.url)
    assert gone.returncode == 2 and "cannot reach the NAIA API" in gone.stdout


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_100_mb_body_is_refused_unread_by_the_real_server(tmp_path: Path) -> None:
    head = b'{"connectorType": "Simulator", "pointAddresses": ['
    piece = b'"SINUSOID",' * 100_000  # 1.1 MB
    api = Api(tmp_path, tmp_path / "big.duckdb")
    try:
        before = _peak_rss_kb(api.proc.pid)
        url = f"{api.url}/api/backfill/start"
        as_json = {"Content-Type": "application/json"}
        whole = head + piece * 91 + b'"CDT158"]}'
        declared = httpx.post(url, content=whole, headers=as_json, timeout=60)
        del whole

        def streamed() -> Iterator[bytes]:
            yield head
            for _ in range(91):
                yield piece
            yield b'"CDT158"]}'

        chunked = httpx.post(url, content=streamed(), headers=as_json, timeout=60)
        grown_mb = (_peak_rss_kb(api.proc.pid) - before) / 1024
        status = httpx.get(f"{api.url}/api/backfill/status", timeout=10).json()["data"]
    finally:
        api.stop(signal.SIGTERM)
    for response in (declared, chunked):
        assert response.status_code == 413, response.text[:200]
        assert response.json()["success"] is False and "max_body_bytes" in response.json()["error"]
    assert status["recentRequests"] == [] and status["activeRequests"] == []
    assert grown_mb < 20, f"the API grew by {grown_mb:.0f} MB"


def test_backfill_through_the_api_with_a_key_runs_once(tmp_path: Path) -> None:
    api = Api(tmp_path, tmp_path / "remote.duckdb")
    try:
        through = ("backfill", "--url", api.url, "--idempotency-key", "remote-1", *SEED)
        first = run_naia(*through)
        again = run_naia(*through)
        other = run_naia(*through[:-1], "02:00:00")
        status = httpx.get(f"{api.url}/api/backfill/status", timeout=10).json()["data"]
    finally:
        api.stop(signal.SIGTERM)
    for result in (first, again):
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Completed" in result.stdout and "4,320" in result.stdout
    ids = {re.search(r"Backfill ([0-9a-f-]{36})", r.stdout).group(1) for r in (first, again)}  # type: ignore[union-attr]
    assert len(ids) == 1
    assert other.returncode == 2 and "Idempotency-Key" in other.stderr
    assert [r["requestId"] for r in status["recentRequests"]] == list(ids)
