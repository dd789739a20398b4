"""Kafka wiring of the routing service: venue quotes into the market view, halts into a HaltBook.

Every routing process reads *every* halt (halts are keyed by target) in a consumer group of
its own, from the beginning; :func:`catch_up_halts` reads ``risk.halts`` to its end before
the service takes orders, so a restarted router never routes for a user halted while it was
down. Quotes (``marketdata.quotes``) are applied to the core's market view as they come;
each quote carries its venue timestamp, which is what staleness is judged by.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from nexus.bus import Bus, ConsumerRunner, Delivery, TopicPartition
from nexus.errors import ValidationError
from nexus.events import HALT_CODEC, TOPIC_HALTS, TOPIC_QUOTES, Halt, Quote
from services.routing.service import RoutingService

log = logging.getLogger(__name__)

CATCH_UP_TIMEOUT_S = 60.0


def group_id(kind: str) -> str:
    """A consumer group of this process alone."""
    return f"routing.{kind}.{uuid.uuid4().hex[:12]}"


async def catch_up_halts(
    bus: Bus, service: RoutingService, group: str, timeout_s: float = CATCH_UP_TIMEOUT_S
) -> int:
    """Apply ``risk.halts`` from the beginning to its current end; returns events read."""
    consumer = bus.consumer(group, topics=[TOPIC_HALTS])
    await consumer.start()
    read = 0
    ends: dict[TopicPartition, int] = {}
    try:
        async with asyncio.timeout(timeout_s):
            idle = 0
            while idle < 2:
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
    return read


def halts_consumer(bus: Bus, service: RoutingService, group: str) -> ConsumerRunner:
    """Follow ``risk.halts`` after the catch-up."""

    async def handle(batch: list[Delivery[Halt]]) -> None:
        service.apply_halts(d.event for d in batch)

    return ConsumerRunner(bus, group, handle, topics=[TOPIC_HALTS], poll_timeout_s=0.05)


def quotes_consumer(bus: Bus, service: RoutingService, group: str) -> ConsumerRunner:
    """Apply every venue quote to the market view (the view is state: no storage needed)."""

    async def handle(batch: list[Delivery[Quote]]) -> None:
        service.apply_quotes(d.event for d in batch)

    return ConsumerRunner(
        bus, group, handle, topics=[TOPIC_QUOTES], poll_timeout_s=0.01, max_batch=5_000
    )
