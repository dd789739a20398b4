"""A started stack for the browser tests: ``nexus up`` with every service and the dashboard.

Everything runs as in ``make run`` (child processes, the simulator feed at its default rate) on
the session's PostgreSQL and Redis, a broker of its own, fresh databases and free ports.
Chromium is Debian's (``/usr/bin/chromium``, installed by ``make browser-deps``), driven by
Playwright; every page's console errors are collected so a test can assert there were none.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from nexus.bus import KafkaBus, OutgoingMessage
from nexus.cli import available_services
from nexus.config import SERVICE_PORTS, load_settings
from nexus.infra import Stack, drop_database, ensure_database, free_port, start_stack
from nexus.sim import simulate
from nexus.sim.profiles import realistic_config
from nexus.web import Authenticator

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class RunningStack:
    """A running ``nexus up``: ports, environment and the console it printed."""

    proc: subprocess.Popen[str]
    ports: dict[str, int]
    bootstrap: str
    lines: list[str] = field(default_factory=list)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def console(self) -> str:
        return "\n".join(self.lines)

    def admin(self) -> dict[str, str]:
        token = Authenticator(load_settings({})).issue_token("browser-tests", ["admin"])
        return {"Authorization": f"Bearer {token}"}


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``predicate`` until it returns something truthy; its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def running(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    data = tmp_path_factory.mktemp("browser-stack")
    services = available_services()
    assert "dashboard" in services and "surveillance" in services
    ports = {name: free_port() for name in SERVICE_PORTS}
    token = uuid.uuid4().hex[:8]
    databases = {n: f"nexus_web_{n}_{token}" for n in services if n != "dashboard"}

    async def create() -> dict[str, str]:
        return {n: await ensure_database(stack.pg_dsn, db) for n, db in databases.items()}

    dsns = asyncio.run(create())
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
        [sys.executable, "-m", "nexus.cli", "up", *services],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run = RunningStack(proc, ports, broker.kafka_bootstrap)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            run.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: "Ctrl-C stops everything." in run.console() or proc.poll() is not None,
            240,
            "nexus up",
        )
        assert proc.poll() is None, run.console()
        yield run
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()

        async def drop() -> None:
            for db in databases.values():
                await drop_database(stack.pg_dsn, db)

        asyncio.run(drop())
        broker.stop()


#: Symbols the live feed does not trade (it trades SIM0000..SIM0007): injected episodes go here.
INJECTED_SYMBOLS = ("SIM0008", "SIM0009", "SIM0010", "SIM0011")


def inject_simulated_episodes(run: RunningStack, http: httpx.Client, seed: int = 11) -> int:
    """Publish a short simulated, labelled flow with spoofing episodes on symbols the live feed
    leaves alone, as the matching engine would (``orders.events``, ``trades.executed``), with
    its account owners registered; the number of events published."""
    result = simulate(
        realistic_config(
            seed=seed,
            symbols=len(INJECTED_SYMBOLS) + 8,
            users=80,
            seconds=20,
            episodes_per_type=8,
            # from now on, as a venue would stamp it: surveillance applies a partition's events
            # in event-time order, and flow stamped in the past behind the live feed's newer
            # events on the same partitions would arrive late (applied in arrival order)
            start_ns=time.time_ns(),
            id_prefix=f"web{seed}",
        )
    )
    owners = {acc: u.beneficial_owner for u in result.labels().users for acc in u.accounts}
    answer = http.put(f"{run.url('surveillance')}/accounts", json={"owners": owners})
    assert answer.status_code == 200, answer.text
    wanted = {s.encode() for s in INJECTED_SYMBOLS}
    messages: list[OutgoingMessage] = []

    def collect(topic: str, key: bytes, payload: bytes) -> None:
        if key in wanted:
            messages.append(OutgoingMessage(topic, payload, key))

    result.publish(collect)

    async def send() -> None:
        producer = KafkaBus(run.bootstrap).producer()
        try:
            for i in range(0, len(messages), 5_000):
                await producer.publish_batch(messages[i : i + 5_000])
        finally:
            await producer.close()

    threading_run(send)
    return len(messages)


def threading_run(coro_fn: Callable[[], Any]) -> None:
    """Run a coroutine on a loop of its own in a thread (Playwright's sync API holds this one)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro_fn())
        except BaseException as exc:  # re-raised in the caller
            failure.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


@pytest.fixture(scope="module")
def browser(running: RunningStack) -> Iterator[Browser]:
    """Chromium, for one module only: Playwright's sync API holds an event loop on this
    thread while it runs, which every async test after it needs free (and the stack's set-up
    and tear-down run their own, so the stack starts first)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """A page at 1280x800 and the console errors it logged."""

    page: Page
    errors: list[str]
    base: str

    def goto(self, route: str) -> None:
        self.page.goto(f"{self.base}/{route}")

    def sign_in(self, subject: str, role: str) -> None:
        self.goto("#/signin")
        self.page.fill("#subject", subject)
        self.page.select_option("#role", role)
        self.page.click("#dev-signin button[type=submit]")
        self.page.wait_for_selector("#signout")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.fixture
def tab(browser: Browser, running: RunningStack) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(f"{msg.text} @ {msg.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    try:
        yield Tab(page, errors, running.url("dashboard"))
    finally:
        context.close()


@pytest.fixture
def admin_http(running: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(headers=running.admin(), timeout=10) as http:
        yield http
