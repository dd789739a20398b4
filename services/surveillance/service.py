"""The surveillance service's use cases around the engine: consume, store, publish, halt.

A consumed batch is archived, fed to the engine once (a retried or redelivered record the
engine already saw is skipped by its partition offset), and the alerts it produced are stored
with their halt requests in one transaction before the batch's offsets are committed. Stored
versions are then published on ``surveillance.alerts`` (``published`` flag, retried by a
background loop) and halt requests delivered to the risk service by the chassis outbox.

After a restart the engine's in-memory state is rebuilt from the archive's tail (the events
within ``warmup_ns`` of event time), so an episode straddling the restart is still one alert;
the records the warm-up fed are skipped when the broker redelivers them.

Events are applied in event-time order across the input partitions (see
:mod:`services.surveillance.watermarks`): the engine holds what a lagging partition may still
precede, and :meth:`SurveillanceService.release_idle_forever` releases what quiet partitions
no longer hold back. A held event is already archived, so a restart replays it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import msgspec

from nexus.bus import Delivery, OutgoingMessage, TopicPartition
from nexus.events import ALERT_CODEC, TOPIC_ALERTS, OrderFill, OrderReject
from services.surveillance.alerts import alert_from_view, event_of, halt_of, record_of
from services.surveillance.archive import EventArchive
from services.surveillance.core import SurveillanceAlert, SurveillanceEngine
from services.surveillance.core.types import validate_thresholds
from services.surveillance.scans import CountingSource
from services.surveillance.store import AlertStore, OwnerStore, ThresholdStore
from services.surveillance.watermarks import IDLE_S, LagReport, StreamWatermarks

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 1.0
#: Default warm-up horizon: the longest detector window (momentum reversal, 5 minutes) twice.
WARMUP_NS = 600 * 10**9

#: Event-time reorder horizon of a historical scan over the (arrival-ordered) archive.
SCAN_REORDER_NS = 60 * 10**9

AlertListener = Callable[[SurveillanceAlert], None]


class Publisher(Protocol):
    """Publishes and waits for the broker's acknowledgement (the service runtime)."""

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None: ...


class Waker(Protocol):
    """The outbox dispatcher: deliver now."""

    def wake(self) -> None: ...


def relevant(event: Any) -> bool:
    """Whether the engine needs ``event`` (rejects and per-side fills carry nothing new)."""
    return not isinstance(event, OrderReject | OrderFill)


