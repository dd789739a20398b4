"""route_and_execute: send a decision's children concurrently and re-route what did not fill.

Accounting is exact: a fill counts once (by ``fill_id``), a child never counts more than its
quantity, and each round routes only ``quantity - filled - in_doubt``. A child whose fate the
venue cannot confirm (timeout and then a failed cancel, or a lost session) puts its unconfirmed
quantity *in doubt*: it is never routed again, so the parent cannot over-fill whatever the venue
did with it. A venue that does not honour its displayed quote - it rejects, fills less than the
child it was sent against its displayed size, times out or loses its session - is excluded from
the rest of the parent and declared in self-help (Rule 611(b)(1)), so its stale quote no longer
blocks the remainder from going elsewhere. A later round routes only into visible liquidity.

INTERNALIZE_FIRST runs its first round on internal venues only (at the NBBO or better), then
routes the remainder out with SMART.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import msgspec

from services.routing.core.errors import RoutingError, VenueUnavailable
from services.routing.core.market import snapshot
from services.routing.core.types import (
    ChildExecution,
    ChildOrder,
    ChildReport,
    ChildStatus,
    ExecutionQuality,
    ExecutionReport,
    Fill,
    NbboSnapshot,
    RoutingDecision,
    Side,
    Strategy,
)
from services.routing.core.venue import ExecutionVenue

if TYPE_CHECKING:
    from services.routing.core.router import SmartOrderRouter

SCALE = 10**9


def _round_div(num: int, den: int) -> int:
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


async def _resolve(
    router: SmartOrderRouter,
    venue: ExecutionVenue,
    order: ChildOrder,
    why: str,
    known: tuple[Fill, ...],
) -> ChildReport:
    """Learn a child's final state by cancelling it; UNKNOWN if the venue cannot say."""
    try:
        return await asyncio.wait_for(venue.cancel(order), router.config.cancel_timeout_s)
    except (TimeoutError, VenueUnavailable) as exc:
        return ChildReport(
            child_id=order.child_id,
            venue_id=order.venue_id,
            status=ChildStatus.UNKNOWN,
            fills=known,
            reason=f"{why}; cancel unconfirmed: {exc or 'timeout'}",
        )


async def _run_child(
    router: SmartOrderRouter, venue: ExecutionVenue, order: ChildOrder, rnd: int
) -> ChildExecution:
    sent = router.clock()
    timed_out = False
    try:
        report = await asyncio.wait_for(venue.submit(order), router.config.child_timeout_s)
    except TimeoutError:
        timed_out = True
        report = await _resolve(router, venue, order, "timed out", ())
    except VenueUnavailable as exc:
        if exc.order_sent:
            report = await _resolve(router, venue, order, exc.reason, exc.fills)
        else:
            report = ChildReport(
                child_id=order.child_id,
                venue_id=order.venue_id,
                status=ChildStatus.REJECTED,
                reason=f"not sent: {exc.reason}",
            )
    done = router.clock()
    return ChildExecution(
        order=order, report=report, round=rnd, sent_ns=sent, done_ns=done, timed_out=timed_out
    )


