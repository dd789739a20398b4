"""Fixtures of the chassis integration tests: a fresh database per module, a Redis prefix per test.

They use the session's stack (``tests/conftest.py``): the servers named by ``NEXUS_PG_DSN`` /
``NEXUS_REDIS_URL``, or embedded ones started for the session. Nothing skips.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from nexus.config import with_database
from nexus.store import drop_database, ensure_database


@pytest.fixture(scope="session")
def chassis_pg_server_dsn(pg_server_dsn: str) -> str:
    """DSN of the PostgreSQL server's maintenance database."""
    return pg_server_dsn


@pytest.fixture(scope="session")
def chassis_redis_url(redis_url: str) -> str:
    """URL of the Redis server."""
    return redis_url


@pytest.fixture(scope="module")
async def chassis_db(chassis_pg_server_dsn: str) -> AsyncIterator[str]:
    """DSN of a fresh, uniquely named database, dropped after the module."""
    dsn = with_database(chassis_pg_server_dsn, f"nexus_chassis_{uuid.uuid4().hex[:10]}")
    await ensure_database(dsn)
    yield dsn
    await drop_database(dsn)


@pytest.fixture
async def fresh_db(chassis_pg_server_dsn: str) -> AsyncIterator[str]:
    """DSN of a fresh database for one test (for migration tests that need an empty one)."""
    dsn = with_database(chassis_pg_server_dsn, f"nexus_chassis_{uuid.uuid4().hex[:10]}")
    await ensure_database(dsn)
    yield dsn
    await drop_database(dsn)


@pytest.fixture
async def redis_client(chassis_redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A Redis client (closed after the test)."""
    client = aioredis.Redis.from_url(chassis_redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to one test."""
    return f"test:{uuid.uuid4().hex[:12]}"
