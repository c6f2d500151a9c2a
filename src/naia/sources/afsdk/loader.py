"""Load the PI AF SDK (OSIsoft.AFSDK, a .NET Framework assembly) through pythonnet.

This is the only module that touches ``clr``; pythonnet is untyped, so ``Any`` stays in here and
leaves as an :class:`~naia.sources.afsdk.sdk.AfSdk`. Nothing here picks a test double: the app
passes ``load_sdk(settings)`` to ``AfSdkSource``, unit tests pass a Python fake.

On Windows the assembly comes from PI AF Client; anywhere else only from ``assembly_dir`` (the
compiled AF SDK stand-in of tests/doubles runs on Mono). With ``bulk_decode`` the loader also
compiles NAIA's helper (``clr/NaiaAfSdkBulk.cs``, shipped in the package) in memory with the
runtime's own C# compiler, so values cross the CLR boundary as whole arrays.

When the SDK cannot load, :class:`ConnectorUnavailableError` says what is missing and how to get
it: Windows (or a configured assembly_dir), pythonnet, or the assembly (PI AF Client).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path, PureWindowsPath
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from naia.domain.errors import ConnectorUnavailableError
from naia.sources.afsdk.sdk import AfSdk, BulkArrays, BulkReader
from naia.sources.afsdk.settings import AfSdkSettings

log = logging.getLogger(__name__)

ASSEMBLY = "OSIsoft.AFSDK"
ASSEMBLY_FILE = "OSIsoft.AFSDK.dll"
PUBLIC_ASSEMBLIES = PureWindowsPath("AF", "PublicAssemblies", "4.0")
PIPC_DIRS = (r"C:\Program Files\PIPC", r"C:\Program Files (x86)\PIPC")
PYTHONNET_PIN = "pythonnet==3.2.1"
BULK_SOURCE = ("clr", "NaiaAfSdkBulk.cs")  # inside this package
BULK_NAMESPACE = "Naia.AfSdk"
MONO_VERSION_WARNING = "Hosting Mono versions before"  # clr_loader's, for Debian's Mono 6.8
INSTALL_HINT = (
    "Install PI AF Client (AVEVA/OSIsoft; it brings the AF SDK) on this Windows host, "
    f"`pip install {PYTHONNET_PIN}` into this Python, and set assembly_dir "
    f"(NAIA_AFSDK__ASSEMBLY_DIR) to the folder holding {ASSEMBLY_FILE} if it is not in a usual "
    "place. See docs/afsdk.md."
)

Importer = Callable[[str], ModuleType]


def load_sdk(
    settings: AfSdkSettings,
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    importer: Importer = importlib.import_module,
) -> AfSdk:
    """Load OSIsoft.AFSDK and return the types the connector uses.

    Raises ConnectorUnavailableError naming what is missing. ``platform``, ``environ`` and
    ``importer`` exist so each refusal can be tested on any OS.
    """
    require_windows(platform, settings)
    clr = import_clr(importer)
    folders = assembly_dirs(settings, environ)
    found = find_assembly(folders)
    if found is not None and str(found) not in sys.path:
        sys.path.append(str(found))
    add_reference(clr, folders, found)
    bulk = load_bulk(importer) if settings.bulk_decode else None
    return _namespace(importer, found, bulk)


def sdk_available(
    settings: AfSdkSettings,
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    importer: Importer = importlib.import_module,
) -> tuple[bool, str]:
    """(True, what was loaded) or (False, why not and how to fix it), for /health."""
    try:
        sdk = load_sdk(settings, platform=platform, environ=environ, importer=importer)
    except ConnectorUnavailableError as exc:
        return False, str(exc)
    return True, sdk.description


def require_windows(platform: str, settings: AfSdkSettings) -> None:
    """Off Windows, load only an assembly the settings point at (e.g. the stand-in on Mono)."""
    if platform != "win32" and settings.assembly_dir is None:
        raise ConnectorUnavailableError(
            f"The PIAfSdk connector needs Windows: the PI AF SDK is a .NET Framework assembly "
            f"and this host runs '{platform}'. Run the AF SDK reader on a Windows host (it "
            "publishes to Kafka), or use the PIWebApi connector from here (off Windows an "
            "assembly_dir is loaded on Mono: the AF SDK stand-in of the tests). " + INSTALL_HINT
        )


def import_clr(importer: Importer) -> Any:
    """``import clr``: pythonnet starts the .NET runtime (the .NET Framework, or Mono)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.filterwarnings("always", message=MONO_VERSION_WARNING)
            clr = importer("clr")
    except ImportError as exc:
        raise ConnectorUnavailableError(
            f"The PIAfSdk connector needs pythonnet, which is not installed: "
            f"`pip install {PYTHONNET_PIN}`. " + INSTALL_HINT
        ) from exc
    except RuntimeError as exc:  # pythonnet found no runtime to host
        raise ConnectorUnavailableError(
            f"pythonnet could not start a .NET runtime ({exc}). On Windows install the .NET "
            "Framework 4.8; elsewhere Mono (Debian: apt-get install mono-devel). " + INSTALL_HINT
        ) from exc
    for warning in caught:
        log.warning("pythonnet: %s", warning.message)
    return clr


