"""Calling other services: HTTP client with retries and circuit breaker (the outbox: nexus.outbox)."""

from nexus.clients.breaker import BreakerState, CircuitBreaker
from nexus.clients.errors import (
    CircuitOpen,
    ClientError,
    ServiceCallError,
    ServiceUnavailable,
    Timeout,
    UnexpectedResponse,
)
from nexus.clients.http import IDEMPOTENT_METHODS, NO_RETRY, RetryPolicy, ServiceClient

__all__ = [
    "IDEMPOTENT_METHODS",
    "NO_RETRY",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "ClientError",
    "RetryPolicy",
    "ServiceCallError",
    "ServiceClient",
    "ServiceUnavailable",
    "Timeout",
    "UnexpectedResponse",
]
