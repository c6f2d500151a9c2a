"""The JSONPath subset that batch requests use: ``$.id.Content.Items[*].WebId``.

Supported steps: ``.name``, ``['name']`` / ``["name"]``, ``[n]`` (negative from the end), ``[*]``
and ``.*``. Evaluation returns every selected token, in document order.
"""

from __future__ import annotations

import re

_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]]+)            # .name or .*
      | \[\s*'(?P<single>[^']*)'\s*\]    # ['name']
      | \[\s*"(?P<double>[^"]*)"\s*\]    # ["name"]
      | \[\s*(?P<index>-?\d+)\s*\]       # [3]
      | \[\s*(?P<star>\*)\s*\]           # [*]
    """,
    re.VERBOSE,
)

Step = tuple[str, str | int]  # ("key", name) | ("index", n) | ("all", "")


class JsonPathError(ValueError):
    pass


def parse(path: str) -> list[Step]:
    text = path.strip()
    if not text.startswith("$"):
        raise JsonPathError(f"A JSONPath must start with '$': '{path}'.")
    steps: list[Step] = []
    pos = 1
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise JsonPathError(f"Unsupported JSONPath '{path}' at position {pos}.")
        steps.append(_step(match))
        pos = match.end()
    return steps


def _step(match: re.Match[str]) -> Step:
    if match["name"] is not None:
        return ("all", "") if match["name"] == "*" else ("key", match["name"])
    if match["single"] is not None:
        return ("key", match["single"])
    if match["double"] is not None:
        return ("key", match["double"])
    if match["index"] is not None:
        return ("index", int(match["index"]))
    return ("all", "")


def select(root: object, path: str) -> list[object]:
    """All tokens that ``path`` selects in ``root``."""
    tokens = [root]
    for kind, arg in parse(path):
        tokens = [t for token in tokens for t in _apply(token, kind, arg)]
    return tokens


def first_step(path: str) -> str | None:
    """The key of the first step (in a batch: the id of the request referred to)."""
    steps = parse(path)
    if steps and steps[0][0] == "key":
        return str(steps[0][1])
    return None


def _apply(token: object, kind: str, arg: str | int) -> list[object]:
    if kind == "key":
        return [token[arg]] if isinstance(token, dict) and arg in token else []
    if kind == "index":
        if isinstance(token, list) and isinstance(arg, int) and -len(token) <= arg < len(token):
            return [token[arg]]
        return []
    if isinstance(token, dict):
        return list(token.values())
    if isinstance(token, list):
        return list(token)
    return []
