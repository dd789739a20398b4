"""Run the orders/positions service: ``python -m services.orders.main``."""

from __future__ import annotations

from pathlib import Path

from nexus.config import Settings
from nexus.events import TOPIC_TRADES, dlq_topic
from nexus.runtime import ServiceRuntime, run_service
from nexus.web import ServiceApp
from services.orders.api import routes
from services.orders.consumer import trades_consumer
from services.orders.store import PositionStore

NAME = "orders"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [TOPIC_TRADES, dlq_topic(TOPIC_TRADES)]


def build(settings: Settings) -> tuple[ServiceApp, ServiceRuntime, PositionStore]:
    """The orders app, its runtime and its store (started with the app's lifespan)."""
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    store = PositionStore(runtime)
    runtime.add_consumer(lambda bus: trades_consumer(bus, store))
    app = runtime.create_app(routes(store))
    return app, runtime, store


def main() -> None:
    """Entry point."""
    run_service(NAME, build)


if __name__ == "__main__":
    main()
