"""A surveillance consumer process that dies (``os._exit``) in the middle of its first batch.

``python -m tests.integration.surveillance.kill_worker GROUP PATTERN MODE`` with the stack in
the environment (``NEXUS_*``). MODE ``after-archive``: the batch is archived, nothing else;
``after-store``: its alerts are stored, its offsets are not committed. Either way the broker
redelivers the batch to the next member of the group.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from nexus.config import load_settings
from services.surveillance.main import SurveillanceOptions, build
from tests.support.surveillance import install_self_trade_detector

EXIT_CODE = 9


async def main(group: str, pattern: str, mode: str) -> None:
    install_self_trade_detector()
    built = build(load_settings(), SurveillanceOptions(group_id=group, pattern=pattern))
    service = built.service
    if mode == "after-archive":
        archive = service._archive
        append = archive.append

        async def append_then_die(records: Any) -> int:
            await append(records)
            os._exit(EXIT_CODE)

        archive.append = append_then_die  # type: ignore[method-assign]
    else:
        on_batch = service.on_batch

        async def store_then_die(batch: Any) -> None:
            await on_batch(batch)
            os._exit(EXIT_CODE)

        service.on_batch = store_then_die  # type: ignore[method-assign]
    await built.runtime.start()
    await asyncio.sleep(120)
    sys.exit(1)  # never reached when a batch arrives


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
