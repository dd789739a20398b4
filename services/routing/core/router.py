"""SmartOrderRouter: the seed's interface over the market view, the strategies and the venues.

Pure decision logic: it reads the injected market view, halt book, rule book and clock, and
drives injected :class:`ExecutionVenue` objects; it opens no socket and touches no database.
Prices, quantities and fees are raw fixed-point ints (``value * 10**9``); a limit price of 0 is
a market order bounded by the visible book. ``ts_ns`` (optional on every call) is the order's
event time: decisions, staleness and the rule set in force are judged at it, so a replay gives
the same decision as the live run.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nexus.events import QuoteDepth, QuoteL1
from nexus.regulation import DOLLAR, RuleBook, RuleSet
from services.routing.core import execution
from services.routing.core.errors import InvalidOrder, RoutingError, TradingHalted
from services.routing.core.market import (
    MarketSource,
    apply_quote,
    far_price,
    snapshot,
    taking_side,
)
from services.routing.core.protection import (
    ExceptedQuote,
    OrderProtection,
    ProtectedQuote,
    ProtectionContext,
    Rule611,
    exceptions_used,
)
from services.routing.core.scoring import (
    INTERNAL_PRIORITY,
    ScoreParams,
    speed_score,
    urgency,
    venue_terms,
)
from services.routing.core.search import Allocation, Candidate, allocate
from services.routing.core.stats import VenueStatsTracker
from services.routing.core.types import (
    ExecutionReport,
    NbboSnapshot,
    RouteChild,
    RoutingDecision,
    Side,
    Strategy,
    VenueProfile,
    VenueScore,
    VenueStats,
)
from services.routing.core.venue import ExecutionVenue

SCALE = 10**9


class HaltCheck(Protocol):
    """Answers why an order is refused (None = allowed); :class:`nexus.halts.HaltBook` is one."""

    def check(self, user_id: str, symbol: str, ts_ns: int) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """Tunables of the router (times in seconds, money raw per share)."""

    default_strategy: Strategy = Strategy.SMART
    child_timeout_s: float = 0.5
    cancel_timeout_s: float = 1.0
    max_rounds: int = 3
    base_urgency: float = 0.25
    latency_cost_per_ms: int = 500_000  # $0.0005 per share per ms at full urgency
    max_subsets: int = 256  # split_order's exhaustive venue-subset search bound


@dataclass(slots=True)
class DecisionContext:
    """Why the venues of one decision were or were not eligible (carried between rounds)."""

    excluded: frozenset[str] = frozenset()
    self_help: frozenset[str] = frozenset()
    round: int = 0
    max_venues: int | None = None
    only_internal: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    """Everything a decision is computed from (``SmartOrderRouter.prepare``)."""

    nbbo: NbboSnapshot
    params: ScoreParams
    eligible: dict[str, ExecutionVenue]
    stats: dict[str, VenueStats]
    candidates: list[Candidate]
    tops: dict[str, tuple[int, int, int, int]]
    protected: list[ProtectedQuote]
    excepted: list[ExceptedQuote]
    target: int
    speed: dict[str, float]
    urgency: float
    spread_ref: int
    displayed: int


def _round_div(num: int, den: int) -> int:
    """``num / den`` rounded half-even (den > 0)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def _fmt(raw: int) -> str:
    return f"{raw / SCALE:.4f}"


