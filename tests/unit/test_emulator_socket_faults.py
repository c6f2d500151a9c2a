"""What a client sees on the wire: faults under uvicorn on a loopback port (fast, real sockets)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from naia.emulator import BackgroundServer, EmulatorSettings, FaultKind, FaultSettings

SIN = "P1DPTkFJQS1QSVxTSU5VU09JRA"


@pytest.fixture(scope="module")
def dropping() -> Iterator[BackgroundServer]:
    faults = FaultSettings(rate=1.0, kinds=frozenset({FaultKind.DROP}))
    with BackgroundServer(EmulatorSettings(faults=faults)) as server:
        yield server


@pytest.fixture(scope="module")
def truncating() -> Iterator[BackgroundServer]:
    faults = FaultSettings(rate=1.0, kinds=frozenset({FaultKind.TRUNCATE}))
    with BackgroundServer(EmulatorSettings(faults=faults)) as server:
        yield server


def raw_get(server: BackgroundServer, path: str) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_dropped_connection_sends_not_a_byte(dropping: BackgroundServer) -> None:
    assert raw_get(dropping, f"/piwebapi/streams/{SIN}/recorded") == b""


def test_dropped_connection_as_httpx_sees_it(dropping: BackgroundServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.get(f"{dropping.url}/streams/{SIN}/recorded", timeout=10)
    assert httpx.get(f"{dropping.url}/system", timeout=10).status_code == 200


def test_truncated_body_is_shorter_than_its_content_length(truncating: BackgroundServer) -> None:
    received = raw_get(truncating, f"/piwebapi/streams/{SIN}/recorded?maxCount=500")
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    assert len(body) == length // 2 and length > 1000


def test_truncated_body_as_httpx_sees_it(truncating: BackgroundServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{truncating.url}/streams/{SIN}/recorded", timeout=10)


def test_background_server_serves_on_loopback() -> None:
    with BackgroundServer(EmulatorSettings()) as server:
        assert server.host == "127.0.0.1" and server.port > 0
        assert (
            httpx.get(f"{server.url}/", timeout=10).json()["Links"]["Self"].endswith("/piwebapi/")
        )


def test_streamsets_are_rendered_while_sent() -> None:
    with BackgroundServer(EmulatorSettings()) as server:
        params = [("webId", SIN), ("webId", "P1DPTkFJQS1QSVxDRFQxNTg"), ("maxCount", 5000)]
        params.append(("startTime", "2024-01-01T00:00:00Z"))
        params.append(("endTime", "2024-02-01T00:00:00Z"))
        r = httpx.get(f"{server.url}/streamsets/recorded", params=params, timeout=30)
        single = httpx.get(f"{server.url}/streams/{SIN}/recorded", params=params[2:], timeout=30)
    assert r.status_code == 200
    assert r.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.headers
    assert [len(s["Items"]) for s in r.json()["Items"]] == [5000, 5000]
    assert r.json()["Items"][0]["Items"] == single.json()["Items"]
    assert int(single.headers["content-length"]) == len(single.content)
