"""Verify and repair in distributed mode on the real Kafka and QuestDB (API, worker, CLI)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from naia.sinks.questdb.client import execute
from tests.helpers import run_naia, wait_for
from tests.integration.distributed import Slice, request

pytestmark = pytest.mark.services

SEED = ["SINUSOID", "CDT158", "SINUSOIDU"]
BODY = {  # 06:00 chunks across a month end: QuestDB's partition 2026-01 holds windows 0-3
    "connectorType": "Simulator", "pointAddresses": SEED,
    "startTime": "2026-01-31T00:00:00Z", "endTime": "2026-02-02T00:00:00Z",
    "chunkSize": "06:00:00",
}  # fmt: skip
TOTAL = 3 * 2 * 1440


def verified(url: str, request_id: str, repair: bool = False) -> dict[str, Any]:
    suffix = "?repair=true" if repair else ""
    response = httpx.post(f"{url}/api/backfill/request/{request_id}/verify{suffix}", timeout=30)
    assert response.status_code == 202, response.text

    def ended() -> bool:
        data = request(url, request_id)
        v = data["verification"]
        return bool(v) and v["status"] not in ("Running", "Repairing") and data["status"] not in (
            "Queued", "Running",
        )  # fmt: skip

    wait_for(ended, 240, "the verification")
    result: dict[str, Any] = request(url, request_id)["verification"]
    return result


def test_verify_names_lost_windows_and_repair_restores_them(tmp_path: Path) -> None:
    s = Slice(tmp_path, table=f"pd_verify_{int(time.time())}")
    s.drop_table()
    worker = s.start_worker()
    try:
        with s.api(NAIA_ORCHESTRATOR__VERIFY_CATCH_UP_S="90") as url:
            response = httpx.post(f"{url}/api/backfill/start", json=BODY, timeout=30)
            request_id = response.json()["data"]["requestId"]
            wait_for(lambda: request(url, request_id)["status"] == "Completed", 120, "Completed")
            wait_for(lambda: s.count() == TOTAL, 180, f"{TOTAL} rows in QuestDB")
            clean = verified(url, request_id)
            assert clean["status"] == "Verified" and clean["storedEvents"] == TOTAL, clean

            execute(s.questdb, f"ALTER TABLE {s.table} DROP PARTITION LIST '2026-01'")
            wait_for(lambda: s.count() == TOTAL // 2, 60, "the partition dropped")
            found = verified(url, request_id)
            assert found["status"] == "Mismatched"
            named = {(m["point"], m["window"]) for m in found["mismatches"]}
            assert named == {(p, w) for p in SEED for w in range(4)}
            assert all(m["storedCount"] == 0 and m["sourceCount"] == 360
                       for m in found["mismatches"])  # fmt: skip

            mended = verified(url, request_id, repair=True)
            assert mended["status"] == "Verified", mended
            assert mended["repairedChunks"] == [0, 1, 2, 3] and s.count() == TOTAL

            # a row QuestDB holds beyond the source (another key: DEDUP keeps true doubles out)
            row = "('2026-02-01T09:00:00.000000Z', 'CDT158', 7, true)"
            execute(
                s.questdb, f"INSERT INTO {s.table} (ts, source_address, seq, good) VALUES {row}"
            )
            wait_for(lambda: s.count() == TOTAL + 1, 60, "the extra row")
            extra = verified(url, request_id)
            assert [(m["point"], m["window"], m["sourceCount"], m["storedCount"])
                    for m in extra["mismatches"]] == [("CDT158", 5, 360, 361)]  # fmt: skip
        # the CLI, in the foreground, on the same distributed store
        done = run_naia("verify", request_id, env=s.env())
        assert done.returncode == 1, done.stdout + done.stderr  # the extra row stays named
        assert "CDT158  [2026-02-01T06:00:00Z, 2026-02-01T12:00:00Z)  source 360  stored 361" in (
            done.stdout
        )
        assert "Mismatched: 1 of 24 point-windows differ" in done.stdout
    finally:
        worker.terminate()
        worker.wait(30)
        s.drop_table()
