"""``selectedFields``: semicolon-separated dotted paths (``Items.Timestamp;Items.Value``).

A path selects its whole subtree; a container is kept when any selected path runs through it.
Matching is case-insensitive. ``Selection.all()`` (no parameter) keeps everything.
"""

from __future__ import annotations


class Selection:
    def __init__(self, paths: tuple[tuple[str, ...], ...] | None) -> None:
        self._paths = paths

    @classmethod
    def all(cls) -> Selection:
        return cls(None)

    @classmethod
    def parse(cls, text: str | None) -> Selection:
        if text is None or not text.strip():
            return cls(None)
        parts = (p.strip() for p in text.split(";"))
        paths = tuple(tuple(s.strip().lower() for s in p.split(".")) for p in parts if p)
        return cls(paths or None)

    @property
    def key(self) -> tuple[tuple[str, ...], ...] | None:
        return self._paths

    def child(self, name: str) -> Selection | None:
        """The selection inside field ``name``, or None when the field is not selected."""
        if self._paths is None:
            return self
        lower = name.lower()
        rests = [p[1:] for p in self._paths if p[0] == lower]
        if not rests:
            return None
        if any(not r for r in rests):
            return Selection(None)
        return Selection(tuple(rests))

    def includes(self, name: str) -> bool:
        return self.child(name) is not None

    def leaves(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n for n in names if self.includes(n))

    def apply(self, obj: object) -> object:
        """Trim a JSON-like value (dicts, lists, scalars) to this selection."""
        if self._paths is None:
            return obj
        if isinstance(obj, list):
            return [self.apply(item) for item in obj]
        if isinstance(obj, dict):
            kept: dict[str, object] = {}
            for key, value in obj.items():
                sub = self.child(key)
                if sub is not None:
                    kept[key] = sub.apply(value)
            return kept
        return obj
