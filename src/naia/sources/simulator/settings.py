"""Simulator options, globally and per point."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PointOptions(BaseModel):
    """How a simulated point records events. Defaults: one good event a minute on the minute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_seconds: float = Field(default=60.0, gt=0)
    irregular: bool = False
    same_timestamp_rate: float = Field(default=0.0, ge=0, le=1)
    system_state_rate: float = Field(default=0.0, ge=0, le=1)
    gap_rate: float = Field(default=0.0, ge=0, lt=1)
    digital_states: tuple[str, ...] | None = Field(
        default=None, min_length=2, description="make the point digital with these states"
    )


REALISTIC = PointOptions(
    interval_seconds=60.0,
    irregular=True,
    same_timestamp_rate=0.01,
    system_state_rate=0.005,
    gap_rate=0.1,
)


class SimulatorSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    defaults: PointOptions = PointOptions()
    points: dict[str, PointOptions] = Field(default_factory=dict)
    batch_rows: int = Field(default=131_072, gt=0)

    def options_for(self, point: str) -> PointOptions:
        return self.points.get(point.upper(), self.points.get(point, self.defaults))
