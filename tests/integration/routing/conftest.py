"""The routing service against real FIX venue processes, the real broker and PostgreSQL.

One stack per module (starting processes is the slow part): venues ALPHA (maker-taker),
BRAVO (inverted) and CHARLIE (slower) quote RT0 and RT1; DELTA rejects everything (RT2),
ECHO answers after the router's child timeout (RT3), FOXTROT is slow enough to be killed
mid-order (RT4); ALPHA quotes every symbol so each fault leaves a venue to re-route to. The
matching service (with risk beside it) is the internal venue NEXUS. Symbols are the tests'
own, so other tests' quotes on the shared topic never enter this market.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from nexus.config import Settings, load_settings
from nexus.infra import Stack, drop_database, ensure_database
from nexus.instruments import InstrumentTable, listing
from nexus.web import Authenticator, running_server
from services.routing.main import RoutingApp, RoutingOptions, build
from tests.integration.platform.matching_stack import matching_and_risk
from tests.integration.venues.harness import VenueProcess

PRICES = {"RT0": "50.00", "RT1": "20.00", "RT2": "30.00", "RT3": "40.00", "RT4": "60.00"}


#: The reference data of this stack: the tests' own symbols (1-share lots, Rule 612 ticks).
INSTRUMENTS = InstrumentTable(listing(PRICES))


def oid(prefix: str = "T") -> str:
    """An id of the tests' own: ``prefix`` and 12 random hex digits."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def parent_body(
    symbol: str,
    side: str,
    qty: str,
    price: str | None = None,
    strategy: str = "BEST_PRICE",
    order_id: str | None = None,
) -> dict[str, object]:
    """A parent as ``POST /orders`` and ``POST /route`` take it (a fresh id unless given)."""
    body: dict[str, object] = {
        "symbol": symbol,
        "side": side,
        "quantity": qty,
        "strategy": strategy,
        "order_id": order_id or oid(),
    }
    if price is not None:
        body["price"] = price
    return body


def _symbols(*names: str) -> str:
    return ",".join(f"{n}={PRICES[n]}" for n in names)


@dataclass
class RoutingStack:
    """What the tests drive."""

    url: str
    built: RoutingApp
    venues: dict[str, VenueProcess]
    matching_url: str
    settings: Settings
    auth: Authenticator

    def headers(self, subject: str, *roles: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.auth.issue_token(subject, list(roles))}

    async def stored(self, order_id: str) -> dict[str, Any]:
        """A parent as stored (amounts raw), with ``children`` and ``fills``."""
        order = await self.built.service.store.order(order_id)
        assert order is not None, order_id
        return {
            **order.parent,
            "children": order.children,
            "fills": order.fills,
            "decisions": order.decisions,
        }

    def client(self, subject: str, *roles: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers=self.headers(subject, *(roles or ("trader",))), timeout=30
        )


