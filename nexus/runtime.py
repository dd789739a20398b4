"""What every service's ``main`` needs around its core: database, bus, consumers, lifecycle.

A :class:`ServiceRuntime` is created in ``main.py``, handed to the adapters that need a pool or
a producer, and hooked into the app's lifespan: on startup it creates the service's database,
applies its migrations, opens the pool and the producer and starts the consumer runners; on
shutdown it stops the runners gracefully (each finishes and commits its batch), then closes
everything in reverse order.

Consumers are supervised (:meth:`ConsumerRunner.run_supervised`): a runner that crashes is
logged, counted and restarted with backoff, never left dead in silence; the service is not
ready while any runner is down, and ``/metrics`` carries each runner's restarts, dead letters
and poison messages next to its lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from nexus.bus import Bus, ConsumerRunner, KafkaBus, MemoryBus, OutgoingMessage, Producer
from nexus.config import Settings, load_settings
from nexus.discovery import ServiceDiscovery
from nexus.errors import NexusError
from nexus.store import create_pool, migrate_dsn
from nexus.web import (
    Authenticator,
    ServiceApp,
    ServiceMetrics,
    configure_logging,
    create_app,
    serve,
)
from nexus.web.middleware import Hook
from nexus.web.ops import ReadinessCheck

log = logging.getLogger(__name__)

#: How often consumer lag is copied into the service's metrics.
LAG_EXPORT_S = 2.0

RunnerFactory = Callable[[Bus], ConsumerRunner]
Task = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]


class RuntimeNotStarted(NexusError, RuntimeError):
    """A resource was used before the service started."""


class ServiceNotReady(NexusError, RuntimeError):
    """A readiness check failed (its message says which part is down)."""


class ServiceRuntime:
    """Database pool, bus, producer, consumers and background tasks of one service."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        migrations: Path | None = None,
        topics: Sequence[str] = (),
        bus: Bus | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._migrations = migrations
        self._topics = tuple(topics)
        self.bus: Bus = bus or (
            KafkaBus(settings.kafka_bootstrap, client_id=name)
            if settings.kafka_bootstrap
            else MemoryBus()
        )
        self._pool: asyncpg.Pool | None = None
        self._producer: Producer | None = None
        self._runner_factories: list[RunnerFactory] = []
        self.runners: list[ConsumerRunner] = []
        self._background: list[Task] = []
        self._startup: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._runner_tasks: list[asyncio.Task[None]] = []
        self._background_tasks: list[asyncio.Task[None]] = []
        self.discovery = ServiceDiscovery(settings)
        self.started = asyncio.Event()

    # -- wiring (before start) --------------------------------------------------------------------
    def add_consumer(self, factory: RunnerFactory) -> None:
        """Run the consumer that ``factory`` builds on this service's bus once started."""
        self._runner_factories.append(factory)

    def add_startup(self, hook: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``hook()`` after the pool and producer open, before consumers start (state load)."""
        self._startup.append(hook)

    def add_background(self, task: Task) -> None:
        """Run ``task(runtime)`` in the background while the service runs."""
        self._background.append(task)

    # -- resources ------------------------------------------------------------------------------
    @property
    def pool(self) -> asyncpg.Pool:
        """The service database's pool."""
        if self._pool is None:
            raise RuntimeNotStarted(f"{self.name}: database pool used before startup")
        return self._pool

    @property
    def producer(self) -> Producer:
        """The service's producer."""
        if self._producer is None:
            raise RuntimeNotStarted(f"{self.name}: producer used before startup")
        return self._producer

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish and wait for the broker's acknowledgement."""
        await self.producer.publish_batch(messages)

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Create and migrate the database, open pool and producer, start consumers."""
        if self._migrations is not None:
            dsn = self.settings.pg_dsn_for(self.name)
            applied = await migrate_dsn(dsn, self._migrations)
            if applied:
                log.info("applied migrations", extra={"service": self.name, "versions": applied})
            self._pool = await create_pool(dsn, min_size=1, max_size=10)
        if self._topics:
            await self.bus.create_topics(self._topics)
        self._producer = self.bus.producer()
        for hook in self._startup:
            await hook()
        for factory in self._runner_factories:
            runner = factory(self.bus)
            self.runners.append(runner)
            self._runner_tasks.append(
                asyncio.create_task(runner.run_supervised(), name=runner.group_id)
            )
        for task in self._background:
            self._background_tasks.append(asyncio.create_task(task(self)))
        if self.discovery.uses_consul:
            try:
                await self.discovery.register(self.name, self.settings.port(self.name))
            except Exception:  # Consul down must not keep the service from serving
                log.exception("Consul registration failed", extra={"service": self.name})
        self.started.set()

    async def stop(self) -> None:
        """Deregister, stop consumers (finish batch, commit) and tasks, then close resources."""
        with contextlib.suppress(Exception):
            await self.discovery.deregister()
        for runner in self.runners:
            runner.request_stop()
        for task in self._background_tasks:
            task.cancel()
        for task in [*self._runner_tasks, *self._background_tasks]:
            try:
                await asyncio.wait_for(task, timeout=15)
            except asyncio.CancelledError:
                pass
            except Exception:  # already counted by supervision; say it once more at the end
                log.exception("task ended in error", extra={"service": self.name})
        self._runner_tasks.clear()
        self._background_tasks.clear()
        if self._producer is not None:
            await self._producer.close()
            self._producer = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await self.bus.close()

    async def ready(self) -> bool:
        """Readiness: the database answers (when the service has one) and every consumer runs.

        Raises :class:`ServiceNotReady` naming a consumer that is down (being restarted after
        a crash, or stopped for good): readiness checks fail by raising.
        """
        if self._pool is not None:
            await self._pool.fetchval("SELECT 1")
        for runner, task in zip(self.runners, self._runner_tasks, strict=False):
            if task.done() or not runner.running:
                raise ServiceNotReady(
                    f"consumer {runner.group_id} is not running"
                    + (f" ({runner.stats.last_error})" if runner.stats.last_error else "")
                )
        return True

    async def consumer_lag(self) -> int:
        """Records behind the end of the assigned partitions, over all consumers."""
        return sum(runner.stats.lag for runner in self.runners)

    def create_app(
        self,
        routes: Sequence[Any],
        *,
        authenticator: Authenticator | None = None,
        readiness: Mapping[str, ReadinessCheck] | None = None,
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
    ) -> ServiceApp:
        """The service's Falcon app, its lifespan driving this runtime, readiness included.

        The one way every service builds its app. Hooks: ``readiness`` adds checks next to the
        runtime's; ``on_startup`` runs after :meth:`start` (the runtime is up), ``on_shutdown``
        runs before :meth:`stop` (drain, close clients while the bus is still open).
        Its ``/metrics`` carry each consumer's lag per partition (``nexus_consumer_lag``).
        """
        app = create_app(
            self.name,
            routes,
            self.settings,
            authenticator=authenticator,
            readiness={"runtime": self.ready, **(readiness or {})},
            on_startup=[self.start, *on_startup],
            on_shutdown=[*on_shutdown, self.stop],
        )
        self.add_background(lambda runtime: runtime.export_lag(app.metrics))
        return app

    async def export_lag(self, metrics: ServiceMetrics, interval_s: float = LAG_EXPORT_S) -> None:
        """Copy every consumer's lag and supervision counters into ``metrics`` until cancelled.

        Per runner (label ``group``): ``nexus_consumer_lag`` per partition,
        ``nexus_consumer_running`` (0/1), ``nexus_consumer_restarts`` (crashes restarted),
        ``nexus_consumer_dead_letters`` (records sent to ``*.dlq``) and
        ``nexus_consumer_poison_messages`` (of those, messages the handler kept failing on:
        alert on any increase).
        """
        gauges = {
            "running": metrics.gauge(
                "nexus_consumer_running", "1 while the consumer runs, 0 if down.", ["group"]
            ),
            "restarts": metrics.gauge(
                "nexus_consumer_restarts", "Crashes of the consumer, each restarted.", ["group"]
            ),
            "dead_lettered": metrics.gauge(
                "nexus_consumer_dead_letters", "Records sent to the dead-letter topic.", ["group"]
            ),
            "poisoned": metrics.gauge(
                "nexus_consumer_poison_messages",
                "Records dead-lettered because the handler kept failing on them.",
                ["group"],
            ),
        }
        while True:
            self.export_once(metrics, gauges)
            await asyncio.sleep(interval_s)

    def export_once(self, metrics: ServiceMetrics, gauges: dict[str, Any]) -> None:
        """One copy of the runners' figures into ``metrics`` (see :meth:`export_lag`)."""
        for runner in self.runners:
            stats, group = runner.stats, runner.group_id
            for tp, behind in stats.lags.items():
                metrics.consumer_lag.labels(
                    topic=tp.topic, partition=str(tp.partition), group=group
                ).set(behind)
            gauges["running"].labels(group=group).set(1 if runner.running else 0)
            gauges["restarts"].labels(group=group).set(stats.restarts)
            gauges["dead_lettered"].labels(group=group).set(stats.dead_lettered)
            gauges["poisoned"].labels(group=group).set(stats.poisoned)


def run_service(name: str, build: Callable[[Settings], tuple[Any, ...]]) -> None:
    """``main()`` of every service: settings from the environment, JSON logs, serve ``build``'s app."""
    settings = load_settings()
    configure_logging(settings.log_level)
    app = build(settings)[0]
    serve(app, settings.host, settings.port(name))
