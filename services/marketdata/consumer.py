"""Kafka wiring of the market-data service: trades become intraday bars."""

from __future__ import annotations

from typing import Protocol

from nexus.bus import Bus, ConsumerRunner, Delivery
from nexus.events import Trade

GROUP_ID = "marketdata.bars"
TRADES_PATTERN = r"^trades\..*"


class TradeSink(Protocol):
    """Applies a batch of trades durably (the market-data service)."""

    async def on_trades(self, trades: list[Trade]) -> None: ...


def trades_consumer(bus: Bus, sink: TradeSink) -> ConsumerRunner:
    """Add each batch of trades to its bars in one transaction, then commit (once per trade)."""

    async def handle(batch: list[Delivery[Trade]]) -> None:
        await sink.on_trades([d.event for d in batch])

    return ConsumerRunner(bus, GROUP_ID, handle, pattern=TRADES_PATTERN)
