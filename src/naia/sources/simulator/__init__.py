"""Simulator source: the classic PI points (SINUSOID, CDT158, …), deterministic and vectorised."""

from naia.sources.simulator.settings import PointOptions, SimulatorSettings
from naia.sources.simulator.source import SimulatorSource

__all__ = ["PointOptions", "SimulatorSettings", "SimulatorSource"]
