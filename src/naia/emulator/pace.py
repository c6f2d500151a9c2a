"""A slowed server: a latency per request and a values/s cap per response, both awaited.

A real PI Web API answers a recorded read after a round trip plus the Data Archive's work, and
streams its JSON at a bounded rate. ``EmulatorSettings.latency_ms`` delays every request before
it is handled; ``EmulatorSettings.values_per_s`` paces each response so that one of N values
ends no sooner than ``latency + N / values_per_s`` after the request arrived. Values are counted
as the timed values in the body (``"Timestamp"`` keys) while it is sent.

Both waits are ``asyncio.sleep``: the server's one event loop goes on serving other requests
meanwhile, so concurrent requests overlap as on a real server (only rendering takes the loop).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from naia.emulator.settings import EmulatorSettings

VALUE_KEY = b'"Timestamp"'


@dataclass(frozen=True, slots=True)
class Pace:
    """The emulator's pacing: ``latency_s`` per request, ``values_per_s`` per response (0: none)."""

    latency_s: float = 0.0
    values_per_s: float = 0.0

    @classmethod
    def of(cls, settings: EmulatorSettings) -> Pace:
        return cls(settings.latency_ms / 1000.0, settings.values_per_s)

    @property
    def active(self) -> bool:
        return self.latency_s > 0 or self.values_per_s > 0

    def clock(self) -> ResponseClock | None:
        """A clock for one request, started now; None when nothing is paced."""
        if not self.active:
            return None
        return ResponseClock(asyncio.get_running_loop().time(), self)


class ResponseClock:
    """One request's pacing: wait out the latency, then count values as they are sent."""

    def __init__(self, arrived: float, pace: Pace) -> None:
        self._arrived = arrived
        self._pace = pace
        self.values = 0

    async def latency(self) -> None:
        await _sleep_until(self._arrived + self._pace.latency_s)

    def count(self, data: bytes) -> None:
        if self._pace.values_per_s > 0:
            self.values += data.count(VALUE_KEY)

    async def values_sent(self) -> None:
        """Wait until the values counted so far may have left at the capped rate."""
        if self._pace.values_per_s > 0 and self.values:
            due = self._arrived + self._pace.latency_s + self.values / self._pace.values_per_s
            await _sleep_until(due)


async def _sleep_until(deadline: float) -> None:
    loop = asyncio.get_running_loop()
    delay = deadline - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)
