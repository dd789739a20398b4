"""Position accounting over exact fixed-point values.

A position is a signed quantity (long > 0, short < 0) with its average cost per unit and the
realized P&L so far. A fill in the position's direction grows it at a weighted average cost
(rounded half-even to 1e-9 per unit); a fill against it realizes ``(price - avg_cost) x
closed quantity`` (sign flipped for shorts) exactly as :class:`~nexus.money.Money`, and a fill
larger than the position flips it, opening the remainder at the fill price.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from nexus.events import Trade
from nexus.money import Fixed, Money, Rounding

Side = Literal["BUY", "SELL"]
ZERO = Fixed(0)
NO_MONEY = Money(0)


@dataclass(frozen=True, slots=True)
class Fill:
    """One user's side of a trade."""

    trade_id: str
    user_id: str
    account_id: str
    symbol: str
    side: Side
    price: Fixed
    quantity: Fixed
    order_id: str
    ts_event: int
    venue: str

    @property
    def signed_quantity(self) -> Fixed:
        """Quantity with the sign of its effect on the position."""
        return self.quantity if self.side == "BUY" else -self.quantity


@dataclass(frozen=True, slots=True)
class Position:
    """A user's position in one symbol."""

    user_id: str
    symbol: str
    quantity: Fixed = ZERO
    avg_cost: Fixed = ZERO
    realized_pnl: Money = NO_MONEY
    last_trade_id: str | None = None
    last_ts_event: int = 0

    @property
    def cost_basis(self) -> Money:
        """Signed quantity x average cost."""
        return self.avg_cost.notional(self.quantity)


def fills_of_trade(trade: Trade) -> tuple[Fill, Fill]:
    """The buyer's and the seller's fills of a trade."""
    price = Fixed.from_raw(trade.price)
    quantity = Fixed.from_raw(trade.quantity)
    buy = Fill(
        trade_id=trade.event_id,
        user_id=trade.buyer_user_id,
        account_id=trade.buyer_account_id,
        symbol=trade.symbol,
        side="BUY",
        price=price,
        quantity=quantity,
        order_id=trade.buy_order_id,
        ts_event=trade.ts_event,
        venue=trade.venue,
    )
    sell = Fill(
        trade_id=trade.event_id,
        user_id=trade.seller_user_id,
        account_id=trade.seller_account_id,
        symbol=trade.symbol,
        side="SELL",
        price=price,
        quantity=quantity,
        order_id=trade.sell_order_id,
        ts_event=trade.ts_event,
        venue=trade.venue,
    )
    return buy, sell


def apply_fill(position: Position, fill: Fill) -> Position:
    """The position after ``fill`` (same user and symbol)."""
    if (position.user_id, position.symbol) != (fill.user_id, fill.symbol):
        raise ValueError("fill does not belong to this position")
    held = position.quantity
    delta = fill.signed_quantity
    after = held + delta
    if held.raw == 0 or (held.raw > 0) == (delta.raw > 0):
        # Opening or adding: weighted average cost of what is held.
        total = position.avg_cost.notional(abs(held)) + fill.price.notional(fill.quantity)
        avg = total.per_unit(abs(after), Rounding.HALF_EVEN)
        return replace(
            position,
            quantity=after,
            avg_cost=avg,
            last_trade_id=fill.trade_id,
            last_ts_event=fill.ts_event,
        )
    closed = min(abs(held), fill.quantity)
    per_unit = fill.price - position.avg_cost if held.raw > 0 else position.avg_cost - fill.price
    realized = position.realized_pnl + per_unit.notional(closed)
    if after.raw == 0:
        avg = ZERO
    elif (after.raw > 0) == (held.raw > 0):
        avg = position.avg_cost  # reduced: the rest keeps its cost
    else:
        avg = fill.price  # flipped: the remainder opened at this fill's price
    return replace(
        position,
        quantity=after,
        avg_cost=avg,
        realized_pnl=realized,
        last_trade_id=fill.trade_id,
        last_ts_event=fill.ts_event,
    )
