"""Resident memory of the matching engine over a long order stream (issue 11.1).

``python -m bench.matching_memory [orders]`` (default 10M) submits orders through
:class:`nexus.matching.MatchingEngine` - half resting sells, half crossing buys from many
accounts, so every order finishes (filled) - and prints RSS every 10% of the stream. Before
the fix every finished order stayed in ``_orders``/``_by_handle`` and every account in
``_accounts``; now RSS stays flat once the bounded finished-order guard is full.
"""

from __future__ import annotations

import resource
import sys
import time

from nexus.matching import MatchingEngine, SubmitOrder

P = 1_000_000_000


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main(total: int = 10_000_000) -> None:
    engine = MatchingEngine()
    t0 = time.perf_counter()
    step = total // 10
    print(f"{'orders':>12} {'rss MB':>8} {'open':>6} {'orders/s':>10}")
    for i in range(total):
        side = "SELL" if i % 2 == 0 else "BUY"
        engine.submit(
            SubmitOrder(
                order_id=f"o{i}",
                user_id=f"u{i % 1000}",
                account_id=f"a{i}",  # a new account every order: the account table must not grow
                symbol="ABC",
                side=side,
                price=100 * P,
                quantity=P,
                ts_event=i,
            )
        )
        if (i + 1) % step == 0:
            rate = (i + 1) / (time.perf_counter() - t0)
            print(f"{i + 1:>12,} {rss_mb():>8.1f} {engine.open_order_count:>6} {rate:>10,.0f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
