"""Typed errors of calls to other services."""

from __future__ import annotations

from typing import Any

from nexus.errors import DependencyUnavailable, NexusError


class ServiceCallError(NexusError):
    """Base of every failed call to another service; ``service`` names the callee."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service


class ServiceUnavailable(ServiceCallError, DependencyUnavailable):
    """The service could not be reached or answered 5xx (after the allowed retries)."""

    def __init__(self, service: str, message: str, *, status: int | None = None) -> None:
        super().__init__(service, message)
        self.status = status


class CircuitOpen(ServiceUnavailable):
    """The circuit breaker is open: the call was refused without being attempted."""

    def __init__(self, service: str, retry_after_seconds: float) -> None:
        super().__init__(service, f"circuit open; retry in {retry_after_seconds:.3f}s")
        self.retry_after_seconds = retry_after_seconds
        self.retry_after_s = retry_after_seconds


class Timeout(ServiceCallError, DependencyUnavailable, TimeoutError):
    """The call did not complete within its timeout (served as 503, like an outage)."""


class ClientError(ServiceCallError):
    """The service answered 4xx: the request itself is wrong; ``problem`` is the body."""

    def __init__(self, service: str, status: int, problem: dict[str, Any] | None) -> None:
        detail = (problem or {}).get("detail") or (problem or {}).get("title") or ""
        super().__init__(service, f"HTTP {status} {detail}".rstrip())
        self.status = status
        self.problem = problem


class UnexpectedResponse(ServiceCallError):
    """A 2xx body that does not decode into the expected type."""
