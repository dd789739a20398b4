"""RFC 9457 problem details: every error answered as ``application/problem+json``.

Each kind of error has a stable ``type`` URI (:data:`PROBLEM_BASE` + slug) that clients may
switch on; ``title`` is fixed per type, ``detail`` is human text about this occurrence.
Status policy: a body that is not JSON at all is **400** (``malformed-request``); JSON that
parses but breaks the schema (wrong type, unknown field, out of range, missing field) is
**422** (``validation-failed``) with ``errors: [{field, message, in}]`` naming each path
(``$.quantity``). Unexpected exceptions are **500** (``internal-error``) carrying only the
correlation id; the traceback goes to the log.
"""

from __future__ import annotations

import http
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import falcon
import falcon.asgi
import msgspec

from nexus.errors import (
    ConflictError,
    DependencyUnavailable,
    NotFoundError,
    ValidationError,
    split_error_path,
)
from nexus.web.codec import encode_json

PROBLEM_BASE = "https://nexustrade.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

log = logging.getLogger("nexus.web.errors")

Location = Literal["body", "query", "path", "header"]

#: status -> (slug, title) of the stable problem types.
PROBLEM_TYPES: dict[int, tuple[str, str]] = {
    400: ("malformed-request", "Malformed request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    411: ("length-required", "Length required"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Validation failed"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal error"),
    503: ("service-unavailable", "Service unavailable"),
}


class FieldError(msgspec.Struct, frozen=True):
    """One offending input: ``field`` is a path (``$.quantity``), ``in`` where it was sent."""

    field: str
    message: str
    # ``in`` is a keyword, hence the rename
    location: Location = msgspec.field(default="body", name="in")


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document (plus ``correlation_id`` and validation ``errors``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[FieldError] | None = None


def problem_type(status: int) -> str:
    """Stable ``type`` URI of ``status``."""
    slug = PROBLEM_TYPES.get(status, (f"http-{status}", ""))[0]
    return PROBLEM_BASE + slug


def problem_title(status: int) -> str:
    """Fixed ``title`` of ``status``."""
    known = PROBLEM_TYPES.get(status)
    if known is not None:
        return known[1]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


class HTTPProblem(falcon.HTTPError):
    """An HTTP error carrying problem fields; raise it (or a subclass) from a resource."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            falcon.code_to_http_status(status),
            title=problem_title(status),
            description=detail,
            headers=dict(headers) if headers else None,
        )
        self.errors = list(errors) if errors else None


class MalformedRequest(HTTPProblem):
    """400: the request cannot be parsed (not JSON, bad cursor encoding)."""

    def __init__(self, detail: str, *, errors: Sequence[FieldError] | None = None) -> None:
        super().__init__(400, detail, errors=errors)


class ValidationFailed(HTTPProblem):
    """422: parsed input breaks the schema or a domain rule."""

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        text = detail or "; ".join(f"{e.field}: {e.message}" for e in errors) or None
        super().__init__(422, text, errors=errors)


class Unauthorized(HTTPProblem):
    """401 with a ``WWW-Authenticate: Bearer`` challenge."""

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        challenge = 'Bearer realm="nexus"'
        if error:
            challenge += f', error="{error}", error_description="{detail}"'
        super().__init__(401, detail, headers={"WWW-Authenticate": challenge})


class Forbidden(HTTPProblem):
    """403: authenticated, but not allowed."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


class NotFound(HTTPProblem):
    """404: no such entity."""

    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


class Conflict(HTTPProblem):
    """409: conflicts with current state."""

    def __init__(self, detail: str) -> None:
        super().__init__(409, detail)


def field_error_of(exc: msgspec.ValidationError, location: Location = "body") -> FieldError:
    """Split msgspec's ``"Expected `int` ... - at `$.quantity`"`` into path and message.

    The path is read by :func:`nexus.errors.split_error_path` (msgspec exposes it only in
    the text); an error at the root is reported at ``$``.
    """
    message, path = split_error_path(str(exc))
    return FieldError(field=path or "$", message=message, location=location)


def request_id_of(req: falcon.asgi.Request) -> str | None:
    """Correlation id of ``req`` (set by the observability middleware)."""
    value = getattr(req.context, "request_id", None)
    return value if isinstance(value, str) else None


def problem_of(req: falcon.asgi.Request, exc: falcon.HTTPError) -> Problem:
    """The problem document of a Falcon HTTP error."""
    status = exc.status_code
    return Problem(
        type=problem_type(status),
        title=problem_title(status),
        status=status,
        detail=exc.description,
        instance=req.path,
        correlation_id=request_id_of(req),
        errors=getattr(exc, "errors", None),
    )


def write_problem(resp: falcon.asgi.Response, problem: Problem) -> None:
    """Write ``problem`` as the response body."""
    resp.status = problem.status
    resp.content_type = PROBLEM_CONTENT_TYPE
    resp.data = encode_json(problem)


def serialize_error(req: Any, resp: Any, exc: falcon.HTTPError) -> None:
    """Falcon error serializer: every :class:`falcon.HTTPError` becomes problem+json."""
    write_problem(resp, problem_of(req, exc))


async def _domain_validation(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, ex: ValidationError, params: Any
) -> None:
    field = ex.field or "$"
    name = field.removeprefix("$.")
    # where the offending value was sent: a path parameter of the route, a query parameter
    # of the request, else the body
    location: Location = "path" if name in params else "query" if name in req.params else "body"
    error = FieldError(field=field, message=str(ex), location=location)
    _write_http_problem(req, resp, ValidationFailed([error]))


async def _domain_not_found(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, ex: NotFoundError, params: Any
) -> None:
    _write_http_problem(req, resp, NotFound(str(ex)))


async def _domain_conflict(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, ex: ConflictError, params: Any
) -> None:
    _write_http_problem(req, resp, Conflict(str(ex)))


async def _dependency_unavailable(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, ex: DependencyUnavailable, params: Any
) -> None:
    retry_after = max(1, math.ceil(getattr(ex, "retry_after_s", 1.0)))
    _write_http_problem(
        req, resp, HTTPProblem(503, str(ex), headers={"Retry-After": str(retry_after)})
    )


async def _unexpected(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, ex: Exception, params: Any
) -> None:
    request_id = request_id_of(req)
    log.error(
        "unhandled %s on %s %s (request_id=%s)",
        type(ex).__name__,
        req.method,
        req.path,
        request_id,
        exc_info=ex,
        extra={"request_id": request_id, "route": req.uri_template},
    )
    detail = "An unexpected error occurred; quote the correlation id when reporting it."
    write_problem(
        resp,
        Problem(
            type=problem_type(500),
            title=problem_title(500),
            status=500,
            detail=detail,
            instance=req.path,
            correlation_id=request_id,
        ),
    )


def _write_http_problem(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: HTTPProblem
) -> None:
    if exc.headers:
        resp.set_headers(exc.headers)
    write_problem(resp, problem_of(req, exc))


def install_error_handlers(app: falcon.asgi.App[Any, Any]) -> None:
    """Route every error path of ``app`` to problem+json."""
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(ValidationError, _domain_validation)
    app.add_error_handler(NotFoundError, _domain_not_found)
    app.add_error_handler(ConflictError, _domain_conflict)
    app.add_error_handler(DependencyUnavailable, _dependency_unavailable)
