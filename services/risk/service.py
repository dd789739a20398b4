"""The risk service's use cases: record, publish and apply halts (store + bus + core).

A command becomes an event, the event is made durable (``halt_events``), and only then is it
applied to the in-memory registry: a store that fails leaves the registry as it was (it is
reloaded from the store, so the registry never runs ahead of the durable trail), and a retried
command finds the same state. Each new event is published at once, before the command is
answered; ``halt_events`` doubles as the outbox, so whatever a broker outage left unpublished
is published by :meth:`RiskService.publish_forever` (the safety net, not the path). At start
that loop also re-publishes every halt in force: a broker that lost its log (the embedded one
keeps topics in memory) still tells matching and the router about every active halt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from nexus.bus import OutgoingMessage
from nexus.events import HALT_CODEC, TOPIC_HALTS, Halt, SurveillanceAlert
from services.risk.core import HaltCommand, HaltRegistry, ResumeCommand
from services.risk.store import HaltStore

log = logging.getLogger(__name__)

#: How often the outbox loop looks for events a broker outage left unpublished.
PUBLISH_INTERVAL_S = 1.0
#: How long a command waits for the broker's acknowledgement before answering anyway (the
#: event is durable; the outbox loop publishes it when the broker is back).
PUBLISH_TIMEOUT_S = 2.0


class Publisher(Protocol):
    """Publishes and waits for the broker's acknowledgement (the service runtime)."""

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None: ...


def halt_message(event: Halt) -> OutgoingMessage:
    """The ``risk.halts`` record of an event (keyed by its target)."""
    return OutgoingMessage(TOPIC_HALTS, HALT_CODEC.encode(event), event.target.encode())


class RiskService:
    """Halts are stored first (the audit trail is the outbox), then applied and published."""

    def __init__(
        self,
        registry: HaltRegistry,
        store: HaltStore,
        publisher: Publisher,
        *,
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        self.registry = registry
        self._store = store
        self._publisher = publisher
        self._publish_timeout_s = publish_timeout_s
        self._publish_lock = asyncio.Lock()
        self._command_lock = asyncio.Lock()
        self.republished = False

    async def load(self) -> None:
        """Rebuild the registry from the stored trail."""
        self.registry.replay(await self._store.all_events())

    async def halt(self, command: HaltCommand) -> tuple[Halt, bool]:
        """Halt; returns the event and whether it is new (False for a repeated command)."""
        async with self._command_lock:
            existing = await self._store.get(command.halt_id)
            if existing is not None:
                return existing, False
            event = self.registry.halt_event(command)
            created = await self._record([event])
        await self._publish_now()
        return event, created

    async def resume(self, command: ResumeCommand) -> tuple[Halt, bool]:
        """Resume; raises :class:`~services.risk.core.NotHalted` if nothing is halted."""
        async with self._command_lock:
            existing = await self._store.get(command.resume_id)
            if existing is not None:
                return existing, False
            event = self.registry.resume_event(command)
            created = await self._record([event])
        await self._publish_now()
        return event, created

    async def on_alerts(self, alerts: list[SurveillanceAlert]) -> None:
        """Halt the users of CRITICAL alerts (idempotent per alert)."""
        events = [e for e in map(self.registry.alert_halt_event, alerts) if e is not None]
        if events:
            async with self._command_lock:
                await self._record(events)
            await self._publish_now()

    async def _record(self, events: list[Halt]) -> bool:
        """Store, then apply; on a failed write reload from the store and re-raise."""
        created = False
        try:
            for event in events:
                created = await self._store.record(event) or created
        except Exception:
            await self._reload_after_failure()
            raise
        for event in events:
            self.registry.apply(event)
        return created

    async def _reload_after_failure(self) -> None:
        # Some of the events may have been stored before the failure: the registry must
        # follow the store, not the command.
        try:
            await self.load()
        except Exception:
            log.exception("reloading halts after a failed write failed; the loop retries")

    async def _publish_now(self) -> None:
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                await self.publish_pending()
        except Exception:
            log.exception("halt stored but not yet published; the outbox loop will publish it")

    async def audit(self, after_seq: int, limit: int) -> list[tuple[int, Halt]]:
        """A page of the audit trail."""
        return await self._store.audit(after_seq, limit)

    async def publish_pending(self) -> int:
        """Publish every stored, unacknowledged event; returns how many were published."""
        async with self._publish_lock:
            pending = await self._store.unpublished()
            if not pending:
                return 0
            await self._publisher.publish([halt_message(e) for e in pending])
            await self._store.mark_published([e.event_id for e in pending])
            return len(pending)

    async def republish_active(self) -> int:
        """Publish again the HALT event of every halt in force (consumers deduplicate by id)."""
        now = time.time_ns()
        active = [h.halt_id for h in self.registry.active(now)]
        events = [e for e in [await self._store.get(i) for i in active] if e is not None]
        async with self._publish_lock:
            if events:
                await self._publisher.publish([halt_message(e) for e in events])
        self.republished = True
        log.info("active halts re-published", extra={"halts": len(events)})
        return len(events)

    async def publish_forever(self) -> None:
        """Re-publish the halts in force once, then publish what outages left behind."""
        while True:
            try:
                if not self.republished:
                    await self.republish_active()
                await self.publish_pending()
            except Exception:
                log.exception("publishing halts failed; will retry")
            await asyncio.sleep(PUBLISH_INTERVAL_S)
