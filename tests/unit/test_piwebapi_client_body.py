"""How PiWebApiClient reads a body: once, into a receive buffer reused by the next request."""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Iterator

import httpx

from naia.sources.piwebapi import PiWebApiSettings
from naia.sources.piwebapi.client import PiWebApiClient

BODY = 4 * 1024 * 1024  # a page of a few MB, sent in 64 KiB pieces as a socket gives them


class _Pieces(httpx.SyncByteStream):
    def __init__(self, fill: int) -> None:
        self._fill = fill

    def __iter__(self) -> Iterator[bytes]:
        piece = bytes([self._fill]) * 65536
        for _ in range(BODY // len(piece)):
            yield piece


def _client() -> PiWebApiClient:
    fills = iter(range(1, 256))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Pieces(next(fills)))

    settings = PiWebApiSettings(base_url="http://127.0.0.1:9/piwebapi", data_archive="PI")
    return PiWebApiClient(settings, transport=httpx.MockTransport(handler))


def test_a_body_is_not_copied_into_new_memory_once_the_buffer_exists() -> None:
    client = _client()
    assert client.get("/x", [], len) == BODY  # the first request sizes the buffer
    tracemalloc.start()
    try:
        assert client.get("/x", [], len) == BODY
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert peak < BODY // 4, f"reading a {BODY:,} B body allocated {peak:,} B"


def test_a_body_a_decoder_keeps_is_not_overwritten_by_the_next_request() -> None:
    client = _client()
    kept = client.get("/x", [], lambda body: body)  # a view that outlives its request
    assert bytes(kept[:2]) == b"\x01\x01"
    second = client.get("/x", [], bytes)
    client.close()
    assert second[:2] == b"\x02\x02" and len(second) == BODY
    assert bytes(kept[-2:]) == b"\x01\x01" and len(kept) == BODY


def test_a_compressed_body_is_decoded_and_a_plain_one_read_as_sent() -> None:
    plain = b'{"Items":[' + b"1," * 100_000 + b"2]}"
    served: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/gz"):
            served.append(gzip.compress(plain))
            return httpx.Response(200, content=served[-1], headers={"Content-Encoding": "gzip"})
        return httpx.Response(200, content=plain, headers={"Content-Encoding": "identity"})

    settings = PiWebApiSettings(base_url="http://127.0.0.1:9/piwebapi", data_archive="PI")
    client = PiWebApiClient(settings, transport=httpx.MockTransport(handler))
    try:
        assert client.get("/gz", [], bytes) == plain
        assert len(served[0]) < len(plain) // 10  # it did travel compressed
        assert client.get("/plain", [], bytes) == plain
    finally:
        client.close()
