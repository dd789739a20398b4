"""``make run`` end to end: one market, a console a person can watch, restarts, the README tour.

One ``nexus up`` (every platform service and the simulator feed at its default rate, as child
processes, on the session's broker, PostgreSQL and Redis, with fresh databases and free ports)
serves every test of this module.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from nexus.bus import KafkaBus
from nexus.config import SERVICE_PORTS, load_settings
from nexus.events import TOPIC_TRADES, TRADE_CODEC, Trade
from nexus.infra import Stack, drop_database, ensure_database, free_port, start_stack
from nexus.web import Authenticator

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("risk", "matching", "orders", "marketdata", "analytics")
SYMBOLS = [f"SIM{i:04d}" for i in range(8)]
P = Decimal(10**9)


@dataclass
class Running:
    """A running ``nexus up``: its ports, data dir, console and an admin client."""

    proc: subprocess.Popen[str]
    ports: dict[str, int]
    data: Path
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def console(self) -> str:
        return "\n".join(self.lines)

    def sim(self) -> dict[str, Any]:
        try:
            status: dict[str, Any] = json.loads((self.data / "sim" / "status.json").read_text())
        except (OSError, ValueError):
            return {}
        return status

    def pids(self) -> dict[str, int]:
        pids: dict[str, int] = json.loads((self.data / "pids.json").read_text())
        return pids


def _admin() -> dict[str, str]:
    token = Authenticator(load_settings({})).issue_token("test-ops", ["admin"])
    return {"Authorization": f"Bearer {token}"}


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def running(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data = tmp_path_factory.mktemp("make-run")
    ports = {name: free_port() for name in SERVICE_PORTS}
    token = uuid.uuid4().hex[:8]
    databases = {name: f"nexus_run_{name}_{token}" for name in SERVICES}

    async def create() -> dict[str, str]:
        return {n: await ensure_database(stack.pg_dsn, db) for n, db in databases.items()}

    dsns = asyncio.run(create())
    # A broker of its own: the session's topics hold other tests' SIM trades at other prices.
    broker = start_stack(
        replace(load_settings({}), pg_dsn=stack.pg_dsn, redis_url=stack.redis_url),
        workdir=str(data / "broker"),
    )
    env = {
        **os.environ,
        "NEXUS_KAFKA_BOOTSTRAP": broker.kafka_bootstrap,
        "NEXUS_PG_DSN": stack.pg_dsn,
        "NEXUS_REDIS_URL": stack.redis_url,
        "NEXUS_DATA_DIR": str(data),
        **{f"NEXUS_{n.upper()}_PORT": str(p) for n, p in ports.items()},
        **{f"NEXUS_{n.upper()}_PG_DSN": dsn for n, dsn in dsns.items()},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "nexus.cli", "up", *SERVICES],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run = Running(proc, ports, data, env)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            run.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait(
            lambda: "Ctrl-C stops everything." in run.console() or proc.poll() is not None,
            180,
            "nexus up",
        )
        assert proc.poll() is None, run.console()
        _wait(lambda: run.sim().get("trades", 0) >= 50, 90, "the simulated flow to trade")
        yield run
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()

        async def drop() -> None:
            for db in databases.values():
                await drop_database(stack.pg_dsn, db)

        asyncio.run(drop())
        broker.stop()


def _venue_mid(http: httpx.Client, run: Running, symbol: str) -> Decimal | None:
    book = http.get(f"{run.url('matching')}/books/{symbol}", params={"depth": 1}).json()
    if not book["bids"] or not book["asks"]:
        return None
    return (Decimal(book["bids"][0]["price"]) + Decimal(book["asks"][0]["price"])) / 2


def _holders(http: httpx.Client, run: Running, wanted: int) -> list[str]:
    users = []
    for n in range(1, 101):
        user = f"U{n:05d}"
        if http.get(f"{run.url('analytics')}/users/{user}/positions").json():
            users.append(user)
        if len(users) == wanted:
            break
    return users


def test_one_market_positions_are_marked_at_the_price_on_the_venue_book(running: Running) -> None:
    with httpx.Client(headers=_admin(), timeout=10) as http:
        # the simulator started each symbol at market data's history's last close
        latest = http.get(
            f"{running.url('marketdata')}/prices/latest", params={"symbols": ",".join(SYMBOLS)}
        ).json()
        started = running.sim()["start_prices"]
        series = http.get(
            f"{running.url('marketdata')}/prices", params={"symbols": ",".join(SYMBOLS)}
        ).json()["series"]
        for s in series:
            assert Decimal(started[s["symbol"]]) == Decimal(s["closes"][-1]), s["symbol"]
        users = _holders(http, running, wanted=5)
        assert len(users) >= 3, "too few simulated users hold positions"
        checked = 0
        worst = Decimal(0)
        for user in users:
            for _attempt in range(30):
                before = http.get(f"{running.url('analytics')}/users/{user}/positions").json()
                summary = http.get(f"{running.url('analytics')}/users/{user}/summary").json()
                after = http.get(f"{running.url('analytics')}/users/{user}/positions").json()
                if before == after:
                    break
            else:
                raise AssertionError(f"{user}: prices never held still for three requests")
            # market_value is exactly the sum of quantity x the price shown per position
            total = sum(Decimal(p["quantity"]) * Decimal(p["price"]) for p in after)
            assert Decimal(summary["market_value"]) == total, (user, summary, after)
            for p in after:
                mid = _venue_mid(http, running, p["symbol"])
                if mid is None:
                    continue
                gap = abs(Decimal(p["price"]) - mid) / mid
                worst = max(worst, gap)
                assert gap < Decimal("0.01"), (user, p, mid)
                checked += 1
        # market data's marks and quotes are the same market
        for row in http.get(
            f"{running.url('marketdata')}/prices/latest", params={"symbols": ",".join(SYMBOLS)}
        ).json():
            mid = _venue_mid(http, running, row["symbol"])
            if mid is not None and row["last_sale"] is not None:
                assert abs(Decimal(row["mark"]) - mid) / mid < Decimal("0.01"), (row, mid)
        assert latest and checked >= 5
        print(f"one market: {checked} positions of {len(users)} users, worst gap {worst:.4%}")


def test_console_shows_endpoints_tokens_and_a_live_status_line_logs_go_to_files(
    running: Running,
) -> None:
    _wait(lambda: "orders/s" in running.console(), 30, "a status line")
    out = running.console()
    for name in SERVICES:
        assert f"{running.url(name)}/openapi.json" in out, name
        lines = (running.data / "logs" / f"{name}.log").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert any(r.get("service") == name for r in records), name
    for role in ("ADMIN", "TRADER", "RISK", "COMPLIANCE", "SERVICE"):
        assert f"export {role}_TOKEN=" in out, role
    assert (running.data / "tokens.env").read_text().count("export ") == 5
    status = [line for line in out.splitlines() if "orders/s" in line]
    pattern = r"sim \d+ orders/s \| trades \d+ \| open orders \d+ \| halts \d+ \| lag \d+"
    assert any(re.search(pattern, line) for line in status), status[-3:]
    # no access log on the console: every line is ours
    assert not any(line.startswith("{") for line in out.splitlines())


def _tour_commands(run: Running) -> list[str]:
    text = (ROOT / "README.md").read_text()
    tour = text[text.index("## A first tour") :]
    block = tour[tour.index("```sh") + 5 : tour.index("```", tour.index("```sh") + 5)]
    commands: list[str] = []
    pending = ""
    for raw in block.splitlines():
        line = raw.split("  # ")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(pending)
            pending = ""
    for name, port in SERVICE_PORTS.items():
        commands = [
            c.replace(f"127.0.0.1:{port}", f"127.0.0.1:{run.ports[name]}") for c in commands
        ]
    return [c.replace(".nexus/", f"{run.data}/") for c in commands]


def test_readme_tour_runs_verbatim_against_the_started_stack(running: Running) -> None:
    commands = _tour_commands(running)
    assert len(commands) >= 8
    script = "set -e\n" + "\n".join(f"{c}\necho" for c in commands)
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, env=running.env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    curls = [c for c in commands if c.startswith("curl")]
    assert len(answers) == len(curls), done.stdout
    by_path = dict(zip(curls, answers, strict=True))
    for command, answer in by_path.items():
        if "/books/" in command:
            assert answer["bids"] and answer["asks"], answer
        elif "/prices/latest" in command:
            assert answer[0]["mark"], answer
        elif "/summary" in command:
            assert Decimal(answer["market_value"]) != 0, answer
        elif "/var" in command:
            assert Decimal(answer["var"]) > 0, answer
        elif "/halts/resume" in command:
            assert answer["action"] == "RESUME", answer
        elif "/halts" in command:
            assert answer["action"] == "HALT", answer
        elif "/orders" in command and "-X POST" in command:
            # the venue obeys: rejected, or refused while it applies the halt just published
            refused = answer["status"] == 503 and "halts" in answer["detail"]
            assert answer["status"] == "REJECTED" or refused, answer
        elif "/positions" in command:
            assert answer and all(Decimal(p["quantity"]) != 0 for p in answer), answer


async def _independent_positions(bootstrap: str) -> dict[tuple[str, str], Decimal]:
    """Positions from every trade on ``trades.executed`` (each trade id once)."""
    bus = KafkaBus(bootstrap, client_id="test-independent")
    consumer = bus.consumer(f"test-independent-{uuid.uuid4().hex[:8]}", topics=[TOPIC_TRADES])
    await consumer.start()
    trades: dict[str, Trade] = {}
    try:
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 3.0:
            records = await consumer.poll(5000, 0.5)
            if records:
                idle_since = time.monotonic()
            for r in records:
                trade = TRADE_CODEC.decode(r.value)
                trades[trade.event_id] = trade
        assert await consumer.lag() == 0
    finally:
        await consumer.close()
        await bus.close()
    positions: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in trades.values():
        qty = Decimal(t.quantity) / P
        positions[(t.buyer_user_id, t.symbol)] += qty
        positions[(t.seller_user_id, t.symbol)] -= qty
    return {k: v for k, v in positions.items() if v}


def _orders_lag(http: httpx.Client, run: Running) -> float:
    text = http.get(f"{run.url('orders')}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("nexus_consumer_lag{") and "trades" in line
    )


def test_orders_killed_while_trading_is_restarted_and_positions_match_the_trades(
    running: Running,
) -> None:
    victim = running.pids()["orders"]
    trades_before = running.sim()["trades"]
    os.kill(victim, signal.SIGKILL)
    _wait(
        lambda: running.pids().get("orders") not in (None, victim),
        30,
        "nexus up to restart the orders service",
    )
    assert any("orders exited with -9; restarting" in line for line in running.lines)
    with httpx.Client(headers=_admin(), timeout=10) as http:
        _wait(
            lambda: _healthy(http, running.url("orders")),
            60,
            "the restarted orders service",
        )
        _wait(lambda: running.sim()["trades"] > trades_before + 20, 60, "trading to go on")
        # quiesce the market: halt every symbol (expiring, in case this test fails midway)
        for symbol in SYMBOLS:
            answer = http.post(
                f"{running.url('risk')}/halts",
                json={
                    "scope": "SYMBOL",
                    "target": symbol,
                    "reason": "test quiesce",
                    "expires_in_seconds": 60,
                },
            )
            assert answer.status_code in (200, 201), answer.text
        try:
            _wait(lambda: _quiet(running, 3.0), 60, "the halted market to stop trading")
            expected = asyncio.run(_independent_positions(running.env["NEXUS_KAFKA_BOOTSTRAP"]))
            _wait(lambda: _orders_lag(http, running) == 0, 30, "orders to catch up")
            users = sorted({u for u, _ in expected})
            assert len(users) >= 10

            def differences() -> tuple[dict[Any, Decimal], dict[Any, Decimal]]:
                got: dict[tuple[str, str], Decimal] = {}
                for user in users:
                    for p in http.get(f"{running.url('orders')}/users/{user}/positions").json():
                        if Decimal(p["quantity"]):
                            got[(user, p["symbol"])] = Decimal(p["quantity"])
                missing = {k: v for k, v in expected.items() if got.get(k) != v}
                extra = {k: v for k, v in got.items() if k not in expected}
                return missing, extra

            # Until the broker evicts the killed member (its session timeout), the partitions it
            # held are nobody's: the restarted service's lag covers only what it owns. Once they
            # are reassigned, every trade is applied exactly once (the positions converge).
            deadline = time.monotonic() + 45
            while (diff := differences()) != ({}, {}) and time.monotonic() < deadline:
                time.sleep(1.0)
            assert diff == ({}, {}), diff
        finally:
            for symbol in SYMBOLS:
                http.post(
                    f"{running.url('risk')}/halts/resume",
                    json={"scope": "SYMBOL", "target": symbol, "reason": "test done"},
                )


def _quiet(run: Running, seconds: float) -> bool:
    """No trade answered to the simulator for ``seconds``."""
    before = run.sim()["trades"]
    time.sleep(seconds)
    return bool(run.sim()["trades"] == before)


def _healthy(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(f"{url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def test_nexus_up_refuses_to_start_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "NEXUS_DATA_DIR": str(tmp_path),
            "NEXUS_RISK_PORT": str(port),
        }
        done = subprocess.run(
            [sys.executable, "-m", "nexus.cli", "up", "risk", "--no-sim"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"port {port} (risk) is taken by another process" in done.stderr
    assert "starting the stack" not in done.stdout
