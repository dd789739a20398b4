"""MatchingEngine behaviour and events, run over the compiled book and the reference book."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nexus.errors import ConflictError, NotFoundError, ValidationError
from nexus.events import (
    ORDER_CODEC,
    TRADE_CODEC,
    Halt,
    Level,
    OrderAmend,
    OrderCancel,
    OrderExpire,
    OrderFill,
    OrderNew,
    OrderReject,
    Trade,
)
from nexus.halts import HaltBook
from nexus.money import Fixed
from services.matching.core import (
    AmendOrder,
    CancelOrder,
    DuplicateOrderId,
    EngineEvent,
    InvalidOrder,
    MatchingEngine,
    OrderNotOpen,
    SubmitOrder,
    UnknownOrder,
    event_topic,
)

P = 1_000_000_000
SYM = "ACME"


@pytest.fixture
def engine(book_factory: Callable[[], Any]) -> MatchingEngine:
    return MatchingEngine(book_factory=book_factory)


def order(oid: str, side: str, price: int, qty: int, **kw: Any) -> SubmitOrder:
    fields: dict[str, Any] = {
        "user_id": f"user-{oid}",
        "account_id": f"acct-{oid}",
        "symbol": SYM,
        "ts_event": 1_700_000_000_000_000_000,
    }
    fields.update(kw)
    return SubmitOrder(order_id=oid, side=side, price=price, quantity=qty, **fields)  # type: ignore[arg-type]


def kinds(events: list[EngineEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def assert_valid_on_the_wire(events: list[EngineEvent]) -> None:
    """Every event survives its topic's codec (decoding validates every constraint)."""
    for event in events:
        codec = TRADE_CODEC if isinstance(event, Trade) else ORDER_CODEC
        assert codec.decode(codec.encode(event)) == event


def test_resting_limit_emits_order_new_with_command_time_and_first_id(
    engine: MatchingEngine,
) -> None:
    events = engine.submit(order("o1", "BUY", 100 * P, 5 * P, client_order_id="c-1"))
    assert events == [
        OrderNew(
            event_id="NEXUS:ACME:1",
            ts_event=1_700_000_000_000_000_000,
            symbol=SYM,
            order_id="o1",
            user_id="user-o1",
            account_id="acct-o1",
            venue="NEXUS",
            side="BUY",
            order_type="LIMIT",
            time_in_force="GTC",
            price=100 * P,
            quantity=5 * P,
            post_only=False,
            client_order_id="c-1",
        )
    ]
    status = engine.order_status("o1")
    assert (status.status, status.leaves_quantity, status.filled_quantity) == ("NEW", 5 * P, 0)


def test_crossing_order_emits_trade_and_both_fills(engine: MatchingEngine) -> None:
    engine.submit(order("s1", "SELL", 100 * P, 3 * P))
    events = engine.submit(order("b1", "BUY", 101 * P, 5 * P, ts_event=42))
    assert kinds(events) == ["OrderNew", "Trade", "OrderFill", "OrderFill"]
    trade = events[1]
    assert trade == Trade(
        event_id="NEXUS:ACME:3",
        ts_event=42,
        symbol=SYM,
        venue="NEXUS",
        price=100 * P,
        quantity=3 * P,
        aggressor_side="BUY",
        buy_order_id="b1",
        sell_order_id="s1",
        buyer_user_id="user-b1",
        buyer_account_id="acct-b1",
        seller_user_id="user-s1",
        seller_account_id="acct-s1",
    )
    maker_fill, taker_fill = events[2], events[3]
    assert isinstance(maker_fill, OrderFill) and isinstance(taker_fill, OrderFill)
    assert (maker_fill.order_id, maker_fill.aggressor, maker_fill.leaves_quantity) == (
        "s1",
        False,
        0,
    )
    assert (taker_fill.order_id, taker_fill.aggressor, taker_fill.leaves_quantity) == (
        "b1",
        True,
        2 * P,
    )
    assert maker_fill.trade_id == taker_fill.trade_id == "NEXUS:ACME:3"
    assert engine.order_status("s1").status == "FILLED"
    assert engine.order_status("b1").status == "PARTIALLY_FILLED"
    assert engine.snapshot(SYM).bids == [Level(101 * P, 2 * P, 1)]
    assert_valid_on_the_wire(events)


