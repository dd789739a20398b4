"""What makes one simulated exchange different from another: fees, latency, liquidity, rejects.

Money is raw fixed point (:mod:`nexus.money`, value x 10**9). A fee is *per share*: positive is
a charge, negative a rebate. A maker-taker venue charges the taker and pays the maker; an
inverted (taker-maker) venue pays the taker and charges the maker. Latencies are milliseconds.
"""

from __future__ import annotations

import math
import random
from typing import Annotated, Final

import msgspec
from msgspec import Meta

from nexus.money import to_raw

SCALE: Final = 10**9

Ms = Annotated[float, Meta(ge=0.0, le=60_000.0)]
Probability = Annotated[float, Meta(ge=0.0, le=1.0)]


def mul_raw(a: int, b: int) -> int:
    """``a x b`` of two raw fixed-point values, rounded half-even to the raw unit."""
    q, r = divmod(a * b, SCALE)
    twice = 2 * r
    if twice > SCALE or (twice == SCALE and q % 2):
        q += 1
    return q


class FeeSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """Per-share fees (raw): positive charges, negative rebates."""

    maker_per_share: int
    taker_per_share: int

    @property
    def model(self) -> str:
        """``maker-taker`` when takers pay, ``taker-maker`` (inverted) when makers pay."""
        return "maker-taker" if self.taker_per_share >= self.maker_per_share else "taker-maker"

    def fee(self, quantity_raw: int, *, maker: bool) -> int:
        """Fee (raw money, rebate negative) of ``quantity_raw`` shares on this side."""
        return mul_raw(self.maker_per_share if maker else self.taker_per_share, quantity_raw)


class LatencyModel(msgspec.Struct, frozen=True, kw_only=True):
    """A log-normal order-handling latency: ``median_ms`` x exp(N(0, sigma)), capped."""

    median_ms: Ms = 0.2
    sigma: Annotated[float, Meta(ge=0.0, le=3.0)] = 0.3
    max_ms: Ms = 50.0

    def draw_ms(self, rng: random.Random) -> float:
        """One latency draw in milliseconds."""
        if self.median_ms == 0.0:
            return 0.0
        return min(self.max_ms, self.median_ms * math.exp(rng.gauss(0.0, self.sigma)))


class VenueProfile(msgspec.Struct, frozen=True, kw_only=True):
    """One exchange: identity, fees, latency and how its participants quote.

    Participants keep ``levels`` price levels a side, ``spread_ticks`` apart at the top and one
    tick apart below, around the fundamental; each level holds ``orders_per_level`` orders of
    ``lot`` x U{1..max_lots} shares. ``fade_probability`` is the chance that the top of book
    shrinks under an arriving marketable order (the quote fades: a partial fill);
    ``reject_probability`` the chance an order is refused outright (venue busy).
    """

    name: Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9]{1,15}$")]
    fees: FeeSchedule
    latency: LatencyModel = LatencyModel()
    tick: str = "0.01"
    lot: Annotated[int, Meta(ge=1)] = 100
    max_lots: Annotated[int, Meta(ge=1)] = 5
    levels: Annotated[int, Meta(ge=1, le=50)] = 5
    orders_per_level: Annotated[int, Meta(ge=1, le=20)] = 2
    spread_ticks: Annotated[int, Meta(ge=1, le=100)] = 1
    offset_ticks: Annotated[int, Meta(ge=0, le=100)] = 0
    fade_probability: Probability = 0.05
    reject_probability: Probability = 0.0
    requote_ms: Annotated[float, Meta(ge=1.0, le=60_000.0)] = 500.0
    seed: int = 1

    @property
    def tick_raw(self) -> int:
        """The tick size, raw."""
        return to_raw(self.tick)

    @property
    def lot_raw(self) -> int:
        """One round lot, raw shares."""
        return self.lot * SCALE


def _per_share(text: str) -> int:
    return to_raw(text)


#: The venues ``make run`` starts: a maker-taker, an inverted and a slower venue.
PROFILES: Final[dict[str, VenueProfile]] = {
    "ALPHA": VenueProfile(
        name="ALPHA",
        fees=FeeSchedule(
            maker_per_share=_per_share("-0.0020"), taker_per_share=_per_share("0.0030")
        ),
        latency=LatencyModel(median_ms=0.3, sigma=0.3),
        levels=5,
        max_lots=5,
        seed=11,
    ),
    "BRAVO": VenueProfile(
        name="BRAVO",
        fees=FeeSchedule(
            maker_per_share=_per_share("0.0010"), taker_per_share=_per_share("-0.0005")
        ),
        latency=LatencyModel(median_ms=0.5, sigma=0.4),
        levels=4,
        max_lots=3,
        fade_probability=0.10,
        seed=23,
    ),
    "CHARLIE": VenueProfile(
        name="CHARLIE",
        fees=FeeSchedule(
            maker_per_share=_per_share("-0.0015"), taker_per_share=_per_share("0.0025")
        ),
        latency=LatencyModel(median_ms=3.0, sigma=0.6, max_ms=40.0),
        levels=8,
        max_lots=8,
        spread_ticks=2,
        reject_probability=0.01,
        seed=37,
    ),
}
