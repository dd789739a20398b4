"""Columnar inputs of the reports: parent orders, routes, fills, the recorded market.

Every price, quantity and money amount is a raw fixed-point ``int64`` (``value * 10**9``);
every time is UTC nanoseconds. Arrays of one table share their length; ``order`` columns of
routes and fills index the rows of :class:`Orders`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

SCALE: Final = 10**9
NS_PER_MS: Final = 1_000_000

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]
STR = npt.NDArray[np.str_]


def _i64(values: object) -> I64:
    return np.ascontiguousarray(np.asarray(values, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class Orders:
    """Parent orders as received: terms, flags and the market at receipt.

    ``side`` is +1 BUY, -1 SELL; ``limit_price`` 0 is a market order; ``bid``/``ask`` are the
    NBBO at receipt (0 = side empty) with their displayed sizes; ``badp_bid``/``badp_ask`` the
    best available displayed price at receipt (NBBO or a better odd-lot quote; equal to the
    NBBO when no odd-lot quotes are recorded).
    """

    order_id: STR
    symbol: STR
    side: I64
    quantity: I64
    limit_price: I64
    ts_received: I64
    bid: I64
    ask: I64
    bid_size: I64
    ask_size: I64
    badp_bid: I64
    badp_ask: I64
    directed: BOOL
    held: BOOL
    stop: BOOL
    ioc: BOOL

    def __len__(self) -> int:
        return int(self.order_id.shape[0])

    @staticmethod
    def build(
        *,
        order_id: object,
        symbol: object,
        side: object,
        quantity: object,
        limit_price: object,
        ts_received: object,
        bid: object,
        ask: object,
        bid_size: object | None = None,
        ask_size: object | None = None,
        badp_bid: object | None = None,
        badp_ask: object | None = None,
        directed: object | None = None,
        held: object | None = None,
        stop: object | None = None,
        ioc: object | None = None,
    ) -> Orders:
        """Orders from sequences; optional columns default to 0 sizes, BADP = NBBO, flags
        non-directed, held, no stop, not IOC."""
        ids = np.asarray(order_id, dtype=np.str_)
        n = ids.shape[0]
        bid_a, ask_a = _i64(bid), _i64(ask)

        def flag(values: object | None, default: bool) -> BOOL:
            if values is None:
                return np.full(n, default, dtype=np.bool_)
            return np.asarray(values, dtype=np.bool_)

        out = Orders(
            order_id=ids,
            symbol=np.asarray(symbol, dtype=np.str_),
            side=_i64(side),
            quantity=_i64(quantity),
            limit_price=_i64(limit_price),
            ts_received=_i64(ts_received),
            bid=bid_a,
            ask=ask_a,
            bid_size=_i64(bid_size) if bid_size is not None else np.zeros(n, np.int64),
            ask_size=_i64(ask_size) if ask_size is not None else np.zeros(n, np.int64),
            badp_bid=_i64(badp_bid) if badp_bid is not None else bid_a.copy(),
            badp_ask=_i64(badp_ask) if badp_ask is not None else ask_a.copy(),
            directed=flag(directed, False),
            held=flag(held, True),
            stop=flag(stop, False),
            ioc=flag(ioc, False),
        )
        for name in Orders.__slots__:
            if getattr(out, name).shape[0] != n:
                raise ValueError(f"column {name} has {getattr(out, name).shape[0]} rows, not {n}")
        return out


@dataclass(frozen=True, slots=True)
class Routes:
    """Child orders: which parent (row of :class:`Orders`) sent how much to which venue."""

    order: I64
    venue: STR
    quantity: I64

    @staticmethod
    def build(*, order: object, venue: object, quantity: object | None = None) -> Routes:
        """Routes from sequences (quantity 0 when omitted)."""
        o = _i64(order)
        qty = _i64(quantity) if quantity is not None else np.zeros(o.shape[0], np.int64)
        return Routes(o, np.asarray(venue, dtype=np.str_), qty)


@dataclass(frozen=True, slots=True)
class Fills:
    """Executions: parent row, venue, price, quantity, fee (raw money, + paid / - rebate),
    time, liquidity (True = added, a maker fill) and the NBBO at execution."""

    order: I64
    venue: STR
    price: I64
    quantity: I64
    fee: I64
    ts: I64
    maker: BOOL
    bid: I64
    ask: I64

    def __len__(self) -> int:
        return int(self.order.shape[0])

    @staticmethod
    def build(
        *,
        order: object,
        venue: object,
        price: object,
        quantity: object,
        ts: object,
        fee: object | None = None,
        maker: object | None = None,
        bid: object | None = None,
        ask: object | None = None,
    ) -> Fills:
        """Fills from sequences (fee 0, taker, NBBO at execution 0 when omitted)."""
        o = _i64(order)
        n = o.shape[0]
        zeros = np.zeros(n, np.int64)
        return Fills(
            order=o,
            venue=np.asarray(venue, dtype=np.str_),
            price=_i64(price),
            quantity=_i64(quantity),
            fee=_i64(fee) if fee is not None else zeros,
            ts=_i64(ts),
            maker=np.asarray(maker, np.bool_) if maker is not None else np.zeros(n, np.bool_),
            bid=_i64(bid) if bid is not None else zeros.copy(),
            ask=_i64(ask) if ask is not None else zeros.copy(),
        )


@dataclass(slots=True)
class QuoteTape:
    """The recorded market: per symbol, the NBBO midpoint over time (step function).

    :meth:`mid_at` answers the last mid at or before each time (NaN before the first quote
    or where a side was empty).
    """

    _series: dict[str, tuple[I64, F64]] = field(default_factory=dict)

    @staticmethod
    def from_quotes(symbol: object, ts: object, bid: object, ask: object) -> QuoteTape:
        """A tape from quote rows (any order): a mid exists only when both sides are set."""
        sym = np.asarray(symbol, dtype=np.str_)
        t, b, a = _i64(ts), _i64(bid), _i64(ask)
        mid = np.where((b > 0) & (a > 0), (b.astype(np.float64) + a) / (2.0 * SCALE), np.nan)
        tape = QuoteTape()
        if sym.shape[0] == 0:
            return tape
        order = np.lexsort((t, sym))
        sym, t, mid = sym[order], t[order], mid[order]
        cuts = np.flatnonzero(sym[1:] != sym[:-1]) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, sym.shape[0]], strict=True):
            tape._series[str(sym[lo])] = (t[lo:hi], mid[lo:hi])
        return tape

    def symbols(self) -> list[str]:
        """Symbols with recorded quotes."""
        return sorted(self._series)

    def mid_at(self, symbol: STR, ts: I64) -> F64:
        """Mid (dollars) in force at each ``ts`` for each ``symbol`` (NaN when none)."""
        out = np.full(ts.shape[0], np.nan)
        if ts.shape[0] == 0:
            return out
        names, code = factorize(symbol)
        order = np.argsort(code, kind="stable")
        bounds = np.searchsorted(code[order], np.arange(len(names) + 1))
        for i, name in enumerate(names):
            series = self._series.get(str(name))
            if series is None:
                continue
            rows = order[bounds[i] : bounds[i + 1]]
            times, mids = series
            idx = np.searchsorted(times, ts[rows], side="right") - 1
            ok = idx >= 0
            out[rows[ok]] = mids[idx[ok]]
        return out


@dataclass(frozen=True, slots=True)
class IndexMembership:
    """Index membership as data: ``(symbol, first day, last day or None)`` intervals."""

    intervals: tuple[tuple[str, dt.date, dt.date | None], ...]

    def members(self, symbol: STR, day: npt.NDArray[np.datetime64]) -> BOOL:
        """Whether each ``symbol`` was a member on each ``day`` (``datetime64[D]``).

        Vectorised per *layer* (the k-th interval of every symbol), so the cost is the number
        of orders times the most intervals any one symbol has, not times the index size.
        """
        out = np.zeros(symbol.shape[0], dtype=np.bool_)
        if symbol.shape[0] == 0 or not self.intervals:
            return out
        names, code = factorize(symbol)
        at = {str(n): i for i, n in enumerate(names)}
        layers: list[list[tuple[int, dt.date, dt.date | None]]] = []
        seen: dict[int, int] = {}
        for name, start, end in self.intervals:
            i = at.get(name)
            if i is None:
                continue
            k = seen.get(i, 0)
            seen[i] = k + 1
            if k == len(layers):
                layers.append([])
            layers[k].append((i, start, end))
        never = np.datetime64("9999-12-31", "D")
        for layer in layers:
            first = np.full(len(names), never)
            last = np.full(len(names), np.datetime64("0001-01-01", "D"))
            for i, start, end in layer:
                first[i] = np.datetime64(start, "D")
                last[i] = np.datetime64(end, "D") if end is not None else never
            out |= (day >= first[code]) & (day <= last[code])
        return out

    @staticmethod
    def from_csv(text: str) -> IndexMembership:
        """Parse ``symbol,start,end`` lines (ISO dates, empty end = still a member; '#' comments)."""
        rows: list[tuple[str, dt.date, dt.date | None]] = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("symbol,"):
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 3:
                raise ValueError(f"line {number}: expected symbol,start,end")
            end = dt.date.fromisoformat(parts[2]) if parts[2] else None
            rows.append((parts[0], dt.date.fromisoformat(parts[1]), end))
        return IndexMembership(tuple(rows))


def utc_days(ts: I64) -> npt.NDArray[np.datetime64]:
    """UTC calendar day of each nanosecond timestamp."""
    return ts.astype("datetime64[ns]").astype("datetime64[D]")


_TABLE = 4_194_301  # a prime: slots of the string hash
_HASH_WEIGHTS = np.random.default_rng(0x605606).integers(1, 2**62, 64, dtype=np.int64) | 1


def factorize(values: STR) -> tuple[STR, I64]:
    """Sorted distinct strings and each value's code (``names[codes] == values``).

    Hashes each fixed-width string to one int64 (a wrap-around dot product of its code
    points) and sorts integers rather than strings; the result is verified exactly and
    falls back to ``np.unique`` on a collision.
    """
    n = values.shape[0]
    if n == 0:
        return values.copy(), np.zeros(0, np.int64)
    width = values.dtype.itemsize // 4
    if values.dtype.kind != "U" or width == 0 or width > _HASH_WEIGHTS.shape[0]:
        names, codes = np.unique(values, return_inverse=True)
        return names, codes.astype(np.int64)
    points = np.ascontiguousarray(values).view(np.uint32).reshape(n, width)
    h = np.zeros(n, np.int64)
    with np.errstate(over="ignore"):
        for k in range(width):
            h += points[:, k].astype(np.int64) * _HASH_WEIGHTS[k]
    slot = (h % _TABLE).astype(np.int64)  # O(n), no sort: a dense table of hash slots
    used = np.flatnonzero(np.bincount(slot, minlength=_TABLE))
    table = np.zeros(_TABLE, np.int64)
    table[used] = np.arange(used.shape[0])
    group = table[slot]
    first = np.zeros(used.shape[0], np.int64)
    first[group[::-1]] = np.arange(n - 1, -1, -1)  # the first row of each slot
    reps = values[first]
    rank = np.argsort(reps)
    names = reps[rank]
    remap = np.empty(rank.shape[0], np.int64)
    remap[rank] = np.arange(rank.shape[0])
    codes = remap[group]
    if np.unique(names).shape[0] != names.shape[0] or not np.array_equal(names[codes], values):
        names, codes2 = np.unique(values, return_inverse=True)  # hash collision
        return names, codes2.astype(np.int64)
    return names, codes


def distinct_sorted(values: I64) -> I64:
    """Sorted distinct integers (a sort and a diff)."""
    s = np.sort(values)
    if s.shape[0] == 0:
        return s
    kept: I64 = s[np.r_[True, s[1:] != s[:-1]]]
    return kept
