"""ServiceClient retries, typed errors and breaker integration over httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import msgspec
import pytest

from nexus.clients import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    ClientError,
    RetryPolicy,
    ServiceClient,
    ServiceUnavailable,
    Timeout,
    UnexpectedResponse,
)


class Quote(msgspec.Struct):
    symbol: str
    bid: str


class Recorder:
    """A transport that answers from a script and records what it was sent."""

    def __init__(self, answers: list[Callable[[httpx.Request], httpx.Response]]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
        return answer(request)


def status(code: int, body: bytes = b"{}") -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, content=body)


def raises(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


def make_client(recorder: Recorder, sleeps: list[float], **kwargs: object) -> ServiceClient:
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    options: dict[str, object] = {
        "retry": RetryPolicy(max_attempts=3, base_delay_seconds=0.1, max_delay_seconds=1.0),
        "breaker": CircuitBreaker("risk", minimum_calls=100),
    }
    options.update(kwargs)
    return ServiceClient(
        "risk",
        "http://risk.test",
        transport=httpx.MockTransport(recorder),
        sleep=fake_sleep,
        uniform01=lambda: 1.0,
        **options,  # type: ignore[arg-type]
    )


async def test_get_on_503_retries_with_exponential_backoff_then_succeeds() -> None:
    recorder = Recorder([status(503), status(503), status(200, b'{"symbol":"A","bid":"1.5"}')])
    sleeps: list[float] = []
    async with make_client(recorder, sleeps) as client:
        quote = await client.get_json("/quotes/A", Quote)
    assert quote == Quote(symbol="A", bid="1.5")
    assert len(recorder.requests) == 3
    assert sleeps == [pytest.approx(0.1), pytest.approx(0.2)]


async def test_get_exhausting_retries_raises_service_unavailable_with_status() -> None:
    recorder = Recorder([status(503)])
    async with make_client(recorder, []) as client:
        with pytest.raises(ServiceUnavailable) as info:
            await client.request("GET", "/x")
    assert info.value.status == 503
    assert len(recorder.requests) == 3


async def test_post_without_idempotency_key_is_not_retried() -> None:
    recorder = Recorder([status(503), status(200)])
    async with make_client(recorder, []) as client:
        with pytest.raises(ServiceUnavailable):
            await client.request("POST", "/halts", json={"user_id": "u1"})
    assert len(recorder.requests) == 1


async def test_post_with_idempotency_key_is_retried_and_sends_header() -> None:
    recorder = Recorder([raises(httpx.ConnectError("refused")), status(201, b"{}")])
    async with make_client(recorder, []) as client:
        response = await client.request("POST", "/halts", json={"a": 1}, idempotency_key="k-1")
    assert response.status_code == 201
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == ["k-1", "k-1"]
    assert recorder.requests[0].content == b'{"a":1}'


async def test_500_is_a_failure_but_not_retried() -> None:
    recorder = Recorder([status(500)])
    async with make_client(recorder, []) as client:
        with pytest.raises(ServiceUnavailable):
            await client.request("GET", "/x")
    assert len(recorder.requests) == 1


async def test_4xx_raises_client_error_with_problem_and_no_retry() -> None:
    body = b'{"type":"t","title":"Validation failed","status":422,"detail":"bad qty"}'
    recorder = Recorder([status(422, body)])
    breaker = CircuitBreaker("risk", minimum_calls=1)
    async with make_client(recorder, [], breaker=breaker) as client:
        with pytest.raises(ClientError) as info:
            await client.request("GET", "/x")
    assert info.value.status == 422
    assert info.value.problem is not None and info.value.problem["detail"] == "bad qty"
    assert breaker.state is BreakerState.CLOSED
    assert len(recorder.requests) == 1


async def test_transport_timeout_raises_typed_timeout() -> None:
    recorder = Recorder([raises(httpx.ReadTimeout("slow"))])
    async with make_client(recorder, [], retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(Timeout):
            await client.request("GET", "/x")


async def test_open_breaker_fails_fast_without_sending() -> None:
    recorder = Recorder([raises(httpx.ConnectError("refused"))])
    breaker = CircuitBreaker("risk", minimum_calls=2, failure_rate_threshold=0.5)
    async with make_client(
        recorder, [], breaker=breaker, retry=RetryPolicy(max_attempts=1)
    ) as client:
        for _ in range(2):
            with pytest.raises(ServiceUnavailable):
                await client.request("GET", "/x")
        with pytest.raises(CircuitOpen):
            await client.request("GET", "/x")
    assert len(recorder.requests) == 2


async def test_undecodable_body_raises_unexpected_response() -> None:
    recorder = Recorder([status(200, b'{"symbol": 5}')])
    async with make_client(recorder, []) as client:
        with pytest.raises(UnexpectedResponse):
            await client.get_json("/quotes/A", Quote)


async def test_token_and_resolver_are_used_per_call() -> None:
    recorder = Recorder([status(200)])
    urls = iter(["http://a.test", "http://b.test"])

    async def resolve() -> str:
        return next(urls)

    client = ServiceClient(
        "risk", resolve, token=lambda: "tok", transport=httpx.MockTransport(recorder)
    )
    async with client:
        await client.request("GET", "/x")
        await client.request("GET", "/y")
    assert [str(r.url) for r in recorder.requests] == ["http://a.test/x", "http://b.test/y"]
    assert recorder.requests[0].headers["Authorization"] == "Bearer tok"


def test_full_jitter_delay_is_bounded_by_cap() -> None:
    policy = RetryPolicy(base_delay_seconds=0.1, max_delay_seconds=0.3)
    assert policy.delay(0, lambda: 1.0) == pytest.approx(0.1)
    assert policy.delay(5, lambda: 1.0) == pytest.approx(0.3)
    assert policy.delay(5, lambda: 0.0) == 0.0
