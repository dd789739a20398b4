"""Fixtures of the chassis integration tests: a fresh database per module, a Redis prefix per test.

They use the servers named by ``NEXUS_PG_DSN`` / ``NEXUS_REDIS_URL`` (default: the system
services on loopback). A server that is absent fails the tests; nothing skips.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from nexus.config import load_settings, with_database
from nexus.store import drop_database, ensure_database

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def chassis_pg_server_dsn() -> str:
    """DSN of the PostgreSQL server's maintenance database."""
    return load_settings().pg_dsn or DEFAULT_PG_DSN


@pytest.fixture(scope="session")
def chassis_redis_url() -> str:
    """URL of the Redis server."""
    return load_settings().redis_url or DEFAULT_REDIS_URL


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