def test_event_ids_are_deterministic_and_per_symbol(book_factory: Callable[[], Any]) -> None:
    def run() -> list[bytes]:
        engine = MatchingEngine(venue="V1", book_factory=book_factory)
        out = []
        for cmd in (
            order("a", "SELL", 100 * P, P),
            order("b", "SELL", 100 * P, P, symbol="OTHER"),
            order("c", "BUY", 100 * P, 2 * P),
        ):
            out += [ORDER_CODEC.encode(e) for e in engine.submit(cmd)]
        return out

    first, second = run(), run()
    assert first == second
    engine = MatchingEngine(venue="V1", book_factory=book_factory)
    engine.submit(order("a", "SELL", 100 * P, P))
    assert engine.submit(order("b", "SELL", 100 * P, P, symbol="OTHER"))[0].event_id == (
        "V1:OTHER:1"
    )
    assert [e.event_id for e in engine.submit(order("c", "BUY", 100 * P, 2 * P))] == [
        "V1:ACME:2",
        "V1:ACME:3",
        "V1:ACME:4",
        "V1:ACME:5",
    ]


def test_market_order_on_empty_book_is_accepted_then_expires(engine: MatchingEngine) -> None:
    events = engine.submit(order("m1", "BUY", 0, 5 * P, order_type="MARKET"))
    assert kinds(events) == ["OrderNew", "OrderExpire"]
    new, expire = events
    assert isinstance(new, OrderNew) and new.time_in_force == "IOC"
    assert isinstance(expire, OrderExpire) and expire.expired_quantity == 5 * P
    assert engine.order_status("m1").status == "EXPIRED"
    assert_valid_on_the_wire(events)


def test_ioc_fills_up_to_quantity_at_price_or_better_else_nothing(engine: MatchingEngine) -> None:
    engine.submit(order("s1", "SELL", 100 * P, 2 * P))
    engine.submit(order("s2", "SELL", 102 * P, 2 * P))
    events = engine.submit(order("r1", "BUY", 101 * P, 3 * P, time_in_force="IOC"))
    assert kinds(events) == ["OrderNew", "Trade", "OrderFill", "OrderFill", "OrderExpire"]
    assert events[-1] == OrderExpire(
        event_id="NEXUS:ACME:7",
        ts_event=events[0].ts_event,
        symbol=SYM,
        order_id="r1",
        user_id="user-r1",
        account_id="acct-r1",
        side="BUY",
        price=101 * P,
        expired_quantity=P,
    )
    nothing = engine.submit(order("r2", "BUY", 101 * P, 3 * P, time_in_force="IOC"))
    assert kinds(nothing) == ["OrderNew", "OrderExpire"]
    assert engine.snapshot(SYM).asks == [Level(102 * P, 2 * P, 1)]


def test_fok_that_cannot_fill_is_rejected_and_book_untouched(engine: MatchingEngine) -> None:
    engine.submit(order("s1", "SELL", 100 * P, 2 * P))
    events = engine.submit(order("f1", "BUY", 100 * P, 3 * P, time_in_force="FOK"))
    assert kinds(events) == ["OrderReject"]
    reject = events[0]
    assert isinstance(reject, OrderReject)
    assert reject.reason == "fill-or-kill quantity not available"
    assert engine.order_status("f1").status == "REJECTED"
    assert engine.snapshot(SYM).asks == [Level(100 * P, 2 * P, 1)]
    filled = engine.submit(order("f2", "BUY", 100 * P, 2 * P, time_in_force="FOK"))
    assert kinds(filled) == ["OrderNew", "Trade", "OrderFill", "OrderFill"]


def test_post_only_that_would_cross_is_rejected(engine: MatchingEngine) -> None:
    engine.submit(order("s1", "SELL", 100 * P, 2 * P))
    events = engine.submit(order("p1", "BUY", 100 * P, P, post_only=True))
    assert isinstance(events[0], OrderReject)
    assert events[0].reason == "post-only order would cross"
    assert kinds(engine.submit(order("p2", "BUY", 99 * P, P, post_only=True))) == ["OrderNew"]


