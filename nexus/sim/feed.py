"""Feed the simulator's order flow into a running matching service over REST.

``python -m nexus.sim.feed --matching-url http://127.0.0.1:8101`` simulates window after
window (:func:`nexus.sim.live.window_config`) and sends every participant action - submit,
amend, cancel - to the matching service as the ``simulator`` service principal, at most
``--rate`` requests per second. The matching service is the truth: it matches, applies halts
and publishes ``orders.events`` / ``trades.executed``, so everything downstream (positions,
analytics, surveillance) sees a live market. An action the service refuses (a cancel of an
order that already traded, an order of a halted user) is counted, never retried.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

from nexus.config import load_settings
from nexus.money import format_raw
from nexus.sim.config import SimConfig
from nexus.sim.live import window_config
from nexus.sim.runner import simulate
from nexus.sim.sink import Action
from nexus.web.auth import SERVICE, Authenticator

log = logging.getLogger(__name__)


def request_of(action: Action) -> tuple[str, str, dict[str, Any] | None]:
    """The HTTP method, path and JSON body that perform ``action`` on the matching service."""
    if action.op == "submit":
        body: dict[str, Any] = {
            "symbol": action.symbol,
            "side": action.side,
            "quantity": format_raw(action.quantity),
            "order_type": "LIMIT" if action.price else "MARKET",
            "time_in_force": action.time_in_force,
            "order_id": action.order_id,
            "user_id": action.user_id,
            "account_id": action.account_id,
        }
        if action.price:
            body["price"] = format_raw(action.price)
        return "POST", "/orders", body
    if action.op == "amend":
        return (
            "PATCH",
            f"/orders/{action.order_id}",
            {
                "price": format_raw(action.price),
                "quantity": format_raw(action.quantity),
            },
        )
    return "DELETE", f"/orders/{action.order_id}", None


async def feed(
    matching_url: str,
    config: SimConfig,
    *,
    rate: float,
    windows: int | None = None,
    stop: asyncio.Event | None = None,
    token: str | None = None,
) -> Counter[str]:
    """Send the simulated actions to the matching service; returns answers by status class."""
    token = token or Authenticator(load_settings()).issue_token(
        "simulator", [SERVICE], ttl_seconds=30 * 86_400
    )
    outcome: Counter[str] = Counter()
    interval = 1.0 / rate
    window = 0
    async with httpx.AsyncClient(
        base_url=matching_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        while (windows is None or window < windows) and not (stop and stop.is_set()):
            result = await asyncio.to_thread(simulate, window_config(config, window))
            next_at = time.monotonic()
            for action in result.iter_actions():
                if stop is not None and stop.is_set():
                    break
                method, path, body = request_of(action)
                try:
                    answer = await http.request(method, path, json=body)
                    outcome[f"{answer.status_code // 100}xx"] += 1
                except httpx.HTTPError as exc:
                    outcome["unreachable"] += 1
                    log.warning("matching service unreachable: %r", exc)
                    await asyncio.sleep(1.0)
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            window += 1
            log.info("simulator window %d done: %s", window, dict(outcome))
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m nexus.sim.feed``."""
    parser = argparse.ArgumentParser(prog="nexus.sim.feed", description=__doc__)
    parser.add_argument("--matching-url", required=True)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second at most")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--symbols", type=int, default=8)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0, help="simulated seconds per window")
    parser.add_argument("--windows", type=int, default=None, help="stop after N windows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per order is noise
    config = SimConfig(seed=args.seed, symbols=args.symbols, users=args.users, seconds=args.seconds)
    stop = asyncio.Event()

    async def run() -> Counter[str]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await feed(
            args.matching_url, config, rate=args.rate, windows=args.windows, stop=stop
        )

    print(dict(asyncio.run(run())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
