"""POST /api/backfill/request/{id}/verify[?repair=true]: compare a request's store with its
source in the background; the result lands in the request view as ``verification``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from naia.api.schemas import Ok, VerificationBody, error_responses, verification_body
from naia.app.wiring import Runtime
from naia.domain.model import RequestStatus


class VerifyAccepted(BaseModel):
    """The verification is under way: poll GET /api/backfill/request/{id}."""

    model_config = ConfigDict(frozen=True)

    requestId: str  # noqa: N815
    status: RequestStatus
    verification: VerificationBody | None


def verify_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["backfill"])
    orch = runtime.orchestrator

    @router.post(
        "/api/backfill/request/{requestId}/verify",
        status_code=202,
        response_model=Ok[VerifyAccepted],
        responses=error_responses(404, 409),
    )
    def verify(requestId: str, repair: bool = False) -> JSONResponse:  # noqa: N803
        """Verify the request against its source in the background (with ``repair=true``, run
        the chunks that differ again, then verify again). 404: unknown request; 409: the
        request is still running or being verified. Poll GET /api/backfill/request/{id}."""
        view = orch.start_verify(requestId, repair=repair)
        body = VerifyAccepted(
            requestId=view.request_id,
            status=view.status,
            verification=verification_body(view.verification),
        )
        data = body.model_dump(mode="json")
        return JSONResponse({"success": True, "data": data}, status_code=202)

    return router
