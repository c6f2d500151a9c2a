"""Optional Basic/Bearer authentication (401 as PI Web API) and secrets kept out of output."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from starlette.testclient import TestClient

from naia.emulator import AuthMode, EmulatorSettings, create_app

DENIED = {"Message": "Authorization has been denied for this request."}


def client(**kw: object) -> TestClient:
    return TestClient(create_app(EmulatorSettings.model_validate(kw)))


def test_no_auth_accepts_anything() -> None:
    with client() as c:
        assert c.get("/piwebapi/system").status_code == 200
        assert c.get("/piwebapi/system", auth=("x", "y")).status_code == 200


def test_basic_auth() -> None:
    with client(auth="basic", username="piuser", password="s3cret") as c:
        denied = c.get("/piwebapi/system")
        assert denied.status_code == 401
        assert denied.json() == DENIED
        assert denied.headers["www-authenticate"] == 'Basic realm="NAIA-PI"'
        assert c.get("/piwebapi/system", auth=("piuser", "wrong")).status_code == 401
        assert c.get("/piwebapi/system", auth=("other", "s3cret")).status_code == 401
        bad_header = c.get("/piwebapi/system", headers={"Authorization": "Basic !!!"})
        assert bad_header.status_code == 401
        assert c.get("/piwebapi/system", auth=("piuser", "s3cret")).status_code == 200


def test_bearer_auth() -> None:
    with client(auth="bearer", token="tok-123") as c:
        denied = c.get("/piwebapi/", headers={"Authorization": "Bearer nope"})
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"] == "Bearer"
        assert denied.json() == DENIED
        ok = c.get("/piwebapi/", headers={"Authorization": "Bearer tok-123"})
        assert ok.status_code == 200


def test_auth_comes_before_csrf_and_routing() -> None:
    with client(auth="basic", password="pw") as c:
        assert c.post("/piwebapi/batch", json={}).status_code == 401
        assert c.get("/piwebapi/nothing-here").status_code == 401


def test_credentials_are_secret_and_required() -> None:
    settings = EmulatorSettings(auth=AuthMode.BASIC, password=SecretStr("hunter2"))
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    with pytest.raises(ValidationError):
        EmulatorSettings(auth=AuthMode.BASIC)
    with pytest.raises(ValidationError):
        EmulatorSettings(auth=AuthMode.BEARER)


def test_settings_are_frozen_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NAIA_EMULATOR__SERVER_NAME", "PISRV9")
    monkeypatch.setenv("NAIA_EMULATOR__FAULTS__RATE", "0.25")
    settings = EmulatorSettings()
    assert settings.server_name == "PISRV9"
    assert settings.faults.rate == 0.25
    with pytest.raises(ValidationError):
        settings.server_name = "X"  # type: ignore[misc]
