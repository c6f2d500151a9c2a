"""POST /api/backfill/request/{id}/verify[?repair=true]: compare a request's store with its
source in the background; the result lands in the request view as ``verification``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from naia.app.wiring import Runtime
from naia.domain.errors import ConflictError
from naia.domain.model import Verification
from naia.domain.timeparse import format_timestamp

MAX_LISTED = 1000  # mismatches listed in a view; the count says how many there are in all


def verification_view(verification: Verification | None) -> dict[str, Any] | None:
    """The JSON form of a verification (None: never verified)."""
    if verification is None:
        return None
    v = verification
    return {
        "status": v.status.value,
        "checkedAt": format_timestamp(v.checked_at),
        "windowsChecked": v.windows_checked,
        "windowsSkipped": v.windows_skipped,
        "sourceEvents": v.source_events,
        "storedEvents": v.stored_events,
        "mismatchedWindows": len(v.mismatches),
        "mismatches": [
            {
                "point": m.point,
                "window": m.window,
                "start": format_timestamp(m.start),
                "end": format_timestamp(m.end),
                "sourceCount": m.source,
                "storedCount": m.stored,
                "duplicates": m.duplicates,
            }
            for m in v.mismatches[:MAX_LISTED]
        ],
        "repair": v.repair,
        "repairedChunks": list(v.repaired_units),
        "error": v.error,
        "seconds": round(v.seconds, 3),
    }


def verify_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["backfill"])
    orch = runtime.orchestrator

    @router.post("/api/backfill/request/{requestId}/verify", status_code=202)
    def verify(requestId: str, repair: bool = False) -> JSONResponse:  # noqa: N803
        """Verify the request against its source in the background (with ``repair=true``, run
        the mismatched chunks again, then verify again). 404: unknown request; 409: the request
        is still running or being verified. Poll GET /api/backfill/request/{id}."""
        view = orch.start_verify(requestId, repair=repair)
        body = {
            "requestId": view.request_id,
            "status": view.status.value,
            "verification": verification_view(view.verification),
        }
        return JSONResponse({"success": True, "data": body}, status_code=202)

    return router


def install_verify(app: FastAPI, runtime: Runtime) -> None:
    """The verify route and the 409 answer to a request whose state forbids it."""

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"success": False, "error": str(exc)}, status_code=409)

    app.include_router(verify_router(runtime))
