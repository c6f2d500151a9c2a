"""The compiled AF SDK stand-in (tests/doubles/afsdk_standin, built by ``make standin``), loaded
through the connector's own loader: pythonnet on Mono, as the app would load the AVEVA SDK.

One CLR per process: every clr test shares the namespace loaded here. Missing Mono or a stand-in
that was not built fails the tests (never a skip): ``make test`` installs and builds both.
"""

from __future__ import annotations

import dataclasses
import importlib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from naia.sources.afsdk import AfSdk, AfSdkSettings, AfSdkSource, load_sdk
from naia.sources.afsdk.loader import ASSEMBLY_FILE

STANDIN_DIR = Path(__file__).resolve().parents[2] / "var" / "clr"
DEFAULT = "NAIA-SIM"  # the stand-in's default server: the Simulator's default options
REALISTIC = "NAIA-SIM-REALISTIC"  # every point with naia.sources.simulator.settings.REALISTIC


@cache
def standin_sdk() -> AfSdk:
    if not (STANDIN_DIR / ASSEMBLY_FILE).is_file():
        pytest.fail(
            f"{STANDIN_DIR / ASSEMBLY_FILE} is missing: run `make standin` (it installs Mono "
            "and compiles tests/doubles/afsdk_standin)"
        )
    return load_sdk(AfSdkSettings(assembly_dir=STANDIN_DIR))


def archive() -> Any:
    """Naia.StandIn.Archive: the stand-in's servers, faults and counters (not AF SDK API)."""
    standin_sdk()
    return importlib.import_module("Naia.StandIn").Archive


def fault_kind() -> Any:
    standin_sdk()
    return importlib.import_module("Naia.StandIn").FaultKind


def source(settings: AfSdkSettings | None = None, *, bulk: bool = True) -> AfSdkSource:
    sdk = standin_sdk()
    if not bulk:
        sdk = dataclasses.replace(sdk, bulk=None)
    return AfSdkSource(settings or AfSdkSettings(assembly_dir=STANDIN_DIR), sdk)


def settings(**values: Any) -> AfSdkSettings:
    return AfSdkSettings.model_validate({"assembly_dir": STANDIN_DIR, **values})
