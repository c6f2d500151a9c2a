"""A typed, pure-Python fake of the AF SDK types the connector uses.

It stands for a PI Data Archive whose recorded history comes from an injected :class:`History`
(tests inject the Simulator; this module must not import it, adapters are independent). It keeps
the behaviour the connector has to cope with:

- ``PIPoint.FindPIPoints`` leaves out names it does not know; ``FindPIPoint`` raises
  ``PIPointInvalidException``;
- ``PIPointList.RecordedValues`` is lazy and paged: ``TagCount`` pages hold ``PageSize`` points,
  ``EventCount`` pages hold whole points until ``PageSize`` events are reached; one AFValues per
  point (optionally split in pieces, ``split_results``), points in a shuffled, non-list order;
- ``AFBoundaryType.Inside``: values exactly at both ends of the range are returned;
- same-timestamp events, digital states and system states (``IsSystem``, status Bad);
- failures, injected as :class:`Fault`: connection failure, access denied, operation timeout,
  connection lost and a terminal paging error, the last three raised as
  ``OperationCanceledException`` with the cause in ``PIPagingConfiguration.Error``. A fault with
  ``times=N`` happens N times, then the call succeeds, so retries can be tested.

Choose it by injection: ``AfSdkSource(settings, FakePISystem(history).sdk())``. It is the fast
double of the unit tests; the compiled stand-in (tests/doubles/afsdk_standin) is the proof
through a real CLR.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from naia.domain.errors import UnknownPointError
from naia.sources.afsdk import sdk
from naia.sources.afsdk.decode import EPOCH_TICKS, TICKS_PER_US
from naia.sources.afsdk.settings import AfSdkSettings
from naia.sources.afsdk.source import AfSdkSource
from naia.sources.simulator import SimulatorSettings, SimulatorSource

_T = TypeVar("_T")

# --- what the fake is backed by ---------------------------------------------------------------


class EventsLike(Protocol):
    """One point's events in time order as numpy columns (the Simulator's ``Events``)."""

    @property
    def ts_us(self) -> npt.NDArray[np.int64]: ...

    @property
    def value(self) -> npt.NDArray[np.float64]: ...

    @property
    def state_index(self) -> npt.NDArray[np.int32]: ...

    @property
    def is_system(self) -> npt.NDArray[np.bool_]: ...

    @property
    def good(self) -> npt.NDArray[np.bool_]: ...

    @property
    def state_names(self) -> tuple[str, ...]: ...

    @property
    def state_codes(self) -> npt.NDArray[np.int32]: ...


class History(Protocol):
    """Recorded history behind the fake (``SimulatorSource`` fits as it is)."""

    def check_points(self, points: Sequence[str]) -> None:
        """Raise UnknownPointError for points the archive does not hold."""
        ...

    def events(self, point: str, start_us: int, end_us: int) -> Iterable[EventsLike]:
        """Events with start_us <= ts < end_us, in blocks."""
        ...


# --- System -----------------------------------------------------------------------------------


class DateTimeKind(enum.IntEnum):
    Unspecified = 0
    Utc = 1
    Local = 2


class DateTime:
    def __init__(self, ticks: int, kind: object = DateTimeKind.Utc) -> None:
        self._ticks = ticks
        self.Kind = kind

    @property
    def Ticks(self) -> int:
        return self._ticks


class TimeSpan:
    def __init__(self, seconds: float) -> None:
        self.TotalSeconds = seconds

    @staticmethod
    def FromSeconds(value: float, /) -> TimeSpan:
        return TimeSpan(value)


class NetworkCredential:
    def __init__(self, userName: str, password: str) -> None:
        self.UserName = userName
        self._password = password

    def __repr__(self) -> str:
        return f"NetworkCredential({self.UserName!r}, '***')"


class NetException(Exception):  # noqa: N818 - .NET's names
    """System.Exception: ``Message`` and ``InnerException`` as .NET has them."""

    def __init__(self, message: str, inner: BaseException | None = None) -> None:
        super().__init__(message)
        self.Message = message
        self.InnerException = inner


class OperationCanceledException(NetException):
    pass


class TimeoutException(NetException):
    pass


class AuthenticationException(NetException):
    pass


class PIException(NetException):
    pass


class CommunicationException(NetException):
    """System.ServiceModel.CommunicationException."""


class PIConnectionException(CommunicationException):
    """As the AF SDK reference has it: a CommunicationException, not a PIException."""


class PITimeoutException(PIConnectionException):
    pass


class PIAuthenticationException(PIConnectionException):
    pass


class PIPointInvalidException(PIException):
    pass


# --- OSIsoft.AF.Time / Asset / Data ------------------------------------------------------------


class AFTime:
    def __init__(self, value: sdk.DateTime) -> None:
        self._utc = DateTime(value.Ticks)

    @property
    def UtcTime(self) -> DateTime:
        return self._utc


class AFTimeRange:
    def __init__(self, startTime: sdk.AFTime, endTime: sdk.AFTime) -> None:
        self._start = AFTime(startTime.UtcTime)
        self._end = AFTime(endTime.UtcTime)

    @property
    def StartTime(self) -> AFTime:
        return self._start

    @property
    def EndTime(self) -> AFTime:
        return self._end


class AFBoundaryType(enum.IntEnum):
    Inside = 0
    Outside = 1
    Interpolated = 2


class AFValueStatus(enum.IntFlag):
    Bad = 0
    Questionable = 64
    Good = 192
    QualityMask = 192
    SubstatusMask = 60
    BadSubstituteValue = 60
    UncertainSubstituteValue = 8
    Substituted = 24
    Constant = 3
    Annotated = 32768


@dataclass(frozen=True, slots=True)
class AFEnumerationValue:
    Name: str
    Value: int
    IsSystem: bool = False


@dataclass(frozen=True, slots=True)
class AFValue:
    Value: object
    Timestamp: AFTime
    Status: AFValueStatus

    @property
    def IsGood(self) -> bool:
        return (self.Status & AFValueStatus.QualityMask) != AFValueStatus.Bad


@dataclass(frozen=True, slots=True)
class _Columns:
    """A point's history as the fake stores it (before it becomes AFValue objects)."""

    ts_us: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    state_index: npt.NDArray[np.int32]
    is_system: npt.NDArray[np.bool_]
    good: npt.NDArray[np.bool_]
    state_names: tuple[str, ...]
    state_codes: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.ts_us.shape[0])

    def part(self, start: int, stop: int) -> _Columns:
        return _Columns(
            self.ts_us[start:stop],
            self.value[start:stop],
            self.state_index[start:stop],
            self.is_system[start:stop],
            self.good[start:stop],
            self.state_names,
            self.state_codes,
        )


