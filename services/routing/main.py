"""Run the routing service: ``python -m services.routing.main`` (port 8107, NEXUS_ROUTING_PORT).

Start order: database migrated, the outbox made ready (:mod:`nexus.outbox`), producer opened,
``risk.halts`` read to its end (no order is routed for a user halted while the router was
down), the venues announced under ``<data dir>/venues`` connected over FIX, the internal
matching engine registered as the ``NEXUS`` venue; then the quote and halt consumers, the quote
archiver (the NBBO over time for the reports, ``quote_archive.py``) and its retention, the
venue toxicity refresh (recorded markouts -> SMART penalties, ``toxicity.py``), the outbox
relay and the venue directory poller run, and the API serves.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from nexus._ext.nbbo import MarketView
from nexus.clients import ServiceClient
from nexus.clients.http import RetryPolicy
from nexus.config import Settings, load_settings
from nexus.events import (
    TOPIC_HALTS,
    TOPIC_QUOTES,
    TOPIC_ROUTING_DECISIONS,
    TOPIC_ROUTING_EXECUTIONS,
    dlq_topic,
)
from nexus.halts import HaltBook
from nexus.money import format_raw
from nexus.runtime import ServiceRuntime
from nexus.web import SERVICE, Authenticator, ServiceApp, configure_logging, create_app, serve
from services.routing.api import routes
from services.routing.consumer import catch_up_halts, group_id, halts_consumer, quotes_consumer
from services.routing.core.market import MarketSource
from services.routing.core.router import RouterConfig, SmartOrderRouter
from services.routing.internal import InternalVenue
from services.routing.quote_archive import (
    ARCHIVE_GROUP,
    RETENTION_DAYS,
    QuoteArchiver,
    prune_forever,
    quote_archive_consumer,
)
from services.routing.reports.feedback import ToxicityAdjustedStats
from services.routing.reports.render import load_sp500
from services.routing.reports_api import report_routes
from services.routing.reports_store import ReportsStore
from services.routing.service import RoutingService
from services.routing.store import RoutingStore
from services.routing.toxicity import MIN_FILLS, REFRESH_S, WINDOW_S, ToxicityRefresher
from services.routing.venues import VenueDirectory

NAME = "routing"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [
    TOPIC_ROUTING_DECISIONS,
    TOPIC_ROUTING_EXECUTIONS,
    TOPIC_QUOTES,
    TOPIC_HALTS,
    dlq_topic(TOPIC_QUOTES),
    dlq_topic(TOPIC_HALTS),
]


@dataclass(frozen=True, slots=True)
class RoutingOptions:
    """How the service routes: timeouts (s), quote age (ns), internal venue, FIX identity;
    the quote archive's consumer group and retention (days); the venue toxicity refresh:
    every ``toxicity_refresh_s`` (0 disables) over the last ``toxicity_window_s`` of fills, a
    venue with fewer than ``toxicity_min_fills`` of them getting no penalty."""

    child_timeout_s: float = 0.5
    cancel_timeout_s: float = 2.0
    max_quote_age_ns: int = 5_000_000_000
    internal_venue: bool = True
    sender_comp_id: str = "NEXUSROUTER"
    heartbeat_s: int = 5
    data_dir: Path | None = None
    quote_archive_group: str = ARCHIVE_GROUP
    quote_archive_retention_days: int = RETENTION_DAYS
    toxicity_refresh_s: float = REFRESH_S
    toxicity_window_s: float = WINDOW_S
    toxicity_min_fills: int = MIN_FILLS


@dataclass(slots=True)
class RoutingApp:
    """Everything ``build`` wires, for ``main`` and for tests."""

    app: ServiceApp
    runtime: ServiceRuntime
    service: RoutingService
    router: SmartOrderRouter
    directory: VenueDirectory
    archiver: QuoteArchiver
    toxicity: ToxicityRefresher


def _order_ids() -> Any:
    """Server-chosen parent ids: ``R<start ns>-<n>`` (unique per process start)."""
    start = time.time_ns()
    counter = itertools.count(1)
    return lambda: f"R{start}-{next(counter)}"


def build(settings: Settings, options: RoutingOptions | None = None) -> RoutingApp:
    """The routing app, its runtime, service, router and venue directory."""
    opts = options or RoutingOptions()
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    halts = HaltBook()
    stats = ToxicityAdjustedStats()
    router = SmartOrderRouter(
        cast(MarketSource, MarketView(max_age_ns=opts.max_quote_age_ns)),
        halts,
        config=RouterConfig(
            child_timeout_s=opts.child_timeout_s, cancel_timeout_s=opts.cancel_timeout_s
        ),
        stats=stats,
    )
    store = RoutingStore(runtime)
    service = RoutingService(
        router,
        store,
        runtime,
        halts=halts,
        quote_sink=router.on_quote,
        known_venues=lambda: router.venues,
    )
    data_dir = opts.data_dir or Path(settings.data_dir)
    directory = VenueDirectory(
        data_dir,
        router.register_venue,
        sender_comp_id=opts.sender_comp_id,
        heartbeat_s=opts.heartbeat_s,
        cancel_timeout_s=opts.cancel_timeout_s,
    )
    matching: ServiceClient | None = None
    if opts.internal_venue:
        token = Authenticator(settings).issue_token(NAME, [SERVICE], ttl_seconds=365 * 86_400)
        matching = ServiceClient(
            "matching",
            settings.service_url("matching"),
            timeout_seconds=opts.child_timeout_s,
            retry=RetryPolicy(max_attempts=2),
            token=token,
        )
        router.register_venue(InternalVenue(matching))
    halts_group = group_id("halts")

    async def catch_up() -> None:
        await catch_up_halts(runtime.bus, service, halts_group)

    async def connect_venues() -> None:
        await directory.refresh()

    async def stop_venues() -> None:
        await directory.stop()
        if matching is not None:
            await matching.aclose()

    runtime.add_startup(store.prepare)
    runtime.add_startup(catch_up)
    runtime.add_startup(connect_venues)
    runtime.add_consumer(lambda bus: halts_consumer(bus, service, halts_group))
    runtime.add_consumer(lambda bus: quotes_consumer(bus, service, group_id("quotes")))
    archiver = QuoteArchiver(
        lambda: {v: venue.profile.protected for v, venue in router.venues.items()},
        max_age_ns=opts.max_quote_age_ns,
    )
    runtime.add_consumer(
        lambda bus: quote_archive_consumer(
            bus, archiver, ReportsStore(runtime.pool), opts.quote_archive_group
        )
    )
    runtime.add_background(
        lambda rt: prune_forever(lambda: ReportsStore(rt.pool), opts.quote_archive_retention_days)
    )
    toxicity = ToxicityRefresher(
        lambda: ReportsStore(runtime.pool),
        stats,
        window_s=opts.toxicity_window_s,
        min_fills=opts.toxicity_min_fills,
        clock=router.clock,
    )
    runtime.add_background(lambda _rt: toxicity.run_forever(opts.toxicity_refresh_s))
    runtime.add_background(lambda _rt: service.relay_forever())
    runtime.add_background(lambda _rt: directory.follow())

    def venues() -> list[dict[str, Any]]:
        out = []
        for venue_id, venue in sorted(router.venues.items()):
            profile = venue.profile
            out.append(
                {
                    "venue": venue_id,
                    "kind": profile.kind,
                    "available": venue.is_available(),
                    "protected": profile.protected,
                    "taker_fee": profile.taker_fee,
                    "maker_rebate": profile.maker_rebate,
                    "expected_latency_ns": profile.expected_latency_ns,
                    "stats": router.venue_stats(venue_id),
                    # per share, taken off the learned price improvement SMART scores with
                    "toxicity_penalty": str(format_raw(stats.penalty(venue_id))),
                }
            )
        return out

    app = create_app(
        NAME,
        routes(service, venues, _order_ids())
        + report_routes(lambda lo, hi: ReportsStore(runtime.pool).flow(lo, hi), load_sp500()),
        settings,
        readiness={"runtime": runtime.ready},
        on_startup=[runtime.start],
        on_shutdown=[stop_venues, runtime.stop],
    )
    runtime.add_background(lambda rt: rt.export_lag(app.metrics))
    return RoutingApp(app, runtime, service, router, directory, archiver, toxicity)


def main() -> None:
    """Entry point."""
    settings = load_settings()
    configure_logging(settings.log_level)
    built = build(settings)
    serve(built.app, settings.host, settings.port(NAME))


if __name__ == "__main__":
    main()
