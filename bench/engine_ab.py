"""A/B of two MatchingEngine versions in one process: CPU time, rounds interleaved.

``python -m bench.engine_ab OLD_ENGINE_PY [rounds]`` loads ``OLD_ENGINE_PY`` (an older
``nexus/matching/engine.py``, e.g. ``git show REV:nexus/matching/engine.py > /tmp/old.py``)
beside the current engine and runs the same command streams through both, alternating which
goes first, timed with ``time.process_time`` (the machine's other jobs shift wall time far more
than CPU time). Prints median and best ops/s per stream and the ratio; checks that both
versions produce byte-identical events.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType

from nexus.events import ANY_CODEC
from nexus.matching import AmendOrder, CancelOrder, Command, MatchingEngine, SubmitOrder

P = 1_000_000_000
MID, TICK, LOT = 100 * P, P // 100, P


def every_second_order_fills(n: int = 100_000) -> list[Command]:
    """``bench.matching_memory``'s stream: resting sells, each taken by the next buy."""
    return [
        SubmitOrder(
            order_id=f"o{i}",
            user_id=f"u{i % 1000}",
            account_id=f"a{i}",
            symbol="ABC",
            side="SELL" if i % 2 == 0 else "BUY",
            price=MID,
            quantity=P,
            ts_event=i,
        )
        for i in range(n)
    ]


def engine_commands(n: int = 40_000) -> list[Command]:
    """``bench/test_bench_matching.py::test_engine_commands``'s stream (partial fills)."""
    return [
        SubmitOrder(
            order_id=f"o{i}",
            user_id=f"u{i % 7}",
            account_id=f"a{i % 7}",
            symbol="ACME",
            side="BUY" if i % 2 else "SELL",
            price=MID + ((i * 7919) % 9 - 4) * TICK,
            quantity=(1 + i % 5) * LOT,
            ts_event=i,
        )
        for i in range(n)
    ]


def submit_amend_cancel(n: int = 20_000) -> list[Command]:
    """Resting orders, each amended down (keeps priority) and then cancelled."""
    out: list[Command] = []
    for i in range(n):
        oid = f"o{i}"
        price = MID - (1 + i % 20) * TICK
        out.append(
            SubmitOrder(
                order_id=oid,
                user_id="u",
                account_id="a",
                symbol="ACME",
                side="BUY",
                price=price,
                quantity=5 * LOT,
                ts_event=3 * i,
            )
        )
        out.append(AmendOrder(order_id=oid, quantity=3 * LOT, ts_event=3 * i + 1))
        out.append(CancelOrder(order_id=oid, ts_event=3 * i + 2))
    return out


STREAMS: dict[str, Callable[[], list[Command]]] = {
    "every second order fills one maker": every_second_order_fills,
    "engine_commands (partial fills)": engine_commands,
    "submit + amend + cancel": submit_amend_cancel,
}


def load_engine(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("engine_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ops_per_cpu_second(make: Callable[[], MatchingEngine], cmds: list[Command]) -> float:
    handle = make().handle
    gc.disable()
    start = time.process_time()
    for cmd in cmds:
        handle(cmd)
    spent = time.process_time() - start
    gc.enable()
    return len(cmds) / spent


def same_events(old: Callable[[], MatchingEngine], cmds: list[Command]) -> bool:
    a, b = old(), MatchingEngine()
    encode = ANY_CODEC.encode
    return all([encode(e) for e in a.handle(c)] == [encode(e) for e in b.handle(c)] for c in cmds)


def main(old_path: str, rounds: int = 9) -> None:
    old: Callable[[], MatchingEngine] = load_engine(old_path).MatchingEngine
    pair = (("old", old), ("new", MatchingEngine))
    for name, build in STREAMS.items():
        cmds = build()
        runs: dict[str, list[float]] = {"old": [], "new": []}
        for r in range(rounds):
            for label, make in pair if r % 2 == 0 else pair[::-1]:
                runs[label].append(ops_per_cpu_second(make, cmds))
        o, n = statistics.median(runs["old"]), statistics.median(runs["new"])
        print(
            f"{name:36s} old {o:>9,.0f}  new {n:>9,.0f} ops/s (median of {rounds})  "
            f"new/old {n / o:.3f}  best old {max(runs['old']):,.0f} new {max(runs['new']):,.0f}"
            f"  same events: {same_events(old, cmds)}"
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 9)
