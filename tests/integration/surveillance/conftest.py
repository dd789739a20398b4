"""Fixtures for the surveillance service on the real stack (broker, PostgreSQL).

Each test gets its own database, consumer group and pair of topics under the production
prefixes (``orders.<token>.events``, ``trades.<token>.executed``), consumed by a pattern of the
production shape, so tests never read each other's (or other services') flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from nexus.bus import KafkaBus
from nexus.config import Settings, load_settings
from nexus.events import ORDER_CODEC, TRADE_CODEC, Trade
from nexus.infra import Stack, drop_database, ensure_database
from nexus.web import Authenticator, running_server
from services.surveillance.archive import EventArchive
from services.surveillance.core.detectors.base import DETECTORS
from services.surveillance.main import Surveillance, SurveillanceOptions, build
from tests.integration.platform.conftest import SettingsFactory, service_settings, tokens
from tests.support.surveillance import install_self_trade_detector, self_trade_detector

__all__ = ["self_trade_detector", "service_settings", "tokens"]

Headers = Callable[[str, str], dict[str, str]]
#: Nothing listens here: halts wait in the outbox until a test points surveillance at risk.
NO_RISK_URL = "http://127.0.0.1:9"
PARTITIONS = 3


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = 30.0, interval: float = 0.05
) -> None:
    """Wait until ``check()`` is true (fails the test after ``seconds``)."""
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(interval)


@dataclass
class Flow:
    """A test's own topics and consumer group."""

    token: str
    bootstrap: str

    @property
    def orders_topic(self) -> str:
        return f"orders.{self.token}.events"

    @property
    def trades_topic(self) -> str:
        return f"trades.{self.token}.executed"

    @property
    def pattern(self) -> str:
        return rf"^orders\.{self.token}\..*|^trades\.{self.token}\..*"

    @property
    def group(self) -> str:
        return f"surveillance.{self.token}"

    async def create(self) -> None:
        await KafkaBus(self.bootstrap).create_topics(
            [self.orders_topic, self.trades_topic], partitions=PARTITIONS
        )

    async def publish(self, events: Sequence[Any]) -> None:
        """Publish orders and trades to this flow's topics, keyed by symbol, in order."""
        producer = KafkaBus(self.bootstrap).producer()
        try:
            for e in events:
                if isinstance(e, Trade):
                    await producer.publish(
                        self.trades_topic, TRADE_CODEC.encode(e), e.symbol.encode()
                    )
                else:
                    await producer.publish(
                        self.orders_topic, ORDER_CODEC.encode(e), e.symbol.encode()
                    )
        finally:
            await producer.close()

    async def publish_raw(self, topic: str, value: bytes, key: bytes) -> None:
        producer = KafkaBus(self.bootstrap).producer()
        try:
            await producer.publish(topic, value, key)
        finally:
            await producer.close()


@pytest.fixture
async def flow(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> Flow:
    """Topics and group of this test only."""
    f = Flow(unique_name("x"), kafka_bootstrap)
    await f.create()
    return f


def options_for(flow: Flow, **overrides: Any) -> SurveillanceOptions:
    """Service options consuming ``flow`` with fast retries."""
    base = SurveillanceOptions(
        group_id=flow.group,
        pattern=flow.pattern,
        halt_poll_s=0.1,
        halt_base_backoff_s=0.05,
        halt_max_backoff_s=0.2,
        publish_interval_s=0.1,
        risk_timeout_s=0.5,
        stream_keepalive_s=0.5,
    )
    return replace(base, **overrides)


@dataclass
class Running:
    """A started surveillance service and what a test needs around it."""

    http: httpx.AsyncClient
    url: str
    built: Surveillance
    settings: Settings
    flow: Flow
    headers: dict[str, str]

    async def alerts(self, **params: Any) -> list[dict[str, Any]]:
        resp = await self.http.get("/alerts", params={"limit": 500, **params}, headers=self.headers)
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        return items

    async def wait_alert(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        async def check() -> bool:
            found[:] = [a for a in await self.alerts() if predicate(a)]
            return bool(found)

        await eventually(check)
        return found[0]

    async def settled(self, seconds: float = 30.0) -> None:
        """Wait until every consumed event is applied and its alerts stored (events held for
        event-time order are released once the input partitions go quiet)."""

        async def check() -> bool:
            return self.built.service.settled

        await eventually(check, seconds=seconds)

    async def archived(self, *symbols: str) -> int:
        """Archived events (of ``symbols`` if given), duplicates excluded."""
        archive = EventArchive(self.built.runtime)
        return await archive.count(0, 2**63 - 1, list(symbols) or None)


@contextlib.asynccontextmanager
async def run_surveillance(
    settings: Settings, flow: Flow, tokens: Headers, **overrides: Any
) -> AsyncIterator[Running]:
    """Serve a surveillance service on ``settings`` until the block ends."""
    built = build(settings, options_for(flow, **overrides))
    async with (
        running_server(built.app) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        running = Running(http, url, built, settings, flow, tokens("analyst", "compliance"))
        await eventually(lambda: _started(built))
        yield running


async def _started(built: Surveillance) -> bool:
    return all(r.started.is_set() for r in built.runtime.runners) and bool(built.runtime.runners)


@pytest.fixture
async def surveillance_settings(service_settings: SettingsFactory) -> Settings:
    """Settings with a fresh surveillance database and no risk service reachable."""
    settings = await service_settings("surveillance")
    return replace(settings, service_urls={"risk": NO_RISK_URL})


@pytest.fixture(scope="module")
async def surveillance(stack: Stack, kafka_bootstrap: str) -> AsyncIterator[Running]:
    """One running surveillance service per module (scripted detector, the module's own flow
    and database); tests sharing it use their own users and symbols."""
    token = f"m{uuid.uuid4().hex[:8]}"
    flow = Flow(token, kafka_bootstrap)
    await flow.create()
    database = f"nexus_test_surveillance_{token}"
    dsn = await ensure_database(stack.pg_dsn, database)
    base = load_settings({}).with_infra(
        kafka_bootstrap=stack.kafka_bootstrap, pg_dsn=stack.pg_dsn, redis_url=stack.redis_url
    )
    settings = replace(
        base, service_pg_dsns={"surveillance": dsn}, service_urls={"risk": NO_RISK_URL}
    )
    saved = install_self_trade_detector()
    auth = Authenticator(load_settings({}))

    def headers(subject: str, roles: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + auth.issue_token(subject, roles.split("|"))}

    try:
        async with run_surveillance(settings, flow, headers) as running:
            yield running
    finally:
        DETECTORS.clear()
        DETECTORS.update(saved)
        await drop_database(stack.pg_dsn, database)
