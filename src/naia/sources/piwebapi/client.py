"""HTTP to PI Web API: one ``httpx.Client``, auth, TLS and retries (``naia.kernel.backoff``).

The values/s limit is the orchestrator's (one setting for every connector): it paces the
batches this client's pages become, and the bounded pump upstream holds the reads back.

Every call takes a ``decode`` function that runs inside the retry loop, so a truncated body or
a ``WebException`` with a 5xx status inside a 200 is retried like a 503. What leaves here:

- the decoded value;
- :class:`PageSizeTooLargeError` (400 "... greater than the maximum allowed (N)"): the caller
  lowers maxCount and asks again;
- ``SourceTransientError`` once the attempts are used up (the orchestrator retries the chunk);
- ``SourceError`` for what retrying cannot fix (401, 403, a bad WebID, an unexpected shape);
- ``ConnectorUnavailableError`` when the auth library the settings ask for is not installed.

Credentials live in the ``httpx.Auth`` object only: never in a URL, a log line or a message.
"""

from __future__ import annotations

import email.utils
import importlib
import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import UTC, datetime
from types import ModuleType
from typing import TypeVar, cast
from urllib.parse import urlencode

import httpx
import msgspec
from pydantic import SecretStr

from naia.domain.errors import (
    ConnectorUnavailableError,
    SourceError,
    SourceTransientError,
    SourceUnreachableError,
)
from naia.kernel.backoff import Backoff, call_with_retry
from naia.kernel.episode import Episode
from naia.sources.piwebapi.decode import WebException, error_message
from naia.sources.piwebapi.settings import PiWebApiSettings, RetrySettings
from naia.sources.piwebapi.transport import DIRECT_BODY, DirectBody, StdlibTransport

log = logging.getLogger(__name__)

T = TypeVar("T")
Params = Sequence[tuple[str, str]]
Importer = Callable[[str], ModuleType]

KERBEROS_PIN = "httpx-gssapi==0.6"
NTLM_PIN = "httpx-ntlm==1.4.0"
_MAX_ALLOWED = re.compile(r"maximum allowed \(?\s*(\d+)", re.IGNORECASE)
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_CONNECTION_BOUND_AUTH = frozenset({"kerberos", "ntlm"})
"""Handshakes over one connection: these keep httpx's own transport (its pool); the rest go
through ``StdlibTransport`` (bodies read into the receive buffer in one pass). A proxy from the
environment is httpx's either way (its mounts come before the transport)."""


