"""Drive a ConsumerRunner in a test until a condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nexus.bus import ConsumerRunner


async def run_until(
    runner: ConsumerRunner, done: Callable[[], bool], timeout_s: float = 30.0
) -> None:
    """Run until ``done()`` is true, then stop gracefully; fail on timeout or crash."""
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(timeout_s):
            while not done():
                if task.done():
                    task.result()
                    raise AssertionError("runner stopped before the condition held")
                await asyncio.sleep(0.01)
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, timeout=15)
