"""Surveillance engine benchmarks (pytest-benchmark).

* the whole engine (book reconstruction, shared state, all four detectors) over normalised
  events of a realistic simulated run, and the same from audit JSON lines (parse included);
* the book reconstruction alone and each detector alone, to show where the time goes;
* audit-line parsing alone (msgspec), lines per second.

There is no compiled kernel yet: every figure is the plain-Python implementation (the seed's
"side by side" comparison has only one side; docs/BENCHMARKS.md says so). Figures are printed
and stored in ``extra_info`` (events_per_s).
"""

from __future__ import annotations

from typing import Any

import pytest

from services.surveillance.core.engine import SurveillanceEngine
from services.surveillance.core.normalise import decode_audit_line
from services.surveillance.core.types import ALERT_TYPES
from tests.unit.surveillance import workload


@pytest.fixture(scope="module")
def lines() -> tuple[bytes, ...]:
    return workload.audit_lines()


@pytest.fixture(scope="module")
def evs() -> list[Any]:
    return workload.events()


@pytest.fixture(scope="module")
def owners() -> dict[str, str]:
    return workload.owners()


def _report(benchmark: Any, name: str, n: int) -> None:
    rate = n / benchmark.stats.stats.median
    benchmark.extra_info.update(events_per_s=round(rate))
    print(f"\n[surveillance] {name}: {rate:,.0f} events/s")


def _engine_run(evs: list[Any], owners: dict[str, str], types: list[str] | None) -> int:
    engine = SurveillanceEngine(account_owners=owners, detector_types=types)
    for i in range(0, len(evs), 4096):
        engine.process_events(evs[i : i + 4096])
    engine.flush()
    return len(engine.final_alerts())


def test_engine_all_detectors_python(benchmark, evs, owners):
    alerts = benchmark.pedantic(_engine_run, args=(evs, owners, None), rounds=3, warmup_rounds=1)
    assert alerts > 0
    _report(benchmark, "engine, 4 detectors, pure Python", len(evs))


def test_engine_from_audit_lines(benchmark, lines, owners):
    benchmark.pedantic(_engine_run, args=(list(lines), owners, None), rounds=3, warmup_rounds=1)
    _report(benchmark, "engine from audit JSON lines (parse included)", len(lines))


def test_book_reconstruction_only(benchmark, evs, owners):
    benchmark.pedantic(_engine_run, args=(evs, owners, []), rounds=3, warmup_rounds=1)
    _report(benchmark, "book + shared state, no detector", len(evs))


@pytest.mark.parametrize("detector", ALERT_TYPES)
def test_one_detector(benchmark, evs, owners, detector):
    benchmark.pedantic(_engine_run, args=(evs, owners, [detector]), rounds=3, warmup_rounds=1)
    _report(benchmark, f"book + {detector}", len(evs))


def test_audit_line_parsing(benchmark, lines):
    def parse() -> int:
        for line in lines:
            decode_audit_line(line)
        return len(lines)

    benchmark.pedantic(parse, rounds=5, warmup_rounds=1)
    _report(benchmark, "audit JSON line decode (msgspec)", len(lines))
