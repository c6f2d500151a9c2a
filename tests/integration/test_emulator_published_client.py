"""A published PI Web API client from PyPI, unchanged, against the emulator over real HTTP.

The client is ``osipiconnect`` (the OSIsoft PI Developers Club Python client,
``osisoft.pidevclub.piwebapi``, 2018 API, with NTLM instead of Kerberos so that it installs from
wheels; ``osisoft-pidevclub-piwebapi`` itself needs a Kerberos build toolchain). It uses
``requests``; the emulator runs under uvicorn on a free loopback port. Every value it reads is
compared with the Simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from naia.emulator import BackgroundServer, EmulatorSettings
from naia.emulator.render import format_us
from naia.sources.simulator import SimulatorSettings, SimulatorSource
from naia.sources.simulator.settings import REALISTIC

piwebapi = pytest.importorskip("osisoft.pidevclub.piwebapi.pi_web_api_client")
models = pytest.importorskip("osisoft.pidevclub.piwebapi.models")
rest = pytest.importorskip("osisoft.pidevclub.piwebapi.rest")

SIM = SimulatorSettings(defaults=REALISTIC)
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
DAY = 86_400_000_000
START, END = format_us(T0), format_us(T0 + 2 * DAY)


USER, PASSWORD = "piuser", "pw-1"
SETTINGS = EmulatorSettings.model_validate(
    {"simulator": SIM, "auth": "basic", "username": USER, "password": PASSWORD}
)


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(SETTINGS) as running:
        yield running


def connect(url: str, password: str = PASSWORD) -> Any:
    """The client as its README shows it, with Basic authentication."""
    return piwebapi.PIWebApiClient(
        url, useNTLM=False, username=USER, password=password, verifySsl=False
    )


@pytest.fixture(scope="module")
def client(server: BackgroundServer) -> Any:
    return connect(server.url)


def simulator_items(point: str, lo: int, hi: int) -> list[tuple[str, Any, bool]]:
    """(timestamp, value or state dict, good) of the Simulator's events in [lo, hi]."""
    out: list[tuple[str, Any, bool]] = []
    for ev in SimulatorSource(SIM).events(point, lo, hi + 1):
        for ts, value, state, system, good in zip(
            ev.ts_us.tolist(),
            ev.value.tolist(),
            ev.state_index.tolist(),
            ev.is_system.tolist(),
            ev.good.tolist(),
            strict=True,
        ):
            shown: Any = value
            if state >= 0:
                code = int(ev.state_codes[state])
                shown = {"Name": ev.state_names[state], "Value": code, "IsSystem": system}
            out.append((format_us(ts), shown, good))
    return out


def as_tuples(items: list[Any]) -> list[tuple[str, Any, bool]]:
    return [(i.timestamp, i.value, i.good) for i in items]


def test_point_lookup_by_path(client: Any) -> None:
    point = client.point.get_by_path("\\\\NAIA-PI\\CDT158")
    assert point.name == "CDT158"
    assert point.point_type == "Float32"
    assert point.engineering_units == "deg C"
    assert point.path == "\\\\NAIA-PI\\CDT158"
    info = client.webIdHelper.get_web_id_info(point.web_id)  # the client's own WebID decoder
    assert info.point_id == point.id
    assert info.web_id_type_letter == "F" and info.marker == "DP"


def test_recorded_read_equals_the_simulator(client: Any) -> None:
    web_id = client.point.get_by_path("\\\\NAIA-PI\\CDT158").web_id
    values = client.stream.get_recorded(web_id, start_time=START, end_time=END, max_count=10_000)
    expected = simulator_items("CDT158", T0, T0 + 2 * DAY)
    assert len(expected) > 2_000
    assert as_tuples(values.items) == expected
    assert values.units_abbreviation == "deg C"
    assert any(not good for _, _, good in expected)  # system states came through


