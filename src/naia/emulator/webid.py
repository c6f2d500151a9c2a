"""WebID 2.0 for PI points (marker DP) and data servers (marker DS).

``<Type><Version=1><Marker><payload>``: Type F (full: ids and path), I (ids only), P (path only).
Each payload part is Base64 without ``=`` padding, ``+`` → ``-``, ``/`` → ``_``, encoded separately:
server GUID (16 bytes, .NET byte order) → 22 chars; point id (Int32, little-endian) → 6 chars;
path (upper-cased, without the leading ``\\\\``, UTF-8) → the rest.
"""

from __future__ import annotations

import base64
import binascii
import enum
import struct
import uuid
from dataclasses import dataclass

GUID_CHARS = 22
INT_CHARS = 6


class WebIdType(enum.StrEnum):
    FULL = "Full"
    ID_ONLY = "IDOnly"
    PATH_ONLY = "PathOnly"


class WebIdError(ValueError):
    """Not a WebID this server understands."""

    def __init__(self, web_id: str) -> None:
        super().__init__(f"Unknown or invalid WebID format: '{web_id}'.")
        self.web_id = web_id


@dataclass(frozen=True, slots=True)
class WebIdRef:
    """What a WebID names. ``path`` is upper-case and has no leading backslashes."""

    marker: str  # "DP" or "DS"
    server_guid: uuid.UUID | None
    point_id: int | None
    path: str | None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    if not text or any(c in text for c in "=+/"):
        raise ValueError(text)
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _path_part(path: str) -> str:
    return b64(path.lstrip("\\").upper().encode("utf-8"))


def point_web_id(kind: WebIdType, server_guid: uuid.UUID, point_id: int, path: str) -> str:
    """WebID of a PI point; ``path`` is ``\\\\SERVER\\TAG``."""
    ids = b64(server_guid.bytes_le) + b64(struct.pack("<i", point_id))
    if kind is WebIdType.PATH_ONLY:
        return "P1DP" + _path_part(path)
    if kind is WebIdType.ID_ONLY:
        return "I1DP" + ids
    return "F1DP" + ids + _path_part(path)


def server_web_id(kind: WebIdType, server_guid: uuid.UUID, name: str) -> str:
    """WebID of a data server (PI Data Archive)."""
    if kind is WebIdType.PATH_ONLY:
        return "P1DS" + _path_part(name)
    if kind is WebIdType.ID_ONLY:
        return "I1DS" + b64(server_guid.bytes_le)
    return "F1DS" + b64(server_guid.bytes_le) + _path_part(name)


def decode(web_id: str) -> WebIdRef:
    """Decode a DP or DS WebID 2.0; raise WebIdError for anything else."""
    if len(web_id) < 5 or web_id[1] != "1" or web_id[0] not in "FIP":
        raise WebIdError(web_id)
    kind, marker, rest = web_id[0], web_id[2:4], web_id[4:]
    if marker not in ("DP", "DS"):
        raise WebIdError(web_id)
    try:
        return _decode_payload(kind, marker, rest)
    except (ValueError, binascii.Error, struct.error, UnicodeDecodeError):
        raise WebIdError(web_id) from None


def _decode_payload(kind: str, marker: str, rest: str) -> WebIdRef:
    if kind == "P":
        return WebIdRef(marker, None, None, unb64(rest).decode("utf-8").upper())
    guid = uuid.UUID(bytes_le=unb64(rest[:GUID_CHARS]))
    rest = rest[GUID_CHARS:]
    point_id: int | None = None
    if marker == "DP":
        (point_id,) = struct.unpack("<i", unb64(rest[:INT_CHARS]))
        rest = rest[INT_CHARS:]
    if kind == "I":
        if rest:
            raise ValueError(rest)
        return WebIdRef(marker, guid, point_id, None)
    path = unb64(rest).decode("utf-8").upper() if rest else None
    return WebIdRef(marker, guid, point_id, path)
