from datetime import UTC, datetime, timedelta

import pytest

from naia.domain.errors import InvalidRequestError
from naia.domain.model import BackfillSpec, ConnectorType
from naia.planner import Limits, make_plan

START = datetime(2020, 1, 1, tzinfo=UTC)


def spec(points: int = 3, days: float = 1, chunk: timedelta = timedelta(hours=1)) -> BackfillSpec:
    names = tuple(f"SIM.{i}" for i in range(points))
    end = START + timedelta(days=days)
    return BackfillSpec(ConnectorType.SIMULATOR, names, START, end, chunk)


def test_windows_tile_the_range_without_gap_or_overlap() -> None:
    plan = make_plan("r", spec(days=1.01, chunk=timedelta(hours=5)), Limits())
    assert plan.windows[0][0] == START
    assert plan.windows[-1][1] == START + timedelta(days=1.01)
    for (_, end), (start, _) in zip(plan.windows, plan.windows[1:], strict=False):
        assert end == start
    assert len(plan.windows) == 5  # 24.24 h / 5 h → 4 full windows and a short last one
    assert plan.windows[-1][1] - plan.windows[-1][0] < timedelta(hours=5)


def test_seed_test1_has_24_chunks() -> None:
    assert make_plan("r", spec(), Limits()).total_chunks == 24


def test_seed_test3_default_chunk_gives_13_chunks() -> None:
    plan = make_plan("r", spec(points=100, days=365, chunk=timedelta(days=30)), Limits())
    assert plan.total_chunks == 13


def test_point_groups_multiply_units_and_cover_every_point_once() -> None:
    plan = make_plan("r", spec(points=10), Limits(points_per_unit=4))
    assert [len(g) for g in plan.groups] == [4, 4, 2]
    assert plan.total_chunks == 24 * 3
    chunks = plan.chunks()
    assert len({u.index for u in chunks}) == plan.total_chunks
    assert sorted(p for g in plan.groups for p in g) == sorted(spec(points=10).points)
    assert chunks[3].window == 1 and chunks[3].group == 0  # time-major order


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (BackfillSpec(ConnectorType.SIMULATOR, ("A",), START, START), "endTime"),
        (BackfillSpec(ConnectorType.SIMULATOR, (), START, START + timedelta(1)), "pointAddresses"),
        (BackfillSpec(ConnectorType.SIMULATOR, ("A", "A"), START, START + timedelta(1)),
         "pointAddresses"),
        (spec(points=11), "pointAddresses"),
        (spec(days=100), "chunkSize"),
    ],
)  # fmt: skip
def test_limits_and_bad_specs(bad: BackfillSpec, field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        make_plan("r", bad, Limits(max_points=10, max_chunks=1000))
    assert info.value.field == field
