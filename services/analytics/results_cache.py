"""Redis cache of computed results: the core's ResultCache on :class:`nexus.cache.Cache`.

The core names its keys ``<user_id>:<kind>:<fingerprint>:<parameters>`` and drops a user's
results with ``invalidate("<user_id>:")``. Here every user is one cache namespace
(``analytics:u:<user_id>``), so dropping a user's results is one version bump in Redis, safe
against a slow reader writing back a result computed from old data (see :mod:`nexus.cache`).
Each kind of result has its msgspec type, so values travel as MessagePack and come back typed;
a kind without a registered type is computed and not cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from nexus.cache import Cache
from services.analytics.core import BacktestResult, VaRResult

T = TypeVar("T")

NAMESPACE = "analytics:u"

#: kind segment of a key -> the type of its value.
RESULT_TYPES: dict[str, Any] = {"var": VaRResult, "backtest": BacktestResult}


def namespace_of(user_id: str) -> str:
    """The cache namespace of one user's results."""
    return f"{NAMESPACE}:{user_id}"


class RedisResultCache:
    """A :class:`~services.analytics.core.ResultCache` with one Redis namespace per user."""

    def __init__(
        self,
        cache: Cache,
        *,
        ttl_seconds: float = 300.0,
        types: Mapping[str, Any] | None = None,
    ) -> None:
        self.cache = cache
        self._ttl = ttl_seconds
        self._types = dict(types if types is not None else RESULT_TYPES)
        self.hits = 0
        self.misses = 0

    def _split(self, key: str) -> tuple[str, str, Any] | None:
        for kind, type_ in self._types.items():
            at = key.find(f":{kind}:")
            if at > 0:
                return key[:at], key[at + 1 :], type_
        return None

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """The cached result of ``key`` or ``compute()`` stored under the user's namespace."""
        parts = self._split(key)
        if parts is None:
            return await compute()
        user_id, rest, type_ = parts
        computed = False

        async def miss() -> T:
            nonlocal computed
            computed = True
            return await compute()

        value: T = await self.cache.get_or_compute(
            namespace_of(user_id), rest, miss, self._ttl, type_=type_
        )
        if computed:
            self.misses += 1
        else:
            self.hits += 1
        return value

    async def invalidate(self, prefix: str) -> int:
        """Drop every result of the user named by ``prefix`` (``"<user_id>:"``)."""
        user_id = prefix[:-1] if prefix.endswith(":") else prefix
        await self.cache.bump(namespace_of(user_id))
        return 1

    async def invalidate_users(self, user_ids: set[str]) -> None:
        """Drop every result of each of ``user_ids``."""
        for user_id in sorted(user_ids):
            await self.cache.bump(namespace_of(user_id))
