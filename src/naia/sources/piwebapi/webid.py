"""PI point paths and path-only WebIDs (WebID 2.0), built without a server round trip.

A path WebID is ``P1DP`` + Base64url (no padding) of the upper-cased point path without its
leading ``\\\\``: ``\\\\PISRV1\\SINUSOID`` → ``P1DPUElTUlYxXFNJTlVTT0lE``. WebIDs that the server
returns are opaque: we never decode them.
"""

from __future__ import annotations

import base64

PATH_POINT_PREFIX = "P1DP"


def point_path(data_archive: str, point: str) -> str:
    """``\\\\SERVER\\TAG`` for a tag name; a full ``\\\\SERVER\\TAG`` path is kept as given."""
    if point.startswith("\\\\"):
        return point
    return f"\\\\{data_archive}\\{point}"


def path_webid(path: str) -> str:
    """The path-only WebID of a PI point path such as ``\\\\PISRV1\\SINUSOID``."""
    payload = path.removeprefix("\\\\").upper().encode("utf-8")
    return PATH_POINT_PREFIX + b64url(payload)


def b64url(data: bytes) -> str:
    """Base64 with ``+``→``-``, ``/``→``_`` and the ``=`` padding stripped."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
