"""GET /api/backfill/request/{id}/fleet: a request as the fleet works it (fleet mode only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from naia.api.schemas import Ok, error_responses
from naia.app.wiring import Runtime
from naia.domain.errors import NotFoundError
from naia.domain.timeparse import format_timestamp
from naia.orchestrator.fleet import FleetOrchestrator, FleetView

NOT_FLEET = "this API runs no fleet (orchestrator.fetchers = inprocess)"


class FetcherBody(BaseModel):
    """What one fetcher published for the request, and the unit of it that it reads now."""

    model_config = ConfigDict(frozen=True)

    fetcher: str
    units: int
    values: int
    seconds: float
    valuesPerSecond: float | None  # noqa: N815
    currentUnit: int | None = None  # noqa: N815
    readingSince: str | None = None  # noqa: N815


class FleetBody(BaseModel):
    """Owner, dispatch run, units out and settled, and the fetchers that published them."""

    model_config = ConfigDict(frozen=True)

    owner: str | None
    run: int
    dispatchedUnits: int  # noqa: N815
    outstandingUnits: int  # noqa: N815
    skippedUnits: int  # noqa: N815
    fetchers: list[FetcherBody]


def fleet_body(view: FleetView) -> FleetBody:
    return FleetBody(
        owner=view.owner,
        run=view.run,
        dispatchedUnits=view.dispatched,
        outstandingUnits=view.outstanding,
        skippedUnits=view.skipped,
        fetchers=[
            FetcherBody(
                fetcher=f.fetcher,
                units=f.units,
                values=f.values,
                seconds=round(f.seconds, 3),
                valuesPerSecond=round(f.values / f.seconds, 1) if f.seconds > 0 else None,
                currentUnit=f.current_unit,
                readingSince=format_timestamp(f.since) if f.since else None,
            )
            for f in view.fetchers
        ],
    )


def fleet_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/api/backfill/request/{requestId}/fleet",
        tags=["backfill"],
        response_model=Ok[FleetBody],
        responses=error_responses(404, 413),
    )
    def fleet(requestId: str) -> JSONResponse:  # noqa: N803
        """Fleet mode: owner, run, units dispatched and outstanding, what each fetcher
        published (units, values, seconds, values/s) and the unit it reads now. 404 for an
        unknown request, or when this API reads PI itself."""
        orch = runtime.orchestrator
        if not isinstance(orch, FleetOrchestrator):
            raise NotFoundError(NOT_FLEET)
        body = fleet_body(orch.fleet_view(requestId))
        return JSONResponse({"success": True, "data": body.model_dump(mode="json")})

    return router
