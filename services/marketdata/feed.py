"""The order-flow simulator straight onto the bus: ``python -m services.marketdata.feed``.

For running without a matching service: ``nexus up`` feeds the simulator's actions to the
matching service over REST (``python -m nexus.sim.feed``), which then publishes the events;
this feed instead publishes the simulator's own engine-identical events (orders matched by the
compiled book: ``orders.events`` and ``trades.executed``, keyed by symbol) through
:func:`nexus.sim.bus.run_on_bus`, every batch acknowledged before the next. Simulated time
starts at ``--start-ns`` (default: now) and is paced at ``--speed`` x real time. Each window's
ground truth can be written to ``--labels-dir`` (the detectors never read it). SIGTERM/SIGINT
stop it at once (the batch in flight is abandoned, never half-acknowledged as sent).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from nexus.bus import KafkaBus, OutgoingMessage, Producer
from nexus.config import load_settings
from nexus.events import TOPIC_ORDERS, TOPIC_TRADES
from nexus.sim import LabelFile, SimConfig
from nexus.sim.bus import run_on_bus
from nexus.sim.labels import encode_labels
from nexus.web import configure_logging

log = logging.getLogger(__name__)


class CountingProducer:
    """A producer that counts the records the broker acknowledged."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self.published = 0

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        await self.publish_batch([OutgoingMessage(topic, value, key, tuple(headers))])

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        await self._producer.publish_batch(messages)
        self.published += len(messages)

    async def close(self) -> None:
        await self._producer.close()


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
        log.info("feed window", extra={"window": labels.config.id_prefix})


async def run_feed(
    bootstrap: str,
    config: SimConfig,
    *,
    speed: float | None,
    windows: int | None,
    labels_dir: Path | None,
    stop: asyncio.Event,
) -> int:
    """Publish the simulator's windows on the broker until ``stop`` is set (or ``windows``
    ran); returns the number of events the broker acknowledged."""
    bus = KafkaBus(bootstrap, client_id="marketdata-feed")
    await bus.create_topics([TOPIC_ORDERS, TOPIC_TRADES])
    producer = CountingProducer(bus.producer())
    writer = LabelWriter(labels_dir) if labels_dir is not None else None
    feeding = asyncio.create_task(run_on_bus(config, producer, windows, speed, writer, stop))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([feeding, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (feeding, stopping):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeding
        with contextlib.suppress(asyncio.CancelledError):
            await stopping
        await producer.close()
        await bus.close()
    return producer.published


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


async def _run_until_signalled(bootstrap: str, config: SimConfig, args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return await run_feed(
        bootstrap,
        config,
        speed=args.speed or None,
        windows=args.windows,
        labels_dir=args.labels_dir,
        stop=stop,
    )


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
    published = asyncio.run(_run_until_signalled(settings.kafka_bootstrap, config, args))
    print(f"published {published} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
