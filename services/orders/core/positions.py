"""Position accounting over exact fixed-point values.

A position is a signed quantity (long > 0, short < 0), its cost basis and the realized P&L so
far. The cost basis is exact: the signed sum of the notionals of the fills that opened what is
held (a long's is positive, a short's negative), as :class:`~nexus.money.Money`; the average
cost per unit is derived from it (rounded half-even to 1e-9), never the other way round, so
fills whose notionals add up to 12175 have a cost basis of exactly 12175. A fill in the
position's direction adds its notional; a fill against it closes a proportional share of the
cost basis (exact when the whole position closes; otherwise rounded half-even to the money
scale, and that share leaves the cost basis as it enters the realized P&L, so realized P&L
minus cost basis always equals the cash paid, exactly); a fill larger than the position flips
it, opening the remainder at the fill price.
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
    cost_basis: Money = NO_MONEY
    realized_pnl: Money = NO_MONEY
    last_trade_id: str | None = None
    last_ts_event: int = 0

    @property
    def avg_cost(self) -> Fixed:
        """Cost per unit held: |cost basis| / |quantity|, half-even to 1e-9 (0 when flat)."""
        if self.quantity.raw == 0:
            return ZERO
        return abs(self.cost_basis).per_unit(abs(self.quantity), Rounding.HALF_EVEN)


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
        # Opening or adding: the fill's notional joins the cost basis, exactly.
        return replace(
            position,
            quantity=after,
            cost_basis=position.cost_basis + fill.price.notional(delta),
            last_trade_id=fill.trade_id,
            last_ts_event=fill.ts_event,
        )
    closed = min(abs(held), fill.quantity)
    if closed == abs(held):
        closed_cost = position.cost_basis
    else:
        closed_cost = Money.from_raw(
            _div_half_even(position.cost_basis.raw * closed.raw, abs(held).raw)
        )
    # what closing the share is worth, signed like the position (a short buys back)
    closing = fill.price.notional(closed if held.raw > 0 else -closed)
    realized = position.realized_pnl + closing - closed_cost
    if after.raw == 0 or (after.raw > 0) == (held.raw > 0):
        basis = position.cost_basis - closed_cost  # reduced: the rest keeps its cost
    else:
        basis = fill.price.notional(after)  # flipped: the remainder opened at this fill's price
    return replace(
        position,
        quantity=after,
        cost_basis=basis,
        realized_pnl=realized,
        last_trade_id=fill.trade_id,
        last_ts_event=fill.ts_event,
    )


def _div_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even (``denominator`` > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient
