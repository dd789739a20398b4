"""The dashboard app: page and assets, development sign-in, the API proxy (upstream mocked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from nexus.config import load_settings
from nexus.web import Authenticator
from services.dashboard.core import UnknownUpstreamError, resolve
from services.dashboard.main import build, dev_sign_in_enabled

SECRET = "a-real-secret-for-production-use-0123456789"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>NexusTrade</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    return tmp_path


def upstream(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/alerts/stream":
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=httpx.ByteStream(b'event: alert\ndata: {"a": 1}\n\n'),
        )
    return httpx.Response(
        201 if request.method == "POST" else 200,
        headers={"content-type": "application/json", "location": "/x", "set-cookie": "no=1"},
        json={
            "url": str(request.url),
            "method": request.method,
            "auth": request.headers.get("authorization"),
            "cookie": request.headers.get("cookie"),
            "body": request.content.decode(),
        },
    )


async def client_for(
    dist: Path, env: dict[str, str] | None = None, transport: httpx.BaseTransport | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(env or {})
    app, proxy_client = build(settings, dist)
    proxy_client._transport = transport or httpx.MockTransport(upstream)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dash"
    ) as http:
        yield http


@pytest.fixture
async def http(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(dist):
        yield c


async def test_page_and_hashed_assets_are_served_with_their_cache_rules(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/")
    assert page.status_code == 200 and "NexusTrade" in page.text
    assert page.headers["cache-control"] == "no-cache"
    asset = await http.get("/assets/index-abc.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert "javascript" in asset.headers["content-type"]
    missing = await http.get("/assets/nope.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_an_unbuilt_page_answers_503_saying_how_to_build_it(tmp_path: Path) -> None:
    async for http in client_for(tmp_path):
        answer = await http.get("/")
        assert answer.status_code == 503 and "make dashboard" in answer.json()["detail"]


async def test_development_sign_in_issues_a_token_for_the_role_asked(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post("/dev/token", json={"subject": "alice", "role": "compliance"})
    assert answer.status_code == 201
    body = answer.json()
    principal = Authenticator(load_settings({})).authenticate(f"Bearer {body['token']}")
    assert principal.subject == "alice" and set(principal.roles) == {"compliance"}
    config = (await http.get("/config.json")).json()
    assert config["dev_sign_in"] is True and "surveillance" in config["services"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"subject": "alice", "role": "service"}, "role"), ({"role": "admin"}, "subject")],
)
async def test_development_sign_in_refuses_machine_roles_and_missing_fields(
    http: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    answer = await http.post("/dev/token", json=body)
    assert answer.status_code == 422
    assert field in answer.text


async def test_development_sign_in_is_off_with_a_configured_secret(dist: Path) -> None:
    env = {"NEXUS_JWT_SECRET": SECRET}
    assert not dev_sign_in_enabled(load_settings(env))
    async for http in client_for(dist, env):
        answer = await http.post("/dev/token", json={"subject": "alice", "role": "admin"})
        assert answer.status_code == 404
        assert (await http.get("/config.json")).json()["dev_sign_in"] is False


async def test_proxy_forwards_method_path_query_body_and_token_but_not_cookies(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post(
        "/api/surveillance/alerts/A1/status?x=1",
        json={"status": "DISMISSED"},
        headers={"authorization": "Bearer t0k", "cookie": "session=secret"},
    )
    assert answer.status_code == 201
    seen = answer.json()
    assert seen["url"] == "http://127.0.0.1:8106/alerts/A1/status?x=1"
    assert seen["method"] == "POST" and seen["auth"] == "Bearer t0k"
    assert seen["cookie"] is None and '"DISMISSED"' in seen["body"]
    assert answer.headers["location"] == "/x" and "set-cookie" not in answer.headers


async def test_proxy_streams_server_sent_events(http: httpx.AsyncClient) -> None:
    answer = await http.get("/api/surveillance/alerts/stream")
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert b'data: {"a": 1}' in answer.content


@pytest.mark.parametrize("path", ["/api/venues/x", "/api/nope/alerts"])
async def test_proxy_refuses_unknown_services(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code in (404, 422), answer.text


async def test_proxy_answers_503_when_the_service_is_down(dist: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async for http in client_for(dist, transport=httpx.MockTransport(down)):
        answer = await http.get("/api/risk/halts")
        assert answer.status_code == 503
        assert "risk" in answer.json()["detail"] and answer.headers["retry-after"] == "2"


async def test_proxy_refuses_an_oversized_body(http: httpx.AsyncClient) -> None:
    answer = await http.put("/api/surveillance/thresholds/spoofing", content=b"x" * (1 << 20 + 1))
    assert answer.status_code == 413


def test_resolve_keeps_the_query_and_normalises_slashes() -> None:
    target = resolve("analytics", "users//U1/var", "method=historical")
    assert (target.service, target.path) == ("analytics", "/users/U1/var?method=historical")
    with pytest.raises(UnknownUpstreamError, match="one of"):
        resolve("venues", "x")
    with pytest.raises(UnknownUpstreamError, match="segments"):
        resolve("risk", "a/../halts")
    with pytest.raises(UnknownUpstreamError):
        resolve("risk", "a\x00b")
    with pytest.raises(UnknownUpstreamError):
        resolve("risk", "x" * 600)
