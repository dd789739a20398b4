"""A surveillance engine process of a consumer group, reporting its partitions and progress.

``python -m tests.integration.surveillance.group_worker GROUP PATTERN STATUS_FILE`` with the
stack in the environment (``NEXUS_*``): builds the production service (registered detectors),
starts its runtime and rewrites STATUS_FILE every 50 ms with a JSON object of the partitions it
owns (``[[topic, partition], ...]``), the records it has handled and whether every one of
them has been applied and its alerts stored (``settled``). Stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from nexus.config import load_settings
from services.surveillance.main import SurveillanceOptions, build


def _write(path: str, status: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(status, f)
    os.replace(tmp, path)  # readers never see a half-written file


async def main(group: str, pattern: str, status_file: str) -> None:
    built = build(
        load_settings(), SurveillanceOptions(group_id=group, pattern=pattern, max_batch=1_000)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await built.runtime.start()
    try:
        while not stop.is_set():
            runners = built.runtime.runners
            status = {
                "assignment": sorted(
                    [tp.topic, tp.partition] for r in runners for tp in r.assignment()
                ),
                "processed": sum(r.stats.processed + r.stats.dead_lettered for r in runners),
                "settled": built.service.settled,
            }
            _write(status_file, status)
            await asyncio.sleep(0.05)
    finally:
        await built.runtime.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
    sys.exit(0)
