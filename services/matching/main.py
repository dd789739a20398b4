"""Run the matching service: ``python -m services.matching.main``."""

from __future__ import annotations

from pathlib import Path

from nexus.config import Settings, load_settings
from nexus.events import TOPIC_HALTS, TOPIC_ORDERS, TOPIC_TRADES, dlq_topic
from nexus.runtime import ServiceRuntime
from nexus.web import ServiceApp, configure_logging, create_app, serve
from services.matching.api import routes
from services.matching.consumer import catch_up_halts, halts_consumer, halts_group_id
from services.matching.service import MatchingService
from services.matching.store import SessionStore

NAME = "matching"
VENUE = "NEXUS"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [TOPIC_ORDERS, TOPIC_TRADES, TOPIC_HALTS, dlq_topic(TOPIC_HALTS)]


def build(
    settings: Settings, *, venue: str = VENUE
) -> tuple[ServiceApp, ServiceRuntime, MatchingService]:
    """The matching app, its runtime and its service object (started with the app's lifespan).

    Start order: database migrated, producer opened, a new engine session, ``risk.halts`` read
    to its end, then the halts consumer and the event publisher run and the API serves.
    """
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    service = MatchingService(venue, SessionStore(runtime), runtime)
    group_id = halts_group_id(venue)

    async def catch_up() -> None:
        await catch_up_halts(runtime.bus, service, group_id)

    runtime.add_startup(service.start)
    runtime.add_startup(catch_up)
    runtime.add_consumer(lambda bus: halts_consumer(bus, service, group_id))
    runtime.add_background(lambda _rt: service.publish_forever())
    app = create_app(
        NAME,
        routes(service),
        settings,
        readiness={"runtime": runtime.ready, "engine": service.ready},
        on_startup=[runtime.start],
        on_shutdown=[service.drain, runtime.stop],
    )
    runtime.add_background(lambda rt: rt.export_lag(app.metrics))
    return app, runtime, service


def main() -> None:
    """Entry point."""
    settings = load_settings()
    configure_logging(settings.log_level)
    app, _, _ = build(settings)
    serve(app, settings.host, settings.port(NAME))


if __name__ == "__main__":
    main()
