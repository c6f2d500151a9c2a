"""Split [start, end) into chunks of ``chunk_size`` and the point list into groups."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from naia.domain.errors import InvalidRequestError
from naia.domain.model import BackfillSpec, WorkUnit


@dataclass(frozen=True, slots=True)
class Limits:
    max_points: int = 10_000
    max_chunks: int = 100_000
    points_per_unit: int = 1_000


@dataclass(frozen=True, slots=True)
class Plan:
    request_id: str
    spec: BackfillSpec
    windows: tuple[tuple[datetime, datetime], ...]
    groups: tuple[tuple[str, ...], ...]

    @property
    def total_units(self) -> int:
        return len(self.windows) * len(self.groups)

    def unit(self, index: int) -> WorkUnit:
        """Units run time-major: every point group of window 0, then window 1, …"""
        window, group = divmod(index, len(self.groups))
        start, end = self.windows[window]
        return WorkUnit(self.request_id, index, self.groups[group], start, end, window, group)

    def units(self) -> list[WorkUnit]:
        return [self.unit(i) for i in range(self.total_units)]


def validate_spec(spec: BackfillSpec, limits: Limits) -> None:
    """Raise InvalidRequestError naming the field for anything the planner cannot run."""
    if spec.end <= spec.start:
        raise InvalidRequestError("endTime", "must be after startTime")
    if not spec.points:
        raise InvalidRequestError("pointAddresses", "must list at least one point")
    blank = [p for p in spec.points if not p.strip()]
    if blank:
        raise InvalidRequestError("pointAddresses", "point addresses must not be blank")
    _check_duplicates(spec.points)
    if len(spec.points) > limits.max_points:
        raise InvalidRequestError(
            "pointAddresses",
            f"{len(spec.points)} points is more than the maximum of {limits.max_points}",
        )
    if spec.chunk_size.total_seconds() <= 0:
        raise InvalidRequestError("chunkSize", "must be greater than zero")
    chunks = window_count(spec) * group_count(len(spec.points), limits.points_per_unit)
    if chunks > limits.max_chunks:
        raise InvalidRequestError(
            "chunkSize",
            f"the request would need {chunks} chunks, more than the maximum of "
            f"{limits.max_chunks}; use a larger chunkSize or a shorter range",
        )


def _check_duplicates(points: tuple[str, ...]) -> None:
    """PI point names are case-insensitive: ``SINUSOID`` and ``sinusoid`` are the same point."""
    seen: dict[str, str] = {}
    dupes: list[str] = []
    for point in points:
        key = point.strip().casefold()
        if key not in seen:
            seen[key] = point
            continue
        first = seen[key]
        same = first if first == point else f"{first} = {point}"
        if same not in dupes:
            dupes.append(same)
    if dupes:
        raise InvalidRequestError(
            "pointAddresses",
            f"duplicate point(s) (PI point names ignore case): {', '.join(dupes)}",
        )


def window_count(spec: BackfillSpec) -> int:
    return math.ceil((spec.end - spec.start) / spec.chunk_size)


def group_count(points: int, per_unit: int) -> int:
    return math.ceil(points / per_unit)


def make_plan(request_id: str, spec: BackfillSpec, limits: Limits) -> Plan:
    validate_spec(spec, limits)
    windows = []
    start = spec.start
    while start < spec.end:
        end = start + min(spec.chunk_size, spec.end - start)  # never past endTime (nor year 9999)
        windows.append((start, end))
        start = end
    size = limits.points_per_unit
    groups = tuple(spec.points[i : i + size] for i in range(0, len(spec.points), size))
    return Plan(request_id, spec, tuple(windows), groups)
