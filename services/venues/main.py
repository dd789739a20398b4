"""Run one simulated exchange: ``python -m services.venues.main --venue ALPHA``.

The process lists ``--symbols`` (``SYM=PRICE,...`` for explicit start prices, or bare
symbols priced from market data's latest closes, the simulator's start prices), runs its
participants and books, publishes quotes on ``marketdata.quotes``, follows the internal
venue's trades for the fundamental, and accepts FIX 4.4 sessions from ``--clients`` on
``--fix-port`` (0: a free port). Once listening it writes its descriptor
``<data dir>/venues/<NAME>.json`` (host, port, CompIDs, fees, latency), which the router
reads to open its sessions. SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec

from nexus.bus import bus_from_bootstrap
from nexus.config import Settings, load_settings
from nexus.money import format_raw, to_raw
from nexus.web import SERVICE, Authenticator, configure_logging
from services.venues.core import PROFILES, Exchange, LatencyModel, VenueProfile
from services.venues.fix import FixAcceptor, VenueApplication, free_port, write_acceptor_settings
from services.venues.service import VenueService

log = logging.getLogger(__name__)

DEFAULT_CLIENTS = "NEXUSROUTER"
DEFAULT_SYMBOLS = ",".join(f"SIM{i:04d}" for i in range(8))
PRICE_WAIT_S = 90.0


def descriptor_dir(settings: Settings) -> Path:
    """Where venues announce their FIX endpoints."""
    return Path(settings.data_dir) / "venues"


def build_profile(args: argparse.Namespace) -> VenueProfile:
    """The venue's profile: a named default with the command line's overrides."""
    base = PROFILES.get(args.venue) or msgspec.structs.replace(PROFILES["ALPHA"], name=args.venue)
    changes: dict[str, object] = {}
    if args.latency_ms is not None:
        changes["latency"] = LatencyModel(
            median_ms=args.latency_ms, sigma=args.latency_sigma, max_ms=max(args.latency_ms * 4, 1)
        )
    if args.reject_probability is not None:
        changes["reject_probability"] = args.reject_probability
    if args.fade_probability is not None:
        changes["fade_probability"] = args.fade_probability
    if args.requote_ms is not None:
        changes["requote_ms"] = args.requote_ms
    if args.seed is not None:
        changes["seed"] = args.seed
    profile = msgspec.structs.replace(base, **changes) if changes else base
    return msgspec.convert(msgspec.to_builtins(profile), VenueProfile)  # validates overrides


async def start_prices(
    settings: Settings, spec: str, wait_s: float = PRICE_WAIT_S
) -> dict[str, int]:
    """``SYM=PRICE`` pairs as given; bare symbols priced from market data's latest closes."""
    prices: dict[str, int] = {}
    missing: list[str] = []
    for item in filter(None, (p.strip() for p in spec.split(","))):
        symbol, _, price = item.partition("=")
        if price:
            prices[symbol] = to_raw(price)
        else:
            missing.append(symbol)
    if not missing:
        return prices
    token = Authenticator(settings).issue_token("venue", [SERVICE], ttl_seconds=600)
    url = settings.service_url("marketdata")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
        while True:
            try:
                answer = await http.get(
                    "/prices/latest",
                    params={"symbols": ",".join(missing)},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if answer.status_code == 200:
                    for row in answer.json():
                        prices[row["symbol"]] = to_raw(row["close"])
                    return prices
                log.warning("market data answered %s for start prices", answer.status_code)
            except httpx.HTTPError as exc:
                log.info("waiting for market data at %s: %r", url, exc)
            if loop.time() > deadline:
                raise SystemExit(f"no start prices for {missing} from market data at {url}")
            await asyncio.sleep(1.0)


def write_descriptor(
    settings: Settings,
    profile: VenueProfile,
    port: int,
    clients: Sequence[str],
    symbols: Sequence[str],
) -> Path:
    """Announce the venue's FIX endpoint (written atomically)."""
    directory = descriptor_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    body = {
        "name": profile.name,
        "host": settings.host,
        "port": port,
        "sender_comp_id": profile.name,
        "clients": list(clients),
        "symbols": list(symbols),
        "fee_model": profile.fees.model,
        "maker_fee_per_share": str(format_raw(profile.fees.maker_per_share)),
        "taker_fee_per_share": str(format_raw(profile.fees.taker_per_share)),
        "latency_median_ms": profile.latency.median_ms,
        "pid": os.getpid(),
    }
    path = directory / f"{profile.name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2))
    tmp.replace(path)
    return path


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the venue and serve until a signal."""
    profile = build_profile(args)
    prices = await start_prices(settings, args.symbols)
    # a run number in every venue id: execution ids never repeat across restarts
    exchange = Exchange(profile, prices, id_prefix=f"{profile.name}.{time.time_ns() // 1_000_000}")
    bus = bus_from_bootstrap(settings.kafka_bootstrap)
    service = VenueService(exchange, bus)
    loop = asyncio.get_running_loop()
    clients = [c for c in args.clients.split(",") if c]
    port = args.fix_port or free_port(settings.host)
    fix_dir = Path(settings.data_dir) / "fix" / "venues" / profile.name
    cfg = write_acceptor_settings(fix_dir, profile.name, clients, port, file_log=args.fix_log)
    app = VenueApplication(loop, service.on_command, service.on_session)
    acceptor = FixAcceptor(cfg, app, profile.name, file_log=args.fix_log)
    service.attach(acceptor)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # FIX first (the descriptor means "ready for orders"), then the bus: a slow broker
    # delays the venue's quotes, never its order entry
    acceptor.start()
    path = write_descriptor(settings, profile, port, clients, exchange.symbols)
    log.info("venue %s listening for FIX on %s:%d (%s)", profile.name, settings.host, port, path)
    print(f"venue {profile.name} FIX {settings.host}:{port}", flush=True)
    await service.start()
    tasks = [
        asyncio.create_task(service.requote_forever()),
        asyncio.create_task(service.publish_forever()),
    ]
    runner = None
    if args.follow_trades:
        runner = service.follow_trades(bus, f"venues.{profile.name}.trades")
        tasks.append(asyncio.create_task(runner.run()))
    try:
        await stop.wait()
    finally:
        if runner is not None:
            runner.request_stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        await asyncio.to_thread(acceptor.stop)
        await service.stop()
        await bus.close()
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The venue's command line."""
    parser = argparse.ArgumentParser(prog="services.venues.main", description=__doc__)
    parser.add_argument(
        "--venue", default="ALPHA", help=f"one of {', '.join(PROFILES)} or a new name"
    )
    parser.add_argument("--symbols", default=DEFAULT_SYMBOLS, help="SYM[=PRICE],...")
    parser.add_argument("--fix-port", type=int, default=0)
    parser.add_argument("--clients", default=DEFAULT_CLIENTS, help="accepted TargetCompIDs")
    parser.add_argument("--latency-ms", type=float, default=None, help="median latency")
    parser.add_argument("--latency-sigma", type=float, default=0.3)
    parser.add_argument("--reject-probability", type=float, default=None)
    parser.add_argument("--fade-probability", type=float, default=None)
    parser.add_argument("--requote-ms", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--fix-log", action="store_true", help="QuickFIX message logs on disk")
    parser.add_argument("--no-follow-trades", dest="follow_trades", action="store_false")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        import uvloop

        return uvloop.run(run(args, settings))
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(run(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
