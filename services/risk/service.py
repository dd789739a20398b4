"""The risk service's use cases: record, publish and apply halts (store + outbox + core).

A command becomes an event, the event is made durable (``halt_events``, with its ``risk.halts``
record enqueued in the outbox in the same transaction), and only then is it applied to the
in-memory registry: a store that fails leaves the registry as it was (it is reloaded from the
store, so the registry never runs ahead of the durable trail), and a retried command finds the
same state. Each new event is published at once, before the command is answered, by the outbox
dispatcher (:mod:`nexus.outbox`, in enqueue order); whatever a broker outage left unpublished is
published by the dispatcher's loop in :meth:`RiskService.publish_forever` (the safety net, not
the path). At start that loop first re-publishes every halt in force: a broker that lost its log
(the embedded one keeps topics in memory) still tells matching and the router about every
active halt.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nexus.bus import Publisher
from nexus.events import Halt, SurveillanceAlert
from nexus.outbox import BUS, BusSink, OutboxDispatcher
from services.risk.core import HaltCommand, HaltRegistry, ResumeCommand
from services.risk.store import HaltStore, halt_message

log = logging.getLogger(__name__)

#: How often the outbox loop looks for events a broker outage left unpublished (and the
#: longest backoff between two tries of one event).
PUBLISH_INTERVAL_S = 1.0
PUBLISH_BACKOFF_S = 0.1
#: How long a command waits for the broker's acknowledgement before answering anyway (the
#: event is durable; the outbox loop publishes it when the broker is back).
PUBLISH_TIMEOUT_S = 2.0


class RiskService:
    """Halts are stored first (with their outbox entries), then applied and published."""

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
        self._dispatcher = OutboxDispatcher(
            store.outbox,
            {BUS: BusSink(publisher)},
            base_backoff_seconds=PUBLISH_BACKOFF_S,
            max_backoff_seconds=PUBLISH_INTERVAL_S,
        )
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
        """Publish the stored events the broker has not acknowledged yet; returns how many."""
        return await self._dispatcher.drain()

    async def republish_active(self) -> int:
        """Publish again the HALT event of every halt in force (consumers deduplicate by id)."""
        # under the command lock: no event is stored between reading and publishing the set
        async with self._command_lock:
            now = time.time_ns()
            active = [h.halt_id for h in self.registry.active(now)]
            events = [e for e in [await self._store.get(i) for i in active] if e is not None]
            if events:
                await self._publisher.publish([halt_message(e) for e in events])
        self.republished = True
        log.info("active halts re-published", extra={"halts": len(events)})
        return len(events)

    async def publish_forever(self) -> None:
        """Re-publish the halts in force once, then publish what outages left behind."""
        while not self.republished:
            try:
                await self.republish_active()
            except Exception:
                log.exception("re-publishing the halts in force failed; will retry")
                await asyncio.sleep(PUBLISH_INTERVAL_S)
        await self._dispatcher.run(asyncio.Event(), poll_seconds=PUBLISH_INTERVAL_S)
