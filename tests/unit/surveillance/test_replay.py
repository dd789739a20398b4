"""The market replay of an alert's window, rebuilt from normalised events."""

from __future__ import annotations

from services.surveillance.core.normalise import AMEND, BUY, CANCEL, NEW, SCALE, SELL, TRADE, Ev
from services.surveillance.core.replay import replay_window

S = 1_000_000_000
P = SCALE


def new(ts: int, oid: str, side: int, price: float, qty: int, user: str = "mm") -> Ev:
    raw = round(price * P)
    return Ev(
        NEW,
        ts,
        "ABC",
        order_id=oid,
        user_id=user,
        account_id=f"A-{user}",
        side=side,
        price=raw,
        quantity=qty * P,
        remaining=qty * P,
    )


def cancel(ts: int, oid: str, remaining: int, user: str = "mm") -> Ev:
    return Ev(CANCEL, ts, "ABC", order_id=oid, user_id=user, remaining=remaining * P)


def trade(ts: int, buy: str, sell: str, price: float, qty: int) -> Ev:
    return Ev(
        TRADE,
        ts,
        "ABC",
        trade_id=f"T{ts}",
        buy_order_id=buy,
        sell_order_id=sell,
        price=round(price * P),
        quantity=qty * P,
        side=BUY,
    )


def test_replay_rebuilds_the_book_resting_before_the_window_opens() -> None:
    events = [new(1 * S, "b1", BUY, 10.00, 100), new(2 * S, "a1", SELL, 10.02, 100)]
    out = replay_window(events, start_ns=10 * S, end_ns=12 * S, user_ids=["spoofer"], pad_ns=S)
    assert out["bbo"] == [[9 * S, 10.00, 10.02]]
    assert out["orders"] == [] and out["trades"] == []


def test_replay_draws_the_users_order_from_placement_to_cancel_and_moves_the_touch() -> None:
    events = [
        new(1 * S, "b1", BUY, 10.00, 100),
        new(2 * S, "a1", SELL, 10.02, 100),
        new(10 * S, "big", BUY, 10.01, 5_000, user="spoofer"),
        cancel(11 * S, "big", 5_000, user="spoofer"),
    ]
    out = replay_window(events, start_ns=10 * S, end_ns=11 * S, user_ids=["spoofer"], pad_ns=S)
    assert out["bbo"] == [[9 * S, 10.00, 10.02], [10 * S, 10.01, 10.02], [11 * S, 10.00, 10.02]]
    (order,) = out["orders"]
    assert order["order_id"] == "big" and order["side"] == "BUY"
    assert order["price"] == 10.01 and order["quantity"] == 5_000
    assert (order["placed_ns"], order["ended_ns"], order["outcome"]) == (
        10 * S,
        11 * S,
        "cancelled",
    )


def test_replay_marks_a_fully_traded_order_filled_and_lists_the_trade() -> None:
    events = [
        new(1 * S, "a1", SELL, 10.02, 100, user="spoofer"),
        new(10 * S, "b9", BUY, 10.02, 100, user="taker"),
        trade(10 * S, "b9", "a1", 10.02, 100),
    ]
    out = replay_window(events, start_ns=9 * S, end_ns=11 * S, user_ids=["spoofer"], pad_ns=0)
    assert out["trades"] == [[10 * S, 10.02, 100.0]]
    assert out["orders"][0]["outcome"] == "filled" and out["orders"][0]["ended_ns"] == 10 * S
    assert out["bbo"][-1] == [10 * S, None, None]


def test_replay_follows_an_amended_price_and_matches_accounts_as_well_as_users() -> None:
    events = [
        new(10 * S, "o1", SELL, 10.05, 100, user="other"),
        Ev(
            AMEND,
            11 * S,
            "ABC",
            order_id="o1",
            user_id="other",
            side=SELL,
            price=int(10.04 * P),
            quantity=100 * P,
            remaining=100 * P,
        ),
    ]
    out = replay_window(
        events, start_ns=10 * S, end_ns=12 * S, user_ids=[], account_ids=["A-other"], pad_ns=0
    )
    assert out["orders"][0]["price"] == 10.04
    assert [row[2] for row in out["bbo"]] == [None, 10.05, 10.04]


def test_replay_stops_at_the_end_of_the_padded_window() -> None:
    events = [new(10 * S, "b1", BUY, 10.0, 1), new(30 * S, "b2", BUY, 11.0, 1)]
    out = replay_window(events, start_ns=10 * S, end_ns=11 * S, user_ids=[], pad_ns=S)
    assert out["end_ns"] == 12 * S and all(row[0] <= 12 * S for row in out["bbo"])
    assert out["bbo"][-1][1] == 10.0
