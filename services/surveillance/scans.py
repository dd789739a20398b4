"""Historical scan jobs: the engine's ``run_historical_scan`` over the archive, in the background.

A job is a row in ``scan_jobs`` and an asyncio task. The task builds a scan engine (the live
engine's thresholds, the archive as its event source, its own state, so a scan never disturbs
the live detectors), counts events as the source hands them over (progress), and stores the
alerts it found with the final status. ``DELETE`` cancels the task; a job a previous process
left running is marked failed at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec

from nexus.errors import ConflictError
from services.surveillance.alerts import alert_view
from services.surveillance.archive import EventArchive
from services.surveillance.core import SurveillanceEngine
from services.surveillance.store import ScanStore

log = logging.getLogger(__name__)

#: Progress is written this often (seconds) while a scan runs.
PROGRESS_INTERVAL_S = 0.5


class ScanView(msgspec.Struct, kw_only=True):
    """A scan job: status, range, progress and result count."""

    scan_id: str
    status: str
    start_ns: int
    end_ns: int
    symbols: list[str] | None
    users: list[str] | None
    requested_by: str
    events_total: int
    events_scanned: int
    alerts_found: int
    error: str | None
    created_at: str
    finished_at: str | None


def view_of(row: Any) -> ScanView:
    """The API view of a ``scan_jobs`` row."""
    return ScanView(
        scan_id=row["scan_id"],
        status=row["status"],
        start_ns=row["start_ns"],
        end_ns=row["end_ns"],
        symbols=list(row["symbols"]) if row["symbols"] is not None else None,
        users=list(row["users"]) if row["users"] is not None else None,
        requested_by=row["requested_by"],
        events_total=row["events_total"],
        events_scanned=row["events_scanned"],
        alerts_found=row["alerts_found"],
        error=row["error"],
        created_at=row["created_at"].isoformat(),
        finished_at=row["finished_at"].isoformat() if row["finished_at"] else None,
    )


class CountingSource:
    """The archive as an engine event source, counting what it hands over."""

    def __init__(self, archive: EventArchive) -> None:
        self._archive = archive
        self.scanned = 0

    async def count(self, start_ns: int, end_ns: int, symbols: Sequence[str] | None) -> int:
        """Events the scan will read."""
        return await self._archive.count(start_ns, end_ns, symbols)

    async def read(
        self, start_ns: int, end_ns: int, symbols: Sequence[str] | None = None
    ) -> AsyncIterator[list[Any]]:
        """Chunks of archived events in archive order."""
        async for chunk in self._archive.read(start_ns, end_ns, symbols):
            self.scanned += len(chunk)
            yield chunk


class RecordsSource(CountingSource):
    """Uploaded audit-trail records (already validated, in file order) as an event source."""

    def __init__(self, records: Sequence[Any], chunk: int = 4_096) -> None:
        self._records = records
        self._chunk = chunk
        self.scanned = 0

    async def count(self, start_ns: int, end_ns: int, symbols: Sequence[str] | None) -> int:
        """Every uploaded record is scanned."""
        return len(self._records)

    async def read(
        self, start_ns: int, end_ns: int, symbols: Sequence[str] | None = None
    ) -> AsyncIterator[list[Any]]:
        """The records in chunks (the whole upload: its range is the file's)."""
        for i in range(0, len(self._records), self._chunk):
            chunk = list(self._records[i : i + self._chunk])
            self.scanned += len(chunk)
            yield chunk
            await asyncio.sleep(0)  # let progress and cancellation in between chunks


EngineFactory = Callable[[CountingSource], SurveillanceEngine]


class ScanJobs:
    """Starts, tracks and cancels scan jobs."""

    def __init__(self, store: ScanStore, archive: EventArchive, engine_for: EngineFactory) -> None:
        self._store = store
        self._archive = archive
        self._engine_for = engine_for
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def recover(self) -> None:
        """Fail the jobs an earlier process left unfinished."""
        failed = await self._store.interrupt_unfinished()
        if failed:
            log.warning("scan jobs interrupted by a restart", extra={"jobs": failed})

    async def start(
        self,
        scan_id: str,
        start_ns: int,
        end_ns: int,
        symbols: Sequence[str] | None,
        users: Sequence[str] | None,
        requested_by: str,
    ) -> tuple[ScanView, bool]:
        """Record and start a scan of the archive; an existing ``scan_id`` is returned as it is."""
        return await self._start(
            scan_id,
            CountingSource(self._archive),
            start_ns,
            end_ns,
            symbols,
            users,
            requested_by,
        )

    async def start_records(
        self, scan_id: str, records: Sequence[Any], requested_by: str
    ) -> tuple[ScanView, bool]:
        """Record and start a scan of uploaded audit-trail records (time range: theirs)."""
        times = [r.ts_ns for r in records]
        return await self._start(
            scan_id,
            RecordsSource(records),
            min(times),
            max(times) + 1,
            None,
            None,
            requested_by,
        )

    async def _start(
        self,
        scan_id: str,
        source: CountingSource,
        start_ns: int,
        end_ns: int,
        symbols: Sequence[str] | None,
        users: Sequence[str] | None,
        requested_by: str,
    ) -> tuple[ScanView, bool]:
        created = await self._store.create(scan_id, start_ns, end_ns, symbols, users, requested_by)
        if created:
            self._tasks[scan_id] = asyncio.create_task(
                self._run(scan_id, source, start_ns, end_ns, symbols, users), name=scan_id
            )
        return await self.view(scan_id), created

    async def view(self, scan_id: str) -> ScanView:
        """A job's current view (404 if unknown)."""
        return view_of(await self._store.get(scan_id))

    async def cancel(self, scan_id: str) -> ScanView:
        """Cancel a pending or running job; 409 if it already finished."""
        await self._store.get(scan_id)
        if not await self._store.cancel(scan_id):
            current = await self.view(scan_id)
            raise ConflictError(f"scan {scan_id} is already {current.status}")
        task = self._tasks.pop(scan_id, None)
        if task is not None:
            task.cancel()
        return await self.view(scan_id)

    async def alerts(
        self, scan_id: str, after: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """A page of what a job found (404 if unknown)."""
        await self._store.get(scan_id)
        return await self._store.alerts(scan_id, after, limit)

    async def wait(self, scan_id: str) -> None:
        """Wait for a job's task (tests, shutdown)."""
        task = self._tasks.get(scan_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel every running task (the service is stopping)."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def _run(
        self,
        scan_id: str,
        source: CountingSource,
        start_ns: int,
        end_ns: int,
        symbols: Sequence[str] | None,
        users: Sequence[str] | None,
    ) -> None:
        reporter: asyncio.Task[None] | None = None
        try:
            total = await source.count(start_ns, end_ns, symbols)
            await self._store.progress(scan_id, total, 0)
            reporter = asyncio.create_task(self._report(scan_id, total, source))
            engine = self._engine_for(source)
            alerts = await engine.run_historical_scan(
                start_ns, end_ns, list(symbols) if symbols else None, list(users) if users else None
            )
            reporter.cancel()
            await self._store.progress(scan_id, total, source.scanned)
            await self._store.finish(
                scan_id, "COMPLETED", [(a.alert_id, a.version, alert_view(a)) for a in alerts]
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("scan failed", extra={"scan_id": scan_id})
            await self._store.finish(scan_id, "FAILED", [], error=f"{type(exc).__name__}: {exc}")
        finally:
            if reporter is not None:
                reporter.cancel()
            self._tasks.pop(scan_id, None)

    async def _report(self, scan_id: str, total: int, source: CountingSource) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            await self._store.progress(scan_id, total, source.scanned)
