"""A continuous order-flow feed on the bus: ``python -m services.marketdata.feed``.

Runs the labelled simulator (:func:`nexus.sim.live.run_continuous`) window after window and
publishes its engine-identical events (orders matched by the compiled book: ``orders.events``
and ``trades.executed``, keyed by symbol) on the broker of ``NEXUS_KAFKA_BOOTSTRAP``, every
batch acknowledged before the simulator goes on. Simulated time starts at ``--start-ns``
(default: now) and is paced at ``--speed`` x real time. Each window's ground truth can be
written to ``--labels-dir`` (the detectors never read it). SIGTERM/SIGINT stop it within one
batch.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import msgspec

from nexus.bus import KafkaBus, OutgoingMessage, Producer
from nexus.config import load_settings
from nexus.errors import NexusError
from nexus.events import TOPIC_ORDERS, TOPIC_TRADES
from nexus.sim import LabelFile, SimConfig
from nexus.sim.labels import encode_labels
from nexus.sim.live import run_continuous
from nexus.web import configure_logging

log = logging.getLogger(__name__)

BATCH = 512


class FeedStopped(NexusError):
    """Raised inside the simulator's publish loop to stop it promptly."""


class BusPublisher:
    """The simulator's synchronous ``publisher(topic, key, payload)``, called from a worker
    thread, batching records onto an asyncio producer and waiting for each batch's acks."""

    def __init__(
        self,
        producer: Producer,
        loop: asyncio.AbstractEventLoop,
        stop: threading.Event,
        batch: int = BATCH,
    ) -> None:
        self._producer = producer
        self._loop = loop
        self._stop = stop
        self._batch = batch
        self._pending: list[OutgoingMessage] = []
        self.published = 0

    def __call__(self, topic: str, key: bytes, payload: bytes) -> None:
        if self._stop.is_set():
            raise FeedStopped("feed stopped")
        self._pending.append(OutgoingMessage(topic, payload, key))
        if len(self._pending) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Publish what is pending and wait for the broker's acknowledgement."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        done: Coroutine[Any, Any, None] = self._producer.publish_batch(batch)
        asyncio.run_coroutine_threadsafe(done, self._loop).result()
        self.published += len(batch)


class LabelWriter:
    """Writes each window's ground truth to ``<dir>/labels-W<n>.json``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._directory = directory
        self.windows = 0

    def __call__(self, labels: LabelFile) -> None:
        path = self._directory / f"labels-W{self.windows:05d}.json"
        path.write_bytes(encode_labels(labels))
        self.windows += 1


async def run_feed(
    bootstrap: str,
    config: SimConfig,
    *,
    speed: float | None,
    windows: int | None,
    labels_dir: Path | None,
    stop: threading.Event,
) -> int:
    """Publish the simulator's windows on the broker until stopped; returns events published."""
    bus = KafkaBus(bootstrap, client_id="marketdata-feed")
    await bus.create_topics([TOPIC_ORDERS, TOPIC_TRADES])
    producer = bus.producer()
    publisher = BusPublisher(producer, asyncio.get_running_loop(), stop)
    writer = LabelWriter(labels_dir) if labels_dir is not None else None

    def on_labels(labels: LabelFile) -> None:
        publisher.flush()  # the previous window's tail goes out before the next one starts
        if writer is not None:
            writer(labels)
        log.info(
            "feed window",
            extra={"window": labels.config.id_prefix, "published": publisher.published},
        )

    def work() -> None:
        try:
            run_continuous(config, publisher, windows, speed, on_labels, stop.is_set)
            publisher.flush()
        except FeedStopped:
            pass

    try:
        await asyncio.to_thread(work)
    finally:
        await producer.close()
        await bus.close()
    return publisher.published


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m services.marketdata.feed", description=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--seconds", type=float, default=30.0, help="simulated seconds per window")
    p.add_argument("--rate", type=float, default=25.0, help="orders per second per symbol")
    p.add_argument("--speed", type=float, default=1.0, help="x real time; 0: as fast as possible")
    p.add_argument("--windows", type=int, default=None, help="stop after N windows (default: run)")
    p.add_argument("--start-ns", type=int, default=None, help="simulated start (default: now)")
    p.add_argument("--labels-dir", type=Path, default=None, help="write each window's labels")
    return p.parse_args(argv)


def config_of(args: argparse.Namespace) -> SimConfig:
    """The simulator config of the options (validated by the config's own constraints)."""
    config = SimConfig(
        seed=args.seed,
        symbols=args.symbols,
        users=args.users,
        seconds=args.seconds,
        orders_per_second=args.rate,
        start_ns=args.start_ns if args.start_ns is not None else time.time_ns(),
    )
    return msgspec.json.decode(msgspec.json.encode(config), type=SimConfig)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    if not settings.kafka_bootstrap:
        print("NEXUS_KAFKA_BOOTSTRAP is not set: no broker to feed", file=sys.stderr)
        return 2
    try:
        config = config_of(args)
    except msgspec.ValidationError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _s, _f: stop.set())
    published = asyncio.run(
        run_feed(
            settings.kafka_bootstrap,
            config,
            speed=args.speed or None,
            windows=args.windows,
            labels_dir=args.labels_dir,
            stop=stop,
        )
    )
    print(f"published {published} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
