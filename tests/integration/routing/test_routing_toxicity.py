"""Venue toxicity in the running service: recorded fills followed by adverse mid moves at one
venue, one refresh, and SMART sends less of a parent there (real FIX venues and PostgreSQL)."""

from __future__ import annotations

from collections import Counter

import pytest

from nexus.money import to_raw
from services.routing.toxicity import MIN_FILLS
from tests.integration.routing.conftest import RoutingStack, oid, parent_body
from tests.integration.routing_reports.flow import MS, Fill, Flow, Parent, S, write

pytestmark = pytest.mark.integration

LIT = ("ALPHA", "BRAVO", "CHARLIE")  # the venues quoting RT0
CENT = S // 100
DECISIONS = 8


async def _smart_split(rs: RoutingStack) -> Counter[str]:
    """Shares SMART routes per venue over a few decision-only buys of 300 RT0 (nothing sent)."""
    out: Counter[str] = Counter()
    async with rs.client("u-toxic") as http:
        for _ in range(DECISIONS):
            answer = await http.post(
                "/route", json=parent_body("RT0", "BUY", "300", strategy="SMART", order_id=oid("X"))
            )
            assert answer.status_code == 200, answer.text
            for child in answer.json()["children"]:
                out[child["venue_id"]] += to_raw(child["quantity"])
    return out


def _recorded(now: int, toxic: str, clean: str, n: int) -> Flow:
    """``n`` filled buys of 1000 at 10.02 per venue from 20 min ago, each of its own symbol
    (mid 10.01 at the fill): after ``toxic``'s fills the mid falls to 9.51, after ``clean``'s
    it rises to 10.06."""
    flow = Flow()
    for k, (venue, move) in enumerate(((toxic, -50 * CENT), (clean, 5 * CENT))):
        for i in range(n):
            t = now - 1_200 * S + (k * n + i) * 2 * S
            bid, ask, sym = 10 * S, 10 * S + 2 * CENT, f"TQ{k}{i:03d}"
            flow.parents.append(Parent(f"TOX{k}{i:03d}", sym, 1, 1_000 * S, 0, t, bid, ask))
            order = len(flow.parents) - 1
            flow.routes.append((order, venue, 1_000 * S))
            flow.fills.append(Fill(order, venue, ask, 1_000 * S, 0, t + MS, False))
            flow.quotes.append((sym, t, bid, ask))
            flow.quotes.append((sym, t + 50 * MS, bid + move, ask + move))
    return flow


async def test_a_venue_whose_fills_see_adverse_moves_gets_less_smart_flow(
    routing_stack: RoutingStack,
) -> None:
    built = routing_stack.built
    before = await _smart_split(routing_stack)
    toxic = max(LIT, key=lambda v: (before[v], v))  # the venue SMART favours now
    clean = next(v for v in LIT if v != toxic)
    assert before[toxic] > 0, before

    await write(built.runtime.pool, _recorded(built.router.clock(), toxic, clean, MIN_FILLS + 5))
    penalties = await built.toxicity.refresh()

    # bought at 10.02, mid 9.51 ten seconds on: 0.51 per share adverse; the clean venue: none
    assert penalties == {toxic: to_raw("0.51")}
    async with routing_stack.client("u-toxic") as http:
        venues = {v["venue"]: v for v in (await http.get("/venues")).json()}
    assert venues[toxic]["toxicity_penalty"] == "0.51"
    assert venues[clean]["toxicity_penalty"] == "0"

    after = await _smart_split(routing_stack)
    assert after[toxic] < before[toxic], (before, after)
    assert sum(after.values()) == sum(before.values()) == DECISIONS * to_raw("300")
