"""Session fixtures: the embedded stack (real broker, PostgreSQL, Redis) started once.

What the environment configures (``NEXUS_KAFKA_BOOTSTRAP``, ``NEXUS_PG_DSN``,
``NEXUS_REDIS_URL``) is used as is; what it does not is started on free loopback ports by
:func:`nexus.infra.start_stack` and torn down at the end. Nothing here skips: a server that
cannot be started fails the session.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping

import pytest
import uvloop

from nexus.bus import KafkaBus
from nexus.config import load_settings
from nexus.infra import Stack, drop_database, ensure_database, start_stack


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Async tests run on uvloop, as the services do in production.

    (On the default loop, an in-process uvicorn server answered each request ~44 ms late.)
    """
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The running infrastructure for this test session."""
    running = start_stack(load_settings())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: Stack) -> str:
    """Bootstrap address of the Kafka-protocol broker."""
    return stack.kafka_bootstrap


@pytest.fixture(scope="session")
def redis_url(stack: Stack) -> str:
    """URL of the Redis server."""
    return stack.redis_url


@pytest.fixture(scope="session")
def pg_server_dsn(stack: Stack) -> str:
    """DSN of the PostgreSQL server's maintenance database."""
    return stack.pg_dsn


@pytest.fixture
def kafka_bus(kafka_bootstrap: str) -> KafkaBus:
    """A bus on the real broker."""
    return KafkaBus(kafka_bootstrap)


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Make names (topics, groups, databases) unique to one test."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}{token}"


@pytest.fixture
async def fresh_database(pg_server_dsn: str) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: create a uniquely named database, return its DSN; dropped after the test."""
    created: list[str] = []

    async def make(prefix: str = "t") -> str:
        name = f"nexus_test_{prefix}_{uuid.uuid4().hex[:8]}"
        created.append(name)
        return await ensure_database(pg_server_dsn, name)

    yield make
    for name in created:
        await drop_database(pg_server_dsn, name)
