"""GET /api/backfill/request/{id}/fleet: a request as the fleet works it (fleet mode only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from naia.app.wiring import Runtime
from naia.orchestrator.fleet import FleetOrchestrator, FleetView

NOT_FLEET = "this API runs no fleet (orchestrator.fetchers = inprocess)"


def fleet_body(view: FleetView) -> dict[str, Any]:
    return {
        "owner": view.owner,
        "run": view.run,
        "dispatchedUnits": view.dispatched,
        "outstandingUnits": view.outstanding,
        "skippedUnits": view.skipped,
        "fetchers": [
            {
                "fetcher": f.fetcher,
                "units": f.units,
                "values": f.values,
                "seconds": round(f.seconds, 3),
                "valuesPerSecond": round(f.values / f.seconds, 1) if f.seconds > 0 else None,
            }
            for f in view.fetchers
        ],
    }


def fleet_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/api/backfill/request/{requestId}/fleet",
        tags=["backfill"],
        responses={404: {"description": "unknown request, or no fleet in this API"}},
    )
    def fleet(requestId: str) -> JSONResponse:  # noqa: N803
        """Owner, run, units dispatched and outstanding, and what each fetcher published
        (units, values, seconds, values/s)."""
        orch = runtime.orchestrator
        if not isinstance(orch, FleetOrchestrator):
            return JSONResponse({"success": False, "error": NOT_FLEET}, status_code=404)
        return JSONResponse({"success": True, "data": fleet_body(orch.fleet_view(requestId))})

    return router
