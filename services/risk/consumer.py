"""Kafka wiring of the risk service: CRITICAL surveillance alerts halt their user."""

from __future__ import annotations

from nexus.bus import Bus, ConsumerRunner, Delivery
from nexus.events import SurveillanceAlert
from services.risk.service import RiskService

GROUP_ID = "risk.alerts"
ALERTS_PATTERN = r"^surveillance\.alerts$"


def alerts_consumer(bus: Bus, service: RiskService) -> ConsumerRunner:
    """Consume ``surveillance.alerts``; the halt is stored before the offset is committed."""

    async def handle(batch: list[Delivery[SurveillanceAlert]]) -> None:
        await service.on_alerts([d.event for d in batch])

    return ConsumerRunner(bus, GROUP_ID, handle, pattern=ALERTS_PATTERN)
