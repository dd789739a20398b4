"""Kafka wiring of the surveillance service: every order and trade event, by pattern.

One consumer group reads ``^orders\\..*`` and ``^trades\\..*`` together, so the engine sees a
symbol's orders and trades in one stream. Any ``orders.*`` topic carries order events and any
``trades.*`` topic trades (a venue or a region may have its own); the decoder picks the schema
by that prefix. The runner dead-letters undecodable records and commits a batch's offsets
only after :meth:`SurveillanceService.on_batch` stored its alerts.
"""

from __future__ import annotations

from typing import Any

from nexus.bus import Bus, ConsumerRunner, Delivery
from nexus.errors import ValidationError
from nexus.events import ORDER_CODEC, TRADE_CODEC
from services.surveillance.service import SurveillanceService
from services.surveillance.watermarks import IDLE_S, LagReport

GROUP_ID = "surveillance.engine"
EVENTS_PATTERN = r"^orders\..*|^trades\..*"
#: How often the consumer's lag is measured while nothing comes (seconds).
LAG_INTERVAL_S = IDLE_S / 5
#: How long the broker may hold an empty fetch of this consumer (ms): also how long a lag
#: measurement can wait behind it (tansu answers a connection's requests in turn).
FETCH_MAX_WAIT_MS = 50


def decode_event(topic: str, value: bytes) -> Any:
    """The order or trade event of a record, by its topic's prefix; raises ``ValidationError``."""
    if topic.startswith("trades."):
        return TRADE_CODEC.decode(value)
    if topic.startswith("orders."):
        return ORDER_CODEC.decode(value)
    raise ValidationError(f"surveillance reads orders.* and trades.* topics, not {topic!r}")


def events_consumer(
    bus: Bus,
    service: SurveillanceService,
    group_id: str = GROUP_ID,
    *,
    pattern: str = EVENTS_PATTERN,
    max_batch: int = 1_000,
    lag_interval_s: float = LAG_INTERVAL_S,
) -> ConsumerRunner:
    """The engine's consumer: archive, detect, store, then commit.

    Its lag is measured every ``lag_interval_s`` besides after every batch: a quiet partition
    is passed over once a measurement ``idle_s`` after an event found it drained, so an alert
    on a quiet stream waits about ``idle_s`` + ``lag_interval_s`` + one release tick (measured
    by ``tests/integration/surveillance/measure_alert_delay.py``).
    """

    async def handle(batch: list[Delivery[Any]]) -> None:
        await service.on_batch(batch)

    runner = ConsumerRunner(
        bus,
        group_id,
        handle,
        pattern=pattern,
        decoder=decode_event,
        max_batch=max_batch,
        lag_interval_s=lag_interval_s,
        poll_timeout_s=lag_interval_s,  # an idle loop turns (and measures) this often
        # a lag measurement waits behind the broker's held fetch on the same connection
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )

    def backlog() -> LagReport | None:
        # the runner measures between batches, never during one: a measurement covers every
        # record handed to the service before it
        stats = runner.stats
        return LagReport(stats.lags_at_monotonic, stats.lags) if stats.lags_known else None

    service.track_assignment(runner.assignment, backlog)
    return runner
