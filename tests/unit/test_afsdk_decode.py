"""AF SDK values → columns: ticks to microseconds, status flags, states, seq continuation."""

from __future__ import annotations

import numpy as np
import pytest

from naia.sources.afsdk.decode import (
    EPOCH_TICKS,
    columns,
    continued_seq,
    decode_status,
    split_values,
    ticks_to_us,
    us_to_ticks,
)
from naia.sources.simulator import SimulatorSource
from tests.doubles.afsdk_fake import (
    AFEnumerationValue,
    AFValueStatus,
    FakePISystem,
    PIPoint,
    PIServer,
    _Columns,
)
from tests.doubles.afsdk_fake import AFValues as FakeAFValues


def test_epoch_ticks_is_1970_in_dotnet_ticks() -> None:
    days = 719_162  # 0001-01-01 .. 1970-01-01
    assert days * 86_400 * 10_000_000 == EPOCH_TICKS


def test_ticks_floor_to_microseconds_on_both_sides_of_1970() -> None:
    ticks = np.array([EPOCH_TICKS, EPOCH_TICKS + 9, EPOCH_TICKS + 10, EPOCH_TICKS - 1])
    assert ticks_to_us(ticks).tolist() == [0, 0, 1, -1]
    us = 1_767_916_800_123_456  # 2026-01-09T00:00:00.123456Z
    assert ticks_to_us(np.array([us_to_ticks(us) + 7])).tolist() == [us]


@pytest.mark.parametrize(
    ("status", "flags"),
    [
        (AFValueStatus.Good, (True, False, False, False)),
        (AFValueStatus.Bad, (False, False, False, False)),
        (AFValueStatus.Questionable, (True, True, False, False)),
        (AFValueStatus.Good | AFValueStatus.Substituted, (True, False, True, False)),
        (AFValueStatus.Questionable | 8, (True, True, True, False)),
        (AFValueStatus.BadSubstituteValue, (False, False, True, False)),
        (AFValueStatus.Good | AFValueStatus.Annotated, (True, False, False, True)),
        (AFValueStatus.Questionable | 24, (True, True, False, False)),
    ],
)
def test_status_flags_decode_as_afvalue_defines_them(
    status: int, flags: tuple[bool, bool, bool, bool]
) -> None:
    decoded = decode_status(np.array([int(status)], dtype=np.int64))
    assert tuple(bool(column[0]) for column in decoded) == flags


def test_values_split_into_numbers_and_states() -> None:
    values = [1.5, 2, AFEnumerationValue("Auto", 1), AFEnumerationValue("Shutdown", 254, True), "x"]
    value, state, is_system = split_values(values)
    assert value[:2].tolist() == [1.5, 2.0] and np.isnan(value[2:]).all()
    assert state == [None, None, "Auto", "Shutdown", "x"]
    assert is_system.tolist() == [False, False, False, True, False]


def test_all_numbers_take_the_fast_path_without_a_state_column() -> None:
    value, state, is_system = split_values([0.0, 1.25, 3])
    assert value.tolist() == [0.0, 1.25, 3.0] and state is None and not is_system.any()


def test_system_state_is_not_good_even_with_a_good_status() -> None:
    data = _Columns(
        np.array([0, 1], dtype=np.int64), np.array([np.nan, np.nan]),
        np.array([0, 0], dtype=np.int32), np.array([True, True]), np.array([True, True]),
        ("I/O Timeout",), np.array([246], dtype=np.int32),
    )  # fmt: skip
    server = PIServer(FakePISystem(SimulatorSource()), "PISRV01")
    converted = columns(FakeAFValues(PIPoint(server, "SINUSOID", 1), data))
    assert converted.state == ["I/O Timeout", "I/O Timeout"]
    assert not converted.good.any()


def test_seq_continues_a_run_split_across_chunks() -> None:
    first = np.array([1, 2, 2], dtype=np.int64)
    second = np.array([2, 2, 3, 3], dtype=np.int64)
    assert continued_seq(first, None).tolist() == [0, 0, 1]
    assert continued_seq(second, (2, 1)).tolist() == [2, 3, 0, 1]
    assert continued_seq(second, (1, 0)).tolist() == [0, 1, 0, 1]
    assert continued_seq(np.zeros(0, dtype=np.int64), (2, 1)).tolist() == []


def test_bulk_columns_read_only_the_states_one_by_one() -> None:
    from naia.sources.afsdk.decode import bulk_columns
    from naia.sources.afsdk.sdk import BulkArrays

    state = AFEnumerationValue("Auto", 1)
    system = AFEnumerationValue("I/O Timeout", 246, IsSystem=True)
    values: list[object] = [1.5, state, system, 2.0]
    arrays = BulkArrays(
        ticks=np.array([us_to_ticks(t) for t in (0, 1, 2, 3)], dtype=np.int64),
        numbers=np.array([1.5, np.nan, np.nan, 2.0]),
        status=np.array([192, 192, 0, 192 | 32768], dtype=np.int32),
        others=np.array([1, 2], dtype=np.int32),
    )
    c = bulk_columns(arrays, values)
    assert c.ts_us.tolist() == [0, 1, 2, 3]
    assert c.state == [None, "Auto", "I/O Timeout", None]
    assert c.good.tolist() == [True, True, False, True]
    assert c.annotated.tolist() == [False, False, False, True]
    assert np.isnan(c.value[1]) and c.value[3] == 2.0
