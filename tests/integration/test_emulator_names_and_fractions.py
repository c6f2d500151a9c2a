"""Issue 14 items 4 and 5 end to end, over real HTTP.

* 100-ns timestamps: the connector keeps every event distinct (same-microsecond events, page
  boundaries inside their runs).
* Tag names with any character PI allows (spaces, ``,``, ``=``, quotes, ``\\``, ``/``, ``#``,
  unicode), added to the emulator's catalogue from a TOML file: a backfill through PIWebApi lands
  in DuckDB, and through the connector and the QuestDB sink (ILP) in QuestDB, with
  ``source_address`` byte-for-byte the name given. NAIA stores the address as requested (not the
  server's spelling of the Name): ``odd`` is requested in another case than the catalogue's.
"""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import pytest

from naia.emulator import BackgroundServer, EmulatorSettings
from naia.emulator.settings import ExtraPoint
from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource
from naia.sources.simulator import PointOptions, SimulatorSettings
from naia.sources.simulator.settings import REALISTIC
from tests.helpers import api_up, free_port, naia, request_data, wait_for

ODD = 'Unit 1, "Reactor"=B \\ / #ü 温度'
ODD_AS_ASKED = 'UNIT 1, "reactor"=b \\ / #Ü 温度'  # PI names are case-insensitive
QUOTED = "it's a \\\\share\\tag,v=1 # x"
NAMES = (ODD, QUOTED, "FINE.1")
START, END = datetime(2026, 1, 9, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC)
DENSE = PointOptions(interval_seconds=30.0, irregular=True, same_timestamp_rate=0.3)


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path) -> Path:
    lines = []
    for name, like, fine in ((ODD, "CDT158", False), (QUOTED, "CDM158", False),
                             ("FINE.1", "CDT158", True)):  # fmt: skip
        lines += ["[[points]]", f"name = {toml_string(name)}", f'like = "{like}"']
        lines.append(f"hundred_ns = {'true' if fine else 'false'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def emulator_up(url: str) -> bool:
    return httpx.get(f"{url}/piwebapi/system", timeout=2).status_code == 200


def test_hundred_ns_events_stay_distinct_through_the_connector() -> None:
    sim = SimulatorSettings(defaults=REALISTIC, points={"CDT158": DENSE})
    settings = EmulatorSettings(
        simulator=sim, points=(ExtraPoint(name="FINE.1", like="CDT158", hundred_ns=True),)
    )
    with BackgroundServer(settings) as server:
        body = httpx.get(
            f"{server.url}/streams/P1DPTkFJQS1QSVxGSU5FLjE/recorded",
            params={"startTime": "2026-01-09", "endTime": "2026-01-10", "maxCount": 150_000},
            timeout=30,
        ).json()
        stamps = [i["Timestamp"] for i in body["Items"] if i["Timestamp"] < "2026-01-10"]
        assert all(len(s) == len("2026-01-09T00:00:00.1234567Z") for s in stamps)
        source = PiWebApiSource(
            PiWebApiSettings(base_url=server.url, data_archive="NAIA-PI", page_size=97)
        )
        with source:
            table = pa.Table.from_batches(list(source.read(["FINE.1"], START, END)))
    assert table.num_rows == len(stamps)
    micro = [s[:26] for s in stamps]
    assert len(set(micro)) < len(micro)  # several events share a microsecond
    keys = set(zip(table["ts"].to_pylist(), table["seq"].to_pylist(), strict=True))
    assert len(keys) == table.num_rows  # each event kept, each its own (ts, seq)
    assert np.all(np.diff(table["ts"].cast(pa.int64()).to_numpy()) >= 0)


def test_odd_names_backfill_into_duckdb_byte_for_byte(tmp_path: Path) -> None:
    config = write_config(tmp_path / "emulator.toml")
    em_port, api_port = free_port(), free_port()
    em_url, api_url = f"http://127.0.0.1:{em_port}", f"http://127.0.0.1:{api_port}"
    db = tmp_path / "odd.duckdb"
    emulator = naia(
        "emulator", "--port", str(em_port), "--config", str(config), log=tmp_path / "em.log"
    )
    env = {
        "NAIA_PIWEBAPI__BASE_URL": f"{em_url}/piwebapi",
        "NAIA_PIWEBAPI__DATA_ARCHIVE": "NAIA-PI",
    }
    api = naia("api", "--port", str(api_port), "--db", str(db), env=env, log=tmp_path / "api.log")
    asked = [ODD_AS_ASKED, QUOTED, "FINE.1"]
    try:
        wait_for(lambda: emulator_up(em_url), 30, "the emulator")
        wait_for(lambda: api_up(api_url), 30, "the API")
        body = {
            "connectorType": "PIWebApi", "pointAddresses": asked,
            "startTime": "2026-01-09T00:00:00Z", "endTime": "2026-01-10T00:00:00Z",
            "chunkSize": "06:00:00",
        }  # fmt: skip
        response = httpx.post(f"{api_url}/api/backfill/start", json=body, timeout=30)
        assert response.status_code == 200, response.text
        request_id = response.json()["data"]["requestId"]
        active = ("Queued", "Running")
        wait_for(lambda: request_data(api_url, request_id)["status"] not in active, 120, "end")
        assert request_data(api_url, request_id)["status"] == "Completed"
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(30)
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(30)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.sql(
            "SELECT source_address, count(*) FROM point_data GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    stored = {name.encode("utf-8"): count for name, count in rows}
    assert set(stored) == {name.encode("utf-8") for name in asked}
    assert all(count > 1_000 for count in stored.values())


@pytest.mark.services
def test_odd_names_land_in_questdb_byte_for_byte() -> None:
    from naia.sinks.questdb.client import execute
    from naia.sinks.questdb.settings import QuestDbSettings
    from naia.sinks.questdb.sink import QuestDbSink
    from tests.integration.distributed import QDB_PORT

    points = (ExtraPoint(name=ODD, like="CDT158"), ExtraPoint(name=QUOTED, like="CDM158"))
    settings = QuestDbSettings(http_port=QDB_PORT, table=f"t_names_{uuid.uuid4().hex[:8]}")
    sink = QuestDbSink(settings)
    asked = [ODD_AS_ASKED, QUOTED]
    try:
        with BackgroundServer(EmulatorSettings(points=points)) as server:
            source = PiWebApiSource(PiWebApiSettings(base_url=server.url, data_archive="NAIA-PI"))
            with source:
                written = 0
                for batch in source.read(asked, START, END):
                    sink.write(batch)
                    written += batch.num_rows
            sink.flush()
        query = f"SELECT source_address, count() FROM {settings.table} ORDER BY source_address"

        def landed() -> bool:
            try:
                found = execute(settings, query)["dataset"]
            except Exception:
                return False
            return sum(int(c) for _, c in found) >= written

        wait_for(landed, 60, "the rows in QuestDB")
        found = execute(settings, query)["dataset"]
        assert sorted(name.encode("utf-8") for name, _ in found) == sorted(
            name.encode("utf-8") for name in asked
        )
        assert sum(int(c) for _, c in found) == written
    finally:
        sink.close()
        execute(settings, f"DROP TABLE IF EXISTS {settings.table}")
