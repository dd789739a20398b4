"""Momentum ignition: an aggressive burst that moves the price, then trading the other way.

A *burst* is a run of one user's aggressive orders (market, IOC, marketable limit) on one
side, each within ``max_gap_ms`` of the last. Its *move* is the largest favourable change of
the reconstructed mid from just before the burst to its end; it is compared with the symbol's
own volatility of the mid over ``vol_horizon_ms`` (root mean square of mid changes between
horizon buckets), scaled to the burst's duration (square-root of time, never below one
horizon). The user must be most of the aggressive volume on that side during the burst (a news
jump is many participants) and then, within ``reversal_window_ms``, place or execute orders on
the other side for a part of the burst's quantity (a sliced parent order never turns round).
The evidence is the Gaussian tail of the move in sigmas times the chance that this user, at
their own order rate on the other side, would have turned round that soon anyway.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Final

from services.surveillance.core.book import OrderState
from services.surveillance.core.detectors.base import Finding, PatternDetector, register_detector
from services.surveillance.core.normalise import BUY, Ev
from services.surveillance.core.state import SymbolState
from services.surveillance.core.stats import (
    DecayedRates,
    chance_within,
    evidence_score,
    gaussian_tail,
)
from services.surveillance.core.types import MomentumIgnitionThresholds

MS: Final = 1_000_000
SCALE: Final = 1e9
VOL_WINDOW: Final = 512
MIN_VOL_SAMPLES: Final = 30
AGG_TAU_S: Final = 300.0
MIN_CROWD: Final = 50


class Burst:
    """One user's run of aggressive orders on one side, and what followed."""

    __slots__ = (
        "account",
        "agg_total",
        "base_share",
        "cum_start",
        "end_mid",
        "executed",
        "first_rev_ts",
        "last_ts",
        "move",
        "order_ids",
        "orders",
        "owner",
        "ref_mid",
        "rev_order_ids",
        "rev_qty",
        "rev_rate",
        "rev_trade_ids",
        "side",
        "start_ts",
        "trade_ids",
        "user",
    )

    def __init__(self, order: OrderState, ref_mid: int, cum_start: int, rev_rate: float) -> None:
        self.user = order.user_id
        self.owner = order.owner_id
        self.account = order.account_id
        self.side = order.side
        self.start_ts = order.ts_new
        self.last_ts = order.ts_new
        self.order_ids: list[str] = []
        self.orders = 0
        self.trade_ids: list[str] = []
        self.executed = 0
        self.ref_mid = ref_mid
        self.end_mid = ref_mid
        self.move = 0
        self.cum_start = cum_start
        self.agg_total = 0
        self.rev_qty = 0
        self.rev_order_ids: list[str] = []
        self.rev_trade_ids: list[str] = []
        self.first_rev_ts = 0
        self.rev_rate = rev_rate
        self.base_share = 1.0


