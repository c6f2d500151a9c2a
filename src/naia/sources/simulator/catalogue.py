"""The classic PI default points, plus a numbered family ``SIM.<n>`` for large tests."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

SYSTEM_STATES: tuple[tuple[int, str], ...] = (
    (246, "I/O Timeout"),
    (248, "No Data"),
    (253, "Pt Created"),
    (254, "Shutdown"),
    (255, "Bad Input"),
)


@dataclass(frozen=True, slots=True)
class PointDef:
    name: str
    point_type: str  # Float32, Digital
    wave: str  # sine, noisy, ramp, digital
    low: float = 0.0
    high: float = 100.0
    period_s: float = 43_200.0
    phase: float = 0.0
    digital_set: str | None = None
    states: tuple[str, ...] = ()
    units: str = ""
    descriptor: str = ""

    @property
    def seed(self) -> int:
        return zlib.crc32(self.name.encode())

    @property
    def is_digital(self) -> bool:
        return self.point_type == "Digital"


_CLASSIC = (
    PointDef("SINUSOID", "Float32", "sine", 0, 100, 43_200, 0.0, descriptor="12 Hour Sine Wave"),
    PointDef("SINUSOIDU", "Float32", "sine", 0, 100, 43_200, 1.0, descriptor="12 Hour Sine Wave"),
    PointDef("CDT158", "Float32", "noisy", 50, 250, 21_600, 0.3, units="deg C",
             descriptor="Light Naphtha End Point"),
    PointDef("CDM158", "Digital", "digital", digital_set="Modes",
             states=("Manual", "Auto", "Cascade", "Program", "Prog-Auto"),
             descriptor="Control Mode"),
    PointDef("BA:TEMP.1", "Float32", "ramp", 20, 90, 3_600, 0.0, units="deg C",
             descriptor="Batch Reactor Temperature"),
    PointDef("BA:LEVEL.1", "Float32", "ramp", 0, 100, 3_600, 0.25, units="%",
             descriptor="Batch Reactor Level"),
    PointDef("BA:CONC.1", "Float32", "ramp", 0, 15, 3_600, 0.5, units="g/l",
             descriptor="Batch Reactor Concentration"),
    PointDef("BA:ACTIVE.1", "Digital", "digital", digital_set="BatchAct",
             states=("Inactive", "Active"), descriptor="Batch Active"),
    PointDef("BA:PHASE.1", "Digital", "digital", digital_set="Phases",
             states=tuple(f"Phase{i}" for i in range(1, 9)), descriptor="Batch Phase"),
)  # fmt: skip

CLASSIC_POINTS: dict[str, PointDef] = {p.name: p for p in _CLASSIC}
_NUMBERED = re.compile(r"^SIM\.(\d{1,7})$")


def find_point(name: str) -> PointDef | None:
    """Case-insensitive, as PI tag names are."""
    key = name.strip().upper()
    if key in CLASSIC_POINTS:
        return CLASSIC_POINTS[key]
    match = _NUMBERED.match(key)
    if match is None:
        return None
    n = int(match[1])
    return PointDef(
        key,
        "Float32",
        "noisy",
        0,
        100,
        3_600.0 * (1 + n % 24),
        (n % 97) / 97,
        units="",
        descriptor=f"Simulated point {n}",
    )


def all_classic() -> list[PointDef]:
    return list(_CLASSIC)
