"""Circuit breaker: closed -> open on a high failure rate, half-open probes after a cool-down.

* **closed**: calls pass; outcomes are kept over a sliding time window. When the window holds
  at least ``minimum_calls`` outcomes and the failure rate is >= ``failure_rate_threshold``,
  the breaker opens.
* **open**: calls fail fast with :class:`CircuitOpen` until ``open_seconds`` have passed.
* **half-open**: at most ``half_open_max_calls`` probes run at once; any failure re-opens,
  ``half_open_max_calls`` successes close (with a fresh window).

The clock is injectable (``clock=fake.now``), so unit tests never sleep. The state is
exported as a Prometheus gauge (0 closed, 1 open, 2 half-open) when one is given.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import TypeVar

from prometheus_client import Gauge

from nexus.clients.errors import CircuitOpen

T = TypeVar("T")


class BreakerState(IntEnum):
    """State of a breaker, valued as exported in the gauge."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """A failure-rate circuit breaker for calls to one service."""

    def __init__(
        self,
        name: str,
        *,
        failure_rate_threshold: float = 0.5,
        minimum_calls: int = 10,
        window_seconds: float = 30.0,
        open_seconds: float = 5.0,
        half_open_max_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
        gauge: Gauge | None = None,
    ) -> None:
        if not 0.0 < failure_rate_threshold <= 1.0:
            raise ValueError("failure_rate_threshold must be within (0, 1]")
        if minimum_calls < 1 or half_open_max_calls < 1:
            raise ValueError("minimum_calls and half_open_max_calls must be >= 1")
        self.name = name
        self.failure_rate_threshold = failure_rate_threshold
        self.minimum_calls = minimum_calls
        self.window_seconds = window_seconds
        self.open_seconds = open_seconds
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._gauge = gauge
        self._state = BreakerState.CLOSED
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._opened_at = 0.0
        self._probes_in_flight = 0
        self._probe_successes = 0
        self._export()

    @property
    def state(self) -> BreakerState:
        """Current state (an open breaker past its cool-down reports half-open)."""
        if self._state is BreakerState.OPEN and self._cooled_down():
            self._transition(BreakerState.HALF_OPEN)
        return self._state

    def failure_rate(self) -> float:
        """Failure rate over the current window (0.0 when empty)."""
        self._prune()
        return self._failures / len(self._outcomes) if self._outcomes else 0.0

    def acquire(self) -> None:
        """Ask to make a call; raises :class:`CircuitOpen` when the call must not be made."""
        state = self.state
        if state is BreakerState.OPEN:
            remaining = self._opened_at + self.open_seconds - self._clock()
            raise CircuitOpen(self.name, max(remaining, 0.0))
        if state is BreakerState.HALF_OPEN:
            if self._probes_in_flight >= self.half_open_max_calls:
                raise CircuitOpen(self.name, 0.0)
            self._probes_in_flight += 1

    def record_success(self) -> None:
        """Report that an acquired call succeeded."""
        if self._state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(self._probes_in_flight - 1, 0)
            self._probe_successes += 1
            if self._probe_successes >= self.half_open_max_calls:
                self._transition(BreakerState.CLOSED)
            return
        if self._state is BreakerState.CLOSED:
            self._record(ok=True)

    def record_failure(self) -> None:
        """Report that an acquired call failed (connection error, timeout, 5xx)."""
        if self._state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(self._probes_in_flight - 1, 0)
            self._transition(BreakerState.OPEN)
            return
        if self._state is BreakerState.CLOSED:
            self._record(ok=False)
            if (
                len(self._outcomes) >= self.minimum_calls
                and self._failures / len(self._outcomes) >= self.failure_rate_threshold
            ):
                self._transition(BreakerState.OPEN)

    def release(self) -> None:
        """Give back an acquired call that ended without a verdict (e.g. cancelled)."""
        if self._state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(self._probes_in_flight - 1, 0)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` under the breaker; any exception counts as a failure and propagates."""
        self.acquire()
        try:
            result = await fn()
        except BaseException as exc:
            if isinstance(exc, Exception):
                self.record_failure()
            else:
                self.release()
            raise
        self.record_success()
        return result

    def _record(self, *, ok: bool) -> None:
        now = self._clock()
        self._outcomes.append((now, ok))
        if not ok:
            self._failures += 1
        self._prune(now)

    def _prune(self, now: float | None = None) -> None:
        horizon = (self._clock() if now is None else now) - self.window_seconds
        while self._outcomes and self._outcomes[0][0] <= horizon:
            _, ok = self._outcomes.popleft()
            if not ok:
                self._failures -= 1

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.open_seconds

    def _transition(self, state: BreakerState) -> None:
        self._state = state
        if state is BreakerState.OPEN:
            self._opened_at = self._clock()
        self._probes_in_flight = 0
        self._probe_successes = 0
        if state is BreakerState.CLOSED:
            self._outcomes.clear()
            self._failures = 0
        self._export()

    def _export(self) -> None:
        if self._gauge is not None:
            self._gauge.labels(self.name).set(int(self._state))
