"""How the emulator hands a reply's body to the ASGI server."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from naia.emulator.app import SEND_CHUNK, send_reply
from naia.emulator.http import Reply


def _sent(reply: Reply) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(dict(message))

    asyncio.run(send_reply(send, reply))
    return messages


def test_a_warm_page_goes_out_in_few_messages_without_copies() -> None:
    """A cached stream's Items (~345 kB at 2,500 values) is one ASGI message as it is: each
    message costs a pass through uvicorn and h11, and a 64 KiB cut cost most of the emulator's
    CPU on a warm cache."""
    items = [bytes([65 + i]) * 345_000 for i in range(10)]
    head = b'{"Items":['
    messages = _sent(Reply(200, [head, *items, b"]}"]))
    bodies = [m["body"] for m in messages if m["type"] == "http.response.body"]
    assert b"".join(bodies) == head + b"".join(items) + b"]}"
    assert len(bodies) <= 12
    assert sum(1 for body in bodies for item in items if body is item) >= 8  # sent uncopied
    assert [m["more_body"] for m in messages[1:]] == [True] * (len(bodies) - 1) + [False]


def test_a_chunk_bigger_than_a_message_is_cut() -> None:
    big = bytes(range(256)) * (3 * SEND_CHUNK // 256 + 7)
    bodies = [m["body"] for m in _sent(Reply(200, [big])) if m["type"] == "http.response.body"]
    assert b"".join(bodies) == big
    assert max(len(b) for b in bodies) <= SEND_CHUNK
    assert messages_length(bodies) == len(big)


def messages_length(bodies: list[bytes]) -> int:
    return sum(len(b) for b in bodies)
