"""Load the real PI AF SDK (OSIsoft.AFSDK, a .NET Framework assembly) through pythonnet.

This is the only module that touches ``clr``; pythonnet is untyped, so ``Any`` stays in here and
leaves as an :class:`~naia.sources.afsdk.sdk.AfSdk`. Nothing here picks the fake: the app passes
``load_sdk(settings)`` to ``AfSdkSource``, tests pass ``FakePISystem(...).sdk()``.

When the SDK cannot load, :class:`ConnectorUnavailableError` says what is missing and how to get
it: Windows, pythonnet, or the assembly (PI AF Client).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PureWindowsPath
from types import ModuleType
from typing import Any

from naia.domain.errors import ConnectorUnavailableError
from naia.sources.afsdk.sdk import AfSdk
from naia.sources.afsdk.settings import AfSdkSettings

ASSEMBLY = "OSIsoft.AFSDK"
ASSEMBLY_FILE = "OSIsoft.AFSDK.dll"
PUBLIC_ASSEMBLIES = PureWindowsPath("AF", "PublicAssemblies", "4.0")
PIPC_DIRS = (r"C:\Program Files\PIPC", r"C:\Program Files (x86)\PIPC")
PYTHONNET_PIN = "pythonnet==3.2.1"
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
    require_windows(platform)
    clr = import_clr(importer)
    folders = assembly_dirs(settings, environ)
    found = find_assembly(folders)
    if found is not None and str(found) not in sys.path:
        sys.path.append(str(found))
    add_reference(clr, folders, found)
    return _namespace(importer, found)


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


def require_windows(platform: str) -> None:
    if platform != "win32":
        raise ConnectorUnavailableError(
            f"The PIAfSdk connector needs Windows: the PI AF SDK is a .NET Framework assembly "
            f"and this host runs '{platform}'. Run the AF SDK reader on a Windows host (it "
            "publishes to Kafka), or use the PIWebApi connector from here. " + INSTALL_HINT
        )


def import_clr(importer: Importer) -> Any:
    try:
        return importer("clr")
    except ImportError as exc:
        raise ConnectorUnavailableError(
            f"The PIAfSdk connector needs pythonnet, which is not installed: "
            f"`pip install {PYTHONNET_PIN}`. " + INSTALL_HINT
        ) from exc


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


def _namespace(importer: Importer, found: Path | None) -> AfSdk:
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
        description=f"{ASSEMBLY} {version} from {found or 'the GAC'}",
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
