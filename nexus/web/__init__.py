"""The web chassis: Falcon ASGI app factory, problem+json errors, auth, pagination, ops.

Typical service wiring (``services/<name>/main.py``)::

    app = create_app("risk", [("/halts", HaltsResource(core)), ("/halts/{halt_id}", ...)],
                     settings, readiness={"postgres": lambda: pool.fetchval("SELECT 1")})
    serve(app, settings.host, settings.port("risk"))
"""

from nexus.web.app import ServiceApp, create_app
from nexus.web.auth import (
    ADMIN,
    ALL_USERS_READERS,
    COMPLIANCE,
    RISK,
    SERVICE,
    TRADER,
    Authenticator,
    Principal,
    authorize_user,
    principal_of,
    require_roles,
    scoped_user_filter,
)
from nexus.web.codec import decode_json, encode_json
from nexus.web.logs import JsonFormatter, configure_logging
from nexus.web.metrics import ServiceMetrics
from nexus.web.ops import ReadinessCheck, ReadinessChecks
from nexus.web.pagination import (
    Page,
    PageRequest,
    decode_cursor,
    encode_cursor,
    filter_clause,
    keyset_clause,
    make_page,
    matches,
    page_request,
    paginate,
)
from nexus.web.problems import (
    PROBLEM_BASE,
    Conflict,
    FieldError,
    Forbidden,
    HTTPProblem,
    MalformedRequest,
    NotFound,
    Problem,
    Unauthorized,
    ValidationFailed,
)
from nexus.web.request import QueryParams, RequestBody, invalid, read_query
from nexus.web.routing import EndpointSpec, Route, endpoint
from nexus.web.server import ServerThread, running_server, serve

__all__ = [
    "ADMIN",
    "ALL_USERS_READERS",
    "COMPLIANCE",
    "PROBLEM_BASE",
    "RISK",
    "SERVICE",
    "TRADER",
    "Authenticator",
    "Conflict",
    "EndpointSpec",
    "FieldError",
    "Forbidden",
    "HTTPProblem",
    "JsonFormatter",
    "MalformedRequest",
    "NotFound",
    "Page",
    "PageRequest",
    "Principal",
    "Problem",
    "QueryParams",
    "ReadinessCheck",
    "ReadinessChecks",
    "RequestBody",
    "Route",
    "ServerThread",
    "ServiceApp",
    "ServiceMetrics",
    "Unauthorized",
    "ValidationFailed",
    "authorize_user",
    "configure_logging",
    "create_app",
    "decode_cursor",
    "decode_json",
    "encode_cursor",
    "encode_json",
    "endpoint",
    "filter_clause",
    "invalid",
    "keyset_clause",
    "make_page",
    "matches",
    "page_request",
    "paginate",
    "principal_of",
    "read_query",
    "require_roles",
    "running_server",
    "scoped_user_filter",
    "serve",
]
