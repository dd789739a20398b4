"""``@endpoint(body=X)`` decodes the request body once, before the responder runs, and hands
it over as the ``body`` keyword; every bad body is a 4xx problem, never a 500."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import falcon.asgi
import falcon.testing
import msgspec
import pytest

from nexus.money import Fixed
from nexus.web import RequestBody, create_app, endpoint


class NewOrder(RequestBody):
    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=12)]
    side: Literal["BUY", "SELL"]
    quantity: Annotated[int, msgspec.Meta(gt=0)]
    price: Fixed | None = None


class Orders:
    """Records what each responder call received."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    @endpoint(public=True, body=NewOrder, status=201)
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: NewOrder
    ) -> None:
        """Take an order."""
        self.seen.append(("", body))
        resp.status = falcon.HTTP_201
        resp.media = {"symbol": body.symbol, "quantity": body.quantity}

    @endpoint(roles={"trader"}, body=NewOrder)
    async def on_put_item(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        order_id: str,
        *,
        body: NewOrder,
    ) -> None:
        """Replace an order (authenticated)."""
        self.seen.append((order_id, body))
        resp.media = {"order_id": order_id}


@pytest.fixture
def orders() -> Orders:
    return Orders()


@pytest.fixture
def client(orders: Orders) -> falcon.testing.TestClient:
    app = create_app("t", [("/orders", orders), ("/orders/{order_id}", orders, "item")])
    return falcon.testing.TestClient(app)


GOOD = {"symbol": "AAPL", "side": "BUY", "quantity": 5, "price": "101.25"}


def _post(client: falcon.testing.TestClient, body: bytes, **headers: str) -> Any:
    return client.simulate_post(
        "/orders", body=body, headers={"Content-Type": "application/json", **headers}
    )


def test_a_good_body_reaches_the_responder_decoded_into_the_declared_struct(
    client: falcon.testing.TestClient, orders: Orders
) -> None:
    resp = client.simulate_post("/orders", json=GOOD)
    assert resp.status_code == 201
    assert resp.json == {"symbol": "AAPL", "quantity": 5}
    [(_, body)] = orders.seen
    assert isinstance(body, NewOrder)
    assert body == NewOrder(symbol="AAPL", side="BUY", quantity=5, price=Fixed("101.25"))


def test_path_parameters_are_passed_beside_the_body(
    client: falcon.testing.TestClient, orders: Orders
) -> None:
    app = client.app
    token = app.authenticator.issue_token("u1", ["trader"])
    resp = client.simulate_put(
        "/orders/o-7", json=GOOD, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 200 and resp.json == {"order_id": "o-7"}
    assert [(oid, b.symbol) for oid, b in orders.seen] == [("o-7", "AAPL")]


@pytest.mark.parametrize(
    ("raw", "status", "slug"),
    [
        (b'{"symbol": "AAPL", ', 400, "malformed-request"),
        (b"not json", 400, "malformed-request"),
        (b"", 400, "malformed-request"),
        (b"   ", 400, "malformed-request"),
    ],
    ids=["truncated", "not-json", "empty", "blank"],
)
def test_a_body_that_is_not_json_is_a_400_and_the_responder_never_runs(
    client: falcon.testing.TestClient, orders: Orders, raw: bytes, status: int, slug: str
) -> None:
    resp = _post(client, raw)
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["type"].endswith(slug)
    assert orders.seen == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"quantity": "five"}, "$.quantity", "Expected `int`, got `str`"),
        ({"quantity": 0}, "$.quantity", "Expected `int` >= 1"),
        ({"price": 101.25}, "$.price", "decimal string"),
        ({"price": "99999999999999999999"}, "$.price", "decimal string"),
        ({"side": "HOLD"}, "$.side", "Invalid enum value 'HOLD'"),
    ],
    ids=["wrong-type", "out-of-range", "number-for-money", "money-overflow", "enum"],
)
def test_a_body_breaking_the_struct_is_a_422_naming_the_field_in_the_body(
    client: falcon.testing.TestClient,
    orders: Orders,
    change: dict[str, Any],
    field: str,
    words: str,
) -> None:
    resp = _post(client, msgspec.json.encode({**GOOD, **change}))
    assert resp.status_code == 422
    [error] = resp.json["errors"]
    assert error["field"] == field and error["in"] == "body"
    assert words in error["message"]
    assert orders.seen == []


def test_a_missing_field_is_a_422_whose_message_names_it(
    client: falcon.testing.TestClient, orders: Orders
) -> None:
    body = {k: v for k, v in GOOD.items() if k != "quantity"}
    resp = _post(client, msgspec.json.encode(body))
    assert resp.status_code == 422
    [error] = resp.json["errors"]
    assert error == {
        "field": "$",
        "message": "Object missing required field `quantity`",
        "in": "body",
    }
    assert orders.seen == []


def test_an_unknown_field_is_refused_not_ignored(
    client: falcon.testing.TestClient, orders: Orders
) -> None:
    resp = _post(client, msgspec.json.encode({**GOOD, "qty": 5}))
    assert resp.status_code == 422
    assert resp.json["errors"][0]["message"] == "Object contains unknown field `qty`"
    assert orders.seen == []


def test_a_control_character_is_refused_at_the_edge(
    client: falcon.testing.TestClient, orders: Orders
) -> None:
    resp = _post(client, msgspec.json.encode({**GOOD, "symbol": "A\u0000B"}))
    assert resp.status_code == 422
    [error] = resp.json["errors"]
    assert (error["field"], error["in"]) == ("$.symbol", "body")
    assert orders.seen == []


def test_a_body_that_is_not_json_by_content_type_is_a_415(
    client: falcon.testing.TestClient, orders: Orders
) -> None:
    resp = client.simulate_post(
        "/orders", body=msgspec.json.encode(GOOD), headers={"Content-Type": "text/plain"}
    )
    assert resp.status_code == 415
    assert orders.seen == []


def test_an_oversized_body_is_a_413(client: falcon.testing.TestClient, orders: Orders) -> None:
    raw = msgspec.json.encode({**GOOD, "symbol": "A" * (1 << 20)})
    assert _post(client, raw).status_code == 413
    assert orders.seen == []


def test_authentication_comes_before_the_body(
    client: falcon.testing.TestClient, orders: Orders
) -> None:
    resp = client.simulate_put(
        "/orders/o-7", body=b"not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 401
    assert orders.seen == []


def test_the_declared_body_is_still_documented(client: falcon.testing.TestClient) -> None:
    doc = client.simulate_get("/openapi.json").json
    op = doc["paths"]["/orders"]["post"]
    assert op["operationId"] == "Orders.on_post" and op["summary"] == "Take an order."
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/NewOrder")


def test_a_responder_that_takes_no_body_parameter_is_refused_when_declared() -> None:
    with pytest.raises(TypeError, match="takes no `body` parameter"):

        class Broken:
            @endpoint(public=True, body=NewOrder)
            async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
                """Forgot the body."""

        del Broken
