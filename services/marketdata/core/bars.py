"""Intraday OHLCV bars from trades (raw fixed point in, raw fixed point out).

Bars are aligned to multiples of ``bar_seconds`` since the Unix epoch (UTC); a bar exists only
if it holds at least one trade. Open and close are the first and last trade by event time
(ties keep input order); volume is the sum of raw quantities (exact, int64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.marketdata.core.errors import InvalidRangeError

I64 = npt.NDArray[np.int64]
NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Bars:
    """Column arrays of bars, ascending by ``start_ns``."""

    start_ns: I64
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64

    def __len__(self) -> int:
        return len(self.start_ns)


def trade_bars(ts_ns: I64, price_raw: I64, qty_raw: I64, bar_seconds: int) -> Bars:
    """OHLCV bars of one symbol's trades; raises :class:`InvalidRangeError` on bad input."""
    if bar_seconds <= 0:
        raise InvalidRangeError("bar_seconds must be > 0")
    ts = np.asarray(ts_ns, dtype=np.int64)
    px = np.asarray(price_raw, dtype=np.int64)
    qty = np.asarray(qty_raw, dtype=np.int64)
    if not len(ts) == len(px) == len(qty):
        raise InvalidRangeError("ts_ns, price_raw and qty_raw must have the same length")
    if len(ts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Bars(empty, empty, empty, empty, empty, empty)
    if np.any(px <= 0) or np.any(qty <= 0) or np.any(ts < 0):
        raise InvalidRangeError("prices and quantities must be > 0, timestamps >= 0")
    order = np.argsort(ts, kind="stable")
    ts, px, qty = ts[order], px[order], qty[order]
    width = np.int64(bar_seconds) * NS_PER_SECOND
    bucket = ts // width
    first = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    last = np.concatenate((first[1:] - 1, [len(ts) - 1]))
    return Bars(
        start_ns=bucket[first] * width,
        open=px[first],
        high=np.maximum.reduceat(px, first),
        low=np.minimum.reduceat(px, first),
        close=px[last],
        volume=np.add.reduceat(qty, first),
    )
