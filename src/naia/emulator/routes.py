"""Routing of ``/piwebapi/...`` paths (case-insensitive, as ASP.NET routes are) to handlers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from naia.emulator import batch, data, meta, summary
from naia.emulator.context import Emulator
from naia.emulator.http import ApiError, Call, Reply, error_reply
from naia.emulator.settings import EndpointKind

Handler = Callable[[Emulator, Call, str], Reply]
PREFIX = "/piwebapi"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    kind: EndpointKind
    handler: Handler


def _no_arg(fn: Callable[[Emulator, Call], Reply]) -> Handler:
    return lambda emu, call, _arg: fn(emu, call)


def _batch(emu: Emulator, call: Call, _arg: str) -> Reply:
    return batch.execute(emu, call, dispatch)


_ID = r"(?P<arg>[^/]+)"
_TABLE: tuple[tuple[str, str, EndpointKind, Handler], ...] = (
    ("GET", r"/?", EndpointKind.ROOT, _no_arg(meta.landing)),
    ("GET", r"/system/?", EndpointKind.ROOT, _no_arg(meta.system)),
    ("GET", r"/dataservers/?", EndpointKind.METADATA, _no_arg(meta.data_servers)),
    ("GET", rf"/dataservers/{_ID}/points/?", EndpointKind.METADATA, meta.server_points),
    ("GET", rf"/dataservers/{_ID}/?", EndpointKind.METADATA, meta.data_server),
    ("GET", r"/points/?", EndpointKind.METADATA, _no_arg(meta.point_by_path)),
    ("GET", r"/points/multiple/?", EndpointKind.METADATA, _no_arg(meta.points_multiple)),
    ("GET", rf"/points/{_ID}/?", EndpointKind.METADATA, meta.point_by_web_id),
    ("GET", rf"/streams/{_ID}/recorded/?", EndpointKind.STREAM, data.recorded),
    ("GET", rf"/streams/{_ID}/summary/?", EndpointKind.STREAM, summary.stream_summary),
    ("GET", r"/streamsets/recorded/?", EndpointKind.STREAMSET, _no_arg(data.streamset)),
    ("GET", r"/streamsets/summary/?", EndpointKind.STREAMSET, _no_arg(summary.streamset_summary)),
    ("POST", r"/batch/?", EndpointKind.BATCH, _batch),
)
ROUTES = tuple(
    Route(method, re.compile(f"^{PREFIX}{path}$", re.IGNORECASE), kind, handler)
    for method, path, kind, handler in _TABLE
)


def match(method: str, path: str) -> tuple[Route, str] | ApiError:
    """The route for (method, path) and its path argument, or the 404/405 to answer."""
    allowed = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None:
            continue
        if route.method == method:
            return route, found.groupdict().get("arg") or ""
        allowed = True
    if allowed:
        return ApiError(405, f"The requested resource does not support http method '{method}'.")
    return ApiError(404, f"No HTTP resource was found that matches the request URI '{path}'.")


def kind_of(method: str, path: str) -> EndpointKind | None:
    found = match(method, path)
    return None if isinstance(found, ApiError) else found[0].kind


def dispatch(emu: Emulator, call: Call) -> Reply:
    """Run the handler for ``call``; API errors become ``{"Errors":[...]}`` replies."""
    found = match(call.method, call.path)
    if isinstance(found, ApiError):
        return error_reply(found)
    route, arg = found
    try:
        return route.handler(emu, call, arg)
    except ApiError as exc:
        return error_reply(exc)
    except Exception:  # a bug: answer as the real server does, keep the traceback in the log
        log.exception("emulator failed on %s %s", call.method, call.path)
        return error_reply(ApiError(500, "An error has occurred."))
