"""The example service through a real uvicorn server on loopback: errors, auth, paging, ops."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from nexus.web import PROBLEM_BASE, ServerThread, create_app, running_server
from tests.integration.chassis.example_app import SETTINGS, Store, build_app

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def example() -> Iterator[tuple[str, Any]]:
    app = build_app(Store())
    with ServerThread(app) as server:
        yield server.url, app


@pytest.fixture
async def http(example: tuple[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=example[0]) as client:
        yield client


def bearer(example: tuple[str, Any], subject: str, *roles: str, **kwargs: Any) -> dict[str, str]:
    token = example[1].authenticator.issue_token(subject, roles, **kwargs)
    return {"Authorization": f"Bearer {token}"}


def order(user_id: str = "u1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_order_id": overrides.pop("client_order_id", None) or f"c-{id(overrides)}",
        "user_id": user_id,
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 10,
        "price": "101.25",
    }
    body.update(overrides)
    return body


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_BASE + slug
    assert problem["status"] == status
    assert problem["title"]
    assert problem["correlation_id"] == response.headers["X-Request-ID"]
    return problem


# --- error classes ---------------------------------------------------------------------


async def test_malformed_json_body_is_400(http: httpx.AsyncClient, example: Any) -> None:
    response = await http.post(
        "/orders",
        content=b'{"quantity": ',
        headers={**bearer(example, "u1", "trader"), "Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed-request")


async def test_empty_body_is_400(http: httpx.AsyncClient, example: Any) -> None:
    response = await http.post("/orders", content=b"", headers=bearer(example, "u1", "trader"))
    assert_problem(response, 400, "malformed-request")


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"quantity": "ten"}, "$.quantity", "Expected `int`"),
        ({"quantity": 0}, "$.quantity", ">= 1"),
        ({"quantity": 10_000_000}, "$.quantity", "<= 1000000"),
        ({"price": 101.25}, "$.price", "decimal string"),
        ({"price": "abc"}, "$.price", "decimal string"),
        ({"side": "HOLD"}, "$.side", "Invalid enum value"),
        ({"symbol": "aapl"}, "$.symbol", "matching regex"),
        ({"leverage": 10}, "$", "unknown field `leverage`"),
    ],
)
async def test_schema_violations_are_422_naming_the_field(
    http: httpx.AsyncClient, example: Any, overrides: dict[str, Any], field: str, fragment: str
) -> None:
    response = await http.post(
        "/orders", json=order(**overrides), headers=bearer(example, "u1", "trader")
    )
    problem = assert_problem(response, 422, "validation-failed")
    [error] = problem["errors"]
    assert error["field"] == field
    assert fragment in error["message"]
    assert error["in"] == "body"


async def test_missing_field_is_422(http: httpx.AsyncClient, example: Any) -> None:
    body = order()
    del body["price"]
    response = await http.post("/orders", json=body, headers=bearer(example, "u1", "trader"))
    problem = assert_problem(response, 422, "validation-failed")
    assert "missing required field `price`" in problem["errors"][0]["message"]


async def test_json_array_instead_of_object_is_422(http: httpx.AsyncClient, example: Any) -> None:
    response = await http.post("/orders", json=[1], headers=bearer(example, "u1", "trader"))
    assert_problem(response, 422, "validation-failed")


async def test_non_json_content_type_is_415(http: httpx.AsyncClient, example: Any) -> None:
    response = await http.post(
        "/orders",
        content=b"a=b",
        headers={**bearer(example, "u1", "trader"), "Content-Type": "text/plain"},
    )
    assert_problem(response, 415, "unsupported-media-type")


async def test_bad_query_parameter_is_422_in_query(http: httpx.AsyncClient, example: Any) -> None:
    response = await http.get(
        "/orders", params={"symbol": "lower"}, headers=bearer(example, "c", "compliance")
    )
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"][0] == {
        "field": "$.symbol",
        "message": problem["errors"][0]["message"],
        "in": "query",
    }


@pytest.mark.parametrize("limit", ["0", "501", "ten"])
async def test_out_of_range_limit_is_422(http: httpx.AsyncClient, example: Any, limit: str) -> None:
    response = await http.get(
        "/orders", params={"limit": limit}, headers=bearer(example, "c", "compliance")
    )
    assert_problem(response, 422, "validation-failed")


@pytest.mark.parametrize("cursor", ["!!!", "bm90LWpzb24", "WyJhIl0"])
async def test_bad_cursor_is_400(http: httpx.AsyncClient, example: Any, cursor: str) -> None:
    response = await http.get(
        "/orders", params={"cursor": cursor}, headers=bearer(example, "c", "compliance")
    )
    assert_problem(response, 400, "malformed-request")


async def test_unknown_entity_is_404(http: httpx.AsyncClient, example: Any) -> None:
    response = await http.get("/orders/999999", headers=bearer(example, "c", "compliance"))
    problem = assert_problem(response, 404, "not-found")
    assert problem["detail"] == "order 999999 not found"


async def test_unknown_route_is_404(http: httpx.AsyncClient) -> None:
    assert_problem(await http.get("/no/such/route"), 404, "not-found")


async def test_unsupported_method_is_405_with_allow(http: httpx.AsyncClient) -> None:
    response = await http.delete("/orders")
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]


async def test_duplicate_client_order_id_is_409(http: httpx.AsyncClient, example: Any) -> None:
    headers = bearer(example, "u1", "trader")
    body = order(client_order_id="dup-1")
    assert (await http.post("/orders", json=body, headers=headers)).status_code == 201
    response = await http.post("/orders", json=body, headers=headers)
    assert_problem(response, 409, "conflict")


async def test_unexpected_exception_is_500_without_internals_and_logged(
    http: httpx.AsyncClient, example: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="nexus.web.errors"):
        response = await http.get(
            "/boom", headers={**bearer(example, "root", "admin"), "X-Request-ID": "req-boom-1"}
        )
    problem = assert_problem(response, 500, "internal-error")
    assert problem["correlation_id"] == "req-boom-1"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    [record] = [r for r in caplog.records if r.name == "nexus.web.errors"]
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])
    assert getattr(record, "request_id", None) == "req-boom-1"


async def test_request_id_is_echoed_and_unsafe_ids_are_replaced(http: httpx.AsyncClient) -> None:
    kept = await http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["X-Request-ID"] == "abc-123"
    replaced = await http.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(replaced.headers["X-Request-ID"]) == 32


# --- auth ------------------------------------------------------------------------------


async def test_missing_token_is_401_with_bearer_challenge(http: httpx.AsyncClient) -> None:
    response = await http.get("/orders")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="nexus"')


async def test_bad_signature_is_401_invalid_token(http: httpx.AsyncClient, example: Any) -> None:
    token = bearer(example, "u1", "admin")["Authorization"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await http.get("/orders", headers={"Authorization": tampered})
    assert_problem(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_expired_token_is_401(http: httpx.AsyncClient, example: Any) -> None:
    headers = bearer(example, "u1", "trader", ttl_seconds=-60)
    response = await http.get("/orders", headers=headers)
    problem = assert_problem(response, 401, "unauthorized")
    assert "expired" in problem["detail"]


async def test_wrong_role_is_403(http: httpx.AsyncClient, example: Any) -> None:
    response = await http.get("/audit", headers=bearer(example, "u1", "trader"))
    assert_problem(response, 403, "forbidden")


async def test_api_key_with_role_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.get("/audit", headers={"Authorization": "Bearer key-compliance-1"})
    assert response.status_code == 200
    assert response.json() == {"status": "clean"}


async def test_trader_reading_other_users_order_is_403(
    http: httpx.AsyncClient, example: Any
) -> None:
    created = await http.post(
        "/orders", json=order("owner-1"), headers=bearer(example, "owner-1", "trader")
    )
    order_id = created.json()["id"]
    own = await http.get(f"/orders/{order_id}", headers=bearer(example, "owner-1", "trader"))
    assert own.status_code == 200
    other = await http.get(f"/orders/{order_id}", headers=bearer(example, "intruder", "trader"))
    assert_problem(other, 403, "forbidden")
    compliance = await http.get(f"/orders/{order_id}", headers=bearer(example, "c", "compliance"))
    assert compliance.status_code == 200


async def test_trader_listing_other_users_orders_is_403_and_default_is_own(
    http: httpx.AsyncClient, example: Any
) -> None:
    await http.post(
        "/orders", json=order("lister-a"), headers=bearer(example, "lister-a", "trader")
    )
    await http.post(
        "/orders", json=order("lister-b"), headers=bearer(example, "lister-b", "trader")
    )
    headers = bearer(example, "lister-a", "trader")
    denied = await http.get("/orders", params={"user_id": "lister-b"}, headers=headers)
    assert_problem(denied, 403, "forbidden")
    own = await http.get("/orders", params={"limit": 500}, headers=headers)
    assert {item["user_id"] for item in own.json()["items"]} == {"lister-a"}


async def test_trader_creating_order_for_other_user_is_403(
    http: httpx.AsyncClient, example: Any
) -> None:
    response = await http.post(
        "/orders", json=order("victim"), headers=bearer(example, "attacker", "trader")
    )
    assert_problem(response, 403, "forbidden")


# --- pagination ------------------------------------------------------------------------


async def test_paging_while_inserting_yields_no_duplicates_or_skips(
    http: httpx.AsyncClient, example: Any
) -> None:
    trader = bearer(example, "pager", "trader")
    for i in range(23):
        body = order("pager", client_order_id=f"page-{i}", symbol="MSFT")
        assert (await http.post("/orders", json=body, headers=trader)).status_code == 201
    listing = await http.get("/orders", params={"limit": 500}, headers=trader)
    before = [item["id"] for item in listing.json()["items"]]

    seen: list[int] = []
    cursor: str | None = None
    inserted = 0
    while True:
        params: dict[str, Any] = {"limit": 5, "symbol": "MSFT"}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/orders", params=params, headers=trader)).json()
        seen.extend(item["id"] for item in page["items"])
        body = order("pager", client_order_id=f"late-{inserted}", symbol="MSFT")
        await http.post("/orders", json=body, headers=trader)
        inserted += 1
        cursor = page["next_cursor"]
        if cursor is None or inserted > 50:
            break
    assert len(seen) == len(set(seen))
    assert set(before) <= set(seen)
    assert seen == sorted(seen)


# --- operations ------------------------------------------------------------------------


async def test_metrics_count_requests_per_route_template(
    http: httpx.AsyncClient, example: Any
) -> None:
    await http.get("/orders/424242", headers=bearer(example, "c", "compliance"))
    example[1].metrics.consumer_lag.labels("orders.events", "0", "surveillance").set(7)
    text = (await http.get("/metrics")).text
    assert (
        'nexus_http_requests_total{method="GET",route="/orders/{order_id:int}",status="404"}'
        in text
    )
    assert "nexus_http_request_duration_seconds_bucket" in text
    assert 'nexus_consumer_lag{group="surveillance",partition="0",topic="orders.events"} 7.0' in (
        text
    )
    assert "nexus_circuit_breaker_state" in text


async def test_healthz_and_readyz_answer_ok(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok", "service": "example"}
    assert (await http.get("/readyz")).json()["status"] == "ready"


async def test_readyz_with_failing_dependency_is_503_and_lifespan_hooks_run() -> None:
    events: list[str] = []

    async def database_down() -> None:
        raise ConnectionRefusedError("postgres")

    async def fine() -> None:
        return None

    async def started() -> None:
        events.append("start")

    async def stopped() -> None:
        events.append("stop")

    app = create_app(
        "probe",
        [],
        SETTINGS,
        readiness={"postgres": database_down, "redis": fine},
        on_startup=[started],
        on_shutdown=[stopped],
    )
    async with running_server(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/readyz")
        assert events == ["start"]
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "postgres": "failed: ConnectionRefusedError",
        "redis": "ok",
    }
    assert events == ["start", "stop"]


async def test_openapi_json_is_served(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert "/orders" in document["paths"]
