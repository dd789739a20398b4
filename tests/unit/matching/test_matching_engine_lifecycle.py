"""Event ids are never reused (issue 18.1) and the engine's memory is bounded (issue 11.1).

Reproductions replaced: "halt ABC, submit (rejected), resume, submit: OrderReject NEXUS:ABC:1
then OrderNew NEXUS:ABC:1"; "``_orders``/``_by_handle``/``_accounts`` keep every order ever
submitted".
"""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus.events import OrderNew, OrderReject
from nexus.matching import (
    AmendOrder,
    CancelOrder,
    DuplicateOrderId,
    InvalidOrder,
    MatchingEngine,
    OrderNotOpen,
    SubmitOrder,
    UnknownOrder,
)

P = 1_000_000_000


class Halts:
    """A switchable symbol halt."""

    def __init__(self) -> None:
        self.halted: set[str] = set()

    def __call__(self, user_id: str, symbol: str) -> str | None:
        return "halted" if symbol in self.halted else None


def submit(
    oid: str, side: str = "BUY", price: int = 100, qty: int = 1, **kw: object
) -> SubmitOrder:
    fields: dict[str, object] = {
        "order_id": oid,
        "user_id": "u1",
        "account_id": "a1",
        "symbol": "ABC",
        "side": side,
        "price": price * P,
        "quantity": qty * P,
        "ts_event": 1,
    }
    fields.update(kw)
    return SubmitOrder(**fields)  # type: ignore[arg-type]


def test_halted_first_order_does_not_reuse_the_next_event_id() -> None:
    halts = Halts()
    engine = MatchingEngine(halts=halts)
    halts.halted.add("ABC")
    [reject] = engine.submit(submit("o1"))
    assert isinstance(reject, OrderReject)
    halts.halted.clear()
    [new] = engine.submit(submit("o2"))
    assert isinstance(new, OrderNew)
    assert reject.event_id == "NEXUS:ABC:1"
    assert new.event_id == "NEXUS:ABC:2"


commands = st.lists(
    st.tuples(
        st.sampled_from(
            ["submit", "submit", "submit", "amend", "cancel", "halt", "resume", "restart", "expire"]
        ),
        st.integers(0, 40),  # order pick
        st.sampled_from(["AAA", "BBB"]),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(98, 102),
        st.integers(1, 4),
        st.sampled_from(["GTC", "DAY", "IOC", "FOK"]),
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(commands)
def test_event_ids_are_unique_over_halts_rejects_and_restarts(
    seq: list[tuple[str, int, str, str, int, int, str]],
) -> None:
    halts = Halts()
    session = 0
    engine = MatchingEngine(halts=halts, event_id_prefix="S0", finished_orders_kept=5)
    seen: set[str] = set()
    for i, (kind, pick, symbol, side, price, qty, tif) in enumerate(seq):
        events: list[object] = []
        if kind == "submit":
            cmd = submit(f"o{pick}", side, price, qty, symbol=symbol, time_in_force=tif, ts_event=i)
            with contextlib.suppress(DuplicateOrderId):
                events = list(engine.submit(cmd))
        elif kind in ("amend", "cancel"):
            try:
                if kind == "amend":
                    events = list(
                        engine.amend(AmendOrder(order_id=f"o{pick}", price=price * P, ts_event=i))
                    )
                else:
                    events = list(engine.cancel(CancelOrder(order_id=f"o{pick}", ts_event=i)))
            except (UnknownOrder, OrderNotOpen, InvalidOrder):
                pass
        elif kind == "halt":
            halts.halted.add(symbol)
        elif kind == "resume":
            halts.halted.discard(symbol)
        elif kind == "expire":
            events = list(engine.expire_day(i))
        else:  # the adapter restarts empty with a new session prefix
            session += 1
            engine = MatchingEngine(
                halts=halts, event_id_prefix=f"S{session}", finished_orders_kept=5
            )
        for event in events:
            event_id = event.event_id  # type: ignore[attr-defined]
            assert event_id not in seen, (event_id, kind)
            seen.add(event_id)


def test_finished_orders_leave_the_open_tables() -> None:
    engine = MatchingEngine(finished_orders_kept=3)
    for i in range(50):
        engine.submit(submit(f"s{i}", "SELL", 100, 1))
        engine.submit(submit(f"b{i}", "BUY", 100, 1, account_id=f"acct{i}"))
    assert engine.open_order_count == 0
    assert engine._orders == {} and engine._by_handle == {}
    assert engine._accounts == {} and engine._account_open == {}
    assert len(engine._finished) == 3
    assert engine.order_status("b49").status == "FILLED"
    with pytest.raises(UnknownOrder):
        engine.order_status("b0")


def test_recently_finished_id_is_still_a_duplicate_and_not_open() -> None:
    engine = MatchingEngine(finished_orders_kept=10)
    engine.submit(submit("x"))
    engine.cancel(CancelOrder(order_id="x", ts_event=2))
    with pytest.raises(DuplicateOrderId):
        engine.submit(submit("x"))
    with pytest.raises(OrderNotOpen):
        engine.cancel(CancelOrder(order_id="x", ts_event=3))


def test_resting_orders_keep_their_account_handle_for_self_trade_prevention() -> None:
    engine = MatchingEngine(default_stp="CANCEL_NEWEST")
    engine.submit(submit("rest1", "SELL", 100, 1))
    engine.submit(submit("other", "SELL", 101, 1, account_id="a2"))
    engine.cancel(CancelOrder(order_id="other", ts_event=2))  # a2 dropped, a1 kept
    events = engine.submit(submit("taker", "BUY", 100, 1))
    assert [type(e).__name__ for e in events] == ["OrderNew", "OrderCancel"]
    assert engine.order_status("rest1").status == "NEW"


def test_error_messages_show_the_decimal_the_user_sent() -> None:
    engine = MatchingEngine()
    with pytest.raises(InvalidOrder, match=r"got -100\b"):
        engine.submit(submit("neg", qty=-100))
    with pytest.raises(InvalidOrder, match=r"got -0\.5"):
        engine.submit(msgspec.structs.replace(submit("half"), price=-P // 2))
