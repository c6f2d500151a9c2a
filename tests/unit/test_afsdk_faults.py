"""Each failure of the AF SDK ends as the right, clear NAIA error; transient ones can be retried."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from naia.domain.errors import (
    SourceError,
    SourceTransientError,
    TerminalError,
    TransientError,
    UnknownPointError,
)
from naia.sources.afsdk import AfSdkSettings
from naia.sources.afsdk.source import describe, is_transient
from naia.sources.simulator import SimulatorSettings
from naia.sources.simulator.settings import REALISTIC
from tests.conftest import DAY_START
from tests.contract.source_contract import assert_same_as_simulator, read_table
from tests.doubles.afsdk_fake import (
    MIXED_POINTS,
    Fault,
    FaultKind,
    OperationCanceledException,
    PIAuthenticationException,
    PIConnectionException,
    PIException,
    PITimeoutException,
    TimeoutException,
    afsdk_source,
)

END = DAY_START + timedelta(hours=6)
PAGED = AfSdkSettings.model_validate({"page_type": "TagCount", "page_size": 2})
SECRET = "s3cr3t-Pa55!"


def test_connection_failure_is_transient_and_recovers_after_n_times() -> None:
    sim = SimulatorSettings()
    source, system = afsdk_source(sim, faults=[Fault(FaultKind.CONNECTION_FAILURE, times=2)])
    for _ in range(2):
        with pytest.raises(SourceTransientError, match=r"connect failed.*PIConnectionException"):
            source.check_points(["SINUSOID"])
    assert_same_as_simulator(source, sim, ["SINUSOID"], DAY_START, END)
    assert system.stats.connects == 3


def test_connection_failure_that_persists_stays_transient() -> None:
    source, _ = afsdk_source(
        SimulatorSettings(), faults=[Fault(FaultKind.CONNECTION_FAILURE, None)]
    )
    for _ in range(3):
        with pytest.raises(TransientError):
            list(source.read(["SINUSOID"], DAY_START, END))


def test_access_denied_is_terminal() -> None:
    source, _ = afsdk_source(SimulatorSettings(), faults=[Fault(FaultKind.ACCESS_DENIED)])
    with pytest.raises(SourceError, match="AuthenticationException") as info:
        source.check_points(["SINUSOID"])
    assert isinstance(info.value, TerminalError)


def test_unknown_points_are_named_before_any_data_moves() -> None:
    source, system = afsdk_source(SimulatorSettings())
    with pytest.raises(UnknownPointError) as info:
        source.read(["SINUSOID", "NOPE.1", "cdm158", "nope:2"], DAY_START, END)  # not iterated
    assert info.value.points == ("NOPE.1", "nope:2")
    assert "NOPE.1" in str(info.value) and "nope:2" in str(info.value)
    assert system.stats.recorded_values_calls == 0
    with pytest.raises(UnknownPointError, match=r"NOPE\.1"):
        source.check_points(["NOPE.1"])


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        (FaultKind.OPERATION_TIMEOUT, "TimeoutException"),
        (FaultKind.CONNECTION_LOST, "PIConnectionException"),
    ],
)
def test_transient_page_failure_is_retried_to_the_same_data(kind: FaultKind, cause: str) -> None:
    sim = SimulatorSettings(defaults=REALISTIC)
    source, system = afsdk_source(sim, PAGED, faults=[Fault(kind, times=1, at_page=1)])
    batches = source.read(MIXED_POINTS, DAY_START, END)
    with pytest.raises(SourceTransientError, match=cause) as info:
        list(batches)
    assert isinstance(info.value.__cause__, OperationCanceledException)
    assert system.stats.pages == 1  # the first page was served, the second failed
    assert_same_as_simulator(source, sim, MIXED_POINTS, DAY_START, END)  # the retry
    assert system.stats.connects == 2  # a failed page drops the connection; the retry reconnects


def test_terminal_paging_error_keeps_its_cause() -> None:
    source, _ = afsdk_source(
        SimulatorSettings(), PAGED, faults=[Fault(FaultKind.PAGING_ERROR, times=None)]
    )
    with pytest.raises(SourceError, match=r"PIException: \[-11049\] Invalid data") as info:
        read_table(source, MIXED_POINTS, DAY_START, END)
    assert not isinstance(info.value, TransientError)
    assert "bulk read of 6 point(s)" in str(info.value)


def test_wrong_pi_user_password_is_terminal_and_never_shows_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = AfSdkSettings.model_validate(
        {"auth_mode": "PIUser", "username": "piuser", "password": SECRET}
    )
    source, system = afsdk_source(SimulatorSettings(), settings, pi_users={"piuser": "other"})
    with pytest.raises(SourceError) as info:
        source.check_points(["SINUSOID"])
    assert "authentication failed" in str(info.value)
    for text in (str(info.value), repr(info.value), caplog.text, repr(settings), str(system.stats)):
        assert SECRET not in text
    assert SECRET not in settings.model_dump_json()


def test_connection_error_messages_and_logs_never_show_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = AfSdkSettings.model_validate({"username": "DOMAIN\\svc", "password": SECRET})
    source, _ = afsdk_source(
        SimulatorSettings(), settings, faults=[Fault(FaultKind.CONNECTION_FAILURE, times=1)]
    )
    with pytest.raises(SourceTransientError) as info:
        source.check_points(["SINUSOID"])
    source.check_points(["SINUSOID"])  # connects, logs
    assert SECRET not in str(info.value) and SECRET not in caplog.text
    assert "connected to PI Data Archive" in caplog.text


def test_settings_refuse_half_credentials() -> None:
    with pytest.raises(ValueError, match="both username and password"):
        AfSdkSettings.model_validate({"username": "u"})
    with pytest.raises(ValueError, match="PIUser"):
        AfSdkSettings.model_validate({"auth_mode": "PIUser"})


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TimeoutException("The operation has timed out."), True),
        (PIConnectionException("lost"), True),
        (PIException("[-10722] PINET: Timeout on PI RPC or System Call."), True),
        (PIException("wrapper", inner=TimeoutException("deep")), True),
        (OperationCanceledException("cancelled without a cause"), True),
        (PITimeoutException("The operation has timed out."), True),  # a PIConnectionException
        (PIAuthenticationException("denied"), False),  # a PIConnectionException, yet terminal
        (PIException("wrapper", inner=PIAuthenticationException("denied")), False),
        (PIException("[-11049] Invalid data for this point type."), False),
        (ValueError("plain Python"), False),
    ],
)
def test_cause_classification(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_describe_follows_inner_exceptions() -> None:
    error = PIException("outer", inner=TimeoutException("inner"))
    assert describe(error) == "PIException: outer <- TimeoutException: inner"
