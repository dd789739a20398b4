"""Run the risk service: ``python -m services.risk.main``."""

from __future__ import annotations

from pathlib import Path

from nexus.config import Settings
from nexus.events import TOPIC_ALERTS, TOPIC_HALTS, dlq_topic
from nexus.runtime import ServiceRuntime, run_service
from nexus.web import ServiceApp
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
    store = HaltStore(runtime)
    service = RiskService(HaltRegistry(), store, runtime)
    runtime.add_startup(store.prepare)
    runtime.add_startup(service.load)
    runtime.add_consumer(lambda bus: alerts_consumer(bus, service))
    runtime.add_background(lambda _rt: service.publish_forever())
    app = runtime.create_app(routes(service))
    return app, runtime, service


def main() -> None:
    """Entry point."""
    run_service(NAME, build)


if __name__ == "__main__":
    main()
