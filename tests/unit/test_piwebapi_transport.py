"""StdlibTransport: httpx's requests over http.client, bodies read straight into a buffer.

A real HTTP/1.1 server on loopback (the standard library's, in a thread) answers in every way a
PI Web API or what stands between it and NAIA may: Content-Length and chunked bodies, gzip,
kept-alive connections closed while idle, bodies cut short, silence, TLS.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from naia.domain.errors import SourceTransientError, SourceUnreachableError
from naia.sources.piwebapi import PiWebApiSettings
from naia.sources.piwebapi.client import PiWebApiClient, choose_transport
from naia.sources.piwebapi.transport import DIRECT_BODY, DirectBody, StdlibTransport

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, every byte value


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        route = self.path.split("?")[0].rsplit("/", 1)[-1]
        self.server.paths.append(route)
        getattr(self, "_" + route.replace("-", "_"))()

    def do_POST(self) -> None:
        self.do_GET()

    def _length(self) -> None:
        self._send(PAYLOAD)

    def _chunked(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(PAYLOAD), 100_000):  # uneven chunks across the reads
            piece = PAYLOAD[start : start + 100_000]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def _gzip(self) -> None:
        self._send(gzip.compress(PAYLOAD), ("Content-Encoding", "gzip"))

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.rfile.read(length).decode(),
        }
        self._send(json.dumps(seen).encode())

    def _then_close(self) -> None:
        """Answer, then close without saying so: the client holds a connection gone stale."""
        self._send(b"ok")
        self.close_connection = True

    def _cut(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD[:1000])
        self.close_connection = True

    def _silent(self) -> None:
        time.sleep(1.5)
        self._send(b"late")

    def _send(self, body: bytes, *header: tuple[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        for name, value in header:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.paths: list[str] = []
        self.connections = 0
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def get_request(self) -> tuple[socket.socket, object]:
        request = super().get_request()
        self.connections += 1
        return request


def _serve(server: _Server, scheme: str = "http") -> Iterator[tuple[str, _Server]]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served() -> Iterator[tuple[str, _Server]]:
    yield from _serve(_Server())


def _transport(read_timeout_s: float = 10.0) -> StdlibTransport:
    return StdlibTransport(verify=True, connect_timeout_s=5.0, read_timeout_s=read_timeout_s)


def _read(client: httpx.Client, path: str, buf: bytearray) -> bytes:
    response = client.send(client.build_request("GET", path), stream=True)
    try:
        body = response.extensions[DIRECT_BODY]
        assert isinstance(body, DirectBody)
        return bytes(buf[: body.read_into(buf)])
    finally:
        response.close()


def test_bodies_of_either_framing_are_read_whole_into_a_buffer_that_grows(
    served: tuple[str, _Server],
) -> None:
    url, _ = served
    with httpx.Client(base_url=url, transport=_transport()) as client:
        buf = bytearray(10)  # far too small: read_into grows it
        assert _read(client, "/length", buf) == PAYLOAD
        assert _read(client, "/chunked", buf) == PAYLOAD
        assert len(buf) >= len(PAYLOAD)


def test_one_kept_alive_connection_serves_a_thread_s_requests(
    served: tuple[str, _Server],
) -> None:
    url, server = served
    with httpx.Client(base_url=url, transport=_transport()) as client:
        for _ in range(5):
            assert client.get("/length").content == PAYLOAD
        assert client.get("/chunked").content == PAYLOAD
    assert server.connections == 1


def test_a_connection_closed_while_idle_is_replaced_without_a_retry(
    served: tuple[str, _Server],
) -> None:
    url, server = served
    with _client(url) as client:
        assert client.get("/then-close", [], bytes) == b"ok"
        time.sleep(0.1)  # the server's close reaches the client's socket
        assert client.get("/length", [], bytes) == PAYLOAD
        assert client.retries == 0  # sent again on a new connection, not an attempt lost
    assert server.connections == 2


def test_a_body_cut_short_is_retried_then_reported_as_transient(
    served: tuple[str, _Server],
) -> None:
    url, server = served
    with (
        _client(url, max_attempts=3) as client,
        pytest.raises(SourceTransientError, match="after 3 attempt"),
    ):
        client.get("/cut", [], bytes)
    assert server.paths.count("cut") == 3


def test_a_silent_server_times_out(served: tuple[str, _Server]) -> None:
    url, _ = served
    with httpx.Client(base_url=url, transport=_transport(read_timeout_s=0.3)) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get("/silent")
        assert client.get("/length").content == PAYLOAD  # the next request has a new connection


def test_a_refused_connection_is_httpx_s_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        with httpx.Client(transport=_transport()) as client, pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{port}/length")


def test_a_body_left_unread_does_not_reach_the_next_request(served: tuple[str, _Server]) -> None:
    url, server = served
    with httpx.Client(base_url=url, transport=_transport()) as client:
        response = client.send(client.build_request("GET", "/length"), stream=True)
        response.close()  # a megabyte still on the connection
        assert client.get("/echo").json()["method"] == "GET"
    assert server.connections == 2


def test_a_compressed_body_is_decoded_by_httpx(served: tuple[str, _Server]) -> None:
    url, _ = served
    with _client(url) as client:
        assert client.get("/gzip", [], bytes) == PAYLOAD


def test_method_path_query_headers_auth_and_body_arrive_as_httpx_built_them(
    served: tuple[str, _Server],
) -> None:
    url, _ = served
    with _client(url, auth="basic", username="pi", password="s3cret") as client:
        got = client.post("/echo", b'{"a": 1}', _json)
        query = client.get("/echo", [("webId", "F1 x/y"), ("maxCount", "10")], _json)
    assert got["method"] == "POST" and got["body"] == '{"a": 1}'
    headers = got["headers"]
    assert headers["authorization"] == "Basic cGk6czNjcmV0"
    assert headers["x-requested-with"] == "XMLHttpRequest"
    assert headers["content-type"] == "application/json"
    assert headers["host"] == url.removeprefix("http://")
    assert query["path"] == "/piwebapi/echo?webId=F1+x%2Fy&maxCount=10"


def test_tls_with_the_configured_ca_bundle_and_refused_without_it(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    for url, _ in _serve(_Server(context), "https"):
        with _client(url, ca_bundle=cert) as trusting, _client(url, max_attempts=1) as strange:
            assert trusting.get("/length", [], bytes) == PAYLOAD
            with pytest.raises(SourceTransientError, match="CERTIFICATE_VERIFY_FAILED"):
                strange.get("/length", [], bytes)


def test_connection_bound_auth_keeps_httpx_s_own_transport() -> None:
    """NTLM and Kerberos authenticate a connection in several legs: httpx's pool keeps it."""

    def settings(auth: str) -> PiWebApiSettings:
        return PiWebApiSettings(
            base_url="https://pi.example/piwebapi",
            data_archive="PI",
            auth=auth,
            username="u",
            password=SecretStr("p"),
            token=SecretStr("t"),
        )

    for auth in ("none", "basic", "bearer"):
        assert isinstance(choose_transport(settings(auth), True), StdlibTransport)
    for auth in ("ntlm", "kerberos"):
        assert choose_transport(settings(auth), True) is None


