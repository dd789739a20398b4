"""Circuit breaker state machine on a fake clock (no sleeping, no wall clock)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge

from nexus.clients import BreakerState, CircuitBreaker, CircuitOpen


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_breaker(clock: FakeClock, **kwargs: object) -> CircuitBreaker:
    options: dict[str, object] = {
        "failure_rate_threshold": 0.5,
        "minimum_calls": 4,
        "window_seconds": 10.0,
        "open_seconds": 5.0,
        "half_open_max_calls": 2,
    }
    options.update(kwargs)
    return CircuitBreaker("svc", clock=clock, **options)  # type: ignore[arg-type]


def fail(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        breaker.acquire()
        breaker.record_failure()


def succeed(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        breaker.acquire()
        breaker.record_success()


def test_failures_below_minimum_calls_stay_closed() -> None:
    breaker = make_breaker(FakeClock())
    fail(breaker, 3)
    assert breaker.state is BreakerState.CLOSED


def test_failure_rate_at_threshold_with_minimum_calls_opens() -> None:
    breaker = make_breaker(FakeClock())
    succeed(breaker, 2)
    fail(breaker, 2)
    assert breaker.state is BreakerState.OPEN


def test_failure_rate_below_threshold_stays_closed() -> None:
    breaker = make_breaker(FakeClock())
    succeed(breaker, 7)
    fail(breaker, 3)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate() == pytest.approx(0.3)


def test_open_breaker_fails_fast_with_remaining_cool_down() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    fail(breaker, 4)
    clock.advance(2.0)
    with pytest.raises(CircuitOpen) as info:
        breaker.acquire()
    assert info.value.retry_after_seconds == pytest.approx(3.0)


def test_old_outcomes_leave_the_sliding_window() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    fail(breaker, 3)
    clock.advance(11.0)
    fail(breaker, 1)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate() == 1.0


def test_cool_down_elapsed_half_opens() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    fail(breaker, 4)
    clock.advance(5.0)
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_probe_limit_refuses_extra_calls() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    fail(breaker, 4)
    clock.advance(5.0)
    breaker.acquire()
    breaker.acquire()
    with pytest.raises(CircuitOpen):
        breaker.acquire()


def test_half_open_probe_failure_reopens_with_new_cool_down() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    fail(breaker, 4)
    clock.advance(5.0)
    breaker.acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(4.9)
    assert breaker.state is BreakerState.OPEN
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_enough_probe_successes_close_with_fresh_window() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock)
    fail(breaker, 4)
    clock.advance(5.0)
    succeed(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate() == 0.0
    fail(breaker, 3)
    assert breaker.state is BreakerState.CLOSED


def test_released_probe_frees_its_slot() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, half_open_max_calls=1)
    fail(breaker, 4)
    clock.advance(5.0)
    breaker.acquire()
    breaker.release()
    breaker.acquire()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_state_changes_are_exported_to_gauge() -> None:
    clock = FakeClock()
    gauge = Gauge("breaker_state", "state", ["breaker"], registry=CollectorRegistry())
    breaker = make_breaker(clock, gauge=gauge)
    assert gauge.labels("svc")._value.get() == 0
    fail(breaker, 4)
    assert gauge.labels("svc")._value.get() == 1
    clock.advance(5.0)
    assert breaker.state is BreakerState.HALF_OPEN
    assert gauge.labels("svc")._value.get() == 2
    succeed(breaker, 2)
    assert gauge.labels("svc")._value.get() == 0


async def test_call_counts_exception_as_failure_and_reraises() -> None:
    breaker = make_breaker(FakeClock(), minimum_calls=1, failure_rate_threshold=1.0)

    async def boom() -> int:
        raise OSError("down")

    with pytest.raises(OSError):
        await breaker.call(boom)
    assert breaker.state is BreakerState.OPEN


def test_invalid_threshold_is_rejected() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("x", failure_rate_threshold=0.0)


STEPS = st.lists(
    st.tuples(st.sampled_from(["ok", "fail", "advance"]), st.floats(0.0, 4.0)), max_size=80
)


@given(STEPS)
def test_random_histories_keep_breaker_invariants(steps: list[tuple[str, float]]) -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, half_open_max_calls=1)
    previous = breaker.state
    for action, amount in steps:
        if action == "advance":
            clock.advance(amount)
            continue
        before = breaker.state
        try:
            breaker.acquire()
        except CircuitOpen:
            # refused only when open, or half-open with its probe slot taken
            assert before is not BreakerState.CLOSED
            continue
        assert before is not BreakerState.OPEN
        if action == "ok":
            breaker.record_success()
        else:
            breaker.record_failure()
        after = breaker.state
        if after is BreakerState.CLOSED and before is BreakerState.CLOSED and action == "fail":
            window = len(breaker._outcomes)
            assert window < 4 or breaker.failure_rate() < 0.5
        if before is BreakerState.HALF_OPEN:
            # one probe decides: success closes, failure re-opens
            assert after is (BreakerState.CLOSED if action == "ok" else BreakerState.OPEN)
        # open never closes without a half-open probe
        assert not (
            previous is BreakerState.OPEN
            and after is BreakerState.CLOSED
            and before is not BreakerState.HALF_OPEN
        )
        previous = after
