"""Service discovery: Consul (py-consul) when ``Settings.consul_addr`` is set, else static.

With Consul, :meth:`ServiceDiscovery.register` puts the service in the local agent with an
HTTP health check on its ``/healthz``; :meth:`ServiceDiscovery.deregister` removes it;
:meth:`ServiceDiscovery.resolve` answers a base URL of a healthy instance
(``/v1/health/service/<name>?passing=1``), round-robin, cached for ``cache_seconds``.
Without Consul, ``resolve`` answers ``Settings.service_url(name)`` and register is a no-op.
py-consul is synchronous, so its calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import consul

from nexus.clients.errors import ServiceUnavailable
from nexus.config import Settings
from nexus.errors import ConfigError


class NoHealthyInstance(ServiceUnavailable):
    """Consul knows no passing instance of the service."""


def parse_consul_addr(addr: str) -> tuple[str, int, str]:
    """``(host, port, scheme)`` of ``CONSUL_HTTP_ADDR`` (``host:port`` or ``scheme://host:port``)."""
    parts = urlsplit(addr if "//" in addr else "//" + addr)
    try:
        port = parts.port or 8500
    except ValueError:
        raise ConfigError(f"CONSUL_HTTP_ADDR is not host:port: {addr!r}") from None
    if not parts.hostname:
        raise ConfigError(f"CONSUL_HTTP_ADDR is not host:port: {addr!r}")
    return parts.hostname, port, parts.scheme or "http"


class ServiceDiscovery:
    """Register this service and find others."""

    def __init__(
        self,
        settings: Settings,
        *,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._consul: Any = None
        if settings.consul_addr:
            host, port, scheme = parse_consul_addr(settings.consul_addr)
            self._consul = consul.Consul(host=host, port=port, scheme=scheme)
        self._registered: list[str] = []
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._round_robin: dict[str, itertools.count[int]] = {}

    @property
    def uses_consul(self) -> bool:
        """True when a Consul agent is configured."""
        return self._consul is not None

    async def register(
        self,
        service: str,
        port: int,
        *,
        address: str | None = None,
        health_path: str = "/healthz",
        interval: str = "10s",
        check_timeout: str = "2s",
        deregister_after: str = "1m",
        tags: Iterable[str] = (),
    ) -> str | None:
        """Register ``service`` at ``address:port`` with an HTTP check; returns its id."""
        if self._consul is None:
            return None
        host = address or self._settings.advertise_host
        service_id = f"{service}-{host}-{port}"
        check = consul.Check.http(
            f"http://{host}:{port}{health_path}",
            interval,
            timeout=check_timeout,
            deregister=deregister_after,
        )
        await asyncio.to_thread(
            self._consul.agent.service.register,
            service,
            service_id=service_id,
            address=host,
            port=port,
            tags=list(tags),
            check=check,
        )
        self._registered.append(service_id)
        return service_id

    async def deregister(self) -> None:
        """Deregister every instance this object registered."""
        if self._consul is None:
            return
        while self._registered:
            service_id = self._registered.pop()
            await asyncio.to_thread(self._consul.agent.service.deregister, service_id)

    async def resolve(self, service: str) -> str:
        """Base URL (``http://host:port``) of a healthy instance of ``service``."""
        if self._consul is None:
            return self._settings.service_url(service)
        urls = await self._instances(service)
        if not urls:
            raise NoHealthyInstance(service, "no passing instance registered in Consul")
        counter = self._round_robin.setdefault(service, itertools.count())
        return urls[next(counter) % len(urls)]

    def resolver(self, service: str) -> Callable[[], Awaitable[str]]:
        """A zero-argument resolver for :class:`~nexus.clients.ServiceClient`'s ``base_url``."""

        async def resolve() -> str:
            return await self.resolve(service)

        return resolve

    async def _instances(self, service: str) -> list[str]:
        now = self._clock()
        cached = self._cache.get(service)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        try:
            _, nodes = await asyncio.to_thread(self._consul.health.service, service, passing=True)
        except (consul.ConsulException, OSError) as exc:
            raise NoHealthyInstance(service, f"Consul lookup failed: {exc!r}") from exc
        urls: list[str] = []
        for entry in nodes or []:
            svc = entry.get("Service", {})
            host = svc.get("Address") or entry.get("Node", {}).get("Address")
            port = svc.get("Port")
            if host and port:
                urls.append(f"http://{host}:{port}")
        self._cache[service] = (now, urls)
        return urls
