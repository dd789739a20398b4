"""Redis read-through cache with TTL and explicit, race-safe invalidation.

Values live under *versioned* keys: ``<prefix>:<ns>:d:<key>:<ns-version>:<key-version>``.
A read fetches both versions and the value in one Lua round trip; on a miss it computes the
value and stores it under the versions it read **before** computing. A writer, after its
change is durable (committed), calls :meth:`Cache.invalidate` (one key) or :meth:`Cache.bump`
(the whole namespace), which replace the version with a fresh random token. So:

* a read that starts after the invalidation sees the new token, misses, and computes from
  the new data - a read after a write never returns the old value;
* a slow reader that computed from old data stores it under the old token, which no reader
  will look up again (no stale write-back race);
* a version key that expires or is evicted is re-minted with a fresh random token, so old
  values can never become visible again.

Version keys get a sliding TTL (refreshed on read). Values are msgspec MessagePack; money
travels as decimal strings. The read script touches keys it computes, so use a standalone
Redis (not Redis Cluster). If Redis is unreachable, reads fall back to computing; writes
(invalidations) raise :class:`CacheUnavailable` so the writer knows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import redis.asyncio as aioredis
import redis.exceptions

from nexus.errors import DependencyUnavailable
from nexus.web.codec import dec_hook, enc_hook

T = TypeVar("T")

log = logging.getLogger("nexus.cache")

_READ = """
local ns = redis.call('GET', KEYS[1])
if not ns then ns = ARGV[1]; redis.call('SET', KEYS[1], ns, 'PX', ARGV[3])
else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
local kv = redis.call('GET', KEYS[2])
if not kv then kv = ARGV[2]; redis.call('SET', KEYS[2], kv, 'PX', ARGV[3])
else redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return {ns, kv, redis.call('GET', ARGV[4] .. ':' .. ns .. ':' .. kv)}
"""


class CacheUnavailable(DependencyUnavailable):
    """Redis could not be reached for an operation that must not be skipped."""


class Cache:
    """Read-through cache over ``redis`` with keys under ``prefix``."""

    def __init__(
        self,
        redis_client: aioredis.Redis,
        *,
        prefix: str = "nexus",
        default_ttl_seconds: float = 60.0,
        version_ttl_seconds: float = 7 * 24 * 3600.0,
    ) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.default_ttl_seconds = default_ttl_seconds
        self.version_ttl_ms = int(version_ttl_seconds * 1000)
        self._read = redis_client.register_script(_READ)
        self._encoder = msgspec.msgpack.Encoder(enc_hook=enc_hook)
        self._decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Cache:
        """A cache on the Redis at ``url`` (``redis://host:port/db``)."""
        return cls(aioredis.Redis.from_url(url), **kwargs)

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self.redis.aclose()

    async def get_or_compute(
        self,
        namespace: str,
        key: str,
        compute: Callable[[], Awaitable[T]],
        ttl_seconds: float | None = None,
        *,
        type_: type[T],
    ) -> T:
        """The cached value of ``namespace``/``key``, computing and storing it on a miss."""
        data_key = self._data_key(namespace, key)
        try:
            ns_version, key_version, cached = await self._read(
                keys=[self._ns_version_key(namespace), self._key_version_key(namespace, key)],
                args=[uuid.uuid4().hex, uuid.uuid4().hex, self.version_ttl_ms, data_key],
            )
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            log.warning("cache read of %s/%s skipped: %r", namespace, key, exc)
            return await compute()
        decoder = self._decoder(type_)
        if cached is not None:
            try:
                value: T = decoder.decode(cached)
                return value
            except msgspec.DecodeError:
                log.warning("cache entry %s/%s undecodable; recomputing", namespace, key)
        value = await compute()
        versioned = f"{data_key}:{_text(ns_version)}:{_text(key_version)}"
        ttl_ms = int((ttl_seconds or self.default_ttl_seconds) * 1000)
        try:
            await self.redis.set(versioned, self._encoder.encode(value), px=ttl_ms)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            log.warning("cache store of %s/%s skipped: %r", namespace, key, exc)
        return value

    async def invalidate(self, namespace: str, key: str) -> str:
        """Make every cached value of ``namespace``/``key`` unreachable; returns the new version.

        Call after the change is committed, in the same code path that made it.
        """
        return await self._new_version(self._key_version_key(namespace, key))

    async def bump(self, namespace: str) -> str:
        """Make every cached value of ``namespace`` unreachable; returns the new version."""
        return await self._new_version(self._ns_version_key(namespace))

    async def _new_version(self, version_key: str) -> str:
        token = uuid.uuid4().hex
        try:
            await self.redis.set(version_key, token, px=self.version_ttl_ms)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise CacheUnavailable(f"could not invalidate {version_key}: {exc!r}") from exc
        return token

    def _decoder(self, type_: Any) -> msgspec.msgpack.Decoder[Any]:
        decoder = self._decoders.get(type_)
        if decoder is None:
            decoder = msgspec.msgpack.Decoder(type_, dec_hook=dec_hook)
            self._decoders[type_] = decoder
        return decoder

    def _ns_version_key(self, namespace: str) -> str:
        return f"{self.prefix}:{namespace}:v"

    def _key_version_key(self, namespace: str, key: str) -> str:
        return f"{self.prefix}:{namespace}:k:{key}:v"

    def _data_key(self, namespace: str, key: str) -> str:
        return f"{self.prefix}:{namespace}:d:{key}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
