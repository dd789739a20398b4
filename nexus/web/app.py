"""The app factory: a Falcon ASGI app for one service, with the chassis wired in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import falcon
import falcon.asgi

from nexus.config import Settings
from nexus.web.auth import Authenticator
from nexus.web.codec import encode_json
from nexus.web.docs_page import DocsResource
from nexus.web.media import MsgspecJSONHandler
from nexus.web.metrics import ServiceMetrics
from nexus.web.middleware import (
    AuthMiddleware,
    Hook,
    LifecycleMiddleware,
    ObservabilityMiddleware,
)
from nexus.web.openapi import build_openapi
from nexus.web.ops import (
    HealthResource,
    MetricsResource,
    OpenAPIResource,
    ReadinessCheck,
    ReadinessChecks,
    ReadyResource,
)
from nexus.web.problems import install_error_handlers
from nexus.web.routing import EndpointSpec, Operation, RouteLike, as_route, operations_of


class ServiceApp(falcon.asgi.App[falcon.asgi.Request, falcon.asgi.Response]):
    """A ``falcon.asgi.App`` that also carries the service's chassis parts.

    Attributes: ``service_name``, ``settings``, ``metrics`` (:class:`ServiceMetrics`),
    ``readiness`` (:class:`ReadinessChecks`), ``authenticator``, ``operations``.
    """

    service_name: str
    settings: Settings
    metrics: ServiceMetrics
    readiness: ReadinessChecks
    authenticator: Authenticator
    operations: list[Operation]
    api_version: str
    _lifecycle: LifecycleMiddleware

    def on_startup(self, hook: Hook) -> None:
        """Run ``hook`` at ASGI lifespan startup (after the hooks added before it)."""
        self._lifecycle.startup.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        """Run ``hook`` at ASGI lifespan shutdown (in reverse order of registration)."""
        self._lifecycle.shutdown.append(hook)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this app."""
        return build_openapi(self.service_name, self.api_version, self.operations)

    def encode(self, obj: Any) -> bytes:
        """JSON bytes of ``obj`` with the chassis encoder (for ``resp.data``)."""
        return encode_json(obj)


def create_app(
    service_name: str,
    routes: Iterable[RouteLike],
    settings: Settings | None = None,
    *,
    version: str = "0.1.0",
    readiness: Mapping[str, ReadinessCheck] | None = None,
    metrics: ServiceMetrics | None = None,
    authenticator: Authenticator | None = None,
    middleware: Sequence[Any] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
) -> ServiceApp:
    """Build the ASGI app of ``service_name`` serving ``routes`` plus the operations endpoints.

    ``routes`` are :class:`~nexus.web.routing.Route` or ``(template, resource[, suffix])``.
    Adds ``/healthz``, ``/readyz``, ``/metrics``, ``/openapi.json`` and ``/docs`` (its page);
    installs problem+json
    error handling, correlation ids, access logs, metrics and bearer auth.
    """
    settings = settings if settings is not None else Settings()
    metrics = metrics if metrics is not None else ServiceMetrics(service_name)
    authenticator = authenticator if authenticator is not None else Authenticator(settings)
    checks = ReadinessChecks()
    for name, check in (readiness or {}).items():
        checks.add(name, check)
    lifecycle = LifecycleMiddleware()
    lifecycle.startup.extend(on_startup)
    lifecycle.shutdown.extend(on_shutdown)

    all_routes = [as_route(r) for r in routes]
    openapi_resource = OpenAPIResource(lambda: app.openapi())
    all_routes += [
        as_route(("/healthz", HealthResource(service_name))),
        as_route(("/readyz", ReadyResource(service_name, checks))),
        as_route(("/metrics", MetricsResource(metrics))),
        as_route(("/openapi.json", openapi_resource)),
        as_route(("/docs", DocsResource(lambda: app.openapi()))),
    ]
    operations = [op for route in all_routes for op in operations_of(route)]
    specs: dict[tuple[str, str], EndpointSpec | None] = {
        (op.template, op.method): op.spec for op in operations
    }

    app = ServiceApp(
        middleware=[
            lifecycle,
            ObservabilityMiddleware(metrics),
            AuthMiddleware(authenticator, specs),
            *middleware,
        ],
    )
    app.service_name = service_name
    app.settings = settings
    app.metrics = metrics
    app.readiness = checks
    app.authenticator = authenticator
    app.operations = operations
    app.api_version = version
    app._lifecycle = lifecycle

    handler = MsgspecJSONHandler()
    app.req_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = handler
    install_error_handlers(app)
    for route in all_routes:
        if route.suffix:
            app.add_route(route.template, route.resource, suffix=route.suffix)
        else:
            app.add_route(route.template, route.resource)
    return app
