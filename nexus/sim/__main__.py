"""``python -m nexus.sim``: a simulated event stream to a file or the bus, and its labels.

``--out FILE`` writes the stream; ``--bootstrap HOST:PORT`` publishes it on the Kafka-protocol
broker as the matching engine would (order events on ``orders.events``, trades on
``trades.executed``, keyed by symbol), as fast as it can or paced with ``--speed`` (simulated
seconds per real second). One of the two, or both.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from nexus.bus import BusError, KafkaBus
from nexus.sim.audit import audit_accounts, write_audit_jsonl
from nexus.sim.bus import publish_to_bus
from nexus.sim.config import SimConfig
from nexus.sim.labels import encode_labels
from nexus.sim.profiles import PROFILES, realistic_config
from nexus.sim.runner import SimResult, simulate
from nexus.sim.sink import matching_engine_sink, replay
from nexus.sim.wire import read_events


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments (every one maps to a :class:`SimConfig` field or an output)."""
    p = argparse.ArgumentParser(
        prog="python -m nexus.sim",
        description="Simulate order flow with labelled manipulation episodes.",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--symbols", type=int, default=20)
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--seconds", type=float, default=60.0, help="simulated seconds")
    p.add_argument("--rate", type=float, default=None, help="orders per second per symbol")
    p.add_argument("--spoofing", type=int, default=None, help="spoofing episodes")
    p.add_argument("--layering", type=int, default=None, help="layering episodes")
    p.add_argument("--wash", type=int, default=None, help="wash-trading episodes")
    p.add_argument("--momentum", type=int, default=None, help="momentum-ignition episodes")
    p.add_argument("--config", type=Path, default=None, help="JSON SimConfig (flags override)")
    p.add_argument(
        "--profile",
        choices=PROFILES,
        default="default",
        help="realistic: depth-relative episodes plus the legitimate look-alikes "
        "(market makers, HFT, institutions, sliced parents, news jumps, related accounts)",
    )
    p.add_argument("--out", type=Path, default=None, help="event stream file")
    p.add_argument(
        "--bootstrap",
        default=None,
        help="publish on this Kafka-protocol broker (orders.events, trades.executed)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=None,
        help="with --bootstrap: simulated seconds published per real second (default: unpaced)",
    )
    p.add_argument(
        "--format",
        choices=("msgpack", "jsonl", "audit-jsonl"),
        default="msgpack",
        help="length-prefixed msgpack frames (default), msgspec JSON lines, or the audit-trail "
        "JSON lines of surveillance scans (then --accounts writes account -> owner)",
    )
    p.add_argument("--labels", type=Path, required=True, help="ground-truth label file (JSON)")
    p.add_argument("--accounts", type=Path, default=None, help="user/owner/accounts map (JSON)")
    p.add_argument(
        "--engine",
        choices=("batch", "matching"),
        default="batch",
        help="batch: compiled book in batches (fast, engine-identical); "
        "matching: one MatchingEngine call per action (slow, for verification)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """Merge ``--config`` with the flags into a validated :class:`SimConfig`."""
    if args.config:
        base = msgspec.json.decode(args.config.read_bytes(), type=SimConfig)
    elif getattr(args, "profile", "default") == "realistic":
        base = realistic_config(args.seed, args.symbols, args.users, args.seconds)
    else:
        base = SimConfig()
    changes: dict[str, object] = {
        "seed": args.seed,
        "symbols": args.symbols,
        "users": args.users,
        "seconds": args.seconds,
    }
    if args.rate is not None:
        changes["orders_per_second"] = args.rate
    for flag, field in (
        ("spoofing", "spoofing"),
        ("layering", "layering"),
        ("wash", "wash_trading"),
        ("momentum", "momentum_ignition"),
    ):
        count = getattr(args, flag)
        if count is not None:
            changes[field] = msgspec.structs.replace(getattr(base, field), count=count)
    merged = msgspec.structs.replace(base, **changes)
    # Round-trip through the decoder so the Meta constraints are checked.
    return msgspec.json.decode(msgspec.json.encode(merged), type=SimConfig)


async def _publish(result: SimResult, bootstrap: str, speed: float | None) -> int:
    producer = KafkaBus(bootstrap).producer()
    try:
        return await publish_to_bus(result, producer, speed=speed)
    finally:
        await producer.close()


def _write(result: SimResult, args: argparse.Namespace) -> None:
    with args.out.open("wb") as fh:
        if args.format == "audit-jsonl":
            write_audit_jsonl(result.iter_chunks(), fh)
        elif args.engine == "matching" or args.format == "jsonl":
            encoder = msgspec.json.Encoder() if args.format == "jsonl" else None
            if args.engine == "matching":
                sink = matching_engine_sink()

                def emit(event: msgspec.Struct) -> None:
                    if encoder is not None:
                        fh.write(encoder.encode(event) + b"\n")
                    else:
                        payload = msgspec.msgpack.encode(event)
                        fh.write(len(payload).to_bytes(4, "big") + payload)

                replay(result.iter_actions(), sink, emit)
            else:
                assert encoder is not None
                buf = bytearray()
                for data, _, _ in result.iter_chunks():
                    events = list(read_events(data))
                    buf.clear()
                    for event in events:
                        buf += encoder.encode(event) + b"\n"
                    fh.write(buf)
        else:
            result.write(fh)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out is None and args.bootstrap is None:
        parser.error("give --out FILE, --bootstrap HOST:PORT, or both")
    if args.speed is not None and (args.bootstrap is None or args.speed <= 0):
        parser.error("--speed needs --bootstrap and a positive value")
    try:
        cfg = config_from_args(args)
    except (msgspec.ValidationError, ValueError) as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    result = simulate(cfg)
    if args.bootstrap is not None:
        try:
            asyncio.run(_publish(result, args.bootstrap, args.speed))
        except BusError as exc:
            print(f"publishing on {args.bootstrap} failed: {exc}", file=sys.stderr)
            return 1
    if args.out is not None:
        _write(result, args)
    args.labels.write_bytes(encode_labels(result.labels()))
    if args.accounts is not None and args.format == "audit-jsonl":
        args.accounts.write_bytes(audit_accounts(result.population.users))
    elif args.accounts is not None:
        result.write_accounts(args.accounts)
    elapsed = time.perf_counter() - t0
    stats = result.stats()
    summary = {
        "events": stats.events,
        "seconds_wall": round(elapsed, 3),
        "events_per_second": round(stats.events / elapsed) if elapsed > 0 else None,
        "orders": stats.orders,
        "trades": stats.trades,
        "cancel_ratio": round(stats.cancel_ratio, 4),
        "order_to_trade": round(stats.order_to_trade, 2),
        "episodes": len(result.episodes),
    }
    print(msgspec.json.encode(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
