"""OpenAPI 3.1 generated from the declared endpoints (msgspec JSON Schema components)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from nexus.web.codec import schema_hook
from nexus.web.pagination import MAX_LIMIT
from nexus.web.problems import PROBLEM_CONTENT_TYPE, Problem
from nexus.web.routing import EndpointSpec, Operation

REF_TEMPLATE = "#/components/schemas/{name}"
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+)(?:\([^)]*\))?)?\}")
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "dt": {"type": "string"},
}
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Malformed request (not JSON, bad cursor)",
    401: "Missing or invalid bearer token",
    403: "Authenticated but not allowed",
    404: "Not found",
    422: "Validation failed; `errors` names each offending field",
}


def build_openapi(
    title: str, version: str, operations: Sequence[Operation], *, description: str = ""
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``."""
    documented = [op for op in operations if op.spec is None or op.spec.in_schema]
    types: list[Any] = [Problem]
    for op in documented:
        if op.spec is None:
            continue
        types.extend(t for t in (op.spec.body, op.spec.response, op.spec.query) if t is not None)
    unique = list(dict.fromkeys(types))
    schemas, components = msgspec.json.schema_components(
        unique, schema_hook=schema_hook, ref_template=REF_TEMPLATE
    )
    schema_of = dict(zip(unique, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in documented:
        path, path_params = _openapi_path(op.template)
        paths.setdefault(path, {})[op.method.lower()] = _operation(
            op, path_params, schema_of, components
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _openapi_path(template: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        name, converter = match.group(1), match.group(2)
        schema = _CONVERTER_SCHEMAS.get(converter or "", {"type": "string"})
        params.append({"name": name, "in": "path", "required": True, "schema": dict(schema)})
        return "{" + name + "}"

    return _FIELD.sub(replace, template), params


def _operation(
    op: Operation,
    path_params: list[dict[str, Any]],
    schema_of: dict[Any, Any],
    components: dict[str, Any],
) -> dict[str, Any]:
    spec = op.spec or EndpointSpec()
    doc = (op.responder.__doc__ or "").strip().splitlines()
    out: dict[str, Any] = {
        "operationId": f"{type(op.resource).__name__}.{op.responder.__name__}",
        "summary": spec.summary or (doc[0] if doc else op.responder.__name__),
    }
    if spec.tags:
        out["tags"] = list(spec.tags)
    params = list(path_params)
    if spec.query is not None:
        params.extend(_query_params(schema_of[spec.query], components))
    if spec.paginated:
        known = {p["name"] for p in params}
        if "limit" not in known:
            params.append(
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                }
            )
        if "cursor" not in known:
            params.append(
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}
            )
    if params:
        out["parameters"] = params
    if spec.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_of[spec.body]}},
        }
    out["security"] = [] if spec.public else [{"bearerAuth": []}]
    out["responses"] = _responses(spec, bool(path_params), schema_of)
    return out


def _query_params(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    ref = schema.get("$ref", "")
    struct = components.get(ref.rsplit("/", 1)[-1], schema)
    required = set(struct.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in struct.get("properties", {}).items()
    ]


def _responses(spec: EndpointSpec, has_path_params: bool, schema_of: dict[Any, Any]) -> Any:
    problem = {"content": {PROBLEM_CONTENT_TYPE: {"schema": schema_of[Problem]}}}
    success: dict[str, Any] = {"description": _STATUS_TEXT.get(spec.status, "Success")}
    if spec.response is not None:
        success["content"] = {spec.media_type: {"schema": schema_of[spec.response]}}
    responses: dict[str, Any] = {str(spec.status): success}
    statuses: list[int] = []
    if spec.body is not None or spec.query is not None or spec.paginated:
        statuses += [400, 422]
    if not spec.public:
        statuses += [401, 403]
    if has_path_params:
        statuses.append(404)
    for status in statuses:
        responses[str(status)] = {"description": _STATUS_TEXT[status], **problem}
    responses["default"] = {"description": "Error (RFC 9457 problem details)", **problem}
    return responses
