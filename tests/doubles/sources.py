"""In-memory fakes for unit tests: a provider and sources that fail on purpose."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import pyarrow as pa

from naia.domain.errors import (
    ConnectorUnavailableError,
    SourceError,
    SourceTransientError,
    SourceUnreachableError,
)
from naia.domain.model import ConnectorType
from naia.domain.ports import Source
from naia.sources.simulator import SimulatorSettings, SimulatorSource


class FlakySource:
    """Wraps a source; raises on chosen windows: transient ``transient`` times, or forever;
    ``down_for`` reads in all find the server away (``SourceUnreachableError``)."""

    def __init__(
        self,
        inner: Source,
        transient: dict[datetime, int] | None = None,
        broken: set[datetime] | None = None,
        fail_after_batches: int | None = None,
        down_for: int = 0,
    ) -> None:
        self.inner = inner
        self.down_for = down_for
        self.transient = dict(transient or {})
        self.broken = set(broken or ())
        self.reads = 0
        self.fail_after_batches = fail_after_batches

    def check_points(self, points: Sequence[str]) -> None:
        self.inner.check_points(points)

    def read(
        self, points: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        self.reads += 1
        if self.reads <= self.down_for:
            raise SourceUnreachableError("connection refused")
        if start in self.broken:
            raise SourceError(f"window {start} is broken")
        if self.transient.get(start, 0) > 0:
            self.transient[start] -= 1
            raise SourceTransientError("503 Service Unavailable", retry_after=0.0)
        for n, batch in enumerate(self.inner.read(points, start, end)):
            if self.fail_after_batches is not None and n >= self.fail_after_batches:
                raise SourceTransientError("connection dropped mid-chunk")
            yield batch

    def close(self) -> None:
        self.inner.close()


class Provider:
    """A SourceProvider that hands out one given source for the Simulator type."""

    def __init__(self, source: Source | None = None) -> None:
        self.source = source or SimulatorSource(SimulatorSettings())

    def check(self, connector_type: ConnectorType) -> None:
        if connector_type is not ConnectorType.SIMULATOR:
            raise ConnectorUnavailableError(f"{connector_type.value} is not installed")

    def open(self, connector_type: ConnectorType) -> Source:
        self.check(connector_type)
        return self.source
