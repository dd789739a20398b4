"""Base async HTTP client for calling another service.

Every call has a deadline (``timeout`` seconds, the whole exchange), goes through the
service's :class:`CircuitBreaker`, and is retried with full-jitter exponential backoff only
when it is safe: idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) or a call carrying an
``Idempotency-Key``. Connection errors, timeouts and 502/503/504 are retried; other 5xx are
breaker failures but not retried; 4xx raise :class:`ClientError` and count as breaker
successes (the callee is healthy, the request is wrong).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import msgspec

from nexus.clients.breaker import CircuitBreaker
from nexus.clients.errors import (
    ClientError,
    ServiceCallError,
    ServiceUnavailable,
    Timeout,
    UnexpectedResponse,
)
from nexus.web.codec import decode_json, encode_json

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"

BaseUrl = str | Callable[[], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: ``max_attempts`` in total, delay ``U(0, min(cap, base * 2**n))``."""

    max_attempts: int = 3
    base_delay_seconds: float = 0.05
    max_delay_seconds: float = 1.0
    retry_statuses: frozenset[int] = field(default=frozenset({502, 503, 504}))

    def delay(self, retry_number: int, uniform01: Callable[[], float]) -> float:
        """Sleep before retry ``retry_number`` (0-based), full jitter."""
        cap = min(self.max_delay_seconds, self.base_delay_seconds * (2.0**retry_number))
        return uniform01() * cap


NO_RETRY = RetryPolicy(max_attempts=1)


class ServiceClient:
    """Calls one service at ``base_url`` (a string, or an async resolver such as discovery's)."""

    def __init__(
        self,
        service: str,
        base_url: BaseUrl,
        *,
        timeout_seconds: float = 2.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        token: str | Callable[[], str] | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        uniform01: Callable[[], float] = random.random,
    ) -> None:
        self.service = service
        self.timeout_seconds = timeout_seconds
        self.retry = retry if retry is not None else RetryPolicy()
        self.breaker = breaker if breaker is not None else CircuitBreaker(service)
        self._base_url = base_url
        self._token = token
        self._sleep = sleep
        self._uniform01 = uniform01
        self._http = httpx.AsyncClient(
            headers=dict(headers or {}),
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
        idempotency_key: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> httpx.Response:
        """Send one logical call; returns the 2xx response or raises a typed error."""
        method = method.upper()
        policy = retry if retry is not None else self.retry
        if method not in IDEMPOTENT_METHODS and idempotency_key is None:
            policy = NO_RETRY
        send_headers = dict(headers or {})
        if idempotency_key is not None:
            send_headers[IDEMPOTENCY_HEADER] = idempotency_key
        token = self._token() if callable(self._token) else self._token
        if token:
            send_headers["Authorization"] = f"Bearer {token}"
        if json is not None:
            content = encode_json(json)
            send_headers.setdefault("Content-Type", "application/json")
        deadline = timeout_seconds if timeout_seconds is not None else self.timeout_seconds
        attempt = 0
        while True:
            self.breaker.acquire()
            try:
                response = await self._send(method, path, content, params, send_headers, deadline)
            except ServiceCallError as exc:
                self.breaker.record_failure()
                failure: ServiceCallError = exc
                retryable = True
            except BaseException:
                self.breaker.release()
                raise
            else:
                status = response.status_code
                if status < 500:
                    self.breaker.record_success()
                    if status >= 400:
                        raise ClientError(self.service, status, _problem_of(response))
                    return response
                self.breaker.record_failure()
                failure = ServiceUnavailable(self.service, f"HTTP {status}", status=status)
                retryable = status in policy.retry_statuses
            attempt += 1
            if not retryable or attempt >= policy.max_attempts:
                raise failure
            await self._sleep(policy.delay(attempt - 1, self._uniform01))

    async def get_json(
        self,
        path: str,
        type_: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        timeout_seconds: float | None = None,
    ) -> T:
        """GET ``path`` and decode the JSON body into ``type_``."""
        response = await self.request("GET", path, params=params, timeout_seconds=timeout_seconds)
        return self._decode(response, type_)

    async def delete(self, path: str, *, timeout_seconds: float | None = None) -> None:
        """DELETE ``path`` (idempotent, retried)."""
        await self.request("DELETE", path, timeout_seconds=timeout_seconds)

    async def _base(self) -> str:
        if isinstance(self._base_url, str):
            return self._base_url
        return await self._base_url()

    async def _send(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
        deadline: float,
    ) -> httpx.Response:
        try:
            async with asyncio.timeout(deadline):
                url = (await self._base()).rstrip("/") + path
                return await self._http.request(
                    method, url, content=content, params=params, headers=headers
                )
        except (TimeoutError, httpx.TimeoutException):
            raise Timeout(self.service, f"{method} {path} timed out after {deadline}s") from None
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                self.service, f"{method} {path} failed: {type(exc).__name__}"
            ) from exc

    def _decode(self, response: httpx.Response, type_: type[T]) -> T:
        try:
            result: T = decode_json(response.content, type_)
        except msgspec.DecodeError as exc:
            raise UnexpectedResponse(self.service, f"undecodable body: {exc}") from None
        return result


def _problem_of(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = decode_json(response.content)
    except msgspec.DecodeError:
        return None
    return body if isinstance(body, dict) else None
