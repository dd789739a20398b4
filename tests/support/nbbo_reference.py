"""Pure-Python twin of the compiled market view (``nexus._ext.nbbo.MarketView``).

Same interface and semantics, written for obviousness rather than speed: the property tests
check the compiled view against it and against a brute-force scan of the quote history, and the
benchmarks race the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

STATE_EMPTY, STATE_ONE_SIDED, STATE_NORMAL, STATE_LOCKED, STATE_CROSSED = range(5)
SIDE_BID, SIDE_ASK = 0, 1
STATE_NAMES = ("EMPTY", "ONE_SIDED", "NORMAL", "LOCKED", "CROSSED")


@dataclass(frozen=True, slots=True)
class Nbbo:
    symbol: str
    bid_price: int = 0
    bid_size: int = 0
    bid_venues: tuple[str, ...] = ()
    ask_price: int = 0
    ask_size: int = 0
    ask_venues: tuple[str, ...] = ()
    state: int = STATE_EMPTY
    ts_event: int = 0
    stale_venues: int = 0

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state]


@dataclass(frozen=True, slots=True)
class VenueQuote:
    venue: str
    protected: bool
    stale: bool
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int
    ts_event: int
    prev_bid_price: int
    bid_changed_ns: int
    prev_ask_price: int
    ask_changed_ns: int


@dataclass(slots=True)
class _Mirror:
    ts: int = -1
    sides: list[list[tuple[int, int]]] = field(default_factory=lambda: [[], []])
    prev: list[int] = field(default_factory=lambda: [0, 0])
    changed: list[int] = field(default_factory=lambda: [0, 0])


def state_of(bid: int, ask: int) -> int:
    """The market state of a best bid and offer (0 = side empty)."""
    if not bid and not ask:
        return STATE_EMPTY
    if not bid or not ask:
        return STATE_ONE_SIDED
    if bid > ask:
        return STATE_CROSSED
    if bid == ask:
        return STATE_LOCKED
    return STATE_NORMAL


class ReferenceMarketView:
    """Plain dicts and lists; see ``ext/nexus/_ext/nbbo.pyx`` for the semantics."""

    def __init__(self, max_age_ns: int = 0, max_venues: int = 32, max_depth: int = 16) -> None:
        self.max_age_ns = max_age_ns
        self.max_venues = max_venues
        self.max_depth = max_depth
        self._names: list[str] = []
        self._protected: dict[str, bool] = {}
        self._books: dict[str, dict[str, _Mirror]] = {}

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(self._names)

    def symbols(self) -> tuple[str, ...]:
        return tuple(self._books)

    def _handle(self, venue: str) -> int:
        if venue not in self._protected:
            if len(self._names) >= self.max_venues:
                raise OverflowError(f"market view holds at most {self.max_venues} venues")
            self._names.append(venue)
            self._protected[venue] = True
        return self._names.index(venue)

    def add_venue(self, venue: str, protected: bool = True) -> int:
        h = self._handle(venue)
        self._protected[venue] = protected
        return h

    def is_protected(self, venue: str) -> bool:
        return self._protected.get(venue, False)

    def _mirror(self, symbol: str, venue: str) -> _Mirror:
        self._handle(venue)
        return self._books.setdefault(symbol, {}).setdefault(venue, _Mirror())

    @staticmethod
    def _set_top(m: _Mirror, side: int, px: int, sz: int, ts: int) -> None:
        old = m.sides[side][0][0] if m.sides[side] else 0
        if px <= 0 or sz <= 0:
            m.sides[side] = []
        else:
            worse = [(p, s) for p, s in m.sides[side] if (p < px if side == SIDE_BID else p > px)]
            m.sides[side] = [(px, sz), *worse]
        new = m.sides[side][0][0] if m.sides[side] else 0
        if new != old:
            m.prev[side] = old
            m.changed[side] = ts

    def update_l1(
        self,
        symbol: str,
        venue: str,
        bid_price: int,
        bid_size: int,
        ask_price: int,
        ask_size: int,
        ts_ns: int,
    ) -> bool:
        m = self._mirror(symbol, venue)
        if ts_ns < m.ts:
            return False
        m.ts = ts_ns
        self._set_top(m, SIDE_BID, bid_price, bid_size, ts_ns)
        self._set_top(m, SIDE_ASK, ask_price, ask_size, ts_ns)
        for side in (SIDE_BID, SIDE_ASK):
            m.sides[side] = m.sides[side][: self.max_depth]
        return True

    def update_depth(
        self,
        symbol: str,
        venue: str,
        bids: Iterable[tuple[int, int]],
        asks: Iterable[tuple[int, int]],
        ts_ns: int,
    ) -> bool:
        m = self._mirror(symbol, venue)
        if ts_ns < m.ts:
            return False
        levels = [list(bids), list(asks)]
        for side, lv in enumerate(levels):
            for i, (p, s) in enumerate(lv):
                if p <= 0 or s <= 0:
                    raise ValueError("depth levels need price > 0 and size > 0")
                if i and not (p < lv[i - 1][0] if side == SIDE_BID else p > lv[i - 1][0]):
                    raise ValueError("depth levels must be strictly ordered best first")
        m.ts = ts_ns
        for side, lv in enumerate(levels):
            old = m.sides[side][0][0] if m.sides[side] else 0
            m.sides[side] = [(int(p), int(s)) for p, s in lv][: self.max_depth]
            new = m.sides[side][0][0] if m.sides[side] else 0
            if new != old:
                m.prev[side] = old
                m.changed[side] = ts_ns
        return True

    def clear_venue(self, venue: str) -> None:
        for book in self._books.values():
            book.pop(venue, None)

    def _fresh(self, m: _Mirror, now_ns: int) -> bool:
        return m.ts >= 0 and not (self.max_age_ns > 0 and now_ns - m.ts > self.max_age_ns)

    def _ordered(self, symbol: str) -> list[tuple[str, _Mirror]]:
        book = self._books.get(symbol, {})
        return [(v, book[v]) for v in self._names if v in book and book[v].ts >= 0]

    def nbbo(self, symbol: str, now_ns: int) -> Nbbo:
        bid = ask = bid_sz = ask_sz = stale = 0
        bid_v: list[str] = []
        ask_v: list[str] = []
        for venue, m in self._ordered(symbol):
            if not self._fresh(m, now_ns):
                stale += 1
                continue
            if not self._protected[venue]:
                continue
            if m.sides[SIDE_BID]:
                p, s = m.sides[SIDE_BID][0]
                if p > bid:
                    bid, bid_sz, bid_v = p, s, [venue]
                elif p == bid:
                    bid_sz += s
                    bid_v.append(venue)
            if m.sides[SIDE_ASK]:
                p, s = m.sides[SIDE_ASK][0]
                if not ask or p < ask:
                    ask, ask_sz, ask_v = p, s, [venue]
                elif p == ask:
                    ask_sz += s
                    ask_v.append(venue)
        return Nbbo(
            symbol, bid, bid_sz, tuple(bid_v), ask, ask_sz, tuple(ask_v),
            state_of(bid, ask), now_ns, stale,
        )  # fmt: skip

    def levels(self, symbol: str, venue: str, side: int, now_ns: int) -> list[tuple[int, int]]:
        m = self._books.get(symbol, {}).get(venue)
        if m is None or not self._fresh(m, now_ns):
            return []
        return list(m.sides[side])

    def book_side(
        self, symbol: str, side: int, now_ns: int
    ) -> list[tuple[str, bool, list[tuple[int, int]]]]:
        return [
            (v, self._protected[v], list(m.sides[side]))
            for v, m in self._ordered(symbol)
            if self._fresh(m, now_ns) and m.sides[side]
        ]

    def quotes(self, symbol: str, now_ns: int) -> list[VenueQuote]:
        out = []
        for v, m in self._ordered(symbol):
            b = m.sides[SIDE_BID][0] if m.sides[SIDE_BID] else (0, 0)
            a = m.sides[SIDE_ASK][0] if m.sides[SIDE_ASK] else (0, 0)
            out.append(
                VenueQuote(
                    v,
                    self._protected[v],
                    not self._fresh(m, now_ns),
                    b[0],
                    b[1],
                    a[0],
                    a[1],
                    m.ts,
                    m.prev[SIDE_BID],
                    m.changed[SIDE_BID],
                    m.prev[SIDE_ASK],
                    m.changed[SIDE_ASK],
                )
            )
        return out
