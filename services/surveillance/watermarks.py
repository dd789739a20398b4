"""Event-time watermark over the partitions a consumer reads.

A symbol's orders and its trades come from two topics, and a consumer reads the partitions of
one topic ahead of the other's (a backlog after a restart, a large fetch). Each partition's
events are in event-time order, so the least of the partitions' latest event times is a time
before which nothing more is to come: the engine applies held events up to it and so sees a
symbol's orders and trades in event-time order whatever the read order was.

Every assigned partition counts, including one that has delivered nothing yet (its first fetch
may simply come later than the other topic's). A partition that has delivered nothing for
``idle_s`` (wall clock) since it was assigned or last heard stops holding the watermark back (a
quiet symbol must not stall the others), unless the consumer knows records are waiting on it
(its lag: a consumer slowed down by load must not mistake its own backlog for quiet); when
every partition is idle there is no watermark and the caller releases everything it holds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable
from typing import Final

from nexus.bus import TopicPartition

#: Seconds without records after which a partition no longer holds the watermark back. A
#: partition with a backlog gets records in every fetch (milliseconds apart), so only a quiet
#: one goes this long; it bounds the alert delay a quiet partition adds.
IDLE_S: Final = 0.25


class StreamWatermarks:
    """Latest event time per partition, and the watermark over the active ones."""

    def __init__(self, idle_s: float = IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._latest: dict[TopicPartition, int] = {}
        self._heard: dict[TopicPartition, float] = {}
        self._last_observed = -math.inf

    def assigned(self, partitions: Iterable[TopicPartition]) -> None:
        """Track the partitions owned now: new ones hold the watermark until heard from or
        idle; revoked ones are forgotten."""
        owned = set(partitions)
        now = self._clock()
        for tp in owned - self._heard.keys():
            self._latest[tp] = -1
            self._heard[tp] = now
        for tp in self._heard.keys() - owned:
            self.forget(tp)

    def observe(self, tp: TopicPartition, ts_event: int) -> None:
        """Record that ``tp`` delivered an event of time ``ts_event`` just now."""
        now = self._clock()
        if now - self._last_observed > self.idle_s:
            # the consumer itself had nothing for a while: a new burst starts, and every
            # partition gets its full grace to deliver its share of it (a partition silent
            # through a quiet spell is not idle in the burst that ends it)
            for known in self._heard:
                self._heard[known] = now
        self._last_observed = now
        if ts_event > self._latest.get(tp, -1):
            self._latest[tp] = ts_event
        self._heard[tp] = now

    def current(self, behind: Collection[TopicPartition] = ()) -> int | None:
        """Least latest event time over the active partitions; None when all are idle.

        A partition in ``behind`` (the consumer knows records are waiting there) is active
        however long ago it was heard from: a busy consumer is not a quiet partition.
        """
        horizon = self._clock() - self.idle_s
        active = [
            ts for tp, ts in self._latest.items() if self._heard[tp] > horizon or tp in behind
        ]
        return min(active) if active else None

    def forget(self, tp: TopicPartition) -> None:
        """Stop tracking ``tp`` (revoked)."""
        self._latest.pop(tp, None)
        self._heard.pop(tp, None)