class MomentumState:
    """Per-symbol: mid volatility samples, aggressive volume by side, open bursts by user."""

    __slots__ = ("agg_rate", "bucket", "bucket_mid", "bursts", "changes", "cum_agg", "watched")

    def __init__(self) -> None:
        self.bucket = -1
        self.bucket_mid = 0
        self.changes: deque[float] = deque(maxlen=VOL_WINDOW)
        self.cum_agg = {BUY: 0, -BUY: 0}
        self.bursts: dict[str, Burst] = {}
        self.watched: dict[str, list[Burst]] = {}
        self.agg_rate = DecayedRates(AGG_TAU_S)

    def sigma(self) -> float:
        """Trimmed RMS mid change per horizon (raw), 0.0 until enough samples."""
        n = len(self.changes)
        if n < MIN_VOL_SAMPLES:
            return 0.0
        # Trimmed: the largest 5% of moves are left out, so earlier bursts (manipulative or
        # news) do not inflate the yardstick the next burst is measured with.
        squares = sorted(c * c for c in self.changes)[: max(1, n - n // 20)]
        return math.sqrt(sum(squares) / len(squares))


@register_detector
class MomentumIgnitionDetector(PatternDetector):
    """An aggressive burst that moves the price by several sigmas, then the reverse trade."""

    alert_type = "MOMENTUM_IGNITION"
    thresholds_type = MomentumIgnitionThresholds

    def _ms(self, sym: SymbolState) -> MomentumState:
        st: MomentumState = self.state(sym, MomentumState)
        return st

    @staticmethod
    def _mid(sym: SymbolState) -> int:
        """The two-sided mid, or the last trade when a side has been swept away."""
        bid, ask = sym.book.best_bid(), sym.book.best_ask()
        if bid and ask and bid < ask:
            return (bid + ask) // 2
        return sym.last_trade_price

    def _sample_mid(self, st: MomentumState, sym: SymbolState, ts: int) -> int:
        mid = self._mid(sym)
        if mid <= 0:
            return 0
        h = int(self.thresholds.vol_horizon_ms * MS)
        bucket = ts // h
        if st.bucket < 0:
            st.bucket, st.bucket_mid = bucket, mid
        elif bucket > st.bucket:
            steps = bucket - st.bucket
            st.changes.append((mid - st.bucket_mid) / math.sqrt(steps))
            st.bucket, st.bucket_mid = bucket, mid
        return mid

    def handle_new(self, ev: Ev, sym: SymbolState, order: OrderState) -> None:
        t: MomentumIgnitionThresholds = self.thresholds
        st = self._ms(sym)
        self._reversal_order(ev, sym, st, order)
        if not order.aggressive:
            return
        b = st.bursts.get(order.user_id)
        base_share = self._base_share(st, order.owner_id, ev.ts)
        st.agg_rate.add(order.owner_id, ev.ts)
        st.agg_rate.add("*", ev.ts)
        if (
            b is None
            or b.side != order.side
            or ev.ts - b.last_ts > t.max_gap_ms * MS
            or ev.ts - b.start_ts > t.max_burst_ms * MS
        ):
            ref = self._mid(sym)
            rate = max(
                sym.typical_order_rate(ev.ts),
                sym.order_rate.rate((order.owner_id, -order.side), ev.ts),
            )
            b = Burst(order, ref, st.cum_agg[order.side], rate)
            b.base_share = base_share
            st.bursts[order.user_id] = b
            st.watched.setdefault(order.user_id, []).append(b)
        b.last_ts = ev.ts
        b.orders += 1
        b.order_ids.append(order.order_id)

    @staticmethod
    def _base_share(st: MomentumState, owner: str, ts: int) -> float:
        """The owner's usual share of the symbol's aggressive orders (floored at one owner in
        a crowd of MIN_CROWD), read before the burst."""
        total = st.agg_rate.rate("*", ts)
        mine = st.agg_rate.rate(owner, ts) / total if total > 0 else 0.0
        return max(1.0 / MIN_CROWD, mine)

    def _reversal_order(
        self, ev: Ev, sym: SymbolState, st: MomentumState, order: OrderState
    ) -> None:
        bursts = st.watched.get(order.user_id)
        if not bursts:
            return
        window = self.thresholds.reversal_window_ms * MS
        for b in bursts:
            if b.side == order.side or ev.ts < b.start_ts or ev.ts - b.last_ts > window:
                continue
            if b.orders < self.thresholds.min_aggressive_orders:
                continue
            b.rev_qty += order.quantity
            b.rev_order_ids.append(order.order_id)
            if not b.first_rev_ts:
                b.first_rev_ts = ev.ts
            self._judge(ev, sym, st, b)

    def handle_trade(
        self, ev: Ev, sym: SymbolState, buy: OrderState | None, sell: OrderState | None
    ) -> None:
        st = self._ms(sym)
        st.cum_agg[ev.side] += ev.quantity
        mid = self._sample_mid(st, sym, ev.ts)
        aggressor = buy if ev.side == BUY else sell
        gap = self.thresholds.max_gap_ms * MS
        if aggressor is not None:
            b = st.bursts.get(aggressor.user_id)
            if b is not None and b.side == ev.side and aggressor.order_id in b.order_ids[-8:]:
                b.executed += ev.quantity
                b.trade_ids.append(ev.trade_id)
        for b in st.bursts.values():
            if ev.ts <= b.last_ts + gap and mid and b.ref_mid:
                move = (mid - b.ref_mid) * b.side
                if move > b.move:
                    b.move = move
                    b.end_mid = mid
                b.agg_total = st.cum_agg[b.side] - b.cum_start
        for order in (buy, sell):
            if order is None:
                continue
            for b in st.watched.get(order.user_id, ()):
                if (
                    b.side != order.side
                    and b.first_rev_ts
                    and order.order_id in b.rev_order_ids
                    and ev.trade_id not in b.rev_trade_ids
                ):
                    b.rev_trade_ids.append(ev.trade_id)
                    self._judge(ev, sym, st, b)

    def _judge(self, ev: Ev, sym: SymbolState, st: MomentumState, b: Burst) -> None:
        t: MomentumIgnitionThresholds = self.thresholds
        if b.orders < t.min_aggressive_orders or b.executed <= 0 or sym.tick <= 0:
            return
        move_ticks = b.move / sym.tick
        if move_ticks < t.min_move_ticks:
            return
        sigma = st.sigma()
        if sigma <= 0:
            return
        h = t.vol_horizon_ms * MS
        duration = max(h, float(b.last_ts - b.start_ts))
        expected = max(sigma * math.sqrt(duration / h), 0.5 * sym.tick)
        z = b.move / expected
        if z < t.min_move_sigmas:
            return
        share = b.executed / b.agg_total if b.agg_total else 1.0
        if share < t.min_burst_share:
            return
        if b.rev_qty < t.min_reversal_ratio * b.executed:
            return
        delay_s = max(0.001, (b.first_rev_ts - b.last_ts) / 1e9)
        p_move = gaussian_tail(z)
        p_rev = chance_within(b.rev_rate, delay_s)
        # Dominating the aggressive flow is itself unusual for someone who normally sends a
        # small share of it.
        p_share = min(1.0, b.base_share / share) if share > 0 else 1.0
        p = p_move * p_rev * p_share
        score = evidence_score(p)
        side = "buy" if b.side == BUY else "sell"
        opp = "sell" if b.side == BUY else "buy"
        dur_ms = (b.last_ts - b.start_ts) / MS
        evidence: dict[str, Any] = {
            "burst": {
                "side": side.upper(),
                "orders": b.orders,
                "order_ids": list(b.order_ids),
                "executed_quantity": f"{b.executed / SCALE:g}",
                "start_ns": b.start_ts,
                "end_ns": b.last_ts,
                "duration_ms": round(dur_ms, 3),
            },
            "price": {
                "mid_before": f"{b.ref_mid / SCALE:g}",
                "mid_after": f"{b.end_mid / SCALE:g}",
                "move_ticks": round(move_ticks, 2),
                "tick": f"{sym.tick / SCALE:g}",
                "sigma_per_horizon": f"{sigma / SCALE:.6g}",
                "expected_move": f"{expected / SCALE:.6g}",
                "move_sigmas": round(z, 3),
            },
            "participation": {
                "share_of_aggressive_volume": round(share, 4),
                "aggressive_volume_same_side": f"{b.agg_total / SCALE:g}",
            },
            "reversal": {
                "order_ids": list(b.rev_order_ids),
                "trade_ids": list(b.rev_trade_ids),
                "quantity": f"{b.rev_qty / SCALE:g}",
                "ratio_to_burst": round(b.rev_qty / b.executed, 4),
                "delay_ms": round(delay_s * 1000, 3),
            },
            "p_move": p_move,
            "p_share": p_share,
            "usual_share_of_aggressive_orders": round(b.base_share, 5),
            "p_reversal": p_rev,
            "p_chance": p,
        }
        explanation = (
            f"{b.user} sent {b.orders} aggressive {side} orders in {dur_ms:.0f} ms, "
            f"{share:.0%} of the aggressive {side} volume, and the mid moved "
            f"{move_ticks:.1f} ticks ({z:.1f}x the symbol's own volatility over that time); "
            f"{delay_s * 1000:.0f} ms after the burst the same user started to {opp} "
            f"({b.rev_qty / SCALE:g} shares, {b.rev_qty / b.executed:.0%} of the burst) into "
            f"the move. The chance of this by coincidence is about {p:.1e}."
        )
        self.ctx.report(
            Finding(
                alert_type=self.alert_type,
                symbol=sym.symbol,
                anchor=b.order_ids[0],
                user_id=b.user,
                owner_id=b.owner,
                account_ids=[b.account],
                start_ns=b.start_ts,
                end_ns=max(b.last_ts, b.first_rev_ts),
                score=score,
                order_ids=list(b.order_ids) + list(b.rev_order_ids),
                trade_ids=list(b.trade_ids) + list(b.rev_trade_ids),
                evidence=evidence,
                explanation=explanation,
            ),
            ev.ts,
        )

    def expire(self, sym: SymbolState, now_ns: int) -> None:
        st = self._ms(sym)
        t: MomentumIgnitionThresholds = self.thresholds
        gap = t.max_gap_ms * MS
        window = t.reversal_window_ms * MS
        for user in [u for u, b in st.bursts.items() if now_ns - b.last_ts > gap]:
            del st.bursts[user]
        for user in list(st.watched):
            kept = [b for b in st.watched[user] if now_ns - b.last_ts <= window]
            kept = [b for b in kept if b.orders >= t.min_aggressive_orders or user in st.bursts]
            if kept:
                st.watched[user] = kept
            else:
                del st.watched[user]
