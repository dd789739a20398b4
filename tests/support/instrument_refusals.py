"""Order entries the instrument reference data refuses, shared by every REST edge that checks it.

Issue 11 ("fail closed"): an order on ``NOPE``, a price of ``10.001`` or a quantity of ``0.5``
was accepted. Matching and the router must refuse the same entries with the same 422: each
case is ``(body, field, message)``, the error naming ``field`` with ``message`` in its text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A symbol no reference data lists.
UNKNOWN_SYMBOL = "NOPE"
#: A price off the 0.01 tick of a symbol priced at a dollar or more.
OFF_TICK_PRICE = "10.001"
#: A quantity in a fraction of a 1-share lot.
PART_LOT_QUANTITY = "0.5"

#: Builds an order body from ``symbol``, ``price`` (``None``: a market order) and ``qty``;
#: every argument has a default on the reference data.
OrderBody = Callable[..., dict[str, Any]]
RefusalCase = tuple[dict[str, Any], str, str]


def refusal_cases(order: OrderBody) -> list[RefusalCase]:
    """The refusals every edge shares, built with that edge's ``order`` (its default symbol)."""
    symbol = order()["symbol"]
    unknown = f"unknown symbol '{UNKNOWN_SYMBOL}'"
    return [
        (order(symbol=UNKNOWN_SYMBOL), "$.symbol", unknown),
        (
            order(price=OFF_TICK_PRICE),
            "$.price",
            f"price {OFF_TICK_PRICE} is not a multiple of the tick 0.01 for {symbol} at that price",
        ),
        (
            order(qty=PART_LOT_QUANTITY),
            "$.quantity",
            f"quantity {PART_LOT_QUANTITY} is not a multiple of the lot size 1 for {symbol}",
        ),
        (order(symbol=UNKNOWN_SYMBOL, price=None), "$.symbol", unknown),
    ]
