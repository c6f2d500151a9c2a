"""Shared fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

SEED_POINTS = ("SINUSOID", "CDT158", "SINUSOIDU")
DAY_START = datetime(2026, 1, 9, tzinfo=UTC)
DAY_END = datetime(2026, 1, 10, tzinfo=UTC)


@pytest.fixture
def seed_points() -> tuple[str, ...]:
    return SEED_POINTS