def _client(
    url: str, *, max_attempts: int = 2, **settings: object
) -> contextlib.closing[PiWebApiClient]:
    base = PiWebApiSettings(base_url=url + "/piwebapi", data_archive="PI")
    update: dict[str, object] = {
        "retries": base.retries.model_copy(update={"max_attempts": max_attempts})
    }
    for name, value in settings.items():
        update[name] = SecretStr(str(value)) if name in ("username", "password") else value
    return contextlib.closing(PiWebApiClient(base.model_copy(update=update), sleep=lambda _: None))


def _json(body: memoryview) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(bytes(body))
    return seen


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_an_ipv6_literal_host_is_reached() -> None:
    class _Server6(_Server):
        address_family = socket.AF_INET6

        def __init__(self) -> None:
            http.server.ThreadingHTTPServer.__init__(self, ("::1", 0), _Handler)
            self.paths, self.connections = [], 0

    try:
        server = _Server6()
    except OSError as exc:  # no IPv6 loopback on this host
        pytest.skip(f"no ::1: {exc}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(transport=_transport()) as client:
            url = f"http://[::1]:{server.server_address[1]}/length"
            assert client.get(url).content == PAYLOAD
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_does_not_answer_at_all_is_unreachable_not_just_transient() -> None:
    """The orchestrator waits for an unreachable source instead of failing chunks on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, never listening: refused
        with (
            _client(url, max_attempts=2) as client,
            pytest.raises(SourceUnreachableError, match="after 2 attempt"),
        ):
            client.get("/length", [], bytes)


def test_a_server_that_answers_with_errors_is_transient_not_unreachable(
    served: tuple[str, _Server],
) -> None:
    url, _ = served
    with _client(url, max_attempts=2) as client:
        with pytest.raises(SourceTransientError) as info:
            client.get("/cut", [], bytes)
        assert not isinstance(info.value, SourceUnreachableError)
