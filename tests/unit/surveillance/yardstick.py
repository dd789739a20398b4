"""The surveillance yardstick: simulate realistic labelled flow, scan it, score the alerts.

``python -m tests.unit.surveillance.yardstick --seed 1 --symbols 10 --seconds 120`` prints the
per-type precision, recall and false alerts per 100k events of one realistic run (legitimate
look-alikes on, default thresholds); the quality test runs a moderate one.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from nexus.sim import simulate
from nexus.sim.audit import iter_audit_lines
from nexus.sim.profiles import realistic_config
from services.surveillance.core.engine import SurveillanceEngine
from services.surveillance.core.evaluation import Evaluation, evaluate


def run(
    seed: int = 1,
    symbols: int = 8,
    users: int = 300,
    seconds: float = 60.0,
    episodes_per_type: int | None = None,
    **overrides: Any,
) -> tuple[Evaluation, dict[str, Any]]:
    """One realistic run: (evaluation, figures)."""
    cfg = realistic_config(seed, symbols, users, seconds, episodes_per_type, **overrides)
    t0 = time.perf_counter()
    result = simulate(cfg)
    labels = result.labels()
    owners = {a: u.beneficial_owner for u in labels.users for a in u.accounts}
    engine = SurveillanceEngine(account_owners=owners)
    t1 = time.perf_counter()
    lines = 0
    for block in iter_audit_lines(result.iter_chunks()):
        batch = block.splitlines()
        lines += len(batch)
        engine.process_events(batch)
    engine.flush()
    t2 = time.perf_counter()
    ev = evaluate(engine.final_alerts(), labels.episodes, lines)
    figures = {
        "seed": seed,
        "symbols": symbols,
        "seconds": seconds,
        "events": lines,
        "simulate_s": round(t1 - t0, 2),
        "scan_s": round(t2 - t1, 2),
        "scan_events_per_s": round(lines / (t2 - t1)) if t2 > t1 else None,
        "legit_behaviours": len(labels.legit),
        **ev.summary(),
    }
    return ev, figures


def main() -> None:
    """CLI: print the figures of one run as JSON."""
    p = argparse.ArgumentParser(prog="python -m tests.unit.surveillance.yardstick")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--episodes", type=int, default=None, help="episodes of each type")
    p.add_argument("--rate", type=float, default=None, help="background orders/s per symbol")
    a = p.parse_args()
    extra: dict[str, Any] = {}
    if a.rate is not None:
        extra["orders_per_second"] = a.rate
    ev, figures = run(a.seed, a.symbols, a.users, a.seconds, a.episodes, **extra)
    print(json.dumps(figures))
    for x in ev.false_alerts:
        print("false:", x["type"], x["symbol"], x["user_id"], x["score"])
    for x in ev.missed:
        print("missed:", x["type"], x["symbol"], x["user_id"])


if __name__ == "__main__":
    main()
