"""Run the surveillance service: ``python -m services.surveillance.main`` (port 8106).

Wiring only: the runtime (database migrated on start, producer, the events consumer), the
engine inside :class:`SurveillanceService`, the archive, the halt outbox and its dispatcher
(the risk service through the chassis client), the scan jobs and the REST app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nexus.clients import CircuitBreaker, RetryPolicy, ServiceClient
from nexus.config import Settings
from nexus.events import TOPIC_ALERTS, TOPIC_ORDERS, TOPIC_TRADES, dlq_topic
from nexus.outbox import HttpSink, Outbox, OutboxDispatcher
from nexus.runtime import ServiceRuntime, run_service
from nexus.web import Authenticator, ServiceApp, create_app
from services.surveillance.alerts import HALT_SUBJECT
from services.surveillance.api import ReplayResource, routes
from services.surveillance.archive import EventArchive
from services.surveillance.consumer import EVENTS_PATTERN, GROUP_ID, events_consumer
from services.surveillance.scans import ScanJobs
from services.surveillance.service import WARMUP_NS, SurveillanceService
from services.surveillance.store import AlertStore, OwnerStore, ScanStore, ThresholdStore
from services.surveillance.stream import AlertHub, AlertStreamResource
from services.surveillance.watermarks import IDLE_S

NAME = "surveillance"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [
    TOPIC_ORDERS,
    dlq_topic(TOPIC_ORDERS),
    TOPIC_TRADES,
    dlq_topic(TOPIC_TRADES),
    TOPIC_ALERTS,
]


@dataclass(frozen=True, slots=True)
class SurveillanceOptions:
    """How the service is composed.

    ``pattern``: the topics consumed (every ``orders.*`` and ``trades.*`` by default).
    ``lateness_ns``: extra reorder slack (event time) beyond what the partition watermark
    orders (0: none). ``idle_s``: wall seconds after which a quiet input partition stops
    holding the watermark back. ``warmup_ns``: event-time horizon of the archive tail replayed
    into the engine at start. ``halt_poll_s``: how often the halt outbox is retried.
    """

    group_id: str = GROUP_ID
    pattern: str = EVENTS_PATTERN
    lateness_ns: int = 0
    idle_s: float = IDLE_S
    warmup_ns: int = WARMUP_NS
    max_batch: int = 5_000
    risk_timeout_s: float = 2.0
    halt_poll_s: float = 1.0
    halt_base_backoff_s: float = 0.5
    halt_max_backoff_s: float = 30.0
    publish_interval_s: float = 1.0
    stream_keepalive_s: float = 15.0


@dataclass
class Surveillance:
    """The built service: what ``main`` serves and what tests drive."""

    app: ServiceApp
    runtime: ServiceRuntime
    service: SurveillanceService
    alerts: AlertStore
    scans: ScanJobs
    halts: HaltDispatcher
    risk: ServiceClient


def build(settings: Settings, options: SurveillanceOptions | None = None) -> Surveillance:
    """The surveillance app and its parts (started with the app's lifespan)."""
    opts = options or SurveillanceOptions()
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    authenticator = Authenticator(settings)
    alerts = AlertStore(runtime)
    thresholds = ThresholdStore(runtime)
    archive = EventArchive(runtime)
    risk = ServiceClient(
        "risk",
        runtime.discovery.resolver("risk")
        if runtime.discovery.uses_consul
        else settings.service_url("risk"),
        timeout_seconds=opts.risk_timeout_s,
        retry=RetryPolicy(max_attempts=2),
        breaker=CircuitBreaker("risk"),
        token=lambda: authenticator.issue_token(HALT_SUBJECT, ["service"], ttl_seconds=300),
    )
    dispatcher = HaltDispatcher(
        runtime,
        risk,
        base_backoff_s=opts.halt_base_backoff_s,
        max_backoff_s=opts.halt_max_backoff_s,
    )
    service = SurveillanceService(
        alerts,
        archive,
        runtime,
        thresholds=thresholds,
        owners=OwnerStore(runtime),
        halts=dispatcher,
        warmup_ns=opts.warmup_ns,
        lateness_ns=opts.lateness_ns,
        idle_s=opts.idle_s,
    )
    scans = ScanJobs(ScanStore(runtime), archive, service.scan_engine)
    hub = AlertHub(keepalive_s=opts.stream_keepalive_s)
    service.add_listener(hub.publish)

    async def start_up() -> None:
        await alerts.outbox().ensure_schema()
        dispatcher.open()
        await service.load()
        await service.warm_up()
        await scans.recover()

    runtime.add_startup(start_up)
    runtime.add_consumer(
        lambda bus: events_consumer(
            bus, service, opts.group_id, pattern=opts.pattern, max_batch=opts.max_batch
        )
    )
    runtime.add_background(lambda _rt: service.publish_forever(opts.publish_interval_s))
    runtime.add_background(lambda _rt: dispatcher.run(opts.halt_poll_s))
    runtime.add_background(lambda _rt: service.release_idle_forever())

    async def close() -> None:
        await scans.stop()
        hub.close()
        await risk.aclose()

    app = create_app(
        NAME,
        [
            *routes(service, alerts, thresholds, scans),
            ("/alerts/stream", AlertStreamResource(hub)),
            ("/alerts/{alert_id}/replay", ReplayResource(alerts, archive)),
        ],
        settings,
        authenticator=authenticator,
        readiness={"runtime": runtime.ready},
        on_startup=[runtime.start],
        on_shutdown=[close, runtime.stop],
    )
    runtime.add_background(lambda rt: rt.export_lag(app.metrics))
    return Surveillance(app, runtime, service, alerts, scans, dispatcher, risk)


class HaltDispatcher:
    """The halt outbox's dispatcher to the risk service, created once the pool exists."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        risk: ServiceClient,
        *,
        base_backoff_s: float,
        max_backoff_s: float,
    ) -> None:
        self._runtime = runtime
        self._risk = risk
        self._base = base_backoff_s
        self._max = max_backoff_s
        self._dispatcher: OutboxDispatcher | None = None

    def open(self) -> None:
        """Create the dispatcher on the started runtime's pool."""
        self._dispatcher = OutboxDispatcher(
            Outbox(self._runtime.pool),
            {"risk": HttpSink(self._risk)},
            base_backoff_seconds=self._base,
            max_backoff_seconds=self._max,
        )

    @property
    def dispatcher(self) -> OutboxDispatcher:
        """The chassis dispatcher (after :meth:`open`)."""
        if self._dispatcher is None:
            raise RuntimeError("the halt dispatcher is used before the service started")
        return self._dispatcher

    def wake(self) -> None:
        """Deliver now (a CRITICAL alert was just stored)."""
        if self._dispatcher is not None:
            self._dispatcher.wake()

    async def run(self, poll_s: float) -> None:
        """Deliver due halt requests until cancelled."""
        await self.dispatcher.run(asyncio.Event(), poll_seconds=poll_s)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: serve on ``settings.port("surveillance")`` (``NEXUS_SURVEILLANCE_PORT``)."""
    run_service(NAME, lambda settings: (build(settings).app,))


if __name__ == "__main__":
    main()
