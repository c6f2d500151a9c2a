"""What every handler shares: settings, the catalogue, the reader, the page cache, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from naia.emulator.cache import ByteLru
from naia.emulator.catalog import Catalog, EmulatedPoint
from naia.emulator.http import ApiError, Query
from naia.emulator.pitime import now_us
from naia.emulator.reader import RecordedReader
from naia.emulator.settings import EmulatorSettings
from naia.emulator.webid import (
    WebIdError,
    WebIdType,
    b64,
    decode,
    point_web_id,
    server_web_id,
    unb64,
)
from naia.sources.simulator.catalogue import SYSTEM_STATES, all_classic
from naia.sources.simulator.source import effective_definition


@dataclass
class Emulator:
    settings: EmulatorSettings
    clock: Callable[[], int] = now_us
    catalog: Catalog = field(init=False)
    reader: RecordedReader = field(init=False)
    cache: ByteLru = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.catalog = Catalog(s.server_name, s.listed_numbered_points, s.points)
        self.reader = RecordedReader(s.simulator)
        self.cache = ByteLru(s.cache_bytes)

    def point_web_id(self, point: EmulatedPoint, kind: WebIdType = WebIdType.FULL) -> str:
        return point_web_id(kind, self.catalog.server_guid, point.id, point.path)

    def server_web_id(self, kind: WebIdType = WebIdType.FULL) -> str:
        return server_web_id(kind, self.catalog.server_guid, self.catalog.server_name)

    def resolve_point(self, web_id: str) -> EmulatedPoint:
        """The point a DP WebID names; 400 for a malformed WebID, 404 for an unknown point."""
        try:
            ref = decode(web_id)
        except WebIdError as exc:
            raise ApiError(400, str(exc)) from None
        if ref.marker != "DP":
            raise ApiError(400, str(WebIdError(web_id)))
        if ref.point_id is not None:
            if ref.server_guid != self.catalog.server_guid:
                raise ApiError(404, f"PI Data Archive for WebID '{web_id}' not found.")
            point = self.catalog.by_id(ref.point_id)
        else:
            point = self.catalog.by_path(ref.path or "")
        if point is None:
            raise ApiError(404, f"PI Point not found for WebID '{web_id}'.")
        return point

    def point_by_path(self, path: str) -> EmulatedPoint:
        point = self.catalog.by_path(path)
        if point is None:
            raise ApiError(404, f"PI Point not found '{path}'.")
        return point

    def is_server_web_id(self, web_id: str) -> bool:
        try:
            ref = decode(web_id)
        except WebIdError as exc:
            raise ApiError(400, str(exc)) from None
        if ref.marker != "DS":
            raise ApiError(400, str(WebIdError(web_id)))
        if ref.server_guid is not None:
            return ref.server_guid == self.catalog.server_guid
        return self.catalog.is_server(ref.path or "")

    def enumeration_sets(self) -> dict[str, list[tuple[str, int]]]:
        """Digital state sets of the catalogue's points, then SYSTEM (name → (state, code))."""
        sets: dict[str, list[tuple[str, int]]] = {}
        names = [p.name for p in all_classic()] + [p.name for p in self.settings.points]
        names += list(self.settings.simulator.points)  # points made digital by options
        for name in names:
            point = self.catalog.by_name(name)
            if point is None:
                continue
            d = effective_definition(self.settings.simulator, point.definition)
            if d.is_digital and d.digital_set and d.digital_set not in sets:
                sets[d.digital_set] = [(state, code) for code, state in enumerate(d.states)]
        sets["SYSTEM"] = [(name, code) for code, name in SYSTEM_STATES]
        return sets

    def enumeration_set_web_id(self, name: str) -> str:
        return _SET_PREFIX + b64(f"{self.catalog.server_name}\\{name}".upper().encode("utf-8"))

    def resolve_enumeration_set(self, web_id: str) -> str:
        """The set a WebID from :meth:`enumeration_set_web_id` names; 400 or 404 otherwise."""
        if not web_id.startswith(_SET_PREFIX):
            raise ApiError(400, str(WebIdError(web_id)))
        try:
            path = unb64(web_id[len(_SET_PREFIX) :]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, str(WebIdError(web_id))) from None
        server, _, name = path.partition("\\")
        for known in self.enumeration_sets():
            if self.catalog.is_server(server) and known.upper() == name:
                return known
        raise ApiError(404, f"Enumeration set not found for WebID '{web_id}'.")


_SET_PREFIX = "P1DE"  # path-only WebID of a PI Data Archive enumeration set (opaque to clients)


def web_id_type(query: Query) -> WebIdType:
    text = query.get("webIdType")
    if text is None or not text.strip():
        return WebIdType.FULL
    for kind in WebIdType:
        if kind.value.lower() == text.strip().lower():
            return kind
    raise ApiError(400, f"The value '{text}' is not valid for webIdType.")
