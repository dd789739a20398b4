"""Two engine processes on one consumer group raise the alerts one process raises.

Real broker and PostgreSQL: the simulated flow (orders and trades keyed by symbol) is consumed
by one in-process service (group A, its own database) and by two ``group_worker`` processes
sharing group B and a second database; both sides must store the same alert ids and types.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from nexus.bus import KafkaBus, OutgoingMessage
from nexus.config import Settings
from nexus.events import TOPIC_TRADES
from nexus.infra import Stack, drop_database, ensure_database
from nexus.sim import SimConfig, simulate
from services.surveillance.consumer import decode_event
from services.surveillance.core import SurveillanceEngine
from tests.integration.surveillance.conftest import (
    PARTITIONS,
    Flow,
    Headers,
    eventually,
    run_surveillance,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SIM = SimConfig(seed=5, symbols=6, users=60, seconds=2)


def _status(path: Path) -> dict[str, Any]:
    try:
        value: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"assignment": [], "processed": 0}
    return value


async def _alerts(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT alert_id, alert_type FROM alerts")
    finally:
        await conn.close()
    return {r["alert_id"]: r["alert_type"] for r in rows}


async def test_two_engine_processes_on_one_group_raise_the_alerts_of_one(
    stack: Stack,
    surveillance_settings: Settings,
    flow: Flow,
    tokens: Headers,
    tmp_path: Path,
    unique_name: Callable[[str], str],
) -> None:
    database = unique_name("nexus_test_surv_scale_")
    dsn_b = await ensure_database(stack.pg_dsn, database)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEXUS_KAFKA_BOOTSTRAP": flow.bootstrap,
        "NEXUS_PG_DSN": surveillance_settings.pg_dsn or "",
        "NEXUS_SURVEILLANCE_PG_DSN": dsn_b,
        "NEXUS_SERVICE_URLS": "risk=http://127.0.0.1:9",
    }
    group_b = flow.group + ".b"
    files = [tmp_path / "w1.json", tmp_path / "w2.json"]
    workers: list[asyncio.subprocess.Process] = []
    messages: list[OutgoingMessage] = []

    def collect(topic: str, key: bytes, payload: bytes) -> None:
        target = flow.trades_topic if topic == TOPIC_TRADES else flow.orders_topic
        messages.append(OutgoingMessage(target, payload, key))

    simulate(SIM).publish(collect)
    try:
        async with run_surveillance(surveillance_settings, flow, tokens) as single:
            for path in files:  # one after the other: the second joins a migrated database
                workers.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "tests.integration.surveillance.group_worker",
                        group_b,
                        flow.pattern,
                        str(path),
                        env=env,
                        cwd=ROOT,
                    )
                )
                await eventually(functools.partial(_has_assignment, path), seconds=40)

            async def split() -> bool:
                owned = [{tuple(tp) for tp in _status(p)["assignment"]} for p in files]
                return (
                    all(owned)
                    and not owned[0] & owned[1]
                    and (len(owned[0] | owned[1]) == 2 * PARTITIONS)
                )

            await eventually(split, seconds=40)  # both members own their final share
            producer = KafkaBus(flow.bootstrap).producer()
            try:
                for i in range(0, len(messages), 5_000):
                    await producer.publish_batch(messages[i : i + 5_000])
            finally:
                await producer.close()
            runners = single.built.runtime.runners

            async def consumed() -> bool:
                one = sum(r.stats.processed + r.stats.dead_lettered for r in runners)
                two = sum(_status(p)["processed"] for p in files)
                return one >= len(messages) and two >= len(messages)

            await eventually(consumed, seconds=60)

            async def settled() -> bool:  # held events released once the partitions go quiet
                return single.built.service.settled and all(
                    _status(p).get("settled") for p in files
                )

            await eventually(settled, seconds=30)
            shares = [_status(p)["processed"] for p in files]
            owned = [_status(p)["assignment"] for p in files]
            dsn_a = surveillance_settings.service_pg_dsns["surveillance"]
            one_process = await _alerts(dsn_a)
            two_processes = await _alerts(dsn_b)
    finally:
        for w in workers:
            if w.returncode is None:
                w.send_signal(signal.SIGTERM)
                await asyncio.wait_for(w.wait(), timeout=30)
        await drop_database(stack.pg_dsn, database)

    assert all(shares), shares  # each process handled part of the flow
    assert one_process, "the simulated episodes raised no alert"
    assert two_processes == one_process, owned
    # whatever order the partitions were read in, the events were applied in event time:
    # the alerts are those of the engine fed the flow in the order it happened
    assert one_process == _in_event_time_order(messages)


def _in_event_time_order(messages: list[OutgoingMessage]) -> dict[str, str]:
    engine = SurveillanceEngine()
    engine.process_events(decode_event(m.topic, m.value) for m in messages)
    engine.flush()
    return {a.alert_id: a.type for a in engine.final_alerts()}


async def _has_assignment(path: Path) -> bool:
    return bool(_status(path)["assignment"])
