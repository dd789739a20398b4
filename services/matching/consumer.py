"""How the matching service learns halts: ``risk.halts`` followed live, risk's state at start.

Every matching process must see *every* halt (halts are keyed by target, not by symbol), so
each process consumes ``risk.halts`` in a consumer group of its own, from the beginning: the
halt book is rebuilt from the whole history at start (:meth:`HaltBook.apply` is idempotent
and never lets an older event undo a newer one), then follows new events with a short poll,
so a halt applies to the next command within milliseconds of its publication.

The log alone is not enough: a broker that lost its topics (the embedded one keeps them in
memory) would give an empty history. So at start the service also loads the halts in force
from the risk service's durable state (``GET /halts``, :class:`RiskHaltsLoader`), retried
until it answers. Orders are refused (503, with the reason) until both are done, and again
whenever the halts consumer is down or not caught up with the end offsets fetched from the
broker (:meth:`MatchingService.halts_unavailable`). An undecodable record on ``risk.halts``
stops the consumer for good (a halt must never be skipped): the service then refuses orders
rather than trade without it, and a start fails.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import msgspec

from nexus.bus import Bus, ConsumerRunner, Delivery
from nexus.clients import ServiceCallError, ServiceClient
from nexus.events import TOPIC_HALTS, Halt
from services.matching.service import MatchingService

log = logging.getLogger(__name__)

GROUP_PREFIX = "matching.halts"
CATCH_UP_TIMEOUT_S = 60.0
#: Poll wait of the halts consumer: a new halt is read at most this long after it arrives.
HALTS_POLL_S = 0.01
#: How long the broker may hold an empty fetch of ``risk.halts`` (the latency of a new halt).
HALTS_FETCH_WAIT_MS = 5
#: How often the start retries loading the halts from the risk service.
RISK_RETRY_S = 0.5


def halts_group_id(venue: str) -> str:
    """A consumer group of this process alone (every process reads every halt)."""
    return f"{GROUP_PREFIX}.{venue}.{uuid.uuid4().hex[:12]}"


def halts_consumer(bus: Bus, service: MatchingService, group_id: str) -> ConsumerRunner:
    """Follow ``risk.halts`` from the beginning; an undecodable record stops it for good."""

    async def handle(batch: list[Delivery[Halt]]) -> None:
        service.apply_halts(d.event for d in batch)

    runner = ConsumerRunner(
        bus,
        group_id,
        handle,
        topics=[TOPIC_HALTS],
        poll_timeout_s=HALTS_POLL_S,
        lag_interval_s=0.0,
        strict_decode=True,
        fetch_max_wait_ms=HALTS_FETCH_WAIT_MS,
    )
    service.watch_halts(runner)
    return runner


async def wait_for_halts(service: MatchingService, timeout_s: float = CATCH_UP_TIMEOUT_S) -> None:
    """At start: until the halts consumer has read ``risk.halts`` to its end offsets.

    Raises the consumer's fatal error (an undecodable halt) or ``TimeoutError``: the service
    does not start rather than trade without its halts.
    """
    async with asyncio.timeout(timeout_s):
        while service.halts_unavailable(require_snapshot=False) is not None:
            runner = service.halts_runner
            if runner is not None and runner.failed is not None:
                raise runner.failed
            await asyncio.sleep(0.01)
    runner = service.halts_runner
    read = runner.stats.processed if runner is not None else 0
    log.info("halts caught up", extra={"events": read, "active": len(service.halts.active())})


class ActiveHaltView(msgspec.Struct, kw_only=True):
    """A halt in force as ``GET /halts`` of the risk service lists it."""

    halt_id: str
    scope: str
    target: str
    reason: str
    source_alert_id: str | None = None
    expires_at_ns: int | None = None
    ts_event: int


class RiskHaltsLoader:
    """Loads the halts in force from the risk service into the service's halt book."""

    def __init__(self, client: ServiceClient, service: MatchingService) -> None:
        self._client = client
        self._service = service

    async def load_once(self) -> int:
        """One ``GET /halts``; returns how many halts were in force."""
        views = await self._client.get_json("/halts", list[ActiveHaltView])
        events = [
            msgspec.convert(
                {
                    "event_id": v.halt_id,
                    "ts_event": v.ts_event,
                    "scope": v.scope,
                    "target": v.target,
                    "action": "HALT",
                    "reason": v.reason,
                    "source_alert_id": v.source_alert_id,
                    "expires_at_ns": v.expires_at_ns,
                    "requested_by": "risk",
                },
                Halt,
            )
            for v in views
        ]
        self._service.apply_halts(events)
        return len(events)

    async def load_until_done(self, retry_s: float = RISK_RETRY_S) -> None:
        """Retry :meth:`load_once` until it succeeds, then open the service for orders."""
        attempt = 0
        while True:
            try:
                loaded = await self.load_once()
            except (ServiceCallError, msgspec.ValidationError) as exc:
                attempt += 1
                if attempt == 1 or attempt % 20 == 0:
                    log.warning(
                        "halts not loaded from the risk service yet; orders refused",
                        extra={"attempt": attempt, "error": str(exc)},
                    )
                await asyncio.sleep(retry_s)
                continue
            self._service.risk_snapshot_loaded = True
            log.info("halts loaded from the risk service", extra={"active": loaded})
            return

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
