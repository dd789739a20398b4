"""Random venue faults: the parent never over-fills and every venue-side fill is accounted.

Each case draws venues that reject, fade, answer after the timeout, lose their session before
or after filling, or cannot confirm a cancel, and a random parent. Whatever happens:

* ``filled + leaves + in_doubt == quantity`` and ``filled <= quantity``;
* every fill the router counts happened at a venue, and every fill a venue made for this
  parent is either counted or inside the in-doubt quantity (nothing lost, nothing invented);
* no fill is at a price worse than the protected NBBO of its decision unless its child was an
  ISO (the sweep took the better quotes) or an exception was recorded.
"""

from __future__ import annotations

import random

import pytest

from services.routing.core import RouterConfig, Strategy
from tests.support.routing_fakes import CENT, Behaviour, BookVenue, px, sh
from tests.unit.routing.conftest import build_router

CASES = 60
CONFIG = RouterConfig(child_timeout_s=0.01, cancel_timeout_s=0.01)


def _behaviour(rng: random.Random) -> Behaviour:
    roll = rng.random()
    if roll < 0.45:
        return Behaviour()
    return rng.choice(
        [
            Behaviour(reject=True),
            Behaviour(fill_fraction=rng.choice([0.0, 0.3, 0.5])),
            Behaviour(delay_s=0.03),
            Behaviour(delay_s=0.03, cancel_fails=True),
            Behaviour(drop_before_send=True),
            Behaviour(drop_after_fill=True),
            Behaviour(drop_after_fill=True, cancel_fails=True),
        ]
    )


@pytest.mark.parametrize("seed", range(CASES))
async def test_random_faults_never_overfill_and_lose_nothing(seed: int) -> None:
    rng = random.Random(1000 + seed)
    side = rng.choice(["BUY", "SELL"])
    venues = []
    for i in range(rng.randint(2, 5)):
        base = px("10.00") + rng.randint(0, 3) * CENT
        levels = [(base + k * CENT, sh(100 * rng.randint(1, 4))) for k in range(rng.randint(1, 3))]
        if side == "SELL":
            levels = [(px("20.00") - p, s) for p, s in levels]
        venues.append(
            BookVenue(
                f"V{i}",
                asks=levels if side == "BUY" else [],
                bids=levels if side == "SELL" else [],
                taker_fee=rng.choice([0, px("0.002"), -px("0.001")]),
                kind="INTERNAL" if i == 0 and rng.random() < 0.3 else "EXTERNAL",
                protected=rng.random() < 0.85,
                behaviour=_behaviour(rng),
            )
        )
    router, _, _ = build_router(*venues, config=CONFIG)
    qty = sh(100 * rng.randint(1, 15))
    strategy = rng.choice(list(Strategy))
    r = await router.route_and_execute(f"P{seed}", "u", "XYZ", side, qty, 0, strategy)

    assert r.filled_quantity + r.leaves_quantity + r.in_doubt_quantity == qty
    assert 0 <= r.filled_quantity <= qty and r.in_doubt_quantity >= 0
    venue_fills = {
        f.fill_id: f for v in venues for fills in v.fills_by_child.values() for f in fills
    }
    counted = {f.fill_id for f in r.fills}
    assert counted <= set(venue_fills)  # nothing invented
    uncounted = sum(f.quantity for fid, f in venue_fills.items() if fid not in counted)
    assert uncounted <= r.in_doubt_quantity  # nothing lost: only what is declared in doubt
    assert r.filled_quantity == sum(venue_fills[f].quantity for f in counted)

    decisions = {d.round: d for d in r.decisions}
    iso = {c.order.child_id for c in r.children if c.order.iso}
    rounds = {c.order.child_id: c.round for c in r.children}
    for f in r.fills:
        d = decisions[rounds[f.child_id]]
        far = d.nbbo.ask_price if side == "BUY" else d.nbbo.bid_price
        worse = far and ((f.price > far) if side == "BUY" else (f.price < far))
        if worse:
            assert f.child_id in iso or d.protection_exceptions, (f, d.nbbo)
    assert r.quality.trade_throughs == 0
