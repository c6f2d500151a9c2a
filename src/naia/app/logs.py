"""Logging setup: plain text or one JSON object per line.

JSON lines carry ``ts``, ``level``, ``logger``, ``message``, the ``extra={...}`` fields a call
passes (the orchestrator adds ``request_id`` and ``chunk``) and, for uvicorn's access log,
``client``, ``method``, ``path``, ``status``. Successful GETs of the endpoints the dashboard and
``naia status --watch`` poll are left out of the access log unless the level is DEBUG.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_POLLED = (
    "/api/backfill/status",
    "/api/backfill/request/",
    "/api/dashboard/",
    "/metrics",
    "/static/",
    "/health",
)
ACCESS_LOGGER = "uvicorn.access"


def _jsonable(value: object) -> str | int | float | bool | None:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _access_fields(record: logging.LogRecord) -> dict[str, object]:
    """uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path, version, status)."""
    args = record.args
    if record.name != ACCESS_LOGGER or not isinstance(args, tuple) or len(args) != 5:
        return {}
    client, method, path, _version, status = args
    return {"client": client, "method": method, "path": path, "status": status}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = _jsonable(value)
        body.update(_access_fields(record))
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body)


class QuietPolls(logging.Filter):
    """Drop successful GETs of polled endpoints from the access log unless DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _access_fields(record)
        if not fields or logging.getLogger().isEnabledFor(logging.DEBUG):
            return True
        status = fields["status"]
        ok = fields["method"] == "GET" and isinstance(status, int) and status < 400
        return not (ok and str(fields["path"]).startswith(_POLLED))


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, QuietPolls) for f in access.filters):
        access.addFilter(QuietPolls())


def uvicorn_log_config(json_lines: bool) -> dict[str, Any] | None:
    """``log_config`` for ``uvicorn.run``: with JSON on, None so that uvicorn's loggers
    (errors and the access log) propagate to the root handler and its JsonFormatter."""
    if json_lines:
        return None
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG
