"""In-memory stand-ins for the surveillance service's stores, archive and publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from nexus.bus import Delivery, Message, OutgoingMessage
from services.surveillance.core import SurveillanceAlert
from services.surveillance.store import AlertRecord, HaltRequest, content_key


def alert(
    alert_id: str = "SV-WA-1", *, severity: str = "HIGH", score: float = 70.0, **fields: Any
) -> SurveillanceAlert:
    """A valid engine alert."""
    values: dict[str, Any] = {
        "alert_id": alert_id,
        "type": "WASH_TRADING",
        "severity": severity,
        "score": score,
        "user_id": "u1",
        "account_ids": ["a1"],
        "owner_id": "o1",
        "symbol": "AAPL",
        "start_ns": 10,
        "end_ns": 20,
        "trade_ids": ["t1"],
        "explanation": "u1 traded with itself",
        "detected_ns": 20,
        **fields,
    }
    return SurveillanceAlert(**values)


class FakeAlertStore:
    """Versions by content, like :class:`AlertStore`."""

    def __init__(self) -> None:
        self.latest: dict[str, AlertRecord] = {}
        self.versions: list[AlertRecord] = []
        self.halts: dict[str, HaltRequest] = {}
        self.published: set[tuple[str, int]] = set()
        self.fail_saves = 0

    async def save(
        self, records: Sequence[AlertRecord], halts: Sequence[HaltRequest] = ()
    ) -> list[AlertRecord]:
        if self.fail_saves:
            self.fail_saves -= 1
            raise ConnectionError("database went away")
        created = []
        for r in records:
            prev = self.latest.get(r.alert_id)
            if prev is not None and content_key(prev.payload) == content_key(r.payload):
                continue
            version = 1 if prev is None else prev.version + 1
            rec = AlertRecord(
                **{**_fields(r), "version": version, "payload": {**r.payload, "version": version}}
            )
            self.latest[r.alert_id] = rec
            self.versions.append(rec)
            created.append(rec)
        for h in halts:
            self.halts.setdefault(h.entry_id, h)
        return created

    async def unpublished(self, limit: int = 1_000) -> list[tuple[str, int, dict[str, Any]]]:
        return [
            (r.alert_id, r.version, r.payload)
            for r in self.versions
            if (r.alert_id, r.version) not in self.published
        ][:limit]

    async def mark_published(self, keys: Sequence[tuple[str, int]]) -> None:
        self.published.update(keys)


def _fields(r: AlertRecord) -> dict[str, Any]:
    import msgspec

    return msgspec.structs.asdict(r)


class FakeArchive:
    """Keeps appended records in a list."""

    def __init__(self) -> None:
        self.records: list[tuple[Message, Any]] = []

    async def append(self, records: Sequence[tuple[Message, Any]]) -> int:
        self.records.extend(records)
        return len(records)

    async def tail(self, horizon_ns: int) -> list[Any]:
        from services.surveillance.archive import ArchivedEvent

        return [ArchivedEvent(e, m.tp, m.offset) for m, e in self.records]

    async def count(self, start_ns: int, end_ns: int, symbols: Sequence[str] | None) -> int:
        return len(self.records)

    async def read(
        self, start_ns: int, end_ns: int, symbols: Sequence[str] | None = None
    ) -> AsyncIterator[list[Any]]:
        yield [e for _, e in self.records]


class FakePublisher:
    """Collects published messages; can fail."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []
        self.fail = False

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.messages.extend(messages)


class FakeThresholds:
    """Threshold changes in memory."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []

    async def record(
        self, detector: str, thresholds: dict[str, Any], *, actor: str, reason: str
    ) -> None:
        self.rows.append((detector, thresholds))

    async def latest(self) -> dict[str, tuple[int, dict[str, Any]]]:
        return {d: (i, t) for i, (d, t) in enumerate(self.rows)}


class FakeOwners:
    """Owner links in memory."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    async def upsert(self, owners: dict[str, str], *, actor: str) -> int:
        changed = sum(1 for k, v in owners.items() if self.owners.get(k) != v)
        self.owners.update(owners)
        return changed

    async def all(self) -> dict[str, str]:
        return dict(self.owners)


def delivery(
    event: Any, offset: int, topic: str = "trades.executed", partition: int = 0
) -> Delivery[Any]:
    """A decoded record."""
    return Delivery(Message(topic, partition, offset, b"k", b"payload"), event)