def test_amend_size_down_keeps_priority(engine: MatchingEngine) -> None:
    engine.submit(order("s1", "SELL", 100 * P, 5 * P))
    engine.submit(order("s2", "SELL", 100 * P, 5 * P))
    events = engine.amend(AmendOrder(order_id="s1", quantity=2 * P, ts_event=7))
    amend = events[0]
    assert isinstance(amend, OrderAmend)
    assert (amend.keeps_priority, amend.old_quantity, amend.quantity) == (True, 5 * P, 2 * P)
    fills = engine.submit(order("b1", "BUY", 100 * P, P))
    assert fills[1].sell_order_id == "s1"  # type: ignore[union-attr]


def test_amend_price_or_size_up_loses_priority(engine: MatchingEngine) -> None:
    engine.submit(order("s1", "SELL", 100 * P, 5 * P))
    engine.submit(order("s2", "SELL", 100 * P, 5 * P))
    amend = engine.amend(AmendOrder(order_id="s1", quantity=6 * P, ts_event=7))[0]
    assert isinstance(amend, OrderAmend) and not amend.keeps_priority
    fills = engine.submit(order("b1", "BUY", 100 * P, P))
    assert fills[1].sell_order_id == "s2"  # type: ignore[union-attr]
    assert engine.order_status("s1").quantity == 6 * P


def test_amend_to_crossing_price_trades_as_aggressor(engine: MatchingEngine) -> None:
    engine.submit(order("b1", "BUY", 99 * P, 2 * P))
    engine.submit(order("s1", "SELL", 101 * P, 3 * P))
    events = engine.amend(AmendOrder(order_id="s1", price=Fixed("99"), ts_event=9))
    assert kinds(events) == ["OrderAmend", "Trade", "OrderFill", "OrderFill"]
    assert events[1].aggressor_side == "SELL"  # type: ignore[union-attr]
    assert engine.order_status("s1").leaves_quantity == P
    assert engine.best_bid_ask(SYM) == (0, 99 * P)
    assert_valid_on_the_wire(events)


def test_cancel_emits_order_cancel_and_closes_order(engine: MatchingEngine) -> None:
    engine.submit(order("b1", "BUY", 99 * P, 2 * P))
    events = engine.cancel(CancelOrder(order_id="b1", ts_event=11))
    cancel = events[0]
    assert isinstance(cancel, OrderCancel)
    assert (cancel.cancelled_quantity, cancel.reason, cancel.ts_event) == (2 * P, "user", 11)
    assert engine.snapshot(SYM).bids == []
    with pytest.raises(OrderNotOpen):
        engine.cancel(CancelOrder(order_id="b1", ts_event=12))
    with pytest.raises(UnknownOrder):
        engine.cancel(CancelOrder(order_id="nope", ts_event=12))
    with pytest.raises(OrderNotOpen):
        engine.amend(AmendOrder(order_id="b1", price=98 * P, ts_event=12))


def test_stp_cancel_newest_cancels_the_incoming_order(book_factory: Callable[[], Any]) -> None:
    engine = MatchingEngine(book_factory=book_factory, default_stp="CANCEL_NEWEST")
    engine.submit(order("s1", "SELL", 100 * P, 2 * P, account_id="A"))
    events = engine.submit(order("b1", "BUY", 100 * P, 2 * P, account_id="A"))
    assert kinds(events) == ["OrderNew", "OrderCancel"]
    assert events[1].reason == "self-trade prevention"  # type: ignore[union-attr]
    assert engine.order_status("s1").status == "NEW"
    assert engine.order_status("b1").status == "CANCELLED"


def test_stp_cancel_oldest_cancels_the_resting_order(book_factory: Callable[[], Any]) -> None:
    engine = MatchingEngine(book_factory=book_factory, account_stp={"A": "CANCEL_OLDEST"})
    engine.submit(order("s1", "SELL", 100 * P, 2 * P, account_id="A"))
    engine.submit(order("s2", "SELL", 100 * P, 2 * P, account_id="B"))
    events = engine.submit(order("b1", "BUY", 100 * P, 2 * P, account_id="A"))
    assert kinds(events) == ["OrderNew", "OrderCancel", "Trade", "OrderFill", "OrderFill"]
    assert events[1].order_id == "s1"  # type: ignore[union-attr]
    assert events[2].sell_order_id == "s2"  # type: ignore[union-attr]
    assert engine.order_status("s1").status == "CANCELLED"