class AFValues:
    """One point's values. Iterating gives AFValue objects; GetValueArrays gives arrays."""

    def __init__(self, point: PIPoint, data: _Columns) -> None:
        self._point = point
        self._data = data

    @property
    def PIPoint(self) -> PIPoint:
        return self._point

    @property
    def Count(self) -> int:
        return len(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def GetValueArrays(
        self, values: None, timestamps: None, flags: None, /
    ) -> tuple[None, list[object], list[DateTime], list[AFValueStatus]]:
        """As pythonnet returns a void method's out parameters: (None, values, times, flags)."""
        data = self._data
        times = [DateTime(EPOCH_TICKS + int(t) * TICKS_PER_US) for t in data.ts_us]
        status = [AFValueStatus.Good if g else AFValueStatus.Bad for g in data.good]
        return None, self._values(), times, status

    def __iter__(self) -> Iterator[AFValue]:
        _, values, times, flags = self.GetValueArrays(None, None, None)
        for value, time, status in zip(values, times, flags, strict=True):
            yield AFValue(value, AFTime(time), status)

    def _values(self) -> list[object]:
        data = self._data
        states: dict[tuple[int, bool], AFEnumerationValue] = {}
        values: list[object] = []
        for number, index, system in zip(
            data.value.tolist(), data.state_index.tolist(), data.is_system.tolist(), strict=True
        ):
            if index < 0:
                values.append(float(number))
                continue
            if (index, system) not in states:
                name, code = data.state_names[index], int(data.state_codes[index])
                states[index, system] = AFEnumerationValue(name, code, system)
            values.append(states[index, system])
        return values


# --- OSIsoft.AF.PI ------------------------------------------------------------------------------


class PIPageType(enum.IntEnum):
    TagCount = 0
    EventCount = 1


class PIAuthenticationMode(enum.IntEnum):
    WindowsAuthentication = 0
    PIUserAuthentication = 1


class PIPagingConfiguration:
    def __init__(self, pageType: object, pageSize: int) -> None:
        if not isinstance(pageType, PIPageType) or pageSize <= 0:
            raise ValueError(f"bad paging configuration: {pageType!r}, {pageSize}")
        self.PageType = pageType
        self.PageSize = pageSize
        self._error: BaseException | None = None

    @property
    def Error(self) -> BaseException | None:
        return self._error

    def cancel(self, cause: NetException) -> OperationCanceledException:
        """What the SDK does on a failed page: keep the cause, cancel the enumeration."""
        self._error = cause
        return OperationCanceledException("The operation was canceled.")


class PIConnectionInfo:
    def __init__(self) -> None:
        self.ConnectionTimeOut: object = TimeSpan(10.0)
        self.OperationTimeOut: object = TimeSpan(60.0)


class PIServer:
    def __init__(self, system: FakePISystem, name: str) -> None:
        self._system = system
        self._name = name
        self._info = PIConnectionInfo()
        self._connected = False

    @property
    def Name(self) -> str:
        return self._name

    @property
    def ConnectionInfo(self) -> PIConnectionInfo:
        return self._info

    @property
    def IsConnected(self) -> bool:
        return self._connected

    def Connect(self, *args: object) -> None:
        self._system.connect(self, args)
        self._connected = True

    def Disconnect(self) -> None:
        self._connected = False

    def require_connection(self) -> None:
        if not self._connected:
            raise PIConnectionException(f"Not connected to PI Data Archive '{self._name}'.")


class PIServers:
    def __init__(self, system: FakePISystem) -> None:
        self._system = system

    def __getitem__(self, name: str, /) -> PIServer | None:
        return self._system.servers.get(name.upper())

    @property
    def DefaultPIServer(self) -> PIServer | None:
        return next(iter(self._system.servers.values()), None)

    def __iter__(self) -> Iterator[PIServer]:
        return iter(self._system.servers.values())


class PIPoint:
    def __init__(self, server: PIServer, name: str, point_id: int) -> None:
        self.Server = server
        self.Name = name
        self.ID = point_id

    def __repr__(self) -> str:
        return f"PIPoint({self.Name!r})"

    @staticmethod
    def FindPIPoint(piServer: sdk.PIServer, pointName: str, /) -> PIPoint:
        found = PIPoint.FindPIPoints(piServer, [pointName])
        if not found:
            raise PIPointInvalidException(f"PI Point not found '{pointName}'.")
        return found[0]

    @staticmethod
    def FindPIPoints(
        piServer: sdk.PIServer, names: object, attributeNames: object = None, /
    ) -> list[PIPoint]:
        server = _fake(piServer, PIServer)
        server.require_connection()
        if not isinstance(names, list):
            raise TypeError("names must be the IEnumerable<string> built by string_list")
        return server._system.find_points(server, [str(n) for n in names])


class PIPointList:
    def __init__(self) -> None:
        self._points: list[PIPoint] = []

    def Add(self, item: sdk.PIPoint, /) -> None:
        self._points.append(_fake(item, PIPoint))

    @property
    def Count(self) -> int:
        return len(self._points)

    def RecordedValues(
        self,
        timeRange: sdk.AFTimeRange,
        boundaryType: object,
        filterExpression: str | None,
        includeFilteredValues: bool,
        pagingConfig: sdk.PIPagingConfiguration,
        maxCount: int = 0,
        /,
    ) -> Iterator[AFValues]:
        if boundaryType != AFBoundaryType.Inside or filterExpression or maxCount != 0:
            raise NotImplementedError("the fake serves Inside, unfiltered, maxCount=0 reads")
        config = _fake(pagingConfig, PIPagingConfiguration)
        start = _us(timeRange.StartTime.UtcTime.Ticks)
        end = _us(timeRange.EndTime.UtcTime.Ticks)
        if not self._points:
            return iter(())
        return self._points[0].Server._system.recorded(list(self._points), start, end, config)


def _us(ticks: int) -> int:
    return (ticks - EPOCH_TICKS) // TICKS_PER_US


def _fake(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind):
        raise TypeError(
            f"the fake AF SDK got a {type(value).__name__}, not its own {kind.__name__}"
        )
    return value


# --- faults and the fake PI System ---------------------------------------------------------------


class FaultKind(enum.StrEnum):
    CONNECTION_FAILURE = "connection_failure"  # Connect: PIConnectionException (transient)
    ACCESS_DENIED = "access_denied"  # Connect: AuthenticationException (terminal)
    OPERATION_TIMEOUT = "operation_timeout"  # a page: TimeoutException in Error (transient)
    CONNECTION_LOST = "connection_lost"  # a page: PIConnectionException in Error (transient)
    PAGING_ERROR = "paging_error"  # a page: PIException in Error (terminal)


PAGE_FAULTS = frozenset(
    {FaultKind.OPERATION_TIMEOUT, FaultKind.CONNECTION_LOST, FaultKind.PAGING_ERROR}
)


@dataclass(slots=True)
class Fault:
    """Fail ``times`` times (None: every time), then behave. Page faults hit page ``at_page``."""

    kind: FaultKind
    times: int | None = 1
    at_page: int = 0

    def fires(self, kind: FaultKind, page: int = 0) -> bool:
        if self.kind != kind or self.times == 0 or (kind in PAGE_FAULTS and page != self.at_page):
            return False
        if self.times is not None:
            self.times -= 1
        return True


@dataclass(slots=True)
class FakeStats:
    connects: int = 0
    lookups: int = 0
    recorded_values_calls: int = 0
    pages: int = 0
    results: int = 0
    auth: list[tuple[str, str | None]] = field(default_factory=list)  # (mode, user): no secret


class FakePISystem:
    """The PI Data Archive(s) behind the fake SDK, its faults and its call counters."""

    def __init__(
        self,
        history: History,
        *,
        servers: Sequence[str] = ("PISRV01",),
        faults: Iterable[Fault] = (),
        pi_users: dict[str, str] | None = None,
        split_results: int | None = None,
        seed: int = 0,
    ) -> None:
        self.history = history
        self.servers = {name.upper(): PIServer(self, name) for name in servers}
        self.faults = list(faults)
        self.stats = FakeStats()
        self._pi_users = dict(pi_users or {})
        self._split = split_results
        self._rng = random.Random(seed)
        self._ids: dict[str, int] = {}

    def sdk(self) -> sdk.AfSdk:
        """The namespace to inject into AfSdkSource."""
        return sdk.AfSdk(
            PIServers=lambda: PIServers(self),
            PIPoint=PIPoint,
            PIPointList=PIPointList,
            PIPagingConfiguration=PIPagingConfiguration,
            PIPageType=PIPageType,
            PIAuthenticationMode=PIAuthenticationMode,
            AFTime=AFTime,
            AFTimeRange=AFTimeRange,
            AFBoundaryType=AFBoundaryType,
            DateTime=DateTime,
            DateTimeKind=DateTimeKind,
            TimeSpan=TimeSpan,
            NetworkCredential=NetworkCredential,
            OperationCanceledException=OperationCanceledException,
            NetException=NetException,
            string_list=list,
            description="fake AF SDK (tests/doubles/afsdk_fake.py)",
        )

    def fault(self, kind: FaultKind, page: int = 0) -> bool:
        return any(f.fires(kind, page) for f in self.faults)

    # -- PIServer.Connect ---------------------------------------------------------------------

    def connect(self, server: PIServer, args: tuple[object, ...]) -> None:
        self.stats.connects += 1
        if self.fault(FaultKind.CONNECTION_FAILURE):
            raise PIConnectionException(f"Cannot connect to PI Data Archive '{server.Name}'.")
        if self.fault(FaultKind.ACCESS_DENIED):
            raise AuthenticationException(f"Access to '{server.Name}' was denied.")
        self._authenticate(server, args)

    def _authenticate(self, server: PIServer, args: tuple[object, ...]) -> None:
        if not args:
            self.stats.auth.append(("WindowsAuthentication", None))
            return
        credential, mode = _fake(args[0], NetworkCredential), _fake(args[1], PIAuthenticationMode)
        self.stats.auth.append((mode.name, credential.UserName))
        known = self._pi_users.get(credential.UserName)
        if mode == PIAuthenticationMode.PIUserAuthentication and known != credential._password:
            raise AuthenticationException(
                f"PI user authentication failed for '{credential.UserName}' on '{server.Name}'."
            )

    # -- PIPoint.FindPIPoints -------------------------------------------------------------------

    def find_points(self, server: PIServer, names: list[str]) -> list[PIPoint]:
        self.stats.lookups += 1
        return [self._point(server, name) for name in names if self._knows(name)]

    def _knows(self, name: str) -> bool:
        try:
            self.history.check_points([name])
        except UnknownPointError:
            return False
        return True

    def _point(self, server: PIServer, name: str) -> PIPoint:
        key = name.strip().upper()
        point_id = self._ids.setdefault(key, len(self._ids) + 1)
        return PIPoint(server, key, point_id)

    # -- PIPointList.RecordedValues --------------------------------------------------------------

    def recorded(
        self, points: list[PIPoint], start_us: int, end_us: int, config: PIPagingConfiguration
    ) -> Iterator[AFValues]:
        """Lazily, page by page; each page's points in a shuffled order."""
        self.stats.recorded_values_calls += 1
        order = list(points)
        self._rng.shuffle(order)
        for number, page in enumerate(self._pages(order, start_us, end_us, config)):
            self._before_page(points[0].Server, number, config)
            self.stats.pages += 1
            self._rng.shuffle(page)
            for pieces in page:
                self.stats.results += len(pieces)
                yield from pieces

    def _before_page(self, server: PIServer, number: int, config: PIPagingConfiguration) -> None:
        if self.fault(FaultKind.OPERATION_TIMEOUT, number):
            raise config.cancel(TimeoutException("The operation has timed out."))
        if self.fault(FaultKind.CONNECTION_LOST, number):
            server.Disconnect()
            cause = PIConnectionException(f"The connection to '{server.Name}' was lost.")
            raise config.cancel(cause)
        if self.fault(FaultKind.PAGING_ERROR, number):
            raise config.cancel(PIException("[-11049] Invalid data for this point type."))
        try:
            server.require_connection()
        except PIConnectionException as exc:
            raise config.cancel(exc) from None

    def _pages(
        self, order: list[PIPoint], start_us: int, end_us: int, config: PIPagingConfiguration
    ) -> Iterator[list[list[AFValues]]]:
        page: list[list[AFValues]] = []
        events = 0
        for point in order:
            pieces = self._point_values(point, start_us, end_us)
            page.append(pieces)
            events += sum(p.Count for p in pieces)
            size = len(page) if config.PageType == PIPageType.TagCount else events
            if size >= config.PageSize:
                yield page
                page, events = [], 0
        if page:
            yield page

    def _point_values(self, point: PIPoint, start_us: int, end_us: int) -> list[AFValues]:
        """Inside boundaries: values at start and at end both belong to the answer."""
        data = _concat(self.history.events(point.Name, start_us, end_us + 1))
        step = self._split or max(len(data), 1)
        return [AFValues(point, data.part(i, i + step)) for i in range(0, max(len(data), 1), step)]


def _concat(blocks: Iterable[EventsLike]) -> _Columns:
    parts = list(blocks)
    if not parts:
        empty_i = np.zeros(0, dtype=np.int32)
        return _Columns(
            np.zeros(0, dtype=np.int64), np.zeros(0), empty_i, np.zeros(0, bool),
            np.zeros(0, bool), (), empty_i,
        )  # fmt: skip
    return _Columns(
        np.concatenate([p.ts_us for p in parts]),
        np.concatenate([p.value for p in parts]),
        np.concatenate([p.state_index for p in parts]),
        np.concatenate([p.is_system for p in parts]),
        np.concatenate([p.good for p in parts]),
        parts[0].state_names,
        parts[0].state_codes,
    )


MIXED_POINTS = ("SINUSOID", "CDT158", "CDM158", "BA:PHASE.1", "BA:ACTIVE.1", "SIM.7")


def afsdk_source(
    sim: SimulatorSettings,
    settings: AfSdkSettings | None = None,
    faults: Sequence[Fault] = (),
    **fake: Any,
) -> tuple[AfSdkSource, FakePISystem]:
    """The wiring the app does with the real loader, here with the fake over the Simulator."""
    system = FakePISystem(SimulatorSource(sim), faults=faults, **fake)
    source = AfSdkSource(settings or AfSdkSettings(), system.sdk())
    return source, system
