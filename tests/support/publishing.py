"""Test doubles of what services publish through and store with."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from nexus.bus import OutgoingMessage


class RecordingPublisher:
    """A :class:`nexus.bus.Publisher` recording each acknowledged batch.

    ``failures``: how many calls fail first; ``down``: every call fails while set;
    ``release``: cleared, it holds the acknowledgement (a slow broker).
    """

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[OutgoingMessage]] = []
        self.failures = failures
        self.down = False
        self.release = asyncio.Event()
        self.release.set()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        await self.release.wait()
        if self.down or self.failures:
            self.failures = max(self.failures - 1, 0)
            raise ConnectionError("broker down")
        self.batches.append(list(messages))

    @property
    def records(self) -> list[tuple[str, bytes, bytes | None]]:
        """Every acknowledged record as (topic, value, key), in publication order."""
        return [(m.topic, m.value, m.key) for batch in self.batches for m in batch]


class PoolDatabase:
    """A :class:`nexus.store.Database` over an open pool (a store without a service runtime)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
