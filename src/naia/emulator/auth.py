"""Optional Basic or Bearer authentication and the CSRF rule for non-GET requests."""

from __future__ import annotations

import base64
import binascii
import hmac

from naia.emulator.http import Reply, json_reply
from naia.emulator.settings import AuthMode, EmulatorSettings

DENIED = {"Message": "Authorization has been denied for this request."}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_auth(settings: EmulatorSettings, authorization: str | None) -> Reply | None:
    """None when the request may go on, else the 401 to answer."""
    if settings.auth is AuthMode.NONE:
        return None
    if settings.auth is AuthMode.BASIC and _basic_ok(settings, authorization or ""):
        return None
    if settings.auth is AuthMode.BEARER and _bearer_ok(settings, authorization or ""):
        return None
    challenge = (
        f'Basic realm="{settings.server_name}"' if settings.auth is AuthMode.BASIC else "Bearer"
    )
    denied = json_reply(DENIED, 401)
    return Reply(401, denied.chunks, headers=((b"www-authenticate", challenge.encode()),))


def _basic_ok(settings: EmulatorSettings, header: str) -> bool:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    expected = settings.password.get_secret_value()
    user_ok = hmac.compare_digest(user.encode(), settings.username.encode())
    password_ok = hmac.compare_digest(password.encode(), expected.encode())
    return bool(sep) and user_ok and password_ok


def _bearer_ok(settings: EmulatorSettings, header: str) -> bool:
    scheme, _, token = header.strip().partition(" ")
    expected = settings.token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


def check_csrf(method: str, requested_with: str | None) -> Reply | None:
    """PI Web API's CSRF defence: every non-GET request must carry X-Requested-With."""
    if method.upper() in _SAFE_METHODS or requested_with:
        return None
    message = (
        "The request was rejected by CSRF defence: a request with method "
        f"'{method}' must carry the 'X-Requested-With' header."
    )
    return json_reply({"Errors": [message]}, 403)
