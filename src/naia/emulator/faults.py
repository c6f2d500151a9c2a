"""Seeded fault injection.

Every request to an endpoint kind listed in ``FaultSettings.endpoints`` takes the next number n of
a counter; ``random.Random(f"{seed}:{n}")`` decides whether it faults (probability ``rate``) and
which enabled kind it gets, so a given seed and request sequence always gives the same faults.
A WebException fault applies only to data endpoints (stream, streamset, batch).

Socket-level faults need the server's transport: under uvicorn the ASGI ``send`` callable is a
bound method of the request cycle, which holds the asyncio transport. A dropped connection aborts
it before any byte is written; a truncated body sends the headers with the full Content-Length,
half of the body, and then closes. Without a transport (an in-process test client) a drop raises
:class:`ConnectionDroppedError` and a truncated body simply ends early.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass

from starlette.types import Send

from naia.emulator.http import Reply
from naia.emulator.settings import EndpointKind, FaultKind, FaultSettings

_DATA = frozenset({EndpointKind.STREAM, EndpointKind.STREAMSET, EndpointKind.BATCH})
_CLOSE_WAIT_S = 5.0


class ConnectionDroppedError(ConnectionError):
    """Raised in-process where no socket can be closed."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    index: int  # a further deterministic draw, e.g. which stream of a streamset fails


class FaultPlan:
    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._count = 0
        self._lock = threading.Lock()

    def draw(self, endpoint: EndpointKind) -> Fault | None:
        s = self.settings
        if s.rate <= 0 or endpoint not in s.endpoints:
            return None
        with self._lock:
            n = self._count
            self._count += 1
        rng = random.Random(f"{s.seed}:{n}")
        if rng.random() >= s.rate:
            return None
        kinds = sorted(k for k in s.kinds if k is not FaultKind.WEB_EXCEPTION or endpoint in _DATA)
        if not kinds:
            return None
        return Fault(rng.choice(kinds), rng.randrange(1 << 30))


def _owner(send: Send) -> object | None:
    return getattr(send, "__self__", None)


def _transport(send: Send) -> asyncio.Transport | None:
    transport = getattr(_owner(send), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


async def drop_connection(send: Send) -> None:
    """Close the socket without sending a byte of response."""
    transport = _transport(send)
    if transport is None:
        raise ConnectionDroppedError("emulated dropped connection")
    transport.abort()
    await _closed(send)


async def send_truncated(send: Send, reply: Reply) -> None:
    """Headers with the full Content-Length, then half of the body, then the socket closes."""
    body = reply.body()
    await send(start_message(reply, len(body)))
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    transport = _transport(send)
    if transport is None:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    transport.close()
    await _closed(send)


def start_message(reply: Reply, length: int | None) -> dict[str, object]:
    headers = [(b"content-type", reply.content_type), *reply.headers]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": reply.status, "headers": headers}


async def _closed(send: Send) -> None:
    """Wait until the server saw the connection go, so it does not answer a 500 itself."""
    owner = _owner(send)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _CLOSE_WAIT_S
    while not getattr(owner, "disconnected", True) and loop.time() < deadline:
        await asyncio.sleep(0.001)
