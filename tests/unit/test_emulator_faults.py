"""Seeded fault injection, in process: every kind, determinism, and the switches."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from naia.emulator import EmulatorSettings, EndpointKind, FaultKind, FaultSettings, create_app
from naia.emulator import app as app_module
from naia.emulator.faults import ConnectionDroppedError, FaultPlan
from naia.emulator.render import format_us
from naia.sources.simulator import PointOptions, SimulatorSettings

T0 = 1_704_067_200_000_000
SIN = "P1DPTkFJQS1QSVxTSU5VU09JRA"
CDT = "P1DPTkFJQS1QSVxDRFQxNTg"
WINDOW = {"startTime": format_us(T0), "endTime": format_us(T0 + 3_600_000_000)}


def faulty(kind: FaultKind, **kw: Any) -> TestClient:
    faults = FaultSettings(rate=1.0, seed=3, kinds=frozenset({kind}), **kw)
    settings = EmulatorSettings(simulator=SimulatorSettings(defaults=PointOptions()), faults=faults)
    return TestClient(create_app(settings, clock=lambda: T0))


def test_throttle_is_429_with_retry_after() -> None:
    with faulty(FaultKind.THROTTLE, retry_after_seconds=7) as c:
        r = c.get(f"/piwebapi/streams/{SIN}/recorded", params=WINDOW)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    assert "Errors" in r.json()


def test_unavailable_is_503_with_retry_after() -> None:
    with faulty(FaultKind.UNAVAILABLE) as c:
        r = c.get("/piwebapi/points", params={"path": "\\\\NAIA-PI\\SINUSOID"})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"


def test_slow_waits_then_answers_normally(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(app_module, "pause", fake_sleep)
    with faulty(FaultKind.SLOW, slow_seconds=3.5) as c:
        r = c.get(f"/piwebapi/streams/{SIN}/recorded", params=WINDOW)
    assert r.status_code == 200 and len(r.json()["Items"]) == 61
    assert waits == [3.5]


def test_drop_without_a_socket_raises_in_process() -> None:
    with faulty(FaultKind.DROP) as c, pytest.raises(ConnectionDroppedError):
        c.get(f"/piwebapi/streams/{SIN}/recorded", params=WINDOW)


def test_truncate_sends_less_than_content_length() -> None:
    with faulty(FaultKind.TRUNCATE) as c:
        r = c.get(f"/piwebapi/streams/{SIN}/recorded", params=WINDOW)
    assert r.status_code == 200
    declared = int(r.headers["content-length"])
    assert len(r.content) == declared // 2 < declared


def test_web_exception_inside_a_200_for_a_stream() -> None:
    with faulty(FaultKind.WEB_EXCEPTION) as c:
        r = c.get(f"/piwebapi/streams/{SIN}/recorded", params=WINDOW)
    assert r.status_code == 200
    body = r.json()
    assert body["Items"] == []
    assert body["WebException"]["StatusCode"] == 502
    assert body["WebException"]["Errors"]


def test_web_exception_hits_one_stream_of_a_streamset() -> None:
    with faulty(FaultKind.WEB_EXCEPTION) as c:
        params = [("webId", SIN), ("webId", CDT), *WINDOW.items()]
        r = c.get("/piwebapi/streamsets/recorded", params=params)
    assert r.status_code == 200
    streams = r.json()["Items"]
    failed = [s for s in streams if "WebException" in s]
    assert len(failed) == 1
    assert failed[0]["WebException"]["StatusCode"] == 502 and failed[0]["Items"] == []
    healthy = [s for s in streams if "WebException" not in s]
    assert len(healthy[0]["Items"]) == 61


def test_web_exception_in_a_batch_hits_one_data_sub_request() -> None:
    with faulty(FaultKind.WEB_EXCEPTION) as c:
        body = {
            "meta": {"Resource": "/piwebapi/points?path=\\\\NAIA-PI\\SINUSOID"},
            "a": {"Resource": f"/piwebapi/streams/{SIN}/recorded?maxCount=5"},
            "b": {"Resource": f"/piwebapi/streams/{CDT}/recorded?maxCount=5"},
        }
        r = c.post("/piwebapi/batch", json=body, headers={"X-Requested-With": "t"})
    assert r.status_code == 207
    result = r.json()
    assert "WebException" not in result["meta"]["Content"]
    assert result["a"]["Status"] == 200 and "WebException" in result["a"]["Content"]
    assert "WebException" not in result["b"]["Content"]


def test_web_exception_never_hits_metadata() -> None:
    with faulty(FaultKind.WEB_EXCEPTION) as c:
        r = c.get("/piwebapi/points", params={"path": "\\\\NAIA-PI\\SINUSOID"})
    assert r.status_code == 200 and "WebException" not in r.json()


def test_root_endpoints_are_not_faulted_by_default() -> None:
    with faulty(FaultKind.THROTTLE) as c:
        assert c.get("/piwebapi/").status_code == 200
        assert c.get("/piwebapi/system").status_code == 200
        assert c.get("/piwebapi/dataservers").status_code == 429


def test_endpoint_switches() -> None:
    only_streams = frozenset({EndpointKind.STREAM})
    with faulty(FaultKind.THROTTLE, endpoints=only_streams) as c:
        assert c.get("/piwebapi/dataservers").status_code == 200
        assert c.get(f"/piwebapi/streams/{SIN}/recorded").status_code == 429
    with faulty(FaultKind.THROTTLE, endpoints=frozenset(EndpointKind)) as c:
        assert c.get("/piwebapi/system").status_code == 429


def sequence(seed: int, rate: float, n: int = 300) -> list[str]:
    plan = FaultPlan(FaultSettings(rate=rate, seed=seed))
    out = []
    for i in range(n):
        fault = plan.draw(EndpointKind.STREAMSET if i % 2 else EndpointKind.METADATA)
        out.append("-" if fault is None else f"{fault.kind.value}:{fault.index}")
    return out


def test_faults_are_deterministic_per_seed() -> None:
    first = sequence(42, 0.2)
    assert first == sequence(42, 0.2)
    assert first != sequence(43, 0.2)
    hits = [f for f in first if f != "-"]
    assert 30 <= len(hits) <= 95  # about 20 % of 300
    assert {h.split(":")[0] for h in hits} == {k.value for k in FaultKind}
    assert set(sequence(42, 0.0)) == {"-"}


def test_same_seed_same_responses_over_http() -> None:
    def statuses(seed: int) -> list[int]:
        faults = FaultSettings(
            rate=0.5, seed=seed, kinds=frozenset({FaultKind.THROTTLE, FaultKind.UNAVAILABLE})
        )
        with TestClient(create_app(EmulatorSettings(faults=faults), clock=lambda: T0)) as c:
            return [c.get(f"/piwebapi/streams/{SIN}/recorded").status_code for _ in range(40)]

    first = statuses(5)
    assert first == statuses(5)
    assert {200, 429, 503} == set(first)
