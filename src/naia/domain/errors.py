"""The one error root of NAIA and its two markers.

    NaiaError
     ├── InvalidRequestError     bad input; names the field (HTTP 400, CLI exit 2)
     ├── NotFoundError           unknown request id (HTTP 404)
     ├── ConflictError           an Idempotency-Key reused for another request; a request whose
     │                           state forbids the operation now, e.g. verify while running (409)
     ├── ConnectorUnavailableError  connector type not installed here (HTTP 400)
     ├── TransientError          marker: worth retrying (timeouts, 429/503, dropped connections;
     │    │                      HTTP 503 with Retry-After when a request meets one)
     │    ├── SourceTransientError
     │    ├── DependencyUnavailableError  Kafka, QuestDB or Redis cannot be reached (names which)
     │    └── GenerationLostError  offsets not committed: the consumer left its group generation
     └── TerminalError           marker: retrying will not help; report and go on
          ├── UnknownPointError  names the points the source does not know
          ├── SourceError        a source answered with something we cannot use
          ├── RequestCancelledError  the request was cancelled while a chunk ran
          └── DecodeError        a Kafka message that cannot be decoded (to the DLQ)

Adapters translate library exceptions at their boundary:
``raise SourceTransientError(...) from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence


class NaiaError(Exception):
    """Root of every error NAIA raises on purpose."""


class InvalidRequestError(NaiaError):
    """Bad input. ``field`` names the offending request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFoundError(NaiaError):
    """A request id that does not exist."""


class ConflictError(NaiaError):
    """The request contradicts one already made (an Idempotency-Key reused for another body),
    or the state of the request it names forbids it now (verify while it runs)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ConnectorUnavailableError(NaiaError):
    """The connector type exists but cannot run in this installation."""


class TransientError(NaiaError):
    """Marker: the same operation may succeed if retried later."""


class DependencyUnavailableError(TransientError):
    """A service NAIA depends on (``dependency``: kafka, questdb, redis) did not answer."""

    def __init__(self, dependency: str, message: str) -> None:
        super().__init__(message)
        self.dependency = dependency


class GenerationLostError(TransientError):
    """Offsets were refused because the consumer is no longer a member of its group's current
    generation (a broker restart, a rebalance, a long pause): the group is joined again and the
    uncommitted messages are delivered again."""


class TerminalError(NaiaError):
    """Marker: retrying the same operation will not help."""


class SourceTransientError(TransientError):
    """A source failed in a way that is worth retrying (timeout, throttling, dropped link)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceUnreachableError(SourceTransientError):
    """The source did not answer at all (connection refused, no connection within the timeout):
    the server is down or restarting. A chunk is not failed for it: the orchestrator waits for
    the source, as long as it takes, and reads the chunk again."""


class SourceError(TerminalError):
    """A source failed in a way that retrying will not fix."""


class UnknownPointError(TerminalError):
    """The source does not know these points."""

    def __init__(self, points: Sequence[str]) -> None:
        self.points = tuple(points)
        names = ", ".join(self.points)
        super().__init__(f"unknown point(s): {names}")


class RequestCancelledError(TerminalError):
    """The request was cancelled; the chunk in progress was rolled back."""


class DecodeError(TerminalError):
    """A message that cannot be decoded: it goes to the dead-letter topic."""