async def _until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@pytest.fixture(scope="module")
async def routing_stack(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RoutingStack]:
    data_dir: Path = tmp_path_factory.mktemp("routing")
    names = {n: f"nexus_test_{n}_{uuid.uuid4().hex[:8]}" for n in ("routing", "matching", "risk")}
    dsns = {n: await ensure_database(stack.pg_dsn, db) for n, db in names.items()}
    settings = replace(
        load_settings({}).with_infra(
            kafka_bootstrap=stack.kafka_bootstrap, pg_dsn=stack.pg_dsn, redis_url=stack.redis_url
        ),
        service_pg_dsns=dsns,
        data_dir=str(data_dir),
    )
    quiet = ["--fade-probability", "0"]
    venues = {
        "ALPHA": VenueProcess("ALPHA", data_dir, _symbols(*PRICES), stack.kafka_bootstrap, quiet),
        "BRAVO": VenueProcess(
            "BRAVO", data_dir, _symbols("RT0", "RT1"), stack.kafka_bootstrap, quiet
        ),
        "CHARLIE": VenueProcess(
            "CHARLIE", data_dir, _symbols("RT0", "RT1"), stack.kafka_bootstrap, quiet
        ),
        "DELTA": VenueProcess(
            "DELTA",
            data_dir,
            _symbols("RT2"),
            stack.kafka_bootstrap,
            [*quiet, "--reject-probability", "1"],
        ),
        "ECHO": VenueProcess(
            "ECHO",
            data_dir,
            _symbols("RT3"),
            stack.kafka_bootstrap,
            [*quiet, "--latency-ms", "900", "--latency-sigma", "0"],
        ),
        "FOXTROT": VenueProcess(
            "FOXTROT",
            data_dir,
            _symbols("RT4"),
            stack.kafka_bootstrap,
            [*quiet, "--latency-ms", "400", "--latency-sigma", "0"],
        ),
    }
    try:
        await asyncio.gather(*(v.start() for v in venues.values()))
        async with matching_and_risk(settings, INSTRUMENTS) as (matching_url, _matching, _risk):
            built = build(
                replace(settings, service_urls={**settings.service_urls, "matching": matching_url}),
                RoutingOptions(
                    child_timeout_s=0.5, cancel_timeout_s=3.0, heartbeat_s=1, data_dir=data_dir
                ),
            )
            built.service.instruments = INSTRUMENTS
            async with running_server(built.app) as url:
                await built.directory.wait_logged_on(20)
                await _until(
                    lambda: set(built.directory.venues) == set(venues), 20, "every venue session"
                )
                await built.directory.wait_logged_on(20)
                for symbol in PRICES:
                    await _until(lambda s=symbol: _two_sided(built, s), 20, f"quotes of {symbol}")
                yield RoutingStack(
                    url, built, venues, matching_url, settings, Authenticator(settings)
                )
    finally:
        for v in venues.values():
            with contextlib.suppress(Exception):
                v.kill()
        for db in names.values():
            with contextlib.suppress(Exception):
                await drop_database(stack.pg_dsn, db)


def _two_sided(built: RoutingApp, symbol: str) -> bool:
    nbbo = built.router.market.nbbo(symbol, built.router.clock())
    return bool(nbbo.bid_price and nbbo.ask_price)


def no_trade_through(order: dict[str, Any]) -> None:
    """No fill at a price worse than a protected quote displayed at its execution.

    The quotes a decision excepted under Rule 611 (self-help against a venue that failed to
    respond, a crossed market, a flickering quote) and ISO children (which take the better
    quotes in the same sweep) are the recorded exceptions; anything else is a trade-through.
    A quote first displayed after the fill (its NBBO time later than the venue's fill time,
    one machine clock) was not there to be traded through.
    """
    rounds = {c["child_id"]: c["round"] for c in order["children"]}
    isos = {c["child_id"] for c in order["children"] if c["iso"]}
    excepted: dict[int, set[str]] = {}
    for d in order.get("decisions", ()):
        for text in d.get("protection_exceptions", ()):
            kind, venue = text.split(" ", 2)[:2]
            excepted.setdefault(d["round"], set()).add(venue)
            assert kind in ("ISO", "CROSSED_MARKET", "FLICKERING_QUOTE", "SELF_HELP"), text
    side = order["side"]
    for fill in order["fills"]:
        nbbo = fill["nbbo_at_execution"]
        if fill["child_id"] in isos or nbbo.get("state") == "CROSSED":
            continue
        if nbbo.get("ts_event", 0) > fill["ts_event"]:
            continue
        allowed = excepted.get(rounds[fill["child_id"]], set())
        price = fill["price"]
        if side == "BUY" and nbbo.get("ask_price") and price > nbbo["ask_price"]:
            assert set(nbbo.get("ask_venues", ())) <= allowed, ("trade-through", fill, nbbo)
        if side == "SELL" and nbbo.get("bid_price") and price < nbbo["bid_price"]:
            assert set(nbbo.get("bid_venues", ())) <= allowed, ("trade-through", fill, nbbo)


def exact(order: dict[str, Any]) -> None:
    """Quantities add up exactly and nothing over-fills."""
    filled = sum(f["quantity"] for f in order["fills"])
    assert filled == order["filled_quantity"]
    assert filled <= order["quantity"]
    assert (
        order["filled_quantity"] + order["leaves_quantity"] + order["in_doubt_quantity"]
        == order["quantity"]
    )
    per_child: dict[str, int] = {}
    for f in order["fills"]:
        per_child[f["child_id"]] = per_child.get(f["child_id"], 0) + f["quantity"]
    for c in order["children"]:
        assert per_child.get(c["child_id"], 0) == c["filled_quantity"] <= c["quantity"]
