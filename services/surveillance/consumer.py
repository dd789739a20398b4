"""Kafka wiring of the surveillance service: every order and trade event, by pattern.

One consumer group reads ``^orders\\..*`` and ``^trades\\..*`` together, so the engine sees a
symbol's orders and trades in one stream; the runner dead-letters undecodable records and
commits a batch's offsets only after :meth:`SurveillanceService.on_batch` stored its alerts.
"""

from __future__ import annotations

from typing import Any

from nexus.bus import Bus, ConsumerRunner, Delivery
from services.surveillance.service import SurveillanceService

GROUP_ID = "surveillance.engine"
EVENTS_PATTERN = r"^orders\..*|^trades\..*"


def events_consumer(
    bus: Bus, service: SurveillanceService, group_id: str = GROUP_ID, max_batch: int = 1_000
) -> ConsumerRunner:
    """The engine's consumer: archive, detect, store, then commit."""

    async def handle(batch: list[Delivery[Any]]) -> None:
        await service.on_batch(batch)

    return ConsumerRunner(bus, group_id, handle, pattern=EVENTS_PATTERN, max_batch=max_batch)
