"""PiWebApiSource under faults: retries, Retry-After, page-size limits, auth, CSRF, WebException."""

from __future__ import annotations

import base64
import logging
import random
import ssl
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import ModuleType
from typing import Any

import certifi
import httpx
import pytest
from pydantic import SecretStr, ValidationError

from naia.domain.errors import (
    ConnectorUnavailableError,
    SourceError,
    SourceTransientError,
    UnknownPointError,
)
from naia.sources.piwebapi import PiWebApiSettings, PiWebApiSource, RetrySettings
from naia.sources.piwebapi.client import parse_retry_after, tls_verify
from naia.sources.simulator import SimulatorSettings
from naia.sources.simulator.settings import REALISTIC
from tests.contract.source_contract import assert_same_as_simulator, read_table
from tests.doubles.piwebapi_fake import (
    ARCHIVE,
    BASE_URL,
    FakePiWebApi,
    fail_with,
    mangle,
    respond,
)

T0 = datetime(2026, 1, 9, tzinfo=UTC)
HOUR = T0 + timedelta(hours=1)
POINTS = ("SINUSOID", "CDM158")
SIM = SimulatorSettings(defaults=REALISTIC)
PASSWORD = "s3cr3t-Pa55"
TOKEN = "tok-abcdef-123"


def source_for(fake: FakePiWebApi, sleeps: list[float], **kw: Any) -> PiWebApiSource:
    settings = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, **kw)
    return PiWebApiSource(settings, fake.transport(), sleep=sleeps.append, rng=random.Random(3))


def read_ok(fake: FakePiWebApi, sleeps: list[float], **kw: Any) -> None:
    """Reading through the injected faults still gives exactly the Simulator's data."""
    with source_for(fake, sleeps, **kw) as source:
        assert_same_as_simulator(source, SIM, POINTS, T0, HOUR)


def read_all(fake: FakePiWebApi, sleeps: list[float], **kw: Any) -> None:
    with source_for(fake, sleeps, **kw) as source:
        read_table(source, POINTS, T0, HOUR)


# -- transient failures -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_honours_retry_after(status: int) -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(respond(status, headers={"Retry-After": "7"}))
    sleeps: list[float] = []
    read_ok(fake, sleeps)
    assert sleeps == [7.0]


