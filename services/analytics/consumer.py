"""Kafka wiring of the analytics service: trades move positions, quotes move latest prices.

Both handlers make their effect durable (PostgreSQL) and drop the affected users' cached
results before returning, so the runner commits only after a read can no longer see the old
state. ``^trades\\..*`` also matches dead-letter topics (``trades.executed.dlq``); their
records are not trades and are skipped.
"""

from __future__ import annotations

from nexus.bus import Bus, ConsumerRunner, Delivery
from nexus.events import QuoteDepth, QuoteL1, Trade
from services.analytics.service import AnalyticsService

TRADES_GROUP = "analytics.positions"
QUOTES_GROUP = "analytics.prices"
TRADES_PATTERN = r"^trades\..*"
QUOTES_PATTERN = r"^marketdata\.quotes$"


def trades_consumer(
    bus: Bus, service: AnalyticsService, group_id: str = TRADES_GROUP
) -> ConsumerRunner:
    """Apply each batch of trades in one transaction, invalidate, notify, then commit."""

    async def handle(batch: list[Delivery[object]]) -> None:
        trades = [d.event for d in batch if isinstance(d.event, Trade)]
        if trades:
            await service.on_trades(trades)

    return ConsumerRunner(bus, group_id, handle, pattern=TRADES_PATTERN)


def quotes_consumer(
    bus: Bus, service: AnalyticsService, group_id: str = QUOTES_GROUP
) -> ConsumerRunner:
    """Latest prices follow the quotes' mids (event time wins); invalidate and notify holders."""

    async def handle(batch: list[Delivery[object]]) -> None:
        quotes = [d.event for d in batch if isinstance(d.event, QuoteL1 | QuoteDepth)]
        if quotes:
            await service.on_quotes(quotes)

    return ConsumerRunner(bus, group_id, handle, pattern=QUOTES_PATTERN)
