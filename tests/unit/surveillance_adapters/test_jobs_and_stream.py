"""Scan jobs (run, fail, cancel, recover), the SSE hub, and the archive's packing and dedup."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import pytest

from nexus.errors import ConflictError, NotFoundError
from nexus.events import ORDER_CODEC, TRADE_CODEC
from services.surveillance.archive import KEY_DTYPE, _array_header, _Dedup, _events_decoder, _select
from services.surveillance.scans import CountingSource, ScanJobs
from services.surveillance.stream import AlertHub
from tests.support.surveillance import new_order, self_trade
from tests.support.surveillance_fakes import FakeArchive, alert


class FakeScanStore:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.results: dict[str, list[Any]] = {}

    async def create(
        self, scan_id: str, start_ns: int, end_ns: int, symbols: Any, users: Any, requested_by: str
    ) -> bool:
        if scan_id in self.rows:
            return False
        now = dt.datetime.now(dt.UTC)
        self.rows[scan_id] = {
            "scan_id": scan_id,
            "status": "PENDING",
            "start_ns": start_ns,
            "end_ns": end_ns,
            "symbols": symbols,
            "users": users,
            "requested_by": requested_by,
            "events_total": 0,
            "events_scanned": 0,
            "alerts_found": 0,
            "error": None,
            "created_at": now,
            "finished_at": None,
        }
        return True

    async def get(self, scan_id: str) -> dict[str, Any]:
        if scan_id not in self.rows:
            raise NotFoundError(scan_id)
        return self.rows[scan_id]

    async def progress(self, scan_id: str, total: int, scanned: int) -> None:
        row = self.rows[scan_id]
        if row["status"] in ("PENDING", "RUNNING"):
            row.update(status="RUNNING", events_total=total, events_scanned=scanned)

    async def finish(
        self, scan_id: str, status: str, alerts: Sequence[Any], error: str | None = None
    ) -> bool:
        row = self.rows[scan_id]
        if row["status"] not in ("PENDING", "RUNNING"):
            return False
        row.update(
            status=status,
            alerts_found=len(alerts),
            error=error,
            finished_at=dt.datetime.now(dt.UTC),
        )
        self.results[scan_id] = list(alerts)
        return True

    async def cancel(self, scan_id: str) -> bool:
        row = self.rows[scan_id]
        if row["status"] not in ("PENDING", "RUNNING"):
            return False
        row["status"] = "CANCELLED"
        return True

    async def interrupt_unfinished(self) -> int:
        n = 0
        for row in self.rows.values():
            if row["status"] in ("PENDING", "RUNNING"):
                row["status"] = "FAILED"
                n += 1
        return n

    async def alerts(self, scan_id: str, after: int, limit: int) -> list[Any]:
        return list(enumerate(self.results.get(scan_id, []), 1))[after : after + limit]


class ScriptedEngine:
    def __init__(
        self, source: CountingSource, *, fail: bool = False, gate: asyncio.Event | None = None
    ) -> None:
        self.source, self.fail, self.gate = source, fail, gate

    async def run_historical_scan(
        self, start: int, end: int, symbols: Any, users: Any
    ) -> list[Any]:
        async for _ in self.source.read(start, end, symbols):
            pass
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ValueError("engine broke")
        return [alert()]


def jobs(**engine: Any) -> tuple[ScanJobs, FakeScanStore]:
    store, archive = FakeScanStore(), FakeArchive()
    archive.records = [(None, self_trade(f"t{i}", "u", "AAPL", i)) for i in range(3)]  # type: ignore[misc]
    return ScanJobs(store, archive, lambda src: ScriptedEngine(src, **engine)), store  # type: ignore[arg-type, return-value]


async def test_a_scan_job_counts_its_events_and_stores_its_alerts() -> None:
    scans, store = jobs()
    view, created = await scans.start("s1", 0, 100, None, None, "ann")
    assert created and view.status == "PENDING"
    await scans.wait("s1")
    done = await scans.view("s1")
    assert (done.status, done.events_total, done.events_scanned, done.alerts_found) == (
        "COMPLETED",
        3,
        3,
        1,
    )
    assert [a[0] for a in store.results["s1"]] == ["SV-WA-1"]
    assert len(await scans.alerts("s1", 0, 10)) == 1
    again, created = await scans.start("s1", 0, 100, None, None, "ann")
    assert not created and again.status == "COMPLETED"
    with pytest.raises(ConflictError):
        await scans.cancel("s1")


async def test_a_failing_scan_is_failed_with_its_reason() -> None:
    scans, _ = jobs(fail=True)
    await scans.start("s1", 0, 100, ["AAPL"], ["u"], "ann")
    await scans.wait("s1")
    view = await scans.view("s1")
    assert view.status == "FAILED"
    assert view.error == "ValueError: engine broke"


async def test_a_running_scan_is_cancelled_and_stays_cancelled() -> None:
    gate = asyncio.Event()
    scans, store = jobs(gate=gate)
    await scans.start("s1", 0, 100, None, None, "ann")
    await asyncio.sleep(0.01)
    view = await scans.cancel("s1")
    assert view.status == "CANCELLED"
    gate.set()
    await scans.wait("s1")
    assert (await scans.view("s1")).status == "CANCELLED"
    assert "s1" not in store.results
    with pytest.raises(NotFoundError):
        await scans.cancel("nope")
    with pytest.raises(NotFoundError):
        await scans.alerts("nope", 0, 1)


async def test_unfinished_jobs_of_a_dead_process_are_failed_and_stop_cancels_tasks() -> None:
    gate = asyncio.Event()
    scans, store = jobs(gate=gate)
    await scans.start("s1", 0, 100, None, None, "ann")
    await asyncio.sleep(0.01)
    await scans.stop()
    await scans.recover()
    assert store.rows["s1"]["status"] == "FAILED"


async def test_hub_streams_alerts_drops_the_oldest_for_a_slow_client_and_closes() -> None:
    hub = AlertHub(queue_size=2, keepalive_s=0.01)
    hub.publish(alert("SV-WA-0"))  # nobody listens: dropped
    stream = hub.subscribe()
    first = await anext(stream)
    assert first.comment == "connected"
    assert hub.listeners == 1
    for i in range(1, 4):
        hub.publish(alert(f"SV-WA-{i}", version=i))
    ids = [(await anext(stream)).event_id for _ in range(2)]
    assert ids == ["SV-WA-2:2", "SV-WA-3:3"]
    keepalive = await anext(stream)
    assert keepalive.comment == "keep-alive"
    hub.publish(alert("SV-WA-4"))
    hub.publish(alert("SV-WA-5"))
    hub.close()
    assert (await anext(stream)).event_id == "SV-WA-5:1"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert hub.listeners == 0


@pytest.mark.parametrize("n", [0, 1, 15, 16, 65_535, 65_536])
def test_payloads_concatenated_under_an_array_header_decode_in_one_call(n: int) -> None:
    order = ORDER_CODEC.encode(new_order("o", "u", "AAPL", "BUY", 100, 1, 1))
    trade = TRADE_CODEC.encode(self_trade("t", "u", "AAPL", 2))
    payloads = [order if i % 2 else trade for i in range(n)]
    events = _events_decoder.decode(_array_header(n) + b"".join(payloads))
    assert len(events) == n
    if n:
        assert events[0] == msgspec.msgpack.decode(trade, type=type(events[0]))


def _keys(rows: list[tuple[int, int, int, int, int]]) -> np.ndarray:
    keys = np.empty(len(rows), dtype=KEY_DTYPE)
    for i, row in enumerate(rows):
        keys[i] = row
    return keys


def test_dedup_drops_records_at_or_below_the_highest_offset_read_per_partition() -> None:
    dedup = _Dedup()
    topics = ["orders.events", "trades.executed"]
    first = _keys([(1, 10, 0, 0, 0), (2, 11, 0, 0, 0), (3, 10, 0, 1, 0)])
    assert dedup.fresh(topics, first) is None
    again = _keys([(2, 11, 0, 0, 0), (4, 12, 0, 0, 0), (5, 10, 1, 0, 0), (6, 10, 0, 1, 0)])
    mask = dedup.fresh(topics, again)
    assert mask is not None
    assert mask.tolist() == [False, True, True, False]


def test_select_masks_time_range_and_symbols() -> None:
    keys = _keys([(1, 1, 0, 0, 0), (5, 2, 0, 0, 1), (9, 3, 0, 0, 0)])
    topics, symbols = ["orders.events"], ["AAPL", "MSFT"]
    assert _select(keys, symbols, topics, 0, 10, None, _Dedup()) is None
    in_time = _select(keys, symbols, topics, 2, 9, None, _Dedup())
    assert in_time is not None
    assert in_time.tolist() == [False, True, False]
    of_aapl = _select(keys, symbols, topics, 0, 10, {"AAPL"}, _Dedup())
    assert of_aapl is not None
    assert of_aapl.tolist() == [True, False, True]
    assert _select(keys, symbols, topics, 0, 10, {"AAPL", "MSFT"}, _Dedup()) is None
