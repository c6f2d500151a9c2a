from datetime import UTC, datetime, timedelta

import numpy as np

from naia.domain.schema import point_batch, unify
from naia.sinks.redis.sink import latest_per_point

T0 = datetime(2026, 1, 9, tzinfo=UTC)


def us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def test_latest_is_the_newest_ts_then_the_highest_seq_per_point() -> None:
    ts = np.array([us(T0), us(T0 + timedelta(minutes=2)), us(T0 + timedelta(minutes=2))])
    a = point_batch("A", ts, np.array([1.0, 2.0, 3.0]), None, np.ones(3, dtype=bool))
    b = point_batch(
        "B", ts[:2], np.array([np.nan, 5.0]), ["Bad Input", None], np.array([False, True])
    )
    late_b = point_batch(
        "B", np.array([us(T0 - timedelta(days=1))]), np.array([9.0]), None, np.ones(1, dtype=bool)
    )
    latest = latest_per_point(unify([late_b, a, b]))
    assert latest["A"].ts_us == us(T0 + timedelta(minutes=2))
    assert (latest["A"].seq, latest["A"].value) == (1, "3.0")  # seq 1 beats seq 0 at one ts
    assert (latest["B"].value, latest["B"].good) == ("5.0", "1")
    assert set(latest) == {"A", "B"}


def test_states_are_carried() -> None:
    batch = point_batch(
        "C", np.array([us(T0)]), np.array([np.nan]), ["I/O Timeout"], np.zeros(1, dtype=bool)
    )
    latest = latest_per_point(batch)["C"]
    assert (latest.value, latest.state, latest.good) == ("", "I/O Timeout", "0")