class SmartOrderRouter:
    """Routes parent orders across registered venues by strategy, under order protection."""

    def __init__(
        self,
        market: MarketSource,
        halts: HaltCheck,
        *,
        rules: RuleBook | None = None,
        protection: OrderProtection | None = None,
        stats: VenueStatsTracker | None = None,
        clock: Callable[[], int] = time.time_ns,
        config: RouterConfig | None = None,
    ) -> None:
        self.market = market
        self.halts = halts
        self.rules = rules or RuleBook()
        self.protection: OrderProtection = protection or Rule611()
        self.stats = stats or VenueStatsTracker()
        self.clock = clock
        self.config = config or RouterConfig()
        self._venues: dict[str, ExecutionVenue] = {}
        self._profiles: dict[str, VenueProfile] = {}  # static by contract: read once

    # -- venues and market data -----------------------------------------------------------------
    def register_venue(self, venue: ExecutionVenue) -> None:
        """Make ``venue`` routable (its quotes' protected flag comes from its profile)."""
        profile = venue.profile
        self._venues[profile.venue_id] = venue
        self._profiles[profile.venue_id] = profile
        self.market.add_venue(profile.venue_id, profile.protected)
        self.stats.register(profile)

    @property
    def venues(self) -> dict[str, ExecutionVenue]:
        """Registered venues by id."""
        return dict(self._venues)

    def on_quote(self, quote: QuoteL1 | QuoteDepth) -> bool:
        """Feed one ``marketdata.quotes`` event into the market view."""
        return apply_quote(self.market, quote)

    def venue_stats(self, venue_id: str) -> VenueStats:
        """The learned statistics of a registered venue."""
        return self.stats.snapshot(venue_id)

    async def update_venue_stats(self, execution_report: ExecutionReport) -> None:
        """Learn fill rate, latency, improvement, rejects, spread from an execution report."""
        self.stats.observe(execution_report)

    # -- validation -----------------------------------------------------------------------------
    def _validate(
        self,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        strategy: Strategy | str | None,
        ts_ns: int,
    ) -> tuple[Side, Strategy, RuleSet]:
        if side not in ("BUY", "SELL"):
            raise InvalidOrder(f"side must be BUY or SELL, not {side!r}", "$.side")
        if not isinstance(quantity, int) or quantity <= 0:
            raise InvalidOrder("quantity must be a raw integer > 0", "$.quantity")
        if not isinstance(price, int) or price < 0:
            raise InvalidOrder("price must be a raw integer >= 0 (0 = market)", "$.price")
        try:
            strat = Strategy(strategy) if strategy is not None else self.config.default_strategy
        except ValueError:
            raise InvalidOrder(f"unknown strategy {strategy!r}", "$.strategy") from None
        rules = self.rules.at(ts_ns)
        if price and not rules.is_on_tick(symbol, price):
            raise InvalidOrder(
                f"price {_fmt(price)} is not a multiple of the Rule 612 tick "
                f"{_fmt(rules.tick_size(symbol, price))} under {rules.name}",
                "$.price",
            )
        reason = self.halts.check(user_id, symbol, ts_ns)
        if reason is not None:
            raise TradingHalted(reason)
        return side, strat, rules  # type: ignore[return-value]

    # -- the seed's interface -------------------------------------------------------------------
    async def route_order(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        strategy: Strategy | str | None = None,
        *,
        ts_ns: int | None = None,
    ) -> RoutingDecision:
        """Decide where ``quantity`` goes (nothing is sent); halted orders raise TradingHalted."""
        now = self.clock() if ts_ns is None else ts_ns
        s, strat, rules = self._validate(user_id, symbol, side, quantity, price, strategy, now)
        return self.decide(order_id, user_id, symbol, s, quantity, price, strat, now, rules)

    async def route_and_execute(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        strategy: Strategy | str | None = None,
        *,
        ts_ns: int | None = None,
    ) -> ExecutionReport:
        """Route and execute: children concurrently, remainders re-routed, never over-filled."""
        now = self.clock() if ts_ns is None else ts_ns
        s, strat, _ = self._validate(user_id, symbol, side, quantity, price, strategy, now)
        return await execution.execute(self, order_id, user_id, symbol, s, quantity, price, strat)

    async def split_order(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        max_venues: int,
        *,
        price: int = 0,
        strategy: Strategy | str | None = None,
        ts_ns: int | None = None,
    ) -> list[tuple[str, int, int]]:
        """Children (venue, quantity, limit price) over at most ``max_venues`` venues.

        Quantities sum exactly to ``quantity``: what the visible liquidity cannot take goes to
        the best-ranked venue as a residual at the limit.
        """
        if not isinstance(max_venues, int) or max_venues < 1:
            raise InvalidOrder("max_venues must be >= 1", "$.max_venues")
        now = self.clock() if ts_ns is None else ts_ns
        s, strat, rules = self._validate(user_id, symbol, side, quantity, price, strategy, now)
        ctx = DecisionContext(max_venues=max_venues)
        decision = self.decide(
            order_id, user_id, symbol, s, quantity, price, strat, now, rules, ctx
        )
        merged: dict[tuple[str, int], int] = {}
        order: list[tuple[str, int]] = []
        for c in decision.children:
            k = (c.venue_id, c.limit_price)
            if k not in merged:
                merged[k] = 0
                order.append(k)
            merged[k] += c.quantity
        return [(v, merged[(v, p)], p) for v, p in order]

    async def get_nbbo(self, symbol: str) -> dict[str, Any]:
        """The protected NBBO and every venue's top of book now (raw ints, event-time ns)."""
        now = self.clock()
        raw = self.market.nbbo(symbol, now)
        n = snapshot(raw)
        return {
            "symbol": symbol,
            "bid_price": n.bid_price,
            "bid_size": n.bid_size,
            "bid_venues": list(n.bid_venues),
            "ask_price": n.ask_price,
            "ask_size": n.ask_size,
            "ask_venues": list(n.ask_venues),
            "state": n.state,
            "ts_event": now,
            "stale_venues": raw.stale_venues,
            "quotes": [
                {
                    "venue": q.venue,
                    "protected": q.protected,
                    "stale": q.stale,
                    "bid_price": q.bid_price,
                    "bid_size": q.bid_size,
                    "ask_price": q.ask_price,
                    "ask_size": q.ask_size,
                    "ts_event": q.ts_event,
                }
                for q in self.market.quotes(symbol, now)
            ],
        }

    async def get_venue_rankings(
        self, symbol: str, side: str, quantity: int
    ) -> list[dict[str, Any]]:
        """Venues ranked by SMART's per-share score for this order, each with its reasons."""
        now = self.clock()
        if side not in ("BUY", "SELL"):
            raise InvalidOrder(f"side must be BUY or SELL, not {side!r}", "$.side")
        if quantity <= 0:
            raise InvalidOrder("quantity must be > 0", "$.quantity")
        rules = self.rules.at(now)
        s: Side = "BUY" if side == "BUY" else "SELL"
        d = self.decide("rankings", "rankings", symbol, s, quantity, 0, Strategy.SMART, now, rules)
        out: list[dict[str, Any]] = []
        for a in d.alternatives:
            st = self.stats.snapshot(a.venue_id) if a.venue_id in self.stats else None
            out.append(
                {
                    "venue": a.venue_id,
                    "rank": a.rank,
                    "score": a.score,
                    "price": a.price,
                    "available": a.available,
                    "fee": a.fee,
                    "slippage": a.slippage,
                    "latency_ns": a.latency_ns,
                    "fill_rate": a.fill_rate,
                    "would_route": a.chosen,
                    "reason": a.reason,
                    "stats": None
                    if st is None
                    else {
                        "fill_rate": st.fill_rate,
                        "reject_rate": st.reject_rate,
                        "latency_p50_ns": st.latency_p50_ns,
                        "latency_p99_ns": st.latency_p99_ns,
                        "price_improvement": st.price_improvement,
                        "effective_spread": st.effective_spread,
                    },
                }
            )
        return out

    # -- the decision ---------------------------------------------------------------------------
    def decide(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        price: int,
        strategy: Strategy,
        now: int,
        rules: RuleSet,
        ctx: DecisionContext | None = None,
    ) -> RoutingDecision:
        """The routing decision for ``quantity`` at event time ``now`` (no venue is touched)."""
        ctx = ctx or DecisionContext()
        p = self.prepare(symbol, side, quantity, price, strategy, now, rules, ctx)
        alloc = self._search(side, strategy, p.candidates, p.protected, p.target, p.speed, ctx)
        exceptions = exceptions_used(side, alloc.worst_price, alloc.swept, p.excepted)
        children = self._children(
            order_id, side, quantity, price, alloc, p.protected, p.candidates, p.eligible, rules
        )
        decision = self._decision(
            order_id, user_id, symbol, side, quantity, price, strategy, now, rules, ctx,
            p.nbbo, children, alloc, exceptions, p.candidates, p.tops, p.stats, p.speed,
            p.urgency, p.spread_ref, p.displayed,
        )  # fmt: skip
        # the price beyond which a fill would trade through a protected quote the split left
        taken = {c.venue_id for c, q in alloc.legs if c.level == 0 and q == c.size}
        left = [q.protect_price for q in p.protected if q.venue_id not in taken]
        bound = (min(left) if side == "BUY" else max(left)) if left else 0
        decision.metrics["protection_bound"] = float(bound)
        return decision

    def prepare(
        self,
        symbol: str,
        side: Side,
        quantity: int,
        price: int,
        strategy: Strategy,
        now: int,
        rules: RuleSet,
        ctx: DecisionContext | None = None,
    ) -> Plan:
        """The inputs of a decision: eligible venues, scored levels, protected quotes, target."""
        ctx = ctx or DecisionContext()
        nbbo = snapshot(self.market.nbbo(symbol, now))
        far = far_price(nbbo, side)
        buy = side == "BUY"
        unavailable = {v for v, ven in self._venues.items() if not ven.is_available()}
        self_help = ctx.self_help | unavailable
        eligible: dict[str, ExecutionVenue] = {}
        for vid, ven in self._venues.items():
            if vid in ctx.excluded or vid in unavailable:
                continue
            kind = self._profiles[vid].kind
            if strategy == Strategy.EXTERNAL_ONLY and kind == "INTERNAL":
                continue
            if ctx.only_internal and kind != "INTERNAL":
                continue
            eligible[vid] = ven
        tick = rules.tick_size(symbol, far or price or DOLLAR)
        spread = nbbo.ask_price - nbbo.bid_price if nbbo.bid_price and nbbo.ask_price else 0
        spread_ref = max(spread, tick)
        displayed = nbbo.ask_size if buy else nbbo.bid_size
        urg = urgency(self.config.base_urgency, quantity, displayed)
        params = ScoreParams(
            strategy=strategy,
            side=side,
            spread_ref=spread_ref,
            urgency=urg,
            latency_cost_per_ms=self.config.latency_cost_per_ms,
            far_price=far,
            rules=rules,
        )
        stats = {vid: self.stats.snapshot(vid) for vid in eligible}
        # (key, fee, latency, venue, level, candidate): (venue, level) is unique, so the sort
        # never compares candidates
        candidates: list[tuple[int, int, int, str, int, Candidate]] = []
        tops: dict[str, tuple[int, int, int, int]] = {}  # venue -> (price, available, fee, slip)
        # the per-level key of scoring.terms/level_key, inlined: fee cap and priority are the
        # only parts that depend on the price (a unit test keeps the two equal)
        internal_first = strategy == Strategy.INTERNALIZE_FIRST and far > 0
        for vid, _protected, levels in self.market.book_side(symbol, taking_side(side), now):
            if vid not in eligible:
                continue
            st = stats[vid]
            prof = self._profiles[vid]
            base = venue_terms(params, st)
            adj = base.slippage + base.latency + base.reject - base.improvement
            fee_at_dollar = rules.capped_fee(prof.taker_fee, DOLLAR)
            internal = internal_first and prof.kind == "INTERNAL"
            lat = st.latency_p50_ns
            available = 0
            for i, (px, sz) in enumerate(levels):
                if price and ((px > price) if buy else (px < price)):
                    break
                fee = fee_at_dollar if px >= DOLLAR else rules.capped_fee(prof.taker_fee, px)
                key = (px if buy else -px) + adj + fee
                if internal and ((px <= far) if buy else (px >= far)):
                    key -= INTERNAL_PRIORITY
                candidates.append((key, fee, lat, vid, i, Candidate(vid, i, px, sz, key)))
                available += sz
            if levels and available:
                px0 = levels[0][0]
                fee0 = fee_at_dollar if px0 >= DOLLAR else rules.capped_fee(prof.taker_fee, px0)
                tops[vid] = (px0, available, fee0, base.slippage)
        candidates.sort()
        cands = [kc[5] for kc in candidates]
        quotes = self.market.quotes(symbol, now)
        pctx = ProtectionContext(
            side=side,
            quotes=quotes,
            nbbo=nbbo,
            now_ns=now,
            self_help=frozenset(self_help),
            round_lot=rules.round_lot,
        )
        protected, excepted = self.protection.protected_quotes(pctx)
        target = min(quantity, sum(c.size for c in cands))
        speed = {vid: speed_score(st) for vid, st in stats.items()}
        return Plan(
            nbbo=nbbo,
            params=params,
            eligible=eligible,
            stats=stats,
            candidates=cands,
            tops=tops,
            protected=protected,
            excepted=excepted,
            target=target,
            speed=speed,
            urgency=urg,
            spread_ref=spread_ref,
            displayed=displayed,
        )

    def _search(
        self,
        side: Side,
        strategy: Strategy,
        cands: list[Candidate],
        protected: Sequence[Any],
        target: int,
        speed: dict[str, float],
        ctx: DecisionContext,
    ) -> Allocation:
        full = allocate(side, cands, protected, target)
        if strategy == Strategy.FASTEST and full.quantity > 0:
            venues_in_book = {c.venue_id for c in cands}
            for s in sorted({speed[v] for v in venues_in_book}):
                allowed = {v for v in venues_in_book if speed[v] <= s}
                a = allocate(side, cands, protected, target, allowed)
                if a.quantity == full.quantity:
                    full = a
                    break
        k = ctx.max_venues
        if k is None or len({c.venue_id for c, _ in full.legs}) <= k:
            return full
        venues = sorted({c.venue_id for c in cands})
        n_sub = sum(
            1
            for _ in itertools.islice(
                itertools.combinations(venues, k), self.config.max_subsets + 1
            )
        )
        if n_sub <= self.config.max_subsets:
            subsets: list[set[str]] = [set(s) for s in itertools.combinations(venues, k)]
        else:
            by_qty: dict[str, int] = {}
            for c, q in full.legs:
                by_qty[c.venue_id] = by_qty.get(c.venue_id, 0) + q
            subsets = [set(sorted(by_qty, key=lambda v: -by_qty[v])[:k])]
        best: Allocation | None = None
        for allowed in subsets:
            a = allocate(side, cands, protected, target, allowed)
            if best is None or (a.quantity, -a.objective) > (best.quantity, -best.objective):
                best = a
        assert best is not None
        return best

    def _children(
        self,
        order_id: str,
        side: Side,
        quantity: int,
        price: int,
        alloc: Allocation,
        protected: Sequence[Any],
        cands: list[Candidate],
        eligible: dict[str, ExecutionVenue],
        rules: RuleSet,
    ) -> tuple[RouteChild, ...]:
        buy = side == "BUY"
        swept_venues = {p.venue_id for p in alloc.swept}
        per_venue: dict[str, list[tuple[Candidate, int]]] = {}
        for c, q in alloc.legs:
            per_venue.setdefault(c.venue_id, []).append((c, q))
        iso = bool(alloc.swept)
        children: list[RouteChild] = []
        for vid, legs in per_venue.items():
            qty = sum(q for _, q in legs)
            worst = max(c.price for c, _ in legs) if buy else min(c.price for c, _ in legs)
            fee = self._profiles[vid].taker_fee
            children.append(
                RouteChild(
                    venue_id=vid,
                    quantity=qty,
                    limit_price=worst,
                    kind="ISO" if vid in swept_venues else "SWEEP",
                    iso=iso,
                    expected_notional=_round_div(sum(c.price * q for c, q in legs), SCALE),
                    expected_fee=_round_div(
                        sum(rules.capped_fee(fee, c.price) * q for c, q in legs), SCALE
                    ),
                )
            )
        residual = quantity - alloc.quantity
        if residual > 0:
            if cands:
                venue = cands[0].venue_id
            elif eligible:
                venue = min(eligible, key=lambda v: speed_score(self.stats.snapshot(v)))
            else:
                raise RoutingError("no venue is available to route to")
            # never let the residual trade through a protected quote the split did not sweep
            taken = {c.venue_id for c, q in alloc.legs if c.level == 0 and q == c.size}
            bounds = [p.protect_price for p in protected if p.venue_id not in taken]
            limit = price
            if bounds:
                bound = min(bounds) if buy else max(bounds)
                limit = bound if not limit else (min(limit, bound) if buy else max(limit, bound))
            children.append(
                RouteChild(venue_id=venue, quantity=residual, limit_price=limit, kind="RESIDUAL")
            )
        return tuple(children)

    def _decision(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        price: int,
        strategy: Strategy,
        now: int,
        rules: RuleSet,
        ctx: DecisionContext,
        nbbo: NbboSnapshot,
        children: tuple[RouteChild, ...],
        alloc: Allocation,
        exceptions: tuple[Any, ...],
        cands: list[Candidate],
        tops: dict[str, tuple[int, int, int, int]],
        stats: dict[str, VenueStats],
        speed: dict[str, float],
        urg: float,
        spread_ref: int,
        displayed: int,
    ) -> RoutingDecision:
        chosen = {c.venue_id for c in children if c.kind != "RESIDUAL"}
        best_key: dict[str, int] = {}
        for c in cands:
            best_key.setdefault(c.venue_id, c.key)
        fastest = strategy == Strategy.FASTEST
        ranked = sorted(
            tops,
            key=lambda v: (speed[v], best_key[v], v) if fastest else (best_key[v], speed[v], v),
        )
        alternatives: list[VenueScore] = []
        for rank, vid in enumerate(ranked, start=1):
            px, avail, fee, slip = tops[vid]
            st = stats[vid]
            score = speed[vid] if fastest else best_key[vid] / SCALE
            why = (
                f"top {_fmt(px)} x {_fmt(avail)} within limit, fee {_fmt(fee)}, "
                f"fill rate {st.fill_rate:.2f}, p50 {st.latency_p50_ns / 1e6:.2f} ms"
            )
            why = ("routed: " if vid in chosen else "not needed: ") + why
            alternatives.append(
                VenueScore(
                    venue_id=vid,
                    rank=rank,
                    score=score,
                    price=px,
                    available=avail,
                    fee=fee,
                    slippage=slip,
                    latency_ns=st.latency_p50_ns,
                    fill_rate=st.fill_rate,
                    chosen=vid in chosen,
                    reason=why,
                )
            )
        for vid in sorted(ctx.excluded):
            alternatives.append(
                VenueScore(
                    venue_id=vid, rank=0, score=0.0, price=0, available=0, fee=0, slippage=0,
                    latency_ns=0, fill_rate=0.0, chosen=False,
                    reason="excluded: failed earlier in this order (reject, timeout or lost session)",
                )
            )  # fmt: skip
        routed = alloc.quantity
        notional = sum(c.expected_notional for c in children if c.kind != "RESIDUAL")
        fees = sum(c.expected_fee for c in children)
        avg = _round_div(notional * SCALE, routed) if routed else 0
        iso_note = (
            f"; swept {len(alloc.swept)} better protected quote(s) in full by ISO"
            if alloc.swept
            else ""
        )
        venues_txt = ", ".join(
            f"{c.venue_id} {_fmt(c.quantity)}@{_fmt(c.limit_price)}" for c in children
        )
        rationale = (
            f"{strategy.value}: {side} {_fmt(quantity)} {symbol}"
            f"{' limit ' + _fmt(price) if price else ' at market'} -> {venues_txt or 'nothing'}; "
            f"{_fmt(routed)} against visible liquidity at expected average {_fmt(avg)}, "
            f"fees {_fmt(fees)}; NBBO {_fmt(nbbo.bid_price)} / {_fmt(nbbo.ask_price)} "
            f"({nbbo.state}){iso_note}; rules {rules.name} from {rules.effective.isoformat()}, "
            f"protection {self.protection.name}"
        )
        if quantity > routed:
            rationale += f"; residual {_fmt(quantity - routed)} beyond visible liquidity"
        metrics: dict[str, float] = {
            "objective": float(alloc.objective),
            "routed_quantity": float(routed),
            "residual_quantity": float(quantity - routed),
            "expected_average_price": float(avg),
            "expected_notional": float(notional),
            "expected_fees": float(fees),
            "size_to_displayed": quantity / displayed if displayed else 0.0,
            "urgency": urg,
            "spread_ref": float(spread_ref),
            "venues_used": float(len(chosen)),
            "bounds_tried": float(alloc.bounds_tried),
            "fee_cap_per_share": float(rules.fee_cap_per_share),
        }
        if strategy == Strategy.FASTEST and chosen:
            metrics["max_speed_score_ns"] = max(speed[v] for v in chosen)
        return RoutingDecision(
            decision_id=f"{order_id}:r{ctx.round}",
            order_id=order_id,
            user_id=user_id,
            symbol=symbol,
            side=side,
            quantity=quantity,
            limit_price=price,
            strategy=strategy,
            children=children,
            rationale=rationale,
            metrics=metrics,
            alternatives=tuple(alternatives),
            rule_set=rules.name,
            rule_set_effective=rules.effective.isoformat(),
            protection=self.protection.name,
            protection_exceptions=exceptions,
            nbbo=nbbo,
            ts_event=now,
            round=ctx.round,
        )