def test_retry_after_as_http_date() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    when = datetime.now(UTC) + timedelta(seconds=30)
    fake.inject(respond(503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    sleeps: list[float] = []
    read_ok(fake, sleeps)
    assert len(sleeps) == 1
    assert 0 < sleeps[0] <= 30


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_retried_with_jittered_backoff(status: int) -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(respond(status), respond(status))
    sleeps: list[float] = []
    read_ok(fake, sleeps)
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5  # base 0.5 s, equal jitter
    assert 0.5 <= sleeps[1] <= 1.0


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
)
def test_connection_errors_and_timeouts_are_retried(error: Exception) -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(fail_with(error))
    sleeps: list[float] = []
    read_ok(fake, sleeps)
    assert len(sleeps) == 1


def test_truncated_body_is_retried() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(lambda r: None, mangle(fake, lambda body: body[: len(body) // 2]))
    sleeps: list[float] = []
    read_ok(fake, sleeps)
    assert len(sleeps) == 1


def test_attempts_exhausted_raise_source_transient_error() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(*[respond(503, headers={"Retry-After": "2"})] * 3)
    sleeps: list[float] = []
    with pytest.raises(SourceTransientError, match="after 3 attempt") as info:
        read_all(fake, sleeps, retries=RetrySettings(max_attempts=3))
    assert info.value.retry_after == 2.0
    assert sleeps == [2.0, 2.0]


def test_web_exception_on_the_whole_body_is_retried_when_5xx() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    broken = b'{"WebException":{"StatusCode":500,"Errors":["archive busy"]},"Items":[]}'
    fake.inject(lambda r: None, lambda r: httpx.Response(200, content=broken))
    sleeps: list[float] = []
    read_ok(fake, sleeps)
    assert len(sleeps) == 1


def _with_stream_exception(status: int) -> Any:
    def change(body: bytes) -> bytes:
        marker = b'"Items":[{"WebId":'
        assert marker in body
        exc = f'{{"StatusCode":{status},"Errors":["stream failed {status}"]}}'
        return body.replace(marker, b'"Items":[{"WebException":' + exc.encode() + b',"WebId":', 1)

    return change


def test_web_exception_on_one_stream_is_retried_when_5xx() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(lambda r: None, mangle(fake, _with_stream_exception(503)))
    sleeps: list[float] = []
    read_ok(fake, sleeps)
    assert len(sleeps) == 1


def test_web_exception_on_one_stream_fails_when_4xx() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(lambda r: None, mangle(fake, _with_stream_exception(409)))
    with pytest.raises(SourceError, match="stream failed 409"):
        read_all(fake, [])


def test_batch_sub_response_503_retries_the_batch() -> None:
    fake = FakePiWebApi.of_simulator(SIM)

    def sub_503(request: httpx.Request) -> httpx.Response | None:
        if request.method != "POST":
            fake.faults.appendleft(sub_503)  # wait for the first batch
            return None
        body = {"0": {"Status": 503, "Headers": {"Retry-After": "4"}, "Content": "busy"}}
        return httpx.Response(207, json=body)

    fake.inject(sub_503)
    sleeps: list[float] = []
    read_ok(fake, sleeps, page_size=20)
    assert sleeps == [4.0]
    assert fake.paths("/piwebapi/batch")


# -- page size ----------------------------------------------------------------------------------


def test_400_maximum_allowed_lowers_the_page_size_and_continues() -> None:
    fake = FakePiWebApi.of_simulator(SIM, max_allowed=25)
    sleeps: list[float] = []
    with source_for(fake, sleeps, page_size=1000) as source:
        assert_same_as_simulator(source, SIM, POINTS, T0, HOUR)
        assert source.page_size == 25
    assert sleeps == []
    counts = {r.url.params.get("maxCount") for r in fake.requests if "/streamsets/" in r.url.path}
    assert counts == {"1000", "25"}


def test_400_maximum_allowed_inside_a_batch_lowers_the_page_size() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    with source_for(fake, [], page_size=20) as source:
        fake.max_allowed = 20
        # the first page is accepted; the limit drops before the batched continuation
        original = fake.batch

        def limited(requests: dict[str, Any]) -> httpx.Response:
            fake.max_allowed = 10
            return original(requests)

        fake.batch = limited  # type: ignore[method-assign]
        assert_same_as_simulator(source, SIM, POINTS, T0, HOUR)
        assert source.page_size == 10


def test_400_maximum_allowed_without_a_number_halves_the_page_size() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    message = {"Errors": ["maxCount is greater than the maximum allowed"]}
    fake.inject(lambda r: None, respond(400, body=message))  # lookup passes, first page refused
    with source_for(fake, [], page_size=64) as source:
        assert_same_as_simulator(source, SIM, POINTS, T0, HOUR)
        assert source.page_size == 32


# -- terminal failures --------------------------------------------------------------------------


def test_401_is_a_clear_terminal_error_without_the_credentials() -> None:
    fake = FakePiWebApi.of_simulator(SIM, require_auth="Basic nobody")
    with pytest.raises(SourceError) as info:
        read_all(fake, [], auth="basic", username="piuser", password=PASSWORD)
    message = str(info.value)
    assert "401" in message
    assert "auth" in message
    assert "Authorization has been denied" in message
    assert PASSWORD not in message
    assert not isinstance(info.value, SourceTransientError)


def test_403_names_csrf_and_permissions() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(respond(403, body={"Errors": ["Forbidden"]}))
    with pytest.raises(SourceError, match=r"403.*X-Requested-With.*CSRF") as info:
        read_all(fake, [])
    assert "may not read" in str(info.value)


def test_bad_webid_is_a_terminal_error_with_the_servers_message() -> None:
    fake = FakePiWebApi.of_simulator(SIM, broken_webids={"SINUSOID": "not-a-webid"})
    with pytest.raises(SourceError, match="Unknown or invalid WebID format: 'not-a-webid'"):
        read_all(fake, [])


def test_unknown_point_inside_a_batch_names_the_point() -> None:
    fake = FakePiWebApi.of_simulator(SIM)

    def not_found(request: httpx.Request) -> httpx.Response | None:
        if request.method != "POST":
            fake.faults.appendleft(not_found)
            return None
        body = {"0": {"Status": 404, "Content": {"Errors": ["PI Point not found"]}}}
        return httpx.Response(207, json=body)

    fake.inject(not_found)
    with pytest.raises(UnknownPointError) as info:
        read_all(fake, [], page_size=20)
    assert info.value.points == ("SINUSOID",)


def test_unexpected_shape_is_terminal() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(lambda r: None, respond(200, body={"Items": "nope"}))
    with pytest.raises(SourceError, match="unexpected response"):
        read_all(fake, [])


def test_streamset_with_the_wrong_number_of_streams_is_terminal() -> None:
    fake = FakePiWebApi.of_simulator(SIM)
    fake.inject(lambda r: None, respond(200, body={"Items": []}))
    with pytest.raises(SourceError, match="returned 0 streams for 2"):
        read_all(fake, [])


# -- auth and settings ----------------------------------------------------------------------------


def test_basic_auth_header() -> None:
    expected = "Basic " + base64.b64encode(f"piuser:{PASSWORD}".encode()).decode()
    fake = FakePiWebApi.of_simulator(SIM, require_auth=expected)
    read_ok(fake, [], auth="basic", username="piuser", password=PASSWORD)


def test_bearer_auth_header() -> None:
    fake = FakePiWebApi.of_simulator(SIM, require_auth=f"Bearer {TOKEN}")
    read_ok(fake, [], auth="bearer", token=TOKEN)


def test_secrets_never_show_in_reprs_or_dumps() -> None:
    settings = PiWebApiSettings(
        base_url=BASE_URL, data_archive=ARCHIVE, auth="basic", username="u", password=PASSWORD
    )
    bearer = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, auth="bearer", token=TOKEN)
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(bearer)):
        assert PASSWORD not in text
        assert TOKEN not in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth": "basic", "username": "u"},
        {"auth": "bearer"},
        {"auth": "ntlm", "password": "p"},
        {"base_url": "https://user:pw@pi.test/piwebapi"},
        {"base_url": "pi.test/piwebapi"},
        {"verify_tls": False, "ca_bundle": "/etc/ssl/ca.pem"},
        {"page_size": 0},
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, Any]) -> None:
    values: dict[str, Any] = {"base_url": BASE_URL, "data_archive": ARCHIVE, **kwargs}
    with pytest.raises(ValidationError) as info:
        PiWebApiSettings(**values)
    assert "user:pw" not in str(info.value)  # inputs are hidden: they may hold credentials


