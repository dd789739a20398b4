"""Position accounting: averages, realized P&L, flips, against a Decimal reference."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus.money import Fixed, Money
from services.orders.core import Fill, Position, apply_fill, fills_of_trade
from tests.support.events import make_trade


def fill(side: str, qty: str, price: str, n: int = 1) -> Fill:
    return Fill(
        trade_id=f"t{n}",
        user_id="u1",
        account_id="a1",
        symbol="AAPL",
        side=side,  # type: ignore[arg-type]
        price=Fixed(price),
        quantity=Fixed(qty),
        order_id=f"o{n}",
        ts_event=n,
        venue="NEXUS",
    )


def run(*fills: Fill) -> Position:
    position = Position("u1", "AAPL")
    for f in fills:
        position = apply_fill(position, f)
    return position


def test_buys_average_their_cost() -> None:
    p = run(fill("BUY", "100", "10"), fill("BUY", "300", "14"))
    assert p.quantity == Fixed("400")
    assert p.avg_cost == Fixed("13")
    assert p.realized_pnl == Money(0)


def test_partial_sell_realizes_pnl_and_keeps_cost() -> None:
    p = run(fill("BUY", "100", "10"), fill("SELL", "40", "12.5"))
    assert p.quantity == Fixed("60")
    assert p.avg_cost == Fixed("10")
    assert p.realized_pnl == Money("100")


def test_full_close_resets_cost() -> None:
    p = run(fill("BUY", "100", "10"), fill("SELL", "100", "9"))
    assert p.quantity == Fixed(0)
    assert p.avg_cost == Fixed(0)
    assert p.realized_pnl == Money("-100")


def test_sell_through_zero_flips_to_short_at_fill_price() -> None:
    p = run(fill("BUY", "100", "10"), fill("SELL", "150", "11"))
    assert p.quantity == Fixed("-50")
    assert p.avg_cost == Fixed("11")
    assert p.realized_pnl == Money("100")


def test_short_cover_realizes_gain_when_price_falls() -> None:
    p = run(fill("SELL", "10", "50"), fill("SELL", "10", "52"), fill("BUY", "5", "40"))
    assert p.quantity == Fixed("-15")
    assert p.avg_cost == Fixed("51")
    assert p.realized_pnl == Money("55")
    assert p.cost_basis == Money("-765")


def test_average_cost_rounds_half_even_to_nine_places() -> None:
    p = run(fill("BUY", "3", "1"), fill("BUY", "3", "2"), fill("BUY", "3", "2"))
    assert p.avg_cost == Fixed("1.666666667")


def test_fill_of_another_user_is_refused() -> None:
    other = Fill(
        trade_id="t",
        user_id="u2",
        account_id="a",
        symbol="AAPL",
        side="BUY",
        price=Fixed("1"),
        quantity=Fixed("1"),
        order_id="o",
        ts_event=1,
        venue="X",
    )
    with pytest.raises(ValueError, match="does not belong"):
        apply_fill(Position("u1", "AAPL"), other)


def test_trade_splits_into_buyer_and_seller_fills() -> None:
    buy, sell = fills_of_trade(make_trade(7))
    assert (buy.user_id, buy.side, buy.order_id) == ("u1", "BUY", "B7")
    assert (sell.user_id, sell.side, sell.order_id) == ("u2", "SELL", "S7")
    assert buy.price == Fixed("100") and sell.quantity == Fixed("10")
    assert buy.trade_id == sell.trade_id == "T-AAPL-7"


prices = st.integers(1, 10_000_000).map(lambda c: Fixed.from_raw(c * 10_000_000))  # 0.01 ticks
quantities = st.integers(1, 100_000).map(lambda q: Fixed(q))


@given(st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), quantities, prices), max_size=40))
def test_quantity_and_total_pnl_match_decimal_reference(
    trades: list[tuple[str, Fixed, Fixed]],
) -> None:
    position = Position("u1", "AAPL")
    cash = Decimal(0)
    for n, (side, qty, price) in enumerate(trades):
        position = apply_fill(position, fill(side, str(qty), str(price), n))
        sign = 1 if side == "BUY" else -1
        cash -= sign * qty.to_decimal() * price.to_decimal()
    qty_ref = sum((q.to_decimal() * (1 if s == "BUY" else -1) for s, q, _ in trades), Decimal(0))
    assert position.quantity.to_decimal() == qty_ref
    # Realized P&L minus the cost basis of what is held is the cash paid, exactly: the cost
    # basis is a sum of notionals, never an average multiplied back.
    total = position.realized_pnl.to_decimal() - position.cost_basis.to_decimal()
    assert total == cash


def test_cost_basis_is_the_exact_sum_of_fill_notionals_and_the_average_derives_from_it() -> None:
    p = run(fill("BUY", "1", "4058.33"), fill("BUY", "1", "4058.33"), fill("BUY", "1", "4058.34"))
    assert p.cost_basis == Money("12175")  # was 12174.999999999 (rounded average x quantity)
    assert p.avg_cost == Fixed("4058.333333333")


def test_partial_close_takes_a_proportional_share_of_the_cost_basis() -> None:
    p = run(
        fill("BUY", "3", "1"), fill("BUY", "3", "2"), fill("BUY", "3", "2"), fill("SELL", "3", "2")
    )
    assert p.quantity == Fixed("6")
    assert p.cost_basis == Money("10")
    assert p.realized_pnl == Money("1")
