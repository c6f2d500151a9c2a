"""The AF SDK's failures, raised as .NET exceptions by the stand-in, reach the connector through
pythonnet and end as the right NAIA errors; transient ones are retried to the very same data."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import pytest

from naia.domain.errors import (
    SourceError,
    SourceTransientError,
    TerminalError,
    TransientError,
    UnknownPointError,
)
from naia.sources.simulator import SimulatorSettings
from naia.sources.simulator.settings import REALISTIC
from tests.clr.standin import REALISTIC as REALISTIC_SERVER
from tests.clr.standin import fault_kind, settings, source, standin_sdk
from tests.conftest import DAY_START
from tests.contract.source_contract import assert_same_as_simulator, read_table

pytestmark = pytest.mark.clr

END = DAY_START + timedelta(hours=6)
POINTS = ("SINUSOID", "CDT158", "CDM158", "BA:PHASE.1", "BA:ACTIVE.1", "SIM.7")
SECRET = "s3cr3t-Pa55!"
ALWAYS = -1


def test_connection_failure_is_transient_and_recovers(pi_archive: Any) -> None:
    pi_archive.AddFault(fault_kind().ConnectionFailure, 2, 0, 0)
    reader = source()
    for _ in range(2):
        with pytest.raises(SourceTransientError, match=r"connect failed.*PIConnectionException"):
            reader.check_points(["SINUSOID"])
    assert_same_as_simulator(reader, SimulatorSettings(), ["SINUSOID"], DAY_START, END)
    assert pi_archive.Connects == 3


def test_access_denied_is_terminal_although_a_pi_connection_exception(pi_archive: Any) -> None:
    pi_archive.AddFault(fault_kind().AccessDenied, ALWAYS, 0, 0)
    with pytest.raises(SourceError, match="PIAuthenticationException") as info:
        source().check_points(["SINUSOID"])
    assert isinstance(info.value, TerminalError)
    assert "PIConnectionException" in {k.__name__ for k in type(info.value.__cause__).__mro__}


def test_unknown_points_are_named_before_any_data_moves(pi_archive: Any) -> None:
    with pytest.raises(UnknownPointError) as info:
        source().read(["SINUSOID", "NOPE.1", "cdm158", "nope:2"], DAY_START, END)
    assert info.value.points == ("NOPE.1", "nope:2")
    assert pi_archive.RecordedValuesCalls == 0


@pytest.mark.parametrize(
    ("kind", "cause"),
    [("OperationTimeout", "PITimeoutException"), ("ConnectionLost", "PIConnectionException")],
)
def test_transient_page_failure_is_retried_to_the_same_data(
    pi_archive: Any, kind: str, cause: str
) -> None:
    sdk = standin_sdk()
    pi_archive.AddFault(getattr(fault_kind(), kind), 1, 1, 0)
    paged = settings(data_archive=REALISTIC_SERVER, page_type="TagCount", page_size=2)
    reader = source(paged)
    with pytest.raises(SourceTransientError, match=cause) as info:
        list(reader.read(POINTS, DAY_START, END))
    assert isinstance(info.value.__cause__, sdk.OperationCanceledException)
    assert pi_archive.Pages == 1  # the first page was served, the second failed
    sim = SimulatorSettings(defaults=REALISTIC)
    assert_same_as_simulator(reader, sim, POINTS, DAY_START, END)  # the retry
    assert pi_archive.Connects == 2  # the failure dropped the connection; the retry reconnected


def test_terminal_paging_error_keeps_its_cause(pi_archive: Any) -> None:
    pi_archive.AddFault(fault_kind().PagingError, ALWAYS, 0, 0)
    paged = settings(page_type="TagCount", page_size=2)
    with pytest.raises(SourceError, match=r"PIException: \[-11049\] Invalid data") as info:
        read_table(source(paged), POINTS, DAY_START, END)
    assert not isinstance(info.value, TransientError)
    assert "bulk read of 6 point(s)" in str(info.value)


def test_a_page_slower_than_the_operation_timeout_times_out(pi_archive: Any) -> None:
    """The stand-in honours PIConnectionInfo.OperationTimeOut: the connector must have set it."""
    pi_archive.AddFault(fault_kind().SlowPage, 1, 0, 60_000)
    reader = source(settings(operation_timeout_s=0.5))
    began = time.monotonic()
    with pytest.raises(SourceTransientError, match="TimeoutException"):
        read_table(reader, ["SINUSOID"], DAY_START, END)
    assert time.monotonic() - began < 30  # 0.5 s, not the SDK's default 60 s
    assert_same_as_simulator(reader, SimulatorSettings(), ["SINUSOID"], DAY_START, END)


def test_pi_user_connects_to_the_named_archive(pi_archive: Any) -> None:
    pi_archive.AddPIUser("piuser", SECRET)
    config = settings(
        data_archive=REALISTIC_SERVER.lower(),
        auth_mode="PIUser",
        username="piuser",
        password=SECRET,
    )
    sim = SimulatorSettings(defaults=REALISTIC)
    assert_same_as_simulator(source(config), sim, ["SINUSOID"], DAY_START, END)
    assert list(pi_archive.Auth) == ["PIUserAuthentication piuser"]


def test_wrong_pi_user_password_is_terminal_and_never_shows_the_secret(
    pi_archive: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pi_archive.AddPIUser("piuser", "other")
    config = settings(auth_mode="PIUser", username="piuser", password=SECRET)
    with pytest.raises(SourceError) as info:
        source(config).check_points(["SINUSOID"])
    assert isinstance(info.value, TerminalError)
    assert "authentication failed" in str(info.value)
    for text in (str(info.value), repr(info.value), caplog.text, repr(config)):
        assert SECRET not in text


def test_unknown_data_archive_is_a_clear_terminal_error(pi_archive: Any) -> None:
    with pytest.raises(SourceError, match=r"NOSUCH.*known servers"):
        source(settings(data_archive="NOSUCH")).check_points(["SINUSOID"])