def assembly_dirs(settings: AfSdkSettings, environ: Mapping[str, str]) -> list[Path]:
    """The configured folder first, then %PIHOME%, then the usual PIPC install folders."""
    folders: list[Path] = []
    if settings.assembly_dir is not None:
        folders.append(settings.assembly_dir)
    homes = [environ.get("PIHOME64", ""), environ.get("PIHOME", ""), *PIPC_DIRS]
    for home in homes:
        if home:
            folders.append(Path(home) / PUBLIC_ASSEMBLIES)
    return list(dict.fromkeys(folders))


def find_assembly(folders: Sequence[Path]) -> Path | None:
    for folder in folders:
        if (folder / ASSEMBLY_FILE).is_file():
            return folder
    return None


def add_reference(clr: Any, folders: Sequence[Path], found: Path | None) -> None:
    """``clr.AddReference``; without a folder it may still resolve from the GAC."""
    try:
        clr.AddReference(ASSEMBLY)
    except Exception as exc:  # a .NET FileNotFoundException, or pythonnet's own error
        searched = "; ".join(str(f) for f in folders) or "(none)"
        where = f"found in {found} but failed to load" if found else f"not found in: {searched}"
        raise ConnectorUnavailableError(
            f"{ASSEMBLY_FILE} {where} ({type(exc).__name__}: {exc}). " + INSTALL_HINT
        ) from exc


def load_bulk(importer: Importer) -> BulkReader | None:
    """Compile NAIA's bulk helper in memory; None (values read one by one) if that fails."""
    try:
        bulk = _compile_bulk(importer)
    except Exception as exc:  # no compiler, a .NET error: the per-value path still works
        log.warning(
            "AF SDK bulk decode unavailable, values are read one by one: %s: %s",
            type(exc).__name__,
            exc,
        )
        return None
    return _bulk_reader(bulk)


def _compile_bulk(importer: Importer) -> Any:
    source = resources.files("naia.sources.afsdk").joinpath(*BULK_SOURCE).read_text("utf-8")
    csharp = importer("Microsoft.CSharp")
    compiler = importer("System.CodeDom.Compiler")
    system = importer("System")
    parameters = compiler.CompilerParameters()
    parameters.GenerateInMemory = True
    parameters.GenerateExecutable = False
    sources = system.Array[system.String]([source])
    result = csharp.CSharpCodeProvider().CompileAssemblyFromSource(parameters, sources)
    if result.Errors.HasErrors:
        errors = "; ".join(str(error) for error in result.Errors)
        raise RuntimeError(f"{'/'.join(BULK_SOURCE)} did not compile: {errors}")
    return importer(BULK_NAMESPACE).Bulk


def _bulk_reader(bulk: Any) -> BulkReader:
    def read(values: object, timestamps: object, flags: object) -> BulkArrays:
        result = bulk.Columns(values, timestamps, flags)
        return BulkArrays(
            ticks=_copied(result.Ticks, np.int64),
            numbers=_copied(result.Numbers, np.float64),
            status=_copied(result.Status, np.int32),
            others=_copied(result.Others, np.int32),
        )

    return read


def _copied(array: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """One memcpy out of a .NET primitive array (pythonnet's buffer protocol). The copy matters:
    a numpy view left on a .NET array crashes Mono at interpreter exit."""
    with memoryview(array) as view:
        return np.frombuffer(view, dtype=dtype).copy()


def _namespace(importer: Importer, found: Path | None, bulk: BulkReader | None = None) -> AfSdk:
    pi = importer("OSIsoft.AF.PI")
    time = importer("OSIsoft.AF.Time")
    data = importer("OSIsoft.AF.Data")
    system = importer("System")
    net = importer("System.Net")
    generic = importer("System.Collections.Generic")
    version = _version(importer)
    return AfSdk(
        PIServers=pi.PIServers,
        PIPoint=pi.PIPoint,
        PIPointList=pi.PIPointList,
        PIPagingConfiguration=pi.PIPagingConfiguration,
        PIPageType=pi.PIPageType,
        PIAuthenticationMode=pi.PIAuthenticationMode,
        AFTime=time.AFTime,
        AFTimeRange=time.AFTimeRange,
        AFBoundaryType=data.AFBoundaryType,
        DateTime=system.DateTime,
        DateTimeKind=system.DateTimeKind,
        TimeSpan=system.TimeSpan,
        NetworkCredential=net.NetworkCredential,
        OperationCanceledException=system.OperationCanceledException,
        NetException=system.Exception,
        string_list=_string_list(generic.List, system.String),
        description=f"{ASSEMBLY} {version} from {found or 'the GAC'}, "
        f"{'bulk' if bulk else 'per-value'} decode",
        bulk=bulk,
    )


def _string_list(list_type: Any, string_type: Any) -> Callable[[Sequence[str]], object]:
    def build(names: Sequence[str]) -> object:
        result = list_type[string_type]()
        for name in names:
            result.Add(name)
        return result

    return build


def _version(importer: Importer) -> str:
    try:
        return str(importer("OSIsoft.AF").PISystems().Version)
    except Exception:  # the version is for display only
        return "(version unknown)"
