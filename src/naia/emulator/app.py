"""The ASGI application: request intake, faults, auth, CSRF, routing, and the response bytes.

A plain ASGI callable rather than a framework app, so that faults can act on the wire: a dropped
connection must close the socket before ``http.response.start`` (see :mod:`faults`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Callable

from starlette.types import Receive, Scope, Send

from naia.emulator import routes
from naia.emulator.auth import check_auth, check_csrf
from naia.emulator.context import Emulator
from naia.emulator.faults import (
    Fault,
    FaultPlan,
    drop_connection,
    send_truncated,
    start_message,
)
from naia.emulator.http import Call, Query, Reply, json_reply
from naia.emulator.pace import Pace, ResponseClock
from naia.emulator.pitime import now_us
from naia.emulator.settings import EmulatorSettings, FaultKind, FaultSettings

SEND_CHUNK = 512 * 1024
"""Body bytes per ASGI message. Each message costs a pass through uvicorn and h11 (tens of µs
of Python): at 64 KiB that was most of the emulator's CPU serving a warm page cache. A rendered
chunk up to this size goes out as it is (no copy); a bigger one is cut. Under 1 MiB, the mmap
threshold of NAIA's memory policy, so a joined message comes from the heap."""
_ALONE = SEND_CHUNK // 4  # a chunk this big is a message of its own (small ones are joined)


class EmulatorApp:
    """``await app(scope, receive, send)``; ``app.emulator`` exposes the shared state."""

    def __init__(self, settings: EmulatorSettings, clock: Callable[[], int] | None = None) -> None:
        self.emulator = Emulator(settings, clock or now_us)
        self.faults = FaultPlan(settings.faults)
        self.pace = Pace.of(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        clock = self.pace.clock()
        call = _call(scope, await _read_body(receive))
        if clock is not None:
            await clock.latency()
        kind = routes.kind_of(call.method, call.path)
        fault = self.faults.draw(kind) if kind is not None else None
        if fault is not None and await _early_fault(fault, send, self.faults.settings):
            return
        reply = self._reply(call, fault)
        if fault is not None and fault.kind is FaultKind.TRUNCATE and reply.status < 400:
            await send_truncated(send, reply)
            return
        await send_reply(send, reply, clock)

    def _reply(self, call: Call, fault: Fault | None) -> Reply:
        settings = self.emulator.settings
        headers = dict(call.headers)
        denied = check_auth(settings, headers.get("authorization"))
        if denied is not None:
            return denied
        forbidden = check_csrf(call.method, headers.get("x-requested-with"))
        if forbidden is not None:
            return forbidden
        if fault is not None and fault.kind is FaultKind.WEB_EXCEPTION:
            call = dataclasses.replace(call, web_exception=True, fault_index=fault.index)
        return routes.dispatch(self.emulator, call)


def create_app(
    settings: EmulatorSettings | None = None, clock: Callable[[], int] | None = None
) -> EmulatorApp:
    """The emulator as an ASGI app. ``clock`` (µs since the epoch) serves ``*`` and ``t``."""
    return EmulatorApp(settings or EmulatorSettings(), clock)


async def _early_fault(fault: Fault, send: Send, settings: FaultSettings) -> bool:
    """Act on faults that come before the handler; True when the request is finished."""
    if fault.kind is FaultKind.DROP:
        await drop_connection(send)
        return True
    if fault.kind in (FaultKind.THROTTLE, FaultKind.UNAVAILABLE):
        await send_reply(send, _refusal(fault.kind, settings.retry_after_seconds))
        return True
    if fault.kind is FaultKind.SLOW:
        await pause(settings.slow_seconds)
    return False


async def pause(seconds: float) -> None:
    """The wait of a slow response (a seam for tests)."""
    await asyncio.sleep(seconds)


def _refusal(kind: FaultKind, retry_after: int) -> Reply:
    if kind is FaultKind.THROTTLE:
        status, text = 429, "Too many requests: the request rate limit was exceeded."
    else:
        status, text = 503, "The service is temporarily unavailable."
    body = json_reply({"Errors": [text]}, status)
    return Reply(status, body.chunks, headers=((b"retry-after", str(retry_after).encode()),))


async def send_reply(send: Send, reply: Reply, clock: ResponseClock | None = None) -> None:
    """The reply in messages of up to SEND_CHUNK bytes, a rendered page chunk as it is, each
    sent once ``clock`` allows it."""
    await send(start_message(reply, reply.length))
    pending: list[bytes] = []
    size = 0
    for chunk in itertools.chain(reply.chunks, reply.stream or ()):
        if clock is not None:
            clock.count(chunk)
        if len(chunk) >= _ALONE:  # a rendered page: out as it is, after what is pending
            if pending:
                await _paced_body(send, b"".join(pending), clock, more=True)
                pending, size = [], 0
            for start in range(0, len(chunk), SEND_CHUNK):
                piece = chunk if len(chunk) <= SEND_CHUNK else chunk[start : start + SEND_CHUNK]
                await _paced_body(send, piece, clock, more=True)
            continue
        pending.append(chunk)
        size += len(chunk)
        if size >= SEND_CHUNK:
            await _paced_body(send, b"".join(pending), clock, more=True)
            pending, size = [], 0
    await _paced_body(send, b"".join(pending), clock, more=False)


async def _paced_body(send: Send, data: bytes, clock: ResponseClock | None, more: bool) -> None:
    if clock is not None:
        await clock.values_sent()
    await _body(send, data, more)


async def _body(send: Send, data: bytes, more: bool) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _call(scope: Scope, body: bytes) -> Call:
    headers = tuple(
        (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])
    )
    host = dict(headers).get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    scheme = scope.get("scheme", "http")
    query = scope.get("query_string", b"").decode("utf-8", errors="replace")
    return Call(
        method=scope["method"].upper(),
        path=scope["path"],
        query=Query.parse(query),
        base=f"{scheme}://{host}/piwebapi",
        body=body,
        headers=headers,
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
