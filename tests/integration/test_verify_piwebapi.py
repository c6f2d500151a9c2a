"""Verify and repair through PIWebApi against the emulator with faults on (embedded store).

The emulator serves the Simulator over real HTTP with 5 % of requests faulted (429/503 with
Retry-After, slow answers, dropped connections, truncated bodies, WebExceptions inside 200s).
The source counts come from a thin read (timestamps only) paged exactly as the backfill pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from naia.domain.errors import ConnectorUnavailableError
from naia.domain.model import (
    BackfillSpec,
    ConnectorType,
    RequestStatus,
    VerificationStatus,
    WindowGrid,
)
from naia.domain.ports import Source
from naia.emulator.settings import EmulatorSettings, FaultSettings
from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource, RetrySettings
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC
from naia.stores.duckdb import DuckDbStore
from tests.conftest import DAY_END, DAY_START
from tests.doubles.emulator_server import ThreadedEmulator

POINTS = ("SINUSOID", "CDT158", "BA:PHASE.1", "BA:ACTIVE.1")
DENSE = PointOptions(interval_seconds=30.0, irregular=True, same_timestamp_rate=0.3,
                     system_state_rate=0.02, gap_rate=0.05)  # fmt: skip
SIM = SimulatorSettings(defaults=REALISTIC, points={"CDT158": DENSE, "BA:PHASE.1": DENSE})


def connector(url: str) -> PiWebApiSource:
    settings = PiWebApiSettings(
        base_url=url, data_archive="NAIA-PI", page_size=200, points_per_request=3,
        max_concurrency=2, read_timeout_s=20,
        retries=RetrySettings(max_attempts=8, backoff_base_s=0.05, backoff_max_s=0.5),
    )  # fmt: skip
    return PiWebApiSource(settings)


SIX_HOURS = timedelta(hours=6)


class PiProvider:
    """Opens a fresh PiWebApiSource on the emulator for each request."""

    def __init__(self, url: str) -> None:
        self.url = url

    def check(self, connector_type: ConnectorType) -> None:
        if connector_type is not ConnectorType.PI_WEB_API:
            raise ConnectorUnavailableError(connector_type.value)

    def open(self, connector_type: ConnectorType) -> Source:
        self.check(connector_type)
        return connector(self.url)


@pytest.fixture(scope="module")
def faulty_url() -> Iterator[str]:
    faults = FaultSettings(rate=0.05, seed=20260109, slow_seconds=0.2, retry_after_seconds=1)
    with ThreadedEmulator(EmulatorSettings(server_name="NAIA-PI", simulator=SIM,
                                           faults=faults)) as url:  # fmt: skip
        yield url


def test_thin_read_tallies_equal_the_simulator(faulty_url: str) -> None:
    """Count and key fingerprint: seq numbered across 200-event pages (same-timestamp events
    split by a page edge) exactly as the Simulator numbers them."""
    grid = WindowGrid(DAY_START, DAY_END, SIX_HOURS)
    with connector(faulty_url) as source:
        tallied = source.tally_events(POINTS, grid)
    assert tallied == SimulatorSource(SIM).tally_events(POINTS, grid)
    assert len(tallied) == 4 * len(POINTS)


def test_verify_and_repair_through_piwebapi_with_faults(faulty_url: str, tmp_path: Path) -> None:
    store = DuckDbStore(tmp_path / "s.duckdb")
    config = OrchestratorConfig(retry=RetryPolicy(max_attempts=8, base_delay_s=0.01))
    orch = Orchestrator(PiProvider(faulty_url), store, store, config, counter=store)
    spec = BackfillSpec(ConnectorType.PI_WEB_API, POINTS, DAY_START, DAY_END, SIX_HOURS)
    request_id = orch.submit(spec).request_id
    orch.run_pending()
    assert orch.get(request_id).status is RequestStatus.COMPLETED
    clean = orch.verify(request_id)
    assert clean.status is VerificationStatus.VERIFIED, clean
    assert clean.windows_checked == 4 * len(POINTS)

    store.query(  # CDT158 loses part of 06:00-12:00; BA:PHASE.1 doubles part of 18:00-24:00
        "DELETE FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'CDT158') "
        "AND ts >= '2026-01-09 07:00:00Z' AND ts < '2026-01-09 08:00:00Z'"
    )
    store.query(
        "INSERT INTO naia_values SELECT * FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'BA:PHASE.1') "
        "AND ts >= '2026-01-09 20:00:00Z' AND ts < '2026-01-09 20:30:00Z'"
    )
    found = orch.verify(request_id)
    assert found.status is VerificationStatus.MISMATCHED
    assert {(m.point, m.window) for m in found.mismatches} == {("CDT158", 1), ("BA:PHASE.1", 3)}
    [doubled] = [m for m in found.mismatches if m.point == "BA:PHASE.1"]
    assert doubled.duplicates == doubled.stored - doubled.source > 0

    orch.verify(request_id, repair=True)
    orch.run_pending()
    final = orch.get(request_id).verification
    assert final is not None and final.status is VerificationStatus.VERIFIED, final
    assert final.repaired_units == (1, 3)
