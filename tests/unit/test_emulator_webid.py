"""WebID 2.0 encoding and decoding, and the stable point ids of the emulated catalogue."""

from __future__ import annotations

import base64
import struct
import uuid

import pytest

from naia.emulator.catalog import Catalog
from naia.emulator.webid import (
    WebIdError,
    WebIdType,
    b64,
    decode,
    point_web_id,
    server_web_id,
)

GUID = uuid.UUID("85bb49d6-f101-4807-baf9-57c2fbd33000")


def test_path_webid_of_the_documented_example() -> None:
    assert point_web_id(WebIdType.PATH_ONLY, GUID, 1, "\\\\PISRV1\\SINUSOID") == (
        "P1DPUElTUlYxXFNJTlVTT0lE"
    )
    ref = decode("P1DPUElTUlYxXFNJTlVTT0lE")
    assert (ref.marker, ref.path, ref.point_id) == ("DP", "PISRV1\\SINUSOID", None)


def test_path_webid_is_upper_cased() -> None:
    assert point_web_id(WebIdType.PATH_ONLY, GUID, 1, "\\\\pisrv1\\sinusoid") == (
        "P1DPUElTUlYxXFNJTlVTT0lE"
    )


def test_full_point_webid_layout() -> None:
    web_id = point_web_id(WebIdType.FULL, GUID, 82, "\\\\MyPIServer\\PointName")
    assert web_id.startswith("F1DP")
    guid_part, id_part, path_part = web_id[4:26], web_id[26:32], web_id[32:]
    padded = guid_part + "=="
    assert uuid.UUID(bytes_le=base64.urlsafe_b64decode(padded)) == GUID
    assert struct.unpack("<i", base64.urlsafe_b64decode(id_part + "=="))[0] == 82
    assert base64.urlsafe_b64decode(path_part + "=" * (-len(path_part) % 4)) == (
        b"MYPISERVER\\POINTNAME"
    )
    ref = decode(web_id)
    assert (ref.server_guid, ref.point_id, ref.path) == (GUID, 82, "MYPISERVER\\POINTNAME")


def test_id_only_webid_of_the_spec_example_decodes() -> None:
    ref = decode("I1DPa70Wf0zBA06CLkV9ovNQgQCAAAAA")
    assert ref.marker == "DP"
    assert ref.point_id == 8
    assert ref.path is None
    assert point_web_id(WebIdType.ID_ONLY, ref.server_guid or GUID, 8, "") == (
        "I1DPa70Wf0zBA06CLkV9ovNQgQCAAAAA"
    )


def test_data_server_webids() -> None:
    assert decode("I1DS1km7hQHxB0i6-VfC-9MwAA").server_guid == GUID
    assert server_web_id(WebIdType.ID_ONLY, GUID, "X") == "I1DS1km7hQHxB0i6-VfC-9MwAA"
    full = decode(server_web_id(WebIdType.FULL, GUID, "naia-pi"))
    assert (full.marker, full.server_guid, full.path) == ("DS", GUID, "NAIA-PI")
    assert decode(server_web_id(WebIdType.PATH_ONLY, GUID, "NAIA-PI")).path == "NAIA-PI"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "P2DPUElTUlYxXFNJTlVTT0lE",  # version 2
        "X1DPUElTUlYxXFNJTlVTT0lE",  # unknown type
        "P1AbUElTUlYxXFNJTlVTT0lE",  # attribute marker: not served here
        "P1DP!!!",  # not base64
        "P1DPUElTUl+xXFNJTlVTT0lE",  # standard, not URL-safe, alphabet
        "I1DPa70Wf0zBA06CLkV9ovNQgQCAAAAAextra",  # ID-only with a tail
        "F1DPa70W",  # too short for a GUID
    ],
)
def test_bad_webids_are_rejected_with_the_servers_message(bad: str) -> None:
    with pytest.raises(WebIdError) as info:
        decode(bad)
    assert str(info.value) == f"Unknown or invalid WebID format: '{bad}'."


def test_b64_has_no_padding_and_is_url_safe() -> None:
    assert b64(b"\xfb\xff") == "-_8"


@pytest.mark.parametrize(
    "name", ["SINUSOID", "BA:PHASE.1", "SIM.0", "SIM.7", "SIM.007", "SIM.9999999"]
)
def test_point_ids_map_back_to_the_same_point(name: str) -> None:
    catalog = Catalog("NAIA-PI", 10)
    point = catalog.by_name(name)
    assert point is not None
    again = catalog.by_id(point.id)
    assert again is not None and again.name == point.name


def test_point_ids_are_distinct_and_stable() -> None:
    catalog = Catalog("NAIA-PI", 0)
    names = ["SINUSOID", "CDT158", "SIM.1", "SIM.01", "SIM.001", "SIM.10", "SIM.100"]
    ids = [catalog.by_name(n).id for n in names]  # type: ignore[union-attr]
    assert len(set(ids)) == len(ids)
    assert ids[0] == 1
    assert Catalog("NAIA-PI", 0).by_name("sim.01").id == ids[3]  # type: ignore[union-attr]
    assert catalog.by_id(12345) is None and catalog.by_id(0) is None


def test_paths_are_case_insensitive_and_need_the_server() -> None:
    catalog = Catalog("NAIA-PI", 0)
    assert catalog.by_path("\\\\naia-pi\\sinusoid").name == "SINUSOID"  # type: ignore[union-attr]
    assert catalog.by_path("\\\\OTHER\\SINUSOID") is None
    assert catalog.by_path("\\\\NAIA-PI") is None
    assert catalog.server_guid == Catalog("naia-pi", 0).server_guid