def test_stp_off_by_order_overrides_account_mode(book_factory: Callable[[], Any]) -> None:
    engine = MatchingEngine(book_factory=book_factory)
    engine.set_account_stp("A", "CANCEL_NEWEST")
    engine.submit(order("s1", "SELL", 100 * P, 2 * P, account_id="A"))
    events = engine.submit(order("b1", "BUY", 100 * P, 2 * P, account_id="A", stp="OFF"))
    assert kinds(events) == ["OrderNew", "Trade", "OrderFill", "OrderFill"]


def test_halted_user_is_rejected_with_reason(book_factory: Callable[[], Any]) -> None:
    halts = HaltBook()
    engine = MatchingEngine(book_factory=book_factory, halts=halts)
    engine.submit(order("b0", "BUY", 99 * P, P, user_id="bad"))
    halts.apply(
        Halt(
            event_id="h1", ts_event=1, scope="USER", target="bad", action="HALT", reason="spoofing"
        )
    )
    events = engine.submit(order("b1", "BUY", 99 * P, P, user_id="bad"))
    assert kinds(events) == ["OrderReject"]
    assert events[0].reason == "user bad halted: spoofing"  # type: ignore[union-attr]
    assert engine.order_status("b1").status == "REJECTED"
    amend = engine.amend(AmendOrder(order_id="b0", quantity=2 * P, ts_event=2))
    assert isinstance(amend[0], OrderReject)
    assert kinds(engine.submit(order("g1", "BUY", 99 * P, P, user_id="good"))) == ["OrderNew"]
    assert kinds(engine.cancel(CancelOrder(order_id="b0", ts_event=3))) == ["OrderCancel"]
    halts.apply(
        Halt(event_id="h2", ts_event=4, scope="USER", target="bad", action="RESUME", reason="ok")
    )
    assert kinds(engine.submit(order("b2", "BUY", 99 * P, P, user_id="bad"))) == ["OrderNew"]
    with pytest.raises(DuplicateOrderId):
        engine.submit(order("b1", "BUY", 99 * P, P, user_id="bad"))


def test_halted_symbol_via_callable_is_rejected(book_factory: Callable[[], Any]) -> None:
    def checker(user_id: str, symbol: str) -> str | None:
        return "circuit breaker" if symbol == "HALTED" else None

    engine = MatchingEngine(book_factory=book_factory, halts=checker)
    events = engine.submit(order("x", "BUY", P, P, symbol="HALTED"))
    assert isinstance(events[0], OrderReject) and events[0].reason == "circuit breaker"
    assert_valid_on_the_wire(events)
    assert kinds(engine.submit(order("y", "BUY", P, P))) == ["OrderNew"]


def test_halt_expiry_is_judged_at_the_command_event_time(
    book_factory: Callable[[], Any],
) -> None:
    halts = HaltBook()
    halts.apply(
        Halt(
            event_id="h1",
            ts_event=1,
            scope="SYMBOL",
            target=SYM,
            action="HALT",
            reason="volatility",
            expires_at_ns=100,
        )
    )
    engine = MatchingEngine(book_factory=book_factory, halts=halts)
    early = engine.submit(order("e1", "BUY", P, P, ts_event=99))
    assert isinstance(early[0], OrderReject)
    assert early[0].reason == "symbol ACME halted: volatility"
    assert kinds(engine.submit(order("e2", "BUY", P, P, ts_event=100))) == ["OrderNew"]


def test_is_halted_object_is_a_halt_checker(book_factory: Callable[[], Any]) -> None:
    class Checker:
        def is_halted(self, user_id: str, symbol: str) -> str | None:
            return "kill switch" if user_id == "user-x" else None

    engine = MatchingEngine(book_factory=book_factory, halts=Checker())
    assert kinds(engine.submit(order("x", "BUY", P, P))) == ["OrderReject"]
    assert kinds(engine.submit(order("y", "BUY", P, P))) == ["OrderNew"]


