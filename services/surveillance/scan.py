"""Scan an audit-trail JSON-lines file with the surveillance engine.

``python -m services.surveillance scan --events EVENTS.jsonl --accounts ACCOUNTS.json
--out ALERTS.jsonl [--workers N]``

Input lines are the audit format (see :mod:`services.surveillance.core.normalise`), sorted by
``ts_ns``; the accounts file maps ``account_id`` to its beneficial owner. A line that cannot be
read is reported on stderr with its line number and the scan goes on. With ``--workers N`` the
symbols are sharded over N processes (by a stable hash of the symbol: every detector's state is
per symbol, so the alerts are the same as with one worker). The output holds the final version
of every alert, one JSON object per line, ordered by start time; a JSON summary line goes to
stderr at the end.
"""

from __future__ import annotations

import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import msgspec

from services.surveillance.core.engine import SurveillanceEngine
from services.surveillance.core.normalise import Ev, InputError, decode_audit_line, from_audit
from services.surveillance.core.types import SurveillanceAlert

BATCH: Final = 4096
MAX_REPORTED_ERRORS: Final = 1000


class _SymbolOnly(msgspec.Struct, forbid_unknown_fields=False):
    symbol: str


_SYMBOL_DECODER: Final = msgspec.json.Decoder(_SymbolOnly)
_ALERT_ENCODER: Final = msgspec.json.Encoder()


def shard_of(symbol: str, workers: int) -> int:
    """The worker that owns ``symbol`` (stable across runs and processes)."""
    return zlib.crc32(symbol.encode()) % workers if workers > 1 else 0


@dataclass(slots=True)
class ShardResult:
    """What one worker found: alerts (final versions), counts and the bad lines."""

    alerts: list[SurveillanceAlert] = field(default_factory=list)
    lines: int = 0
    events: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    bad_lines: int = 0


def read_accounts(path: Path) -> dict[str, str]:
    """The accounts file: ``{"account_id": "beneficial_owner_id"}``."""
    data = msgspec.json.decode(path.read_bytes())
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InputError("accounts file must map account ids to owner ids (strings)")
    return data


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb", buffering=1 << 20) as fh:
        yield from enumerate(fh, 1)


def scan_shard(events: Path, owners: dict[str, str], shard: int, workers: int) -> ShardResult:
    """Run one engine over the lines of ``events`` whose symbol belongs to ``shard``."""
    engine = SurveillanceEngine(account_owners=owners)
    out = ShardResult()
    batch: list[Ev] = []

    def bad(number: int, reason: str) -> None:
        out.bad_lines += 1
        if len(out.errors) < MAX_REPORTED_ERRORS:
            out.errors.append((number, reason))

    for number, line in _lines(events):
        out.lines += 1
        if not line.strip():
            continue
        if workers > 1:
            try:
                symbol = _SYMBOL_DECODER.decode(line).symbol
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                if shard == 0:
                    bad(number, str(exc))
                continue
            if shard_of(symbol, workers) != shard:
                continue
        try:
            ev = from_audit(decode_audit_line(line))
        except InputError as exc:
            bad(number, str(exc))
            continue
        batch.append(ev)
        if len(batch) >= BATCH:
            engine.process_events(batch)
            out.events += len(batch)
            batch = []
    if batch:
        engine.process_events(batch)
        out.events += len(batch)
    engine.flush()
    out.alerts = engine.final_alerts()
    return out


def _shard_job(args: tuple[str, dict[str, str], int, int]) -> ShardResult:
    events, owners, shard, workers = args
    return scan_shard(Path(events), owners, shard, workers)


def run_scan(
    events: Path, accounts: Path | None, out: Path, workers: int = 1, err: IO[str] = sys.stderr
) -> dict[str, Any]:
    """Scan ``events`` into ``out``; returns the summary (also written to ``err``)."""
    t0 = time.perf_counter()
    owners = read_accounts(accounts) if accounts is not None else {}
    workers = max(1, workers)
    if workers == 1:
        results = [scan_shard(events, owners, 0, 1)]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            jobs = [(str(events), owners, k, workers) for k in range(workers)]
            results = list(pool.map(_shard_job, jobs))
    alerts = sorted((a for r in results for a in r.alerts), key=lambda a: (a.start_ns, a.alert_id))
    errors = sorted(e for r in results for e in r.errors)
    for number, reason in errors:
        print(f"line {number}: {reason}", file=err)
    with out.open("wb") as fh:
        for a in alerts:
            fh.write(_ALERT_ENCODER.encode(a) + b"\n")
    elapsed = time.perf_counter() - t0
    lines = results[0].lines
    summary: dict[str, Any] = {
        "lines": lines,
        "events": sum(r.events for r in results),
        "bad_lines": sum(r.bad_lines for r in results),
        "alerts": len(alerts),
        "by_type": dict(sorted(Counter(a.type for a in alerts).items())),
        "by_severity": dict(sorted(Counter(a.severity for a in alerts).items())),
        "workers": workers,
        "seconds": round(elapsed, 3),
        "lines_per_second": round(lines / elapsed) if elapsed > 0 else None,
    }
    print(msgspec.json.encode(summary).decode(), file=err)
    return summary
