"""Fleet fetching on the real Kafka and QuestDB: `naia fetch` processes read the units."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.helpers import api_up, free_port, naia, wait_for
from tests.integration.distributed import read_committed, request, stop
from tests.integration.fleet import (
    FleetSlice,
    assert_sums_equal,
    fleet,
    simulator_sums,
    with_worker,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

START, END = datetime(2026, 1, 9, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)
POINTS = [f"SIM.{i}" for i in range(10)]
BODY: dict[str, object] = {
    "connectorType": "Simulator",
    "pointAddresses": POINTS,
    "startTime": START.isoformat(),
    "endTime": END.isoformat(),
    "chunkSize": "01:00:00",
}
UNITS = 48
EXPECTED = 10 * 2 * 1440
# slow enough that units are in flight when fetchers die or join: ~1,000 values/s per fetcher,
# 100-row batches (a unit's transaction is open across several batches)
SLOW = {"NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": "3000", "NAIA_SIMULATOR__BATCH_ROWS": "100"}


def start(url: str, body: dict[str, object]) -> str:
    response = httpx.post(f"{url}/api/backfill/start", json=body, timeout=30)
    assert response.status_code == 200, response.text
    request_id: str = response.json()["data"]["requestId"]
    return request_id


def reading_now(url: str, request_id: str) -> dict[str, int]:
    """Fetcher → the unit of the request it reads now, as GET …/fleet shows it."""
    answer = httpx.get(f"{url}/api/backfill/request/{request_id}/fleet", timeout=30)
    fetchers = answer.json()["data"]["fetchers"]
    return {f["fetcher"]: f["currentUnit"] for f in fetchers if f["currentUnit"] is not None}


def assert_exact(s: FleetSlice, url: str, request_id: str, expected: int = EXPECTED) -> None:
    """Completed, published exactly once on Kafka, stored exactly once, sums = Simulator's."""
    wait_for(lambda: request(url, request_id)["status"] == "Completed", 180, "Completed")
    view = request(url, request_id)
    assert view["completedChunks"] == UNITS and view["pointsProcessed"] == expected
    assert s.published_values() == expected
    wait_for(lambda: s.count() >= expected, 120, f"{expected} rows")
    s.wait_settled()
    assert s.count() == expected and s.distinct() == expected
    assert_sums_equal(s.sums(), simulator_sums(POINTS, START, END))


def test_a_request_spread_over_three_fetchers(tmp_path: Path) -> None:
    with fleet(tmp_path, "pd_fleet3", ["a", "b", "c"], **SLOW) as (s, url):
        began = time.monotonic()
        request_id = start(url, BODY)
        wait_for(lambda: len(reading_now(url, request_id)) >= 2, 60, "two fetchers reading")
        wait_for(lambda: request(url, request_id)["status"] == "Completed", 180, "Completed")
        took = time.monotonic() - began
        assert_exact(s, url, request_id)
        answer = httpx.get(f"{url}/api/backfill/request/{request_id}/fleet", timeout=30)
        shares = {f["fetcher"]: f for f in answer.json()["data"]["fetchers"]}
        assert sorted(shares) == ["a", "b", "c"], shares
        assert sum(f["units"] for f in shares.values()) == UNITS
        assert sum(f["values"] for f in shares.values()) == EXPECTED
        # the fleet's budget (3,000 values/s) held: each fetcher paced a third of it
        assert took >= EXPECTED / 3000 - 1.5, f"{EXPECTED} values in {took:.1f} s"
        by = s.done_by()
        assert sorted(by) == ["a", "b", "c"] and sum(by.values()) == UNITS, by


def test_kill_9_of_fetchers_at_random_moments_publishes_every_unit_once(tmp_path: Path) -> None:
    """Trials: a random fetcher is killed -9 at a random moment and restarted under its id (its
    open transaction is fenced at once); the last one is killed for good (the survivors take
    its partitions after the session timeout, its transaction aborts after its timeout)."""
    env = {**SLOW, "NAIA_ORCHESTRATOR__RATE_LIMIT_VALUES_PER_S": "1500",
           "NAIA_KAFKA__TRANSACTION_TIMEOUT_MS": "20000"}  # fmt: skip
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    names = ["a", "b", "c"]
    kills = 0
    with fleet(tmp_path, "pd_fleetkill", names, **env) as (s, url):
        request_id = start(url, BODY)
        while kills < 4 and request(url, request_id)["completedChunks"] < UNITS - 6:
            time.sleep(rng.uniform(0.5, 3.0))  # a random moment, not a wait for a condition
            victim = rng.choice(names)
            s.kill(victim)
            kills += 1
            s.start_fetcher(victim)
        victim = rng.choice(names)
        s.kill(victim)  # for good
        names.remove(victim)
        assert_exact(s, url, request_id)
        assert kills >= 2, f"the request ended before the trials (seed {seed})"
        # every kill that landed mid-unit left a unit read and never finished: read again
        reads, done = s.log_lines(r"\): reading"), s.log_lines(r"done by")
        assert done == UNITS, (done, seed)
        assert reads > UNITS, f"no kill landed mid-unit (seed {seed})"
        assert sum(s.done_by().values()) == UNITS


