"""What every driver shares: run named scenarios, print one JSON object of their outcomes."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

Scenario = Callable[[], Any]


def run(scenarios: dict[str, Scenario]) -> None:
    """``{name: {"ok": true, "result": …} | {"ok": false, "error": "Type: text"}}`` on stdout."""
    out: dict[str, Any] = {}
    for name, scenario in scenarios.items():
        try:
            out[name] = {"ok": True, "result": scenario()}
        except Exception as exc:  # a client's failure is a result to report, not a crash
            out[name] = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc(limit=4),
            }
    json.dump(out, sys.stdout, default=str)
