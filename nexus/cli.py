"""``nexus`` command line: ``nexus up`` starts the embedded stack and every service.

``make run`` is ``nexus up``. Each service runs as its own process (``python -m
services.<name>.main``) with the stack's URLs in its environment, exactly as it would run in
production against a real Kafka cluster, PostgreSQL and Redis. Ctrl-C (or SIGTERM) stops the
services first, then the stack.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nexus.config import SERVICE_PORTS, Settings, load_settings
from nexus.infra import Stack, start_stack, wait_for_tcp

#: Start order: the platform first, then the services that consume it.
SERVICE_ORDER = ("risk", "matching", "orders", "marketdata", "analytics", "surveillance", "routing")
#: Simulated external exchanges (``services.venues``): maker-taker, inverted, slower.
VENUES = ("ALPHA", "BRAVO", "CHARLIE")


def available_services() -> list[str]:
    """Services that exist in this checkout (have a ``main`` module)."""
    found = []
    for name in SERVICE_ORDER:
        try:
            if importlib.util.find_spec(f"services.{name}.main") is not None:
                found.append(name)
        except ModuleNotFoundError:
            continue
    return found


def _service_env(settings: Settings, stack: Stack) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEXUS_KAFKA_BOOTSTRAP=stack.kafka_bootstrap,
        NEXUS_PG_DSN=stack.pg_dsn,
        NEXUS_REDIS_URL=stack.redis_url,
        NEXUS_HOST=settings.host,
    )
    return env


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def up(services: Sequence[str] | None = None, *, simulate: bool = True, once: bool = False) -> int:
    """Start the stack and the services; block until Ctrl-C (or just check, with ``once``)."""
    settings = load_settings()
    print("starting the stack (broker, PostgreSQL, Redis) ...", flush=True)
    stack = start_stack(settings, workdir=str(Path(settings.data_dir) / "stack"))
    for name, where in stack.describe().items():
        print(f"  {name:<9} {where}", flush=True)
    chosen = list(services) if services else available_services()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stop = {"requested": False}

    def request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        env = _service_env(settings, stack)
        for name in chosen:
            procs[name] = subprocess.Popen([sys.executable, "-m", f"services.{name}.main"], env=env)
        for name in chosen:
            wait_for_tcp(settings.host, settings.port(name), timeout_s=60)
        if "routing" in chosen and importlib.util.find_spec("services.venues.main") is not None:
            for venue in VENUES:  # they announce their FIX endpoints; the router connects
                procs[f"venue {venue}"] = subprocess.Popen(
                    [sys.executable, "-m", "services.venues.main", "--venue", venue], env=env
                )
        if simulate and "matching" in chosen:
            matching_url = f"http://{settings.host}:{settings.port('matching')}"
            procs["simulator"] = subprocess.Popen(
                [sys.executable, "-m", "nexus.sim.feed", "--matching-url", matching_url], env=env
            )
            print(f"  order-flow simulator feeding {matching_url}", flush=True)
        elif simulate:
            # No matching service: the simulator's own matched flow goes straight to the bus.
            procs["simulator"] = subprocess.Popen(
                [sys.executable, "-m", "services.marketdata.feed"], env=env
            )
            print("  order-flow simulator publishing to the bus", flush=True)
        print("\nNexusTrade is up:", flush=True)
        for name in chosen:
            url = f"http://{settings.host}:{settings.port(name)}"
            print(
                f"  {name:<13} {url}  (docs: {url}/openapi.json, health: {url}/healthz)", flush=True
            )
        if once:
            return 0
        print("\nCtrl-C stops everything.", flush=True)
        while not stop["requested"]:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"service {name} exited with {proc.returncode}; stopping", flush=True)
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        print("stopping services ...", flush=True)
        _stop_all(procs)
        print("stopping the stack ...", flush=True)
        stack.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nexus`` command."""
    parser = argparse.ArgumentParser(prog="nexus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_cmd = sub.add_parser("up", help="start the embedded stack and every service")
    up_cmd.add_argument("services", nargs="*", help=f"only these of {', '.join(SERVICE_PORTS)}")
    up_cmd.add_argument("--no-sim", action="store_true", help="do not run the order-flow simulator")
    up_cmd.add_argument("--check", action="store_true", help="start, print, then stop (smoke test)")
    sub.add_parser("services", help="list the services that exist")
    args = parser.parse_args(argv)
    if args.command == "services":
        print("\n".join(available_services()))
        return 0
    return up(args.services, simulate=not args.no_sim, once=args.check)


if __name__ == "__main__":
    sys.exit(main())