class SurveillanceService:
    """Consumed events in; stored, published alerts and halt requests out."""

    def __init__(
        self,
        store: AlertStore,
        archive: EventArchive,
        publisher: Publisher,
        *,
        thresholds: ThresholdStore,
        owners: OwnerStore,
        halts: Waker | None = None,
        warmup_ns: int = WARMUP_NS,
        lateness_ns: int = 0,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lateness_ns = lateness_ns
        self._watermarks = StreamWatermarks(idle_s, clock)
        self._assignment: Callable[[], Iterable[TopicPartition]] | None = None
        self._backlog: Callable[[], LagReport | None] | None = None
        self._last_report: float | None = None
        #: One batch, or one idle release, at a time through the engine and the store.
        self._engine_lock = asyncio.Lock()
        self.engine = SurveillanceEngine(archive, lateness_ns=lateness_ns)
        self._store = store
        self._archive = archive
        self._threshold_store = thresholds
        self._owner_store = owners
        self._owners: dict[str, str] = {}
        self._publisher = publisher
        self._halts = halts
        self._warmup_ns = warmup_ns
        #: Next offset the engine has not seen yet, per partition.
        self._fed: dict[TopicPartition, int] = {}
        #: Next offset not archived yet, per partition (a retried batch is archived once).
        self._archived: dict[TopicPartition, int] = {}
        #: Alerts produced but not yet durably stored (kept across a handler retry).
        self._pending: list[SurveillanceAlert] = []
        self._publish_lock = asyncio.Lock()
        self._listeners: list[AlertListener] = []
        self.events_seen = 0
        self.alerts_stored = 0
        #: Idle releases whose alerts could not be stored (retried on the next tick).
        self.release_failures = 0

    def track_assignment(
        self,
        assignment: Callable[[], Iterable[TopicPartition]],
        backlog: Callable[[], LagReport | None] | None = None,
    ) -> None:
        """Where the consumer's owned partitions are read (each one holds the watermark) and
        its latest lag measurement (None while unknown, taken on the service's clock). With
        ``backlog``, a partition stops holding only where a measurement found it drained."""
        self._assignment = assignment
        self._backlog = backlog
        self._watermarks.lags_reported = backlog is not None

    def _sync(self) -> None:
        """Take in the assignment and a new lag measurement (before observing new events:
        a measurement covers only what was observed before it)."""
        if self._assignment is not None:
            self._watermarks.assigned(self._assignment())
        report = self._backlog() if self._backlog is not None else None
        if report is not None and report.measured_at != self._last_report:
            self._last_report = report.measured_at
            self._watermarks.measured(report.lags, report.measured_at)

    def add_listener(self, listener: AlertListener) -> None:
        """Call ``listener(alert)`` for every newly stored alert version (dashboard stream)."""
        self._listeners.append(listener)

    async def load(self) -> None:
        """Build the live engine from the stored thresholds and owner links (before consuming)."""
        self._owners = await self._owner_store.all()
        stored = {
            name: value for name, (_, value) in (await self._threshold_store.latest()).items()
        }
        self.engine = SurveillanceEngine(
            self._archive,
            account_owners=self._owners,
            thresholds=stored,
            lateness_ns=self._lateness_ns,
        )

    def scan_engine(self, source: CountingSource) -> SurveillanceEngine:
        """A fresh engine for a historical scan: the live thresholds and owners, its own state.

        The archive is in arrival order; the scan reorders it to event time within
        ``SCAN_REORDER_NS`` (the live path orders by partition watermark; an event further out
        of order than that is applied late and counted in ``late_events``).
        """
        return SurveillanceEngine(
            source,
            account_owners=self._owners,
            thresholds=self.engine.thresholds,
            lateness_ns=max(self._lateness_ns, SCAN_REORDER_NS),
        )

    def thresholds(self, detector: str) -> dict[str, Any]:
        """The thresholds in force for ``detector`` as plain values."""
        value: dict[str, Any] = msgspec.to_builtins(self.engine.get_thresholds(detector))
        return value

    async def change_thresholds(
        self, detector: str, changes: dict[str, Any], *, actor: str, reason: str
    ) -> dict[str, Any]:
        """Validate (raises ``ThresholdError``), record, then apply new thresholds."""
        new = validate_thresholds(detector, changes, self.engine.get_thresholds(detector))
        values: dict[str, Any] = msgspec.to_builtins(new)
        await self._threshold_store.record(detector, values, actor=actor, reason=reason)
        self.engine.update_thresholds(detector, new)
        return self.thresholds(detector)

    async def set_owners(self, owners: dict[str, str], *, actor: str) -> int:
        """Record account -> beneficial owner links and use them from the next event on."""
        changed = await self._owner_store.upsert(owners, actor=actor)
        self._owners.update(owners)
        self.engine.set_account_owners(owners)
        return changed

    def owners(self) -> dict[str, str]:
        """The account -> beneficial owner links in force."""
        return dict(self._owners)

    async def warm_up(self) -> int:
        """Feed the archive's tail to the engine; returns how many events were replayed."""
        tail = await self._archive.tail(self._warmup_ns)
        if not tail:
            return 0
        alerts = self.engine.process_events([a.event for a in tail if relevant(a.event)])
        for archived in tail:
            next_offset = archived.offset + 1
            self._fed[archived.tp] = max(self._fed.get(archived.tp, 0), next_offset)
            self._archived[archived.tp] = max(self._archived.get(archived.tp, 0), next_offset)
        # alerts of a batch that crashed before its alerts were stored are stored now
        self._pending.extend(alerts)
        await self._flush()
        log.info("engine warmed up", extra={"events": len(tail), "alerts": len(alerts)})
        return len(tail)

    async def on_batch(self, batch: Sequence[Delivery[Any]]) -> None:
        """Archive, detect (once per record), store; publication and halts follow."""
        async with self._engine_lock:
            await self._on_batch(batch)
        try:
            await self.publish_pending()
        except Exception:  # stored alerts are published by the background loop
            log.exception("publishing alerts failed; will retry")

    async def _on_batch(self, batch: Sequence[Delivery[Any]]) -> None:
        fresh = [d for d in batch if d.message.offset >= self._fed.get(d.message.tp, 0)]
        unarchived = [d for d in batch if d.message.offset >= self._archived.get(d.message.tp, 0)]
        await self._archive.append([(d.message, d.event) for d in unarchived if relevant(d.event)])
        for d in unarchived:
            tp = d.message.tp
            self._archived[tp] = max(self._archived.get(tp, 0), d.message.offset + 1)
        if fresh:
            self._sync()
            events = []
            for d in fresh:
                ts = getattr(d.event, "ts_event", None)
                if isinstance(ts, int):
                    self._watermarks.observe(d.message.tp, ts)
                if relevant(d.event):
                    events.append(d.event)
            watermark = self._watermarks.current()
            if events or self.engine.held:
                alerts = (
                    self.engine.flush()
                    if watermark is None
                    else self.engine.process_events(events, source_watermark=watermark)
                )
                self._pending.extend(alerts)
            for d in fresh:
                tp = d.message.tp
                self._fed[tp] = max(self._fed.get(tp, 0), d.message.offset + 1)
            self.events_seen += len(events)
        await self._flush()

    @property
    def settled(self) -> bool:
        """Nothing held, nothing unstored, no batch in flight: every event seen is applied."""
        return not self.engine.held and not self._pending and not self._engine_lock.locked()

    async def release_idle(self) -> int:
        """Apply what partitions gone quiet no longer hold back; returns events still held."""
        async with self._engine_lock:
            if self.engine.held:
                self._sync()
                watermark = self._watermarks.current()
                alerts = (
                    self.engine.flush()
                    if watermark is None
                    else self.engine.release_until(watermark)
                )
                self._pending.extend(alerts)
            await self._flush()  # also what a failed store left unstored
            return self.engine.held

    async def release_idle_forever(self, interval_s: float | None = None) -> None:
        """Run :meth:`release_idle` every ``interval_s`` (a fifth of the idle time by default)."""
        interval = self._watermarks.idle_s / 5 if interval_s is None else interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                await self.release_idle()
            except Exception:  # the store is down: the alerts stay pending, retried next tick
                self.release_failures += 1
                log.exception("storing released alerts failed; will retry")

    async def _flush(self) -> None:
        if not self._pending:
            return
        alerts = self._pending
        halts = [h for h in (halt_of(a) for a in alerts) if h is not None]
        created = await self._store.save([record_of(a) for a in alerts], halts)
        self._pending = []
        self.alerts_stored += len(created)
        if halts and self._halts is not None:
            self._halts.wake()
        for record in created:
            alert = alert_from_view(record.payload)
            for listener in self._listeners:
                listener(alert)

    async def publish_pending(self) -> int:
        """Publish every stored, unacknowledged alert version; returns how many."""
        async with self._publish_lock:
            pending = await self._store.unpublished()
            if not pending:
                return 0
            messages = []
            for _, _, payload in pending:
                event = event_of(alert_from_view(payload))
                messages.append(
                    OutgoingMessage(TOPIC_ALERTS, ALERT_CODEC.encode(event), event.symbol.encode())
                )
            await self._publisher.publish(messages)
            await self._store.mark_published([(a, v) for a, v, _ in pending])
            return len(pending)

    async def publish_forever(self, interval_s: float = PUBLISH_INTERVAL_S) -> None:
        """Retry publication of what a broker outage left behind."""
        while True:
            try:
                await self.publish_pending()
            except Exception:
                log.exception("publishing alerts failed; will retry")
            await asyncio.sleep(interval_s)