class RetryableError(Exception):
    """Worth another attempt of the same request (internal to the connector). ``unreachable``:
    no connection could be made (the server is down or restarting)."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, unreachable: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.unreachable = unreachable


class PageSizeTooLargeError(Exception):
    """The server refused maxCount; ``limit`` is its maximum when the message names one."""

    def __init__(self, message: str, limit: int | None) -> None:
        super().__init__(message)
        self.limit = limit


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>``; the token stays a SecretStr until it is sent."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


class PiWebApiClient:
    """Synchronous, thread-safe; one connection pool sized to ``max_concurrency``."""

    def __init__(
        self,
        settings: PiWebApiSettings,
        transport: httpx.BaseTransport | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        importer: Importer = importlib.import_module,
        on_request: Callable[[float], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_request = on_request
        self._retry = settings.retries
        self._retries = 0  # HTTP attempts repeated so far (read by the orchestrator's summary)
        self._episode = Episode(log, f"PI Web API at {settings.base_url}")
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._local = threading.local()
        verify = tls_verify(settings)
        transport = transport or choose_transport(settings, verify)
        self._http = httpx.Client(
            base_url=settings.base_url,
            auth=build_auth(settings, importer),
            verify=verify,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=settings.max_concurrency,
            ),
            headers={
                "Accept": "application/json",
                "User-Agent": settings.user_agent,
                "X-Requested-With": "XMLHttpRequest",
            },
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def retry(self) -> RetrySettings:
        return self._retry

    @property
    def retries(self) -> int:
        """How many HTTP attempts were repeated so far."""
        return self._retries

    def get(self, path: str, params: Params, decode: Callable[[memoryview], T]) -> T:
        return self._call(
            lambda: self._http.build_request("GET", path, params=urlencode(params)), decode
        )

    def post(self, path: str, body: bytes, decode: Callable[[memoryview], T]) -> T:
        headers = {"Content-Type": "application/json"}
        return self._call(
            lambda: self._http.build_request("POST", path, content=body, headers=headers), decode
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, build: Callable[[], httpx.Request], decode: Callable[[memoryview], T]) -> T:
        what = ""

        def attempt() -> T:
            nonlocal what
            request = build()
            what = f"{request.method} {request.url.path}"
            return self._attempt(request, what, decode)

        def on_retry(n: int, error: BaseException, wait: float) -> None:
            self._retries += 1  # a lost increment between reader threads only blurs a statistic
            self._episode.failed(f"{what}, attempt {n}: {error}; next in {wait:.1f}s")

        try:
            result = call_with_retry(
                attempt,
                attempts=self._retry.max_attempts,
                backoff=Backoff(self._retry.backoff_base_s, self._retry.backoff_max_s),
                retry_on=RetryableError,
                sleep=self._sleep,
                on_retry=on_retry,
                floor=_retry_after,
                rng=self._rng,
            )
        except RetryableError as last:
            failed = SourceUnreachableError if last.unreachable else SourceTransientError
            raise failed(
                f"PI Web API {what} failed after {self._retry.max_attempts} attempt(s): "
                f"{last.reason}",
                retry_after=last.retry_after,
            ) from last
        self._episode.succeeded()
        return result

    def _attempt(self, request: httpx.Request, what: str, decode: Callable[[memoryview], T]) -> T:
        started = time.perf_counter()
        try:
            response, body = self._send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise RetryableError(
                f"no connection ({type(exc).__name__}: {exc})", unreachable=True
            ) from exc
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timed out ({type(exc).__name__})") from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise RetryableError(f"connection failed ({type(exc).__name__}: {exc})") from exc
        finally:
            if self._on_request is not None:
                self._on_request(time.perf_counter() - started)
        if response.status_code not in (200, 207):
            raise_for_status(
                response.status_code,
                error_message(bytes(body)),
                parse_retry_after(response.headers.get("Retry-After"), self._retry),
                what,
            )
        try:
            return decode(body)
        except msgspec.ValidationError as exc:
            raise SourceError(f"PI Web API {what}: unexpected response: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise RetryableError(f"truncated or malformed body ({exc})") from exc

    def _send(self, request: httpx.Request) -> tuple[httpx.Response, memoryview]:
        """The response and its body, read by us: an httpx ``Response`` sits in a reference
        cycle (its stream points back at it) and lives until the cyclic GC runs, which the
        decoder's untracked structs make rare — a body cached on it would pile up, megabytes a
        page. Read this way, the body is ours, in a buffer reused by the next request."""
        response = self._http.send(request, stream=True)
        try:
            return response, self._read_body(response)
        finally:
            response.close()

    def _read_body(self, response: httpx.Response) -> memoryview:
        """The body in this thread's receive buffer, reused from one request to the next.

        A fresh ``bytes`` a body (``b"".join``) costs more than reading it: NAIA's memory
        policy maps every block over 1 MiB on its own (naia.app.memory), so each body of a few
        MB was page-faulted in, zeroed and unmapped again — 0.7–0.9 CPU s of 2.4–2.7 for
        3.9 M values (docs/performance.md). The view is valid until this thread's next
        request; a buffer something still holds a view of (a decoded ``msgspec.Raw``, a
        traceback) is left to it and a new one is started."""
        buf = _receive_buffer(self._local)
        direct = response.extensions.get(DIRECT_BODY)
        if isinstance(direct, DirectBody) and _identity(response):
            n = direct.read_into(buf)  # before any view of buf: it may grow
            return memoryview(buf)[:n]
        n = 0
        for chunk in _body_chunks(response):
            end = n + len(chunk)
            if end > len(buf):
                buf.extend(bytes(max(end - len(buf), len(buf))))
            buf[n:end] = chunk
            n = end
        return memoryview(buf)[:n]


_FIRST_BUFFER = 1 << 20
_IDENTITY = frozenset({"", "identity"})


def _body_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body's bytes: as received when not content-encoded (httpx's decoder chain, a few
    Python calls per 64 KiB read, is then a no-op: ~0.03 CPU s per M values), else decoded."""
    if _identity(response) and not response.is_stream_consumed:
        return response.iter_raw()
    return response.iter_bytes()  # also a body already read (a test transport gives those)


def _identity(response: httpx.Response) -> bool:
    return response.headers.get("content-encoding", "").strip().lower() in _IDENTITY


def _receive_buffer(local: threading.local) -> bytearray:
    """This thread's receive buffer; a new one when a view of the last one is still alive."""
    buf: bytearray | None = getattr(local, "buf", None)
    if buf is not None:
        try:  # a buffer with a live view refuses to change size; shrinking by one and growing
            del buf[-1:]  # back stays within its allocation (no copy)
        except BufferError:
            buf = None
        else:
            buf.append(0)
    if buf is None:
        buf = local.buf = bytearray(_FIRST_BUFFER)
    return buf


