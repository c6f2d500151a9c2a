"""An outage is two log lines, whatever the attempts: when it starts and when it ends."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from naia.kernel.episode import Episode
from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource
from naia.sources.simulator import SimulatorSettings
from naia.sources.simulator.settings import REALISTIC
from tests.contract.source_contract import assert_same_as_simulator
from tests.doubles.piwebapi_fake import ARCHIVE, BASE_URL, FakePiWebApi, fail_with, respond

LOGGER = "naia.test.episode"


def test_one_warning_per_episode_then_one_line_when_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    episode = Episode(logging.getLogger(LOGGER), "PI", clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, LOGGER):
        episode.succeeded()  # nothing open: nothing said
        for i in range(5):
            episode.failed(f"refused #{i}")
            now[0] += 2.0
        episode.succeeded()
        episode.succeeded()
        episode.failed("refused again")
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [lvl for lvl, _ in levels] == ["WARNING", *["DEBUG"] * 4, "WARNING", "WARNING"]
    assert "refused #0" in levels[0][1]
    assert levels[5][1] == "PI answers again after 10.0 s (5 failed attempt(s))"


def test_threads_failing_together_open_one_episode(caplog: pytest.LogCaptureFixture) -> None:
    episode = Episode(logging.getLogger(LOGGER), "PI")
    start = threading.Barrier(8)

    def fail() -> None:
        start.wait()
        for _ in range(50):
            episode.failed("refused")

    with caplog.at_level(logging.DEBUG, LOGGER):
        threads = [threading.Thread(target=fail) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        episode.succeeded()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # the start of the outage and its end
    assert "(400 failed attempt(s))" in warnings[1]


def test_a_pi_web_api_outage_is_logged_once_and_its_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Five failed attempts (503s, a dropped connection) used to be five WARNING lines."""
    sim = SimulatorSettings(defaults=REALISTIC)
    fake = FakePiWebApi.of_simulator(sim)
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    fake.inject(respond(503), fail_with(dropped), respond(503), respond(503))
    settings = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE)
    start = datetime(2026, 1, 9, tzinfo=UTC)
    with (
        caplog.at_level(logging.INFO, "naia.sources.piwebapi.client"),
        PiWebApiSource(settings, fake.transport(), sleep=lambda _: None) as source,
    ):
        assert_same_as_simulator(source, sim, ("SINUSOID",), start, start + timedelta(hours=1))
        assert source.retries == 4
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [lvl for lvl, _ in lines] == ["WARNING", "WARNING"], lines
    assert lines[0][1].startswith(f"PI Web API at {BASE_URL}: ")
    assert "answers again" in lines[1][1] and "(4 failed attempt(s))" in lines[1][1]
