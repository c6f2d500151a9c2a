"""A fake PI Web API behind ``httpx.MockTransport``, serving the Simulator's events (or given ones).

It behaves like the server where the connector depends on it: ``boundaryType=Inside`` (values at
both ends), silent truncation at maxCount (default 1000), 400 above the server's maximum,
path WebIDs and opaque looked-up WebIDs, per-item exceptions in ``/points/multiple``, batch
sub-requests with 207, 403 on a POST without ``X-Requested-With``, whole-second timestamps without
a fraction and others with up to 7 digits. Faults are injected as scripted responses. The tests at
the bottom check the fake itself.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import numpy as np
import numpy.typing as npt

from naia.domain.timeparse import from_us, to_us
from naia.sources.simulator import SimulatorSettings
from naia.sources.simulator.catalogue import find_point
from naia.sources.simulator.generate import generate

ARCHIVE = "PISRV1"
BASE_URL = "https://pi.test/piwebapi"
US = 1_000_000

Fault = Callable[[httpx.Request], httpx.Response | None]


@dataclass(frozen=True)
class Series:
    """One point's events in time order. ``state`` is None for numbers."""

    ts_us: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    state: list[str | None]
    code: list[int]
    is_system: npt.NDArray[np.bool_]
    good: npt.NDArray[np.bool_]
    questionable: npt.NDArray[np.bool_] | None = None

    @staticmethod
    def numbers(ts_us: list[int], values: list[float]) -> Series:
        n = len(ts_us)
        return Series(
            np.array(ts_us, dtype=np.int64),
            np.array(values, dtype=np.float64),
            [None] * n,
            [0] * n,
            np.zeros(n, dtype=bool),
            np.ones(n, dtype=bool),
        )

    def window(self, start_us: int, end_us: int) -> Series:
        """Events with start_us <= ts <= end_us (Inside)."""
        lo = int(np.searchsorted(self.ts_us, start_us, side="left"))
        hi = int(np.searchsorted(self.ts_us, end_us, side="right"))
        q = None if self.questionable is None else self.questionable[lo:hi]
        return Series(
            self.ts_us[lo:hi],
            self.value[lo:hi],
            self.state[lo:hi],
            self.code[lo:hi],
            self.is_system[lo:hi],
            self.good[lo:hi],
            q,
        )


DataFn = Callable[[str, int, int], Series | None]


def simulator_data(settings: SimulatorSettings) -> DataFn:
    """Events of a Simulator point in [start_us, end_us] (both ends, as Inside)."""

    def data(tag: str, start_us: int, end_us: int) -> Series | None:
        point = find_point(tag)
        if point is None:
            return None
        ev = generate(point, settings.options_for(tag), start_us, end_us + 1)
        names = [ev.state_names[i] if i >= 0 else None for i in ev.state_index.tolist()]
        codes = [int(ev.state_codes[i]) if i >= 0 else 0 for i in ev.state_index.tolist()]
        return Series(ev.ts_us, ev.value, names, codes, ev.is_system, ev.good)

    return data


def static_data(series: dict[str, Series]) -> DataFn:
    def data(tag: str, start_us: int, end_us: int) -> Series | None:
        found = series.get(tag.upper())
        return None if found is None else found.window(start_us, end_us)

    return data


def render_ts(us: int) -> str:
    """Whole seconds without a fraction; others with 7 digits (a sub-µs digit), zeros stripped."""
    moment = from_us(us)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if us % US:
        frac = f"{us % US:06d}{us % 7}".rstrip("0")
        text += "." + frac
    return text + "Z"


def parse_time(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def b64decode_url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class FakePiWebApi:
    data: DataFn
    archive: str = ARCHIVE
    max_allowed: int = 150_000
    default_max_count: int = 1000
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[httpx.Request] = field(default_factory=list)
    opaque: dict[str, str] = field(default_factory=dict)  # looked-up WebId → TAG
    broken_webids: dict[str, str] = field(default_factory=dict)  # TAG → WebId handed out
    require_auth: str | None = None  # the exact Authorization header expected
    reverse_streamsets: bool = False  # answer streamset items in reverse order (WebIds kept)

    @classmethod
    def of_simulator(cls, settings: SimulatorSettings, **kwargs: Any) -> FakePiWebApi:
        return cls(simulator_data(settings), **kwargs)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def inject(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def paths(self, prefix: str) -> list[str]:
        return [r.url.path for r in self.requests if r.url.path.startswith(prefix)]

    # -- routing -----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.faults:
            scripted = self.faults.popleft()(request)
            if scripted is not None:
                return scripted
        if self.require_auth and request.headers.get("Authorization") != self.require_auth:
            return httpx.Response(
                401,
                json={"Message": "Authorization has been denied for this request."},
                headers={"WWW-Authenticate": 'Basic realm="pi.test"'},
            )
        if request.method != "GET" and "X-Requested-With" not in request.headers:
            return _errors(403, "X-Requested-With header is required for this request.")
        return self.route(request.method, request.url, request.content)

    def route(self, method: str, url: httpx.URL, content: bytes) -> httpx.Response:
        path = url.path.removeprefix("/piwebapi")
        params = url.params
        if method == "GET" and path == "/points/multiple":
            return self.points_multiple(params.get_list("path"))
        if method == "GET" and path == "/streamsets/recorded":
            return self.streamset(params.get_list("webId"), params)
        match = re.fullmatch(r"/streams/([^/]+)/recorded", path)
        if method == "GET" and match:
            return self.stream(match[1], params)
        if method == "POST" and path == "/batch":
            return self.batch(msgspec.json.decode(content))
        return _errors(404, f"no route {method} {path}")

    # -- endpoints -----------------------------------------------------------------------------

    def points_multiple(self, paths: list[str]) -> httpx.Response:
        items = []
        for path in paths:
            tag = self.tag_of_path(path)
            if tag is None:
                items.append(
                    {
                        "Identifier": path,
                        "IdentifierType": "Path",
                        "Exception": {"Errors": [f"PI Point not found '{path}'."]},
                    }
                )
                continue
            webid = self.broken_webids.get(tag)
            if webid is None:  # a WebID the server will not take back when broken
                webid = f"F1DPx{len(self.opaque):04d}fake"
                self.opaque[webid] = tag
            items.append({"Identifier": path, "Object": {"WebId": webid, "Name": tag}})
        status = 207 if any("Exception" in i for i in items) else 200
        return httpx.Response(status, json={"Items": items, "Links": {}})

    def streamset(self, webids: list[str], params: httpx.QueryParams) -> httpx.Response:
        items = []
        for webid in webids:
            body = self.recorded(webid, params)
            if isinstance(body, httpx.Response):
                return body
            items.append({"WebId": webid, "Name": "x", "Path": "x", **body})
        if self.reverse_streamsets:
            items.reverse()
        return httpx.Response(200, json={"Links": {}, "Items": items})

    def stream(self, webid: str, params: httpx.QueryParams) -> httpx.Response:
        body = self.recorded(webid, params)
        return body if isinstance(body, httpx.Response) else httpx.Response(200, json=body)

    def batch(self, requests: dict[str, dict[str, Any]]) -> httpx.Response:
        out = {}
        for key, sub in requests.items():
            url = httpx.URL(sub["Resource"])
            response = self.route(sub["Method"], url, b"")
            out[key] = {
                "Status": response.status_code,
                "Headers": dict(response.headers),
                "Content": response.json(),
            }
        return httpx.Response(207, json=out)

    def recorded(self, webid: str, params: httpx.QueryParams) -> dict[str, Any] | httpx.Response:
        tag = self.tag_of_webid(webid)
        if tag is None:
            return _errors(400, f"Unknown or invalid WebID format: '{webid}'.")
        max_count = int(params.get("maxCount", self.default_max_count))
        if max_count > self.max_allowed:
            return _errors(
                400,
                f"The maximum count of {max_count} is greater than the maximum allowed "
                f"({self.max_allowed}).",
            )
        assert params.get("boundaryType", "Inside") == "Inside"
        series = self.data(tag, parse_time(params["startTime"]), parse_time(params["endTime"]))
        if series is None:
            return {
                "Items": [],
                "WebException": {"StatusCode": 404, "Errors": [f"PI Point not found: {tag}"]},
            }
        return {"Items": render_items(series, max_count), "UnitsAbbreviation": "", "Links": {}}

    # -- WebIDs ----------------------------------------------------------------------------------

    def tag_of_path(self, path: str) -> str | None:
        prefix = f"\\\\{self.archive}\\".upper()
        upper = path.upper()
        if not upper.startswith(prefix):
            return None
        tag = upper[len(prefix) :]
        return tag if self.data(tag, 0, 0) is not None else None

    def tag_of_webid(self, webid: str) -> str | None:
        if webid in self.opaque:
            return self.opaque[webid]
        if not webid.startswith("P1DP"):
            return None
        try:
            path = b64decode_url(webid[4:]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        prefix = f"{self.archive}\\".upper()
        return path[len(prefix) :] if path.startswith(prefix) else None


def render_items(series: Series, max_count: int) -> list[dict[str, Any]]:
    items = []
    for i in range(min(max_count, len(series.ts_us))):
        name = series.state[i]
        value: Any = (
            float(series.value[i])
            if name is None
            else {"Name": name, "Value": series.code[i], "IsSystem": bool(series.is_system[i])}
        )
        questionable = bool(series.questionable[i]) if series.questionable is not None else False
        items.append(
            {
                "Timestamp": render_ts(int(series.ts_us[i])),
                "Value": value,
                "UnitsAbbreviation": "",
                "Good": bool(series.good[i]),
                "Questionable": questionable,
                "Substituted": False,
                "Annotated": False,
            }
        )
    return items


def _errors(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"Errors": [message]})


# -- scripted faults -----------------------------------------------------------------------------


def respond(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Fault:
    def fault(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body or {"Errors": [f"HTTP {status}"]}, headers=headers)

    return fault


def fail_with(exc: Exception) -> Fault:
    def fault(request: httpx.Request) -> httpx.Response:
        raise exc

    return fault


def mangle(fake: FakePiWebApi, change: Callable[[bytes], bytes]) -> Fault:
    """The real answer, with its body changed (truncated, a WebException added, …)."""

    def fault(request: httpx.Request) -> httpx.Response:
        real = fake.route(request.method, request.url, request.content)
        return httpx.Response(real.status_code, content=change(real.content))

    return fault


# -- tests of the fake itself --------------------------------------------------------------------

T0 = datetime(2026, 1, 9, tzinfo=UTC)
