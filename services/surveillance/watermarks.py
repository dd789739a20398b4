"""Event-time watermark over the partitions a consumer reads.

A symbol's orders and its trades come from two topics, and a consumer reads the partitions of
one topic ahead of the other's (a backlog after a restart, a large fetch). Each partition's
events are in event-time order, so the least of the partitions' latest event times is a time
before which nothing more is to come: the engine applies held events up to it and so sees a
symbol's orders and trades in event-time order whatever the read order was.

Every assigned partition counts, including one that has delivered nothing yet (its first fetch
may simply come later than the other topic's). A quiet partition must not stall the others,
but quiet is not the same as drained: a consumer busy with one partition's share of a burst
reads nothing from the other topic for a while although its records wait there. So when the
consumer reports its lags (:meth:`StreamWatermarks.measured`), a partition holds at its own
latest time unless a lag measurement found it drained (position == end offset): it then holds
at the latest time the consumer had observed ``idle_s`` (wall clock) or more *before* that
measurement. What the partition still brings was appended after the measurement, so at least
``idle_s`` after those events; records published together (one producer's burst spread over
partitions, or two producers' orders and trades) are appended within less than that of each
other, so nothing older than them is to come. Events observed later wait for a later
measurement (the runner measures after every batch and every ``lag_interval_s``). A partition
whose lag is unknown (never measured since assigned) or positive holds at its own latest time.

Without lag reports (a caller that cannot measure them) a partition that has delivered nothing
for ``idle_s`` since assigned, last heard, or since the consumer's own quiet spell ended (a
burst gives every partition its full grace) stops holding; when every partition is idle there
is no watermark: the caller releases everything it holds.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Final, NamedTuple

from nexus.bus import TopicPartition

#: Seconds without records after which a partition no longer holds the watermark back. A
#: partition with a backlog gets records in every fetch (milliseconds apart), so only a quiet
#: one goes this long; it bounds the alert delay a quiet partition adds.
IDLE_S: Final = 0.25
#: Observations closer than this share one entry of the history measurements are cut against.
HISTORY_STEP_S: Final = 0.01
#: Entries kept while no measurement comes (100 s of steps).
HISTORY_MAX: Final = 10_000


class LagReport(NamedTuple):
    """One lag measurement of a consumer: records waiting per owned partition.

    ``measured_at`` is when it was taken, on the watermark's clock (a new value is a new
    measurement). The caller guarantees it was taken after every record it had delivered
    before it (the runner measures between batches, never during one).
    """

    measured_at: float
    lags: Mapping[TopicPartition, int]


class StreamWatermarks:
    """Latest event time per partition, and the watermark over the active ones."""

    def __init__(
        self,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
        *,
        lags_reported: bool = False,
    ) -> None:
        self.idle_s = idle_s
        #: Whether idleness needs a lag measurement (see the module docstring).
        self.lags_reported = lags_reported
        self._clock = clock
        self._latest: dict[TopicPartition, int] = {}
        self._heard: dict[TopicPartition, float] = {}
        #: Per drained partition: the latest time observed idle_s before the measurement.
        self._drained_to: dict[TopicPartition, int] = {}
        self._observed_max = -1
        self._last_observed = -math.inf
        #: [first and last wall time of a step's observations, latest event time by then]
        self._history: deque[tuple[float, float, int]] = deque()
        #: latest event time observed idle_s or more before the last measurement
        self._covered = -1

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
        if ts_event > self._observed_max:
            self._observed_max = ts_event
            history = self._history
            if history and now - history[-1][0] < HISTORY_STEP_S:
                history[-1] = (history[-1][0], now, ts_event)  # the step's last time counts
            else:
                history.append((now, now, ts_event))
                if len(history) > HISTORY_MAX:  # no measurement for long: the later steps,
                    history.popleft()  # with greater times, cover what the oldest held
        self._heard[tp] = now

    def measured(self, lags: Mapping[TopicPartition, int], at: float) -> None:
        """Take a lag measurement taken at ``at`` (after every event observed by then).

        A tracked partition found drained may be passed over up to the latest time observed
        ``idle_s`` before ``at``; one found behind, or missing from it, holds at its own time.
        """
        self.lags_reported = True
        horizon = at - self.idle_s
        history = self._history
        while history and history[0][1] <= horizon:
            self._covered = max(self._covered, history.popleft()[2])
        for tp in self._latest:
            if lags.get(tp) == 0:
                self._drained_to[tp] = self._covered
            else:
                self._drained_to.pop(tp, None)

    def current(self) -> int | None:
        """The watermark: no event older than it is still to come; None when nothing holds."""
        if self.lags_reported:
            marks = [max(ts, self._drained_to.get(tp, -1)) for tp, ts in self._latest.items()]
        else:
            horizon = self._clock() - self.idle_s
            marks = [ts for tp, ts in self._latest.items() if self._heard[tp] > horizon]
        return min(marks) if marks else None

    def forget(self, tp: TopicPartition) -> None:
        """Stop tracking ``tp`` (revoked)."""
        self._latest.pop(tp, None)
        self._heard.pop(tp, None)
        self._drained_to.pop(tp, None)
