"""Cross-cutting middleware: correlation ids, access logs and metrics; auth; lifecycle."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import falcon.asgi

from nexus.web.auth import Authenticator, require_roles
from nexus.web.edge import edge_error
from nexus.web.metrics import ServiceMetrics
from nexus.web.request import invalid
from nexus.web.routing import EndpointSpec

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("nexus.access")

Hook = Callable[[], Awaitable[None]]


class ObservabilityMiddleware:
    """Assigns the correlation id (``X-Request-ID`` in and out), logs and measures requests."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Adopt the caller's request id if it is safe, else mint one; start the clock."""
        incoming = req.get_header(REQUEST_ID_HEADER)
        if incoming is None or not _SAFE_REQUEST_ID.match(incoming):
            incoming = uuid.uuid4().hex
        req.context.request_id = incoming
        req.context.started = time.perf_counter()

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        """Echo the request id, count the request, write the access log line."""
        request_id = getattr(req.context, "request_id", None) or uuid.uuid4().hex
        resp.set_header(REQUEST_ID_HEADER, request_id)
        started = getattr(req.context, "started", None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        route = req.uri_template or "<unmatched>"
        status = resp.status_code
        self._metrics.observe_request(route, req.method, status, elapsed)
        if access_log.isEnabledFor(logging.INFO):
            principal = getattr(req.context, "principal", None)
            access_log.info(
                "%s %s %s",
                req.method,
                req.path,
                status,
                extra={
                    "request_id": request_id,
                    "method": req.method,
                    "route": route,
                    "path": req.path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000.0, 3),
                    "subject": getattr(principal, "subject", None),
                },
            )


class AuthMiddleware:
    """Authenticates every non-public route and enforces its declared roles."""

    def __init__(
        self,
        authenticator: Authenticator,
        specs: Mapping[tuple[str, str], EndpointSpec | None],
    ) -> None:
        self._authenticator = authenticator
        self._specs = specs

    async def process_resource(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """401/403 before the responder runs; sets ``req.context.principal``."""
        if resource is None:
            return
        key = (req.uri_template or "", req.method)
        if key not in self._specs:
            # Falcon's default OPTIONS / 405 responders: nothing to protect
            return
        spec = self._specs[key]
        if spec is not None and spec.public:
            return
        principal = self._authenticator.authenticate(req.get_header("Authorization"))
        req.context.principal = principal
        if spec is not None:
            require_roles(principal, spec.roles)
        _refuse_bad_path_params(params)


#: longest path parameter accepted (ids and symbols are far shorter)
MAX_PATH_PARAM = 256


def _refuse_bad_path_params(params: Mapping[str, Any]) -> None:
    """422 for a path parameter with control characters or absurd length (never reaches SQL)."""
    for name, value in params.items():
        if not isinstance(value, str):
            continue
        if len(value) > MAX_PATH_PARAM:
            raise invalid(name, f"longer than {MAX_PATH_PARAM} characters", "path")
        found = edge_error(value, name)
        if found is not None:
            raise invalid(name, found[1], "path")


class LifecycleMiddleware:
    """Runs startup hooks on ASGI lifespan startup and shutdown hooks (reversed) on shutdown."""

    def __init__(self) -> None:
        self.startup: list[Hook] = []
        self.shutdown: list[Hook] = []

    async def process_startup(self, scope: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        """Run the startup hooks in order."""
        for hook in self.startup:
            await hook()

    async def process_shutdown(self, scope: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        """Run the shutdown hooks in reverse order."""
        for hook in reversed(self.shutdown):
            await hook()
