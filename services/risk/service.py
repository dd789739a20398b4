"""The risk service's use cases: record, publish and apply halts (store + bus + core)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from nexus.bus import OutgoingMessage
from nexus.events import HALT_CODEC, TOPIC_HALTS, Halt, SurveillanceAlert
from services.risk.core import HaltCommand, HaltRegistry, ResumeCommand
from services.risk.store import HaltStore

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 1.0


class Publisher(Protocol):
    """Publishes and waits for the broker's acknowledgement (the service runtime)."""

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None: ...


class RiskService:
    """Halts are stored first (the audit trail is the outbox), then published on ``risk.halts``."""

    def __init__(self, registry: HaltRegistry, store: HaltStore, publisher: Publisher) -> None:
        self.registry = registry
        self._store = store
        self._publisher = publisher
        self._publish_lock = asyncio.Lock()

    async def load(self) -> None:
        """Rebuild the registry from the stored trail."""
        self.registry.replay(await self._store.all_events())

    async def halt(self, command: HaltCommand) -> tuple[Halt, bool]:
        """Halt; returns the event and whether it is new (False for a repeated command)."""
        existing = await self._store.get(command.halt_id)
        if existing is not None:
            return existing, False
        event = self.registry.halt(command)
        created = await self._store.record(event)
        await self.publish_pending()
        return event, created

    async def resume(self, command: ResumeCommand) -> tuple[Halt, bool]:
        """Resume; raises :class:`~services.risk.core.NotHalted` if nothing is halted."""
        existing = await self._store.get(command.resume_id)
        if existing is not None:
            return existing, False
        event = self.registry.resume(command)
        created = await self._store.record(event)
        await self.publish_pending()
        return event, created

    async def on_alerts(self, alerts: list[SurveillanceAlert]) -> None:
        """Halt the users of CRITICAL alerts (idempotent per alert)."""
        for alert in alerts:
            command_event = self.registry.halt_for_alert(alert)
            if command_event is not None:
                await self._store.record(command_event)
        await self.publish_pending()

    async def audit(self, after_seq: int, limit: int) -> list[tuple[int, Halt]]:
        """A page of the audit trail."""
        return await self._store.audit(after_seq, limit)

    async def publish_pending(self) -> int:
        """Publish every stored, unacknowledged event; returns how many were published."""
        async with self._publish_lock:
            pending = await self._store.unpublished()
            if not pending:
                return 0
            await self._publisher.publish(
                [
                    OutgoingMessage(TOPIC_HALTS, HALT_CODEC.encode(e), e.target.encode())
                    for e in pending
                ]
            )
            await self._store.mark_published([e.event_id for e in pending])
            return len(pending)

    async def publish_forever(self) -> None:
        """Retry publication of what a broker outage left behind."""
        while True:
            try:
                await self.publish_pending()
            except Exception:
                log.exception("publishing halts failed; will retry")
            await asyncio.sleep(PUBLISH_INTERVAL_S)
