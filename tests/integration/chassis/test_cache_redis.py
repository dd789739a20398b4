"""Read-through cache on real Redis: a read after a write never returns the old value."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from nexus.cache import Cache, CacheUnavailable
from nexus.money import Fixed
from nexus.web.server import bind_socket

pytestmark = pytest.mark.integration


class Position(msgspec.Struct):
    user_id: str
    quantity: Fixed
    version: int


class Database:
    """The source of truth the cache fronts."""

    def __init__(self) -> None:
        self.version = 0

    def read(self, user_id: str) -> Position:
        return Position(user_id, Fixed(str(self.version)), self.version)


@pytest.fixture
def cache(redis_client: aioredis.Redis, redis_prefix: str) -> Cache:
    return Cache(redis_client, prefix=redis_prefix, default_ttl_seconds=30.0)


async def test_hit_does_not_recompute(cache: Cache) -> None:
    db = Database()
    calls = 0

    async def compute() -> Position:
        nonlocal calls
        calls += 1
        return db.read("u1")

    first = await cache.get_or_compute("positions", "u1", compute, type_=Position)
    second = await cache.get_or_compute("positions", "u1", compute, type_=Position)
    assert first == second == Position("u1", Fixed("0"), 0)
    assert calls == 1


async def test_value_is_stored_with_ttl(cache: Cache, redis_client: aioredis.Redis) -> None:
    async def compute() -> int:
        return 1

    await cache.get_or_compute("ttl", "k", compute, 5.0, type_=int)
    [key] = [k async for k in redis_client.scan_iter(f"{cache.prefix}:ttl:d:*")]
    assert 0 < await redis_client.pttl(key) <= 5000


async def test_read_after_invalidate_sees_new_value(cache: Cache) -> None:
    db = Database()

    async def compute() -> Position:
        return db.read("u1")

    await cache.get_or_compute("positions", "u1", compute, type_=Position)
    db.version = 1
    await cache.invalidate("positions", "u1")
    after = await cache.get_or_compute("positions", "u1", compute, type_=Position)
    assert after.version == 1


async def test_slow_reader_storing_old_value_after_write_is_never_served(cache: Cache) -> None:
    db = Database()
    read_old = asyncio.Event()
    release = asyncio.Event()

    async def slow_compute() -> Position:
        value = db.read("u1")
        read_old.set()
        await release.wait()
        return value

    async def compute() -> Position:
        return db.read("u1")

    slow = asyncio.create_task(
        cache.get_or_compute("positions", "u1", slow_compute, type_=Position)
    )
    await read_old.wait()
    db.version = 1
    await cache.invalidate("positions", "u1")
    release.set()
    assert (await slow).version == 0
    fresh = await cache.get_or_compute("positions", "u1", compute, type_=Position)
    assert fresh.version == 1


async def test_concurrent_readers_never_see_value_older_than_last_committed_write(
    cache: Cache,
) -> None:
    db = Database()
    rng = random.Random(7)
    stale: list[tuple[int, int]] = []

    async def compute() -> Position:
        value = db.read("u1")
        await asyncio.sleep(rng.random() * 0.002)
        return value

    async def writer() -> None:
        for _ in range(40):
            db.version += 1
            await cache.invalidate("positions", "u1")
            await asyncio.sleep(rng.random() * 0.002)

    async def reader() -> None:
        for _ in range(60):
            committed = db.version
            got = await cache.get_or_compute("positions", "u1", compute, type_=Position)
            if got.version < committed:
                stale.append((committed, got.version))

    await asyncio.gather(writer(), *(reader() for _ in range(6)))
    assert stale == []


async def test_bump_invalidates_every_key_of_the_namespace(cache: Cache) -> None:
    db = Database()

    async def compute() -> Position:
        return db.read("any")

    for user in ("u1", "u2"):
        await cache.get_or_compute("positions", user, compute, type_=Position)
    db.version = 5
    await cache.bump("positions")
    for user in ("u1", "u2"):
        got = await cache.get_or_compute("positions", user, compute, type_=Position)
        assert got.version == 5


async def test_evicted_version_key_never_resurrects_old_value(
    cache: Cache, redis_client: aioredis.Redis
) -> None:
    db = Database()

    async def compute() -> Position:
        return db.read("u1")

    await cache.get_or_compute("positions", "u1", compute, type_=Position)
    db.version = 2
    await redis_client.delete(f"{cache.prefix}:positions:v", f"{cache.prefix}:positions:k:u1:v")
    got = await cache.get_or_compute("positions", "u1", compute, type_=Position)
    assert got.version == 2


async def test_unreachable_redis_falls_back_to_compute_and_invalidate_raises() -> None:
    sock = bind_socket()
    port = sock.getsockname()[1]
    sock.close()
    client = aioredis.Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    cache = Cache(client)

    async def compute() -> int:
        return 42

    try:
        assert await cache.get_or_compute("n", "k", compute, type_=int) == 42
        with pytest.raises(CacheUnavailable):
            await cache.invalidate("n", "k")
    finally:
        await cache.aclose()
