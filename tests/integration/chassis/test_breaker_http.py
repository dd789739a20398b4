"""ServiceClient + CircuitBreaker against a real HTTP server that is stopped and restarted."""

from __future__ import annotations

import falcon.asgi
import pytest

from nexus.clients import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    RetryPolicy,
    ServiceClient,
    ServiceUnavailable,
)
from nexus.web import ServerThread, ServiceMetrics, create_app, endpoint

pytestmark = pytest.mark.integration


class FakeClock:
    """The breaker's clock, moved by the test: the cool-down ends when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PingResource:
    @endpoint(public=True, response=dict[str, str])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"pong": "yes"}


async def test_breaker_opens_fails_fast_half_opens_and_closes_across_restart() -> None:
    app = create_app("pinged", [("/ping", PingResource())])
    metrics = ServiceMetrics("caller")
    clock = FakeClock()
    breaker = CircuitBreaker(
        "pinged",
        failure_rate_threshold=0.5,
        minimum_calls=4,
        window_seconds=60.0,
        open_seconds=0.3,
        half_open_max_calls=1,
        clock=clock,
        gauge=metrics.breaker_state,
    )
    server = ServerThread(app).start()
    port = server.port
    client = ServiceClient(
        "pinged",
        server.url,
        timeout_seconds=1.0,
        retry=RetryPolicy(max_attempts=1),
        breaker=breaker,
    )
    try:
        assert await client.get_json("/ping", dict[str, str]) == {"pong": "yes"}

        server.stop()
        for _ in range(3):
            with pytest.raises(ServiceUnavailable) as info:
                await client.get_json("/ping", dict[str, str])
            assert not isinstance(info.value, CircuitOpen)
        assert breaker.state is BreakerState.OPEN
        assert metrics.breaker_state.labels("pinged")._value.get() == 1
        with pytest.raises(CircuitOpen):
            await client.get_json("/ping", dict[str, str])

        # still down when the cool-down ends: the probe fails and re-opens
        clock.advance(0.35)
        assert breaker.state is BreakerState.HALF_OPEN
        with pytest.raises(ServiceUnavailable):
            await client.get_json("/ping", dict[str, str])
        assert breaker.state is BreakerState.OPEN

        # back up, but the breaker is open until its cool-down ends, however long the restart
        # took on the wall clock: its clock has not moved
        server = ServerThread(app, port=port).start()
        with pytest.raises(CircuitOpen):
            await client.get_json("/ping", dict[str, str])
        clock.advance(0.29)
        with pytest.raises(CircuitOpen):
            await client.get_json("/ping", dict[str, str])
        clock.advance(0.02)
        assert breaker.state is BreakerState.HALF_OPEN
        assert await client.get_json("/ping", dict[str, str]) == {"pong": "yes"}
        assert breaker.state is BreakerState.CLOSED
        assert metrics.breaker_state.labels("pinged")._value.get() == 0
    finally:
        await client.aclose()
        server.stop()
