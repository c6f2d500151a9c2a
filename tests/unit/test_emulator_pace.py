"""A slowed emulator (latency per request, values/s cap per response) on a loopback socket.

Only lower bounds on time are asserted; concurrency is shown by order (a request answered while
another is still being paced), not by how fast the machine is.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from naia.emulator import BackgroundServer, EmulatorSettings
from naia.emulator.pace import Pace

SIN = "P1DPTkFJQS1QSVxTSU5VU09JRA"  # \\NAIA-PI\SINUSOID by path
DAY = {"startTime": "2024-01-01T00:00:00Z", "endTime": "2024-01-02T00:00:00Z"}


def test_pace_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAIA_EMULATOR__LATENCY_MS", "80")
    monkeypatch.setenv("NAIA_EMULATOR__VALUES_PER_S", "1500000")
    assert Pace.of(EmulatorSettings()) == Pace(0.08, 1_500_000.0)
    assert not Pace.of(EmulatorSettings(latency_ms=0, values_per_s=0)).active


def test_negative_pace_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        EmulatorSettings(latency_ms=-1)
    with pytest.raises(ValueError, match="values_per_s"):
        EmulatorSettings(values_per_s=-5)


def test_every_request_takes_at_least_the_latency() -> None:
    with BackgroundServer(EmulatorSettings(latency_ms=300)) as server, httpx.Client() as client:
        for path in ("/system", f"/streams/{SIN}/recorded"):
            t0 = time.monotonic()
            assert client.get(f"{server.url}{path}", params=DAY, timeout=30).status_code == 200
            assert time.monotonic() - t0 >= 0.3


def test_a_response_of_n_values_takes_at_least_n_over_the_cap() -> None:
    settings = EmulatorSettings(latency_ms=100, values_per_s=2_000)
    with BackgroundServer(settings) as server:
        t0 = time.monotonic()
        r = httpx.get(
            f"{server.url}/streams/{SIN}/recorded", params={**DAY, "maxCount": 1000}, timeout=30
        )
        elapsed = time.monotonic() - t0
    n = len(r.json()["Items"])
    assert n >= 500
    assert elapsed >= 0.1 + n / 2_000


def test_a_streamset_is_paced_by_all_its_values() -> None:
    settings = EmulatorSettings(values_per_s=4_000)
    params = [("webId", SIN), ("webId", "P1DPTkFJQS1QSVxDRFQxNTg"), ("maxCount", 1000)]
    with BackgroundServer(settings) as server:
        t0 = time.monotonic()
        r = httpx.get(f"{server.url}/streamsets/recorded", params=[*params, *DAY.items()])
        elapsed = time.monotonic() - t0
    n = sum(len(item["Items"]) for item in r.json()["Items"])
    assert n >= 1000
    assert elapsed >= n / 4_000


def test_a_request_is_answered_while_another_is_still_paced() -> None:
    """A slow response (≥ 0.2 s latency + 1000 values at 250/s = 4 s) is open and read on a
    thread; a second request, with its own latency, is answered before the first one's body has
    arrived: the waits do not block the server."""
    settings = EmulatorSettings(latency_ms=200, values_per_s=250)
    headers_in = threading.Event()
    slow: dict[str, float | bytes] = {}

    def read_slow(url: str) -> None:
        with httpx.Client(timeout=60) as client:
            slow["t0"] = time.monotonic()
            with client.stream("GET", url, params={**DAY, "maxCount": 1000}) as r:
                headers_in.set()
                slow["body"] = r.read()
            slow["done"] = time.monotonic()

    with BackgroundServer(settings) as server:
        reader = threading.Thread(target=read_slow, args=(f"{server.url}/streams/{SIN}/recorded",))
        reader.start()
        assert headers_in.wait(30)  # the first request has passed its latency and is paced
        t1 = time.monotonic()
        assert httpx.get(f"{server.url}/system", timeout=60).status_code == 200
        other_done = time.monotonic()
        reader.join(60)
    assert other_done - t1 >= 0.2  # the second request waited its own latency
    body = slow["body"]
    assert isinstance(body, bytes)
    n = body.count(b'"Timestamp"')
    assert n >= 500
    assert float(slow["done"]) - float(slow["t0"]) >= 0.2 + n / 250
    assert other_done < float(slow["done"])
