"""In-memory venues for the routing core's tests: a book per venue that IOC children sweep.

``BookVenue`` keeps its own levels (price, size) per side, fills a child against them best
first up to its limit, charges its taker fee per share and can misbehave on request: reject,
answer late (after the router's timeout, with the fill already done so the cancel must report
it), lose its session before or after sending, or fail its cancel too. ``publish`` copies the
venue's book into a market view, as its quotes on ``marketdata.quotes`` would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.routing.core import (
    ChildOrder,
    ChildReport,
    ChildStatus,
    ExecutionVenue,
    Fill,
    VenueProfile,
    VenueUnavailable,
)

SCALE = 10**9
SHARE = SCALE
CENT = SCALE // 100


def px(text: str) -> int:
    """Raw price of a decimal string (exact)."""
    whole, _, frac = text.partition(".")
    frac = (frac + "0" * 9)[:9]
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole or "0")) * SCALE + int(frac))


def sh(n: int) -> int:
    """Raw quantity of ``n`` shares."""
    return n * SHARE


@dataclass
class Behaviour:
    """How a venue misbehaves (all off by default)."""

    reject: bool = False
    delay_s: float = 0.0  # answer after this long (the fill happens at once)
    drop_before_send: bool = False
    drop_after_fill: bool = False  # fill, then lose the session before answering
    cancel_fails: bool = False
    fill_fraction: float = 1.0  # share of the matchable quantity that fills (hidden fade)


@dataclass
class BookVenue(ExecutionVenue):
    """A venue over plain lists: ``asks``/``bids`` are [(price, size)] best first, raw."""

    vid: str
    asks: list[tuple[int, int]] = field(default_factory=list)
    bids: list[tuple[int, int]] = field(default_factory=list)
    taker_fee: int = 0
    kind: str = "EXTERNAL"
    protected: bool = True
    latency_ns: int = 1_000_000
    behaviour: Behaviour = field(default_factory=Behaviour)
    available: bool = True
    sent: list[ChildOrder] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    fills_by_child: dict[str, list[Fill]] = field(default_factory=dict)
    market: Any = None  # when set, the venue republishes its book after every match
    symbol: str = "XYZ"
    clock: Any = None
    _seq: int = 0

    @property
    def profile(self) -> VenueProfile:
        return VenueProfile(
            venue_id=self.vid,
            kind=self.kind,  # type: ignore[arg-type]
            protected=self.protected,
            taker_fee=self.taker_fee,
            expected_latency_ns=self.latency_ns,
        )

    def is_available(self) -> bool:
        return self.available

    def publish(self, market: Any, symbol: str, ts_ns: int) -> None:
        market.update_depth(symbol, self.vid, list(self.bids), list(self.asks), ts_ns)

    def _match(self, child: ChildOrder) -> list[Fill]:
        book = self.asks if child.side == "BUY" else self.bids
        want = int(child.quantity * self.behaviour.fill_fraction)
        fills: list[Fill] = []
        i = 0
        while want > 0 and i < len(book):
            price, size = book[i]
            if child.limit_price and (
                price > child.limit_price if child.side == "BUY" else price < child.limit_price
            ):
                break
            take = min(size, want)
            self._seq += 1
            fills.append(
                Fill(
                    fill_id=f"{self.vid}-{self._seq}",
                    child_id=child.child_id,
                    venue_id=self.vid,
                    price=price,
                    quantity=take,
                    fee=self.taker_fee * take // SCALE,
                    ts_event=self._seq,
                )
            )
            want -= take
            if take == size:
                book.pop(i)
            else:
                book[i] = (price, size - take)
                i += 1
        self.fills_by_child.setdefault(child.child_id, []).extend(fills)
        if self.market is not None and fills:
            self.publish(self.market, self.symbol, self.clock() if self.clock else 0)
        return fills

    def _report(self, child: ChildOrder, status: ChildStatus | None = None) -> ChildReport:
        fills = tuple(self.fills_by_child.get(child.child_id, []))
        got = sum(f.quantity for f in fills)
        if status is None:
            status = (
                ChildStatus.FILLED
                if got == child.quantity
                else ChildStatus.PARTIALLY_FILLED
                if got
                else ChildStatus.CANCELED
            )
        return ChildReport(child_id=child.child_id, venue_id=self.vid, status=status, fills=fills)

    async def submit(self, child: ChildOrder) -> ChildReport:
        b = self.behaviour
        if b.drop_before_send or not self.available:
            raise VenueUnavailable(self.vid, "session down", order_sent=False)
        self.sent.append(child)
        if b.reject:
            return ChildReport(
                child_id=child.child_id,
                venue_id=self.vid,
                status=ChildStatus.REJECTED,
                reason="venue rejects",
            )
        self._match(child)
        if b.drop_after_fill:
            raise VenueUnavailable(self.vid, "session lost", order_sent=True)
        if b.delay_s:
            await asyncio.sleep(b.delay_s)
        return self._report(child)

    async def cancel(self, child: ChildOrder) -> ChildReport:
        self.cancels.append(child.child_id)
        if self.behaviour.cancel_fails:
            raise VenueUnavailable(self.vid, "cannot confirm", order_sent=True)
        return self._report(child)


class NoHalts:
    """A halt check that never refuses."""

    def check(self, user_id: str, symbol: str, ts_ns: int) -> str | None:
        return None
