"""Prometheus metrics of one service, in its own ``CollectorRegistry`` (never the global one).

Built in: request counts and latency histograms per route template, consumer lag and circuit
breaker state gauges (set by the bus and the clients). Other parts register more with
:meth:`ServiceMetrics.gauge` / :meth:`ServiceMetrics.counter`.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Latency buckets in seconds, dense below 10 ms where the services live.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class ServiceMetrics:
    """The metrics of one service process."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "nexus_http_requests",
            "HTTP requests served, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "nexus_http_request_duration_seconds",
            "HTTP request latency in seconds, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "nexus_consumer_lag",
            "Messages behind the log end, by topic, partition and consumer group.",
            ["topic", "partition", "group"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "nexus_circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
            ["breaker"],
            registry=self.registry,
        )

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        """Register a gauge in this service's registry."""
        return Gauge(name, documentation, list(labels), registry=self.registry)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """Register a counter in this service's registry."""
        return Counter(name, documentation, list(labels), registry=self.registry)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one served request and its latency."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)
