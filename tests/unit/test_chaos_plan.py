"""The chaos suite's trial plan: seeded, every kind covered, each trial reproducible alone."""

from __future__ import annotations

from tests.chaos.trial import KINDS, Sizing, plan


def test_every_kind_runs_once_in_each_cycle_of_trials() -> None:
    sizing = Sizing()
    for cycle in range(3):
        kinds = {plan(42, cycle * len(KINDS) + n, sizing).kind for n in range(len(KINDS))}
        assert kinds == {f"{target}/{mode}" for target, mode in KINDS}


def test_a_trial_reproduces_from_its_seed_and_number_alone() -> None:
    sizing = Sizing()
    assert plan(7, 13, sizing) == plan(7, 13, sizing)
    assert plan(7, 13, sizing) != plan(8, 13, sizing)


def test_moments_stay_within_the_sizing_and_trials_never_share_points() -> None:
    sizing = Sizing()
    specs = [plan(1, n, sizing) for n in range(30)]
    for spec in specs:
        assert sizing.fault_after_s[0] <= spec.fault_after_s <= sizing.fault_after_s[1]
        assert sizing.outage_s[0] <= spec.outage_s <= sizing.outage_s[1]
        assert len(spec.points) == sizing.points
    points = [p for spec in specs for p in spec.points]
    assert len(points) == len(set(points))