def test_a_rebalance_while_units_are_in_flight_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with fleet(tmp_path, "pd_fleetreb", ["a", "b"], **SLOW) as (s, url):
        request_id = start(url, BODY)
        wait_for(lambda: request(url, request_id)["completedChunks"] >= 4, 60, "4 chunks")
        s.start_fetcher("c")  # joins: the group rebalances with units in flight
        s.wait_balanced(["a", "b", "c"])
        assert request(url, request_id)["completedChunks"] < UNITS - 12
        s.kill("a", signal.SIGTERM)  # leaves mid-unit: gives it back unsettled, rebalances
        assert_exact(s, url, request_id)
        assert "given back: shutting down" in s.log("a").read_text()
        assert s.done_by()["c"] > 0


def test_two_api_processes_side_by_side_plan_each_request_once(tmp_path: Path) -> None:
    """API two starts while API one's request runs: it loads that request too, yet only its
    owner (the API that dispatched it) runs it; each API's own request completes; every unit is
    dispatched once and published once."""
    other = [f"SIM.{i}" for i in range(10, 20)]
    body2: dict[str, object] = {**BODY, "pointAddresses": other}
    apis: list[subprocess.Popen[bytes]] = []
    with with_worker(tmp_path, "pd_fleet2api", **SLOW) as s:
        try:
            s.start_fetcher("a")
            s.start_fetcher("b")
            port1, port2 = free_port(), free_port()
            url1, url2 = f"http://127.0.0.1:{port1}", f"http://127.0.0.1:{port2}"
            apis.append(naia("api", "--port", str(port1), log=tmp_path / "api-one.log",
                             env={**s.env(), "NAIA_ORCHESTRATOR__INSTANCE_ID": "one"}))  # fmt: skip
            wait_for(lambda: api_up(url1), 60, "API one")
            s.wait_balanced(["a", "b"])
            first = start(url1, BODY)
            apis.append(naia("api", "--port", str(port2), log=tmp_path / "api-two.log",
                             env={**s.env(), "NAIA_ORCHESTRATOR__INSTANCE_ID": "two"}))  # fmt: skip
            wait_for(lambda: api_up(url2), 60, "API two")
            assert request(url1, first)["status"] == "Running"  # two loaded it while it ran
            second = start(url2, body2)
            for url, request_id in ((url1, first), (url2, second)):
                wait_for(lambda u=url, r=request_id: request(u, r)["status"] == "Completed",  # type: ignore[misc]
                         180, "Completed")  # fmt: skip
                assert request(url, request_id)["pointsProcessed"] == EXPECTED
            assert "owned by one" in (tmp_path / "api-two.log").read_text()
            units = Counter(m.key() for m in read_committed(s.fleet_kafka.units_topic, 12))
            assert len(units) == 2 * UNITS and set(units.values()) == {1}, "a unit dispatched twice"
            done = Counter((rid, i) for rid, i, kind, _ in s.outcomes() if kind == "done")
            assert len(done) == 2 * UNITS and set(done.values()) == {1}, "a unit published twice"
            assert s.published_values() == 2 * EXPECTED
            wait_for(lambda: s.count() >= 2 * EXPECTED, 120, "rows")
            s.wait_settled()
            assert s.count() == 2 * EXPECTED and s.distinct() == 2 * EXPECTED
            assert_sums_equal(s.sums(), simulator_sums(POINTS + other, START, END))
        finally:
            for api in apis:
                stop(api)


def test_cancel_across_fetchers_then_retry_publishes_the_rest_once(tmp_path: Path) -> None:
    with fleet(tmp_path, "pd_fleetcancel", ["a", "b"], **SLOW) as (s, url):
        request_id = start(url, BODY)
        wait_for(lambda: request(url, request_id)["completedChunks"] >= 4, 60, "4 chunks")
        response = httpx.post(f"{url}/api/backfill/request/{request_id}/cancel", timeout=30)
        assert response.status_code == 200, response.text
        wait_for(lambda: request(url, request_id)["status"] == "Cancelled", 60, "Cancelled")
        cancelled = request(url, request_id)
        assert 4 <= cancelled["completedChunks"] < UNITS
        # every unit left was skipped by a fetcher, none published after the cancel
        kinds = Counter(kind for _, _, kind, _ in s.outcomes())
        assert kinds["done"] == cancelled["completedChunks"]
        assert kinds["skipped"] == UNITS - cancelled["completedChunks"]
        assert s.published_values() == cancelled["pointsProcessed"]
        retry = httpx.post(f"{url}/api/backfill/request/{request_id}/retry-failed", timeout=30)
        assert retry.status_code == 200, retry.text
        assert_exact(s, url, request_id)


def test_a_second_fetcher_under_the_same_id_fences_the_first(tmp_path: Path) -> None:
    with fleet(tmp_path, "pd_fleetfence", ["a"], **SLOW) as (s, url):
        first = s.fetchers["a"]
        twin = naia("fetch", "--id", "a", env=s.env(), log=tmp_path / "fetch-twin.log")
        s.fetchers["twin"] = twin
        request_id = start(url, BODY)
        wait_for(lambda: first.poll() is not None, 60, "the first fetcher to stop")
        assert first.returncode == 1
        assert "fenced" in s.log("a").read_text()
        assert_exact(s, url, request_id)
        assert twin.poll() is None


def test_a_fetcher_started_without_kafka_waits_for_it_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    log = tmp_path / "fetch-alone.log"
    env = {"NAIA_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}  # nothing listens
    proc = naia("fetch", "--id", "alone", env=env, log=log)
    try:
        wait_for(lambda: "Kafka unavailable" in log.read_text(), 90, "the warning")
        assert proc.poll() is None  # waiting, not exited
    finally:
        stop(proc)
    assert proc.returncode == 0
    assert log.read_text().count("Kafka unavailable") == 1  # once per episode
