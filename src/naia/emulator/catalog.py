"""The emulated PI Data Archive: one server holding the Simulator's points.

Point ids are stable across restarts: the classic points get 1..9 in catalogue order; ``SIM.<n>``
gets ``10,000,000 × (1 + leading zeros) + n`` so that every spelling maps to one id and back;
points added by settings (``EmulatorSettings.points``) get 1,000 + their position.

Names are case-insensitive as in PI: a lookup in any case finds the point, and the point's
``Name`` (and ``Path``) is always the name as the catalogue holds it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

from naia.emulator.settings import ExtraPoint
from naia.sources.simulator.catalogue import PointDef, all_classic, find_point

_SIM_BASE = 10_000_000
_EXTRA_BASE = 1_000
_SIM = re.compile(r"^SIM\.(\d{1,7})$")
_GUID_NAMESPACE = uuid.UUID("6f1d7a52-3b8e-4c1a-9d55-2a0c6e9b4f10")


@dataclass(frozen=True, slots=True)
class EmulatedPoint:
    id: int
    definition: PointDef
    path: str  # \\SERVER\TAG
    source: str = ""  # the Simulator point whose data it serves ("" = its own name)
    hundred_ns: bool = False  # timestamps with a 7th fractional digit

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def data_name(self) -> str:
        return self.source or self.definition.name


class Catalog:
    """Name, id and path lookups, case-insensitive as PI is."""

    def __init__(
        self, server_name: str, listed_numbered_points: int, extra: tuple[ExtraPoint, ...] = ()
    ) -> None:
        self.server_name = server_name
        self.server_guid = uuid.uuid5(_GUID_NAMESPACE, server_name.upper())
        self.server_path = "\\\\" + server_name
        self._listed = listed_numbered_points
        self._classic_ids = {p.name: i for i, p in enumerate(all_classic(), start=1)}
        self._extra = [self._extra_point(i, p) for i, p in enumerate(extra)]
        self._extra_by_name = {p.name.upper(): p for p in self._extra}

    def _extra_point(self, index: int, extra: ExtraPoint) -> EmulatedPoint:
        like = find_point(extra.like)
        assert like is not None  # checked by ExtraPoint
        definition = replace(like, name=extra.name, descriptor=extra.descriptor or like.descriptor)
        path = f"{self.server_path}\\{extra.name}"
        return EmulatedPoint(_EXTRA_BASE + index, definition, path, like.name, extra.hundred_ns)

    def by_name(self, name: str) -> EmulatedPoint | None:
        extra = self._extra_by_name.get(name.upper())
        if extra is not None:
            return extra
        definition = find_point(name)
        if definition is None:
            return None
        return EmulatedPoint(self._id_of(definition.name), definition, self._path(definition))

    def by_id(self, point_id: int) -> EmulatedPoint | None:
        if 1 <= point_id <= len(self._classic_ids):
            return self.by_name(all_classic()[point_id - 1].name)
        if 0 <= point_id - _EXTRA_BASE < len(self._extra):
            return self._extra[point_id - _EXTRA_BASE]
        zeros, n = divmod(point_id, _SIM_BASE)
        if not 1 <= zeros <= 7:
            return None
        digits = str(n).rjust(len(str(n)) + zeros - 1, "0")
        if len(digits) > 7:
            return None
        return self.by_name(f"SIM.{digits}")

    def by_path(self, path: str) -> EmulatedPoint | None:
        """``\\\\SERVER\\TAG`` (leading backslashes optional), server name must match."""
        server, sep, tag = path.lstrip("\\").partition("\\")
        if not sep or not self.is_server(server):
            return None
        return self.by_name(tag)

    def is_server(self, name: str) -> bool:
        return name.strip().upper() == self.server_name.upper()

    def listing(self, name_filter: str) -> Iterator[EmulatedPoint]:
        """Classic points then SIM.1..SIM.<listed>, filtered by a PI wildcard (* and ?)."""
        pattern = wildcard(name_filter)
        for definition in all_classic():
            if pattern.match(definition.name):
                yield self._point(definition)
        for extra in self._extra:
            if pattern.match(extra.name):
                yield extra
        for n in range(1, self._listed + 1):
            name = f"SIM.{n}"
            if pattern.match(name):
                point = self.by_name(name)
                if point is not None:
                    yield point

    def _point(self, definition: PointDef) -> EmulatedPoint:
        return EmulatedPoint(self._id_of(definition.name), definition, self._path(definition))

    def _path(self, definition: PointDef) -> str:
        return f"{self.server_path}\\{definition.name}"

    def _id_of(self, name: str) -> int:
        if name in self._classic_ids:
            return self._classic_ids[name]
        match = _SIM.match(name)
        if match is None:  # pragma: no cover - find_point only knows these two families
            raise ValueError(name)
        digits = match[1]
        zeros = len(digits) - len(digits.lstrip("0")) if digits.strip("0") else len(digits) - 1
        return _SIM_BASE * (1 + zeros) + int(digits)


def wildcard(name_filter: str) -> re.Pattern[str]:
    text = name_filter.strip() or "*"
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)
