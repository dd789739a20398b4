"""What the router reads of the market: the view's interface and its conversion to core types.

The compiled :class:`nexus._ext.nbbo.MarketView` satisfies :class:`MarketSource`; so does the
pure-Python twin in ``tests/support/nbbo_reference.py``. The router never writes to a venue from
here: quotes come in (``on_quote``), snapshots go out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from nexus.events import QuoteDepth, QuoteL1
from services.routing.core.types import NbboSnapshot, Side

#: Side codes of the market view (bid levels, ask levels).
SIDE_BID = 0
SIDE_ASK = 1
_STATES = ("EMPTY", "ONE_SIDED", "NORMAL", "LOCKED", "CROSSED")
STATE_CROSSED = 4


class NbboLike(Protocol):
    """The NBBO as a market view reports it."""

    @property
    def symbol(self) -> str: ...
    @property
    def bid_price(self) -> int: ...
    @property
    def bid_size(self) -> int: ...
    @property
    def bid_venues(self) -> tuple[str, ...]: ...
    @property
    def ask_price(self) -> int: ...
    @property
    def ask_size(self) -> int: ...
    @property
    def ask_venues(self) -> tuple[str, ...]: ...
    @property
    def state(self) -> int: ...
    @property
    def ts_event(self) -> int: ...
    @property
    def stale_venues(self) -> int: ...


class QuoteLike(Protocol):
    """One venue's top of book with its last change (for the flickering-quote exception)."""

    @property
    def venue(self) -> str: ...
    @property
    def protected(self) -> bool: ...
    @property
    def stale(self) -> bool: ...
    @property
    def bid_price(self) -> int: ...
    @property
    def bid_size(self) -> int: ...
    @property
    def ask_price(self) -> int: ...
    @property
    def ask_size(self) -> int: ...
    @property
    def ts_event(self) -> int: ...
    @property
    def prev_bid_price(self) -> int: ...
    @property
    def bid_changed_ns(self) -> int: ...
    @property
    def prev_ask_price(self) -> int: ...
    @property
    def ask_changed_ns(self) -> int: ...


class MarketSource(Protocol):
    """A market view: venue book mirrors and the NBBO over them (raw fixed-point ints)."""

    def add_venue(self, venue: str, protected: bool = True) -> int: ...
    def update_l1(
        self,
        symbol: str,
        venue: str,
        bid_price: int,
        bid_size: int,
        ask_price: int,
        ask_size: int,
        ts_ns: int,
    ) -> bool: ...
    def update_depth(
        self,
        symbol: str,
        venue: str,
        bids: Iterable[tuple[int, int]],
        asks: Iterable[tuple[int, int]],
        ts_ns: int,
    ) -> bool: ...
    def clear_venue(self, venue: str) -> None: ...
    def nbbo(self, symbol: str, now_ns: int) -> NbboLike: ...
    def book_side(
        self, symbol: str, side: int, now_ns: int
    ) -> list[tuple[str, bool, list[tuple[int, int]]]]: ...
    def quotes(self, symbol: str, now_ns: int) -> list[QuoteLike]: ...


def apply_quote(market: MarketSource, quote: QuoteL1 | QuoteDepth) -> bool:
    """Feed one ``marketdata.quotes`` event into the view; False if older than what it holds."""
    if isinstance(quote, QuoteL1):
        return market.update_l1(
            quote.symbol,
            quote.venue,
            quote.bid_price,
            quote.bid_size,
            quote.ask_price,
            quote.ask_size,
            quote.ts_event,
        )
    return market.update_depth(
        quote.symbol,
        quote.venue,
        [(lv.price, lv.size) for lv in quote.bids],
        [(lv.price, lv.size) for lv in quote.asks],
        quote.ts_event,
    )


def snapshot(nbbo: NbboLike) -> NbboSnapshot:
    """The core's frozen copy of a market view's NBBO."""
    return NbboSnapshot(
        symbol=nbbo.symbol,
        bid_price=nbbo.bid_price,
        bid_size=nbbo.bid_size,
        bid_venues=tuple(nbbo.bid_venues),
        ask_price=nbbo.ask_price,
        ask_size=nbbo.ask_size,
        ask_venues=tuple(nbbo.ask_venues),
        state=_STATES[nbbo.state],  # type: ignore[arg-type]
        ts_event=nbbo.ts_event,
    )


def taking_side(side: Side) -> int:
    """The book side an order of ``side`` takes liquidity from (a BUY lifts offers)."""
    return SIDE_ASK if side == "BUY" else SIDE_BID


def far_price(nbbo: NbboSnapshot, side: Side) -> int:
    """The protected price an order of ``side`` would take (offer for BUY, bid for SELL)."""
    return nbbo.ask_price if side == "BUY" else nbbo.bid_price