async def execute(
    router: SmartOrderRouter,
    order_id: str,
    user_id: str,
    symbol: str,
    side: Side,
    quantity: int,
    price: int,
    strategy: Strategy,
) -> ExecutionReport:
    """Execute one parent order through the router's venues (see the module docstring)."""
    from services.routing.core.router import DecisionContext

    ts_start = router.clock()
    fills: dict[str, Fill] = {}
    filled_by_child: dict[str, int] = {}
    children: list[ChildExecution] = []
    decisions: list[RoutingDecision] = []
    in_doubt = 0
    excluded: set[str] = set()
    self_help: set[str] = set()
    rejected = timed_out = 0
    residual_ids: set[str] = set()
    rnd = 0
    internal_first = strategy == Strategy.INTERNALIZE_FIRST
    while rnd < router.config.max_rounds:
        remaining = quantity - sum(filled_by_child.values()) - in_doubt
        if remaining <= 0:
            break
        now = router.clock()
        rules = router.rules.at(now)
        only_internal = internal_first and rnd == 0
        strat = Strategy.SMART if internal_first and rnd > 0 else strategy
        ctx = DecisionContext(
            excluded=frozenset(excluded),
            self_help=frozenset(self_help),
            round=rnd,
            only_internal=only_internal,
        )
        try:
            decision = router.decide(
                order_id, user_id, symbol, side, remaining, price, strat, now, rules, ctx
            )
        except RoutingError:
            if only_internal:  # no internal venue to try first
                rnd += 1
                continue
            if not decisions:
                raise
            break  # every venue failed this parent: what is left stays unfilled
        if only_internal or rnd > 0:
            # internal first: only what the internal venue can take at the NBBO or better; and
            # a later round only re-routes into visible liquidity (the first sent the residual)
            sweeps = tuple(c for c in decision.children if c.kind != "RESIDUAL")
            if not sweeps:
                if only_internal:
                    rnd += 1
                    continue
                break
            decision = msgspec.structs.replace(decision, children=sweeps)
        decisions.append(decision)
        orders: list[tuple[ExecutionVenue, ChildOrder]] = []
        for c in decision.children:
            suffix = ":res" if c.kind == "RESIDUAL" else ""
            if suffix:
                residual_ids.add(f"{order_id}:r{rnd}:{c.venue_id}{suffix}")
            orders.append(
                (
                    router.venues[c.venue_id],
                    ChildOrder(
                        child_id=f"{order_id}:r{rnd}:{c.venue_id}{suffix}",
                        parent_id=order_id,
                        user_id=user_id,
                        venue_id=c.venue_id,
                        symbol=symbol,
                        side=side,
                        quantity=c.quantity,
                        limit_price=c.limit_price,
                        iso=c.iso,
                    ),
                )
            )
        results = await asyncio.gather(*(_run_child(router, v, o, rnd) for v, o in orders))
        progress = False
        after = snapshot(router.market.nbbo(symbol, router.clock()))
        for ex in results:
            ex = ChildExecution(
                order=ex.order,
                report=ex.report,
                round=ex.round,
                sent_ns=ex.sent_ns,
                done_ns=ex.done_ns,
                timed_out=ex.timed_out,
                nbbo_at_execution=after,
            )
            children.append(ex)
            child = ex.order
            got = 0
            for f in ex.report.fills:
                if f.fill_id in fills or f.child_id != child.child_id:
                    continue
                take = min(f.quantity, child.quantity - got)
                if take <= 0:
                    break  # a venue reporting more than the child: the excess is not ours
                if take != f.quantity:
                    f = msgspec.structs.replace(f, quantity=take)
                fills[f.fill_id] = f
                got += take
            filled_by_child[child.child_id] = got
            progress = progress or got > 0
            status = ex.report.status
            if ex.timed_out:
                timed_out += 1
            if status == ChildStatus.REJECTED:
                rejected += 1
            if status in (ChildStatus.UNKNOWN, ChildStatus.WORKING):
                in_doubt += child.quantity - got
            failed = status in (ChildStatus.REJECTED, ChildStatus.UNKNOWN) or ex.timed_out
            faded = got < child.quantity and child.child_id not in residual_ids
            if failed or faded:
                # it did not honour its displayed quote: neither routed to nor protected for
                # the rest of this parent (self-help), so the remainder can go elsewhere
                excluded.add(child.venue_id)
                self_help.add(child.venue_id)
                progress = True  # the venue set changed: another round may find liquidity
        rnd += 1
        if not progress:
            break
    ts_end = router.clock()
    return _report(
        order_id, user_id, symbol, side, quantity, price, strategy, fills, children,
        decisions, in_doubt, rejected, timed_out, rnd, ts_start, ts_end,
    )  # fmt: skip


def _report(
    order_id: str,
    user_id: str,
    symbol: str,
    side: Side,
    quantity: int,
    price: int,
    strategy: Strategy,
    fills: dict[str, Fill],
    children: list[ChildExecution],
    decisions: list[RoutingDecision],
    in_doubt: int,
    rejected: int,
    timed_out: int,
    rounds: int,
    ts_start: int,
    ts_end: int,
) -> ExecutionReport:
    all_fills = tuple(sorted(fills.values(), key=lambda f: (f.ts_event, f.fill_id)))
    filled = sum(f.quantity for f in all_fills)
    notional_sq = sum(f.price * f.quantity for f in all_fills)
    avg = _round_div(notional_sq, filled) if filled else 0
    first: NbboSnapshot | None = decisions[0].nbbo if decisions else None
    pi = pi_share = eff = 0
    far = 0 if first is None else (first.ask_price if side == "BUY" else first.bid_price)
    if filled and first is not None and far:
        signed = (far * filled - notional_sq) if side == "BUY" else (notional_sq - far * filled)
        pi = _round_div(signed, SCALE)
        pi_share = _round_div(signed, filled)
        if first.bid_price and first.ask_price:
            mid2 = first.bid_price + first.ask_price  # twice the midpoint
            eff = _round_div(abs(2 * notional_sq - mid2 * filled), filled)
    bounds = {d.round: int(d.metrics.get("protection_bound", 0)) for d in decisions}
    child_round = {c.order.child_id: c.round for c in children}
    through = 0
    for f in all_fills:
        bound = bounds.get(child_round.get(f.child_id, -1), 0)
        if bound and ((f.price > bound) if side == "BUY" else (f.price < bound)):
            through += 1
    leaves = quantity - filled - in_doubt
    status = "FILLED" if filled == quantity else ("PARTIALLY_FILLED" if filled else "UNFILLED")
    return ExecutionReport(
        order_id=order_id,
        user_id=user_id,
        symbol=symbol,
        side=side,
        quantity=quantity,
        limit_price=price,
        strategy=strategy,
        status=status,  # type: ignore[arg-type]
        filled_quantity=filled,
        leaves_quantity=leaves,
        in_doubt_quantity=in_doubt,
        average_price=avg,
        notional=_round_div(notional_sq, SCALE),
        fees=sum(f.fee for f in all_fills),
        fills=all_fills,
        children=tuple(children),
        decisions=tuple(decisions),
        quality=ExecutionQuality(
            price_improvement=pi,
            price_improvement_per_share=pi_share,
            effective_spread=eff,
            fill_rate=filled / quantity,
            children_sent=len(children),
            children_rejected=rejected,
            children_timed_out=timed_out,
            rounds=rounds,
            trade_throughs=through,
        ),
        ts_start=ts_start,
        ts_end=ts_end,
    )
