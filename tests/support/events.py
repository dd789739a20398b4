"""Factories for valid events."""

from __future__ import annotations

from nexus.events import Trade

PRICE_100 = 100 * 10**9
QTY_10 = 10 * 10**9


def make_trade(seq: int, symbol: str = "AAPL", *, price: int = PRICE_100) -> Trade:
    """A valid trade whose id and time follow from ``seq``."""
    return Trade(
        event_id=f"T-{symbol}-{seq}",
        ts_event=1_700_000_000_000_000_000 + seq,
        symbol=symbol,
        price=price,
        quantity=QTY_10,
        aggressor_side="BUY",
        buy_order_id=f"B{seq}",
        sell_order_id=f"S{seq}",
        buyer_user_id="u1",
        buyer_account_id="a1",
        seller_user_id="u2",
        seller_account_id="a2",
    )
