"""The loader refuses clearly where the AF SDK cannot run, and wires the real names where it can."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from naia.domain.errors import ConnectorUnavailableError
from naia.sources.afsdk import AfSdkSettings, load_sdk, sdk_available
from naia.sources.afsdk.loader import ASSEMBLY_FILE, assembly_dirs, find_assembly

ON_WINDOWS = sys.platform == "win32"


@pytest.mark.skipif(ON_WINDOWS, reason="proves the refusal on a non-Windows host")
def test_load_sdk_here_says_what_to_install() -> None:
    with pytest.raises(ConnectorUnavailableError) as info:
        load_sdk(AfSdkSettings())
    message = str(info.value)
    for needed in ("Windows", "PI AF Client", "pip install pythonnet", "assembly_dir"):
        assert needed in message


@pytest.mark.skipif(ON_WINDOWS, reason="proves the refusal on a non-Windows host")
def test_sdk_available_here_is_false_with_the_reason() -> None:
    ok, reason = sdk_available(AfSdkSettings())
    assert ok is False
    assert "needs Windows" in reason and sys.platform in reason


def test_missing_pythonnet_is_named_with_its_install_command() -> None:
    ok, reason = sdk_available(AfSdkSettings(), platform="win32", environ={}, importer=_no_modules)
    assert not ok
    assert "pythonnet" in reason and "pip install pythonnet==" in reason


def test_missing_assembly_names_the_folders_searched(tmp_path: Path) -> None:
    settings = AfSdkSettings(assembly_dir=tmp_path / "nowhere")
    modules = {"clr": SimpleNamespace(AddReference=_file_not_found)}
    with pytest.raises(ConnectorUnavailableError) as info:
        load_sdk(settings, platform="win32", environ={}, importer=_modules(modules))
    message = str(info.value)
    assert f"{ASSEMBLY_FILE} not found in" in message
    assert str(tmp_path / "nowhere") in message and "PIPC" in message
    assert "FileNotFoundException" in message and "PI AF Client" in message


def test_assembly_dirs_configured_first_then_pihome_then_pipc(tmp_path: Path) -> None:
    dirs = assembly_dirs(AfSdkSettings(assembly_dir=tmp_path), {"PIHOME": str(tmp_path / "pi")})
    assert dirs[0] == tmp_path
    assert dirs[1] == tmp_path / "pi" / "AF" / "PublicAssemblies" / "4.0"
    assert any("Program Files (x86)" in str(d) for d in dirs[2:])
    assert len(dirs) == len(set(dirs))


def test_find_assembly_picks_the_first_folder_holding_the_dll(tmp_path: Path) -> None:
    empty, full = tmp_path / "empty", tmp_path / "full"
    empty.mkdir()
    full.mkdir()
    (full / ASSEMBLY_FILE).write_bytes(b"")
    assert find_assembly([empty, full]) == full
    assert find_assembly([empty]) is None


def test_loaded_namespace_carries_the_sdk_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / ASSEMBLY_FILE).write_bytes(b"")
    references: list[str] = []
    modules = _dotnet_modules(references)
    settings = AfSdkSettings(assembly_dir=tmp_path)
    sdk = load_sdk(settings, platform="win32", environ={}, importer=_modules(modules))
    assert references == ["OSIsoft.AFSDK"] and str(tmp_path) in sys.path
    pi = modules["OSIsoft.AF.PI"]
    assert sdk.PIServers is pi.PIServers and sdk.PIPoint is pi.PIPoint
    assert sdk.AFBoundaryType is modules["OSIsoft.AF.Data"].AFBoundaryType
    assert sdk.OperationCanceledException is modules["System"].OperationCanceledException
    assert sdk.string_list(["A", "B"]) == ["A", "B"]
    ok, description = sdk_available(
        settings, platform="win32", environ={}, importer=_modules(modules)
    )
    assert ok and "2.10.9" in description and str(tmp_path) in description


# --- stand-ins for what pythonnet would import -------------------------------------------------


def _no_modules(name: str) -> ModuleType:
    raise ModuleNotFoundError(f"No module named '{name}'")


def _modules(table: dict[str, Any]) -> Any:
    def importer(name: str) -> Any:
        if name not in table:
            raise ModuleNotFoundError(name)
        return table[name]

    return importer


class FileNotFoundException(Exception):  # noqa: N818 - the .NET name
    pass


def _file_not_found(name: str) -> None:
    raise FileNotFoundException(f"Unable to find assembly '{name}'.")


class _GenericList:
    def __getitem__(self, item: object) -> type[list[str]]:
        class Built(list[str]):
            def Add(self, value: str) -> None:  # noqa: N802 - .NET name
                self.append(value)

        return Built


def _dotnet_modules(references: list[str]) -> dict[str, Any]:
    names = ("PIServers", "PIPoint", "PIPointList", "PIPagingConfiguration", "PIPageType")
    pi = SimpleNamespace(**{n: type(n, (), {}) for n in (*names, "PIAuthenticationMode")})
    return {
        "clr": SimpleNamespace(AddReference=references.append),
        "OSIsoft.AF": SimpleNamespace(PISystems=lambda: SimpleNamespace(Version="2.10.9")),
        "OSIsoft.AF.PI": pi,
        "OSIsoft.AF.Time": SimpleNamespace(AFTime=object, AFTimeRange=object),
        "OSIsoft.AF.Data": SimpleNamespace(AFBoundaryType=type("AFBoundaryType", (), {})),
        "System": SimpleNamespace(
            DateTime=object,
            DateTimeKind=object,
            TimeSpan=object,
            String=str,
            OperationCanceledException=type("OperationCanceledException", (Exception,), {}),
            Exception=Exception,
        ),
        "System.Net": SimpleNamespace(NetworkCredential=object),
        "System.Collections.Generic": SimpleNamespace(List=_GenericList()),
    }


def test_off_windows_an_assembly_dir_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in on Mono: off Windows the loader refuses only when no assembly_dir is set."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the empty dll must not stay on the path
    (tmp_path / ASSEMBLY_FILE).write_bytes(b"")
    references: list[str] = []
    settings = AfSdkSettings(assembly_dir=tmp_path)
    sdk = load_sdk(
        settings, platform="linux", environ={}, importer=_modules(_dotnet_modules(references))
    )
    assert references == ["OSIsoft.AFSDK"]
    with pytest.raises(ConnectorUnavailableError, match="needs Windows"):
        load_sdk(AfSdkSettings(), platform="linux", environ={}, importer=_no_modules)
    assert sdk.PIServers is not None


def test_bulk_helper_that_cannot_compile_falls_back_to_per_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / ASSEMBLY_FILE).write_bytes(b"")
    modules = _modules(_dotnet_modules([]))  # no Microsoft.CSharp: the compile fails
    sdk = load_sdk(
        AfSdkSettings(assembly_dir=tmp_path), platform="win32", environ={}, importer=modules
    )
    assert sdk.bulk is None and "per-value decode" in sdk.description
    assert "bulk decode unavailable" in caplog.text
    off = load_sdk(
        AfSdkSettings(assembly_dir=tmp_path, bulk_decode=False), platform="win32", environ={},
        importer=modules,
    )  # fmt: skip
    assert off.bulk is None


def test_bulk_helper_source_ships_in_the_package() -> None:
    from importlib import resources

    from naia.sources.afsdk.loader import BULK_SOURCE

    source = resources.files("naia.sources.afsdk").joinpath(*BULK_SOURCE).read_text("utf-8")
    assert "namespace Naia.AfSdk" in source and "OSIsoft" not in source.split("namespace")[1]
