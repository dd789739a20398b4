"""Discovery against Consul's HTTP API contract, served by a small fake agent on loopback.

The fake records what py-consul sends (method, path, query, JSON body) and answers the way
Consul's agent does: ``PUT /v1/agent/service/register`` and
``PUT /v1/agent/service/deregister/<id>`` answer 200 with an empty body, and
``GET /v1/health/service/<name>?passing=1`` answers the list of entries
(``Node``, ``Service``, ``Checks``) with an ``X-Consul-Index`` header.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from nexus.clients import ServiceClient
from nexus.config import Settings
from nexus.discovery import NoHealthyInstance, ServiceDiscovery
from nexus.web import ServerThread, create_app

pytestmark = pytest.mark.integration


@dataclass
class FakeConsul:
    """Agent state: registered services and every request received."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def health(self, name: str, passing: bool) -> list[dict[str, Any]]:
        out = []
        for svc in self.services.values():
            if svc["name"] != name:
                continue
            status = "passing" if svc.get("healthy", True) else "critical"
            if passing and status != "passing":
                continue
            out.append(
                {
                    "Node": {"Node": "node-1", "Address": "127.0.0.1"},
                    "Service": {
                        "ID": svc["id"],
                        "Service": svc["name"],
                        "Address": svc.get("address", ""),
                        "Port": svc["port"],
                        "Tags": svc.get("tags", []),
                    },
                    "Checks": [{"CheckID": f"service:{svc['id']}", "Status": status}],
                }
            )
        return out


def make_handler(state: FakeConsul) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _record(self) -> tuple[str, dict[str, list[str]], Any]:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            query = parse_qs(parts.query, keep_blank_values=True)
            with state.lock:
                state.requests.append((self.command, parts.path, query, body))
            return parts.path, query, body

        def _answer(
            self, status: int, payload: Any = None, headers: dict[str, str] | None = None
        ) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:
            path, _, body = self._record()
            if path == "/v1/agent/service/register":
                # Consul decodes JSON keys case-insensitively; py-consul sends lower case
                service = {key.lower(): value for key, value in body.items()}
                with state.lock:
                    state.services[service.get("id") or service["name"]] = service
                self._answer(200)
            elif path.startswith("/v1/agent/service/deregister/"):
                service_id = path.rsplit("/", 1)[-1]
                with state.lock:
                    found = state.services.pop(service_id, None)
                if found is None:
                    self._answer(404, None)
                else:
                    self._answer(200)
            else:
                self._answer(404)

        def do_GET(self) -> None:
            path, query, _ = self._record()
            if path.startswith("/v1/health/service/"):
                name = path.rsplit("/", 1)[-1]
                passing = "passing" in query
                with state.lock:
                    entries = state.health(name, passing)
                self._answer(200, entries, {"X-Consul-Index": "42"})
            else:
                self._answer(404)

    return Handler


@pytest.fixture
def consul() -> Iterator[tuple[str, FakeConsul]]:
    state = FakeConsul()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


async def test_register_sends_service_with_http_health_check(
    consul: tuple[str, FakeConsul],
) -> None:
    addr, state = consul
    discovery = ServiceDiscovery(Settings(consul_addr=addr, advertise_host="10.1.2.3"))
    service_id = await discovery.register("risk", 8103, tags=["v1"])
    assert service_id == "risk-10.1.2.3-8103"
    [(method, path, _, body)] = state.requests
    assert (method, path) == ("PUT", "/v1/agent/service/register")
    assert body == {
        "name": "risk",
        "id": "risk-10.1.2.3-8103",
        "address": "10.1.2.3",
        "port": 8103,
        "tags": ["v1"],
        "checks": [
            {
                "http": "http://10.1.2.3:8103/healthz",
                "interval": "10s",
                "timeout": "2s",
                "DeregisterCriticalServiceAfter": "1m",
            }
        ],
    }


async def test_deregister_removes_every_registered_instance(
    consul: tuple[str, FakeConsul],
) -> None:
    addr, state = consul
    discovery = ServiceDiscovery(Settings(consul_addr=addr))
    await discovery.register("risk", 8103)
    await discovery.deregister()
    assert state.requests[-1][:2] == ("PUT", "/v1/agent/service/deregister/risk-127.0.0.1-8103")
    assert state.services == {}
    await discovery.deregister()
    assert len(state.requests) == 2


async def test_resolve_asks_for_passing_instances_and_round_robins(
    consul: tuple[str, FakeConsul],
) -> None:
    addr, state = consul
    discovery = ServiceDiscovery(Settings(consul_addr=addr), cache_seconds=0.0)
    await discovery.register("orders", 9001, address="127.0.0.1")
    await discovery.register("orders", 9002, address="127.0.0.1")
    state.services["orders-127.0.0.1-9002"]["healthy"] = False
    await discovery.register("orders", 9003, address="127.0.0.1")
    seen = {await discovery.resolve("orders") for _ in range(4)}
    assert seen == {"http://127.0.0.1:9001", "http://127.0.0.1:9003"}
    method, path, query, _ = state.requests[-1]
    assert (method, path) == ("GET", "/v1/health/service/orders")
    assert "passing" in query


async def test_resolve_without_passing_instance_raises(consul: tuple[str, FakeConsul]) -> None:
    addr, _ = consul
    discovery = ServiceDiscovery(Settings(consul_addr=addr))
    with pytest.raises(NoHealthyInstance):
        await discovery.resolve("nobody")


async def test_resolve_caches_within_cache_window(consul: tuple[str, FakeConsul]) -> None:
    addr, state = consul
    now = [100.0]
    discovery = ServiceDiscovery(
        Settings(consul_addr=addr), cache_seconds=5.0, clock=lambda: now[0]
    )
    await discovery.register("risk", 8103)
    await discovery.resolve("risk")
    await discovery.resolve("risk")
    lookups = [r for r in state.requests if r[0] == "GET"]
    assert len(lookups) == 1
    now[0] += 5.0
    await discovery.resolve("risk")
    assert len([r for r in state.requests if r[0] == "GET"]) == 2


async def test_client_resolves_registered_service_and_calls_it(
    consul: tuple[str, FakeConsul],
) -> None:
    addr, _ = consul
    discovery = ServiceDiscovery(Settings(consul_addr=addr), cache_seconds=0.0)
    with ServerThread(create_app("risk", [])) as server:
        await discovery.register("risk", server.port, address="127.0.0.1")
        async with ServiceClient("risk", discovery.resolver("risk")) as client:
            response = await client.request("GET", "/healthz")
        # the same /healthz Consul's HTTP check polls answers 2xx
        assert response.json() == {"status": "ok", "service": "risk"}