def _no_module(name: str) -> ModuleType:
    raise ModuleNotFoundError(f"No module named '{name}'")


def test_kerberos_without_its_library_says_what_to_install() -> None:
    settings = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, auth="kerberos")
    with pytest.raises(ConnectorUnavailableError, match=r"pip install httpx-gssapi==0\.6"):
        PiWebApiSource(settings, importer=_no_module)


def test_kerberos_uses_spnego_auth_from_httpx_gssapi() -> None:
    made: list[dict[str, Any]] = []

    class FakeSpnego(httpx.Auth):
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

        def auth_flow(self, request: httpx.Request) -> Any:
            request.headers["Authorization"] = "Negotiate abc"
            yield request

    module = ModuleType("httpx_gssapi")
    module.HTTPSPNEGOAuth = FakeSpnego  # type: ignore[attr-defined]
    module.OPTIONAL = 2  # type: ignore[attr-defined]
    fake = FakePiWebApi.of_simulator(SIM, require_auth="Negotiate abc")
    settings = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, auth="kerberos")
    with PiWebApiSource(settings, fake.transport(), importer=lambda name: module) as source:
        assert_same_as_simulator(source, SIM, POINTS, T0, HOUR)
    assert made == [{"mutual_authentication": 2}]


def test_ntlm_uses_httpx_ntlm_and_says_what_to_install_without_it() -> None:
    settings = PiWebApiSettings(
        base_url=BASE_URL, data_archive=ARCHIVE, auth="ntlm", username="DOM\\u", password=PASSWORD
    )
    with pytest.raises(ConnectorUnavailableError, match=r"pip install httpx-ntlm==1\.4\.0") as info:
        PiWebApiSource(settings, importer=_no_module)
    assert PASSWORD not in str(info.value)
    made: list[tuple[str, str]] = []

    class FakeNtlm(httpx.Auth):
        def __init__(self, username: str, password: str) -> None:
            made.append((username, password))

    module = ModuleType("httpx_ntlm")
    module.HttpNtlmAuth = FakeNtlm  # type: ignore[attr-defined]
    PiWebApiSource(settings, importer=lambda name: module).close()
    assert made == [("DOM\\u", PASSWORD)]


def test_tls_settings(caplog: pytest.LogCaptureFixture) -> None:
    bundle = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, ca_bundle=certifi.where())
    context = tls_verify(bundle)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert tls_verify(PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE)) is True
    with caplog.at_level(logging.WARNING):
        off = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, verify_tls=False)
        assert tls_verify(off) is False
    assert "verification is OFF" in caplog.text


def test_missing_ca_bundle_is_a_clear_error(tmp_path: Any) -> None:
    missing = tmp_path / "nope.pem"
    settings = PiWebApiSettings(base_url=BASE_URL, data_archive=ARCHIVE, ca_bundle=missing)
    with pytest.raises(SourceError, match="ca_bundle"):
        PiWebApiSource(settings)


# -- helpers ------------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    retry = RetrySettings(retry_after_max_s=60)
    assert parse_retry_after(None, retry) is None
    assert parse_retry_after("3", retry) == 3.0
    assert parse_retry_after("0.5", retry) == 0.5
    assert parse_retry_after("-4", retry) == 0.0
    assert parse_retry_after("3600", retry) == 60.0
    assert parse_retry_after("soon", retry) is None


def test_secret_str_is_kept_until_sent() -> None:
    settings = PiWebApiSettings(
        base_url=BASE_URL, data_archive=ARCHIVE, auth="bearer", token=SecretStr(TOKEN)
    )
    assert settings.token is not None
    assert settings.token.get_secret_value() == TOKEN
