"""Order-type and size classification of parent orders at receipt (Rules 605 and 606).

All vectorised over :class:`~.model.Orders`; the NBBO at receipt decides marketability.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from services.routing.reports.model import BOOL, I64, SCALE, Orders

# Rule 606(a)(1) order types, in the report's column order
MARKET: Final = 0
MARKETABLE_LIMIT: Final = 1
NON_MARKETABLE_LIMIT: Final = 2
OTHER: Final = 3
TYPES_606: Final = ("market", "marketable_limit", "non_marketable_limit", "other")

# Rule 605 (2024) order types; -1 = not covered by any category
T605_MARKET: Final = 0
T605_MARKETABLE_LIMIT: Final = 1
T605_MARKETABLE_IOC: Final = 2
T605_BEYOND_MIDPOINT: Final = 3
T605_EXECUTABLE_NML: Final = 4
T605_STOP: Final = 5
TYPES_605: Final = (
    "market",
    "marketable_limit",
    "marketable_ioc",
    "beyond_midpoint_limit",
    "executable_non_marketable_limit",
    "stop",
)

#: Rule 605 (2024) notional buckets: lower bounds in dollars
NOTIONAL_BOUNDS: Final = (0, 250, 1_000, 5_000, 20_000, 50_000, 200_000)
NOTIONAL_LABELS: Final = (
    "lt_250",
    "250_to_lt_1k",
    "1k_to_lt_5k",
    "5k_to_lt_20k",
    "20k_to_lt_50k",
    "50k_to_lt_200k",
    "ge_200k",
)
LOT_LABELS: Final = ("fractional", "odd_lot", "round_lot")


def marketable(orders: Orders) -> BOOL:
    """A market order, or a limit at or through the far side of the NBBO at receipt."""
    lim, side = orders.limit_price, orders.side
    buy_cross = (side > 0) & (orders.ask > 0) & (lim >= orders.ask)
    sell_cross = (side < 0) & (orders.bid > 0) & (lim <= orders.bid)
    out: BOOL = (lim == 0) | buy_cross | sell_cross
    return out


def type_606(orders: Orders) -> I64:
    """Rule 606 type per order: market, marketable limit, non-marketable limit, other (stops)."""
    out = np.where(
        orders.limit_price == 0,
        MARKET,
        np.where(marketable(orders), MARKETABLE_LIMIT, NON_MARKETABLE_LIMIT),
    ).astype(np.int64)
    out[orders.stop] = OTHER
    return out


def type_605(orders: Orders, executed: BOOL) -> I64:
    """Rule 605 (2024) type per order; ``executed`` marks orders with at least one fill.

    Non-marketable limits priced beyond the midpoint (a buy above the mid, a sell below it)
    are *beyond-the-midpoint*; the other non-marketable limits that executed are *executable
    non-marketable* (they became executable while resting); the rest are not covered (-1).
    """
    lim, side = orders.limit_price, orders.side
    both = (orders.bid > 0) & (orders.ask > 0)
    mid2 = orders.bid + orders.ask  # twice the midpoint, exact
    beyond = both & (((side > 0) & (2 * lim > mid2)) | ((side < 0) & (2 * lim < mid2)))
    mkt = marketable(orders)
    out = np.full(len(orders), -1, dtype=np.int64)
    out[~mkt & executed] = T605_EXECUTABLE_NML
    out[~mkt & beyond] = T605_BEYOND_MIDPOINT
    out[mkt & (lim != 0)] = T605_MARKETABLE_LIMIT
    out[mkt & (lim != 0) & orders.ioc] = T605_MARKETABLE_IOC
    out[lim == 0] = T605_MARKET
    out[orders.stop] = T605_STOP
    return out


def notional_bucket(orders: Orders) -> I64:
    """Rule 605 notional bucket: order quantity x midpoint at receipt (the far side when
    one side is empty), in :data:`NOTIONAL_BOUNDS` dollars."""
    both = (orders.bid > 0) & (orders.ask > 0)
    ref = np.where(both, (orders.bid + orders.ask) / 2.0, np.maximum(orders.bid, orders.ask))
    dollars = orders.quantity / SCALE * (ref / SCALE)
    return (np.searchsorted(np.asarray(NOTIONAL_BOUNDS, np.float64), dollars, "right") - 1).astype(
        np.int64
    )


def lot_class(orders: Orders, round_lot: I64) -> I64:
    """0 fractional (< 1 share), 1 odd lot (< the round lot), 2 round lot or more."""
    whole = orders.quantity >= SCALE
    return np.where(~whole, 0, np.where(orders.quantity < round_lot, 1, 2)).astype(np.int64)


def round_lots(orders: Orders, fixed: int | None = None) -> I64:
    """Round lot (raw shares) per order under Reg NMS as amended in 2024 (by the price at
    receipt: 100 up to $250, 40 up to $1,000, 10 up to $10,000, 1 above); ``fixed`` gives
    one raw lot for every order instead."""
    if fixed is not None:
        return np.full(len(orders), fixed, dtype=np.int64)
    both = (orders.bid > 0) & (orders.ask > 0)
    ref = np.where(both, (orders.bid + orders.ask) // 2, np.maximum(orders.bid, orders.ask))
    lots = np.where(
        ref <= 250 * SCALE,
        100,
        np.where(ref <= 1_000 * SCALE, 40, np.where(ref <= 10_000 * SCALE, 10, 1)),
    )
    return (lots * SCALE).astype(np.int64)
