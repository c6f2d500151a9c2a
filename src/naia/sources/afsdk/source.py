"""AfSdkSource: recorded PI history through the PI AF SDK (connectorType ``PIAfSdk``).

A read of points × [start, end):

1. connect to the data archive (once; again after a failure), with the configured timeouts and
   Windows integrated security or the given credentials;
2. resolve the names with ``PIPoint.FindPIPoints`` (cached), naming every unknown point in an
   UnknownPointError before any data moves;
3. per group of ``points_per_call`` points, one bulk ``PIPointList.RecordedValues`` with
   ``AFBoundaryType.Inside`` and a ``PIPagingConfiguration``; the SDK yields one AFValues per point,
   not in list order, so each is mapped back through ``AFValues.PIPoint``;
4. each AFValues becomes columns (``decode.columns``), is cut to [start, end) (Inside returns the
   value at ``end`` too: the next window owns it), gets ``seq`` 0, 1, 2… per timestamp, and leaves
   as an Arrow batch; batches are grouped to about ``batch_rows`` rows.

Errors leave as NAIA errors. A failed page raises OperationCanceledException with the cause in
``PIPagingConfiguration.Error``: timeouts and lost connections become SourceTransientError (the
next call reconnects), anything else SourceError. Credentials never appear in messages or logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TypeVar

import pyarrow as pa

from naia.domain.counting import tally_rows
from naia.domain.errors import (
    NaiaError,
    SourceError,
    SourceTransientError,
    UnknownPointError,
)
from naia.domain.model import WindowGrid
from naia.domain.ports import PointWindowTallies
from naia.domain.schema import point_batch, rebatch
from naia.domain.timeparse import to_us
from naia.sources.afsdk import sdk
from naia.sources.afsdk.decode import Columns, columns, continued_seq, us_to_ticks
from naia.sources.afsdk.settings import AfSdkSettings

log = logging.getLogger(__name__)

# .NET exception types (simple names, matched along the type's base classes: the SDK's
# PITimeoutException is a PIConnectionException) whose cause is worth a retry.
TRANSIENT_CAUSES = frozenset(
    {
        "TimeoutException",
        "PIConnectionException",
        "SocketException",
        "IOException",
        "CommunicationException",
        "EndpointNotFoundException",
        "ServerTooBusyException",
        "OperationCanceledException",  # cancelled without a cause, e.g. the keep-alive timeout
    }
)
# ... unless it is one of these: PIAuthenticationException is a PIConnectionException too.
TERMINAL_CAUSES = frozenset(
    {
        "PIAuthenticationException",
        "AuthenticationException",
        "SecurityException",
        "UnauthorizedAccessException",
    }
)
TRANSIENT_PI_CODES = ("[-10722]",)  # PINET: timeout on PI RPC or system call
_T = TypeVar("_T")
Resolved = Sequence[tuple[str, sdk.PIPoint]]  # (name as requested, its PIPoint)


class AfSdkSource:
    """A Source over one PI Data Archive; the AF SDK namespace is injected (real or fake)."""

    def __init__(self, settings: AfSdkSettings, afsdk: sdk.AfSdk) -> None:
        self._settings = settings
        self._sdk = afsdk
        self._server: sdk.PIServer | None = None
        self._points: dict[str, sdk.PIPoint] = {}

    def check_points(self, points: Sequence[str]) -> None:
        self._resolve(points)

    def read(
        self, points: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        resolved = self._resolve(points)  # unknown points fail now, before any data moves
        parts = self._batches(resolved, to_us(start), to_us(end))
        return rebatch(parts, self._settings.batch_rows)

    def tally_events(self, points: Sequence[str], grid: WindowGrid) -> PointWindowTallies:
        """Count and key fingerprint per window from a thin read: the bulk RecordedValues of
        ``read`` over the whole grid. ``PIPointList.Summaries`` is not used: with
        AFCalculationBasis.EventWeighted the AF SDK counts the events at both ends of a single
        interval (docs/verify.md)."""
        return tally_rows(self.read(points, grid.start, grid.end), points, grid)

    def close(self) -> None:
        self._disconnect()
        self._points.clear()

    # -- connection ----------------------------------------------------------------------------

    def _connected(self) -> sdk.PIServer:
        server = self._server
        if server is not None and server.IsConnected:
            return server
        if server is None:
            server = self._guard("find the data archive", self._find_server)
        self._guard("connect", lambda: self._connect(server))
        self._server = server
        return server

    def _find_server(self) -> sdk.PIServer:
        servers = self._sdk.PIServers()
        name = self._settings.data_archive
        server = servers[name] if name else servers.DefaultPIServer
        if server is None:
            raise SourceError(
                f"PI Data Archive {self._settings.archive_label} is not in this host's known "
                "servers table: add it with PI System Explorer (File > Connections) or fix "
                "data_archive"
            )
        return server

    def _connect(self, server: sdk.PIServer) -> None:
        info = server.ConnectionInfo
        info.ConnectionTimeOut = self._sdk.TimeSpan.FromSeconds(self._settings.connect_timeout_s)
        info.OperationTimeOut = self._sdk.TimeSpan.FromSeconds(self._settings.operation_timeout_s)
        user, password = self._settings.username, self._settings.password
        if user is None or password is None:
            server.Connect()
        else:
            credential = self._sdk.NetworkCredential(
                user.get_secret_value(), password.get_secret_value()
            )
            server.Connect(credential, self._auth_mode())
        log.info("connected to PI Data Archive %s (%s)", server.Name, self._settings.auth_mode)

    def _auth_mode(self) -> object:
        modes = self._sdk.PIAuthenticationMode
        if self._settings.auth_mode == "PIUser":
            return modes.PIUserAuthentication
        return modes.WindowsAuthentication

    def _disconnect(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        try:
            server.Disconnect()
        except self._sdk.NetException as exc:
            log.warning("disconnect from %s failed: %s", self._settings.archive_label, exc)

    # -- point resolution ------------------------------------------------------------------------

    def _resolve(self, points: Sequence[str]) -> Resolved:
        wanted = list(dict.fromkeys(points))
        missing = [p for p in wanted if _key(p) not in self._points]
        for group in _groups(missing, self._settings.points_per_call):
            self._lookup(group)
        unknown = [p for p in wanted if _key(p) not in self._points]
        if unknown:
            raise UnknownPointError(unknown)
        return [(p, self._points[_key(p)]) for p in wanted]

    def _lookup(self, names: Sequence[str]) -> None:
        server = self._connected()
        names_list = self._sdk.string_list(names)
        found = self._guard(
            "look up points", lambda: list(self._sdk.PIPoint.FindPIPoints(server, names_list, None))
        )
        for point in found:
            self._points[_key(point.Name)] = point

    # -- bulk read -------------------------------------------------------------------------------

    def _batches(self, resolved: Resolved, start_us: int, end_us: int) -> Iterator[pa.RecordBatch]:
        if end_us <= start_us:
            return
        time_range = self._time_range(start_us, end_us)
        last: dict[str, tuple[int, int]] = {}  # per point: (last ts, last seq) already yielded
        for group in _groups(resolved, self._settings.points_per_call):
            requested = {_key(point.Name): name for name, point in group}
            for afvalues in self._recorded(group, time_range):
                name = requested.get(_key(afvalues.PIPoint.Name))
                if name is None:
                    unasked = afvalues.PIPoint.Name
                    raise SourceError(f"the AF SDK returned values of {unasked!r}, not asked for")
                batch = self._batch(name, afvalues, start_us, end_us, last)
                if batch is not None:
                    yield batch

    def _time_range(self, start_us: int, end_us: int) -> sdk.AFTimeRange:
        afsdk = self._sdk
        utc = afsdk.DateTimeKind.Utc
        start = afsdk.AFTime(afsdk.DateTime(us_to_ticks(start_us), utc))
        end = afsdk.AFTime(afsdk.DateTime(us_to_ticks(end_us), utc))
        return afsdk.AFTimeRange(start, end)

    def _recorded(self, group: Resolved, time_range: sdk.AFTimeRange) -> Iterator[sdk.AFValues]:
        self._connected()
        point_list = self._sdk.PIPointList()
        for _, point in group:
            point_list.Add(point)
        config = self._sdk.PIPagingConfiguration(self._page_type(), self._settings.page_size)
        inside = self._sdk.AFBoundaryType.Inside
        action = f"bulk read of {len(group)} point(s)"
        try:
            yield from point_list.RecordedValues(time_range, inside, None, False, config, 0)
        except self._sdk.OperationCanceledException as exc:
            raise self._translate(action, config.Error or exc) from exc
        except self._sdk.NetException as exc:
            raise self._translate(action, exc) from exc

    def _page_type(self) -> object:
        types = self._sdk.PIPageType
        return types.TagCount if self._settings.page_type == "TagCount" else types.EventCount

    def _batch(
        self,
        name: str,
        afvalues: sdk.AFValues,
        start_us: int,
        end_us: int,
        last: dict[str, tuple[int, int]],
    ) -> pa.RecordBatch | None:
        data = self._columns(name, afvalues)
        keep = (data.ts_us >= start_us) & (data.ts_us < end_us)  # half-open: drop values at end
        if not bool(keep.all()):
            data = data.take(keep)
        if len(data) == 0:
            return None
        seq = continued_seq(data.ts_us, last.get(name))
        last[name] = (int(data.ts_us[-1]), int(seq[-1]))
        state = pa.nulls(len(data), pa.string()) if data.state is None else data.state
        return point_batch(
            name, data.ts_us, data.value, state, data.good,
            seq, data.questionable, data.substituted, data.annotated,
        )  # fmt: skip

    def _columns(self, name: str, afvalues: sdk.AFValues) -> Columns:
        try:
            return columns(afvalues, self._sdk.bulk)
        except (TypeError, ValueError, OverflowError) as exc:
            raise SourceError(f"cannot convert the values of {name!r}: {exc}") from exc

    # -- errors ------------------------------------------------------------------------------------

    def _guard(self, action: str, call: Callable[[], _T]) -> _T:
        """Run an SDK call; its .NET exceptions leave as NAIA errors."""
        try:
            return call()
        except self._sdk.NetException as exc:
            raise self._translate(action, exc) from exc

    def _translate(self, action: str, cause: BaseException) -> NaiaError:
        message = f"PI AF SDK, {self._settings.archive_label}: {action} failed: {describe(cause)}"
        if is_transient(cause):
            self._disconnect()  # the next call connects afresh
            return SourceTransientError(message)
        return SourceError(message)


def describe(cause: BaseException) -> str:
    """``Type: message`` of a .NET exception and of its inner exceptions."""
    parts: list[str] = []
    for error in _chain(cause):
        message = getattr(error, "Message", None) or str(error)
        parts.append(f"{type(error).__name__}: {message}")
    return " <- ".join(parts)


def is_transient(cause: BaseException) -> bool:
    for error in _chain(cause):
        kinds = {kind.__name__ for kind in type(error).__mro__}
        if kinds & TERMINAL_CAUSES:
            return False
        if kinds & TRANSIENT_CAUSES:
            return True
        message = str(getattr(error, "Message", None) or error)
        if any(code in message for code in TRANSIENT_PI_CODES):
            return True
    return False


def _chain(cause: BaseException, limit: int = 4) -> Iterator[BaseException]:
    error: object = cause
    for _ in range(limit):
        if not isinstance(error, BaseException):
            return
        yield error
        error = getattr(error, "InnerException", None)


def _key(name: str) -> str:
    """PI point names are case-insensitive."""
    return name.strip().upper()


def _groups(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]
