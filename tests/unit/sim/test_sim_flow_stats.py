"""Background flow statistics within stated ranges, and the stream holds real trades.

Stated ranges (60 s, 6 symbols, default flow parameters):
cancel ratio (cancels / new orders) 0.80-0.95; order-to-trade ratio 8-40; sizes heavy-tailed:
median 1-2 lots, 1-6 % of orders of 10 lots or more, the largest at least 50 lots; at least
two thirds of the users active.
"""

from __future__ import annotations

import numpy as np

from nexus.events import OrderAmend, OrderNew, Trade

from .conftest import Run


def test_background_cancel_ratio_within_realistic_range(market: Run) -> None:
    stats = market.result.stats()
    assert 0.80 <= stats.cancel_ratio <= 0.95


def test_background_order_to_trade_ratio_within_range(market: Run) -> None:
    stats = market.result.stats()
    assert stats.trades > 1000
    assert 8.0 <= stats.order_to_trade <= 40.0


def test_background_sizes_are_heavy_tailed(market: Run) -> None:
    lot = 100 * 10**9
    lots = np.array([e.quantity // lot for e in market.events if isinstance(e, OrderNew)])
    assert 1 <= np.median(lots) <= 2
    assert 0.01 <= np.mean(lots >= 10) <= 0.06
    assert lots.max() >= 50


def test_background_flow_uses_hundreds_of_users(market: Run) -> None:
    users = {e.user_id for e in market.events if isinstance(e, OrderNew)}
    assert len(users) >= 200


def test_trades_match_resting_orders_at_crossing_prices(market: Run) -> None:
    news: dict[str, OrderNew] = {}
    price: dict[str, int] = {}
    last_ts: dict[str, int] = {}
    trades = 0
    for event in market.events:
        if isinstance(event, OrderNew | OrderAmend):
            if isinstance(event, OrderNew):
                news[event.order_id] = event
            price[event.order_id] = event.price
            last_ts[event.order_id] = event.ts_event
        elif isinstance(event, Trade):
            trades += 1
            buy, sell = news[event.buy_order_id], news[event.sell_order_id]
            assert buy.side == "BUY" and sell.side == "SELL"
            assert buy.symbol == sell.symbol == event.symbol
            assert event.quantity <= min(buy.quantity, sell.quantity)
            taker, maker = (buy, sell) if event.aggressor_side == "BUY" else (sell, buy)
            assert last_ts[taker.order_id] == event.ts_event
            assert event.price == price[maker.order_id]
            assert price[buy.order_id] >= event.price >= price[sell.order_id]
    assert trades == market.result.stats().trades
