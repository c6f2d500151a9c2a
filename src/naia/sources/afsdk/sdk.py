"""The typed surface of the PI AF SDK that this connector uses, and nothing more.

The real types come from the ``OSIsoft.AFSDK`` assembly through pythonnet, untyped (``Any``):
:mod:`naia.sources.afsdk.loader` gathers them into an :class:`AfSdk`: from the AVEVA assembly, or
from the compiled stand-in of the tests on Mono. The pure-Python fake of the unit tests
(tests/doubles/afsdk_fake.py) implements the same protocols. :class:`AfSdkSource` only ever
talks to the :class:`AfSdk` it is given, so the same code path runs on both.

Names are the SDK's own (CamelCase) so that this file reads like the AF SDK reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, SupportsInt, TypeAlias

import numpy as np
import numpy.typing as npt

# --- System ---------------------------------------------------------------------------------


class DateTime(Protocol):
    """System.DateTime: ``Ticks`` counts 100 ns intervals since 0001-01-01 00:00."""

    @property
    def Ticks(self) -> int: ...


class DateTimeKinds(Protocol):
    @property
    def Utc(self) -> object: ...


class TimeSpans(Protocol):
    """System.TimeSpan, its static side."""

    def FromSeconds(self, value: float, /) -> object: ...


# --- OSIsoft.AF.Time ------------------------------------------------------------------------


class AFTime(Protocol):
    @property
    def UtcTime(self) -> DateTime: ...


class AFTimeRange(Protocol):
    @property
    def StartTime(self) -> AFTime: ...

    @property
    def EndTime(self) -> AFTime: ...


# --- OSIsoft.AF.Asset / OSIsoft.AF.Data -----------------------------------------------------


class AFEnumerationValue(Protocol):
    """A digital or system state. ``IsSystem`` is read with getattr: see decode.py."""

    @property
    def Name(self) -> str: ...

    @property
    def Value(self) -> int: ...


class BoundaryTypes(Protocol):
    @property
    def Inside(self) -> object: ...


# --- OSIsoft.AF.PI --------------------------------------------------------------------------


class PIPoint(Protocol):
    @property
    def Name(self) -> str: ...


class AFValues(Protocol):
    """One point's values (AFValues is a List<AFValue>); read in bulk with GetValueArrays."""

    @property
    def PIPoint(self) -> PIPoint: ...

    @property
    def Count(self) -> int: ...

    def GetValueArrays(
        self, values: None, timestamps: None, flags: None, /
    ) -> tuple[object, Sequence[object], Sequence[DateTime], Sequence[SupportsInt]]:
        """pythonnet 3 returns the out parameters (values, timestamps, flags); pythonnet 2 put
        the void result (None) first: callers take the last three."""
        ...


class PIPagingConfiguration(Protocol):
    @property
    def Error(self) -> BaseException | None:
        """The cause, once the SDK raised OperationCanceledException."""
        ...


class PageTypes(Protocol):
    @property
    def TagCount(self) -> object: ...

    @property
    def EventCount(self) -> object: ...


class PIPointList(Protocol):
    def Add(self, item: PIPoint, /) -> None: ...

    @property
    def Count(self) -> int: ...

    def RecordedValues(
        self,
        timeRange: AFTimeRange,
        boundaryType: object,
        filterExpression: str | None,
        includeFilteredValues: bool,
        pagingConfig: PIPagingConfiguration,
        maxCount: int = 0,
        /,
    ) -> Iterable[AFValues]: ...


class PIConnectionInfo(Protocol):
    ConnectionTimeOut: object
    OperationTimeOut: object


class PIServer(Protocol):
    @property
    def Name(self) -> str: ...

    @property
    def ConnectionInfo(self) -> PIConnectionInfo: ...

    @property
    def IsConnected(self) -> bool: ...

    def Connect(self, *args: object) -> None:
        """``Connect()`` (integrated security) or ``Connect(NetworkCredential, mode)``."""
        ...

    def Disconnect(self) -> None: ...


class PIServers(Protocol):
    def __getitem__(self, name: str, /) -> PIServer | None: ...

    @property
    def DefaultPIServer(self) -> PIServer | None: ...


class PIPointStatics(Protocol):
    """The static side of PIPoint."""

    def FindPIPoints(
        self, piServer: PIServer, names: object, attributeNames: object = None, /
    ) -> Iterable[PIPoint]:
        """Points of these names (a .NET IEnumerable<string>); names not found are left out."""
        ...


class AuthModes(Protocol):
    @property
    def WindowsAuthentication(self) -> object: ...

    @property
    def PIUserAuthentication(self) -> object: ...


# --- bulk decode (NAIA's helper assembly, see loader.load_bulk) -----------------------------------


@dataclass(frozen=True, slots=True)
class BulkArrays:
    """One AFValues' GetValueArrays as numpy columns, built on the .NET side in one call.

    ``numbers`` is NaN where the value is not a number; ``others`` holds those positions (digital
    and system states, strings), which are the only values read one by one.
    """

    ticks: npt.NDArray[np.int64]
    numbers: npt.NDArray[np.float64]
    status: npt.NDArray[np.int32]
    others: npt.NDArray[np.int32]


BulkReader: TypeAlias = Callable[[object, object, object], BulkArrays]
"""(values, timestamps, flags) of GetValueArrays → BulkArrays."""


# --- the namespace handed to AfSdkSource ------------------------------------------------------

# The fields below are named like the types they hold; these aliases keep the protocols reachable.
_PIServers: TypeAlias = PIServers
_PIPointList: TypeAlias = PIPointList
_PIPagingConfiguration: TypeAlias = PIPagingConfiguration
_AFTime: TypeAlias = AFTime
_AFTimeRange: TypeAlias = AFTimeRange
_DateTime: TypeAlias = DateTime


@dataclass(frozen=True, slots=True)
class AfSdk:
    """The few AF SDK and System types the connector uses, loaded (loader.py) or faked (tests)."""

    PIServers: Callable[[], _PIServers]
    PIPoint: PIPointStatics
    PIPointList: Callable[[], _PIPointList]
    PIPagingConfiguration: Callable[[object, int], _PIPagingConfiguration]
    PIPageType: PageTypes
    PIAuthenticationMode: AuthModes
    AFTime: Callable[[_DateTime], _AFTime]
    AFTimeRange: Callable[[_AFTime, _AFTime], _AFTimeRange]
    AFBoundaryType: BoundaryTypes
    DateTime: Callable[[int, object], _DateTime]
    DateTimeKind: DateTimeKinds
    TimeSpan: TimeSpans
    NetworkCredential: Callable[[str, str], object]
    OperationCanceledException: type[BaseException]
    NetException: type[BaseException]
    """System.Exception: the root of every exception the SDK raises."""
    string_list: Callable[[Sequence[str]], object]
    """Builds a .NET List<string>: pythonnet 3 does not turn a Python list into IEnumerable<T>."""
    description: str = "AF SDK"
    bulk: BulkReader | None = None
    """Bulk decode of GetValueArrays; None: every value is read through pythonnet (decode.py)."""