def choose_transport(
    settings: PiWebApiSettings, verify: ssl.SSLContext | bool
) -> httpx.BaseTransport | None:
    """``StdlibTransport`` unless the auth needs a connection of its own (None: httpx's)."""
    if settings.auth in _CONNECTION_BOUND_AUTH:
        return None
    return StdlibTransport(
        verify=verify,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
    )


def raise_for_status(status: int, message: str, retry_after: float | None, what: str) -> None:
    """Translate a non-success status (of a response, a batch item or a WebException)."""
    if status in (200, 207):
        return
    if status in _RETRY_STATUSES or status >= 500:
        raise RetryableError(f"HTTP {status}: {message}", retry_after)
    if status == 400:
        match = _MAX_ALLOWED.search(message)
        if match is not None or "maximum allowed" in message.lower():
            raise PageSizeTooLargeError(message, int(match[1]) if match else None)
        raise SourceError(f"PI Web API rejected {what} (400): {message}")
    if status == 401:
        raise SourceError(
            f"PI Web API refused authentication for {what} (401): {message}. Check the auth "
            "setting and its username/password or token; with Kerberos, the ticket (klist) and "
            "the service principal of the PI Web API host."
        )
    if status == 403:
        raise SourceError(
            f"PI Web API forbade {what} (403): {message}. Either the account may not read these "
            "points, or the request lacked the X-Requested-With header that PI Web API's CSRF "
            "defence requires on every non-GET (NAIA sends it; a proxy may strip it)."
        )
    if status == 404:
        raise SourceError(
            f"PI Web API {what} not found (404): {message}. Does base_url end with /piwebapi?"
        )
    if status == 413:
        raise SourceError(f"PI Web API {what} too large (413); lower points_per_request")
    raise SourceError(f"PI Web API {what} failed ({status}): {message}")


def raise_for_web_exception(exc: WebException, what: str) -> None:
    """A ``WebException`` inside a 200: 5xx → retry, 400 max allowed → smaller pages, else fail."""
    message = "; ".join(exc.Errors) or "no message"
    raise_for_status(exc.StatusCode, message, None, what)
    raise SourceError(f"PI Web API {what} reported an error ({exc.StatusCode}): {message}")


def parse_retry_after(value: str | None, retry: RetrySettings) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), retry.retry_after_max_s)


def _retry_after(error: BaseException) -> float | None:
    return error.retry_after if isinstance(error, RetryableError) else None


def tls_verify(settings: PiWebApiSettings) -> ssl.SSLContext | bool:
    if settings.ca_bundle is not None:
        try:
            return ssl.create_default_context(cafile=str(settings.ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise SourceError(f"ca_bundle {settings.ca_bundle} cannot be used: {exc}") from exc
    if not settings.verify_tls:
        log.warning("TLS certificate verification is OFF for %s", settings.base_url)
    return settings.verify_tls


def build_auth(settings: PiWebApiSettings, importer: Importer) -> httpx.Auth | None:
    if settings.auth == "none":
        return None
    if settings.auth == "bearer":
        return BearerAuth(_need(settings.token, "token"))
    if settings.auth == "kerberos":
        gssapi = _optional(importer, "httpx_gssapi", KERBEROS_PIN, "kerberos")
        return cast(httpx.Auth, gssapi.HTTPSPNEGOAuth(mutual_authentication=gssapi.OPTIONAL))
    username = _need(settings.username, "username").get_secret_value()
    password = _need(settings.password, "password").get_secret_value()
    if settings.auth == "ntlm":
        ntlm = _optional(importer, "httpx_ntlm", NTLM_PIN, "ntlm")
        return cast(httpx.Auth, ntlm.HttpNtlmAuth(username, password))
    return httpx.BasicAuth(username, password)


def _need(secret: SecretStr | None, name: str) -> SecretStr:
    if secret is None:
        raise SourceError(f"PI Web API auth needs {name}")
    return secret


def _optional(importer: Importer, module: str, pin: str, auth: str) -> ModuleType:
    try:
        return importer(module)
    except ImportError as exc:
        raise ConnectorUnavailableError(
            f"PI Web API auth '{auth}' needs the {pin.split('==', maxsplit=1)[0]} package: "
            f"pip install {pin} (see docs/piwebapi.md)"
        ) from exc
