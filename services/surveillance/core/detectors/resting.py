"""Spoofing and layering: non-bona-fide resting size, an opposite execution, then the cancel.

Both track *candidates*: resting limit orders near the touch that are large for the symbol and
for their user, placed while their owner shows little on the other side (a market maker's
two-sided quotes never qualify). A candidate is judged when it is cancelled (and again if an
opposite execution arrives within ``opposite_window_ms`` after):

* **spoofing** - a single candidate (no co-placed same-side candidates at adjacent levels);
* **layering** - ``min_layers`` or more candidates of one owner and side at successive price
  levels, placed within ``max_placement_span_ms``, most of them cancelled.

The evidence is the chance of a coincidence (see :mod:`..stats`): how rare the size is for the
symbol and the user, how likely this owner - at their own execution rate - was to trade on the
other side that soon after placing the order, and, for layers, how likely their own order and
cancel rates were to put that many orders in and out of the book that close together.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_left
from collections import deque
from typing import Any, Final

from services.surveillance.core.book import OrderState
from services.surveillance.core.detectors.base import Finding, PatternDetector, register_detector
from services.surveillance.core.normalise import BUY, LIMIT, Ev
from services.surveillance.core.state import AGGRESSIVE_TAU_S, SymbolState
from services.surveillance.core.stats import (
    chance_within,
    evidence_score,
    poisson_sf,
    tail_fraction,
)
from services.surveillance.core.types import LayeringThresholds, SpoofingThresholds

MS: Final = 1_000_000
MIN_DELAY_S: Final = 0.001
SIDE_DEPTH_LEVELS: Final = 5
USER_PRIOR: Final = 20.0
#: An amend leaving less than this fraction of the size shown withdraws the order.
PULLED_FRACTION: Final = 0.25
#: Co-placed orders of one owner on other levels of the same side make a ladder (layering)
#: only when together they show at least this fraction of the largest one; below it the
#: largest order is the lure on its own (spoofing) and the small ones are incidental.
LADDER_SHARE: Final = 0.25
SCALE: Final = 1e9


def _fmt_qty(raw: int) -> str:
    v = raw / SCALE
    return str(int(v)) if v == int(v) else f"{v:.4f}"


def _fmt_px(raw: int) -> str:
    return f"{raw / SCALE:.9f}".rstrip("0").rstrip(".")


class Candidate:
    """A large near-touch resting order and what its owner did on the other side."""

    __slots__ = (
        "anchor",
        "exec_rate",
        "first_opp_ts",
        "opp_open",
        "opp_order_ids",
        "opp_order_qty",
        "opp_qty",
        "opp_trade_ids",
        "order",
        "p_size",
        "price",
        "pulled_qty",
        "pulled_ts",
        "reported",
        "shown",
        "size_vs_level",
        "size_vs_symbol",
        "size_vs_user",
        "t0",
    )

    def __init__(self, order: OrderState, p_size: float, exec_rate: float) -> None:
        self.order = order
        self.p_size = p_size
        self.exec_rate = exec_rate
        self.first_opp_ts = 0
        self.opp_trade_ids: list[str] = []
        self.opp_order_ids: list[str] = []
        self.opp_qty = 0
        self.opp_order_qty = 0
        self.anchor = ""
        self.reported = False
        self.size_vs_level = 0.0
        self.size_vs_symbol = 0.0
        self.size_vs_user = 0.0
        #: the displayed size when it became a candidate; an amend that pulls most of it (or
        #: moves it away from the touch) is a cancel in all but name
        self.shown = order.quantity
        self.price = order.price
        #: when it was placed (or re-placed by an amend that made it a candidate)
        self.t0 = order.ts_new
        self.pulled_ts = 0
        self.pulled_qty = 0
        #: the most the owner showed on the other side while it rested
        self.opp_open = 0

    @property
    def gone_ts(self) -> int:
        """When the order was cancelled or pulled by an amend (0 while it still shows)."""
        return self.order.ts_cancel or self.pulled_ts

    @property
    def withdrawn(self) -> int:
        """Quantity cancelled or amended away."""
        return self.order.cancelled + self.pulled_qty

    @property
    def fill_ratio(self) -> float:
        """Filled quantity over the size shown."""
        return self.order.filled / self.shown if self.shown else 0.0


class RestingState:
    """Per-symbol candidates of one detector, indexed by owner."""

    __slots__ = ("by_owner", "cands", "recent")

    def __init__(self) -> None:
        self.cands: dict[str, Candidate] = {}
        self.by_owner: dict[str, list[Candidate]] = {}
        #: (owner, side) -> large near-touch orders placed lately, candidates or not (the
        #: ladder an order joins), trimmed to the placement span
        self.recent: dict[tuple[str, int], deque[tuple[int, OrderState]]] = {}

    def add(self, c: Candidate) -> None:
        self.cands[c.order.order_id] = c
        self.by_owner.setdefault(c.order.owner_id, []).append(c)

    def drop(self, c: Candidate) -> None:
        self.cands.pop(c.order.order_id, None)
        lst = self.by_owner.get(c.order.owner_id)
        if lst is not None:
            with contextlib.suppress(ValueError):
                lst.remove(c)
            if not lst:
                del self.by_owner[c.order.owner_id]


class _RestingDetector(PatternDetector):
    """Shared candidate tracking of spoofing and layering."""

    def _min_order(self, sym: SymbolState, user_median: float, history: int) -> float:
        raise NotImplementedError

    def _rs(self, sym: SymbolState) -> RestingState:
        st: RestingState = self.state(sym, RestingState)
        return st

    def _max_distance(self) -> int:
        return int(self.thresholds.max_distance_ticks)

    def _two_sided_basis(self, sym: SymbolState, order: OrderState, ts: int) -> int:
        """The size the owner's opposite-side open quantity is compared with at placement
        (``max_opposite_open_ratio``): the order itself."""
        return order.quantity

    def handle_new(self, ev: Ev, sym: SymbolState, order: OrderState) -> None:
        mine = self._rs(sym).by_owner.get(order.owner_id)
        if mine and order.resting:
            # The owner quotes the other side of its candidates: remember the most it showed
            # there while they rest (a ladder opposite another ladder is two-sided).
            shown = 0
            for c in mine:
                if c.order.side != order.side and not c.gone_ts:
                    shown = shown or sym.book.open_of(order.owner_id, order.side)
                    c.opp_open = max(c.opp_open, shown)
        self._consider(ev, sym, order)

    def _consider(self, ev: Ev, sym: SymbolState, order: OrderState) -> Candidate | None:
        """Track ``order`` as a candidate if it is large and near the touch."""
        t = self.thresholds
        if order.order_type != LIMIT or order.aggressive or not order.resting:
            return None
        if order.distance_ticks > self._max_distance():
            return None
        sym_median = sym.median_size
        if sym_median <= 0 or sym.sizes.count < 20:
            return None
        qty = order.quantity
        if qty < self._min_order(sym, 0.0, 0):
            return None  # the cheap test first: most orders are ordinary for the symbol
        user_median, history = self.ctx.user_sizes.median(order.user_id)
        if qty < self._min_order(sym, user_median, history):
            return None
        opposite_open = sym.book.open_of(order.owner_id, -order.side)
        basis = self._two_sided_basis(sym, order, ev.ts)
        if opposite_open > t.max_opposite_open_ratio * basis:
            return None
        c = self._candidate(ev, sym, order, opposite_open, user_median, history)
        self._admit_ladder(ev, sym, order, opposite_open)
        return c

    def _admit_ladder(self, ev: Ev, sym: SymbolState, order: OrderState, opposite: int) -> None:
        """Hook: orders of the ladder ``order`` completes that were refused alone (layering)."""

    def _candidate(
        self,
        ev: Ev,
        sym: SymbolState,
        order: OrderState,
        opposite_open: int,
        user_median: float,
        history: int,
    ) -> Candidate:
        """Track ``order`` (which passed every test) as a candidate."""
        t = self.thresholds
        qty = order.quantity
        sym_median = sym.median_size
        if not order.side_depth_before:
            # Displayed depth of the side's best levels shown by everybody else (the owner's own
            # orders, this one included, left out).
            own = sym.book.open_of(order.owner_id, order.side)
            order.side_depth_before = max(
                0, sym.book.side_depth(order.side, SIDE_DEPTH_LEVELS) - own
            )
        p_size = tail_fraction(sym.sizes.sorted_window(), qty)
        window = self.ctx.user_sizes.window(order.user_id)
        if window is not None:
            # The user's own tail, shrunk towards the symbol's with USER_PRIOR pseudo-orders:
            # a user who often sends orders this large (a market maker, an institution) makes
            # the size ordinary; a short history alone proves nothing either way.
            mine = window.sorted_window()
            at_least = len(mine) - bisect_left(mine, qty)
            p_user = (at_least + USER_PRIOR * p_size) / (len(mine) + USER_PRIOR)
            p_size = max(p_size, p_user)
        rate = max(sym.typical_exec_rate(ev.ts), sym.exec_rate.rate(order.owner_id, ev.ts))
        c = Candidate(order, p_size, rate)
        c.opp_open = opposite_open
        c.size_vs_symbol = qty / sym_median
        c.size_vs_user = qty / user_median if history >= t.min_user_history else 0.0
        c.size_vs_level = qty / order.level_depth_before if order.level_depth_before else 0.0
        self._rs(sym).add(c)
        return c

    def handle_trade(
        self, ev: Ev, sym: SymbolState, buy: OrderState | None, sell: OrderState | None
    ) -> None:
        st = self._rs(sym)
        if not st.by_owner:
            return
        window = self.thresholds.opposite_window_ms * MS
        for order in (buy, sell):
            if order is None:
                continue
            cands = st.by_owner.get(order.owner_id)
            if not cands:
                continue
            for c in cands:
                o = c.order
                if o.side == order.side or ev.ts < c.t0:
                    continue
                if c.gone_ts and ev.ts > c.gone_ts:
                    continue  # the execution must happen while the order rests
                if order.ts_new < c.t0 - window:
                    continue  # an order working long before the candidate: not its purpose
                if not c.first_opp_ts:
                    c.first_opp_ts = ev.ts
                if ev.trade_id not in c.opp_trade_ids:
                    c.opp_trade_ids.append(ev.trade_id)
                    c.opp_qty += ev.quantity
                if order.order_id not in c.opp_order_ids:
                    c.opp_order_ids.append(order.order_id)
                    c.opp_order_qty += order.quantity
                if c.gone_ts:
                    self._judge(ev, sym, c)

    def handle_cancel(self, ev: Ev, sym: SymbolState, order: OrderState) -> None:
        c = self._rs(sym).cands.get(order.order_id)
        if c is not None:
            self._judge(ev, sym, c)

    def handle_amend(self, ev: Ev, sym: SymbolState, order: OrderState) -> None:
        """An amend that leaves less than a quarter of the size shown, or moves the order
        beyond ``max_distance_ticks`` from the touch, withdraws it like a cancel (a venue or a
        trader may amend rather than cancel)."""
        c = self._rs(sym).cands.get(order.order_id)
        if c is None:
            if order.replaced_ts == ev.ts:  # re-placed: large and near the touch only now?
                c = self._consider(ev, sym, order)
                if c is not None:
                    c.t0 = ev.ts
            return
        if c.pulled_ts:
            return
        left = order.remaining
        best = sym.book.best(order.side)
        unit = sym.level_unit
        away = (best - order.price) * order.side if best else 0
        moved = unit > 0 and away > self._max_distance() * unit
        if left < PULLED_FRACTION * c.shown or moved:
            c.pulled_ts = ev.ts
            c.pulled_qty = max(0, c.shown - order.filled - (0 if moved else left))
            self._judge(ev, sym, c)

    def _judge(self, ev: Ev, sym: SymbolState, c: Candidate) -> None:
        raise NotImplementedError

    def expire(self, sym: SymbolState, now_ns: int) -> None:
        st = self._rs(sym)
        t = self.thresholds
        span = self._span_ms() * MS
        for key in [k for k, q in st.recent.items() if not q or now_ns - q[-1][0] > span]:
            del st.recent[key]
        keep_after_cancel = (t.opposite_window_ms + self._span_ms()) * MS
        max_life = t.max_lifetime_ms * MS
        for c in list(st.cands.values()):
            o = c.order
            if c.gone_ts:
                if now_ns - c.gone_ts > keep_after_cancel:
                    st.drop(c)
            elif (
                now_ns - c.t0 > max_life or (o.remaining <= 0 and not o.resting) or o.remaining <= 0
            ):
                st.drop(c)

    def _span_ms(self) -> float:
        return 0.0


def _lure_of(group: list[Candidate]) -> Candidate | None:
    """The order of ``group`` that shows so much more than the rest together (they hold less
    than ``LADDER_SHARE`` of it) that it is a single lure rather than a ladder; None when the
    group is a ladder."""
    largest = max(group, key=lambda x: (x.shown, x.order.order_id))
    rest = sum(x.shown for x in group) - largest.shown
    return largest if rest < LADDER_SHARE * largest.shown else None


def _placement_chance(group: list[Candidate], rate: float, min_layers: int) -> tuple[float, int]:
    """The chance that an owner placing orders at ``rate`` per second put the ladder's orders
    in that close together, and when the run it is judged on starts.

    The whole group is the pre-set test. An order of the owner that was already resting on an
    adjacent level joins the group and stretches its span; so the tightest later run (the group
    without its earliest orders, still ``min_layers`` levels) is tried too, its chance
    multiplied by the number of runs tried (Bonferroni), and the smaller of the two is kept.
    """
    xs = sorted(group, key=lambda x: (x.t0, x.order.order_id))
    whole = poisson_sf(
        len({x.price for x in xs}) - 1, rate * max(MIN_DELAY_S, (xs[-1].t0 - xs[0].t0) / 1e9)
    )
    best, best_t0, tried = 1.0, xs[0].t0, 0
    for i in range(1, len(xs)):
        run = xs[i:]
        levels = len({x.price for x in run})
        if levels < min_layers:
            break
        tried += 1
        p = poisson_sf(levels - 1, rate * max(MIN_DELAY_S, (run[-1].t0 - run[0].t0) / 1e9))
        if p < best:
            best, best_t0 = p, run[0].t0
    if tried and best * tried < whole:
        return best * tried, best_t0
    return whole, xs[0].t0


@register_detector
class SpoofingDetector(_RestingDetector):
    """One large order near the touch, cancelled quickly, while its owner trades opposite."""

    alert_type = "SPOOFING"
    thresholds_type = SpoofingThresholds

    def _min_order(self, sym: SymbolState, user_median: float, history: int) -> float:
        t: SpoofingThresholds = self.thresholds
        need = t.min_size_vs_symbol_median * sym.median_size
        if history >= t.min_user_history:
            need = max(need, t.min_size_vs_user_median * user_median)
        return need

    def _judge(self, ev: Ev, sym: SymbolState, c: Candidate) -> None:
        t: SpoofingThresholds = self.thresholds
        o = c.order
        gone, size = c.gone_ts, c.shown
        if not gone or not c.first_opp_ts:
            return
        life_ms = (gone - c.t0) / MS
        if life_ms > t.max_lifetime_ms or c.fill_ratio > t.max_fill_ratio:
            return
        if max(c.opp_qty, c.opp_order_qty) >= size:
            return  # the "genuine" side is as large as the order: not a lure
        if o.level_depth_before and size < t.min_size_vs_level_depth * o.level_depth_before:
            return
        if sym.book.open_of(o.owner_id, -o.side) > t.max_opposite_open_ratio * size:
            return  # still quoting the other side as large: two-sided, not a lure
        if self._layered(sym, c):
            return
        delay_s = max(MIN_DELAY_S, (c.first_opp_ts - c.t0) / 1e9)
        p_coinc = chance_within(c.exec_rate, delay_s)
        # Larger than the level it joins: the book shows more than the market offered there.
        p_depth = 1.0
        if o.level_depth_before and size > o.level_depth_before:
            p_depth = max(0.01, o.level_depth_before / size)
        elif not o.level_depth_before:
            p_depth = 0.5
        p = c.p_size * p_coinc * p_depth
        score = evidence_score(p)
        side = "buy" if o.side == BUY else "sell"
        opp = "sell" if o.side == BUY else "buy"
        evidence: dict[str, Any] = {
            "order": {
                "order_id": o.order_id,
                "side": side.upper(),
                "price": _fmt_px(o.price),
                "quantity": _fmt_qty(size),
                "filled": _fmt_qty(o.filled),
                "placed_ns": c.t0,
                "cancelled_ns": gone,
                "withdrawn_by": "amend" if not o.ts_cancel else "cancel",
            },
            "book_at_placement": {
                "best_same_side": _fmt_px(o.best_same_at_new),
                "best_opposite_side": _fmt_px(o.best_opp_at_new),
                "depth_at_level": _fmt_qty(o.level_depth_before),
                "depth_top5_same_side": _fmt_qty(o.side_depth_before),
                "distance_ticks": o.distance_ticks,
                "tick": _fmt_px(sym.tick),
                "level_unit": _fmt_px(sym.level_unit),
            },
            "book_at_cancel": {
                "best_bid": _fmt_px(sym.book.best_bid()),
                "best_ask": _fmt_px(sym.book.best_ask()),
            },
            "measured": {
                "size_vs_symbol_median": round(c.size_vs_symbol, 3),
                "size_vs_user_median": round(c.size_vs_user, 3),
                "size_vs_level_depth": round(c.size_vs_level, 3),
                "lifetime_ms": round(life_ms, 3),
                "fill_ratio": round(c.fill_ratio, 4),
                "opposite_delay_ms": round(delay_s * 1000, 3),
                "opposite_quantity": _fmt_qty(c.opp_qty),
                "owner_execution_rate_per_s": round(c.exec_rate, 5),
                "p_size": c.p_size,
                "p_coincidence": p_coinc,
                "p_depth": p_depth,
                "p_chance": p,
            },
        }
        explanation = (
            f"{o.user_id} placed a {side} order for {_fmt_qty(size)} at {_fmt_px(o.price)} "
            f"({c.size_vs_symbol:.1f}x the symbol's median order, "
            f"{o.distance_ticks} tick(s) behind the best {side}), "
            f"{(c.first_opp_ts - c.t0) / MS:.0f} ms later the same beneficial owner "
            f"executed a {opp} of {_fmt_qty(c.opp_qty)}, and the order was cancelled "
            f"{life_ms:.0f} ms after placement with {c.fill_ratio:.0%} filled. "
            f"The chance of this by coincidence, given this owner's own trading rate, is "
            f"about {p:.1e}."
        )
        self.ctx.report(
            Finding(
                alert_type=self.alert_type,
                symbol=o.symbol,
                anchor=o.order_id,
                user_id=o.user_id,
                owner_id=o.owner_id,
                account_ids=[o.account_id],
                start_ns=c.t0,
                end_ns=max(gone, c.first_opp_ts),
                score=score,
                order_ids=[o.order_id, *c.opp_order_ids],
                trade_ids=list(c.opp_trade_ids),
                evidence=evidence,
                explanation=explanation,
            ),
            ev.ts,
        )

    def _layered(self, sym: SymbolState, c: Candidate) -> bool:
        """Is ``c`` one of several co-placed same-side orders at different levels (layering's
        case, not a single spoof)?"""
        # The ladder is looked for among layering's candidates when it runs (smaller orders
        # further from the touch than a spoof's), so a ladder alerted as layering is not also
        # a spoof; among this detector's own otherwise.
        pool = sym.detector_state.get(LayeringDetector.alert_type)
        if not isinstance(pool, RestingState):
            pool = self._rs(sym)
        span = self.thresholds.opposite_window_ms * MS
        o = c.order
        ladder = [
            x
            for x in pool.by_owner.get(o.owner_id, ())
            if x.order is not o
            and x.order.side == o.side
            and x.price != c.price
            and abs(x.t0 - c.t0) <= span
        ]
        if not ladder:
            return False
        # Small co-placed orders beside a dominant one do not make it a ladder (it stays a
        # spoof); a small order beside a dominant one is judged through that one.
        lure = _lure_of([c, *ladder])
        return lure is None or lure.order is not o


@register_detector
class LayeringDetector(_RestingDetector):
    """Several orders at successive levels on one side, an opposite execution, then cancels."""

    alert_type = "LAYERING"
    thresholds_type = LayeringThresholds

    def _min_order(self, sym: SymbolState, user_median: float, history: int) -> float:
        t: LayeringThresholds = self.thresholds
        return t.min_layer_vs_symbol_median * sym.median_size

    def _span_ms(self) -> float:
        return float(self.thresholds.max_placement_span_ms)

    def _two_sided_basis(self, sym: SymbolState, order: OrderState, ts: int) -> int:
        """A layer is judged two-sided against the ladder so far (itself plus its owner's other
        large near-touch orders on that side placed within ``max_placement_span_ms`` and still
        open), not against the layer alone: modest layers opposite a smaller resting order are
        still one-sided. The ladder's total is checked again when the group is judged."""
        span = self.thresholds.max_placement_span_ms * MS
        recent = self._rs(sym).recent.setdefault((order.owner_id, order.side), deque())
        while recent and ts - recent[0][0] > span:
            recent.popleft()
        ladder = sum(o.remaining for _, o in recent if o.resting and o is not order)
        recent.append((ts, order))
        return order.quantity + ladder

    def _admit_ladder(self, ev: Ev, sym: SymbolState, order: OrderState, opposite: int) -> None:
        """The earlier orders of the ladder ``order`` joins that were refused on their own as
        two-sided (and still rest) become candidates now that the ladder outweighs the owner's
        other side."""
        st = self._rs(sym)
        for _, o in st.recent.get((order.owner_id, order.side), ()):
            if o is not order and o.resting and o.remaining > 0 and o.order_id not in st.cands:
                user_median, history = self.ctx.user_sizes.median(o.user_id)
                self._candidate(ev, sym, o, opposite, user_median, history)

    def _group(self, sym: SymbolState, c: Candidate) -> list[Candidate]:
        t: LayeringThresholds = self.thresholds
        o = c.order
        span = t.max_placement_span_ms * MS
        near = [
            x
            for x in self._rs(sym).by_owner.get(o.owner_id, [])
            if x.order.side == o.side and abs(x.t0 - c.t0) <= span
        ]
        if not near:
            return []
        # Anchor the placement window at the earliest co-placed order, so a group spans at most
        # max_placement_span_ms.
        t_first = min(x.t0 for x in near)
        members = [x for x in near if x.t0 - t_first <= span]
        if c not in members:
            return []
        unit = sym.level_unit
        if unit <= 0:
            return []
        # The run of successive levels that contains c.
        prices = sorted({x.price for x in members}, reverse=o.side == BUY)
        gap = t.max_level_gap_ticks * unit
        runs: list[list[int]] = []
        for p in prices:
            if runs and abs(runs[-1][-1] - p) <= gap:
                runs[-1].append(p)
            else:
                runs.append([p])
        mine = next((r for r in runs if c.price in r), [])
        if len(mine) < t.min_layers:
            return []
        chosen = set(mine)
        return sorted(
            (x for x in members if x.price in chosen),
            key=lambda x: (x.t0, x.order.order_id),
        )

    def _judge(self, ev: Ev, sym: SymbolState, c: Candidate) -> None:
        t: LayeringThresholds = self.thresholds
        group = self._group(sym, c)
        if not group:
            return
        orders = [x.order for x in group]
        total = sum(x.shown for x in group)
        filled = sum(o.filled for o in orders)
        cancelled = [x for x in group if x.gone_ts]
        cancelled_qty = sum(x.withdrawn for x in cancelled)
        first = orders[0]
        if total < t.min_total_vs_symbol_median * sym.median_size:
            return
        user_median, history = self.ctx.user_sizes.median(first.user_id)
        if history >= t.min_user_history and total < t.min_total_vs_user_median * user_median:
            return
        if first.side_depth_before and total < t.min_total_vs_side_depth * first.side_depth_before:
            return
        if filled > t.max_fill_ratio * total or cancelled_qty < t.min_cancelled_fraction * total:
            return
        if max(x.opp_open for x in group) > t.max_opposite_open_ratio * total:
            return  # the owner showed as much on the other side: two-sided, not a ladder
        if _lure_of(group) is not None:
            return  # one order is the lure, the others incidental: spoofing's case
        lives = [(x.gone_ts - x.t0) / MS for x in cancelled]
        if max(lives) > t.max_lifetime_ms:
            return
        opp_ts = [x.first_opp_ts for x in group if x.first_opp_ts]
        if not opp_ts:
            return
        first_opp = min(opp_ts)
        trade_ids: list[str] = []
        opp_orders: list[str] = []
        opp_qty = 0
        for x in group:
            for tid in x.opp_trade_ids:
                if tid not in trade_ids:
                    trade_ids.append(tid)
            for oid in x.opp_order_ids:
                if oid not in opp_orders:
                    opp_orders.append(oid)
            opp_qty = max(opp_qty, x.opp_qty, x.opp_order_qty)
        if opp_qty >= total:
            return
        k = len({x.price for x in group})
        t0 = min(x.t0 for x in group)
        # Orders on successive levels right after the owner took at least as much the other
        # way are the exit of a position just built (an ignition's unwind), not a lure.
        taken = sym.aggressive_flow.rate((first.owner_id, -first.side), t0) * AGGRESSIVE_TAU_S
        if taken >= 0.5 * total:
            return
        place_span_s = max(MIN_DELAY_S, (max(x.t0 for x in group) - t0) / 1e9)
        cancel_times = [x.gone_ts for x in cancelled]
        cancel_span_s = max(MIN_DELAY_S, (max(cancel_times) - min(cancel_times)) / 1e9)
        owner = first.owner_id
        typical = sym.typical_order_rate(t0)
        order_rate = max(typical, sym.order_rate.rate((owner, first.side), t0))
        cancel_rate = max(typical, sym.cancel_rate.rate(owner, t0))
        p_place, run_t0 = _placement_chance(group, order_rate, t.min_layers)
        p_cancel = poisson_sf(len(cancelled) - 1, cancel_rate * cancel_span_s)
        exec_rate = min(x.exec_rate for x in group)
        delay_s = max(MIN_DELAY_S, (first_opp - (run_t0 if first_opp >= run_t0 else t0)) / 1e9)
        p_coinc = chance_within(exec_rate, delay_s)
        p = p_place * p_cancel * p_coinc
        score = evidence_score(p)
        anchor = next((x.anchor for x in group if x.anchor), "") or first.order_id
        for x in group:
            x.anchor = anchor
        side = "buy" if first.side == BUY else "sell"
        opp = "sell" if first.side == BUY else "buy"
        levels = sorted({x.price for x in group}, reverse=first.side == BUY)
        evidence: dict[str, Any] = {
            "layers": [
                {
                    "order_id": o.order_id,
                    "price": _fmt_px(x.price),
                    "quantity": _fmt_qty(x.shown),
                    "filled": _fmt_qty(o.filled),
                    "placed_ns": x.t0,
                    "cancelled_ns": x.gone_ts,
                    "distance_ticks": o.distance_ticks,
                    "depth_at_level": _fmt_qty(o.level_depth_before),
                }
                for x in group
                for o in (x.order,)
            ],
            "book_at_placement": {
                "best_same_side": _fmt_px(first.best_same_at_new),
                "best_opposite_side": _fmt_px(first.best_opp_at_new),
                "depth_top5_same_side": _fmt_qty(first.side_depth_before),
                "tick": _fmt_px(sym.tick),
                "level_unit": _fmt_px(sym.level_unit),
            },
            "book_at_cancel": {
                "best_bid": _fmt_px(sym.book.best_bid()),
                "best_ask": _fmt_px(sym.book.best_ask()),
            },
            "measured": {
                "levels": k,
                "total_quantity": _fmt_qty(total),
                "total_vs_symbol_median": round(total / sym.median_size, 3),
                "total_vs_side_depth": (
                    round(total / first.side_depth_before, 4) if first.side_depth_before else None
                ),
                "fill_ratio": round(filled / total, 4),
                "cancelled_fraction": round(cancelled_qty / total, 4),
                "placement_span_ms": round(place_span_s * 1000, 3),
                "cancel_span_ms": round(cancel_span_s * 1000, 3),
                "opposite_delay_ms": round(delay_s * 1000, 3),
                "opposite_quantity": _fmt_qty(opp_qty),
                "p_placement": p_place,
                "p_cancel": p_cancel,
                "p_coincidence": p_coinc,
                "p_chance": p,
            },
        }
        explanation = (
            f"{first.user_id} placed {len(orders)} {side} orders on {k} successive price levels "
            f"({_fmt_px(levels[0])} to {_fmt_px(levels[-1])}, {_fmt_qty(total)} in total, "
            f"{total / sym.median_size:.1f}x the symbol's median order) within "
            f"{place_span_s * 1000:.0f} ms; {(first_opp - t0) / MS:.0f} ms after the first, "
            f"the same beneficial owner executed a {opp}; {cancelled_qty / total:.0%} of the "
            f"layered quantity was then cancelled within {cancel_span_s * 1000:.0f} ms of each "
            f"other, {filled / total:.0%} filled. The chance of this by coincidence, given this "
            f"owner's own order, cancel and trade rates, is about {p:.1e}."
        )
        self.ctx.report(
            Finding(
                alert_type=self.alert_type,
                symbol=first.symbol,
                anchor=anchor,
                user_id=first.user_id,
                owner_id=owner,
                account_ids=sorted({o.account_id for o in orders}),
                start_ns=t0,
                end_ns=max(max(cancel_times), first_opp),
                score=score,
                order_ids=[o.order_id for o in orders] + opp_orders,
                trade_ids=trade_ids,
                evidence=evidence,
                explanation=explanation,
                user_ids=sorted({o.user_id for o in orders}),
            ),
            ev.ts,
        )
