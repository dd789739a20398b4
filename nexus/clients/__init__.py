"""Calling other services: HTTP client with retries and circuit breaker, durable outbox."""

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
from nexus.clients.outbox import (
    OUTBOX_SCHEMA_SQL,
    Outbox,
    OutboxDispatcher,
    OutboxEntry,
    outbox_id,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "NO_RETRY",
    "OUTBOX_SCHEMA_SQL",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "ClientError",
    "Outbox",
    "OutboxDispatcher",
    "OutboxEntry",
    "RetryPolicy",
    "ServiceCallError",
    "ServiceClient",
    "ServiceUnavailable",
    "Timeout",
    "UnexpectedResponse",
    "outbox_id",
]
