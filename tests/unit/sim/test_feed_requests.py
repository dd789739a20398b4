"""The simulator feed turns each action into the matching service's REST call."""

from __future__ import annotations

from nexus.money import Fixed
from nexus.sim.feed import request_of
from nexus.sim.sink import Action

P = Fixed("101.25").raw
Q = Fixed("300").raw


def action(op: str, price: int = P, **kw: object) -> Action:
    return Action(
        op=op,
        ts_event=1,
        symbol="SIM0001",
        order_id="W0-O7",
        user_id="U1",  # type: ignore[arg-type]
        account_id="A1",
        side="BUY",
        price=price,
        quantity=Q,
        **kw,
    )  # type: ignore[arg-type]


def test_limit_submit_posts_the_order_with_decimal_strings() -> None:
    method, path, body = request_of(action("submit", time_in_force="IOC"))
    assert (method, path) == ("POST", "/orders")
    assert body == {
        "symbol": "SIM0001",
        "side": "BUY",
        "quantity": "300",
        "order_type": "LIMIT",
        "time_in_force": "IOC",
        "order_id": "W0-O7",
        "user_id": "U1",
        "account_id": "A1",
        "price": "101.25",
    }


def test_priceless_submit_is_a_market_order_without_price() -> None:
    _, _, body = request_of(action("submit", price=0))
    assert body is not None
    assert body["order_type"] == "MARKET"
    assert "price" not in body


def test_amend_patches_price_and_quantity() -> None:
    assert request_of(action("amend")) == (
        "PATCH",
        "/orders/W0-O7",
        {"price": "101.25", "quantity": "300"},
    )


def test_cancel_deletes_the_order() -> None:
    assert request_of(action("cancel")) == ("DELETE", "/orders/W0-O7", None)
