"""Run the matching service: ``python -m services.matching.main``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from nexus.clients import CircuitBreaker, RetryPolicy, ServiceClient
from nexus.config import Settings
from nexus.events import TOPIC_HALTS, TOPIC_ORDERS, TOPIC_TRADES, dlq_topic
from nexus.instruments import InstrumentTable
from nexus.runtime import ServiceRuntime, run_service
from nexus.web import Authenticator, ServiceApp
from services.matching.api import routes
from services.matching.consumer import (
    RiskHaltsLoader,
    halts_consumer,
    halts_group_id,
    wait_for_halts,
)
from services.matching.service import MatchingService
from services.matching.store import SessionStore

NAME = "matching"
VENUE = "NEXUS"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [TOPIC_ORDERS, TOPIC_TRADES, TOPIC_HALTS, dlq_topic(TOPIC_HALTS)]


def build(
    settings: Settings, *, venue: str = VENUE, instruments: InstrumentTable | None = None
) -> tuple[ServiceApp, ServiceRuntime, MatchingService]:
    """The matching app, its runtime and its service object (started with the app's lifespan).

    Start order: database migrated, producer opened, a new engine session, the halts consumer
    started and ``risk.halts`` read to its end offsets (the start fails on an undecodable halt
    or after a minute), then the API serves. The halts in force are loaded from the risk
    service (``settings.service_url("risk")``) in the background, retried until it answers:
    until then, and whenever the halts consumer is down or behind, orders answer 503.
    ``instruments`` is the reference data orders are checked against (default: the simulated
    universe, :func:`nexus.instruments.simulated_instruments`).
    """
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    service = MatchingService(venue, SessionStore(runtime), runtime, instruments=instruments)
    group_id = halts_group_id(venue)
    authenticator = Authenticator(settings)
    risk_url = (
        runtime.discovery.resolver("risk")
        if runtime.discovery.uses_consul
        else settings.service_url("risk")
    )
    loader = RiskHaltsLoader(
        ServiceClient(
            "risk",
            risk_url,
            timeout_seconds=2.0,
            retry=RetryPolicy(max_attempts=1),
            breaker=CircuitBreaker("risk", open_seconds=0.5),
            token=lambda: authenticator.issue_token(NAME, ["service"], ttl_seconds=300),
        ),
        service,
    )
    loading: list[asyncio.Task[None]] = []

    async def halts_known() -> None:
        await wait_for_halts(service)
        loading.append(asyncio.create_task(loader.load_until_done()))

    async def stop_loading() -> None:
        for task in loading:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await loader.aclose()

    runtime.add_startup(service.start)
    runtime.add_consumer(lambda bus: halts_consumer(bus, service, group_id))
    runtime.add_background(lambda _rt: service.publish_forever())
    app = runtime.create_app(
        routes(service),
        authenticator=authenticator,
        readiness={"engine": service.ready},
        on_startup=[halts_known],
        on_shutdown=[stop_loading, service.drain],
    )
    return app, runtime, service


def main() -> None:
    """Entry point."""
    run_service(NAME, build)


if __name__ == "__main__":
    main()
