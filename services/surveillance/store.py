"""PostgreSQL access of the surveillance service: alerts, versions, reviews, thresholds, scans.

Every alert version is stored under ``(alert_id, version)``, so a redelivered batch (same
events, same deterministic ids) changes nothing; ``alerts`` holds the latest version of each
episode and its review status; ``alert_versions.published`` is the outbox flag of
``surveillance.alerts``. The halt request of a CRITICAL alert is enqueued in the outbox
(:mod:`nexus.outbox`) in the same transaction as the alert, so it is never lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import msgspec

from nexus.errors import ConflictError, NotFoundError
from nexus.outbox import Outbox
from nexus.store import Database
from nexus.web import filter_clause

#: Review workflow: allowed moves from each status (anything else is a 409).
TRANSITIONS: dict[str, frozenset[str]] = {
    "OPEN": frozenset({"UNDER_REVIEW", "ESCALATED", "DISMISSED"}),
    "UNDER_REVIEW": frozenset({"ESCALATED", "DISMISSED", "CONFIRMED"}),
    "ESCALATED": frozenset({"UNDER_REVIEW", "DISMISSED", "CONFIRMED"}),
    "DISMISSED": frozenset({"UNDER_REVIEW"}),
    "CONFIRMED": frozenset(),
}

#: Listing filters -> columns of ``alerts``.
ALERT_FILTERS: dict[str, str] = {
    "type": "alert_type",
    "severity": "severity",
    "status": "status",
    "user_id": "user_id",
    "symbol": "symbol",
}

INSERT_VERSION = """
INSERT INTO alert_versions (alert_id, version, severity, payload)
VALUES ($1, $2, $3, $4)
ON CONFLICT (alert_id, version) DO NOTHING
"""
UPSERT_ALERT = """
INSERT INTO alerts (alert_id, version, alert_type, severity, score, user_id, account_ids,
                    owner_id, symbol, start_ns, end_ns, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (alert_id) DO UPDATE SET
    version = EXCLUDED.version, severity = EXCLUDED.severity, score = EXCLUDED.score,
    account_ids = EXCLUDED.account_ids, owner_id = EXCLUDED.owner_id,
    start_ns = EXCLUDED.start_ns, end_ns = EXCLUDED.end_ns, payload = EXCLUDED.payload,
    updated_at = now()
WHERE alerts.version < EXCLUDED.version
"""
LOCK_LATEST = "SELECT version, payload FROM alerts WHERE alert_id = $1 FOR UPDATE"
SELECT_UNPUBLISHED = """
SELECT alert_id, version, payload FROM alert_versions WHERE NOT published ORDER BY seq LIMIT $1
"""
MARK_PUBLISHED = """
UPDATE alert_versions SET published = TRUE
WHERE (alert_id, version) IN (SELECT * FROM unnest($1::text[], $2::int[]))
"""
SELECT_ALERT = "SELECT * FROM alerts WHERE alert_id = $1"
SELECT_VERSIONS = """
SELECT version, severity, payload, recorded_at FROM alert_versions
WHERE alert_id = $1 ORDER BY version
"""
SELECT_HISTORY = """
SELECT seq, from_status, to_status, reason_category, reason, actor, at
FROM alert_status_history WHERE alert_id = $1 ORDER BY seq
"""
LOCK_ALERT = "SELECT status FROM alerts WHERE alert_id = $1 FOR UPDATE"
SET_STATUS = "UPDATE alerts SET status = $2, updated_at = now() WHERE alert_id = $1"
INSERT_HISTORY = """
INSERT INTO alert_status_history (alert_id, from_status, to_status, reason_category, reason, actor)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING seq, at
"""
INSERT_THRESHOLDS = """
INSERT INTO threshold_changes (detector, thresholds, actor, reason) VALUES ($1, $2, $3, $4)
RETURNING seq, at
"""
SELECT_LATEST_THRESHOLDS = """
SELECT DISTINCT ON (detector) detector, thresholds, seq FROM threshold_changes
ORDER BY detector, seq DESC
"""
SELECT_THRESHOLD_HISTORY = """
SELECT seq, thresholds, actor, reason, at FROM threshold_changes
WHERE detector = $1 ORDER BY seq DESC LIMIT $2
"""
INSERT_SCAN = """
INSERT INTO scan_jobs (scan_id, status, start_ns, end_ns, symbols, users, requested_by)
VALUES ($1, 'PENDING', $2, $3, $4, $5, $6)
ON CONFLICT (scan_id) DO NOTHING
"""
SELECT_SCAN = "SELECT * FROM scan_jobs WHERE scan_id = $1"
UPDATE_SCAN_PROGRESS = """
UPDATE scan_jobs SET status = 'RUNNING', events_total = $2, events_scanned = $3
WHERE scan_id = $1 AND status IN ('PENDING', 'RUNNING')
"""
FINISH_SCAN = """
UPDATE scan_jobs SET status = $2, alerts_found = $3, error = $4, finished_at = now()
WHERE scan_id = $1 AND status IN ('PENDING', 'RUNNING')
"""
CANCEL_SCAN = """
UPDATE scan_jobs SET status = 'CANCELLED', finished_at = now()
WHERE scan_id = $1 AND status IN ('PENDING', 'RUNNING')
"""
INTERRUPT_SCANS = """
UPDATE scan_jobs SET status = 'FAILED', error = 'interrupted by a service restart',
                     finished_at = now()
WHERE status IN ('PENDING', 'RUNNING')
"""
INSERT_SCAN_ALERTS = """
INSERT INTO scan_alerts (scan_id, alert_id, version, payload)
SELECT $1, * FROM unnest($2::text[], $3::int[], $4::jsonb[])
ON CONFLICT (scan_id, alert_id) DO NOTHING
"""
SELECT_SCAN_ALERTS = """
SELECT seq, payload FROM scan_alerts WHERE scan_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
"""


#: Fields of an alert's view that change without its content changing.
VOLATILE_FIELDS = frozenset({"version", "detected_ns"})


def content_key(payload: dict[str, Any]) -> bytes:
    """Canonical bytes of an alert view's content (what makes it a new version)."""
    return _json_encoder.encode({k: v for k, v in payload.items() if k not in VOLATILE_FIELDS})


class AlertRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One version of an alert as the store keeps it (``payload`` is its full JSON view)."""

    alert_id: str
    version: int
    alert_type: str
    severity: str
    score: float
    user_id: str
    account_ids: list[str]
    owner_id: str | None
    symbol: str
    start_ns: int
    end_ns: int
    payload: dict[str, Any]


class HaltRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A halt to deliver to the risk service through the outbox (its id is the alert id)."""

    entry_id: str
    path: str
    body: dict[str, Any]


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of an alert's review trail."""

    seq: int
    from_status: str
    to_status: str
    reason_category: str | None
    reason: str
    actor: str
    at: str


_json_encoder = msgspec.json.Encoder(order="sorted")
_json_decoder = msgspec.json.Decoder()


def _json(value: Any) -> str:
    return _json_encoder.encode(value).decode()


def _from_json(value: Any) -> Any:
    return _json_decoder.decode(value) if isinstance(value, str | bytes) else value


class AlertStore:
    """Alerts, their versions and their review trail."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def pool(self) -> asyncpg.Pool:
        """The service database's pool."""
        return self._db.pool

    def outbox(self) -> Outbox:
        """The chassis outbox on this database (halt requests to the risk service)."""
        return Outbox(self.pool)

    async def save(
        self, records: Sequence[AlertRecord], halts: Sequence[HaltRequest] = ()
    ) -> list[AlertRecord]:
        """Store alert versions (and their halt requests) in one transaction; returns the new ones.

        The store numbers the versions: a record whose content (all but ``version`` and
        ``detected_ns``) equals the alert's latest stored version is a redelivery and is
        skipped; any other becomes the next version. So the history does not depend on how
        the broker happened to batch the events, and replaying them changes nothing.
        """
        if not records and not halts:
            return []
        created: list[AlertRecord] = []
        async with self.pool.acquire() as conn, conn.transaction():
            for r in records:
                latest = await conn.fetchrow(LOCK_LATEST, r.alert_id)
                if latest is not None and content_key(_from_json(latest["payload"])) == (
                    content_key(r.payload)
                ):
                    continue
                version = 1 if latest is None else latest["version"] + 1
                record = msgspec.structs.replace(
                    r, version=version, payload={**r.payload, "version": version}
                )
                payload = _json(record.payload)
                await conn.execute(
                    INSERT_VERSION, record.alert_id, version, record.severity, payload
                )
                await conn.execute(
                    UPSERT_ALERT,
                    record.alert_id,
                    version,
                    record.alert_type,
                    record.severity,
                    record.score,
                    record.user_id,
                    record.account_ids,
                    record.owner_id,
                    record.symbol,
                    record.start_ns,
                    record.end_ns,
                    payload,
                )
                created.append(record)
            outbox = Outbox(self.pool)
            for h in halts:
                await outbox.enqueue_request(h.entry_id, "risk", "POST", h.path, h.body, conn=conn)
        return created

    async def unpublished(self, limit: int = 1_000) -> list[tuple[str, int, dict[str, Any]]]:
        """Versions not yet acknowledged on ``surveillance.alerts``, oldest first."""
        rows = await self.pool.fetch(SELECT_UNPUBLISHED, limit)
        return [(r["alert_id"], r["version"], _from_json(r["payload"])) for r in rows]

    async def mark_published(self, keys: Sequence[tuple[str, int]]) -> None:
        """Record the broker's acknowledgement of these versions."""
        await self.pool.execute(MARK_PUBLISHED, [k[0] for k in keys], [k[1] for k in keys])

    async def get(self, alert_id: str) -> asyncpg.Record:
        """The alert's row; raises :class:`NotFoundError`."""
        row = await self.pool.fetchrow(SELECT_ALERT, alert_id)
        if row is None:
            raise NotFoundError(f"alert {alert_id} not found")
        return row

    async def versions(self, alert_id: str) -> list[tuple[int, dict[str, Any], str]]:
        """Every version of an alert: (version, payload, recorded_at ISO)."""
        rows = await self.pool.fetch(SELECT_VERSIONS, alert_id)
        return [
            (r["version"], _from_json(r["payload"]), r["recorded_at"].isoformat()) for r in rows
        ]

    async def history(self, alert_id: str) -> list[StatusChange]:
        """The alert's review trail, oldest first."""
        rows = await self.pool.fetch(SELECT_HISTORY, alert_id)
        return [_change(r) for r in rows]

    async def search(
        self,
        filters: Mapping[str, Any],
        *,
        from_ns: int | None,
        to_ns: int | None,
        before_seq: int | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """Alerts matching ``filters`` (see :data:`ALERT_FILTERS`), newest first.

        The time range selects alerts whose episode overlaps ``[from_ns, to_ns]``.
        """
        where, args = filter_clause(filters, allowed=ALERT_FILTERS)
        clauses = [where]
        for value, clause in (
            (from_ns, "end_ns >= ${}"),
            (to_ns, "start_ns <= ${}"),
            (before_seq, "seq < ${}"),
        ):
            if value is not None:
                args.append(value)
                clauses.append(clause.format(len(args)))
        args.append(limit)
        sql = (
            "SELECT * FROM alerts WHERE "  # only column names and placeholders are spliced in
            + " AND ".join(clauses)
            + f" ORDER BY seq DESC LIMIT ${len(args)}"
        )
        return list(await self.pool.fetch(sql, *args))

    async def change_status(
        self,
        alert_id: str,
        to_status: str,
        *,
        actor: str,
        reason: str,
        reason_category: str | None,
        expected: str | None = None,
    ) -> StatusChange:
        """Move an alert along the workflow; 404 if unknown, 409 if the move is not allowed."""
        async with self.pool.acquire() as conn, conn.transaction():
            current = await conn.fetchval(LOCK_ALERT, alert_id)
            if current is None:
                raise NotFoundError(f"alert {alert_id} not found")
            if expected is not None and current != expected:
                raise ConflictError(f"alert {alert_id} is {current}, not {expected}")
            if to_status not in TRANSITIONS[current]:
                allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
                raise ConflictError(
                    f"alert {alert_id} is {current}; it cannot become {to_status} "
                    f"(allowed: {allowed})"
                )
            await conn.execute(SET_STATUS, alert_id, to_status)
            row = await conn.fetchrow(
                INSERT_HISTORY, alert_id, current, to_status, reason_category, reason, actor
            )
        return StatusChange(
            seq=row["seq"],
            from_status=current,
            to_status=to_status,
            reason_category=reason_category,
            reason=reason,
            actor=actor,
            at=row["at"].isoformat(),
        )


def _change(r: asyncpg.Record) -> StatusChange:
    return StatusChange(
        seq=r["seq"],
        from_status=r["from_status"],
        to_status=r["to_status"],
        reason_category=r["reason_category"],
        reason=r["reason"],
        actor=r["actor"],
        at=r["at"].isoformat(),
    )


class ThresholdChange(msgspec.Struct, frozen=True, kw_only=True):
    """One audited threshold change."""

    seq: int
    thresholds: dict[str, Any]
    actor: str
    reason: str
    at: str


class ThresholdStore:
    """The ``threshold_changes`` audit trail; its latest row per detector is in force."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, detector: str, thresholds: dict[str, Any], *, actor: str, reason: str
    ) -> ThresholdChange:
        """Append a change."""
        row = await self._db.pool.fetchrow(
            INSERT_THRESHOLDS, detector, _json(thresholds), actor, reason
        )
        return ThresholdChange(
            seq=row["seq"],
            thresholds=thresholds,
            actor=actor,
            reason=reason,
            at=row["at"].isoformat(),
        )

    async def latest(self) -> dict[str, tuple[int, dict[str, Any]]]:
        """detector -> (seq, thresholds) of the change in force."""
        rows = await self._db.pool.fetch(SELECT_LATEST_THRESHOLDS)
        return {r["detector"]: (r["seq"], _from_json(r["thresholds"])) for r in rows}

    async def history(self, detector: str, limit: int = 50) -> list[ThresholdChange]:
        """The detector's changes, newest first."""
        rows = await self._db.pool.fetch(SELECT_THRESHOLD_HISTORY, detector, limit)
        return [
            ThresholdChange(
                seq=r["seq"],
                thresholds=_from_json(r["thresholds"]),
                actor=r["actor"],
                reason=r["reason"],
                at=r["at"].isoformat(),
            )
            for r in rows
        ]


UPSERT_OWNERS = """
INSERT INTO account_owners (account_id, owner_id, updated_by)
SELECT a, o, $3 FROM unnest($1::text[], $2::text[]) AS t (a, o)
ON CONFLICT (account_id) DO UPDATE SET owner_id = EXCLUDED.owner_id,
    updated_by = EXCLUDED.updated_by, updated_at = now()
WHERE account_owners.owner_id <> EXCLUDED.owner_id
"""
SELECT_OWNERS = "SELECT account_id, owner_id FROM account_owners"


class OwnerStore:
    """Account -> beneficial owner links."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, owners: Mapping[str, str], *, actor: str) -> int:
        """Add or change links; returns how many changed."""
        status: str = await self._db.pool.execute(
            UPSERT_OWNERS, list(owners), list(owners.values()), actor
        )
        return int(status.rsplit(" ", 1)[-1])

    async def all(self) -> dict[str, str]:
        """Every link."""
        rows = await self._db.pool.fetch(SELECT_OWNERS)
        return {r["account_id"]: r["owner_id"] for r in rows}


class ScanStore:
    """Historical scan jobs and the alerts each found."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        scan_id: str,
        start_ns: int,
        end_ns: int,
        symbols: Sequence[str] | None,
        users: Sequence[str] | None,
        requested_by: str,
    ) -> bool:
        """Record a new job; False if ``scan_id`` exists."""
        status = await self._db.pool.execute(
            INSERT_SCAN,
            scan_id,
            start_ns,
            end_ns,
            list(symbols) if symbols is not None else None,
            list(users) if users is not None else None,
            requested_by,
        )
        return not status.endswith(" 0")

    async def get(self, scan_id: str) -> asyncpg.Record:
        """A job's row; raises :class:`NotFoundError`."""
        row = await self._db.pool.fetchrow(SELECT_SCAN, scan_id)
        if row is None:
            raise NotFoundError(f"scan {scan_id} not found")
        return row

    async def progress(self, scan_id: str, total: int, scanned: int) -> None:
        """Update a running job's counters."""
        await self._db.pool.execute(UPDATE_SCAN_PROGRESS, scan_id, total, scanned)

    async def finish(
        self,
        scan_id: str,
        status: str,
        alerts: Sequence[tuple[str, int, dict[str, Any]]],
        error: str | None = None,
    ) -> bool:
        """Store the results and the final status; False if the job was no longer running."""
        async with self._db.pool.acquire() as conn, conn.transaction():
            done = await conn.execute(FINISH_SCAN, scan_id, status, len(alerts), error)
            if done.endswith(" 0"):
                return False
            if alerts:
                await conn.execute(
                    INSERT_SCAN_ALERTS,
                    scan_id,
                    [a[0] for a in alerts],
                    [a[1] for a in alerts],
                    [_json(a[2]) for a in alerts],
                )
        return True

    async def cancel(self, scan_id: str) -> bool:
        """Cancel a pending or running job; False if it had already finished."""
        status = await self._db.pool.execute(CANCEL_SCAN, scan_id)
        return not status.endswith(" 0")

    async def interrupt_unfinished(self) -> int:
        """Jobs a previous process left running are failed (their task died with it)."""
        status = await self._db.pool.execute(INTERRUPT_SCANS)
        return int(status.rsplit(" ", 1)[-1])

    async def alerts(
        self, scan_id: str, after_seq: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """A page of a job's alerts."""
        rows = await self._db.pool.fetch(SELECT_SCAN_ALERTS, scan_id, after_seq, limit)
        return [(r["seq"], _from_json(r["payload"])) for r in rows]
