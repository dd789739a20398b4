"""The archive of every order and trade event the consumer read, in PostgreSQL, compacted.

One row per consumed batch (``archive_batches``, see its migration): the events as one msgpack
array (the Kafka payloads as they arrived, concatenated: no re-encoding, decoded back in one
call) and a packed key per event (event time, offset, partition, topic and symbol indexes).
``seq`` is the order the live engine saw the batches in, so a historical scan replaying the
archive in ``seq`` order feeds the engine exactly what the live path fed it. A record the
broker delivered twice (a rebalance moved its partition before the commit) is stored twice
and dropped on reading: within a partition offsets only grow in archive order, so a record at
or below the partition's highest offset already read is a duplicate.

Why PostgreSQL and not a per-day columnar file: the archive must be written in the same unit
of work as the consumer's batch (before the offset commit) by any member of the consumer
group, and read by scans while it grows; a table of compact batches gives both with no
second storage system (``docs/ARCHITECTURE.md`` has the measured rates).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from nexus.bus import Message, TopicPartition
from nexus.events import OrderEvent, Trade
from nexus.store import Database

KEY_DTYPE: Final = np.dtype(
    [("ts", "<i8"), ("offset", "<i8"), ("partition", "<i4"), ("topic", "u1"), ("symbol", "<u2")]
)

INSERT_BATCH = """
INSERT INTO archive_batches (ts_min, ts_max, events, topics, symbols, keys, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
SELECT_RANGE = """
SELECT seq, topics, symbols, keys, payload FROM archive_batches
WHERE ts_max >= $1 AND ts_min < $2 AND ($3::text[] IS NULL OR symbols && $3::text[])
  AND seq > $4
ORDER BY seq LIMIT $5
"""
SELECT_KEYS = """
SELECT seq, topics, symbols, keys FROM archive_batches
WHERE ts_max >= $1 AND ts_min < $2 AND ($3::text[] IS NULL OR symbols && $3::text[])
ORDER BY seq
"""
SELECT_NEWEST = "SELECT max(ts_max) FROM archive_batches"

#: Batches fetched per round trip when reading the archive.
READ_BATCHES = 64
#: More topics or symbols than this in one batch are split over several rows.
MAX_TOPICS = 255
MAX_SYMBOLS = 65_535

_events_decoder: Final = msgspec.msgpack.Decoder(list[OrderEvent | Trade])


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    """A decoded archived event and where it came from on the bus."""

    event: Any
    tp: TopicPartition
    offset: int


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


@dataclass(slots=True)
class _Dedup:
    """Highest offset read per topic-partition (duplicates are at or below it)."""

    seen: dict[tuple[str, int], int] = field(default_factory=dict)

    def fresh(self, topics: list[str], keys: npt.NDArray[Any]) -> npt.NDArray[np.bool_] | None:
        """Mask of the keys not read before (None: all of them), and remember them."""
        mask: npt.NDArray[np.bool_] | None = None
        for ti, topic in enumerate(topics):
            of_topic = keys["topic"] == ti
            for part in np.unique(keys["partition"][of_topic]).tolist():
                sel = of_topic & (keys["partition"] == part)
                offsets = keys["offset"][sel]
                last = self.seen.get((topic, part), -1)
                if int(offsets.min()) <= last:
                    if mask is None:
                        mask = np.ones(len(keys), dtype=np.bool_)
                    mask[sel] = offsets > last
                self.seen[(topic, part)] = max(last, int(offsets.max()))
        return mask


def _select(
    keys: npt.NDArray[Any],
    row_symbols: list[str],
    topics: list[str],
    start_ns: int,
    end_ns: int,
    symbols: set[str] | None,
    dedup: _Dedup,
) -> npt.NDArray[np.bool_] | None:
    """Mask of a batch's keys in the range and symbols, not duplicates (None: all)."""
    mask = dedup.fresh(topics, keys)
    ts = keys["ts"]
    if int(ts.min()) < start_ns or int(ts.max()) >= end_ns:
        in_range = (ts >= start_ns) & (ts < end_ns)
        mask = in_range if mask is None else mask & in_range
    if symbols is not None:
        wanted = [i for i, s in enumerate(row_symbols) if s in symbols]
        if len(wanted) < len(row_symbols):
            of_symbols = np.isin(keys["symbol"], np.array(wanted, dtype=np.uint16))
            mask = of_symbols if mask is None else mask & of_symbols
    return mask


class EventArchive:
    """Writes consumed records and reads them back for scans and warm-up."""

    def __init__(self, db: Database, *, read_batches: int = READ_BATCHES) -> None:
        self._db = db
        self._read_batches = read_batches

    async def append(self, records: Sequence[tuple[Message, Any]]) -> int:
        """Archive decoded records (message, event) as one row; returns how many."""
        if not records:
            return 0
        topics: dict[str, int] = {}
        symbols: dict[str, int] = {}
        ts: list[int] = []
        offsets: list[int] = []
        partitions: list[int] = []
        topic_ix: list[int] = []
        symbol_ix: list[int] = []
        parts: list[bytes] = [_array_header(len(records))]
        for message, event in records:
            topic_ix.append(topics.setdefault(message.topic, len(topics)))
            symbol_ix.append(symbols.setdefault(event.symbol, len(symbols)))
            ts.append(event.ts_event)
            offsets.append(message.offset)
            partitions.append(message.partition)
            parts.append(message.value)
        if len(topics) > MAX_TOPICS + 1 or len(symbols) > MAX_SYMBOLS + 1:
            half = len(records) // 2
            return await self.append(records[:half]) + await self.append(records[half:])
        keys = np.empty(len(records), dtype=KEY_DTYPE)
        keys["ts"] = ts
        keys["offset"] = offsets
        keys["partition"] = partitions
        keys["topic"] = topic_ix
        keys["symbol"] = symbol_ix
        await self._db.pool.execute(
            INSERT_BATCH,
            int(keys["ts"].min()),
            int(keys["ts"].max()),
            len(records),
            list(topics),
            list(symbols),
            keys.tobytes(),
            b"".join(parts),
        )
        return len(records)

    async def count(self, start_ns: int, end_ns: int, symbols: Sequence[str] | None) -> int:
        """Archived events in ``[start_ns, end_ns)`` (and ``symbols``), duplicates excluded."""
        wanted = set(symbols) if symbols else None
        rows = await self._db.pool.fetch(
            SELECT_KEYS, start_ns, end_ns, list(wanted) if wanted else None
        )
        dedup = _Dedup()
        total = 0
        for row in rows:
            keys = np.frombuffer(row["keys"], dtype=KEY_DTYPE)
            mask = _select(
                keys, list(row["symbols"]), list(row["topics"]), start_ns, end_ns, wanted, dedup
            )
            total += len(keys) if mask is None else int(mask.sum())
        return total

    async def read(
        self, start_ns: int, end_ns: int, symbols: Sequence[str] | None = None
    ) -> AsyncIterator[list[Any]]:
        """Batches of decoded events with ``start_ns <= ts_event < end_ns``, in archive order.

        This is the engine's ``EventSource``: scans replay what the live engine was fed.
        """
        wanted = set(symbols) if symbols else None
        dedup = _Dedup()
        after = 0
        while True:
            rows = await self._db.pool.fetch(
                SELECT_RANGE,
                start_ns,
                end_ns,
                list(wanted) if wanted else None,
                after,
                self._read_batches,
            )
            if not rows:
                return
            after = rows[-1]["seq"]
            out: list[Any] = []
            for row in rows:
                keys = np.frombuffer(row["keys"], dtype=KEY_DTYPE)
                mask = _select(
                    keys, list(row["symbols"]), list(row["topics"]), start_ns, end_ns, wanted, dedup
                )
                if mask is not None and not mask.any():
                    continue
                events = _events_decoder.decode(row["payload"])
                if mask is None:
                    out.extend(events)
                else:
                    out.extend(events[i] for i in np.flatnonzero(mask).tolist())
            if out:
                yield out
            if len(rows) < self._read_batches:
                return

    async def tail(self, horizon_ns: int) -> list[ArchivedEvent]:
        """Events within ``horizon_ns`` of event time before the newest one (engine warm-up)."""
        newest = await self._db.pool.fetchval(SELECT_NEWEST)
        if newest is None:
            return []
        start = newest - horizon_ns
        rows = await self._db.pool.fetch(SELECT_RANGE, start, 2**63 - 1, None, 0, 2**31 - 1)
        dedup = _Dedup()
        out: list[ArchivedEvent] = []
        for row in rows:
            keys = np.frombuffer(row["keys"], dtype=KEY_DTYPE)
            topics = list(row["topics"])
            mask = _select(keys, list(row["symbols"]), topics, start, 2**63 - 1, None, dedup)
            events = _events_decoder.decode(row["payload"])
            for i, event in enumerate(events):
                if mask is None or mask[i]:
                    k = keys[i]
                    out.append(
                        ArchivedEvent(
                            event,
                            TopicPartition(topics[k["topic"]], int(k["partition"])),
                            int(k["offset"]),
                        )
                    )
        return out
