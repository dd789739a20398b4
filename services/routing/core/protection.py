"""Order protection as a pluggable policy (Reg NMS Rule 611, which may be repealed).

A policy answers one question for a decision: which displayed quotes on the side being taken
must not be traded through, and at what price each stops protecting (``protect_price``). The
router's search then only considers splits that take every such quote *in full* (as an
intermarket sweep order, ISO) before executing anywhere at a worse price.

:class:`Rule611` protects the top of book of every fresh quote of a protected venue (automated
and displayed) of at least a round lot, with the exceptions of Rule 611(b):

* **crossed market** (b)(4): when the protected NBBO is crossed nothing is protected;
* **flickering quote** (b)(8): a venue that displayed, within the last second, a price equal to
  or worse than the trade's does not protect its newer, better price against that trade, so its
  ``protect_price`` is the worse price it displayed in the window;
* **self-help** (b)(1): a venue the router has declared in self-help (it failed to respond: a
  timeout, a lost session, or it is down) protects nothing;
* **ISO** (b)(5)/(6): recorded for every quote the decision sweeps in full.

:class:`NoOrderProtection` is the policy without Rule 611.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.routing.core.market import QuoteLike
from services.routing.core.types import NbboSnapshot, ProtectionException, Side

#: Rule 611(b)(8) window.
FLICKER_WINDOW_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ProtectedQuote:
    """A quote the decision must not trade through: taken in full before any worse price.

    ``protect_price`` equals ``price`` unless the flickering-quote exception relaxes it to the
    worse price the venue displayed within the window.
    """

    venue_id: str
    price: int
    size: int
    protect_price: int


@dataclass(frozen=True, slots=True)
class ExceptedQuote:
    """A displayed quote that an exception takes out of protection (recorded only if used)."""

    venue_id: str
    price: int
    size: int
    kind: str  # CROSSED_MARKET, SELF_HELP, FLICKERING_QUOTE
    detail: str


@dataclass(frozen=True, slots=True)
class ProtectionContext:
    """What a policy sees: the order's side, the quotes, the NBBO, time and self-help venues.

    ``round_lot`` gives the round lot (raw shares) at a price, from the rule set in force.
    """

    side: Side
    quotes: Sequence[QuoteLike]
    nbbo: NbboSnapshot
    now_ns: int
    self_help: frozenset[str]
    round_lot: Callable[[int], int]


class OrderProtection(Protocol):
    """An order-protection policy."""

    @property
    def name(self) -> str: ...

    def protected_quotes(
        self, ctx: ProtectionContext
    ) -> tuple[list[ProtectedQuote], list[ExceptedQuote]]: ...


class NoOrderProtection:
    """No order protection: every split is allowed (Rule 611 repealed or not applicable)."""

    name = "NONE"

    def protected_quotes(
        self, ctx: ProtectionContext
    ) -> tuple[list[ProtectedQuote], list[ExceptedQuote]]:
        """Nothing is protected."""
        return [], []


class Rule611:
    """Reg NMS Rule 611 order protection with its exceptions (see the module docstring)."""

    name = "REG_NMS_611"

    def __init__(self, flicker_window_ns: int = FLICKER_WINDOW_NS) -> None:
        self.flicker_window_ns = flicker_window_ns

    def protected_quotes(
        self, ctx: ProtectionContext
    ) -> tuple[list[ProtectedQuote], list[ExceptedQuote]]:
        """The quotes on the side taken that must be swept before a worse price, and the excepted."""
        buy = ctx.side == "BUY"
        protected: list[ProtectedQuote] = []
        excepted: list[ExceptedQuote] = []
        crossed = ctx.nbbo.state == "CROSSED"
        for q in ctx.quotes:
            if q.stale or not q.protected:
                continue
            price = q.ask_price if buy else q.bid_price
            size = q.ask_size if buy else q.bid_size
            if price <= 0 or size < ctx.round_lot(price):
                continue
            if crossed:
                excepted.append(
                    ExceptedQuote(
                        q.venue,
                        price,
                        size,
                        "CROSSED_MARKET",
                        f"protected NBBO crossed ({ctx.nbbo.bid_price} > {ctx.nbbo.ask_price})",
                    )
                )
                continue
            if q.venue in ctx.self_help:
                excepted.append(
                    ExceptedQuote(
                        q.venue, price, size, "SELF_HELP", "venue failed to respond: self-help"
                    )
                )
                continue
            prev = q.prev_ask_price if buy else q.prev_bid_price
            changed = q.ask_changed_ns if buy else q.bid_changed_ns
            protect = price
            recent = 0 <= ctx.now_ns - changed <= self.flicker_window_ns
            if recent and prev > 0 and ((prev > price) if buy else (prev < price)):
                protect = prev
                excepted.append(
                    ExceptedQuote(
                        q.venue,
                        price,
                        size,
                        "FLICKERING_QUOTE",
                        f"displayed {prev} within {self.flicker_window_ns // 1_000_000} ms",
                    )
                )
            protected.append(ProtectedQuote(q.venue, price, size, protect))
        return protected, excepted


def exceptions_used(
    side: Side,
    worst_price: int,
    swept: Sequence[ProtectedQuote],
    excepted: Sequence[ExceptedQuote],
) -> tuple[ProtectionException, ...]:
    """The exceptions a split relies on: ISO for each quote swept in full, and each excepted
    quote that a fill at ``worst_price`` would trade through."""
    buy = side == "BUY"
    out = [
        ProtectionException(
            kind="ISO",
            venue_id=p.venue_id,
            price=p.price,
            quantity=p.size,
            detail="swept in full by an intermarket sweep order",
        )
        for p in swept
    ]
    swept_venues = {p.venue_id for p in swept}
    if worst_price > 0:
        for e in excepted:
            if e.venue_id in swept_venues:
                continue
            if (worst_price > e.price) if buy else (worst_price < e.price):
                out.append(
                    ProtectionException(
                        kind=e.kind,  # type: ignore[arg-type]
                        venue_id=e.venue_id,
                        price=e.price,
                        quantity=e.size,
                        detail=e.detail,
                    )
                )
    return tuple(out)