def test_recorded_read_of_a_digital_point(client: Any) -> None:
    web_id = client.point.get_by_path("\\\\NAIA-PI\\BA:PHASE.1").web_id
    values = client.stream.get_recorded(web_id, start_time=START, end_time=END, max_count=10_000)
    assert as_tuples(values.items) == simulator_items("BA:PHASE.1", T0, T0 + 2 * DAY)


def test_default_max_count_truncates_at_1000(client: Any) -> None:
    web_id = client.point.get_by_path("\\\\NAIA-PI\\SINUSOID").web_id
    values = client.stream.get_recorded(web_id, start_time=START, end_time=END)
    assert as_tuples(values.items) == simulator_items("SINUSOID", T0, T0 + 2 * DAY)[:1000]


def test_client_built_path_webid_and_dataframe_helper(client: Any) -> None:
    web_id = client.webIdHelper.generate_web_id_by_path("\\\\NAIA-PI\\SINUSOID", models.PIPoint)
    assert web_id == "P1DPTkFJQS1QSVxTSU5VU09JRA"
    assert client.point.get(web_id).name == "SINUSOID"
    frame = client.data.get_recorded_values(
        "pi:\\\\NAIA-PI\\SINUSOID", start_time=START, end_time=END, max_count=5_000
    )
    expected = simulator_items("SINUSOID", T0, T0 + 2 * DAY)
    assert list(frame["Timestamp"]) == [t for t, _, _ in expected]
    assert list(frame["Value"]) == [v for _, v, _ in expected]


def test_streamset_read(client: Any) -> None:
    names = ["SINUSOID", "CDM158", "SIM.7"]
    web_ids = [client.point.get_by_path(f"\\\\NAIA-PI\\{n}").web_id for n in names]
    result = client.streamSet.get_recorded_ad_hoc(
        web_ids, start_time=START, end_time=END, max_count=10_000
    )
    assert [s.name for s in result.items] == names
    for stream, name in zip(result.items, names, strict=True):
        assert as_tuples(stream.items) == simulator_items(name, T0, T0 + 2 * DAY)


def test_errors_reach_the_client(client: Any) -> None:
    with pytest.raises(rest.ApiException) as info:
        client.point.get_by_path("\\\\NAIA-PI\\NO.SUCH.TAG")
    assert info.value.status == 404
    assert info.value.error == {"Errors": ["PI Point not found '\\\\NAIA-PI\\NO.SUCH.TAG'."]}
    with pytest.raises(rest.ApiException) as info:
        client.stream.get_recorded("P1DPTkFJQS1QSVxTSU5VU09JRA", max_count=150_001)
    assert info.value.status == 400


def test_batch_with_a_request_template(client: Any, server: BackgroundServer) -> None:
    batch = {
        "points": models.PIRequest(
            method="GET",
            resource=f"{server.url}/dataservers/P1DSTkFJQS1QSQ/points?nameFilter=BA:*",
        ),
        "values": models.PIRequest(
            method="GET",
            parent_ids=["points"],
            parameters=["$.points.Content.Items[*].WebId"],
            request_template=models.PIRequestTemplate(
                resource=f"{server.url}/streams/{{0}}/recorded?startTime={START}&endTime={END}"
                "&maxCount=10000"
            ),
        ),
    }
    result = client.batch.execute(batch)
    assert result["points"].status == 200
    assert result["values"].status == 207
    content = result["values"].content
    assert content["Total"] == 5
    first = content["Items"][0]["Content"]["Items"]
    expected = simulator_items("BA:TEMP.1", T0, T0 + 2 * DAY)
    assert [(i["Timestamp"], i["Value"], i["Good"]) for i in first] == expected


def test_wrong_password_is_401(server: BackgroundServer) -> None:
    with pytest.raises(rest.ApiException) as info:
        connect(server.url, password="nope").point.get_by_path("\\\\NAIA-PI\\SINUSOID")
    assert info.value.status == 401
    assert info.value.error == {"Message": "Authorization has been denied for this request."}
    assert "Basic" in info.value.headers["WWW-Authenticate"]
