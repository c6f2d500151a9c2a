"""The CLI's client of a running `naia api`, typed by the API's own models (naia.api.schemas).

A start carries an ``Idempotency-Key`` (the caller's, or a fresh one), so the client retries it
safely when the API answers 503 (Kafka did not acknowledge) or the connection drops: the API
answers the first request again instead of queuing a second.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from naia.api.schemas import ErrorBody, Ok, QueuedRequest, RequestDetail, StartRequest, StatusBody

ModelT = TypeVar("ModelT", bound=BaseModel)
RETRY_STATUS = 503


class ApiError(Exception):
    """The API refused (its error body), or could not be reached."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


class ApiClient:
    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s)
        self._attempts = attempts
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def start(self, body: StartRequest, idempotency_key: str | None = None) -> QueuedRequest:
        """Queue a backfill; retried on 503 and dropped connections under one key."""
        key = idempotency_key or f"naia-cli-{uuid.uuid4()}"
        payload = body.model_dump(exclude_none=True)
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._http.post(
                    "/api/backfill/start", json=payload, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError as exc:
                if attempt == self._attempts:
                    raise ApiError(f"cannot reach the NAIA API at {self.url}: {exc}") from exc
                self._sleep(min(2.0**attempt, 30.0))
                continue
            if response.status_code == RETRY_STATUS and attempt < self._attempts:
                self._sleep(_retry_after(response))
                continue
            return _data(response, QueuedRequest)
        raise AssertionError("unreachable")  # pragma: no cover

    def request(self, request_id: str) -> RequestDetail:
        return _data(self._call("GET", f"/api/backfill/request/{request_id}"), RequestDetail)

    def retry_failed(self, request_id: str) -> RequestDetail:
        path = f"/api/backfill/request/{request_id}/retry-failed"
        return _data(self._call("POST", path), RequestDetail)

    def status(self) -> StatusBody:
        return _data(self._call("GET", "/api/backfill/status"), StatusBody)

    def _call(self, method: str, path: str) -> httpx.Response:
        try:
            return self._http.request(method, path)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach the NAIA API at {self.url}: {exc}") from exc


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "5")), 0.0), 60.0)
    except ValueError:
        return 5.0


def _data(response: httpx.Response, model: type[ModelT]) -> ModelT:
    if response.status_code != 200:
        try:
            error = ErrorBody.model_validate_json(response.content)
        except ValidationError:
            raise ApiError(f"HTTP {response.status_code}", response.status_code) from None
        raise ApiError(error.error, response.status_code, error.field)
    try:
        return Ok[model].model_validate_json(response.content).data  # type: ignore[valid-type]
    except ValidationError as exc:
        raise ApiError(f"unexpected answer from the NAIA API: {exc}") from None
