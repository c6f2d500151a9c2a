"""POST /batch: named sub-requests, ParentIds, Parameters and RequestTemplate; 207 overall.

* ``Resource`` is a URL (its host is ignored) or a JSONPath into a parent's response.
* ``Parameters`` are JSONPaths whose tokens replace ``{0}``, ``{1}``… in the resource. A token
  put into a query parameter is URL-encoded; several tokens for ``name={0}`` repeat the parameter.
* ``RequestTemplate`` runs one sub-request per token (parameters are zipped, a single token is
  reused) and answers ``{Status:207, Content:{"Total":n,"Items":[{Status,Headers,Content}]}}``.
* A child of a failed parent (status not 2xx) gets 409 with a plain-string Content.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import msgspec

from naia.emulator import jsonpath
from naia.emulator.context import Emulator
from naia.emulator.http import ApiError, Call, Query, Reply
from naia.emulator.render import json_bytes

Dispatch = Callable[[Emulator, Call], Reply]
_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
_DATA_PATH = re.compile(r"^/piwebapi/(streams/[^/]+|streamsets)/recorded/?$", re.IGNORECASE)


@dataclass
class SubRequest:
    id: str
    method: str = "GET"
    resource: str | None = None
    template: str | None = None
    parameters: list[str] = field(default_factory=list)
    parent_ids: list[str] = field(default_factory=list)


@dataclass
class SubResult:
    status: int
    chunks: list[bytes]
    headers: dict[str, str] = field(default_factory=lambda: dict(_HEADERS))
    _decoded: object = None

    def as_object(self) -> dict[str, object]:
        if self._decoded is None:
            self._decoded = msgspec.json.decode(b"".join(self.chunks))
        return {"Status": self.status, "Headers": self.headers, "Content": self._decoded}

    def json_chunks(self) -> list[bytes]:
        head = b'{"Status":' + str(self.status).encode() + b',"Headers":'
        return [head + json_bytes(self.headers) + b',"Content":', *self.chunks, b"}"]


class SubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def execute(emu: Emulator, call: Call, dispatch: Dispatch) -> Reply:
    requests = _parse(call.body)
    runner = _Runner(emu, call, dispatch)
    for request_id in _order(requests):
        runner.run(requests[request_id])
    chunks: list[bytes] = []
    for request_id in requests:
        chunks.append((b"{" if not chunks else b",") + json_bytes(request_id) + b":")
        chunks.extend(runner.results[request_id].json_chunks())
    chunks.append(b"}" if chunks else b"{}")
    return Reply(207, chunks)


class _Runner:
    def __init__(self, emu: Emulator, call: Call, dispatch: Dispatch) -> None:
        self.emu, self.call, self.dispatch = emu, call, dispatch
        self.results: dict[str, SubResult] = {}
        self.exception_pending = call.web_exception

    def run(self, request: SubRequest) -> None:
        try:
            self.results[request.id] = self._run(request)
        except (SubError, jsonpath.JsonPathError) as exc:
            status = exc.status if isinstance(exc, SubError) else 400
            self.results[request.id] = SubResult(status, [json_bytes({"Errors": [str(exc)]})])

    def _run(self, request: SubRequest) -> SubResult:
        failed = [p for p in request.parent_ids if not 200 <= self.results[p].status < 300]
        if failed:
            text = f"The following ParentIds did not complete successfully: {', '.join(failed)}."
            return SubResult(409, [json_bytes(text)])
        if request.template is not None:
            return self._template(request)
        resource = request.resource or ""
        if resource.strip().startswith("$"):
            resource = self._one_token(resource)
        tokens = [self._tokens(p) for p in request.parameters]
        return self._sub_call(request.method, _substitute_all(resource, tokens))

    def _template(self, request: SubRequest) -> SubResult:
        tokens = [self._tokens(p) for p in request.parameters]
        sizes = {len(t) for t in tokens if len(t) != 1}
        if len(sizes) > 1:
            raise SubError(400, "The template parameters select different numbers of tokens.")
        count = sizes.pop() if sizes else (1 if tokens else 0)
        items: list[bytes] = []
        for k in range(count):
            picked = [[t[0] if len(t) == 1 else t[k]] for t in tokens]
            try:
                result = self._sub_call(
                    request.method, _substitute_all(request.template or "", picked)
                )
            except SubError as exc:
                result = SubResult(exc.status, [json_bytes({"Errors": [str(exc)]})])
            items.extend([b"," if items else b"", *result.json_chunks()])
        content = [b'{"Total":' + str(count).encode() + b',"Items":[', *items, b"]}"]
        return SubResult(207, content)

    def _tokens(self, path: str) -> list[object]:
        request_id = jsonpath.first_step(path)
        if request_id is None or request_id not in self.results:
            raise SubError(400, f"JSONPath '{path}' does not refer to a completed parent request.")
        root = {request_id: self.results[request_id].as_object()}
        return jsonpath.select(root, path)

    def _one_token(self, path: str) -> str:
        tokens = self._tokens(path)
        if len(tokens) != 1 or not isinstance(tokens[0], str):
            raise SubError(400, f"JSONPath '{path}' must select exactly one string.")
        return tokens[0]

    def _sub_call(self, method: str, resource: str) -> SubResult:
        if method.upper() != "GET":
            raise SubError(405, f"The emulator runs GET sub-requests only, not '{method}'.")
        parts = urlsplit(resource.strip())
        if not parts.path.lower().startswith("/piwebapi"):
            raise SubError(400, f"The resource '{resource}' is not a PI Web API URL.")
        if parts.path.lower().rstrip("/").endswith("/batch"):
            raise SubError(400, "A batch cannot contain a batch request.")
        data_call = bool(_DATA_PATH.match(parts.path))
        web_exception = self.exception_pending and data_call
        self.exception_pending = self.exception_pending and not web_exception
        sub = Call(
            method="GET",
            path=parts.path,
            query=Query.parse(parts.query),
            base=self.call.base,
            headers=self.call.headers,
            web_exception=web_exception,
            fault_index=self.call.fault_index,
        )
        reply = self.dispatch(self.emu, sub)
        return SubResult(reply.status, reply.materialized())


def _substitute_all(resource: str, tokens: list[list[object]]) -> str:
    for index, values in enumerate(tokens):
        resource = _substitute(resource, "{" + str(index) + "}", values)
    return resource


def _substitute(resource: str, marker: str, values: list[object]) -> str:
    if marker not in resource:
        return resource
    if not values:
        raise SubError(400, f"The parameter for {marker} selected no token.")
    query_at = resource.find("?")
    head, query = (resource, "") if query_at < 0 else (resource[:query_at], resource[query_at:])
    if marker in head:
        if len(values) != 1:
            raise SubError(400, f"The parameter for {marker} must select exactly one token.")
        head = head.replace(marker, _text(values[0]))
    if len(values) == 1:
        return head + query.replace(marker, quote(_text(values[0]), safe=""))
    pattern = re.compile(r"([?&])([^=&]+)=" + re.escape(marker) + r"(?=&|$)")
    if not pattern.search(query):
        raise SubError(400, f"The parameter for {marker} selected {len(values)} tokens.")

    def repeat(m: re.Match[str]) -> str:
        name = m[2]
        return m[1] + "&".join(f"{name}={quote(_text(v), safe='')}" for v in values)

    return head + pattern.sub(repeat, query)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json_bytes(value).decode("utf-8")


def _parse(body: bytes) -> dict[str, SubRequest]:
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise ApiError(400, "The batch request body is not valid JSON.") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ApiError(400, "A batch request is a JSON object of named request objects.")
    return {str(key): _request(str(key), value) for key, value in raw.items()}


def _request(request_id: str, raw: dict[str, object]) -> SubRequest:
    fields = {str(k).lower(): v for k, v in raw.items()}
    template = fields.get("requesttemplate")
    if template is not None and not isinstance(template, dict):
        raise ApiError(400, f"RequestTemplate of request '{request_id}' must be an object.")
    template_resource = None
    if isinstance(template, dict):
        template_resource = {str(k).lower(): v for k, v in template.items()}.get("resource")
    return SubRequest(
        id=request_id,
        method=str(fields.get("method") or "GET"),
        resource=_opt_str(fields.get("resource")),
        template=_opt_str(template_resource),
        parameters=_strings(fields.get("parameters")),
        parent_ids=_strings(fields.get("parentids")),
    )


def _strings(value: object) -> list[str]:
    return [str(p) for p in value] if isinstance(value, list) else []


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _order(requests: dict[str, SubRequest]) -> list[str]:
    """Parents before children (Kahn's algorithm, stable in request order)."""
    for request in requests.values():
        for parent in request.parent_ids:
            if parent not in requests:
                raise ApiError(400, f"Request '{request.id}' has an unknown ParentId '{parent}'.")
    done: list[str] = []
    pending = list(requests)
    while pending:
        ready = [r for r in pending if all(p in done for p in requests[r].parent_ids)]
        if not ready:
            raise ApiError(400, "The ParentIds of the batch requests form a cycle.")
        done.extend(ready)
        pending = [r for r in pending if r not in ready]
    return done
