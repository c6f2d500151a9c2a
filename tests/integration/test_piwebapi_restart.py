"""The PI Web API server restarts in the middle of a `naia backfill`: the command rides it out.

Kill -9 of the emulator mid-run breaks the connector's kept-alive connections and refuses new ones
until it is back on the same port; the HTTP retries (and, past them, the chunk's retries) carry the
backfill through, and DuckDB ends with exactly the Simulator's rows, none twice.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx

from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from tests.contract.source_contract import read_table
from tests.helpers import free_port, naia, wait_for

POINTS = [f"SIM.{i}" for i in range(12)]
START, END = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)


def _emulator(port: int, log: Path) -> subprocess.Popen[bytes]:
    process = naia(
        "emulator", "--port", str(port), log=log,
        env={"NAIA_EMULATOR__LATENCY_MS": "60"},  # a run of several seconds: room to kill it
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/piwebapi/system"
    wait_for(lambda: httpx.get(url, timeout=2).status_code == 200, 30, "the emulator")
    return process


def test_a_backfill_rides_out_a_pi_web_api_restart(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "restart.duckdb"
    emulator = _emulator(port, tmp_path / "emulator.log")
    env = {
        "NAIA_PIWEBAPI__BASE_URL": f"http://127.0.0.1:{port}/piwebapi",
        "NAIA_PIWEBAPI__DATA_ARCHIVE": "NAIA-PI",
        "NAIA_PIWEBAPI__PAGE_SIZE": "200",  # many round trips a chunk
        "NAIA_PIWEBAPI__RETRIES__BACKOFF_BASE_S": "0.2",
        "COLUMNS": "160",
    }
    argv = [
        sys.executable, "-m", "naia", "backfill", "--connector", "PIWebApi",
        "--points", ",".join(POINTS), "--start", "2026-01-05T00:00:00Z",
        "--end", "2026-01-12T00:00:00Z", "--chunk", "06:00:00", "--db", str(db),
    ]  # fmt: skip
    log = tmp_path / "backfill.log"
    with log.open("wb") as out:
        backfill = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=out)
    try:
        time.sleep(4.0)
        assert backfill.poll() is None, "the backfill ended before the restart: slow it down"
        emulator.send_signal(signal.SIGKILL)
        emulator.wait(30)
        time.sleep(2.0)  # refused meanwhile
        emulator = _emulator(port, tmp_path / "emulator.log")
        code = backfill.wait(300)
    finally:
        if backfill.poll() is None:
            backfill.kill()
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(30)
    output = log.read_text(errors="replace")
    assert code == 0, output[-3000:]
    retries = re.search(r"retries\s*│\s*(\d+)", output)
    assert retries is not None and int(retries[1]) > 0, output[-2000:]  # the outage was met
    # told once when it started and once when it ended, not once per attempt
    client = [line for line in output.splitlines() if "naia.sources.piwebapi.client" in line]
    assert 2 <= len(client) <= 4 and "answers again" in client[-1], client  # was 13 lines
    expected = read_table(
        SimulatorSource(SimulatorSettings(defaults=REALISTIC)), POINTS, START, END
    )
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored, keys = con.execute(
            "SELECT count(*), count(DISTINCT (ts, source_address, seq)) FROM point_data"
        ).fetchone() or (0, 0)
    finally:
        con.close()
    assert stored == keys == expected.num_rows
