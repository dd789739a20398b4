"""Every strategy's decision agrees with a brute-force optimiser on the strategy's own objective.

The optimiser enumerates every split of the order over every level of every venue in round lots
(small random books), keeps those that trade through no protected quote (each protected quote
better than the worst price used is taken in full), maximises the routed quantity and then
minimises the strategy's objective: ``sum(qty x key)`` with the documented per-share keys, and
for FASTEST the slowest venue used, then the price. The decision must reach the same optimum,
route exactly the parent's quantity, and itself trade through nothing.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from services.routing.core import Strategy
from services.routing.core.router import DecisionContext, Plan, SmartOrderRouter
from services.routing.core.search import Candidate, is_feasible
from tests.support.routing_fakes import CENT, BookVenue, px, sh
from tests.unit.routing.conftest import T_NOW, build_router

LOT = sh(100)
SCENARIOS = 40


def _scenario(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    side = rng.choice(["BUY", "SELL"])
    n = rng.randint(2, 4)
    venues = []
    for i in range(n):
        levels = rng.randint(1, 2 if i < 3 else 1)
        start = rng.randint(0, 3)
        prices = [px("10.00") + (start + j + rng.randint(0, 1)) * CENT for j in range(levels)]
        prices = sorted(set(prices))
        if side == "SELL":
            prices = [px("20.00") - p for p in prices]  # bids best (highest) first
        book = [(p, rng.choice([LOT, 2 * LOT])) for p in prices]
        venues.append(
            BookVenue(
                f"V{i}",
                asks=book if side == "BUY" else [],
                bids=book if side == "SELL" else [],
                taker_fee=rng.choice([-px("0.002"), 0, px("0.001"), px("0.003"), px("0.0035")]),
                kind="INTERNAL" if i == n - 1 and rng.random() < 0.4 else "EXTERNAL",
                protected=rng.random() < 0.8,
                latency_ns=rng.choice([200_000, 1_000_000, 5_000_000, 20_000_000]),
            )
        )
    qty = rng.randint(1, 9) * LOT
    limit = 0 if rng.random() < 0.5 else (px("10.03") if side == "BUY" else px("9.97"))
    return {"side": side, "venues": venues, "qty": qty, "limit": limit, "rng": rng}


def _router(sc: dict[str, Any]) -> SmartOrderRouter:
    router, _, _ = build_router(*sc["venues"])
    rng = sc["rng"]
    for v in sc["venues"]:  # learned statistics differ per venue, so the strategies disagree
        for _ in range(rng.randint(0, 6)):
            router.stats.observe_child(
                v.vid,
                ts_ns=T_NOW - 10**9,
                sent=LOT,
                filled=rng.choice([0, LOT // 2, LOT]),
                rejected=rng.random() < 0.2,
                latency_ns=v.latency_ns,
                improvement_per_share=float(rng.choice([0, CENT // 10])),
                effective_spread=float(CENT),
            )
    return router


def _trades_through_nothing(side: str, legs: list[tuple[Candidate, int]], plan: Plan) -> bool:
    """Written apart from the core: no protected quote better than a price used is left."""
    used = [c.price for c, q in legs if q]
    if not used:
        return True
    worst = max(used) if side == "BUY" else min(used)
    for p in plan.protected:
        better = p.protect_price < worst if side == "BUY" else p.protect_price > worst
        taken = sum(q for c, q in legs if c.venue_id == p.venue_id and c.level == 0)
        if better and taken < p.size:
            return False
    return True


def _levels_by_venue(plan: Plan) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {}
    for c in sorted(plan.candidates, key=lambda c: (c.venue_id, c.level)):
        out.setdefault(c.venue_id, []).append(c)
    return out


def _brute_force(side: str, plan: Plan, strategy: Strategy) -> tuple[int, tuple[float, int]]:
    cands = plan.candidates
    best: tuple[int, tuple[float, int]] | None = None
    ranges = [range(0, c.size // LOT + 1) for c in cands]
    for lots in itertools.product(*ranges):
        legs = [(c, k * LOT) for c, k in zip(cands, lots, strict=True)]
        qty = sum(q for _, q in legs)
        if qty > plan.target or not _trades_through_nothing(side, legs, plan):
            continue
        objective = sum(q * c.key for c, q in legs)
        if strategy == Strategy.FASTEST:
            used = {c.venue_id for c, q in legs if q}
            value: tuple[float, int] = (max((plan.speed[v] for v in used), default=0.0), objective)
        else:
            value = (0.0, objective)
        if best is None or qty > best[0] or (qty == best[0] and value < best[1]):
            best = (qty, value)
    assert best is not None
    return best


def _decision_value(plan: Plan, decision: Any, strategy: Strategy) -> tuple[int, tuple[float, int]]:
    levels = _levels_by_venue(plan)
    qty = objective = 0
    used = set()
    for child in decision.children:
        if child.kind == "RESIDUAL":
            continue
        left = child.quantity
        used.add(child.venue_id)
        for c in levels[child.venue_id]:  # a venue fills best level first up to the limit
            take = min(left, c.size)
            objective += take * c.key
            left -= take
        assert left == 0
        qty += child.quantity
    speed = max((plan.speed[v] for v in used), default=0.0) if strategy == Strategy.FASTEST else 0.0
    return qty, (speed, objective)


@pytest.mark.parametrize("strategy", list(Strategy), ids=lambda s: s.value)
@pytest.mark.parametrize("seed", range(SCENARIOS))
async def test_decision_matches_brute_force_optimum(strategy: Strategy, seed: int) -> None:
    sc = _scenario(seed)
    router = _router(sc)
    decision = await router.route_order(
        f"o{seed}", "u1", "XYZ", sc["side"], sc["qty"], sc["limit"], strategy
    )
    plan = router.prepare(
        "XYZ", sc["side"], sc["qty"], sc["limit"], strategy, T_NOW, router.rules.at(T_NOW),
        DecisionContext(),
    )  # fmt: skip
    assert decision.routed_quantity == sc["qty"]
    legs = []
    levels = _levels_by_venue(plan)
    for child in decision.children:
        if child.kind == "RESIDUAL":
            continue
        left = child.quantity
        for c in levels[child.venue_id]:
            take = min(left, c.size)
            legs.append((c, take))
            left -= take
    assert _trades_through_nothing(sc["side"], legs, plan)
    assert is_feasible(sc["side"], legs, plan.protected)
    assert _decision_value(plan, decision, strategy) == _brute_force(sc["side"], plan, strategy)


def test_scenarios_exercise_protection_and_residuals() -> None:
    """The random books are not trivial: some force ISOs, some leave residuals."""
    iso = residual = 0
    for seed in range(SCENARIOS):
        sc = _scenario(seed)
        router = _router(sc)
        plan = router.prepare(
            "XYZ", sc["side"], sc["qty"], sc["limit"], Strategy.BEST_PRICE, T_NOW,
            router.rules.at(T_NOW),
        )  # fmt: skip
        d = router.decide(
            "o", "u", "XYZ", sc["side"], sc["qty"], sc["limit"], Strategy.BEST_PRICE, T_NOW,
            router.rules.at(T_NOW),
        )  # fmt: skip
        iso += any(c.kind == "ISO" for c in d.children)
        residual += plan.target < sc["qty"]
    assert iso >= 5
    assert residual >= 5
