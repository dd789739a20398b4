"""Run the risk service: ``python -m services.risk.main``."""

from __future__ import annotations

from pathlib import Path

from nexus.config import Settings, load_settings
from nexus.events import TOPIC_ALERTS, TOPIC_HALTS, dlq_topic
from nexus.runtime import ServiceRuntime
from nexus.web import ServiceApp, configure_logging, create_app, serve
from services.risk.api import routes
from services.risk.consumer import alerts_consumer
from services.risk.core import HaltRegistry
from services.risk.service import RiskService
from services.risk.store import HaltStore

NAME = "risk"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [TOPIC_HALTS, TOPIC_ALERTS, dlq_topic(TOPIC_ALERTS)]


def build(settings: Settings) -> tuple[ServiceApp, ServiceRuntime, RiskService]:
    """The risk app, its runtime and its service object (started with the app's lifespan)."""
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    service = RiskService(HaltRegistry(), HaltStore(runtime), runtime)
    runtime.add_startup(service.load)
    runtime.add_consumer(lambda bus: alerts_consumer(bus, service))
    runtime.add_background(lambda _rt: service.publish_forever())
    app = create_app(
        NAME,
        routes(service),
        settings,
        readiness={"runtime": runtime.ready},
        on_startup=[runtime.start],
        on_shutdown=[runtime.stop],
    )
    return app, runtime, service


def main() -> None:
    """Entry point."""
    settings = load_settings()
    configure_logging(settings.log_level)
    app, _, _ = build(settings)
    serve(app, settings.host, settings.port(NAME))


if __name__ == "__main__":
    main()
