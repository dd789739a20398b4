"""CI perf gates of the simulator and the history generator, far below the measured figures.

Measured (docs/bench/sim.md): ~0.6-1.1M events/s to a file; 10y x 500 symbols of history in
~0.2 s. The gates catch an order-of-magnitude regression (a kernel falling back to Python, a
per-event object), not noise on a shared machine.
"""

from __future__ import annotations

import time
from pathlib import Path

from nexus.sim import SimConfig, simulate
from services.marketdata.core.generator import HistoryConfig, generate_history

EVENTS_GATE = 100_000
HISTORY_GATE_S = 2.0  # ~10x the measured 0.2 s; the kernels in Python (NUMBA_DISABLE_JIT=1) fail it


def test_simulator_to_file_beats_gate(tmp_path: Path) -> None:
    simulate(SimConfig(seed=2, symbols=2, users=20, seconds=1.0)).write(tmp_path / "warm")
    cfg = SimConfig(seed=2, symbols=10, users=200, seconds=30.0)
    best = 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        result = simulate(cfg)
        result.write(tmp_path / "events.msgpack")
        best = max(best, len(result.events) / (time.perf_counter() - t0))
    assert best >= EVENTS_GATE, f"{best:,.0f} events/s"


def test_history_generator_ten_years_500_symbols_beats_gate() -> None:
    generate_history(HistoryConfig(n_symbols=3, n_days=10), seed=0)
    t0 = time.perf_counter()
    generate_history(HistoryConfig(n_symbols=500, n_days=2520), seed=1)
    assert time.perf_counter() - t0 < HISTORY_GATE_S
