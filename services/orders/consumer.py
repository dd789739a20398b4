"""Kafka wiring of the orders service: trades become fills and positions."""

from __future__ import annotations

from nexus.bus import Bus, ConsumerRunner, Delivery
from nexus.events import Trade
from services.orders.core import fills_of_trade
from services.orders.store import PositionStore

GROUP_ID = "orders.positions"
TRADES_PATTERN = r"^trades\..*"


def trades_consumer(bus: Bus, store: PositionStore) -> ConsumerRunner:
    """Apply each batch of trades in one transaction, then commit (idempotent per trade id)."""

    async def handle(batch: list[Delivery[Trade]]) -> None:
        await store.apply_fills([f for d in batch for f in fills_of_trade(d.event)])

    return ConsumerRunner(bus, GROUP_ID, handle, pattern=TRADES_PATTERN)
