"""Operations endpoints: ``/healthz``, ``/readyz``, ``/metrics``, ``/openapi.json``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import falcon
import falcon.asgi
import msgspec

from nexus.web.codec import encode_json
from nexus.web.metrics import METRICS_CONTENT_TYPE, ServiceMetrics
from nexus.web.routing import endpoint

ReadinessCheck = Callable[[], Awaitable[object]]

log = logging.getLogger("nexus.web.ops")


class Health(msgspec.Struct):
    """Liveness answer."""

    status: str
    service: str


class Readiness(msgspec.Struct):
    """Readiness answer: ``status`` is ``ready`` or ``unready``; one entry per check."""

    status: str
    service: str
    checks: dict[str, str]


class ReadinessChecks:
    """Named async checks (``await pool.fetchval("SELECT 1")``); a check fails by raising."""

    def __init__(self, timeout_seconds: float = 2.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._checks: dict[str, ReadinessCheck] = {}

    def add(self, name: str, check: ReadinessCheck) -> None:
        """Register ``check`` under ``name`` (replacing any previous one)."""
        self._checks[name] = check

    async def run(self) -> tuple[bool, dict[str, str]]:
        """Run every check concurrently; ``(all ok, {name: "ok" | "failed: <reason>"})``."""
        names = list(self._checks)
        results = await asyncio.gather(
            *(self._one(name) for name in names), return_exceptions=False
        )
        outcome = dict(zip(names, results, strict=True))
        return all(v == "ok" for v in outcome.values()), outcome

    async def _one(self, name: str) -> str:
        try:
            await asyncio.wait_for(self._checks[name](), self.timeout_seconds)
        except TimeoutError:
            return "failed: timeout"
        except Exception as exc:  # a check may fail in any way; report it, do not crash
            log.warning("readiness check %s failed: %r", name, exc)
            return f"failed: {type(exc).__name__}"
        return "ok"


class HealthResource:
    """``GET /healthz``: the process is alive (no dependency is touched)."""

    def __init__(self, service: str) -> None:
        self._body = encode_json(Health(status="ok", service=service))

    @endpoint(public=True, response=Health, tags=("operations",))
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Liveness probe."""
        resp.data = self._body


class ReadyResource:
    """``GET /readyz``: every registered dependency check passes (200) or not (503)."""

    def __init__(self, service: str, checks: ReadinessChecks) -> None:
        self._service = service
        self._checks = checks

    @endpoint(public=True, response=Readiness, tags=("operations",))
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Readiness probe."""
        ok, outcome = await self._checks.run()
        resp.status = falcon.HTTP_200 if ok else falcon.HTTP_503
        resp.data = encode_json(
            Readiness(status="ready" if ok else "unready", service=self._service, checks=outcome)
        )


class MetricsResource:
    """``GET /metrics``: Prometheus text format of the service registry."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    @endpoint(public=True, response=str, media_type="text/plain", tags=("operations",))
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Prometheus scrape endpoint."""
        resp.content_type = METRICS_CONTENT_TYPE
        resp.data = self._metrics.render()


class OpenAPIResource:
    """``GET /openapi.json``: the document generated from the declared endpoints."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._cached: bytes | None = None

    @endpoint(public=True, in_schema=False)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The OpenAPI 3.1 document."""
        if self._cached is None:
            self._cached = encode_json(self._build())
        resp.data = self._cached