@pytest.mark.parametrize(
    "changes",
    [
        {"quantity": 0},
        {"price": 0},
        {"order_type": "MARKET"},
        {"order_type": "STOP"},
        {"side": "SHORT"},
        {"symbol": "bad symbol"},
        {"order_id": "has space"},
        {"time_in_force": "GTD"},
        {"post_only": True, "time_in_force": "IOC"},
        {"stp": "MAYBE"},
        {"quantity": 1.5},
        {"ts_event": -1},
        {"ts_event": 2**63},
    ],
)
def test_malformed_submit_raises_invalid_order(
    engine: MatchingEngine, changes: dict[str, Any]
) -> None:
    fields: dict[str, Any] = {"order_id": "o1", "side": "BUY", "price": P, "quantity": P}
    fields.update(changes)
    oid, side, price, qty = (
        fields.pop("order_id"),
        fields.pop("side"),
        fields.pop("price"),
        (fields.pop("quantity")),
    )
    with pytest.raises(InvalidOrder) as exc:
        engine.submit(order(oid, side, price, qty, **fields))
    assert isinstance(exc.value, ValidationError) and isinstance(exc.value, ValueError)
    assert exc.value.field


def test_error_types_fit_the_platform_hierarchy() -> None:
    assert issubclass(UnknownOrder, NotFoundError)
    assert issubclass(DuplicateOrderId, ConflictError)
    assert issubclass(OrderNotOpen, ConflictError)


def test_amend_needs_a_change_and_valid_values(engine: MatchingEngine) -> None:
    engine.submit(order("b1", "BUY", 99 * P, 2 * P))
    with pytest.raises(InvalidOrder):
        engine.amend(AmendOrder(order_id="b1", ts_event=1))
    with pytest.raises(InvalidOrder):
        engine.amend(AmendOrder(order_id="b1", quantity=0, ts_event=1))
    with pytest.raises(UnknownOrder):
        engine.order_status("zzz")


def test_expire_day_expires_only_day_orders(engine: MatchingEngine) -> None:
    engine.submit(order("d1", "BUY", 99 * P, P, time_in_force="DAY"))
    engine.submit(order("g1", "BUY", 99 * P, P))
    events = engine.expire_day(ts_event=99)
    assert kinds(events) == ["OrderExpire"]
    assert events[0].order_id == "d1" and events[0].ts_event == 99  # type: ignore[union-attr]
    assert engine.order_status("d1").status == "EXPIRED"
    assert engine.snapshot(SYM).bids == [Level(99 * P, P, 1)]
    assert engine.expire_day(ts_event=100, symbols=["NOBOOK"]) == []


def test_snapshot_limits_depth_and_handles_unknown_symbol(engine: MatchingEngine) -> None:
    for i in range(5):
        engine.submit(order(f"b{i}", "BUY", (90 + i) * P, P))
        engine.submit(order(f"s{i}", "SELL", (110 + i) * P, P))
    snap = engine.snapshot(SYM, depth=2)
    assert [lv.price for lv in snap.bids] == [94 * P, 93 * P]
    assert [lv.price for lv in snap.asks] == [110 * P, 111 * P]
    assert (snap.best_bid, snap.best_ask) == (94 * P, 110 * P)
    empty = engine.snapshot("NONE")
    assert (empty.bids, empty.asks, empty.best_bid) == ([], [], 0)
    assert engine.symbols == [SYM]
    assert engine.best_bid_ask("NONE") == (0, 0)


def test_handle_dispatches_each_command(engine: MatchingEngine) -> None:
    assert kinds(engine.handle(order("b1", "BUY", 99 * P, P))) == ["OrderNew"]
    amend = engine.handle(AmendOrder(order_id="b1", price=98 * P, ts_event=2))
    assert kinds(amend) == ["OrderAmend"]
    assert kinds(engine.handle(CancelOrder(order_id="b1", ts_event=3))) == ["OrderCancel"]


def test_commands_need_a_valid_event_time(engine: MatchingEngine) -> None:
    engine.submit(order("b1", "BUY", 99 * P, 2 * P))
    with pytest.raises(InvalidOrder):
        engine.amend(AmendOrder(order_id="b1", quantity=P, ts_event=-5))
    with pytest.raises(InvalidOrder):
        engine.cancel(CancelOrder(order_id="b1", ts_event=-5))
    with pytest.raises(InvalidOrder):
        engine.expire_day(ts_event=-5)


def test_events_route_to_their_topics(engine: MatchingEngine) -> None:
    engine.submit(order("s1", "SELL", 100 * P, P))
    events = engine.submit(order("b1", "BUY", 100 * P, P))
    assert [event_topic(e) for e in events] == [
        "orders.events",
        "trades.executed",
        "orders.events",
        "orders.events",
    ]
