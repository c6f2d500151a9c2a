"""An ``httpx`` transport on the standard library's ``http.client``: bodies read straight into
the caller's buffer.

httpx's own transport (httpcore + h11) hands a body over in 64 KiB pieces, each received into a
new ``bytes``, appended to h11's buffer, sliced out of it and copied again by the reader: for the
541 MB of JSON of 100 points × 30 days that is ~0.5 CPU s of Python calls and copies
(docs/performance.md). ``http.client``'s ``readinto`` fills a buffer from the socket with one
copy. Everything above the transport stays httpx's: URLs, parameters, headers, auth flows,
timeouts, the error types the client maps, content decoding.

Used for ``auth`` none, basic and bearer without a proxy; NTLM and Kerberos (handshakes bound to
one connection) and proxies keep httpx's transport (``PiWebApiClient``). One kept-alive
connection per thread: the connector's readers are threads, at most ``max_concurrency``.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx

T = TypeVar("T")
A = TypeVar("A")

_PIECE = 1 << 16
DIRECT_BODY = "naia.direct_body"
"""The response extension that holds its :class:`DirectBody` (``read_into`` without httpx)."""
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
"""What a connection closed by the server before its answer raises (see StaleConnectionError)."""


class StaleConnectionError(httpx.RemoteProtocolError):
    """The server closed the connection before answering: on a kept-alive connection the
    request is sent once more on a new one (the reads NAIA sends are safe to repeat)."""


class DirectBody(httpx.SyncByteStream):
    """A response body still on the connection; ``read_into`` takes it in one pass."""

    def __init__(
        self,
        response: http.client.HTTPResponse,
        request: httpx.Request,
        abandon: Callable[[], None],
    ) -> None:
        self._response = response
        self._request = request
        self._abandon = abandon  # closes the connection: the rest of the body is still on it

    def read_into(self, buf: bytearray) -> int:
        """Read the whole body into ``buf`` (grown when short); its length."""
        n = 0
        view = memoryview(buf)
        try:
            while True:
                if len(buf) - n < _PIECE:
                    view.release()
                    buf.extend(bytes(max(len(buf), _PIECE)))
                    view = memoryview(buf)
                got = _mapped(self._request, self._response.readinto, view[n:])
                if not got:
                    self._whole(n)
                    return n
                n += got
        finally:
            view.release()

    def __iter__(self) -> Iterator[bytes]:
        n = 0
        while piece := _mapped(self._request, self._response.read, _PIECE):
            n += len(piece)
            yield piece
        self._whole(n)

    def _whole(self, n: int) -> None:
        """http.client ends a Content-Length body cut short quietly: say so (chunked bodies
        cut short raise ``IncompleteRead`` in http.client already)."""
        missing = self._response.length
        if missing:
            raise httpx.RemoteProtocolError(
                f"body cut short: {n:,} bytes received, {missing:,} more announced",
                request=self._request,
            )

    def close(self) -> None:
        if not self._response.isclosed():  # not read to its end: the connection cannot be reused
            self._abandon()
        self._response.close()


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 through ``http.client``; thread-safe by one connection per thread."""

    def __init__(
        self, *, verify: ssl.SSLContext | bool, connect_timeout_s: float, read_timeout_s: float
    ) -> None:
        self._verify = verify
        self._context: ssl.SSLContext | None = None
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        while True:
            conn, reused = self._connection(request)
            try:
                response = self._exchange(conn, request)
                break
            except StaleConnectionError:
                self._drop(conn)
                if not reused:  # a new connection closed at once: the server's doing, not age
                    raise
            except BaseException:
                self._drop(conn)
                raise
        body = DirectBody(response, request, lambda: self._drop(conn))
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=body,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": response.reason.encode("ascii", "replace"),
                DIRECT_BODY: body,  # httpx wraps the stream; the extensions reach the caller as set
            },
        )

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()

    def _exchange(
        self, conn: http.client.HTTPConnection, request: httpx.Request
    ) -> http.client.HTTPResponse:
        """Send the request and read the status line and headers; errors as httpx's."""
        try:
            conn.putrequest(
                request.method,
                request.url.raw_path.decode("ascii"),
                skip_host=True,
                skip_accept_encoding=True,
            )
            for name, value in request.headers.multi_items():
                conn.putheader(name, value)
            conn.endheaders(request.read() or None)
            return conn.getresponse()
        except _STALE as exc:
            raise StaleConnectionError(f"connection closed: {exc}", request=request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc

    def _connection(self, request: httpx.Request) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to the request's host (a new one if none or another host),
        and whether it was used before."""
        url = request.url
        key = (url.scheme, url.host, url.port)
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.key == key and conn.sock is not None:
            return conn, True
        if conn is not None:
            self._drop(conn)
        conn = self._connect(request)
        self._local.conn, self._local.key = conn, key
        with self._lock:
            self._open.add(conn)
        return conn, False

    def _connect(self, request: httpx.Request) -> http.client.HTTPConnection:
        url = request.url
        https = url.scheme == "https"
        host = url.host  # an IPv6 address without brackets: the port must be given apart
        port = url.port or (443 if https else 80)
        if https:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=self._connect_timeout_s, context=self._ssl_context()
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self._connect_timeout_s)
        try:
            conn.connect()
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from exc
        assert conn.sock is not None  # connect() set it
        conn.sock.settimeout(self._read_timeout_s)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        """httpx's context for ``verify`` (its CA bundle), built on the first https request."""
        with self._lock:
            if self._context is None:
                verify = self._verify
                self._context = (
                    verify
                    if isinstance(verify, ssl.SSLContext)
                    else httpx.create_ssl_context(verify)
                )
            return self._context

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._lock:
            self._open.discard(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None


def _mapped(request: httpx.Request, read: Callable[[A], T], arg: A) -> T:
    """A body read, its failures as httpx's (the client retries those)."""
    try:
        return read(arg)
    except TimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
    except http.client.IncompleteRead as exc:
        raise httpx.RemoteProtocolError(f"body cut short: {exc}", request=request) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
