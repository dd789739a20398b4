"""Test doubles shared by the analytics adapter unit tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class FakeCache:
    """nexus.cache.Cache's surface: read-through by namespace/key, bump."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}
        self.bumped: list[str] = []

    async def get_or_compute(
        self,
        namespace: str,
        key: str,
        compute: Callable[[], Awaitable[Any]],
        ttl_seconds: float | None = None,
        *,
        type_: Any,
    ) -> Any:
        if (namespace, key) not in self.values:
            self.values[(namespace, key)] = await compute()
        return self.values[(namespace, key)]

    async def bump(self, namespace: str) -> str:
        self.bumped.append(namespace)
        self.values = {k: v for k, v in self.values.items() if k[0] != namespace}
        return "v"
