"""The stand-in's port of the Simulator's generator gives the very same events, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from naia.sources.simulator.catalogue import all_classic, find_point
from naia.sources.simulator.generate import generate
from naia.sources.simulator.settings import REALISTIC, PointOptions
from tests.clr.standin import DEFAULT, archive
from tests.clr.standin import REALISTIC as REALISTIC_SERVER

pytestmark = pytest.mark.clr

POINTS = [p.name for p in all_classic()] + ["SIM.0", "SIM.7", "SIM.123", "SIM.9999999"]
START_US = 1_767_225_600_000_000  # 2026-01-01
DAYS_US = 86_400_000_000


def _copy(array: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    with memoryview(array) as view:
        return np.frombuffer(view, dtype=dtype).copy()


@pytest.mark.parametrize(
    ("server", "options", "days"),
    [(DEFAULT, PointOptions(), 30), (REALISTIC_SERVER, REALISTIC, 60)],
)
def test_port_equals_the_python_generator_bit_for_bit(
    server: str, options: PointOptions, days: int
) -> None:
    end_us = START_US + days * DAYS_US
    total = 0
    for name in POINTS:
        definition = find_point(name)
        assert definition is not None
        expected = generate(definition, options, START_US, end_us)
        ts, values, state, system = archive().Events(
            server, name, START_US, end_us, None, None, None, None
        )
        value = _copy(values, np.float64)
        numbers = ~np.isnan(expected.value)
        assert np.array_equal(_copy(ts, np.int64), expected.ts_us), name
        assert np.array_equal(np.isnan(value), ~numbers), name
        assert np.array_equal(value[numbers].view(np.int64), expected.value[numbers].view(np.int64))
        assert np.array_equal(_copy(state, np.int32), expected.state_index), name
        assert np.array_equal(np.array(list(system), dtype=bool), expected.is_system), name
        total += len(expected)
    assert total > 500_000


def test_port_starts_before_1970_too() -> None:
    """Negative slots: floor division and numpy's mod are ported, not C#'s truncation."""
    start, end = -3 * DAYS_US - 1234, -DAYS_US + 777
    expected = generate(find_point("CDT158"), REALISTIC, start, end)  # type: ignore[arg-type]
    ts, values, _, _ = archive().Events(
        REALISTIC_SERVER, "CDT158", start, end, None, None, None, None
    )
    assert np.array_equal(_copy(ts, np.int64), expected.ts_us)
    assert np.array_equal(_copy(values, np.float64), expected.value, equal_nan=True)
