"""Intraday bars from trades match a direct computation."""

from __future__ import annotations

import numpy as np
import pytest

from services.marketdata.core.bars import trade_bars
from services.marketdata.core.errors import InvalidRangeError

S = 1_000_000_000


def test_trade_bars_random_trades_match_direct_computation() -> None:
    rng = np.random.default_rng(2)
    ts = rng.integers(0, 600 * S, 2000)
    px = rng.integers(1, 1000, 2000) * 10_000_000
    qty = rng.integers(1, 50, 2000) * 10**11
    bars = trade_bars(ts, px, qty, 60)
    expected: dict[int, list[tuple[int, int, int]]] = {}
    for i in np.argsort(ts, kind="stable").tolist():
        expected.setdefault(int(ts[i]) // (60 * S), []).append(
            (int(ts[i]), int(px[i]), int(qty[i]))
        )
    assert bars.start_ns.tolist() == [k * 60 * S for k in sorted(expected)]
    for j, k in enumerate(sorted(expected)):
        trades = expected[k]
        assert bars.open[j] == trades[0][1] and bars.close[j] == trades[-1][1]
        assert bars.high[j] == max(t[1] for t in trades)
        assert bars.low[j] == min(t[1] for t in trades)
        assert bars.volume[j] == sum(t[2] for t in trades)


def test_trade_bars_no_trades_gives_no_bars() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert len(trade_bars(empty, empty, empty, 60)) == 0


@pytest.mark.parametrize("bar_seconds", [0, -5])
def test_trade_bars_non_positive_width_raises(bar_seconds: int) -> None:
    one = np.ones(1, dtype=np.int64)
    with pytest.raises(InvalidRangeError):
        trade_bars(one, one, one, bar_seconds)


def test_trade_bars_non_positive_price_raises() -> None:
    with pytest.raises(InvalidRangeError):
        trade_bars(np.array([1]), np.array([0]), np.array([1]), 60)
