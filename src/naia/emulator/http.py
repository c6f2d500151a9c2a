"""The emulator's own request/reply types, independent of any web framework.

Handlers take a :class:`Call` and return a :class:`Reply`; the ASGI layer and the batch executor
both go through them, so a batch sub-request behaves exactly like the same request over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from naia.emulator.render import json_bytes

JSON_TYPE = b"application/json; charset=utf-8"


class ApiError(Exception):
    """An error answered as ``{"Errors":[...]}`` with ``status``."""

    def __init__(self, status: int, *errors: str) -> None:
        super().__init__(errors[0] if errors else str(status))
        self.status = status
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Query:
    """Query parameters; names are case-insensitive as in ASP.NET, values keep their order."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Query:
        return cls(tuple((k.lower(), v) for k, v in parse_qsl(text, keep_blank_values=True)))

    def get(self, name: str) -> str | None:
        lower = name.lower()
        for key, value in self.pairs:
            if key == lower:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        lower = name.lower()
        return [v for k, v in self.pairs if k == lower]

    def get_int(self, name: str, default: int) -> int:
        text = self.get(name)
        if text is None or not text.strip():
            return default
        try:
            return int(text)
        except ValueError:
            raise ApiError(400, f"The value '{text}' is not valid for {name}.") from None

    def get_bool(self, name: str, default: bool) -> bool:
        text = self.get(name)
        if text is None or not text.strip():
            return default
        if text.strip().lower() in ("true", "false"):
            return text.strip().lower() == "true"
        raise ApiError(400, f"The value '{text}' is not valid for {name}.")


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the handlers see it. ``base`` is ``scheme://host/piwebapi``."""

    method: str
    path: str
    query: Query
    base: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    web_exception: bool = False  # fault injection: answer data with a WebException inside a 200
    fault_index: int = 0


@dataclass(frozen=True, slots=True)
class Reply:
    """A response. ``stream``, when set, follows ``chunks`` and is rendered while sending
    (chunked transfer, no Content-Length), so the client reads while the server renders."""

    status: int
    chunks: Sequence[bytes]
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())
    content_type: bytes = JSON_TYPE
    stream: Iterator[bytes] | None = None

    @property
    def length(self) -> int | None:
        return None if self.stream is not None else sum(len(c) for c in self.chunks)

    def materialized(self) -> list[bytes]:
        """All chunks, the streamed ones rendered now (consumes ``stream``)."""
        return [*self.chunks, *(self.stream or ())]

    def body(self) -> bytes:
        return b"".join(self.materialized())


def json_reply(value: object, status: int = 200) -> Reply:
    return Reply(status, (json_bytes(value),))


def error_reply(error: ApiError) -> Reply:
    return json_reply({"Errors": list(error.errors)}, error.status)
