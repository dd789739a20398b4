"""Toxicity feedback: a venue whose fills are followed by adverse moves gets less SMART flow."""

from __future__ import annotations

import math

from services.routing.core import Strategy
from services.routing.reports.feedback import ToxicityAdjustedStats, penalties_from_markouts
from services.routing.reports.venues import VenueMarkout
from tests.support.routing_fakes import BookVenue, px, sh
from tests.unit.routing.conftest import T_NOW, build_router


def _markout(venue: str, vs_price_10s: float) -> VenueMarkout:
    return VenueMarkout(
        venue=venue,
        fills=10,
        shares=1000.0,
        markout_bps={"10s": 0.0},
        markout_vs_price={"10s": vs_price_10s},
        toxicity_bps=0.0,
    )


def test_penalties_take_only_adverse_markouts() -> None:
    rows = [_markout("A", -0.004), _markout("B", 0.002), _markout("C", math.nan)]
    assert penalties_from_markouts(rows) == {"A": px("0.004")}
    assert penalties_from_markouts(rows, weight=0.5) == {"A": px("0.002")}


def _split(stats: ToxicityAdjustedStats) -> dict[str, int]:
    a = BookVenue("A", asks=[(px("100.01"), sh(500))], taker_fee=px("0.0010"))
    b = BookVenue("B", asks=[(px("100.01"), sh(500))], taker_fee=px("0.0020"))
    router, _, _ = build_router(a, b, stats=stats)
    decision = router.decide(
        "o", "u", "XYZ", "BUY", sh(300), 0, Strategy.SMART, T_NOW, router.rules.at(T_NOW)
    )
    out: dict[str, int] = {}
    for child in decision.children:
        out[child.venue_id] = out.get(child.venue_id, 0) + child.quantity
    return out


def test_smart_shifts_flow_away_from_a_toxic_venue() -> None:
    stats = ToxicityAdjustedStats()
    assert _split(stats) == {"A": sh(300)}  # cheaper fee: all to A
    # A's fills are followed by a 0.4 cent adverse move per share: more than the fee gap
    stats.set_penalties(penalties_from_markouts([_markout("A", -0.004), _markout("B", 0.001)]))
    assert _split(stats) == {"B": sh(300)}
    stats.set_penalties({})
    assert _split(stats) == {"A": sh(300)}
