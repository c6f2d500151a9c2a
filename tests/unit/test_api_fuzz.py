"""Schema-driven fuzzing of the HTTP API (schemathesis): a few hundred generated requests per
operation, valid and invalid, against the app in-process on an embedded DuckDB store. Every
answer must be a documented status code with a body that matches its documented schema, and
none may be a 5xx."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.openapi import from_asgi
from schemathesis.specs.openapi.schemas import OpenApiSchema

from naia.api.app import create_app
from naia.app.settings import load_settings
from naia.app.wiring import Runtime, build_runtime

CASES_PER_OPERATION = 250
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    built = build_runtime(
        load_settings(
            store={"path": path},
            orchestrator={"max_points": 20, "max_chunks": 50},
            api={"max_body_bytes": 64 * 1024},
        )
    )
    yield built
    built.close()


OPERATIONS = [
    ("POST", "/api/backfill/start"),
    ("GET", "/api/backfill/status"),
    ("GET", "/api/backfill/request/{requestId}"),
    ("GET", "/api/backfill/request/{requestId}/chunks"),
    ("POST", "/api/backfill/request/{requestId}/cancel"),
    ("POST", "/api/backfill/request/{requestId}/retry-failed"),
    ("GET", "/api/dashboard/throughput/{requestId}"),
    ("GET", "/health"),
]


@pytest.fixture(scope="module")
def api_schema(runtime: Runtime) -> OpenApiSchema:
    return from_asgi("/openapi.json", create_app(runtime, start_worker=False))


def test_every_operation_is_fuzzed(api_schema: OpenApiSchema) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_5xx_and_every_answer_as_documented(
    api_schema: OpenApiSchema, method: str, path: str
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()
