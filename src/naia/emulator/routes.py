"""Routing of ``/piwebapi/...`` paths (case-insensitive, as ASP.NET routes are) to handlers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from naia.emulator import batch, data, meta, streams
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
_META, _STREAM, _SET = EndpointKind.METADATA, EndpointKind.STREAM, EndpointKind.STREAMSET
_TABLE: tuple[tuple[str, str, EndpointKind, Handler], ...] = (
    ("GET", r"/?", EndpointKind.ROOT, _no_arg(meta.landing)),
    ("GET", r"/system/?", EndpointKind.ROOT, _no_arg(meta.system)),
    ("GET", r"/system/versions/?", EndpointKind.ROOT, _no_arg(meta.versions)),
    ("GET", r"/system/status/?", EndpointKind.ROOT, _no_arg(meta.status)),
    ("GET", r"/assetservers/?", _META, _no_arg(meta.asset_servers)),
    ("GET", r"/dataservers/?", _META, _no_arg(meta.data_servers)),
    ("GET", rf"/dataservers/{_ID}/points/?", _META, meta.server_points),
    ("GET", rf"/dataservers/{_ID}/enumerationsets/?", _META, meta.enumeration_sets),
    ("GET", rf"/dataservers/{_ID}/?", _META, meta.data_server),
    ("GET", rf"/enumerationsets/{_ID}/values/?", _META, meta.enumeration_values),
    ("GET", rf"/enumerationsets/{_ID}/?", _META, meta.enumeration_set),
    ("GET", r"/points/?", _META, _no_arg(meta.point_by_path)),
    ("GET", r"/points/multiple/?", _META, _no_arg(meta.points_multiple)),
    ("GET", rf"/points/{_ID}/attributes/?", _META, meta.point_attributes),
    ("GET", r"/points/(?P<arg>[^/]+/attributes/[^/]+)/?", _META, meta.point_attribute),
    ("GET", rf"/points/{_ID}/?", _META, meta.point_by_web_id),
    ("GET", rf"/streams/{_ID}/recorded/?", _STREAM, data.recorded),
    ("GET", rf"/streams/{_ID}/value/?", _STREAM, streams.value),
    ("GET", rf"/streams/{_ID}/end/?", _STREAM, streams.end),
    ("GET", rf"/streams/{_ID}/recordedattime/?", _STREAM, streams.recorded_at_time),
    ("GET", rf"/streams/{_ID}/interpolated/?", _STREAM, streams.interpolated),
    ("GET", rf"/streams/{_ID}/interpolatedattimes/?", _STREAM, streams.interpolated_at_times),
    ("GET", rf"/streams/{_ID}/plot/?", _STREAM, streams.plot),
    # summary: the Count-only hook below is replaced by naia.emulator.summary (every
    # summaryType); meta.point_object advertises SummaryData once that is in place
    ("GET", rf"/streams/{_ID}/summary/?", _STREAM, data.summary),
    ("GET", r"/streamsets/recorded/?", _SET, _no_arg(data.streamset)),
    ("GET", r"/streamsets/value/?", _SET, _no_arg(streams.set_value)),
    ("GET", r"/streamsets/end/?", _SET, _no_arg(streams.set_end)),
    ("GET", r"/streamsets/recordedattime/?", _SET, _no_arg(streams.set_recorded_at_time)),
    ("GET", r"/streamsets/interpolated/?", _SET, _no_arg(streams.set_interpolated)),
    (
        "GET",
        r"/streamsets/interpolatedattimes/?",
        _SET,
        _no_arg(streams.set_interpolated_at_times),
    ),
    ("GET", r"/streamsets/plot/?", _SET, _no_arg(streams.set_plot)),
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
