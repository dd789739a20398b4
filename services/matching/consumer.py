"""Kafka wiring of the matching service: ``risk.halts`` applied to the engine's halt book.

Every matching process must see *every* halt (halts are keyed by target, not by symbol), so
each process consumes ``risk.halts`` in a consumer group of its own, from the beginning: the
halt book is rebuilt from the whole history at start (:meth:`HaltBook.apply` is idempotent
and never lets an older event undo a newer one), then follows new events. A halt applies to
the very next command after its event is handled.

At start, :func:`catch_up_halts` reads the topic up to its end *before* the service takes
orders, so a restarted engine never accepts an order of a user halted while it was down.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from nexus.bus import Bus, ConsumerRunner, Delivery, TopicPartition
from nexus.errors import ValidationError
from nexus.events import HALT_CODEC, TOPIC_HALTS, Halt
from services.matching.service import MatchingService

log = logging.getLogger(__name__)

GROUP_PREFIX = "matching.halts"
CATCH_UP_TIMEOUT_S = 60.0
CATCH_UP_IDLE_POLLS = 2


def halts_group_id(venue: str) -> str:
    """A consumer group of this process alone (every process reads every halt)."""
    return f"{GROUP_PREFIX}.{venue}.{uuid.uuid4().hex[:12]}"


async def catch_up_halts(
    bus: Bus, service: MatchingService, group_id: str, timeout_s: float = CATCH_UP_TIMEOUT_S
) -> int:
    """Apply ``risk.halts`` from the beginning to its current end; returns events read.

    Commits what it read under ``group_id`` so the runner of the same group continues from
    there. Caught up means: partitions assigned, no lag, and two polls in a row empty.
    Raises ``TimeoutError`` if that is not reached within ``timeout_s`` (the service then does
    not start rather than trade without its halts).
    """
    consumer = bus.consumer(group_id, topics=[TOPIC_HALTS])
    await consumer.start()
    read = 0
    ends: dict[TopicPartition, int] = {}
    try:
        async with asyncio.timeout(timeout_s):
            idle = 0
            while idle < CATCH_UP_IDLE_POLLS:
                messages = await consumer.poll(5_000, 0.3)
                halts: list[Halt] = []
                for message in messages:
                    ends[message.tp] = message.offset + 1
                    try:
                        halts.append(HALT_CODEC.decode(message.value))
                    except ValidationError:
                        log.warning("undecodable record on risk.halts skipped at catch-up")
                service.apply_halts(halts)
                read += len(messages)
                caught_up = not messages and consumer.assignment() and await consumer.lag() == 0
                idle = idle + 1 if caught_up else 0
        await consumer.commit(ends)
    finally:
        await consumer.close()
    log.info("halts caught up", extra={"events": read, "active": len(service.halts.active())})
    return read


def halts_consumer(bus: Bus, service: MatchingService, group_id: str) -> ConsumerRunner:
    """Follow ``risk.halts`` after the catch-up (undecodable records go to the dead letters)."""

    async def handle(batch: list[Delivery[Halt]]) -> None:
        service.apply_halts(d.event for d in batch)

    return ConsumerRunner(bus, group_id, handle, topics=[TOPIC_HALTS], poll_timeout_s=0.05)
